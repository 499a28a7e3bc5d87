//! The two wire encodings: JSON text frames (default) and MessagePack binary frames, chosen
//! per connection with the WebSocket subprotocol. The messages are the same.

use crate::{ClientMsg, ServerMsg};
use bytes::{BufMut, Bytes};

/// WebSocket subprotocol that selects JSON (also the default when none is asked for).
pub const SUBPROTOCOL_JSON: &str = "arbiter.v1.json";
/// WebSocket subprotocol that selects MessagePack.
pub const SUBPROTOCOL_MSGPACK: &str = "arbiter.v1.msgpack";

/// How a connection's messages are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// One JSON object (or array of objects) per text frame.
    #[default]
    Json,
    /// One MessagePack map (or array of maps) per binary frame, with field names.
    MsgPack,
}

/// A frame that could not be decoded, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl Encoding {
    /// The encoding a subprotocol name selects.
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name {
            SUBPROTOCOL_JSON => Some(Self::Json),
            SUBPROTOCOL_MSGPACK => Some(Self::MsgPack),
            _ => None,
        }
    }

    /// The subprotocol name of this encoding.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::Json => SUBPROTOCOL_JSON,
            Self::MsgPack => SUBPROTOCOL_MSGPACK,
        }
    }

    /// Encode one server message.
    pub fn encode(self, msg: &ServerMsg) -> Bytes {
        match self {
            Self::Json => Bytes::from(msg.to_json()),
            // Our types always serialise; a failure would be a bug, reported in-band.
            Self::MsgPack => Bytes::from(rmp_serde::to_vec_named(msg).unwrap_or_else(|e| {
                let err = ServerMsg::Error {
                    rid: None,
                    code: crate::ErrorCode::Internal,
                    message: format!("encode failed: {e}"),
                    details: None,
                };
                rmp_serde::to_vec_named(&err).unwrap_or_default()
            })),
        }
    }

    /// Join already-encoded messages into one frame holding an array of them.
    pub fn batch<B: AsRef<[u8]>>(self, frames: &[B]) -> Bytes {
        let mut out = Vec::with_capacity(self.batch_len(frames));
        self.batch_into(&mut out, frames);
        Bytes::from(out)
    }

    /// The length of [`Encoding::batch`]'s result, without building it.
    pub fn batch_len<B: AsRef<[u8]>>(self, frames: &[B]) -> usize {
        let body: usize = frames.iter().map(|f| f.as_ref().len()).sum();
        let n = frames.len();
        body + match self {
            Self::Json => n.saturating_sub(1) + 2,
            Self::MsgPack if n < 16 => 1,
            Self::MsgPack if n <= usize::from(u16::MAX) => 3,
            Self::MsgPack => 5,
        }
    }

    /// Append [`Encoding::batch`]'s result to `out` (a transport writing it behind a header).
    pub fn batch_into<B: AsRef<[u8]>>(self, out: &mut impl BufMut, frames: &[B]) {
        match self {
            Self::Json => {
                out.put_u8(b'[');
                for (i, f) in frames.iter().enumerate() {
                    if i > 0 {
                        out.put_u8(b',');
                    }
                    out.put_slice(f.as_ref());
                }
                out.put_u8(b']');
            }
            Self::MsgPack => {
                let n = frames.len();
                if n < 16 {
                    out.put_u8(0x90 | n as u8);
                } else if let Ok(n) = u16::try_from(n) {
                    out.put_u8(0xdc);
                    out.put_u16(n);
                } else {
                    out.put_u8(0xdd);
                    out.put_u32(n as u32);
                }
                for f in frames {
                    out.put_slice(f.as_ref());
                }
            }
        }
    }

    /// Decode one client message.
    pub fn decode_client(self, frame: &[u8]) -> Result<ClientMsg, DecodeError> {
        match self {
            Self::Json => serde_json::from_slice(frame).map_err(|e| DecodeError(e.to_string())),
            Self::MsgPack => from_msgpack(frame),
        }
    }

    /// Decode a frame as a plain value, with the same limits as [`Encoding::decode_client`]:
    /// for explaining why a frame is not a client message.
    pub fn decode_value(self, frame: &[u8]) -> Result<serde_json::Value, DecodeError> {
        match self {
            Self::Json => serde_json::from_slice(frame).map_err(|e| DecodeError(e.to_string())),
            Self::MsgPack => from_msgpack(frame),
        }
    }

    /// Decode a server frame: one message or a batch of them.
    pub fn decode_server(self, frame: &[u8]) -> Result<Vec<ServerMsg>, DecodeError> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<ServerMsg>),
            One(Box<ServerMsg>),
        }
        let parsed: OneOrMany = match self {
            Self::Json => serde_json::from_slice(frame).map_err(|e| DecodeError(e.to_string()))?,
            Self::MsgPack => from_msgpack(frame)?,
        };
        Ok(match parsed {
            OneOrMany::Many(v) => v,
            OneOrMany::One(m) => vec![*m],
        })
    }
}

