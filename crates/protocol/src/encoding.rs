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

    /// Whether a client frame nests arrays and objects (maps) deeper than `limit`, found by
    /// a scan of its bytes before any decoding (strings are skipped). A frame that is not
    /// well formed is not too deep: the decoder says what is wrong with it.
    pub fn too_deep(self, frame: &[u8], limit: usize) -> bool {
        if self == Self::MsgPack {
            return msgpack_too_deep(frame, limit).unwrap_or(false);
        }
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in frame {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        false
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

/// [`Encoding::too_deep`] for MessagePack: walk the markers, keeping how many items each
/// open array or map still holds. `None` for a malformed or truncated frame.
fn msgpack_too_deep(frame: &[u8], limit: usize) -> Option<bool> {
    let be = |at: usize, n: usize| -> Option<u64> {
        let bytes = frame.get(at..at.checked_add(n)?)?;
        Some(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    // Items left at each open level; the bottom is the frame's one value.
    let mut open: Vec<u64> = vec![1];
    let mut at = 0usize;
    while let Some(left) = open.last_mut() {
        if *left == 0 {
            open.pop();
            continue;
        }
        *left -= 1;
        let marker = *frame.get(at)?;
        at += 1;
        // (bytes that follow the marker, items of a container it opens)
        let (skip, items): (u64, Option<u64>) = match marker {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => (0, None),
            0x80..=0x8f => (0, Some(2 * u64::from(marker & 0x0f))),
            0x90..=0x9f => (0, Some(u64::from(marker & 0x0f))),
            0xa0..=0xbf => (u64::from(marker & 0x1f), None),
            0xc4 | 0xd9 => (1 + be(at, 1)?, None),
            0xc5 | 0xda => (2 + be(at, 2)?, None),
            0xc6 | 0xdb => (4 + be(at, 4)?, None),
            0xc7 => (2 + be(at, 1)?, None),
            0xc8 => (3 + be(at, 2)?, None),
            0xc9 => (5 + be(at, 4)?, None),
            0xcc | 0xd0 => (1, None),
            0xcd | 0xd1 => (2, None),
            0xca | 0xce | 0xd2 => (4, None),
            0xcb | 0xcf | 0xd3 => (8, None),
            0xd4 => (2, None),
            0xd5 => (3, None),
            0xd6 => (5, None),
            0xd7 => (9, None),
            0xd8 => (17, None),
            0xdc => (2, Some(be(at, 2)?)),
            0xdd => (4, Some(be(at, 4)?)),
            0xde => (2, Some(2 * be(at, 2)?)),
            0xdf => (4, Some(2 * be(at, 4)?)),
            0xc1 => return None,
        };
        at = at.checked_add(usize::try_from(skip).ok()?)?;
        if let Some(items) = items {
            open.push(items);
            if open.len() - 1 > limit {
                return Some(true);
            }
        }
    }
    Some(false)
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
    fn depth_counts_brackets_outside_strings() {
        let json = Encoding::Json;
        assert!(!json.too_deep(br#"{"t":"act","action":{"a":[1]}}"#, 3));
        assert!(json.too_deep(br#"{"t":"act","action":{"a":[1]}}"#, 2));
        assert!(!json.too_deep(br#"{"t":"chat","text":"[[[[\"{{{{"}"#, 1));
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(json.too_deep(deep.as_bytes(), 32));
        let value: serde_json::Value = serde_json::from_str(&deep).unwrap_or_default();
        let packed = rmp_serde::to_vec_named(&value).expect("encodes");
        assert!(Encoding::MsgPack.too_deep(&packed, 32));
        assert!(!Encoding::MsgPack.too_deep(&packed, 100));
        let act = json!({"t": "act", "room": "r", "seq": 1, "action": {"a": [1, "x", {"b": 2.5}]}});
        let packed = rmp_serde::to_vec_named(&act).expect("encodes");
        assert!(!Encoding::MsgPack.too_deep(&packed, 4));
        assert!(Encoding::MsgPack.too_deep(&packed, 3));
        assert!(
            !Encoding::MsgPack.too_deep(&[0x91], 32),
            "truncated: the decoder's to explain"
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
