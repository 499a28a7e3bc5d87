//! Rust client for Arbiter: connect, create and join rooms, act with acknowledgements, and keep
//! a live copy of each room's view.
//!
//! A [`Client`] is a cheap, clonable handle over one WebSocket. A background task owns the
//! socket: it answers the futures of [`Client::create`], [`Client::act`] and friends, applies
//! snapshots and patches to the local views (asking for a fresh snapshot when a patch does not
//! fit), and forwards every server frame to [`Events`].
//!
//! ```no_run
//! use arbiter_client::{Client, CreateRoom, Hello};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), arbiter_client::ClientError> {
//! let (client, _events) = Client::connect("ws://127.0.0.1:8080/ws", Hello::named("ada")).await?;
//! let joined = client.create(CreateRoom::new("tictactoe")).await?;
//! let v = client.act(&joined.room.id, json!({"type": "place", "cell": 4})).await?;
//! assert_eq!(client.view(&joined.room.id).map(|view| view.v), Some(v));
//! # Ok(())
//! # }
//! ```

mod client;
mod conn;
mod error;
mod state;
mod view;

pub use client::{ActOptions, Client, CreateRoom, Events, Hello, Joined};
pub use error::{ClientError, CloseInfo};
pub use view::{LocalView, Outcome, RoomView};

/// The wire protocol, re-exported so users need no direct dependency.
pub use arbiter_protocol as protocol;
pub use arbiter_protocol::{
    ChatEvent, ChatEventKind, ChatLine, Encoding, ErrorCode, JoinRole, Member, PlayerId,
    PlayerInfo, PresenceEvent, Role, RoomInfo, RoomStatus, ServerMsg,
};
