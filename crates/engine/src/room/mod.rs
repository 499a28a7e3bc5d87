//! One room: state, members, connections, views, bots and the de-duplication books. No IO and
//! no async here; the actor (`actor.rs`) owns a `Room` and feeds it commands one at a time.
//!
//! This file holds the `Room` itself, its accessors and `commit` (apply an entry, log it, fan
//! it out). The rest is split by concern: `commands` (the one entry point for client
//! messages), `members` (joining, seating, leaving, held seats), `actions` (acts and the
//! de-duplication books), `undo` (undo, redo, consent and proposal news), `views` (patches,
//! snapshots, catch-up, broadcasts), `time` (timers, clocks, undo proposals lapsing, grace
//! periods), `bots`, `chat`, `signal` (WebRTC signalling and camera/microphone state),
//! `history` (the REST history API), `ticks` (inputs and ticks of games that tick, and pausing),
//! `restore` (snapshots and replay from storage) and `mail` (outgoing frames).

mod actions;
mod admin;
mod bots;
mod chat;
mod commands;
mod history;
mod mail;
mod members;
mod restore;
mod signal;
mod ticks;
mod time;
mod undo;
mod views;

use crate::game::{Game, GameError, Status, Viewer};
use crate::log::{BOT_PREFIX, EntryKind, Journal, LogEntry, Staged, parse_action, parse_config};
use crate::metrics::RoomMetrics;
use crate::outbox::{Caller, ConnId, Frame, FrameKind, Outbox};
use crate::rng::GameRng;
use crate::seats::Seats;
use crate::store::{ChatChange, GameResult, Snapshot, StoredChat, fnv1a};
use actions::{Answer, Books, SeqBook};
use arbiter_protocol::{
    ChatEvent, ChatEventKind, ChatLine, Encoding, ErrorCode, JoinRole, Media, Member, PlayerId,
    PlayerInfo, PresenceEvent, Role, RoomInfo, RoomStatus, ServerMsg,
};
use bots::PendingBot;
use bytes::Bytes;
use mail::Mail;
use members::{ConnState, MemberState};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use views::{SentView, ViewKey};

pub use admin::AdminOp;
pub use chat::CHAT_KEPT;
pub use history::Query;

/// Limits and listing chosen when a room is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomOptions {
    /// Listed in the public room list.
    pub public: bool,
    /// Seats (already capped at the game's maximum).
    pub max_players: u32,
    /// Spectator places.
    pub max_spectators: u32,
    /// How long a disconnected player's seat is held before the game's leave rule applies.
    pub seat_grace_ms: u64,
    /// The argon2id hash (PHC string) of the password newcomers must give, if any. The
    /// server checks passwords; the room only refuses newcomers who gave none.
    pub lock: Option<String>,
    /// The language the room plays in, for the room list.
    pub lang: Option<String>,
    /// Tags for the room list.
    pub tags: Vec<String>,
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
    /// The de-duplication books, per (player, client instance).
    books: Books,
    log: Journal,
    /// The newest snapshot storage holds that the journal starts after: past states from
    /// here on are rebuilt from it, older ones from storage. `None` while the journal starts
    /// at the room's creation.
    base: Option<Snapshot>,
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
    /// Inputs waiting for the next tick, in the order they came.
    inputs: Vec<ticks::Buffered>,
    /// The chat kept, its moderation, and each member's chat bucket on room time.
    chat: chat::Chat,
    /// Handles on the metrics every action touches.
    metrics: RoomMetrics,
    /// The version this room was loaded from storage at, if it was (see [`Room::rewound`]).
    restored_at: Option<u64>,
    /// Since the load: the version at which each player first came back. A client of theirs
    /// presenting a `since` above `restored_at` and below this holds versions from before
    /// the load that storage did not keep.
    returned: HashMap<PlayerId, u64>,
}

