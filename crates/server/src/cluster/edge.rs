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
pub(super) struct Edge {
    proxies: Mutex<HashMap<String, Proxy>>,
    serials: std::sync::atomic::AtomicU64,
}

struct Proxy {
    /// Tells this proxy apart from a later one of the same room.
    serial: u64,
    owner: String,
    handle: RoomHandle,
    room: Arc<str>,
    /// The connections of this node that sent the room something, with their queues.
    conns: HashMap<ConnId, Arc<dyn Outbox>>,
    /// Stops the proxy's task once the proxy is closed from outside.
    stop: Arc<tokio::sync::Notify>,
}

impl Edge {
    /// The open proxy of a room, if any.
    pub(super) fn proxy(&self, room: &str) -> Option<RoomHandle> {
        let proxies = lock(&self.proxies);
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
        let mut proxies = lock(&self.proxies);
        if let Some(p) = proxies.get(room)
            && p.owner == owner
            && !p.handle.is_closed()
        {
            return p.handle.clone();
        }
        let (handle, rx) = RoomHandle::forwarding(room, info);
        let stop = Arc::new(tokio::sync::Notify::new());
        let serial = self
            .serials
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let old = proxies.insert(
            room.to_owned(),
            Proxy {
                serial,
                owner: owner.to_owned(),
                handle: handle.clone(),
                room: room.into(),
                conns: HashMap::new(),
                stop: stop.clone(),
            },
        );
        drop(proxies);
        if let Some(old) = old {
            tell_moved(old);
        }
        tokio::spawn(forward(
            cluster.clone(),
            room.to_owned(),
            serial,
            owner.to_owned(),
            rx,
            stop,
        ));
        handle
    }

    /// Note a connection using proxy `serial`; false if that proxy was closed meanwhile.
    fn register(&self, room: &str, serial: u64, conn: ConnId, outbox: Arc<dyn Outbox>) -> bool {
        match lock(&self.proxies).get_mut(room) {
            Some(p) if p.serial == serial => {
                p.conns.insert(conn, outbox);
                true
            }
            _ => false,
        }
    }

    fn unregister(&self, room: &str, conn: ConnId) {
        if let Some(p) = lock(&self.proxies).get_mut(room) {
            p.conns.remove(&conn);
        }
    }

    /// Push a frame from the owner to the connections it names, in their order.
    pub(super) fn deliver(&self, room: &str, conns: &[ConnId], kind: FrameKind, bytes: Bytes) {
        let (room, outboxes): (Arc<str>, Vec<Arc<dyn Outbox>>) = {
            let proxies = lock(&self.proxies);
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

    /// The owner no longer serves the room: close its proxy, so the next request finds the
    /// room where it lives now, and make every connection that used it reconnect.
    pub(super) fn moved(&self, room: &str) {
        let removed = lock(&self.proxies).remove(room);
        if let Some(p) = removed {
            tell_moved(p);
        }
    }

    /// Close proxy `serial` of `room` if it is still open.
    fn close(&self, room: &str, serial: u64) {
        let removed = {
            let mut proxies = lock(&self.proxies);
            match proxies.get(room) {
                Some(p) if p.serial == serial => proxies.remove(room),
                _ => None,
            }
        };
        if let Some(p) = removed {
            tell_moved(p);
        }
    }

    /// Close every proxy whose owner is not among the live nodes.
    pub(super) fn forget_owners_not_in(&self, alive: &HashSet<String>) {
        self.forget(|owner| !alive.contains(owner), "the room's node is gone");
    }

    /// Close every proxy leading to `owner` (frames from it were lost).
    pub(super) fn forget_owner(&self, owner: &str) {
        self.forget(|o| o == owner, "frames from the room's node were lost");
    }

    /// Close every proxy (this node's subscription was down: frames may have been lost).
    pub(super) fn forget_all(&self) {
        self.forget(|_| true, "the bus was down; frames may have been lost");
    }

    fn forget(&self, which: impl Fn(&str) -> bool, why: &str) {
        let closed: Vec<Proxy> = {
            let mut proxies = lock(&self.proxies);
            let rooms: Vec<String> = proxies
                .iter()
                .filter(|(_, p)| which(&p.owner))
                .map(|(r, _)| r.clone())
                .collect();
            rooms.iter().filter_map(|r| proxies.remove(r)).collect()
        };
        for p in closed {
            tracing::info!(room = %p.room, owner = %p.owner, "{why}");
            tell_moved(p);
        }
    }
}

/// A proxy was closed: its connections reconnect, and its task stops (telling those whose
/// commands it still holds).
fn tell_moved(p: Proxy) {
    for outbox in p.conns.values() {
        outbox.moved(&p.room);
    }
    p.stop.notify_one();
}

/// Forward a proxy's commands to the room's owner until the owner is gone. Every
/// connection that used the proxy is told the room moved when it closes, also those whose
/// command arrived after it was closed from outside (its owner was declared dead).
async fn forward(
    cluster: Cluster,
    room: String,
    serial: u64,
    owner: String,
    mut rx: mpsc::Receiver<RoomCmd>,
    stop: Arc<tokio::sync::Notify>,
) {
    let edge = &cluster.0.edge;
    let mut users: HashMap<ConnId, Arc<dyn Outbox>> = HashMap::new();
    loop {
        let cmd = tokio::select! {
            cmd = rx.recv() => cmd,
            () = stop.notified() => None,
        };
        let Some(cmd) = cmd else { break };
        let sent = match cmd {
            RoomCmd::Client { caller, msg } => {
                users.insert(caller.conn, caller.outbox.clone());
                if !edge.register(&room, serial, caller.conn, caller.outbox.clone()) {
                    break;
                }
                let msg = Bus::Client {
                    edge: cluster.0.id.clone(),
                    conn: caller.conn,
                    player: caller.player,
                    instance: caller.instance,
                    msgpack: caller.outbox.encoding() == Encoding::MsgPack,
                    room: room.clone(),
                    msg: Box::new(msg),
                };
                cluster.publish(&owner, &msg).await
            }
            RoomCmd::Disconnect { conn } => {
                users.remove(&conn);
                edge.unregister(&room, conn);
                let msg = Bus::Disconnect {
                    edge: cluster.0.id.clone(),
                    conn,
                    room: room.clone(),
                };
                cluster.publish(&owner, &msg).await
            }
            RoomCmd::Query { reply, .. } | RoomCmd::Admin { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
                Ok(1)
            }
            RoomCmd::Seat { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
                Ok(1)
            }
            RoomCmd::Notice { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
                Ok(1)
            }
            // A proxy stores nothing: it has stopped as soon as it is asked to.
            RoomCmd::HandOver { done } | RoomCmd::Shutdown { done } => {
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
    // Sessions still holding the handle find it closed; their connections are told the
    // room moved, and reconnect.
    rx.close();
    edge.close(&room, serial);
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            RoomCmd::Client { caller, .. } => {
                users.insert(caller.conn, caller.outbox);
            }
            RoomCmd::Query { reply, .. } | RoomCmd::Admin { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
            }
            RoomCmd::Seat { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
            }
            RoomCmd::Notice { reply, .. } => {
                let _ = reply.send(Err(elsewhere()));
            }
            RoomCmd::HandOver { done } | RoomCmd::Shutdown { done } => {
                let _ = done.send(());
            }
            RoomCmd::Disconnect { .. } => {}
        }
    }
    for outbox in users.values() {
        outbox.moved(&room);
    }
}

fn elsewhere() -> GameError {
    GameError::new(ErrorCode::Unavailable, "the room is served by another node")
}
