//! What the engine needs from durable storage. Implementations (SQLite, PostgreSQL) live in
//! the server; the engine only appends, snapshots and loads.

use crate::log::LogEntry;
use crate::room::RoomOptions;
use arbiter_protocol::{ChatLine, PlayerId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so `Store` can be used as a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why storage refused or failed a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The database failed or could not be reached; the message says how.
    Failed(String),
    /// The write carried a fencing token older than the room's: another node has taken the
    /// room over since this one loaded it. Nothing was written.
    Fenced,
    /// A new room's id or code is already used by a live room. Nothing was written.
    Conflict,
}

impl StoreError {
    /// A failure, in words.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(message) => f.write_str(message),
            Self::Fenced => f.write_str("another node has taken this room over"),
            Self::Conflict => f.write_str("a live room already has this id or code"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Everything about a room that is fixed at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRoom {
    /// Room id.
    pub id: String,
    /// Human code.
    pub code: String,
    /// Game name.
    pub game: String,
    /// Game configuration.
    pub config: Value,
    /// RNG seed.
    pub seed: u64,
    /// Room time at creation.
    pub created_ms: u64,
    /// Listed publicly.
    pub public: bool,
    /// Seats.
    pub max_players: u32,
    /// Spectator places.
    pub max_spectators: u32,
    /// Seat grace period.
    pub seat_grace_ms: u64,
    /// The `create` request that made the room, when it carried a key: a retry of it finds
    /// this room instead of creating another. One per room, kept as long as the room's
    /// record; unique per (player, key).
    #[serde(default)]
    pub key: Option<CreateKey>,
    /// The argon2id hash of the room's password, if it has one.
    #[serde(default)]
    pub lock: Option<String>,
    /// The language the room plays in.
    #[serde(default)]
    pub lang: Option<String>,
    /// The room's tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The player whose `create` made the room (`None` for rooms made otherwise, e.g. by an
    /// embedding program): counted against that player's maximum of live rooms, on every
    /// node that shares the store.
    #[serde(default)]
    pub creator: Option<PlayerId>,
}

/// A `create` request's identity: who sent it, and the key their client gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CreateKey {
    /// The creator.
    pub player: PlayerId,
    /// The client's key for the request (`create.key`).
    pub key: String,
}

impl StoredRoom {
    /// What rebuilding the room starts from.
    pub(crate) fn spec(&self) -> crate::room::RoomSpec {
        crate::room::RoomSpec {
            id: self.id.clone(),
            code: self.code.clone(),
            config: self.config.clone(),
            seed: self.seed,
            created_ms: self.created_ms,
            options: self.options(),
        }
    }

    /// The room's limits.
    pub fn options(&self) -> RoomOptions {
        RoomOptions {
            public: self.public,
            max_players: self.max_players,
            max_spectators: self.max_spectators,
            seat_grace_ms: self.seat_grace_ms,
            lock: self.lock.clone(),
            lang: self.lang.clone(),
            tags: self.tags.clone(),
        }
    }
}

/// A room's full persistent state at one version, and a hash of its game state taken when
/// it was written, to check on recovery that replay reproduces it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The version.
    pub v: u64,
    /// FNV-1a of the game state's JSON.
    pub hash: u64,
    /// The room's persistent state (game state, RNG, timers, seats, seq books).
    pub state: Value,
}

/// A room as storage holds it: enough to rebuild it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// Creation facts.
    pub room: StoredRoom,
    /// Up to the two latest snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
    /// Every log entry after the oldest snapshot returned (all of them if there is none).
    pub log: Vec<LogEntry>,
    /// The room's chat.
    pub chat: StoredChat,
}

/// A room's chat as storage holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredChat {
    /// The newest messages not deleted, at most [`CHAT_KEPT`](crate::CHAT_KEPT), oldest first.
    pub lines: Vec<ChatLine>,
    /// The highest id ever given, deleted messages included (ids are never given twice).
    pub last_id: u64,
    /// The members the host muted.
    pub muted: Vec<PlayerId>,
}

/// Changes to a room's chat, made durable together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatChange {
    /// New messages, in id order.
    pub said: Vec<ChatLine>,
    /// Ids of messages the host deleted.
    pub deleted: Vec<u64>,
    /// Everyone muted now, when that changed.
    pub muted: Option<Vec<PlayerId>>,
}

impl ChatChange {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.said.is_empty() && self.deleted.is_empty() && self.muted.is_none()
    }
}

