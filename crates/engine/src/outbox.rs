//! How a room reaches a connection without knowing what transport carries it.

use arbiter_protocol::PlayerInfo;
use bytes::Bytes;
use std::sync::Arc;

/// Identifies one client connection, unique for the life of the process.
pub type ConnId = u64;

/// The sending side of one connection's bounded outbound queue.
///
/// Frames are already encoded, so a frame shared by many viewers is encoded once and only
/// its reference count grows per connection.
pub trait Outbox: Send + Sync + 'static {
    /// Queue a frame. `false` means the connection is gone or its queue overflowed; the room
    /// then drops the connection (the transport closes it with a clear code, never silently).
    fn push(&self, frame: Bytes) -> bool;
}

/// The connection a command came from, with the identity it authenticated as.
#[derive(Clone)]
pub struct Caller {
    /// The connection.
    pub conn: ConnId,
    /// Who is on it.
    pub player: PlayerInfo,
    /// Where answers go.
    pub outbox: Arc<dyn Outbox>,
}
