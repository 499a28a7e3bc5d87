//! Stable error codes and WebSocket close codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A machine-readable reason for a `reject` or `error`. The spelling on the wire
/// (`SCREAMING_SNAKE_CASE`) is part of the contract and never changes meaning.
///
/// Codes are split by whose fault it is: [`ErrorCode::is_client_fault`] is true for requests
/// the client can fix, false for failures of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The frame is not valid JSON (or not an object with a string `t`).
    BadMessage,
    /// `t` names no message type of this protocol version.
    UnknownType,
    /// A field is missing, has the wrong type or an invalid value.
    InvalidField,
    /// `hello` asked for a protocol version this server does not speak.
    UnsupportedVersion,
    /// A message other than `hello` arrived before `hello`.
    NotAuthenticated,
    /// `hello` was sent twice on one connection.
    AlreadyAuthenticated,
    /// The token in `hello` has a bad signature, is malformed or expired.
    BadToken,
    /// No game of that name is registered.
    UnknownGame,
    /// The game refused the room configuration.
    InvalidConfig,
    /// No live room has that id or code.
    RoomNotFound,
    /// Every seat (or every spectator place) is taken.
    RoomFull,
    /// The room accepts no new players now (for example a game in progress).
    JoinRefused,
    /// The sender is not a member of the room the message names.
    NotInRoom,
    /// The sender is already a member of that room.
    AlreadyInRoom,
    /// Spectators cannot act.
    NotAPlayer,
    /// `base` is older than the room's version and the action depends on order.
    Stale,
    /// The `seq` is at or below one already used and its answer is no longer kept.
    SeqReused,
    /// The action is not a well-formed action of this game.
    InvalidAction,
    /// The game's rules refuse the action: it is another player's turn.
    NotYourTurn,
    /// The game's rules refuse the action: the move is not legal now.
    InvalidMove,
    /// The game is over; only actions such as a restart are accepted.
    GameOver,
    /// The action needs a finished game or a game that has not started.
    GameInProgress,
    /// The room is paused: game actions wait until it resumes.
    Paused,
    /// The game does not offer this (e.g. bots).
    Unsupported,
    /// The room is shutting down or closed.
    RoomClosed,
    /// The server is shutting down.
    Unavailable,
    /// Too many messages; slow down.
    RateLimited,
    /// No long-poll session has that id (it ended or never existed); open a new one.
    SessionNotFound,
    /// The request came from a web page whose origin the server does not allow.
    ForbiddenOrigin,
    /// The caller is known but may not do this (e.g. the admin API without its token).
    Forbidden,
    /// The HTTP route is not offered by this server (e.g. `/metrics` with metrics off).
    NotFound,
    /// A failure of the server, not of the request.
    Internal,
    /// A route of the external-game API was called without an `x-api-key` header.
    ApiKeyRequired,
    /// The `x-api-key` is not a key this server issued (malformed, unknown or wrong secret).
    InvalidApiKey,
    /// The API key was revoked by an operator.
    ApiKeyRevoked,
    /// The API key's lifetime (or a rotated key's grace period) is over.
    ApiKeyExpired,
    /// The API key is valid but lacks the scope (or the game) this route needs.
    ForbiddenScope,
    /// A mutating route of the external-game API was called without an `Idempotency-Key`.
    IdempotencyKeyRequired,
    /// The `Idempotency-Key` was used before (by the same API key) for a different request.
    IdempotencyConflict,
    /// The request with this `Idempotency-Key` is still being applied; retry shortly.
    IdempotencyInProgress,
    /// A report named a version older than the current one (an external game's player
    /// status or state); `details` carry the current state.
    VersionConflict,
    /// A code this client does not know yet (newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// True when the request was at fault and resending it unchanged will fail again.
    pub fn is_client_fault(self) -> bool {
        !matches!(
            self,
            Self::Internal | Self::Unavailable | Self::RoomClosed | Self::IdempotencyInProgress
        )
    }

    /// The wire spelling, e.g. `"NOT_YOUR_TURN"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadMessage => "BAD_MESSAGE",
            Self::UnknownType => "UNKNOWN_TYPE",
            Self::InvalidField => "INVALID_FIELD",
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::NotAuthenticated => "NOT_AUTHENTICATED",
            Self::AlreadyAuthenticated => "ALREADY_AUTHENTICATED",
            Self::BadToken => "BAD_TOKEN",
            Self::UnknownGame => "UNKNOWN_GAME",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::RoomNotFound => "ROOM_NOT_FOUND",
            Self::RoomFull => "ROOM_FULL",
            Self::JoinRefused => "JOIN_REFUSED",
            Self::NotInRoom => "NOT_IN_ROOM",
            Self::AlreadyInRoom => "ALREADY_IN_ROOM",
            Self::NotAPlayer => "NOT_A_PLAYER",
            Self::Stale => "STALE",
            Self::SeqReused => "SEQ_REUSED",
            Self::InvalidAction => "INVALID_ACTION",
            Self::NotYourTurn => "NOT_YOUR_TURN",
            Self::InvalidMove => "INVALID_MOVE",
            Self::GameOver => "GAME_OVER",
            Self::GameInProgress => "GAME_IN_PROGRESS",
            Self::Paused => "PAUSED",
            Self::Unsupported => "UNSUPPORTED",
            Self::RoomClosed => "ROOM_CLOSED",
            Self::Unavailable => "UNAVAILABLE",
            Self::RateLimited => "RATE_LIMITED",
            Self::SessionNotFound => "SESSION_NOT_FOUND",
            Self::ForbiddenOrigin => "FORBIDDEN_ORIGIN",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Internal => "INTERNAL",
            Self::ApiKeyRequired => "API_KEY_REQUIRED",
            Self::InvalidApiKey => "INVALID_API_KEY",
            Self::ApiKeyRevoked => "API_KEY_REVOKED",
            Self::ApiKeyExpired => "API_KEY_EXPIRED",
            Self::ForbiddenScope => "FORBIDDEN_SCOPE",
            Self::IdempotencyKeyRequired => "IDEMPOTENCY_KEY_REQUIRED",
            Self::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::VersionConflict => "VERSION_CONFLICT",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes the server uses. Only conditions that leave the stream unusable
/// close the socket; every other problem is answered with `error` or `reject`.
pub mod close {
    /// Normal closure: the client asked to close.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the WebSocket protocol (e.g. an unmasked client frame).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A binary frame arrived on a JSON connection.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A text frame was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A frame exceeded the server's size cap.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server hit an unexpected condition.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The server is restarting; reconnect and resume.
    pub const SERVICE_RESTART: u16 = 1012;
    /// `hello` asked for a protocol version the server does not speak.
    pub const UNSUPPORTED_VERSION: u16 = 4002;
    /// Nothing (not even a pong) arrived from the client within the heartbeat timeout.
    pub const HEARTBEAT_TIMEOUT: u16 = 4004;
    /// No `hello` arrived within the handshake deadline.
    pub const HELLO_TIMEOUT: u16 = 4003;
    /// The client did not read its frames fast enough (its queue overflowed even after
    /// collapsing patches, or a write stalled); its seats are kept.
    pub const TOO_SLOW: u16 = 4008;
    /// Policy: the client passed a limit — it kept sending while rate limited, or its player
    /// holds the most connections allowed. Reconnecting at once will not help; slow down.
    pub const RATE_LIMITED: u16 = 4029;
}
