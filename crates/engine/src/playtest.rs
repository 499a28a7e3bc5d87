//! Play a game without a network: seat players, act, read each viewer's view and move the
//! room's clock by hand. Every step is a log entry applied through the same code as a live
//! room's (seats, clocks, timers, undo), so what passes here behaves the same in a room.
//!
//! ```
//! use arbiter_engine::{Playtest, Viewer};
//! # use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo};
//! # #[derive(Default)] struct Tally;
//! # impl Game for Tally {
//! #     type State = u32; type Action = u32; type Config = ();
//! #     fn info(&self) -> GameInfo { GameInfo::new("tally", "Tally", "", 1..=2) }
//! #     fn setup(&self, _: &(), _: &mut Ctx<'_, u32>) -> Result<u32, GameError> { Ok(0) }
//! #     fn apply(&self, s: &mut u32, _: &Actor, a: u32, _: &mut Ctx<'_, u32>)
//! #         -> Result<(), GameError> { *s += a; Ok(()) }
//! # }
//! let mut table = Playtest::new(Tally);
//! let ada = table.seat("Ada").unwrap();
//! table.act(&ada, 2).unwrap();
//! assert_eq!(table.view(&Viewer::Spectator), 2);
//! assert_eq!(table.version(), 2); // the join, then the action
//! ```

use crate::game::{Game, GameError, Status, Timers, Viewer};
use crate::log::{
    BOT_PREFIX, EntryKind, LogEntry, Proposal, Staged, TickInput, parse_config, replay,
};
use crate::rng::GameRng;
use crate::seats::{Seat, Seats};
use arbiter_protocol::{ErrorCode, PlayerId, PlayerInfo};
use serde::Serialize;
use serde_json::Value;

/// Room time at which a playtest starts (ms since the Unix epoch); any fixed value would do.
const START_MS: u64 = 1_700_000_000_000;

/// A room of one game, driven by hand. See the module docs. A clone plays on from the same
/// point: branch a game to explore every continuation.
#[derive(Clone)]
pub struct Playtest<G: Game> {
    game: G,
    config: Value,
    seed: u64,
    current: Staged<G>,
    log: Vec<LogEntry>,
    now_ms: u64,
    seqs: u64,
    bots: u32,
    /// Inputs waiting for the next tick.
    inputs: Vec<TickInput>,
    /// The state was set by hand ([`Playtest::arrange`]): the log no longer leads to it.
    arranged: bool,
}

impl<G: Game> Playtest<G> {
    /// A room with the game's default config and seed 1.
    ///
    /// # Panics
    /// When the game's setup refuses its own default config: a bug in the game under test.
    pub fn new(game: G) -> Self {
        match Self::with_config(game, Value::Null, 1) {
            Ok(table) => table,
            Err(e) => panic!("setup refused the default config: {e}"),
        }
    }

    /// A room with `config` (as a client would send it; `null` for the defaults) and `seed`.
    pub fn with_config(game: G, config: Value, seed: u64) -> Result<Self, GameError> {
        let parsed = parse_config::<G>(&config)?;
        let current = Staged::setup(&game, &parsed, seed, START_MS)?;
        Ok(Self {
            game,
            config,
            seed,
            current,
            log: Vec::new(),
            now_ms: START_MS,
            seqs: 0,
            bots: 0,
            inputs: Vec::new(),
            arranged: false,
        })
    }

    /// Seat a player named `name` (id `p_<name>`), as a `join` asking for a seat would.
    pub fn seat(&mut self, name: &str) -> Result<PlayerId, GameError> {
        let id = PlayerId(format!("p_{name}"));
        self.sit(PlayerInfo {
            id: id.clone(),
            name: name.to_owned(),
        })?;
        Ok(id)
    }

    /// Seat a bot, as `add_bot` does; play for it with [`Playtest::bot_step`].
    pub fn add_bot(&mut self) -> Result<PlayerId, GameError> {
        if !self.game.has_bots() {
            return Err(GameError::new(
                ErrorCode::Unsupported,
                "the game has no bots",
            ));
        }
        let n = self.bots + 1;
        let id = PlayerId(format!("{BOT_PREFIX}{n}"));
        self.sit(PlayerInfo {
            id: id.clone(),
            name: self.game.bot_name(n),
        })?;
        self.bots = n;
        Ok(id)
    }

