//! One room: state, members, connections, views, bots and the de-duplication books. No IO and
//! no async here; the actor (`actor.rs`) owns a `Room` and feeds it commands one at a time.

use crate::game::{Game, GameError, Status, Viewer};
use crate::log::{BOT_PREFIX, EntryKind, Journal, LogEntry, Staged, parse_action, parse_config};
use crate::outbox::{Caller, ConnId, Frame, FrameKind, Outbox};
use crate::rng::GameRng;
use crate::seats::Seats;
use crate::store::{GameResult, Snapshot, fnv1a};
use arbiter_protocol::{
    Encoding, ErrorCode, JoinRole, Member, PlayerId, PlayerInfo, PresenceEvent, Role, RoomInfo,
    RoomStatus, ServerMsg,
};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many answers per player the room remembers for retried sequence numbers.
const SEQ_MEMORY: usize = 64;

/// Chat messages kept to show newcomers.
const CHAT_MEMORY: usize = 50;

/// At most this many chat messages per member in any `CHAT_WINDOW_MS`.
const CHAT_BURST: usize = 5;
const CHAT_WINDOW_MS: u64 = 5_000;

/// Longest chat message, in characters.
const CHAT_MAX_CHARS: usize = 500;

/// State frames kept per view key so a returning client can be sent exactly what it missed.
const HISTORY: usize = 128;

/// Patches at most this long (bytes) are sent without measuring the snapshot: no snapshot
/// envelope is smaller.
const SMALL_PATCH: usize = 96;

/// Limits and listing chosen when a room is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomOptions {
    /// Listed in the public room list.
    pub public: bool,
    /// Seats (already capped at the game's maximum).
    pub max_players: u32,
    /// Spectator places.
    pub max_spectators: u32,
    /// How long a disconnected player's seat is held before the game's leave rule applies.
    pub seat_grace_ms: u64,
}

/// Everything needed to create a room, and to rebuild it from its log.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    /// Opaque id.
    pub id: String,
    /// Short human code.
    pub code: String,
    /// Game configuration as JSON (`null` for defaults).
    pub config: Value,
    /// Seed of the room's RNG.
    pub seed: u64,
    /// Room time at creation.
    pub created_ms: u64,
    /// Limits and listing.
    pub options: RoomOptions,
}

/// Who sees which view. Spectators share one; in games with a public view everyone does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ViewKey {
    Public,
    Seat(PlayerId),
}

impl ViewKey {
    fn viewer(&self) -> Viewer {
        match self {
            Self::Public => Viewer::Spectator,
            Self::Seat(p) => Viewer::Player(p.clone()),
        }
    }
}

/// The last view sent to one view key, the base of its next patch, and the recent state
/// messages that led to it.
struct SentView {
    v: u64,
    view: Value,
    /// The latest state messages (patches, or a snapshot where that was smaller), oldest
    /// first, each with the version it starts from, forming a chain that ends at `v`.
    history: VecDeque<(u64, Arc<ServerMsg>)>,
}

impl SentView {
    fn new(v: u64, view: Value) -> Self {
        Self {
            v,
            view,
            history: VecDeque::new(),
        }
    }

    fn record(&mut self, from: u64, msg: Arc<ServerMsg>) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((from, msg));
    }

    /// The state messages that take a viewer holding version `since` to `v`, if the history
    /// still reaches back that far.
    fn since(&self, since: u64) -> Option<Vec<Arc<ServerMsg>>> {
        if since == self.v {
            return Some(Vec::new());
        }
        let start = self.history.iter().position(|(from, _)| *from == since)?;
        Some(
            self.history
                .iter()
                .skip(start)
                .map(|(_, m)| m.clone())
                .collect(),
        )
    }
}

struct MemberState {
    info: PlayerInfo,
    role: Role,
    bot: bool,
    /// Open connections of this member in this room.
    conns: u32,
}

impl MemberState {
    fn to_member(&self) -> Member {
        Member {
            id: self.info.id.clone(),
            name: self.info.name.clone(),
            role: self.role,
            connected: self.bot || self.conns > 0,
            bot: self.bot,
        }
    }
}

struct ConnState {
    player: PlayerId,
    key: ViewKey,
    outbox: Arc<dyn Outbox>,
}

/// The remembered answer to one sequence number.
#[derive(Debug, Clone)]
enum Answer {
    Ack(u64),
    Reject(GameError),
}

/// Per-player de-duplication: the highest seq seen and the answers to the latest ones.
#[derive(Default)]
struct SeqBook {
    last: u64,
    recent: VecDeque<(u64, Answer)>,
}

impl SeqBook {
    fn remember(&mut self, seq: u64, answer: Answer) {
        self.last = self.last.max(seq);
        if self.recent.len() == SEQ_MEMORY {
            self.recent.pop_front();
        }
        self.recent.push_back((seq, answer));
    }

    fn answer(&self, seq: u64) -> Option<&Answer> {
        self.recent.iter().find(|(s, _)| *s == seq).map(|(_, a)| a)
    }
}

/// The answer to a history question about entries a room restored from a snapshot no longer
/// holds (storage has them): the server then asks storage.
fn in_storage() -> GameError {
    GameError::new(
        ErrorCode::Unavailable,
        "this part of the room's history is in storage",
    )
}

/// Frames produced by commands. Normally pushed at once; in hold mode kept until the entries
/// that produced them are durable, then pushed per connection in one go (so a patch and the
/// ack that follows it always leave together).
#[derive(Default)]
struct Mail {
    hold: bool,
    queued: Vec<(ConnId, Arc<dyn Outbox>, Frame)>,
    /// Connections whose queue refused a frame, dropped once the current command is done
    /// (dropping them mid-fan-out would interleave a second entry with the first).
    dropped: Vec<ConnId>,
}

impl Mail {
    fn send(&mut self, conn: ConnId, outbox: &Arc<dyn Outbox>, frame: Frame) {
        if self.hold {
            self.queued.push((conn, outbox.clone(), frame));
        } else if !outbox.push(frame) {
            self.dropped.push(conn);
        }
    }

