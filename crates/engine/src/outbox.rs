//! How a room reaches a connection without knowing what transport carries it.

use arbiter_protocol::{Encoding, PlayerInfo};
use bytes::Bytes;
use std::sync::Arc;

/// Identifies one client connection, unique for the life of the process.
pub type ConnId = u64;

/// What a frame carries, so a transport under pressure knows what it may collapse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A `snapshot`: supersedes every earlier state frame of its room.
    Snapshot,
    /// A `patch`: may be dropped only if a fresh snapshot of its room replaces it.
    Patch,
    /// Anything else (answers, presence, errors): never dropped.
    Control,
}

/// One encoded message on its way to a connection.
#[derive(Debug, Clone)]
pub struct Frame {
    /// What it carries.
    pub kind: FrameKind,
    /// The room it belongs to.
    pub room: Arc<str>,
    /// The encoded message, in the connection's encoding; shared by every connection that
    /// gets the same bytes.
    pub bytes: Bytes,
}

/// The sending side of one connection's bounded outbound queue.
pub trait Outbox: Send + Sync + 'static {
    /// The encoding this connection reads.
    fn encoding(&self) -> Encoding {
        Encoding::Json
    }

    /// Queue a frame. `false` means the connection is gone or hopelessly behind; the room
    /// then drops it (the transport closes it with a clear code, never silently).
    fn push(&self, frame: Frame) -> bool;

    /// Queue several frames at once. Transports that can should make them one unit (a
    /// client never sees only some of them, and they can leave in one batch frame).
    fn push_all(&self, frames: Vec<Frame>) -> bool {
        frames.into_iter().all(|f| self.push(f))
    }

    /// The room `room` stopped being served by this node (another node took it over, or
    /// this one is draining) after its last frame was queued. The transport should end the
    /// connection so that its client reconnects — to any node — and resumes there.
    fn moved(&self, room: &str) {
        let _ = room;
    }
}

/// The connection a command came from, with the identity it authenticated as.
#[derive(Clone)]
pub struct Caller {
    /// The connection.
    pub conn: ConnId,
    /// Who is on it.
    pub player: PlayerInfo,
    /// The client instance it belongs to (`hello.instance`), if the client named one.
    pub instance: Option<String>,
    /// Where answers go.
    pub outbox: Arc<dyn Outbox>,
}