    fn sit(&mut self, player: PlayerInfo) -> Result<u64, GameError> {
        self.game.admit(&self.current.state, &player.id)?;
        if self.current.seats.len() >= self.game.info().max_players as usize {
            return Err(GameError::new(ErrorCode::RoomFull, "every seat is taken"));
        }
        if self.current.seats.contains(&player.id) {
            return Err(GameError::new(ErrorCode::AlreadyInRoom, "already seated"));
        }
        self.commit(EntryKind::Join { player })
    }

    /// `player` sends an input for the next tick of a game that ticks, as a room buffers it
    /// (see [`Game::input`]); [`Playtest::advance`] hands it to the tick. Refused when the
    /// room does not tick now or `action` is no input.
    pub fn input(&mut self, player: &PlayerId, action: G::Action) -> Result<(), GameError> {
        let action = serde_json::to_value(&action)
            .map_err(|e| GameError::new(ErrorCode::Internal, e.to_string()))?;
        self.input_json(player, action)
    }

    /// [`Playtest::input`] with raw JSON, as a client could send it (for testing bad input).
    pub fn input_json(&mut self, player: &PlayerId, action: Value) -> Result<(), GameError> {
        if self.current.timers.tick_due().is_none() {
            return Err(GameError::invalid_move("the room does not tick now"));
        }
        let parsed = crate::log::parse_action::<G>(&action)?;
        if self.game.input(&parsed).is_none() {
            return Err(GameError::invalid_move("not an input: use act"));
        }
        if !self.current.seats.contains(player) {
            return Err(GameError::new(
                ErrorCode::NotAPlayer,
                "spectators cannot act",
            ));
        }
        self.seqs += 1;
        self.inputs.push(TickInput {
            player: player.clone(),
            seq: self.seqs,
            instance: None,
            action,
        });
        Ok(())
    }

    /// Run time on to the next tick and fire it (with everything due before it); returns
    /// the tick's version, or `None` when the room does not tick.
    pub fn tick(&mut self) -> Option<u64> {
        let due = self.current.timers.tick_due()?;
        self.advance(due.saturating_sub(self.now_ms));
        Some(self.version())
    }

    /// Stop room time, as the host's `pause` does (`by`: the host) or as a room does when
    /// every seated player has gone (`None`).
    pub fn pause(&mut self, by: Option<&PlayerId>) -> Result<u64, GameError> {
        self.commit(EntryKind::Pause { by: by.cloned() })
    }

    /// Start room time again after [`Playtest::pause`].
    pub fn resume(&mut self, by: Option<&PlayerId>) -> Result<u64, GameError> {
        self.commit(EntryKind::Resume { by: by.cloned() })
    }

    /// `player` acts; returns the version the action made.
    pub fn act(&mut self, player: &PlayerId, action: G::Action) -> Result<u64, GameError> {
        let action = serde_json::to_value(&action)
            .map_err(|e| GameError::new(ErrorCode::Internal, e.to_string()))?;
        self.act_json(player, action)
    }

    /// `player` sends `action` as raw JSON, as a client could (for testing bad input).
    pub fn act_json(&mut self, player: &PlayerId, action: Value) -> Result<u64, GameError> {
        if !self.current.seats.contains(player) {
            return Err(GameError::new(
                ErrorCode::NotAPlayer,
                "spectators cannot act",
            ));
        }
        self.seqs += 1;
        self.commit(EntryKind::Act {
            player: player.clone(),
            seq: self.seqs,
            instance: None,
            action,
        })
    }

    /// `player` takes back their latest undoable action.
    pub fn undo(&mut self, player: &PlayerId) -> Result<u64, GameError> {
        self.undo_entry(player, false)
    }

    /// `player` takes back the latest undoable action, asking its author to consent when it
    /// is another player's (see [`Playtest::proposal`]).
    pub fn ask_undo(&mut self, player: &PlayerId) -> Result<u64, GameError> {
        self.undo_entry(player, true)
    }

    fn undo_entry(&mut self, player: &PlayerId, ask: bool) -> Result<u64, GameError> {
        self.seqs += 1;
        self.commit(EntryKind::Undo {
            player: player.clone(),
            seq: self.seqs,
            instance: None,
            ask,
        })
    }