impl<G: Game> Room<G> {
    /// Create a room: parse the config and run the game's setup.
    pub fn new(game: Arc<G>, spec: RoomSpec) -> Result<Self, GameError> {
        let config = parse_config::<G>(&spec.config)?;
        let current = Staged::setup(&*game, &config, spec.seed, spec.created_ms)?;
        let metrics = RoomMetrics::new(game.info().name);
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
            books: Books::default(),
            log: Journal::default(),
            base: None,
            mail: Mail::default(),
            persisted_v: 0,
            results: Vec::new(),
            seat_deadlines: HashMap::new(),
            pending_bot: None,
            bots_added: 0,
            inputs: Vec::new(),
            chat: chat::Chat::default(),
            metrics,
            restored_at: None,
            returned: HashMap::new(),
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

    /// Keep the entries held as values as compact text only. The actor calls this after
    /// each batch; with storage, [`Room::take_unpersisted`] already did.
    pub fn compact_log(&mut self) {
        self.log.compact();
    }

    /// Handles on this room's metrics, for the actor that times its commands.
    pub(crate) fn metrics(&self) -> &RoomMetrics {
        &self.metrics
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Members, seated or not, bots included.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Room time of the next thing the room will do by itself: a game timer, a turn clock, an
    /// undo proposal lapsing, a tick (none of these while paused), a bot's move or the
    /// release of a disconnected player's seat.
    pub fn next_due(&self) -> Option<u64> {
        [
            self.current.next_due(),
            self.pending_bot.as_ref().map(|b| b.due_ms),
            self.seat_deadlines.values().min().copied(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The hash of the room's password, if it has one.
    pub fn lock(&self) -> Option<&str> {
        self.spec.options.lock.as_deref()
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
            locked: self.spec.options.lock.is_some(),
            name: self.game.title(&self.current.state).map(str::to_owned),
            lang: self.spec.options.lang.clone(),
            tags: self.spec.options.tags.clone(),
            paused: self.current.timers.paused().is_some(),
        }
    }

    /// Bring `info` (this room's, from [`Room::info`]) up to date without allocating; true
    /// when something changed.
    pub fn refresh_info(&self, info: &mut RoomInfo) -> bool {
        let now = self.info_counts();
        let before = (info.players, info.spectators, info.status, info.v);
        (info.players, info.spectators, info.status, info.v) = now;
        let paused = self.current.timers.paused().is_some();
        let toggled = info.paused != paused;
        info.paused = paused;
        let title = self.game.title(&self.current.state);
        let renamed = info.name.as_deref() != title;
        if renamed {
            info.name = title.map(str::to_owned);
        }
        before != now || renamed || toggled
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
        let details = json!({ "room": self.spec.id });
        self.send_error_with(caller, rid, code, message, details);
    }

    /// [`Room::send_error`] with `details` of its own (which should name the room).
    fn send_error_with(
        &mut self,
        caller: &Caller,
        rid: Option<u64>,
        code: ErrorCode,
        message: impl Into<String>,
        details: Value,
    ) {
        let msg = ServerMsg::Error {
            rid,
            code,
            message: message.into(),
            details: Some(details),
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
        // The players the game wants out (a party's kicked and banned members) leave, each
        // as a logged `leave` entry, so replay needs no rule of its own for them.
        loop {
            let out = self.game.evicted(&self.current.state, &self.current.seats);
            let Some(idx) = out.iter().find_map(|p| self.member_index(p)) else {
                break;
            };
            self.remove_member(idx, None, Some("removed"));
        }
        self.pause_when_abandoned();
        self.announce_host();
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

    /// Storage now holds every entry up to `snapshot.v` and the snapshot itself: keep only
    /// what follows it in memory. History before it is answered from storage (the nearest
    /// stored snapshot and the entries after it), so neither the journal nor a query's cost
    /// grows with the room's age.
    pub fn stored_snapshot(&mut self, snapshot: Snapshot) {
        if snapshot.v > self.persisted_v || snapshot.v <= self.base.as_ref().map_or(0, |b| b.v) {
            return;
        }
        self.log.forget_through(snapshot.v);
        self.base = Some(snapshot);
    }

    /// Without storage: once the journal holds more than `bytes` of entries, start it again
    /// from a snapshot of now, as a room with storage does after each stored snapshot. The
    /// room then answers history from that snapshot on; what came before is gone (the
    /// server keeps nothing else). Keeps a room that ticks from growing while it lives.
    pub fn keep_log_within(&mut self, bytes: usize) {
        if self.log.text_bytes() <= bytes {
            return;
        }
        let snapshot = self.snapshot();
        self.log.forget_through(snapshot.v);
        self.base = Some(snapshot);
    }

    /// Entries not yet handed to storage, marking them handed.
    pub fn take_unpersisted(&mut self) -> Vec<LogEntry> {
        let from = self.persisted_v;
        self.persisted_v = self.v;
        self.log.take_after(from)
    }

    /// Apply an entry to a copy of the state; on success keep it, bump the version, log it,
    /// send every connected viewer its patch and let the bots think. Returns the version the
    /// entry produced.
    fn commit(&mut self, kind: EntryKind) -> Result<u64, GameError> {
        let v = self.v + 1;
        let mut next = self.current.clone();
        next.apply(&*self.game, &kind, v, self.now_ms)?;
        let tops = self.current.undo_tops();
        let was_over = matches!(
            self.game.status(&self.current.state, &self.current.seats),
            Status::Finished { .. }
        );
        let asked = std::mem::replace(&mut self.current, next).proposal;
        self.v = v;
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
        let undo_news = self.undo_news(&tops, v);
        let news = self
            .proposal_news(asked, &kind, v)
            .or_else(|| self.pause_news(&kind, v));
        self.log.push(LogEntry {
            v,
            at_ms: self.now_ms,
            kind,
        });
        self.fan_out();
        for news in [undo_news, news].into_iter().flatten() {
            self.broadcast_control(&news);
        }
        self.plan_bot();
        Ok(v)
    }

    /// Stop serving the room here without closing it: every connection learns that it moved
    /// (see [`crate::Outbox::moved`]) and will find it on the node that serves it next.
    pub fn hand_over(&mut self) {
        self.discard_held();
        for (_, conn) in self.conns.drain() {
            conn.outbox.moved(&self.spec.id);
        }
        self.views.clear();
        self.pending_bot = None;
    }

    /// Drop frames still held for entries that were never made durable (the store failed
    /// or refused them): acknowledging those entries would promise what storage lacks.
    fn discard_held(&mut self) {
        self.mail.queued.clear();
    }

    /// Tell every connection the room is closing and forget them. Frames held for entries
    /// that are not durable are dropped, not sent.
    pub fn close(&mut self, code: ErrorCode, message: &str) {
        self.discard_held();
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
