//! Arbiter wire protocol, version 1.
//!
//! Every frame is one JSON object with a `t` field naming its type. This crate holds the
//! envelopes both directions, the stable error codes and the WebSocket close codes. It does
//! no IO: the server, the Rust client and the tests share these types, and
//! `docs/protocol.md` is their human-readable contract.

mod codes;
mod encoding;
mod messages;
mod routing;

pub use codes::{ErrorCode, close};
pub use encoding::{DecodeError, Encoding, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};
pub use messages::{
    ChatEvent, ChatEventKind, ChatLine, ClientMsg, JoinRole, MAX_CLIENT_ID, Media, Member,
    PlayerId, PlayerInfo, PresenceEvent, ProposalState, Role, RoomFilter, RoomInfo, RoomStatus,
    ServerMsg, SignalKind, UndoTop, is_client_id,
};
pub use routing::{ReplyTo, frame_details};

/// Protocol version spoken by this crate; `hello` must carry it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default cap on one incoming frame, in bytes.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Re-exported so users of [`ServerMsg::Patch`] need no direct dependency.
pub use json_patch::Patch;
