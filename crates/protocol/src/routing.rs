//! What a server needs to route a [`ClientMsg`] without knowing each type: the room it
//! addresses, where the answer goes when it is refused, and which types and fields exist.
//!
//! Type and field names are read from the serde derive itself (see [`Expected`]), so adding a
//! message type means adding its variant and nothing else here.

use crate::messages::{ClientMsg, ServerMsg};
use serde::de::{self, DeserializeOwned, value::MapDeserializer};
use serde_json::{Map, Value};
use std::fmt;

/// Where the answer to a refused request goes: the form its sender waits for.
///
/// A message that carries a `seq` (an action, `undo`, `redo`, `consent`) is answered with `reject`, so
/// the client's pending seq settles; any other with `error`, echoing its `rid` if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyTo {
    /// A `reject` for this room and seq.
    Reject {
        /// The room as the client named it.
        room: String,
        /// The refused seq.
        seq: u64,
    },
    /// An `error`.
    Error {
        /// The request id to echo.
        rid: Option<u64>,
    },
}

impl ReplyTo {
    /// For a frame of a known type `t` that did not decode: a `reject` when the type carries a
    /// seq and the frame names a room and a seq, an `error` echoing any `rid` otherwise.
    pub fn of_frame(t: &str, frame: &Value) -> Self {
        let carries_seq = ClientMsg::fields(t).is_some_and(|f| f.contains(&"seq"));
        let room = frame.get("room").and_then(Value::as_str);
        let seq = frame.get("seq").and_then(Value::as_u64);
        match (carries_seq, room, seq) {
            (true, Some(room), Some(seq)) => Self::Reject {
                room: room.to_owned(),
                seq,
            },
            _ => Self::Error {
                rid: frame.get("rid").and_then(Value::as_u64),
            },
        }
    }
}

/// Longest `seq` or `rid` string echoed as sent (in bytes): enough for any id a client would
/// match on, and no way to make an answer large.
const MAX_ECHO: usize = 64;

/// The `details` of an `error` that answers a frame of type `t` which did not decode: what
/// the frame said of where it belongs, so its sender can still match the answer. `room` when
/// the type has one and it is a string; `seq` and `rid` as sent (a number, or a string of at
/// most 64 bytes) when the type has them and the answer's own fields could not carry them —
/// a `seq` whenever the answer is no `reject`, a `rid` that is no unsigned 64-bit integer.
pub fn frame_details(t: &str, frame: &Value) -> Map<String, Value> {
    let fields = ClientMsg::fields(t).unwrap_or_default();
    let mut details = Map::new();
    if fields.contains(&"room")
        && let Some(room) = frame.get("room").filter(|r| r.is_string())
    {
        details.insert("room".to_owned(), room.clone());
    }
    let echoable = |v: &&Value| match v {
        Value::Number(_) => true,
        Value::String(s) => s.len() <= MAX_ECHO,
        _ => false,
    };
    if fields.contains(&"seq")
        && !matches!(ReplyTo::of_frame(t, frame), ReplyTo::Reject { .. })
        && let Some(seq) = frame.get("seq").filter(echoable)
    {
        details.insert("seq".to_owned(), seq.clone());
    }
    if fields.contains(&"rid")
        && let Some(rid) = frame
            .get("rid")
            .filter(|r| r.as_u64().is_none())
            .filter(echoable)
    {
        details.insert("rid".to_owned(), rid.clone());
    }
    details
}

impl ClientMsg {
    /// The room this message addresses, as the client named it (id or code); `None` for
    /// messages the session answers itself (`hello`, `create`, `ping`).
    pub fn room(&self) -> Option<&str> {
        match self {
            Self::Join { room, .. }
            | Self::Leave { room, .. }
            | Self::AddBot { room, .. }
            | Self::Act { room, .. }
            | Self::Undo { room, .. }
            | Self::Redo { room, .. }
            | Self::Consent { room, .. }
            | Self::Chat { room, .. }
            | Self::ChatHistory { room, .. }
            | Self::ChatDelete { room, .. }
            | Self::ChatMute { room, .. }
            | Self::Signal { room, .. }
            | Self::Media { room, .. }
            | Self::Sync { room }
            | Self::Pause { room, .. }
            | Self::Resume { room, .. } => Some(room),
            Self::Hello { .. }
            | Self::Create { .. }
            | Self::JoinOrCreate { .. }
            | Self::Launch { .. }
            | Self::WatchRooms { .. }
            | Self::UnwatchRooms {}
            | Self::Invite { .. }
            | Self::Ping { .. } => None,
        }
    }

    /// Where the answer goes if this message is refused.
    pub fn reply_to(&self) -> ReplyTo {
        match self {
            Self::Act { room, seq, .. }
            | Self::Undo { room, seq, .. }
            | Self::Redo { room, seq }
            | Self::Consent { room, seq, .. } => ReplyTo::Reject {
                room: room.clone(),
                seq: *seq,
            },
            Self::Create { rid, .. }
            | Self::JoinOrCreate { rid, .. }
            | Self::Launch { rid, .. }
            | Self::Join { rid, .. }
            | Self::ChatHistory { rid, .. }
            | Self::WatchRooms { rid, .. }
            | Self::Invite { rid, .. }
            | Self::ChatDelete { rid, .. }
            | Self::ChatMute { rid, .. }
            | Self::Leave { rid, .. }
            | Self::Pause { rid, .. }
            | Self::Resume { rid, .. }
            | Self::AddBot { rid, .. } => ReplyTo::Error { rid: *rid },
            Self::Hello { .. }
            | Self::UnwatchRooms {}
            | Self::Chat { .. }
            | Self::Signal { .. }
            | Self::Media { .. }
            | Self::Sync { .. }
            | Self::Ping { .. } => ReplyTo::Error { rid: None },
        }
    }