    fn flush(&mut self) {
        let mut batches: Vec<(ConnId, Arc<dyn Outbox>, Vec<Frame>)> = Vec::new();
        for (conn, outbox, frame) in self.queued.drain(..) {
            match batches.iter_mut().find(|(c, _, _)| *c == conn) {
                Some((_, _, frames)) => frames.push(frame),
                None => batches.push((conn, outbox, vec![frame])),
            }
        }
        for (conn, outbox, frames) in batches {
            if !outbox.push_all(frames) {
                self.dropped.push(conn);
            }
        }
    }
}

/// A bot's decided action, waiting for its pause to end.
struct PendingBot {
    bot: PlayerId,
    action: Value,
    due_ms: u64,
    /// The decision holds only if nothing changed meanwhile.
    at_v: u64,
}

/// Read-only questions about a room's history (the REST history API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Log entries above version `after`, at most `limit` of them.
    Log {
        /// Exclusive lower bound.
        after: u64,
        /// Most entries to return.
        limit: usize,
    },
    /// The viewer's view at version `v` (the current one when `None`).
    StateAt {
        /// The version.
        v: Option<u64>,
    },
    /// The game's own records (e.g. poker hand histories), as the viewer may see them.
    History,
    /// The actions the viewer may take now (none for a spectator) and where the game stands:
    /// what a generic client offers without knowing the game's rules.
    Legal,
}

/// A live room.
pub struct Room<G: Game> {
    game: Arc<G>,
    spec: RoomSpec,
    /// The id, shared by every frame of this room.
    room_id: Arc<str>,
    current: Staged<G>,
    v: u64,
    /// In join order; seats first come first served.
    members: Vec<MemberState>,
    conns: HashMap<ConnId, ConnState>,
    /// Views kept up to date: the public one once anyone has seen it, and each seat's while
    /// the seat is held (so a player returning within the grace period can resume).
    views: HashMap<ViewKey, SentView>,
    books: HashMap<PlayerId, SeqBook>,
    log: Journal,
    /// Room time of the command being handled; entries record it.
    now_ms: u64,
    /// Outgoing frames and the connections that could not take theirs.
    mail: Mail,
    /// The highest version known to be durable (or, without a store, handed to the actor).
    persisted_v: u64,
    /// Games that ended and are not yet recorded.
    results: Vec<GameResult>,
    /// When each disconnected seated player's seat is released.
    seat_deadlines: HashMap<PlayerId, u64>,
    pending_bot: Option<PendingBot>,
    bots_added: u32,
    /// The latest chat messages, shown to whoever joins.
    chat: VecDeque<Arc<ServerMsg>>,
    /// When each member last spoke, for the chat rate limit.
    chat_times: HashMap<PlayerId, VecDeque<u64>>,
}

impl<G: Game> Room<G> {
    /// Create a room: parse the config and run the game's setup.
    pub fn new(game: Arc<G>, spec: RoomSpec) -> Result<Self, GameError> {
        let config = parse_config::<G>(&spec.config)?;
        let current = Staged::setup(&*game, &config, spec.seed, spec.created_ms)?;
        Ok(Self {
            game,
            room_id: spec.id.as_str().into(),
            now_ms: spec.created_ms,
            spec,
            current,
            v: 0,
            members: Vec::new(),
            conns: HashMap::new(),
            views: HashMap::new(),
            books: HashMap::new(),
            log: Journal::default(),
            mail: Mail::default(),
            persisted_v: 0,
            results: Vec::new(),
            seat_deadlines: HashMap::new(),
            pending_bot: None,
            bots_added: 0,
            chat: VecDeque::new(),
            chat_times: HashMap::new(),
        })
    }

    /// The room's id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Creation parameters.
    pub fn spec(&self) -> &RoomSpec {
        &self.spec
    }

    /// Who sits where, and the turn clock.
    pub fn seats(&self) -> &Seats {
        &self.current.seats
    }

    /// Current version.
    pub fn version(&self) -> u64 {
        self.v
    }

    /// The authoritative state (tests and persistence only; never sent to clients).
    pub fn state(&self) -> &G::State {
        &self.current.state
    }

    /// The accepted entries this room holds: all of them, unless it was restored from a
    /// snapshot (then those after it; storage has the rest).
    pub fn log(&self) -> Result<Vec<LogEntry>, GameError> {
        self.log.read(0, usize::MAX)
    }

    /// This room's state rebuilt from its creation parameters and log — the check that
    /// replay reproduces it. A room restored from a snapshot cannot: its early entries are
    /// in storage only.
    pub fn replayed(&self) -> Result<crate::log::Replayed<G>, GameError> {
        self.replay_to(self.v)
    }

    fn replay_to(&self, v: u64) -> Result<crate::log::Replayed<G>, GameError> {
        if self.log.first_version().is_some_and(|first| first > 1) {
            return Err(in_storage());
        }
        let entries = self.log.read(0, usize::try_from(v).unwrap_or(usize::MAX))?;
        crate::log::replay(
            &*self.game,
            &self.spec.config,
            self.spec.seed,
            self.spec.created_ms,
            &entries,
        )
    }