    /// `player` accepts or refuses undo proposal `proposal` (its proposer withdraws it with
    /// `accept: false`).
    pub fn consent(
        &mut self,
        player: &PlayerId,
        proposal: u64,
        accept: bool,
    ) -> Result<u64, GameError> {
        self.seqs += 1;
        let (player, seq) = (player.clone(), self.seqs);
        self.commit(EntryKind::Consent {
            player,
            seq,
            instance: None,
            proposal,
            accept,
        })
    }

    /// The open request to undo another player's action, if any.
    pub fn proposal(&self) -> Option<&Proposal> {
        self.current.proposal.as_ref()
    }

    /// Steps `undo` and `redo` could take now (the same bounds a room keeps), and the bytes of
    /// patch text they hold: what undo costs this room in memory.
    pub fn undo_depth(&self) -> (usize, usize, usize) {
        let c = &self.current;
        (c.undo.len(), c.redo.len(), c.undo_bytes())
    }

    /// `player` re-applies the action they last undid.
    pub fn redo(&mut self, player: &PlayerId) -> Result<u64, GameError> {
        self.seqs += 1;
        let (player, seq) = (player.clone(), self.seqs);
        self.commit(EntryKind::Redo {
            player,
            seq,
            instance: None,
        })
    }

    /// The server delivers news to the room (see [`crate::EntryKind::Notice`]): `action`
    /// applied as a system action. Returns the version it made.
    pub fn notice(&mut self, action: G::Action) -> Result<u64, GameError> {
        let action = serde_json::to_value(&action)
            .map_err(|e| GameError::new(ErrorCode::Internal, e.to_string()))?;
        self.commit(EntryKind::Notice { action })
    }

    /// `player` leaves for good (a `leave`, or the end of their grace period).
    pub fn leave(&mut self, player: &PlayerId) -> Result<u64, GameError> {
        if !self.current.seats.contains(player) {
            return Err(GameError::new(ErrorCode::NotInRoom, "not seated"));
        }
        self.commit(EntryKind::Leave {
            player: player.clone(),
        })
    }

    /// `player`'s last connection closed (`false`) or one came back. Like a room, this is an
    /// entry only in games that track connections; elsewhere it changes nothing.
    pub fn connection(&mut self, player: &PlayerId, connected: bool) -> Result<u64, GameError> {
        if !self.game.tracks_connections() {
            return Ok(self.version());
        }
        self.commit(EntryKind::Connection {
            player: player.clone(),
            connected,
        })
    }

    /// Move room time on by `ms`, firing every timer, turn clock and lapsing undo proposal
    /// due by then in time order, each as its own entry, exactly as a room would.
    ///
    /// # Panics
    /// When a due entry cannot even be logged (a timer action that no longer parses as the
    /// game's action): a room would log the same failure, so the test should fail.
    pub fn advance(&mut self, ms: u64) {
        let until = self.now_ms.saturating_add(ms);
        while let Some((due, mut entry)) = self.current.due_entry().filter(|(d, _)| *d <= until) {
            self.now_ms = self.now_ms.max(due);
            if let EntryKind::Tick { inputs } = &mut entry {
                *inputs = std::mem::take(&mut self.inputs);
            }
            if let Err(e) = self.commit(entry) {
                panic!("a due timer or clock failed to apply: {e}");
            }
        }
        self.now_ms = until;
    }

    /// The bots' seats, in seat order.
    fn bot_seats(&self) -> Vec<Seat> {
        self.current
            .seats
            .iter()
            .filter(|s| s.bot)
            .cloned()
            .collect()
    }

    /// Ask the first bot (in seat order) that wants to act for its move and play it, without
    /// its pause. Returns the bot and the version, or `None` when no bot wants to act.
    pub fn bot_step(&mut self) -> Option<(PlayerId, Result<u64, GameError>)> {
        let bots = self.bot_seats();
        for bot in bots {
            let mut rng = GameRng::from_seed(self.seed ^ self.version());
            if let Some(decision) = self.game.bot_move(&self.current.state, &bot, &mut rng) {
                let result = self.act(&bot.id, decision.action);
                return Some((bot.id, result));
            }
        }
        None
    }

    /// Every bot's input for the next tick of a game that ticks, as a room asks them after
    /// each tick; returns how many bots sent one.
    pub fn bot_inputs(&mut self) -> usize {
        let bots = self.bot_seats();
        let mut sent = 0;
        for bot in bots {
            let mut rng = GameRng::from_seed(self.seed ^ self.version());
            let decision = self.game.bot_move(&self.current.state, &bot, &mut rng);
            if let Some(d) = decision.filter(|d| self.game.input(&d.action).is_some())
                && self.input(&bot.id, d.action).is_ok()
            {
                sent += 1;
            }
        }
        sent
    }

