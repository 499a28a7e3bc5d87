//! What nodes say to each other over Redis pub/sub, and the link that carries an owner's
//! frames to one edge node.
//!
//! Each node subscribes to its own channel. An edge node (holding a client's connection)
//! sends the client's room commands to the owner node's channel; the owner sends the frames
//! its rooms produce back to the edge's channel, one message per frame and edge node however
//! many of that edge's connections get it.

use arbiter_engine::{ConnId, Frame, FrameKind, Outbox};
use arbiter_protocol::{ClientMsg, Encoding, PlayerInfo};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// One message between nodes.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Bus {
    /// Edge → owner: a client's message for a room the owner serves.
    Client {
        /// The edge node.
        edge: String,
        /// The connection's id on the edge.
        conn: ConnId,
        /// Who is on it.
        player: PlayerInfo,
        /// The client instance it named in `hello` (absent from older nodes).
        #[serde(default)]
        instance: Option<String>,
        /// Its encoding (`true` for MessagePack).
        msgpack: bool,
        /// The room's id (the message may name it by code).
        room: String,
        /// The message (boxed: a `create` is much larger than the other bus messages).
        msg: Box<ClientMsg>,
    },
    /// Edge → owner: the connection closed (or left the room's node).
    Disconnect {
        /// The edge node.
        edge: String,
        /// The connection's id on the edge.
        conn: ConnId,
        /// The room.
        room: String,
    },
    /// Owner → edge: one encoded frame for some of the edge's connections, in order.
    Frames {
        /// The room.
        room: String,
        /// Which connections.
        conns: Vec<ConnId>,
        /// What the frame carries.
        kind: u8,
        /// The frame.
        bytes: Bytes,
    },
    /// Owner → edge: frames to this edge were lost (Redis failed or the edge's subscription
    /// was down): every connection using a room of `owner` must reconnect and resume.
    Reset {
        /// The owner node.
        owner: String,
    },
    /// Owner → edge: the room no longer lives on the owner; the edge closes its proxy and
    /// every connection that used it reconnects (to find the room where it lives now).
    /// `conns` names those the owner was answering.
    Moved {
        /// The room.
        room: String,
        /// Which connections.
        conns: Vec<ConnId>,
    },
}

impl Bus {
    /// Sent by an edge to an owner (else by an owner to an edge).
    pub(super) fn to_owner(&self) -> bool {
        matches!(self, Bus::Client { .. } | Bus::Disconnect { .. })
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        // Encoding our own types into a Vec cannot fail.
        rmp_serde::to_vec_named(self).unwrap_or_default()
    }

    /// Decode a message from another node. Its nesting is bounded like a client frame's
    /// (a client's message, at most 128 deep, plus the bus's own few levels), so a corrupt
    /// or hostile payload on the channel cannot recurse the decoder off its stack.
    pub(super) fn decode(bytes: &[u8]) -> Result<Self, rmp_serde::decode::Error> {
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        de.set_max_depth(BUS_MAX_DEPTH);
        Self::deserialize(&mut de)
    }
}

/// Deepest nesting a bus message may have.
const BUS_MAX_DEPTH: usize = 160;

pub(super) fn kind_code(kind: FrameKind) -> u8 {
    match kind {
        FrameKind::Snapshot => 0,
        FrameKind::Patch => 1,
        FrameKind::Control => 2,
    }
}

pub(super) fn kind_of(code: u8) -> FrameKind {
    match code {
        0 => FrameKind::Snapshot,
        1 => FrameKind::Patch,
        _ => FrameKind::Control,
    }
}

pub(super) fn encoding_of(msgpack: bool) -> Encoding {
    if msgpack {
        Encoding::MsgPack
    } else {
        Encoding::Json
    }
}

/// Frames waiting to go to one edge node.
#[derive(Default)]
struct Pending {
    /// In the order the rooms pushed them.
    items: Vec<Item>,
    /// The edge is gone: the link's task stops.
    closed: bool,
}

enum Item {
    Frame { conn: ConnId, frame: Frame },
    Moved { conn: ConnId, room: Arc<str> },
}

/// The owner's side of its traffic to one edge node: rooms push frames for that edge's
/// connections; a task takes them in batches and publishes each distinct frame once.
pub(super) struct Link {
    pub(super) edge: String,
    pending: Mutex<Pending>,
    ready: Notify,
}