    /// Keep the entries held as values as compact text only. The actor calls this after
    /// each batch; with storage, [`Room::take_unpersisted`] already did.
    pub fn compact_log(&mut self) {
        self.log.compact();
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Members, seated or not, bots included.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Room time of the next thing the room will do by itself: a game timer, a bot's move or
    /// the release of a disconnected player's seat.
    pub fn next_due(&self) -> Option<u64> {
        [
            self.current.timers.next_due(),
            self.current.seats.clock().map(|c| c.due_ms),
            self.pending_bot.as_ref().map(|b| b.due_ms),
            self.seat_deadlines.values().min().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Public facts for the lobby and REST.
    pub fn info(&self) -> RoomInfo {
        let (players, spectators, status, v) = self.info_counts();
        RoomInfo {
            id: self.spec.id.clone(),
            code: self.spec.code.clone(),
            game: self.game.info().name.to_owned(),
            public: self.spec.options.public,
            max_players: self.spec.options.max_players,
            max_spectators: self.spec.options.max_spectators,
            players,
            spectators,
            status,
            v,
        }
    }

    /// Bring `info` (this room's, from [`Room::info`]) up to date without allocating; true
    /// when something changed.
    pub fn refresh_info(&self, info: &mut RoomInfo) -> bool {
        let now = self.info_counts();
        let before = (info.players, info.spectators, info.status, info.v);
        (info.players, info.spectators, info.status, info.v) = now;
        before != now
    }

    fn info_counts(&self) -> (u32, u32, RoomStatus, u64) {
        let seated = self.seated();
        let status = match self.game.status(&self.current.state, &self.current.seats) {
            Status::Waiting => RoomStatus::Waiting,
            Status::Playing => RoomStatus::Playing,
            Status::Finished { .. } => RoomStatus::Finished,
        };
        (seated, self.members.len() as u32 - seated, status, self.v)
    }

    fn seated(&self) -> u32 {
        self.members
            .iter()
            .filter(|m| m.role == Role::Player)
            .count() as u32
    }

    fn member_index(&self, id: &PlayerId) -> Option<usize> {
        self.members.iter().position(|m| &m.info.id == id)
    }

    fn member_index_of_conn(&self, conn: ConnId) -> Option<usize> {
        let player = &self.conns.get(&conn)?.player;
        self.member_index(player)
    }

    fn key_for(&self, player: &PlayerId, role: Role) -> ViewKey {
        if role == Role::Spectator || self.game.public_view() {
            ViewKey::Public
        } else {
            ViewKey::Seat(player.clone())
        }
    }

    /// Encode a message for one connection and queue it, remembering the connection for
    /// dropping if its queue refuses.
    fn send_to(
        &mut self,
        conn: ConnId,
        outbox: &Arc<dyn Outbox>,
        kind: FrameKind,
        msg: &ServerMsg,
    ) {
        let frame = Frame {
            kind,
            room: self.room_id.clone(),
            bytes: outbox.encoding().encode(msg),
        };
        self.mail.send(conn, outbox, frame);
    }

    /// Answer a request that failed with `error`, naming this room in `details.room` so the
    /// client can tell which room it is about.
    fn send_error(
        &mut self,
        caller: &Caller,
        rid: Option<u64>,
        code: ErrorCode,
        message: impl Into<String>,
    ) {
        let msg = ServerMsg::Error {
            rid,
            code,
            message: message.into(),
            details: Some(json!({ "room": self.spec.id })),
        };
        let frame = Frame {
            kind: FrameKind::Control,
            room: self.room_id.clone(),
            bytes: caller.outbox.encoding().encode(&msg),
        };
        self.mail.send(caller.conn, &caller.outbox, frame);
    }

    /// Finish a command: drop the connections that could not keep up.
    fn settle(&mut self) {
        while let Some(conn) = self.mail.dropped.pop() {
            self.drop_connection(conn);
        }
    }

    /// Hold outgoing frames until [`Room::flush`] (the actor does, to send nothing before
    /// the entries behind it are durable).
    pub fn set_hold(&mut self, hold: bool) {
        self.mail.hold = hold;
    }

    /// True when frames wait for [`Room::flush`].
    pub fn has_mail(&self) -> bool {
        !self.mail.queued.is_empty() || !self.mail.dropped.is_empty()
    }

    /// Deliver held frames, then drop connections that could not take theirs (which may
    /// produce new entries and frames: call again until [`Room::has_mail`] is false).
    pub fn flush(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.mail.flush();
        self.settle();
    }

    /// Games that ended since the last call, to record with their entries.
    pub fn take_results(&mut self) -> Vec<GameResult> {
        std::mem::take(&mut self.results)
    }

    /// The highest version handed to storage.
    pub fn persisted_version(&self) -> u64 {
        self.persisted_v
    }

    /// Entries not yet handed to storage, marking them handed.
    pub fn take_unpersisted(&mut self) -> Vec<LogEntry> {
        let from = self.persisted_v;
        self.persisted_v = self.v;
        self.log.take_after(from)
    }

    /// FNV-1a of the game state's JSON, the determinism fingerprint stored with snapshots.
    pub fn state_hash(&self) -> u64 {
        fnv1a(&serde_json::to_vec(&self.current.state).unwrap_or_default())
    }

    /// The room's full persistent state at the current version.
    pub fn snapshot(&self) -> Snapshot {
        let seats: Vec<Value> = self
            .members
            .iter()
            .filter(|m| m.role == Role::Player)
            .map(|m| json!({ "info": m.info, "bot": m.bot }))
            .collect();
        let books: Vec<Value> = self
            .books
            .iter()
            .map(|(p, b)| {
                let acks: Vec<(u64, u64)> = b
                    .recent
                    .iter()
                    .filter_map(|(s, a)| match a {
                        Answer::Ack(v) => Some((*s, *v)),
                        Answer::Reject(_) => None,
                    })
                    .collect();
                json!({ "player": p, "last": b.last, "acks": acks })
            })
            .collect();
        Snapshot {
            v: self.v,
            hash: self.state_hash(),
            state: json!({
                "state": serde_json::to_value(&self.current.state).unwrap_or(Value::Null),
                "rng": self.current.rng,
                "timers": serde_json::to_value(&self.current.timers).unwrap_or(Value::Null),
                "undo": serde_json::to_value(&self.current.undo).unwrap_or(Value::Null),
                "redo": serde_json::to_value(&self.current.redo).unwrap_or(Value::Null),
                "table": serde_json::to_value(&self.current.seats).unwrap_or(Value::Null),
                "seats": seats,
                "books": books,
                "bots_added": self.bots_added,
            }),
        }
    }

    /// Rebuild a room from storage: the older snapshot (if any), then every later entry
    /// through the same code path as live play. When a second snapshot lies within the
    /// replayed entries, the rebuilt state's hash must equal the one it recorded — proof
    /// that replay reproduces the room exactly. Seated humans get the grace period to
    /// come back.
    pub fn restore(
        game: Arc<G>,
        spec: RoomSpec,
        snapshots: &[Snapshot],
        log: &[LogEntry],
        now_ms: u64,
    ) -> Result<Self, GameError> {
        let mut room = Room::new(game, spec)?;
        if let Some(base) = snapshots.first() {
            room.load_snapshot(base)?;
        }
        let check = snapshots.get(1);
        let start = room.v;
        for entry in log.iter().filter(|e| e.v > start) {
            room.replay_entry(entry)?;
            if let Some(c) = check.filter(|c| c.v == room.v)
                && room.state_hash() != c.hash
            {
                return Err(GameError::new(
                    ErrorCode::Internal,
                    format!("replay diverged from the snapshot at version {}", c.v),
                ));
            }
        }
        room.persisted_v = room.v;
        room.now_ms = now_ms;
        let deadline = now_ms + room.spec.options.seat_grace_ms;
        for m in room.members.iter().filter(|m| !m.bot) {
            room.seat_deadlines.insert(m.info.id.clone(), deadline);
        }
        Ok(room)
    }

    fn load_snapshot(&mut self, snap: &Snapshot) -> Result<(), GameError> {
        let bad = |what: &str, e: serde_json::Error| {
            GameError::new(ErrorCode::Internal, format!("snapshot {what}: {e}"))
        };
        let s = &snap.state;
        self.current.state = G::State::deserialize(&s["state"]).map_err(|e| bad("state", e))?;
        self.current.rng = GameRng::deserialize(&s["rng"]).map_err(|e| bad("rng", e))?;
        self.current.timers = crate::game::Timers::<G::Action>::deserialize(&s["timers"])
            .map_err(|e| bad("timers", e))?;
        if !s["undo"].is_null() {
            self.current.undo = Vec::deserialize(&s["undo"]).map_err(|e| bad("undo", e))?;
            self.current.redo = Vec::deserialize(&s["redo"]).map_err(|e| bad("redo", e))?;
        }
        self.members.clear();
        for seat in s["seats"].as_array().into_iter().flatten() {
            self.members.push(MemberState {
                info: PlayerInfo::deserialize(&seat["info"]).map_err(|e| bad("seat", e))?,
                role: Role::Player,
                bot: seat["bot"].as_bool().unwrap_or(false),
                conns: 0,
            });
        }
        self.current.seats = if s["table"].is_null() {
            // A snapshot from before the engine kept seats: seat the members in join order.
            let mut seats = Seats::default();
            for m in &self.members {
                seats.sit(&m.info, m.bot);
            }
            seats
        } else {
            Seats::deserialize(&s["table"]).map_err(|e| bad("seats", e))?
        };
        self.books.clear();
        for book in s["books"].as_array().into_iter().flatten() {
            let player = PlayerId::deserialize(&book["player"]).map_err(|e| bad("book", e))?;
            let acks: Vec<(u64, u64)> =
                Vec::deserialize(&book["acks"]).map_err(|e| bad("book", e))?;
            let mut b = SeqBook {
                last: book["last"].as_u64().unwrap_or(0),
                recent: VecDeque::new(),
            };
            for (seq, v) in acks {
                b.recent.push_back((seq, Answer::Ack(v)));
            }
            self.books.insert(player, b);
        }
        self.bots_added = s["bots_added"].as_u64().unwrap_or(0) as u32;
        self.v = snap.v;
        Ok(())
    }

    /// Re-apply one logged entry, with its effects on seats and seq books.
    fn replay_entry(&mut self, entry: &LogEntry) -> Result<(), GameError> {
        if entry.v != self.v + 1 {
            return Err(GameError::new(
                ErrorCode::Internal,
                format!("log gap: version {} after {}", entry.v, self.v),
            ));
        }
        self.current.apply(&*self.game, &entry.kind, entry.at_ms)?;
        self.v = entry.v;
        match &entry.kind {
            EntryKind::Join { player } => self.members.push(MemberState {
                info: player.clone(),
                role: Role::Player,
                bot: player.id.as_str().starts_with(BOT_PREFIX),
                conns: 0,
            }),
            EntryKind::Leave { player } => self.members.retain(|m| &m.info.id != player),
            EntryKind::Act { player, seq, .. }
            | EntryKind::Undo { player, seq }
            | EntryKind::Redo { player, seq } => {
                self.books
                    .entry(player.clone())
                    .or_default()
                    .remember(*seq, Answer::Ack(entry.v));
            }
            EntryKind::Connection { .. } | EntryKind::Clock { .. } | EntryKind::Timer { .. } => {}
        }
        self.log.push(entry.clone());
        Ok(())
    }

    /// Enter the room (`create` and `join`). Answers the caller with `joined` and a snapshot,
    /// tells the others with `presence`.
    ///
    /// `since` is the version a returning client holds: it then gets exactly the state frames
    /// it missed (none if it is current) instead of a snapshot, when the room still has them.
    pub fn join(
        &mut self,
        caller: &Caller,
        role: JoinRole,
        rid: Option<u64>,
        since: Option<u64>,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        self.join_inner(caller, role, rid, since);
        self.settle();
    }

    fn join_inner(
        &mut self,
        caller: &Caller,
        role: JoinRole,
        rid: Option<u64>,
        since: Option<u64>,
    ) {
        if self.conns.contains_key(&caller.conn) {
            return self.send_error(
                caller,
                rid,
                ErrorCode::AlreadyInRoom,
                "this connection is already in the room",
            );
        }
        let mut notice = None;
        let (idx, is_new) = match self.member_index(&caller.player.id) {
            // Another tab, or a reconnect: the seat (or place) is still there.
            Some(idx) => (idx, false),
            None => match self.admit(&caller.player, role) {
                Ok((new_role, why)) => {
                    notice = why;
                    self.members.push(MemberState {
                        info: caller.player.clone(),
                        role: new_role,
                        bot: false,
                        conns: 0,
                    });
                    (self.members.len() - 1, true)
                }
                Err(e) => return self.send_error(caller, rid, e.code, e.message),
            },
        };
        self.members[idx].conns += 1;
        let member = self.members[idx].to_member();
        let role = member.role;
        if is_new {
            self.presence(PresenceEvent::Joined, member);
        } else if self.members[idx].conns == 1 {
            self.presence(PresenceEvent::Connected, member);
            if self.seat_deadlines.remove(&caller.player.id).is_some() {
                self.tell_game_connection(&caller.player.id, true);
            }
        }
        let key = self.key_for(&caller.player.id, role);
        self.conns.insert(
            caller.conn,
            ConnState {
                player: caller.player.id.clone(),
                key: key.clone(),
                outbox: caller.outbox.clone(),
            },
        );
        let joined = ServerMsg::Joined {
            rid,
            room: self.info(),
            role,
            notice,
            members: self.members.iter().map(MemberState::to_member).collect(),
            seq: self.books.get(&caller.player.id).map_or(0, |b| b.last),
        };
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &joined);
        self.catch_up(caller, &key, since);
        let recent: Vec<Arc<ServerMsg>> = self.chat.iter().cloned().collect();
        for msg in recent {
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        }
        // A human arriving can wake bots that wait for company.
        self.plan_bot();
    }

    /// Decide the role of a newcomer, seating them through the game when they get a seat.
    fn admit(
        &mut self,
        player: &PlayerInfo,
        role: JoinRole,
    ) -> Result<(Role, Option<String>), GameError> {
        if role == JoinRole::Spectator {
            self.spectator_place()?;
            return Ok((Role::Spectator, None));
        }
        let refusal = match self.seat(player) {
            Ok(()) => return Ok((Role::Player, None)),
            Err(e) => e,
        };
        if role == JoinRole::Player {
            return Err(refusal);
        }
        self.spectator_place()?;
        Ok((
            Role::Spectator,
            Some(format!("{}: you are a spectator", refusal.message)),
        ))
    }

    /// Take a seat through the game, if one is free.
    fn seat(&mut self, player: &PlayerInfo) -> Result<(), GameError> {
        if self.seated() >= self.spec.options.max_players {
            return Err(GameError::new(ErrorCode::RoomFull, "every seat is taken"));
        }
        let kind = EntryKind::Join {
            player: player.clone(),
        };
        self.commit(kind).map(|_| ())
    }

    fn spectator_place(&self) -> Result<(), GameError> {
        let spectators = self.members.len() as u32 - self.seated();
        if spectators < self.spec.options.max_spectators {
            Ok(())
        } else {
            Err(GameError::new(
                ErrorCode::RoomFull,
                "every spectator place is taken",
            ))
        }
    }

    /// Seat a bot (`add_bot`). Any member may ask; the answer is `bot_added`.
    pub fn add_bot(&mut self, caller: &Caller, rid: Option<u64>, now_ms: u64) {
        self.now_ms = now_ms;
        if !self.conns.contains_key(&caller.conn) {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        }
        if !self.game.has_bots() {
            let game = self.game.info().title;
            return self.send_error(
                caller,
                rid,
                ErrorCode::Unsupported,
                format!("{game} has no bots"),
            );
        }
        let n = self.bots_added + 1;
        let bot = PlayerInfo {
            id: PlayerId(format!("{BOT_PREFIX}{n}")),
            name: self.game.bot_name(n),
        };
        if let Err(e) = self.seat(&bot) {
            return self.send_error(caller, rid, e.code, e.message);
        }
        self.bots_added = n;
        self.members.push(MemberState {
            info: bot,
            role: Role::Player,
            bot: true,
            conns: 0,
        });
        let member = self.members[self.members.len() - 1].to_member();
        self.presence(PresenceEvent::Joined, member.clone());
        let added = ServerMsg::BotAdded {
            rid,
            room: self.spec.id.clone(),
            bot: member,
        };
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &added);
        self.plan_bot();
        self.settle();
    }

    /// Leave the room. A seated player's seat is released through the game.
    pub fn leave(&mut self, caller: &Caller, rid: Option<u64>, now_ms: u64) {
        self.now_ms = now_ms;
        // A player may give up their seat from a connection that never entered the room (a
        // new tab, a device whose old connection is gone and whose seat is still held).
        let idx = self
            .member_index_of_conn(caller.conn)
            .or_else(|| self.member_index(&caller.player.id));
        let Some(idx) = idx else {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        };
        let from_outside = !self.conns.contains_key(&caller.conn);
        self.remove_member(idx, Some((caller.conn, rid)));
        if from_outside {
            let left = ServerMsg::Left {
                rid,
                room: self.spec.id.clone(),
            };
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &left);
        }
        self.settle();
    }