    /// Set up a position by hand (dice already rolled, a board half full) for the test of one
    /// rule. Later entries apply to the arranged state as usual, but the log no longer
    /// explains it: [`Playtest::check_replay`] then refuses.
    pub fn arrange(&mut self, change: impl FnOnce(&mut G::State)) {
        change(&mut self.current.state);
        self.arranged = true;
    }

    /// Set the game's RNG by hand (so that the next die shows a chosen face) for the test of
    /// one rule. Like [`Playtest::arrange`], this makes [`Playtest::check_replay`] refuse.
    pub fn arrange_rng(&mut self, rng: GameRng) {
        self.current.rng = rng;
        self.arranged = true;
    }

    /// The game's full state.
    pub fn state(&self) -> &G::State {
        &self.current.state
    }

    /// The game's pending timers (not the turn clock: see [`Playtest::seats`]).
    pub fn timers(&self) -> &Timers<G::Action> {
        &self.current.timers
    }

    /// The seats and the turn clock.
    pub fn seats(&self) -> &Seats {
        &self.current.seats
    }

    /// What `viewer` sees now.
    pub fn view(&self, viewer: &Viewer) -> Value {
        self.game
            .view(&self.current.state, &self.current.seats, viewer)
    }

    /// What `player` sees now.
    pub fn view_of(&self, player: &PlayerId) -> Value {
        self.view(&Viewer::Player(player.clone()))
    }

    /// Where the game stands.
    pub fn status(&self) -> Status {
        self.game.status(&self.current.state, &self.current.seats)
    }

    /// What the game says `player` may do now.
    pub fn legal_actions(&self, player: &PlayerId) -> Vec<G::Action> {
        self.game
            .legal_actions(&self.current.state, &self.current.seats, player)
    }

    /// The room's version: one per entry applied.
    pub fn version(&self) -> u64 {
        self.log.len() as u64
    }

    /// Room time now.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Every entry so far.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Replay the log from the start and compare with the live state: the check that the
    /// game is deterministic. Returns an error naming what differs.
    pub fn check_replay(&self) -> Result<(), GameError> {
        if self.arranged {
            return Err(GameError::new(
                ErrorCode::Internal,
                "the state was arranged by hand; the log does not lead to it",
            ));
        }
        let replayed = replay(&self.game, &self.config, self.seed, START_MS, &self.log)?;
        let differs = |what: &str| {
            GameError::new(
                ErrorCode::Internal,
                format!(
                    "replay of {} entries gave a different {what}",
                    self.log.len()
                ),
            )
        };
        if as_json(&replayed.state) != as_json(&self.current.state) {
            return Err(differs("state"));
        }
        if replayed.seats != self.current.seats {
            return Err(differs("seating"));
        }
        if as_json(&replayed.timers) != as_json(&self.current.timers) {
            return Err(differs("timer queue"));
        }
        if replayed.undo.0 != self.current.undo
            || replayed.undo.1 != self.current.redo
            || replayed.proposal != self.current.proposal
        {
            return Err(differs("undo history"));
        }
        Ok(())
    }

    /// Apply an entry to a copy; keep it only on success, as a room does.
    /// Apply and log an entry, then, as a room does, the leaves of the players the game
    /// evicts. Returns the entry's version.
    fn commit(&mut self, kind: EntryKind) -> Result<u64, GameError> {
        let v = self.commit_one(kind)?;
        loop {
            let out = self.game.evicted(&self.current.state, &self.current.seats);
            let Some(player) = out.into_iter().find(|p| self.current.seats.contains(p)) else {
                break;
            };
            self.commit_one(EntryKind::Leave { player })?;
        }
        Ok(v)
    }

    fn commit_one(&mut self, kind: EntryKind) -> Result<u64, GameError> {
        let v = self.version() + 1;
        let mut next = self.current.clone();
        next.apply(&self.game, &kind, v, self.now_ms)?;
        self.current = next;
        self.log.push(LogEntry {
            v,
            at_ms: self.now_ms,
            kind,
        });
        Ok(v)
    }
}

fn as_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