impl Link {
    pub(super) fn new(edge: String) -> Arc<Self> {
        Arc::new(Self {
            edge,
            pending: Mutex::default(),
            ready: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, item: Item) {
        self.lock().items.push(item);
        self.ready.notify_one();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Stop the link: its task ends, later frames are dropped with the edge.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }

    /// Wait for frames, then take them all as bus messages; empty once closed.
    pub(super) async fn next_batch(&self) -> Vec<Bus> {
        loop {
            let items = {
                let mut p = self.lock();
                if p.closed {
                    return Vec::new();
                }
                std::mem::take(&mut p.items)
            };
            if !items.is_empty() {
                return batch(items);
            }
            self.ready.notified().await;
        }
    }
}

/// Merge frames with the same bytes (a room's fan-out gives every connection of one view key
/// the same `Bytes`) into one message, without changing any connection's order: a
/// connection's frame joins an earlier message only if that message comes after the
/// connection's previous one.
fn batch(items: Vec<Item>) -> Vec<Bus> {
    let mut out: Vec<Bus> = Vec::new();
    // (frame bytes address, length) → the latest message carrying them.
    let mut by_bytes: HashMap<(usize, usize), usize> = HashMap::new();
    let mut last_of: HashMap<ConnId, usize> = HashMap::new();
    for item in items {
        match item {
            Item::Frame { conn, frame } => {
                let key = (frame.bytes.as_ptr() as usize, frame.bytes.len());
                let after = last_of.get(&conn).copied();
                let joined = by_bytes.get(&key).copied().filter(|&i| {
                    after.is_none_or(|a| i > a)
                        && matches!(&out[i], Bus::Frames { room, .. } if **room == *frame.room)
                });
                let at = match joined {
                    Some(i) => {
                        if let Bus::Frames { conns, .. } = &mut out[i] {
                            conns.push(conn);
                        }
                        i
                    }
                    None => {
                        out.push(Bus::Frames {
                            room: frame.room.to_string(),
                            conns: vec![conn],
                            kind: kind_code(frame.kind),
                            bytes: frame.bytes,
                        });
                        by_bytes.insert(key, out.len() - 1);
                        out.len() - 1
                    }
                };
                last_of.insert(conn, at);
            }
            Item::Moved { conn, room } => {
                out.push(Bus::Moved {
                    room: room.to_string(),
                    conns: vec![conn],
                });
                last_of.insert(conn, out.len() - 1);
            }
        }
    }
    out
}

/// How an owner's room sees a client connected to another node.
pub(super) struct RemoteOutbox {
    pub(super) conn: ConnId,
    pub(super) encoding: Encoding,
    pub(super) link: Arc<Link>,
}

impl Outbox for RemoteOutbox {
    fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Always accepted: the edge node keeps the connection's own bounded queue and closes
    /// it there if the client falls behind.
    fn push(&self, frame: Frame) -> bool {
        self.link.push(Item::Frame {
            conn: self.conn,
            frame,
        });
        true
    }

    fn moved(&self, room: &str) {
        self.link.push(Item::Moved {
            conn: self.conn,
            room: room.into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client's act carrying an action nested `depth` arrays deep.
    fn nested_act(depth: usize) -> Bus {
        let mut action = serde_json::Value::Null;
        for _ in 0..depth {
            action = serde_json::Value::Array(vec![action]);
        }
        Bus::Client {
            edge: "n_edge".into(),
            conn: 7,
            player: PlayerInfo {
                id: arbiter_protocol::PlayerId::from("p_0123456789abcdef"),
                name: "Ada".into(),
            },
            instance: None,
            msgpack: false,
            room: "r_1".into(),
            msg: Box::new(ClientMsg::Act {
                room: "r_1".into(),
                seq: 1,
                base: None,
                action,
            }),
        }
    }

    #[test]
    fn bus_messages_are_decoded_to_a_bounded_depth() {
        let fits = nested_act(120).encode();
        assert!(
            Bus::decode(&fits).is_ok(),
            "a client message at its own limit passes"
        );
        let deep = nested_act(200).encode();
        assert!(
            Bus::decode(&deep).is_err(),
            "deeper than any client message"
        );
    }

    fn frame(room: &str, bytes: &Bytes) -> Frame {
        Frame {
            kind: FrameKind::Patch,
            room: room.into(),
            bytes: bytes.clone(),
        }
    }

    fn shape(out: &[Bus]) -> Vec<(String, Vec<ConnId>)> {
        out.iter()
            .map(|m| match m {
                Bus::Frames { bytes, conns, .. } => {
                    (String::from_utf8_lossy(bytes).into_owned(), conns.clone())
                }
                Bus::Moved { conns, .. } => ("moved".to_owned(), conns.clone()),
                _ => ("other".to_owned(), Vec::new()),
            })
            .collect()
    }

    #[test]
    fn one_message_per_frame_and_edge_keeping_each_connections_order() {
        let (a, b, g) = (Bytes::from("A"), Bytes::from("B"), Bytes::from("G"));
        let items = vec![
            Item::Frame {
                conn: 1,
                frame: frame("r", &a),
            },
            Item::Frame {
                conn: 1,
                frame: frame("r", &b),
            },
            Item::Frame {
                conn: 2,
                frame: frame("r", &a),
            },
            Item::Frame {
                conn: 2,
                frame: frame("r", &b),
            },
            // Connection 3 got G before A: A must not be merged into the earlier message.
            Item::Frame {
                conn: 3,
                frame: frame("r", &g),
            },
            Item::Frame {
                conn: 3,
                frame: frame("r", &a),
            },
            Item::Moved {
                conn: 2,
                room: "r".into(),
            },
        ];
        assert_eq!(
            shape(&batch(items)),
            vec![
                ("A".to_owned(), vec![1, 2]),
                ("B".to_owned(), vec![1, 2]),
                ("G".to_owned(), vec![3]),
                ("A".to_owned(), vec![3]),
                ("moved".to_owned(), vec![2]),
            ]
        );
    }

    #[test]
    fn bus_messages_survive_the_wire() {
        let msg = Bus::Frames {
            room: "r_1".into(),
            conns: vec![7, 9],
            kind: 1,
            bytes: Bytes::from_static(b"{\"t\":\"patch\"}"),
        };
        match Bus::decode(&msg.encode()).expect("decodes") {
            Bus::Frames {
                room,
                conns,
                kind,
                bytes,
            } => {
                assert_eq!((room.as_str(), conns, kind), ("r_1", vec![7, 9], 1));
                assert_eq!(&bytes[..], b"{\"t\":\"patch\"}");
            }
            other => panic!("decoded {other:?}"),
        }
    }
}
