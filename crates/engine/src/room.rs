//! One room: state, members, connections, views and the de-duplication books. No IO and no
//! async here; the actor (`actor.rs`) owns a `Room` and feeds it commands one at a time.

use crate::game::{Game, GameError, Status, Viewer};
use crate::log::{EntryKind, LogEntry, Staged, parse_action, parse_config};
use crate::outbox::{Caller, ConnId, Outbox};
use arbiter_protocol::{
    ErrorCode, JoinRole, Member, PlayerId, PlayerInfo, PresenceEvent, Role, RoomInfo, RoomStatus,
    ServerMsg,
};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many answers per player the room remembers for retried sequence numbers.
const SEQ_MEMORY: usize = 64;

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

/// The last view sent to one view key, the base of its next patch.
struct SentView {
    v: u64,
    view: Value,
}

struct MemberState {
    info: PlayerInfo,
    role: Role,
    /// Open connections of this member in this room.
    conns: u32,
}

impl MemberState {
    fn to_member(&self) -> Member {
        Member {
            id: self.info.id.clone(),
            name: self.info.name.clone(),
            role: self.role,
            connected: self.conns > 0,
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

/// A live room.
pub struct Room<G: Game> {
    game: Arc<G>,
    spec: RoomSpec,
    current: Staged<G>,
    v: u64,
    /// In join order; seats first come first served.
    members: Vec<MemberState>,
    conns: HashMap<ConnId, ConnState>,
    /// Only keys with at least one open connection are kept and updated.
    views: HashMap<ViewKey, SentView>,
    books: HashMap<PlayerId, SeqBook>,
    log: Vec<LogEntry>,
}

impl<G: Game> Room<G> {
    /// Create a room: parse the config and run the game's setup.
    pub fn new(game: Arc<G>, spec: RoomSpec) -> Result<Self, GameError> {
        let config = parse_config::<G>(&spec.config)?;
        let current = Staged::setup(&*game, &config, spec.seed, spec.created_ms)?;
        Ok(Self {
            game,
            spec,
            current,
            v: 0,
            members: Vec::new(),
            conns: HashMap::new(),
            views: HashMap::new(),
            books: HashMap::new(),
            log: Vec::new(),
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

    /// Current version.
    pub fn version(&self) -> u64 {
        self.v
    }

    /// The authoritative state (tests and persistence only; never sent to clients).
    pub fn state(&self) -> &G::State {
        &self.current.state
    }

    /// Every accepted entry so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Members, seated or not.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Room time at which the earliest pending timer fires.
    pub fn next_timer_due(&self) -> Option<u64> {
        self.current.timers.next_due()
    }

    /// Public facts for the lobby and REST.
    pub fn info(&self) -> RoomInfo {
        let seated = self.seated();
        RoomInfo {
            id: self.spec.id.clone(),
            code: self.spec.code.clone(),
            game: self.game.info().name.to_owned(),
            public: self.spec.options.public,
            max_players: self.spec.options.max_players,
            max_spectators: self.spec.options.max_spectators,
            players: seated,
            spectators: self.members.len() as u32 - seated,
            status: match self.game.status(&self.current.state) {
                Status::Waiting => RoomStatus::Waiting,
                Status::Playing => RoomStatus::Playing,
                Status::Finished { .. } => RoomStatus::Finished,
            },
            v: self.v,
        }
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

    fn key_for(&self, player: &PlayerId, role: Role) -> ViewKey {
        if role == Role::Spectator || self.game.public_view() {
            ViewKey::Public
        } else {
            ViewKey::Seat(player.clone())
        }
    }

    /// Enter the room (`create` and `join`). Answers the caller with `joined` and a snapshot,
    /// tells the others with `presence`.
    pub fn join(&mut self, caller: &Caller, role: JoinRole, rid: Option<u64>, now_ms: u64) {
        if self.conns.contains_key(&caller.conn) {
            return send_error(
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
            None => match self.admit(caller, role, now_ms) {
                Ok((new_role, why)) => {
                    notice = why;
                    self.members.push(MemberState {
                        info: caller.player.clone(),
                        role: new_role,
                        conns: 0,
                    });
                    (self.members.len() - 1, true)
                }
                Err(e) => return send_error(caller, rid, e.code, e.message),
            },
        };
        self.members[idx].conns += 1;
        let member = self.members[idx].to_member();
        let role = member.role;
        if is_new {
            self.presence(PresenceEvent::Joined, member);
        } else if self.members[idx].conns == 1 {
            self.presence(PresenceEvent::Connected, member);
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
        let snapshot = self.snapshot_frame(&key);
        let ok = caller.outbox.push(encode(&joined)) && caller.outbox.push(snapshot);
        if !ok {
            self.disconnect(caller.conn);
        }
    }

    /// Decide the role of a newcomer, seating them through the game when they get a seat.
    fn admit(
        &mut self,
        caller: &Caller,
        role: JoinRole,
        now_ms: u64,
    ) -> Result<(Role, Option<String>), GameError> {
        if role == JoinRole::Spectator {
            self.spectator_place()?;
            return Ok((Role::Spectator, None));
        }
        let refusal = if self.seated() >= self.spec.options.max_players {
            GameError::new(ErrorCode::RoomFull, "every seat is taken")
        } else {
            let kind = EntryKind::Join {
                player: caller.player.clone(),
            };
            match self.commit(kind, now_ms) {
                Ok(_) => return Ok((Role::Player, None)),
                Err(e) => e,
            }
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

    /// Leave the room. A seated player's seat is released through the game.
    pub fn leave(&mut self, caller: &Caller, rid: Option<u64>, now_ms: u64) {
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        };
        let member = self.members.remove(idx);
        let id = member.info.id.clone();
        // Every connection of this member leaves together.
        let conns: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.player == id)
            .map(|(&k, _)| k)
            .collect();
        for conn in conns {
            if let Some(c) = self.conns.remove(&conn) {
                let rid = if conn == caller.conn { rid } else { None };
                c.outbox.push(encode(&ServerMsg::Left {
                    rid,
                    room: self.spec.id.clone(),
                }));
                self.forget_view_if_unused(&c.key);
            }
        }
        if member.role == Role::Player {
            // Leaving cannot be refused; a failure here is a bug in the game.
            if let Err(e) = self.commit(EntryKind::Leave { player: id }, now_ms) {
                tracing::error!(room = %self.spec.id, error = %e, "game refused a leave");
            }
        }
        let mut gone = member.to_member();
        gone.connected = false;
        self.presence(PresenceEvent::Left, gone);
    }

    fn member_index_of_conn(&self, conn: ConnId) -> Option<usize> {
        let player = &self.conns.get(&conn)?.player;
        self.member_index(player)
    }

    /// A connection closed. The member keeps their seat.
    pub fn disconnect(&mut self, conn: ConnId) {
        let mut pending = vec![conn];
        while let Some(conn) = pending.pop() {
            let Some(c) = self.conns.remove(&conn) else {
                continue;
            };
            self.forget_view_if_unused(&c.key);
            let Some(idx) = self.member_index(&c.player) else {
                continue;
            };
            self.members[idx].conns -= 1;
            if self.members[idx].conns == 0 {
                let member = self.members[idx].to_member();
                pending.extend(self.presence_collect(PresenceEvent::Disconnected, member));
            }
        }
    }

    /// Resend the caller's current view as a snapshot.
    pub fn sync(&mut self, caller: &Caller) {
        let Some(key) = self.conns.get(&caller.conn).map(|c| c.key.clone()) else {
            return send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        let frame = self.snapshot_frame(&key);
        if !caller.outbox.push(frame) {
            self.disconnect(caller.conn);
        }
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
        let reply = |msg: ServerMsg| caller.outbox.push(encode(&msg));
        let room = self.spec.id.clone();
        let Some(conn) = self.conns.get(&caller.conn) else {
            reply(reject(&room, seq, &not_in_room()));
            return;
        };
        let player = conn.player.clone();
        let Some(idx) = self.member_index(&player) else {
            reply(reject(&room, seq, &not_in_room()));
            return;
        };
        if self.members[idx].role != Role::Player {
            let e = GameError::new(ErrorCode::NotAPlayer, "spectators cannot act");
            reply(reject(&room, seq, &e));
            return;
        }
        let book = self.books.entry(player.clone()).or_default();
        if seq <= book.last {
            let msg = match book.answer(seq) {
                Some(Answer::Ack(v)) => ServerMsg::Ack { room, seq, v: *v },
                Some(Answer::Reject(e)) => reject(&room, seq, e),
                None => reject(
                    &room,
                    seq,
                    &GameError::new(
                        ErrorCode::SeqReused,
                        format!(
                            "seq {seq} is not above {} and its answer is no longer kept",
                            book.last
                        ),
                    ),
                ),
            };
            reply(msg);
            return;
        }
        let answer = self.check_and_commit(&player, seq, base, action, now_ms);
        let msg = match &answer {
            Answer::Ack(v) => ServerMsg::Ack {
                room: room.clone(),
                seq,
                v: *v,
            },
            Answer::Reject(e) => reject(&room, seq, e),
        };
        self.books.entry(player).or_default().remember(seq, answer);
        if !reply(msg) {
            self.disconnect(caller.conn);
        }
    }

    fn check_and_commit(
        &mut self,
        player: &PlayerId,
        seq: u64,
        base: Option<u64>,
        action: Value,
        now_ms: u64,
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
        match self.commit(kind, now_ms) {
            Ok(v) => Answer::Ack(v),
            Err(e) => Answer::Reject(e),
        }
    }

    /// Fire every timer due at `now_ms`, each as its own entry.
    pub fn fire_due_timers(&mut self, now_ms: u64) {
        while let Some(timer) = self.current.timers.pop_due(now_ms) {
            let action = match serde_json::to_value(&timer.action) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(room = %self.spec.id, error = %e, "timer action does not serialise");
                    continue;
                }
            };
            // The timer goes back in so that applying the entry removes it, exactly as replay
            // of the same entry does.
            let id = timer.id;
            self.current.timers.restore(timer);
            let kind = EntryKind::Timer { id, action };
            if let Err(e) = self.commit(kind, now_ms) {
                tracing::error!(room = %self.spec.id, error = %e, "timer entry failed");
            }
        }
    }

    /// Apply an entry to a copy of the state; on success keep it, bump the version, log it
    /// and send every connected viewer its patch.
    fn commit(&mut self, kind: EntryKind, at_ms: u64) -> Result<u64, GameError> {
        let mut next = self.current.clone();
        next.apply(&*self.game, &kind, at_ms)?;
        self.current = next;
        self.v += 1;
        self.log.push(LogEntry {
            v: self.v,
            at_ms,
            kind,
        });
        self.fan_out();
        Ok(self.v)
    }

    /// Send each open view key its patch (or snapshot) for the new version: one view, one
    /// diff and one encoded frame per key, shared by all of the key's connections.
    fn fan_out(&mut self) {
        let mut frames: HashMap<ViewKey, Bytes> = HashMap::with_capacity(self.views.len());
        for (key, sent) in self.views.iter_mut() {
            let view = self.game.view(&self.current.state, &key.viewer());
            let ops = json_patch::diff(&sent.view, &view);
            let patch = encode(&ServerMsg::Patch {
                room: self.spec.id.clone(),
                from: sent.v,
                v: self.v,
                ops,
            });
            let frame = if patch.len() <= SMALL_PATCH {
                patch
            } else {
                let snapshot = ServerMsg::Snapshot {
                    room: self.spec.id.clone(),
                    v: self.v,
                    view: view.clone(),
                };
                let snapshot = encode(&snapshot);
                if snapshot.len() < patch.len() {
                    snapshot
                } else {
                    patch
                }
            };
            *sent = SentView { v: self.v, view };
            frames.insert(key.clone(), frame);
        }
        let mut failed = Vec::new();
        for (&id, conn) in &self.conns {
            if let Some(frame) = frames.get(&conn.key)
                && !conn.outbox.push(frame.clone())
            {
                failed.push(id);
            }
        }
        for id in failed {
            self.disconnect(id);
        }
    }

    /// A snapshot of the current view for `key`, starting to track the key if needed.
    fn snapshot_frame(&mut self, key: &ViewKey) -> Bytes {
        let sent = self.views.entry(key.clone()).or_insert_with(|| SentView {
            v: self.v,
            view: self.game.view(&self.current.state, &key.viewer()),
        });
        encode(&ServerMsg::Snapshot {
            room: self.spec.id.clone(),
            v: sent.v,
            view: sent.view.clone(),
        })
    }

    fn forget_view_if_unused(&mut self, key: &ViewKey) {
        if !self.conns.values().any(|c| &c.key == key) {
            self.views.remove(key);
        }
    }

    /// Tell every open connection about a presence change.
    fn presence(&mut self, event: PresenceEvent, member: Member) {
        for conn in self.presence_collect(event, member) {
            self.disconnect(conn);
        }
    }

    /// Send a presence event to every open connection; returns those that failed.
    fn presence_collect(&self, event: PresenceEvent, member: Member) -> Vec<ConnId> {
        let frame = encode(&ServerMsg::Presence {
            room: self.spec.id.clone(),
            event,
            member,
        });
        self.conns
            .iter()
            .filter(|(_, c)| !c.outbox.push(frame.clone()))
            .map(|(&id, _)| id)
            .collect()
    }

    /// Tell every connection the room is closing and forget them.
    pub fn close(&mut self, code: ErrorCode, message: &str) {
        let frame = encode(&ServerMsg::Error {
            rid: None,
            code,
            message: message.to_owned(),
            details: Some(json!({ "room": self.spec.id })),
        });
        for (_, conn) in self.conns.drain() {
            conn.outbox.push(frame.clone());
        }
        self.views.clear();
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

fn send_error(caller: &Caller, rid: Option<u64>, code: ErrorCode, message: impl Into<String>) {
    caller.outbox.push(encode(&ServerMsg::Error {
        rid,
        code,
        message: message.into(),
        details: None,
    }));
}

/// Encode a server message as a JSON text frame.
pub(crate) fn encode(msg: &ServerMsg) -> Bytes {
    Bytes::from(msg.to_json())
}
