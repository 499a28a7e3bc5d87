//! The edge side: this node holds a client's connection, another node serves the room.
//!
//! A room served elsewhere gets a proxy: a [`RoomHandle`] whose commands a task forwards to
//! the owner over the bus. Frames coming back are pushed to the connections' own queues, so
//! slow clients are handled here exactly as for local rooms. When the owner goes away, the
//! proxy's connections are told the room moved: they close with 1012 and their clients
//! resume on any node, which finds the room's next owner.

use super::bus::Bus;
use super::{Cluster, lock};
use arbiter_engine::{ConnId, Frame, FrameKind, GameError, Outbox, RoomCmd, RoomHandle};
use arbiter_protocol::{Encoding, ErrorCode, RoomInfo};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Proxies by room id.
#[derive(Default)]
pub(super) struct Edge(Mutex<HashMap<String, Proxy>>);

struct Proxy {
    owner: String,
    handle: RoomHandle,
    room: Arc<str>,
    /// The connections of this node that sent the room something, with their queues.
    conns: HashMap<ConnId, Arc<dyn Outbox>>,
}

impl Edge {
    /// The open proxy of a room, if any.
    pub(super) fn proxy(&self, room: &str) -> Option<RoomHandle> {
        let proxies = lock(&self.0);
        let p = proxies.get(room)?;
        (!p.handle.is_closed()).then(|| p.handle.clone())
    }

    /// A proxy for `room`, served by `owner`.
    pub(super) fn open_proxy(
        &self,
        cluster: &Cluster,
        room: &str,
        owner: &str,
        info: RoomInfo,
    ) -> RoomHandle {
        let mut proxies = lock(&self.0);
        if let Some(p) = proxies.get(room)
            && p.owner == owner
            && !p.handle.is_closed()
        {
            return p.handle.clone();
        }
        let (handle, rx) = RoomHandle::forwarding(room, info);
        let old = proxies.insert(
            room.to_owned(),
            Proxy {
                owner: owner.to_owned(),
                handle: handle.clone(),
                room: room.into(),
                conns: HashMap::new(),
            },
        );
        drop(proxies);
        if let Some(old) = old {
            tell_moved(old);
        }
        tokio::spawn(forward(
            cluster.clone(),
            room.to_owned(),
            owner.to_owned(),
            rx,
        ));
        handle
    }

    fn register(&self, room: &str, conn: ConnId, outbox: Arc<dyn Outbox>) {
        if let Some(p) = lock(&self.0).get_mut(room) {
            p.conns.insert(conn, outbox);
        }
    }

    fn unregister(&self, room: &str, conn: ConnId) {
        if let Some(p) = lock(&self.0).get_mut(room) {
            p.conns.remove(&conn);
        }
    }

    /// Push a frame from the owner to the connections it names, in their order.
    pub(super) fn deliver(&self, room: &str, conns: &[ConnId], kind: FrameKind, bytes: Bytes) {
        let (room, outboxes): (Arc<str>, Vec<Arc<dyn Outbox>>) = {
            let proxies = lock(&self.0);
            let Some(p) = proxies.get(room) else { return };
            let outboxes = conns
                .iter()
                .filter_map(|c| p.conns.get(c).cloned())
                .collect();
            (p.room.clone(), outboxes)
        };
        for outbox in outboxes {
            outbox.push(Frame {
                kind,
                room: room.clone(),
                bytes: bytes.clone(),
            });
        }
    }

    /// The owner stopped serving the room: these connections reconnect.
    pub(super) fn moved(&self, room: &str, conns: &[ConnId]) {
        let outboxes: Vec<Arc<dyn Outbox>> = {
            let mut proxies = lock(&self.0);
            let Some(p) = proxies.get_mut(room) else {
                return;
            };
            conns.iter().filter_map(|c| p.conns.remove(c)).collect()
        };
        for outbox in outboxes {
            outbox.moved(room);
        }
    }

    /// Close the proxy of `room` if it still leads to `owner`.
    fn close(&self, room: &str, owner: &str) {
        let removed = {
            let mut proxies = lock(&self.0);
            match proxies.get(room) {
                Some(p) if p.owner == owner => proxies.remove(room),
                _ => None,
            }
        };
        if let Some(p) = removed {
            tell_moved(p);
        }
    }

    /// Close every proxy whose owner is not among the live nodes.
    pub(super) fn forget_owners_not_in(&self, alive: &HashSet<String>) {
        let dead: Vec<Proxy> = {
            let mut proxies = lock(&self.0);
            let rooms: Vec<String> = proxies
                .iter()
                .filter(|(_, p)| !alive.contains(&p.owner))
                .map(|(r, _)| r.clone())
                .collect();
            rooms.iter().filter_map(|r| proxies.remove(r)).collect()
        };
        for p in dead {
            tracing::info!(room = %p.room, owner = %p.owner, "the room's node is gone");
            tell_moved(p);
        }
    }
}

fn tell_moved(p: Proxy) {
    for outbox in p.conns.values() {
        outbox.moved(&p.room);
    }
}

/// Forward a proxy's commands to the room's owner until the owner is gone.
async fn forward(cluster: Cluster, room: String, owner: String, mut rx: mpsc::Receiver<RoomCmd>) {
    let edge = &cluster.0.edge;
    while let Some(cmd) = rx.recv().await {
        let sent = match cmd {
            RoomCmd::Client { caller, msg } => {
                edge.register(&room, caller.conn, caller.outbox.clone());
                let msg = Bus::Client {
                    edge: cluster.0.id.clone(),
                    conn: caller.conn,
                    player: caller.player,
                    msgpack: caller.outbox.encoding() == Encoding::MsgPack,
                    msg,
                };
                cluster.publish(&owner, &msg).await
            }
            RoomCmd::Disconnect { conn } => {
                edge.unregister(&room, conn);
                let msg = Bus::Disconnect {
                    edge: cluster.0.id.clone(),
                    conn,
                    room: room.clone(),
                };
                cluster.publish(&owner, &msg).await
            }
            RoomCmd::Query { reply, .. } => {
                let _ = reply.send(Err(GameError::new(
                    ErrorCode::Unavailable,
                    "the room is served by another node",
                )));
                Ok(1)
            }
            RoomCmd::HandOver { done } => {
                let _ = done.send(());
                Ok(1)
            }
        };
        match sent {
            Ok(n) if n > 0 => {}
            Ok(_) => {
                tracing::info!(%room, %owner, "the room's node no longer listens");
                break;
            }
            Err(e) => {
                cluster.redis_failed("forwarding", &e);
                break;
            }
        }
    }
    // Sessions still holding the handle find it closed; their connections were told the
    // room moved and reconnect.
    rx.close();
    edge.close(&room, &owner);
}