/// Deepest nesting a MessagePack frame may have: serde_json's limit, so both encodings take
/// the same documents. rmp-serde's own default (1,024) recurses deep enough to overflow a
/// 2 MiB thread stack in a debug build with a 1 KB frame.
const MAX_DEPTH: usize = 128;

fn from_msgpack<'a, T: serde::Deserialize<'a>>(frame: &'a [u8]) -> Result<T, DecodeError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(frame);
    de.set_max_depth(MAX_DEPTH);
    T::deserialize(&mut de).map_err(|e| DecodeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Vec<ServerMsg> {
        let ops: json_patch::Patch =
            serde_json::from_value(json!([{"op": "replace", "path": "/board/4", "value": "X"}]))
                .expect("patch");
        vec![
            ServerMsg::Pong { n: Some(1) },
            ServerMsg::Patch {
                room: "r_1".into(),
                from: 3,
                v: 4,
                ops,
            },
            ServerMsg::Snapshot {
                room: "r_1".into(),
                v: 4,
                view: json!({"board": [null, "X"], "n": -2.5, "deep": {"a": [1, {"b": true}]}}),
            },
        ]
    }

    #[test]
    fn batch_len_is_the_length_of_the_batch() {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            // Array headers change size at 16 and 65,536 elements in MessagePack.
            for n in [0usize, 1, 3, 15, 16, 65_535, 65_536] {
                let frames = vec![Bytes::from_static(b"{}"); n];
                assert_eq!(
                    enc.batch_len(&frames),
                    enc.batch(&frames).len(),
                    "{enc:?} × {n}"
                );
            }
        }
    }

    #[test]
    fn both_encodings_round_trip_single_messages_and_batches() {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            let msgs = sample();
            let frames: Vec<Bytes> = msgs.iter().map(|m| enc.encode(m)).collect();
            for (m, f) in msgs.iter().zip(&frames) {
                assert_eq!(
                    &enc.decode_server(f).expect("decodes")[..],
                    std::slice::from_ref(m)
                );
            }
            assert_eq!(
                enc.decode_server(&enc.batch(&frames))
                    .expect("batch decodes"),
                msgs
            );
        }
        let many: Vec<Bytes> = (0..20)
            .map(|n| Encoding::MsgPack.encode(&ServerMsg::Pong { n: Some(n) }))
            .collect();
        assert_eq!(
            Encoding::MsgPack
                .decode_server(&Encoding::MsgPack.batch(&many))
                .expect("array16")
                .len(),
            20
        );
    }

    #[test]
    fn a_number_survives_decode_encode_decode() {
        // Found by `arbiter-fuzz run protocol_json`: without serde_json's `float_roundtrip`
        // this integer beyond i64 parsed one ulp off, and re-parsing its text gave another
        // value, so a logged action could replay differently from how it was played.
        let frame = br#"{"t":"act","room":"r","seq":7,"action":{"delta":-118446744073709551616}}"#;
        let msg = Encoding::Json.decode_client(frame).expect("decodes");
        let text = serde_json::to_vec(&msg).expect("encodes");
        assert_eq!(Encoding::Json.decode_client(&text), Ok(msg));
    }

    #[test]
    fn deep_msgpack_is_refused_at_the_json_depth() {
        // Found by `arbiter-fuzz`: 1,000 nested arrays (a 1 KB frame) overflowed a 2 MiB
        // stack in a debug build, which aborts the whole server process.
        // {"t": "act", "room": "r", "seq": 1, "action": [[[…null…]]]}, written by hand: a
        // `Value` that deep would itself recurse too far in a debug build.
        let act = |depth: usize| {
            let mut frame = b"\x84\xa1t\xa3act\xa4room\xa1r\xa3seq\x01\xa6action".to_vec();
            frame.extend(std::iter::repeat_n(0x91, depth));
            frame.push(0xc0);
            frame
        };
        assert!(Encoding::MsgPack.decode_client(&act(100)).is_ok());
        let deep = act(1_000);
        let refused = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || Encoding::MsgPack.decode_client(&deep).is_err())
            .expect("spawns")
            .join()
            .expect("no overflow");
        assert!(refused);
        let deep = act(1_000);
        let refused = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || Encoding::MsgPack.decode_value(&deep).is_err())
            .expect("spawns")
            .join()
            .expect("no overflow");
        assert!(refused);
    }

    #[test]
    fn client_messages_decode_from_msgpack_with_the_same_rules() {
        let act = ClientMsg::Act {
            room: "r".into(),
            seq: 2,
            base: None,
            action: json!({"type": "move", "row": 1, "col": 2}),
        };
        let bytes = rmp_serde::to_vec_named(&act).expect("encodes");
        assert_eq!(Encoding::MsgPack.decode_client(&bytes), Ok(act));
        let unknown = rmp_serde::to_vec_named(&json!({"t": "ping", "x": 1})).expect("encodes");
        assert!(Encoding::MsgPack.decode_client(&unknown).is_err());
        assert_eq!(
            Encoding::from_subprotocol("arbiter.v1.msgpack"),
            Some(Encoding::MsgPack)
        );
        assert_eq!(Encoding::from_subprotocol("other"), None);
    }
}