/// A finished game: who placed where. Recorded when a room's game ends (a room that
/// restarts its game records one per game).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameResult {
    /// Room id.
    pub room: String,
    /// Game name.
    pub game: String,
    /// The version at which the game ended.
    pub v: u64,
    /// Room time it ended.
    pub at_ms: u64,
    /// Places, best first; several players in one place tied.
    pub ranking: Vec<Vec<PlayerId>>,
}

/// Whose results to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultsOf {
    /// One room's games.
    Room(String),
    /// Every game a player placed in.
    Player(PlayerId),
}

/// Why a room stopped living in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Archive {
    /// Nobody used it for its idle lifetime.
    Idle,
    /// An operator closed it.
    Closed,
}

/// Durable storage for rooms. Every method returns once its effect is durable (committed);
/// implementations may batch concurrent calls into one commit.
///
/// Writes to a room carry a *fencing token*: the room's token when its writer loaded it (0
/// for a new room). [`Store::claim`] raises the token; a write carrying an older one is
/// refused with [`StoreError::Fenced`], so a node that lost a room (paused past its lease,
/// cut off) can never write to it again.
pub trait Store: Send + Sync + 'static {
    /// Record a new room (fencing token 0). [`StoreError::Conflict`] if a live room already
    /// has its id or code.
    fn create(&self, room: StoredRoom) -> StoreFuture<'_, ()>;
    /// Take a live room over: raise its fencing token and return the new one (`None` if no
    /// live room has this id). Load the room after claiming it, never before.
    fn claim(&self, room: &str) -> StoreFuture<'_, Option<u64>>;
    /// Append entries (consecutive versions), the results of games they ended and,
    /// optionally, a snapshot taken after them — all in one commit, only if `fence` is still
    /// the room's token.
    fn append(
        &self,
        room: &str,
        fence: u64,
        entries: Vec<LogEntry>,
        results: Vec<GameResult>,
        snapshot: Option<Snapshot>,
    ) -> StoreFuture<'_, ()>;
    /// Make a room's chat changes durable, only if `fence` is still the room's token.
    fn chat(&self, room: &str, fence: u64, change: ChatChange) -> StoreFuture<'_, ()>;
    /// Recorded results, newest first: of one room, or involving one player.
    fn results(&self, of: ResultsOf, limit: usize) -> StoreFuture<'_, Vec<GameResult>>;
    /// Mark a room archived: kept for history, not restored on start (only if `fence` is
    /// still the room's token).
    fn archive(&self, room: &str, fence: u64, why: Archive, at_ms: u64) -> StoreFuture<'_, ()>;
    /// Ids of rooms that are not archived, to restore on start.
    fn active(&self) -> StoreFuture<'_, Vec<String>>;
    /// The id of the live room with this code (codes are unique among live rooms).
    fn find_code(&self, code: &str) -> StoreFuture<'_, Option<String>>;
    /// The id of the room (live or archived) that the `create` request `key` made, if any.
    fn find_created(&self, key: &CreateKey) -> StoreFuture<'_, Option<String>>;
    /// Keep `body` under a legacy client id until `expires_ms` (wall clock), replacing what
    /// was kept for it (the Go game server's sessions, docs/hub-compat.md).
    fn keep_legacy(&self, client: &str, body: &str, expires_ms: u64) -> StoreFuture<'_, ()>;
    /// Take (read and forget) what is kept under a legacy client id, unless it expired before
    /// `now_ms`.
    fn take_legacy(&self, client: &str, now_ms: u64) -> StoreFuture<'_, Option<String>>;
    /// How many rooms `player` created that are not archived.
    fn live_created(&self, player: &PlayerId) -> StoreFuture<'_, u64>;
    /// A room's creation record alone (live or archived).
    fn room(&self, room: &str) -> StoreFuture<'_, Option<StoredRoom>>;
    /// Everything needed to rebuild a room.
    fn load(&self, room: &str) -> StoreFuture<'_, Option<Loaded>>;
    /// Log entries above version `after`, at most `limit`, in order (for history).
    fn log(&self, room: &str, after: u64, limit: usize) -> StoreFuture<'_, Vec<LogEntry>>;
    /// The newest snapshot at or below version `v`, to rebuild a past state from.
    fn snapshot_at(&self, room: &str, v: u64) -> StoreFuture<'_, Option<Snapshot>>;
    /// Answer once storage answers a trivial query (readiness checks).
    fn ping(&self) -> StoreFuture<'_, ()>;
}

/// FNV-1a, 64 bits: a stable hash for determinism checks (not for security).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
