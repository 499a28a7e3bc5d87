//! The owner side: this node serves a room, and some of its clients are connected to other
//! nodes. Each such connection gets a local id and a [`RemoteOutbox`], so the room treats it
//! like any other; frames go back through one [`Link`] per edge node.

use super::bus::{self, Link, RemoteOutbox};
use super::{Cluster, lock};
use arbiter_engine::{Caller, ConnId, Outbox as _, RoomCmd, RoomGone};
use arbiter_protocol::{ClientMsg, PlayerInfo};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(super) struct Owner(Mutex<State>);

#[derive(Default)]
struct State {
    links: HashMap<String, Arc<Link>>,
    /// By (edge node, connection id on the edge).
    conns: HashMap<(String, ConnId), Remote>,
}

struct Remote {
    id: ConnId,
    outbox: Arc<RemoteOutbox>,
    rooms: HashSet<String>,
}

impl Owner {
    /// Forget the connections of edge nodes that are not alive; returns the (room, local id)
    /// pairs to disconnect.
    pub(super) fn forget_edges_not_in(&self, alive: &HashSet<String>) -> Vec<(String, ConnId)> {
        let mut s = lock(&self.0);
        let dead: Vec<String> = s
            .links
            .keys()
            .filter(|e| !alive.contains(*e))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for edge in dead {
            if let Some(link) = s.links.remove(&edge) {
                link.close();
            }
            let keys: Vec<(String, ConnId)> = s
                .conns
                .keys()
                .filter(|(e, _)| *e == edge)
                .cloned()
                .collect();
            for key in keys {
                if let Some(r) = s.conns.remove(&key) {
                    out.extend(r.rooms.into_iter().map(|room| (room, r.id)));
                }
            }
        }
        out
    }
}

impl Cluster {
    /// A client of another node sent a message for a room served here; `player` and
    /// `instance` are who the edge authenticated.
    pub(super) async fn on_remote_client(
        &self,
        edge: String,
        conn: ConnId,
        (player, instance): (PlayerInfo, Option<String>),
        msgpack: bool,
        room: &str,
        msg: ClientMsg,
    ) {
        let handle = self.0.rooms.find(room);
        let caller = {
            let mut s = lock(&self.0.owner.0);
            let link = match s.links.get(&edge) {
                Some(link) => link.clone(),
                None => {
                    let link = Link::new(edge.clone());
                    s.links.insert(edge.clone(), link.clone());
                    tokio::spawn(self.clone().send_link(link.clone()));
                    link
                }
            };
            let key = (edge, conn);
            if !s.conns.contains_key(&key) && !matches!(msg, ClientMsg::Join { .. }) {
                // A connection this node forgot (its node was taken for dead, then came
                // back): whatever it was in, it must join again. It reconnects and resumes.
                drop(s);
                RemoteOutbox {
                    conn,
                    encoding: bus::encoding_of(msgpack),
                    link,
                }
                .moved(room);
                return;
            }
            let remote = s.conns.entry(key).or_insert_with(|| Remote {
                id: self.next_remote_id(),
                outbox: Arc::new(RemoteOutbox {
                    conn,
                    encoding: bus::encoding_of(msgpack),
                    link,
                }),
                rooms: HashSet::new(),
            });
            if let Some(h) = &handle {
                remote.rooms.insert(h.id().to_owned());
            }
            Caller {
                conn: remote.id,
                player,
                instance,
                outbox: remote.outbox.clone(),
            }
        };
        let Some(handle) = handle else {
            // Not served here (any more): the client reconnects and finds where it is.
            caller.outbox.moved(room);
            return;
        };
        let outbox = caller.outbox.clone();
        if let Err(RoomGone(_)) = handle.send(RoomCmd::Client { caller, msg }).await {
            outbox.moved(room);
        }
    }

    /// A client of another node left this node's room (its connection closed).
    pub(super) async fn on_remote_disconnect(&self, edge: &str, conn: ConnId, room: &str) {
        let id = {
            let mut s = lock(&self.0.owner.0);
            let key = (edge.to_owned(), conn);
            let Some(r) = s.conns.get_mut(&key) else {
                return;
            };
            r.rooms.remove(room);
            let id = r.id;
            if r.rooms.is_empty() {
                s.conns.remove(&key);
            }
            id
        };
        if let Some(h) = self.0.rooms.find(room) {
            let _ = h.send(RoomCmd::Disconnect { conn: id }).await;
        }
    }

    /// Publish a link's frames, a batch per round trip, until the link closes. A batch that
    /// did not reach the edge (Redis failed, or the edge was not subscribed) breaks the link:
    /// this node forgets the edge's connections, and tells the edge to make them reconnect
    /// as soon as it can be reached; they resume and nothing they were owed is lost.
    async fn send_link(self, link: Arc<Link>) {
        loop {
            let batch = link.next_batch().await;
            if batch.is_empty() {
                return;
            }
            let mut pipe = redis::pipe();
            let channel = self.channel(&link.edge);
            for msg in &batch {
                pipe.cmd("PUBLISH").arg(&channel).arg(msg.encode());
            }
            let sent: Result<Vec<i64>, redis::RedisError> =
                pipe.query_async(&mut self.redis()).await;
            let delivered = match sent {
                Ok(counts) => {
                    self.0.routed.to_edge.increment(counts.len() as u64);
                    counts.iter().all(|n| *n > 0)
                }
                Err(e) => {
                    self.redis_failed("sending frames", &e);
                    false
                }
            };
            if !delivered {
                self.reset_edge(&link).await;
            }
        }
    }

    async fn reset_edge(&self, link: &Link) {
        super::bus_reset("owner");
        tracing::warn!(edge = %link.edge, "frames to a node were lost; its clients will resume");
        let forgotten: Vec<(String, ConnId)> = {
            let mut s = lock(&self.0.owner.0);
            let keys: Vec<(String, ConnId)> = s
                .conns
                .keys()
                .filter(|(e, _)| *e == link.edge)
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| s.conns.remove(&k))
                .flat_map(|r| r.rooms.into_iter().map(move |room| (room, r.id)))
                .collect()
        };
        for (room, conn) in forgotten {
            if let Some(h) = self.0.rooms.find(&room) {
                let _ = h.send(RoomCmd::Disconnect { conn }).await;
            }
        }
        let reset = super::bus::Bus::Reset {
            owner: self.0.id.clone(),
        };
        while !link.is_closed() {
            match self.publish(&link.edge, &reset).await {
                Ok(n) if n > 0 => return,
                // Not subscribed (yet): it forgets its proxies itself when it resubscribes,
                // or is declared dead; keep trying until one of those happens.
                Ok(_) => {}
                Err(e) => self.redis_failed("resetting a node", &e),
            }
            tokio::time::sleep(self.0.lease / 10).await;
        }
    }
}