    /// Every client message type, as spelled in `t`.
    pub fn types() -> &'static [&'static str] {
        variants::<Self>()
    }

    /// The fields of message type `t` as spelled on the wire; `None` if `t` is no type.
    pub fn fields(t: &str) -> Option<&'static [&'static str]> {
        // A field no message has makes the derived code name the ones it expected.
        match probe::<Self>(&[("t", t), ("", "")]) {
            Expected::Fields(fields) => Some(fields),
            _ => None,
        }
    }
}

impl ServerMsg {
    /// Every server message type, as spelled in `t`.
    pub fn types() -> &'static [&'static str] {
        variants::<Self>()
    }
}

/// The tags of an internally tagged enum: a tag no variant has makes the derived code name
/// the ones it expected.
fn variants<T: DeserializeOwned>() -> &'static [&'static str] {
    match probe::<T>(&[("t", "")]) {
        Expected::Variants(names) => names,
        _ => &[],
    }
}

/// Deserialize `T` from string pairs and keep what serde said it expected instead.
fn probe<T: DeserializeOwned>(pairs: &[(&str, &str)]) -> Expected {
    let input = MapDeserializer::<_, Expected>::new(pairs.iter().copied());
    T::deserialize(input).err().unwrap_or(Expected::Other)
}

/// A deserialization error that remembers only the names serde expected.
#[derive(Debug)]
enum Expected {
    Variants(&'static [&'static str]),
    Fields(&'static [&'static str]),
    Other,
}

impl de::Error for Expected {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self::Other
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Self::Variants(expected)
    }

    fn unknown_field(_: &str, expected: &'static [&'static str]) -> Self {
        Self::Fields(expected)
    }
}

impl std::error::Error for Expected {}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_and_fields_come_from_the_enums() {
        let client = ClientMsg::types();
        assert!(
            client.contains(&"hello") && client.contains(&"add_bot"),
            "{client:?}"
        );
        assert!(ServerMsg::types().contains(&"bot_added"));
        assert_eq!(ClientMsg::fields("undo"), Some(&["room", "seq", "ask"][..]));
        assert!(ClientMsg::fields("join").is_some_and(|f| f.contains(&"as")));
        assert_eq!(ClientMsg::fields("nope"), None);
    }

    #[test]
    fn an_error_carries_what_the_frame_said_of_where_it_belongs() {
        let details = |frame: Value| {
            let t = frame["t"].as_str().unwrap_or_default().to_owned();
            Value::Object(frame_details(&t, &frame))
        };
        // A seq the reject cannot carry is echoed as sent, beside the room.
        assert_eq!(
            details(json!({"t": "act", "room": "r", "seq": "7", "action": {}})),
            json!({"room": "r", "seq": "7"})
        );
        assert_eq!(
            details(json!({"t": "undo", "room": "r", "seq": -1})),
            json!({"room": "r", "seq": -1})
        );
        // No room to reject in: the seq is echoed, even a valid one.
        assert_eq!(
            details(json!({"t": "act", "room": 5, "seq": 3, "action": {}})),
            json!({"seq": 3})
        );
        // A reject carries room and seq itself.
        assert_eq!(
            details(json!({"t": "act", "room": "r", "seq": 3, "x": 1})),
            json!({"room": "r"})
        );
        assert_eq!(
            details(json!({"t": "join", "rid": "2", "room": "KXQTP", "x": 1})),
            json!({"room": "KXQTP", "rid": "2"})
        );
        assert_eq!(
            details(json!({"t": "join", "rid": 2, "room": 4})),
            json!({})
        );
        assert_eq!(
            details(json!({"t": "act", "room": "r", "seq": "y".repeat(65)})),
            json!({"room": "r"})
        );
        // Fields the type does not have are not echoed.
        assert_eq!(
            details(json!({"t": "ping", "room": "r", "seq": "1"})),
            json!({})
        );
    }

    #[test]
    fn only_messages_with_a_seq_are_answered_by_reject() {
        let rejected: Vec<&str> = ClientMsg::types()
            .iter()
            .copied()
            .filter(|t| {
                let frame = json!({"t": t, "room": "r", "seq": 4, "rid": 9});
                match ReplyTo::of_frame(t, &frame) {
                    ReplyTo::Reject { room, seq } => room == "r" && seq == 4,
                    ReplyTo::Error { rid } => {
                        assert_eq!(rid, Some(9), "{t}");
                        false
                    }
                }
            })
            .collect();
        assert_eq!(rejected, ["act", "undo", "redo", "consent"]);
        let act = ClientMsg::Act {
            room: "r".into(),
            seq: 4,
            base: None,
            action: json!({}),
        };
        assert_eq!(
            act.reply_to(),
            ReplyTo::Reject {
                room: "r".into(),
                seq: 4
            }
        );
    }
}