    /// Remove a member with all their connections (each told `left`; `answer` names the one
    /// that asked and its rid), releasing their seat through the game.
    fn remove_member(&mut self, idx: usize, answer: Option<(ConnId, Option<u64>)>) {
        let member = self.members.remove(idx);
        let id = member.info.id.clone();
        self.seat_deadlines.remove(&id);
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.player == id)
            .map(|(&k, _)| k)
            .collect();
        for conn in conns {
            if let Some(c) = self.conns.remove(&conn) {
                let rid = answer.and_then(|(asker, rid)| if asker == conn { rid } else { None });
                let left = ServerMsg::Left {
                    rid,
                    room: self.spec.id.clone(),
                };
                let frame = Frame {
                    kind: FrameKind::Control,
                    room: self.room_id.clone(),
                    bytes: c.outbox.encoding().encode(&left),
                };
                self.mail.send(conn, &c.outbox, frame);
            }
        }
        self.views.remove(&ViewKey::Seat(id.clone()));
        if member.role == Role::Player {
            // Leaving cannot be refused; a failure here is a bug in the game.
            if let Err(e) = self.commit(EntryKind::Leave { player: id }) {
                tracing::error!(room = %self.spec.id, error = %e, "game refused a leave");
            }
        }
        let mut gone = member.to_member();
        gone.connected = false;
        self.presence(PresenceEvent::Left, gone);
    }

    /// A connection closed. A seated member keeps their seat for the grace period.
    pub fn disconnect(&mut self, conn: ConnId, now_ms: u64) {
        self.now_ms = now_ms;
        self.drop_connection(conn);
        self.settle();
    }

    fn drop_connection(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        let Some(idx) = self.member_index(&c.player) else {
            return;
        };
        self.members[idx].conns -= 1;
        if self.members[idx].conns > 0 {
            return;
        }
        if self.members[idx].role == Role::Spectator {
            // A spectator place is only worth holding while someone watches from it.
            return self.remove_member(idx, None);
        }
        let member = self.members[idx].to_member();
        self.presence(PresenceEvent::Disconnected, member);
        let deadline = self.now_ms + self.spec.options.seat_grace_ms;
        self.seat_deadlines.insert(c.player.clone(), deadline);
        self.tell_game_connection(&c.player, false);
    }

    fn tell_game_connection(&mut self, player: &PlayerId, connected: bool) {
        if !self.game.tracks_connections() {
            return;
        }
        let kind = EntryKind::Connection {
            player: player.clone(),
            connected,
        };
        if let Err(e) = self.commit(kind) {
            tracing::error!(room = %self.spec.id, error = %e, "connection entry failed");
        }
    }

    /// A chat message from a member, relayed to everyone in the room.
    pub fn chat(&mut self, caller: &Caller, text: &str, now_ms: u64) {
        self.now_ms = now_ms;
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        let text = text.trim();
        let problem = if text.is_empty() {
            Some("a chat message must not be empty")
        } else if text.chars().count() > CHAT_MAX_CHARS {
            Some("a chat message is at most 500 characters")
        } else if text.chars().any(|c| c.is_control() && c != '\n') {
            Some("a chat message must not contain control characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            return self.send_error(caller, None, ErrorCode::InvalidField, problem);
        }
        let from = self.members[idx].info.clone();
        let times = self.chat_times.entry(from.id.clone()).or_default();
        while times.front().is_some_and(|t| t + CHAT_WINDOW_MS <= now_ms) {
            times.pop_front();
        }
        if times.len() >= CHAT_BURST {
            return self.send_error(
                caller,
                None,
                ErrorCode::RateLimited,
                "too many chat messages; wait a few seconds",
            );
        }
        times.push_back(now_ms);
        let msg = Arc::new(ServerMsg::Chat {
            room: self.spec.id.clone(),
            from,
            text: text.to_owned(),
            at: now_ms,
        });
        if self.chat.len() == CHAT_MEMORY {
            self.chat.pop_front();
        }
        self.chat.push_back(msg.clone());
        self.broadcast_control(&msg);
        self.settle();
    }

    /// Answer a read-only question about the room's history for `viewer`.
    pub fn query(&self, viewer: &Viewer, query: &Query) -> Result<Value, GameError> {
        match query {
            Query::Log { after, limit } => {
                if self
                    .log
                    .first_version()
                    .is_some_and(|first| first > after.saturating_add(1))
                {
                    return Err(in_storage());
                }
                let finished = matches!(
                    self.game.status(&self.current.state, &self.current.seats),
                    Status::Finished { .. }
                );
                let open = self.game.public_view() || finished;
                let entries: Vec<Value> = self
                    .log
                    .read(*after, *limit)?
                    .iter()
                    .map(|e| {
                        let mut entry = serde_json::to_value(e).unwrap_or(Value::Null);
                        let own = match (&e.kind, viewer) {
                            (EntryKind::Act { player, .. }, Viewer::Player(p)) => player == p,
                            _ => false,
                        };
                        // Actions can carry what others may not see yet (a secret text):
                        // shown when the game is public or over, or to their author.
                        if !open
                            && !own
                            && let Some(fields) = entry.as_object_mut()
                        {
                            fields.remove("action");
                        }
                        entry
                    })
                    .collect();
                Ok(json!({ "v": self.v, "entries": entries }))
            }
            Query::StateAt { v } => {
                let v = &v.unwrap_or(self.v);
                if *v > self.v {
                    return Err(GameError::new(
                        ErrorCode::InvalidField,
                        format!("the room is at version {}", self.v),
                    ));
                }
                if *v == self.v {
                    return Ok(
                        json!({ "v": v, "view": self.game.view(&self.current.state, &self.current.seats, viewer) }),
                    );
                }
                let past = self.replay_to(*v)?;
                Ok(json!({ "v": v, "view": self.game.view(&past.state, &past.seats, viewer) }))
            }
            Query::History => Ok(json!({
                "v": self.v,
                "history": self.game.history(&self.current.state, viewer),
            })),
            Query::Legal => {
                let (state, seats) = (&self.current.state, &self.current.seats);
                let actions = match viewer {
                    Viewer::Player(p) if seats.contains(p) => {
                        self.game.legal_actions(state, seats, p)
                    }
                    _ => Vec::new(),
                };
                let ranking = match self.game.status(state, seats) {
                    Status::Finished { ranking } => Some(ranking),
                    _ => None,
                };
                let (.., status, v) = self.info_counts();
                Ok(json!({ "v": v, "status": status, "ranking": ranking, "actions": actions }))
            }
        }
    }

    /// Resend the caller's current view as a snapshot.
    pub fn sync(&mut self, caller: &Caller) {
        let Some(key) = self.conns.get(&caller.conn).map(|c| c.key.clone()) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        self.catch_up(caller, &key, None);
        self.settle();
    }

    /// A player's action: de-duplicate, check the base version, apply, fan out, answer.
    pub fn act(
        &mut self,
        caller: &Caller,
        seq: u64,
        base: Option<u64>,
        action: Value,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        let msg = self.answer_act(caller.conn, seq, base, action);
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    fn answer_act(
        &mut self,
        conn: ConnId,
        seq: u64,
        base: Option<u64>,
        action: Value,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, player| {
            room.check_and_commit(&player, seq, base, action)
        })
    }

    /// [`Room::answer_act`] for entries that are not game actions (undo, redo).
    fn answer_entry(
        &mut self,
        conn: ConnId,
        seq: u64,
        entry: impl FnOnce(PlayerId) -> EntryKind,
    ) -> ServerMsg {
        self.answer_seq(conn, seq, move |room, player| {
            match room.commit(entry(player)) {
                Ok(v) => Answer::Ack(v),
                Err(e) => Answer::Reject(e),
            }
        })
    }

    /// The checks every seq-carrying request shares: membership, a seat, de-duplication;
    /// then `run` decides, and its answer is remembered for retries.
    fn answer_seq(
        &mut self,
        conn: ConnId,
        seq: u64,
        run: impl FnOnce(&mut Self, PlayerId) -> Answer,
    ) -> ServerMsg {
        let room = self.spec.id.clone();
        let player = match self.member_index_of_conn(conn) {
            None => return reject(&room, seq, &not_in_room()),
            Some(idx) if self.members[idx].role != Role::Player => {
                let e = GameError::new(ErrorCode::NotAPlayer, "spectators cannot act");
                return reject(&room, seq, &e);
            }
            Some(idx) => self.members[idx].info.id.clone(),
        };
        let book = self.books.entry(player.clone()).or_default();
        if seq <= book.last {
            return match book.answer(seq) {
                Some(Answer::Ack(v)) => ServerMsg::Ack { room, seq, v: *v },
                Some(Answer::Reject(e)) => reject(&room, seq, e),
                None => {
                    let message = format!(
                        "seq {seq} is not above {} and its answer is no longer kept",
                        book.last
                    );
                    reject(&room, seq, &GameError::new(ErrorCode::SeqReused, message))
                }
            };
        }
        let answer = run(self, player.clone());
        let msg = match &answer {
            Answer::Ack(v) => ServerMsg::Ack {
                room: room.clone(),
                seq,
                v: *v,
            },
            Answer::Reject(e) => reject(&room, seq, e),
        };
        self.books.entry(player).or_default().remember(seq, answer);
        msg
    }

    fn check_and_commit(
        &mut self,
        player: &PlayerId,
        seq: u64,
        base: Option<u64>,
        action: Value,
    ) -> Answer {
        match base {
            Some(b) if b > self.v => {
                return Answer::Reject(GameError {
                    code: ErrorCode::InvalidField,
                    message: format!("base {b} is ahead of the room's version {}", self.v),
                    details: Some(json!({ "v": self.v })),
                });
            }
            Some(b) if b < self.v => {
                let independent = match parse_action::<G>(&action) {
                    Ok(a) => self.game.order_independent(&a),
                    Err(e) => return Answer::Reject(e),
                };
                if !independent {
                    return Answer::Reject(GameError {
                        code: ErrorCode::Stale,
                        message: format!(
                            "the action was based on version {b}; the room is at {}",
                            self.v
                        ),
                        details: Some(json!({ "v": self.v })),
                    });
                }
            }
            _ => {}
        }
        let kind = EntryKind::Act {
            player: player.clone(),
            seq,
            action,
        };
        match self.commit(kind) {
            Ok(v) => Answer::Ack(v),
            Err(e) => Answer::Reject(e),
        }
    }

    /// Take back (`redo: false`) or re-apply (`redo: true`) the caller's latest undoable
    /// action. Uses the caller's seq like an action, so a retry is answered, not repeated.
    pub fn undo(&mut self, caller: &Caller, seq: u64, redo: bool, now_ms: u64) {
        self.now_ms = now_ms;
        let msg = self.answer_entry(caller.conn, seq, |player| {
            if redo {
                EntryKind::Redo { player, seq }
            } else {
                EntryKind::Undo { player, seq }
            }
        });
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        self.settle();
    }

    /// Do everything due at `now_ms`: game timers (each its own entry), a bot's move and the
    /// release of seats whose grace period ran out, in time order.
    pub fn fire_due(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        while let Some(due) = self.next_due().filter(|d| *d <= now_ms) {
            if self.current.timers.next_due() == Some(due) {
                self.fire_game_timer(due);
            } else if let Some(clock) = self.current.seats.clock().filter(|c| c.due_ms == due) {
                let player = clock.player.clone();
                if let Err(e) = self.commit(EntryKind::Clock { player }) {
                    tracing::error!(room = %self.spec.id, error = %e, "clock entry failed");
                }
            } else if self.pending_bot.as_ref().map(|b| b.due_ms) == Some(due) {
                self.play_bot();
            } else if let Some(player) = self
                .seat_deadlines
                .iter()
                .find(|(_, d)| **d == due)
                .map(|(p, _)| p.clone())
            {
                self.seat_deadlines.remove(&player);
                if let Some(idx) = self.member_index(&player) {
                    tracing::debug!(room = %self.spec.id, %player, "seat released after grace");
                    self.remove_member(idx, None);
                }
            }
        }
        self.settle();
    }

    fn fire_game_timer(&mut self, due: u64) {
        let Some(timer) = self.current.timers.pop_due(due) else {
            return;
        };
        let action = match serde_json::to_value(&timer.action) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(room = %self.spec.id, error = %e, "timer action does not serialise");
                return;
            }
        };
        // The timer goes back in so that applying the entry removes it, exactly as replay of
        // the same entry does.
        let id = timer.id;
        self.current.timers.restore(timer);
        if let Err(e) = self.commit(EntryKind::Timer { id, action }) {
            tracing::error!(room = %self.spec.id, error = %e, "timer entry failed");
        }
    }

    /// Ask the bots, in seat order, whether one wants to act; remember the first decision.
    /// Bots only play while a human is connected, so an abandoned room goes quiet.
    fn plan_bot(&mut self) {
        self.pending_bot = None;
        if self.conns.is_empty() {
            return;
        }
        let bots: Vec<(usize, PlayerId)> = self
            .members
            .iter()
            .filter(|m| m.bot && m.role == Role::Player)
            .map(|m| m.info.id.clone())
            .enumerate()
            .collect();
        for (i, bot) in bots {
            let seed = self.spec.seed
                ^ self.v.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (i as u64).rotate_left(32);
            let mut rng = GameRng::from_seed(seed);
            let Some(decision) =
                self.game
                    .bot_move(&self.current.state, &self.current.seats, &bot, &mut rng)
            else {
                continue;
            };
            let action = match serde_json::to_value(&decision.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(room = %self.spec.id, error = %e, "bot action does not serialise");
                    continue;
                }
            };
            self.pending_bot = Some(PendingBot {
                bot,
                action,
                due_ms: self.now_ms + decision.delay_ms,
                at_v: self.v,
            });
            return;
        }
    }

    fn play_bot(&mut self) {
        let Some(PendingBot {
            bot, action, at_v, ..
        }) = self.pending_bot.take()
        else {
            return;
        };
        if at_v != self.v || self.member_index(&bot).is_none() {
            return self.plan_bot();
        }
        let seq = self.books.get(&bot).map_or(0, |b| b.last) + 1;
        let answer = self.check_and_commit(&bot, seq, None, action);
        if let Answer::Reject(e) = &answer {
            // A bot proposing an illegal move is a bug in its game; it waits for the next
            // change rather than retrying the same move forever.
            tracing::warn!(room = %self.spec.id, %bot, error = %e, "bot move refused");
        }
        self.books.entry(bot).or_default().remember(seq, answer);
    }

    /// Apply an entry to a copy of the state; on success keep it, bump the version, log it,
    /// send every connected viewer its patch and let the bots think. Returns the version the
    /// entry produced.
    fn commit(&mut self, kind: EntryKind) -> Result<u64, GameError> {
        let mut next = self.current.clone();
        next.apply(&*self.game, &kind, self.now_ms)?;
        let was_over = matches!(
            self.game.status(&self.current.state, &self.current.seats),
            Status::Finished { .. }
        );
        self.current = next;
        self.v += 1;
        let v = self.v;
        if !was_over
            && let Status::Finished { ranking } =
                self.game.status(&self.current.state, &self.current.seats)
        {
            self.results.push(GameResult {
                room: self.spec.id.clone(),
                game: self.game.info().name.to_owned(),
                v,
                at_ms: self.now_ms,
                ranking,
            });
        }
        self.log.push(LogEntry {
            v,
            at_ms: self.now_ms,
            kind,
        });
        self.fan_out();
        self.plan_bot();
        Ok(v)
    }

    /// Send each view key its patch (or snapshot) for the new version: one view, one diff and
    /// one encoded frame per key and encoding, shared by all of the key's connections.
    fn fan_out(&mut self) {
        let mut msgs: HashMap<ViewKey, (Arc<ServerMsg>, FrameKind, Bytes)> =
            HashMap::with_capacity(self.views.len());
        for (key, sent) in self.views.iter_mut() {
            let view = self
                .game
                .view(&self.current.state, &self.current.seats, &key.viewer());
            let ops = json_patch::diff(&sent.view, &view);
            let patch = ServerMsg::Patch {
                room: self.spec.id.clone(),
                from: sent.v,
                v: self.v,
                ops,
            };
            let patch_json = Encoding::Json.encode(&patch);
            let mut chosen = (Arc::new(patch), FrameKind::Patch, patch_json);
            if chosen.2.len() > SMALL_PATCH {
                let snapshot = ServerMsg::Snapshot {
                    room: self.spec.id.clone(),
                    v: self.v,
                    view: view.clone(),
                };
                let snapshot_json = Encoding::Json.encode(&snapshot);
                if snapshot_json.len() < chosen.2.len() {
                    chosen = (Arc::new(snapshot), FrameKind::Snapshot, snapshot_json);
                }
            }
            let from = sent.v;
            sent.v = self.v;
            sent.view = view;
            sent.record(from, chosen.0.clone());
            msgs.insert(key.clone(), chosen);
        }
        let mut other_encodings: HashMap<ViewKey, Bytes> = HashMap::new();
        for (&id, conn) in &self.conns {
            let Some((msg, kind, json)) = msgs.get(&conn.key) else {
                continue;
            };
            let encoding = conn.outbox.encoding();
            let bytes = match encoding {
                Encoding::Json => json.clone(),
                other => other_encodings
                    .entry(conn.key.clone())
                    .or_insert_with(|| other.encode(msg))
                    .clone(),
            };
            let frame = Frame {
                kind: *kind,
                room: self.room_id.clone(),
                bytes,
            };
            self.mail.send(id, &conn.outbox, frame);
        }
    }

    /// Bring a connection up to date: the state frames it missed since `since`, or a snapshot.
    fn catch_up(&mut self, caller: &Caller, key: &ViewKey, since: Option<u64>) {
        let v = self.v;
        let sent = self.views.entry(key.clone()).or_insert_with(|| {
            SentView::new(
                v,
                self.game
                    .view(&self.current.state, &self.current.seats, &key.viewer()),
            )
        });
        let missed = since.and_then(|s| sent.since(s));
        let frames: Vec<(FrameKind, Arc<ServerMsg>)> = match missed {
            Some(msgs) => msgs
                .into_iter()
                .map(|m| {
                    let kind = match *m {
                        ServerMsg::Snapshot { .. } => FrameKind::Snapshot,
                        _ => FrameKind::Patch,
                    };
                    (kind, m)
                })
                .collect(),
            None => vec![(
                FrameKind::Snapshot,
                Arc::new(ServerMsg::Snapshot {
                    room: self.spec.id.clone(),
                    v: sent.v,
                    view: sent.view.clone(),
                }),
            )],
        };
        for (kind, msg) in frames {
            self.send_to(caller.conn, &caller.outbox, kind, &msg);
        }
    }

    /// Tell every open connection about a presence change.
    fn presence(&mut self, event: PresenceEvent, member: Member) {
        let msg = ServerMsg::Presence {
            room: self.spec.id.clone(),
            event,
            member,
        };
        self.broadcast_control(&msg);
    }

    /// Send one message to every open connection, encoded once per encoding.
    fn broadcast_control(&mut self, msg: &ServerMsg) {
        let mut encoded: HashMap<Encoding, Bytes> = HashMap::new();
        for (&id, conn) in &self.conns {
            let encoding = conn.outbox.encoding();
            let bytes = encoded
                .entry(encoding)
                .or_insert_with(|| encoding.encode(msg))
                .clone();
            let frame = Frame {
                kind: FrameKind::Control,
                room: self.room_id.clone(),
                bytes,
            };
            self.mail.send(id, &conn.outbox, frame);
        }
    }

    /// Tell every connection the room is closing and forget them.
    pub fn close(&mut self, code: ErrorCode, message: &str) {
        let msg = ServerMsg::Error {
            rid: None,
            code,
            message: message.to_owned(),
            details: Some(json!({ "room": self.spec.id })),
        };
        for (id, conn) in self.conns.drain() {
            let frame = Frame {
                kind: FrameKind::Control,
                room: self.room_id.clone(),
                bytes: conn.outbox.encoding().encode(&msg),
            };
            self.mail.send(id, &conn.outbox, frame);
        }
        self.mail.flush();
        self.views.clear();
        self.pending_bot = None;
    }
}

fn not_in_room() -> GameError {
    GameError::new(ErrorCode::NotInRoom, "not in this room")
}

fn reject(room: &str, seq: u64, e: &GameError) -> ServerMsg {
    ServerMsg::Reject {
        room: room.to_owned(),
        seq,
        code: e.code,
        message: e.message.clone(),
        details: e.details.clone(),
    }
}
