//! What can go wrong talking to a server, and how a connection ended.

use arbiter_protocol::ErrorCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite;

/// How the connection ended: the server's close frame, or none when the socket just dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseInfo {
    /// Close code from the close frame (`arbiter_protocol::close::*`); `None` without one.
    pub code: Option<u16>,
    /// Close reason from the frame, or what broke the socket.
    pub reason: String,
}

/// A failed client call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused an action (`reject`); the room did not change.
    #[error("action rejected: {code}: {message}")]
    Rejected {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Extra structured facts (for `STALE`: the current version).
        details: Option<Value>,
    },
    /// The server answered a request with `error` (or refused `hello`).
    #[error("server error: {code}: {message}")]
    Server {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Extra structured facts.
        details: Option<Value>,
    },
    /// The connection is gone, before or while the call waited for its answer.
    #[error("connection closed (code {code:?}): {reason}")]
    Closed {
        /// Close code the server sent, if it sent a close frame.
        code: Option<u16>,
        /// Close reason, or what broke the socket.
        reason: String,
    },
    /// The server sent something that is not protocol v1, or not the expected answer.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A value given to the client does not encode as JSON.
    #[error("cannot encode: {0}")]
    Encode(String),
    /// Connecting or the WebSocket handshake failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tungstenite::Error),
}

impl ClientError {
    /// The protocol error code of a `Rejected` or `Server` error, so callers can match on it.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Rejected { code, .. } | Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl From<CloseInfo> for ClientError {
    fn from(info: CloseInfo) -> Self {
        Self::Closed {
            code: info.code,
            reason: info.reason,
        }
    }
}
