//! The old protocol's envelopes: `{type, roomId?, data?}` in; `{type, success, error?, data?}`
//! out, sent as one JSON array per frame.

use crate::queue::Item;
use arbiter_engine::{Frame, FrameKind};
use arbiter_protocol::Encoding;
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A client message. Keys are matched exactly (Go matched them in any case); `roomId`,
/// `gameType` and unknown keys are ignored, as the old router ignored them.
#[derive(Deserialize)]
pub(super) struct Incoming {
    #[serde(rename = "type")]
    pub(super) ty: String,
    #[serde(default)]
    pub(super) data: Option<Value>,
}

/// A frame as a client message: `None` for anything but a JSON object with a string `type`,
/// or one that nests deeper than `depth`.
pub(super) fn read(frame: &[u8], depth: usize) -> Option<Incoming> {
    if Encoding::Json.too_deep(frame, depth) {
        return None;
    }
    serde_json::from_slice(frame).ok()
}

/// A success, with its data.
pub(super) fn ok(ty: &str, data: Value) -> Value {
    json!({ "type": ty, "success": true, "data": data })
}

/// A success without data (`leave_room_result`, `add_bot_result`).
pub(super) fn done(ty: &str) -> Value {
    json!({ "type": ty, "success": true })
}

/// A failure: errors carry no data.
pub(super) fn fail(ty: &str, error: &str) -> Value {
    json!({ "type": ty, "success": false, "error": error })
}

/// Encoded messages as one JSON array: the item the connection sends as one frame.
pub(super) fn array(messages: Vec<Bytes>) -> Option<Item> {
    if messages.is_empty() {
        return None;
    }
    let len = Encoding::Json.batch_len(&messages);
    let mut out = BytesMut::with_capacity(len);
    // An array even for one message: the old clients always read one.
    Encoding::Json.batch_into(&mut out, &messages);
    Some(Item::Msg(Frame {
        kind: FrameKind::Control,
        room: Arc::from(""),
        bytes: out.freeze(),
    }))
}

/// `join_room`'s data.
pub(super) struct JoinRoom {
    pub(super) game_type: Option<String>,
    pub(super) room_id: Option<String>,
    pub(super) player_name: String,
}

impl JoinRoom {
    /// Read it the way the old router did, with its error strings.
    pub(super) fn read(data: Option<Value>) -> Result<Self, &'static str> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            #[serde(default)]
            game_type: Option<String>,
            #[serde(default)]
            room_id: Option<String>,
            #[serde(default)]
            player_name: Option<String>,
        }
        let data = data
            .filter(|d| !d.is_null())
            .ok_or("game options are invalid")?;
        let data: Data = serde_json::from_value(data).map_err(|_| "game options are invalid")?;
        let player_name = data
            .player_name
            .filter(|n| !n.trim().is_empty())
            .ok_or("player name is required")?;
        Ok(Self {
            game_type: data.game_type.filter(|g| !g.is_empty()),
            // An empty id asks for a generated one.
            room_id: data.room_id.filter(|r| !r.is_empty()),
            player_name,
        })
    }
}
