//! The contract every game implements.

use crate::rng::GameRng;
use crate::seats::{Seat, Seats};
use arbiter_protocol::{ErrorCode, PlayerId};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::fmt;
use std::ops::RangeInclusive;

/// Static facts about a game, shown in the lobby and used to bound rooms.
#[derive(Debug, Clone, Serialize)]
pub struct GameInfo {
    /// Registry name, used on the wire (`"tictactoe"`).
    pub name: &'static str,
    /// Human title.
    pub title: &'static str,
    /// One line for the lobby.
    pub description: &'static str,
    /// Fewest players the game can start with.
    pub min_players: u32,
    /// Most seats a room of this game can have.
    pub max_players: u32,
}

impl GameInfo {
    /// A game registered as `name`, for `players` (fewest to most).
    pub fn new(
        name: &'static str,
        title: &'static str,
        description: &'static str,
        players: RangeInclusive<u32>,
    ) -> Self {
        Self {
            name,
            title,
            description,
            min_players: *players.start(),
            max_players: *players.end(),
        }
    }
}

/// Who caused an entry: a seated player, or the room itself (timers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A seated player.
    Player(PlayerId),
    /// The room: a timer that fired.
    System,
}

impl Actor {
    /// The player behind a player's action; games without timed actions refuse the rest.
    pub fn player(&self) -> Result<&PlayerId, GameError> {
        match self {
            Self::Player(p) => Ok(p),
            Self::System => Err(GameError::new(
                ErrorCode::InvalidAction,
                "this game has no timed actions",
            )),
        }
    }
}

/// Whose eyes a view is for. Hidden information is filtered by the game's `view`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// A seated player sees their own secrets.
    Player(PlayerId),
    /// A spectator sees only what is public.
    Spectator,
}

/// Where a game stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not started: waiting for players.
    Waiting,
    /// In progress.
    Playing,
    /// Over. `ranking` lists groups of players from first place down; a group of several
    /// players is a tie (a draw is one group holding everyone).
    Finished {
        /// Places, best first.
        ranking: Vec<Vec<PlayerId>>,
    },
}

impl Status {
    /// A finished game: `winner` first and everyone else in `players` second, or, without
    /// a winner, a draw between all of `players`. Places list ids in sorted order.
    pub fn decided<'a>(
        winner: Option<&PlayerId>,
        players: impl IntoIterator<Item = &'a PlayerId>,
    ) -> Self {
        let mut rest: Vec<PlayerId> = players
            .into_iter()
            .filter(|p| Some(*p) != winner)
            .cloned()
            .collect();
        rest.sort();
        let ranking = winner
            .map(|w| vec![w.clone()])
            .into_iter()
            .chain(Some(rest))
            .filter(|place| !place.is_empty())
            .collect();
        Self::Finished { ranking }
    }
}

/// A refusal by the game's rules. Its `code` is stable and machine-readable.
#[derive(Debug, Clone, PartialEq)]
pub struct GameError {
    /// Stable code (`NOT_YOUR_TURN`, `INVALID_MOVE`, …).
    pub code: ErrorCode,
    /// Human explanation.
    pub message: String,
    /// Optional structured facts.
    pub details: Option<Value>,
}

impl GameError {
    /// A refusal with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// `NOT_YOUR_TURN`.
    pub fn not_your_turn() -> Self {
        Self::new(ErrorCode::NotYourTurn, "it is not your turn")
    }

    /// `INVALID_MOVE` with a reason.
    pub fn invalid_move(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidMove, message)
    }

    /// `GAME_OVER`.
    pub fn game_over() -> Self {
        Self::new(ErrorCode::GameOver, "the game is over")
    }

    /// `GAME_IN_PROGRESS` with a reason: the action is only for between games.
    pub fn in_progress(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::GameInProgress, message)
    }
}

impl fmt::Display for GameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for GameError {}

/// Identifies a scheduled system action so the game can cancel it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct TimerId(pub u64);

/// A system action the game asked to run later.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Timer<A> {
    /// Id handed to the game by [`Ctx::schedule`].
    pub id: TimerId,
    /// Room time (ms since the Unix epoch) at which it fires.
    pub due_ms: u64,
    /// The action applied as [`Actor::System`].
    pub action: A,
}

/// A pause of room time (see [`Timers::paused`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Pause {
    /// Room time at which it began.
    pub since_ms: u64,
    /// The host who paused, or `None` when the room paused itself because every seated
    /// player had disconnected (it then resumes when one comes back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<PlayerId>,
}

/// Pending timers plus the counter that makes their ids deterministic, the next tick of a
/// game that ticks, and whether room time is paused. All of it is room state: entries change
/// it, snapshots keep it, replay rebuilds it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Timers<A> {
    next_id: u64,
    pending: Vec<Timer<A>>,
    /// Room time of the next tick, while the game ticks (see [`Game::tick_ms`]) and the
    /// room is not paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tick_due: Option<u64>,
    /// Set while the room is paused: no timer, turn clock or tick fires, and game actions
    /// are refused with `PAUSED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) paused: Option<Pause>,
}

impl<A> Default for Timers<A> {
    fn default() -> Self {
        Self {
            next_id: 1,
            pending: Vec::new(),
            tick_due: None,
            paused: None,
        }
    }
}

impl<A> Timers<A> {
    /// Room time of the next tick, while the game ticks and the room is not paused.
    pub fn tick_due(&self) -> Option<u64> {
        self.tick_due.filter(|_| self.paused.is_none())
    }

    /// The pause in force, if the room is paused.
    pub fn paused(&self) -> Option<&Pause> {
        self.paused.as_ref()
    }

    /// Move every pending timer `ms` later (the room was paused that long).
    pub(crate) fn postpone(&mut self, ms: u64) {
        for t in &mut self.pending {
            t.due_ms = t.due_ms.saturating_add(ms);
        }
    }

    /// Earliest due time, if any timer is pending.
    pub fn next_due(&self) -> Option<u64> {
        self.pending.iter().map(|t| t.due_ms).min()
    }

    /// The timer that fires first (ties by id).
    pub fn earliest(&self) -> Option<&Timer<A>> {
        self.pending.iter().min_by_key(|t| (t.due_ms, t.id))
    }

    /// Remove a pending timer; returns whether it was pending.
    pub(crate) fn cancel(&mut self, id: TimerId) -> bool {
        let before = self.pending.len();
        self.pending.retain(|t| t.id != id);
        before != self.pending.len()
    }

    /// Pending timers, in no particular order.
    pub fn pending(&self) -> &[Timer<A>] {
        &self.pending
    }
}

/// What a game may touch besides its state while it handles an entry: the room's seeded RNG,
/// the entry's time, the timer queue, the seats and the turn clock. Everything here is
/// replayed from the log.
pub struct Ctx<'a, A> {
    pub(crate) rng: &'a mut GameRng,
    pub(crate) now_ms: u64,
    pub(crate) timers: &'a mut Timers<A>,
    pub(crate) seats: &'a mut Seats,
    /// Set by [`Ctx::reveal`]: the entry showed someone something hidden.
    pub(crate) revealed: bool,
}

impl<'a, A> Ctx<'a, A> {
    /// A context over the given parts. The engine builds these; a game's tests should use
    /// [`crate::Playtest`], which drives the game through the engine's own entry path.
    pub fn new(
        rng: &'a mut GameRng,
        now_ms: u64,
        timers: &'a mut Timers<A>,
        seats: &'a mut Seats,
    ) -> Self {
        Self {
            rng,
            now_ms,
            timers,
            seats,
            revealed: false,
        }
    }

    /// Say that the action being applied showed someone something they could not see
    /// before (a card drawn, a face turned up). For a game whose actions are
    /// [`Game::undoable`] when they reveal nothing, this is the way to say which did: the
    /// action is then not kept for undo, and it closes every undo window, as an action that
    /// is not undoable does. Only the outcome may tell (the same `move` hides or shows a
    /// card depending on where it goes), so the game says it while applying.
    pub fn reveal(&mut self) {
        self.revealed = true;
    }

    /// The room's seeded RNG. The only source of randomness a game may use.
    pub fn rng(&mut self) -> &mut GameRng {
        self.rng
    }

    /// Time of the entry being applied (ms since the Unix epoch), as recorded in the log.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Who sits where (the engine keeps the seats; games only read them).
    pub fn seats(&self) -> &Seats {
        self.seats
    }

    /// `player`'s seat, or `NOT_A_PLAYER` for someone without one.
    pub fn seat_of(&self, player: &PlayerId) -> Result<Seat, GameError> {
        let seat = self.seats.get(player).cloned();
        seat.ok_or_else(|| GameError::new(ErrorCode::NotAPlayer, "you have no seat"))
    }

    /// Start `player`'s turn clock: after `ms` milliseconds, unless the clock is stopped or
    /// started again first, the engine calls [`Game::out_of_time`] for them. Starting a
    /// clock stops the previous one, and a player's clock stops when they leave, so a game
    /// never sees a stale clock.
    pub fn start_clock(&mut self, player: &PlayerId, ms: u64) {
        let due = self.now_ms.saturating_add(ms);
        self.seats.start_clock(player.clone(), due);
    }

    /// Stop the running turn clock, if any.
    pub fn stop_clock(&mut self) {
        self.seats.stop_clock();
    }

    /// Hand the turn to `player`, or to nobody: their clock starts with `ms` milliseconds
    /// when `ms` is above 0, and any running clock stops otherwise. Returns `player`, for the
    /// state to keep as whose turn it is.
    pub fn give_turn(&mut self, player: Option<PlayerId>, ms: u64) -> Option<PlayerId> {
        match &player {
            Some(p) if ms > 0 => self.start_clock(p, ms),
            _ => self.stop_clock(),
        }
        player
    }

    /// [`Ctx::give_turn`] to the player in the first taken seat after seat `number` (see
    /// [`Seats::after`]), or to nobody when no one else sits.
    pub fn pass_turn(&mut self, number: usize, ms: u64) -> Option<PlayerId> {
        let next = self.seats.after(number).map(|s| s.id.clone());
        self.give_turn(next, ms)
    }

    /// Apply `action` as [`Actor::System`] after `after_ms` milliseconds. It enters the log
    /// like any action when it fires.
    pub fn schedule(&mut self, after_ms: u64, action: A) -> TimerId {
        let id = TimerId(self.timers.next_id);
        self.timers.next_id += 1;
        self.timers.pending.push(Timer {
            id,
            due_ms: self.now_ms.saturating_add(after_ms),
            action,
        });
        id
    }

    /// Cancel a pending timer; returns whether it was still pending.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.timers.cancel(id)
    }

    /// Room time at which a pending timer fires.
    pub fn due(&self, id: TimerId) -> Option<u64> {
        self.timers
            .pending
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.due_ms)
    }
}

/// How a game that ticks takes an action arriving between ticks (see [`Game::input`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    /// Only the player's latest input of this kind counts: a newer one replaces the one
    /// waiting (a steering direction, a paddle's target).
    Latest(&'static str),
    /// Every input counts, in the order it arrived (a queue of turns).
    Queued,
}

/// One player's input, as a tick hands it to [`Game::tick`].
#[derive(Debug, Clone, PartialEq)]
pub struct Input<A> {
    /// Whose.
    pub player: PlayerId,
    /// What.
    pub action: A,
}

/// A game: plain rules over plain data. The engine owns the state, the seats and the turn
/// clock, serialises access to them, logs every entry and turns views into patches; the
/// game only decides.
///
/// Only [`Game::info`], [`Game::setup`] and [`Game::apply`] are required: a game without
/// hidden information can leave [`Game::view`] to the default (the state as JSON), and one
/// that needs nothing special when players come and go can leave [`Game::join`] and
/// [`Game::leave`] alone — the engine already seats players (see [`Seats`]) up to
/// `max_players`.
///
/// Every method must be deterministic given its inputs and [`Ctx`]: no clocks, no thread RNG,
/// no IO. An `Err` from a mutating method leaves the room unchanged (the engine applies
/// entries to a copy and keeps it only on success).
pub trait Game: Send + Sync + 'static {
    /// Full authoritative state, hidden information included. Never sent as is (unless the
    /// default [`Game::view`] is kept).
    type State: Clone + Serialize + DeserializeOwned + Send + 'static;
    /// What players (and timers) propose.
    type Action: Clone + Serialize + DeserializeOwned + Send + 'static;
    /// Room options chosen at creation.
    type Config: Clone + Serialize + DeserializeOwned + Default + Send + 'static;

    /// Static facts.
    fn info(&self) -> GameInfo;

    /// The initial state of a room, before anyone sits down.
    fn setup(
        &self,
        config: &Self::Config,
        cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<Self::State, GameError>;

    /// A player took a seat (already in `cx.seats()`). Refuse with `JOIN_REFUSED` (or another
    /// code) to keep them out; a joiner who asked for any role then becomes a spectator.
    fn join(
        &self,
        _state: &mut Self::State,
        _seat: &Seat,
        _cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<(), GameError> {
        Ok(())
    }

    /// Whether `player` may enter the room at all, as a player or a spectator: asked before
    /// the engine seats or places them. A refusal (usually `JOIN_REFUSED`: a party's banned
    /// member) is their answer. Everyone may by default.
    fn admit(&self, _state: &Self::State, _player: &PlayerId) -> Result<(), GameError> {
        Ok(())
    }

    /// A seated player left for good; their seat is already free (`seat` is what it was) and
    /// their clock, if it ran, stopped. Cannot be refused.
    fn leave(&self, _state: &mut Self::State, _seat: &Seat, _cx: &mut Ctx<'_, Self::Action>) {}

    /// Apply an action under the rules.
    fn apply(
        &self,
        state: &mut Self::State,
        by: &Actor,
        action: Self::Action,
        cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<(), GameError>;

    /// `player`'s turn clock ran out (see [`Ctx::start_clock`]); the clock is already
    /// stopped. An `Err` leaves the game unchanged. The default plays a random one of the
    /// player's [`Game::legal_actions`] for them (drawn from the room's RNG), and does
    /// nothing when the game lists none.
    fn out_of_time(
        &self,
        state: &mut Self::State,
        player: &PlayerId,
        cx: &mut Ctx<'_, Self::Action>,
    ) -> Result<(), GameError> {
        let options = self.legal_actions(state, cx.seats(), player);
        match cx.rng().pick(&options).cloned() {
            Some(action) => self.apply(state, &Actor::Player(player.clone()), action, cx),
            None => Ok(()),
        }
    }

    /// What `viewer` may see. Hidden information is removed here and nowhere else. The
    /// default shows the whole state: right for games without secrets.
    fn view(&self, state: &Self::State, _seats: &Seats, _viewer: &Viewer) -> Value {
        serde_json::to_value(state).unwrap_or(Value::Null)
    }

    /// Where the game stands. The default says `Playing` throughout.
    fn status(&self, _state: &Self::State, _seats: &Seats) -> Status {
        Status::Playing
    }

    /// Actions `player` may take now (bots and UI hints). Empty when the game does not say.
    fn legal_actions(
        &self,
        _state: &Self::State,
        _seats: &Seats,
        _player: &PlayerId,
    ) -> Vec<Self::Action> {
        Vec::new()
    }

    /// True when the action's effect does not depend on the version the client saw, so a
    /// stale `base` is accepted (chat, ready toggles).
    fn order_independent(&self, _action: &Self::Action) -> bool {
        false
    }

    /// True when every viewer sees the same view. The engine then computes one view, one
    /// patch and one encoded frame per change for the whole room.
    fn public_view(&self) -> bool {
        false
    }

    /// True when `action`, taken in `state`, may later be taken back with `undo` (and then
    /// `redo`): by its author at once, by another player once the author consents. Say false
    /// for anything that reveals hidden information (a draw, a look at a card): taking such
    /// an action closes every undo window, since undoing past it would unsee what it showed.
    /// When only the outcome tells whether an action revealed something, say true here and
    /// call [`Ctx::reveal`] from `apply` when it did. The engine keeps each step as the patch between the room before and after it, at most
    /// 32 steps and 256 KiB of them per room.
    fn undoable(&self, _state: &Self::State, _action: &Self::Action) -> bool {
        false
    }

    /// Most undoable actions a room keeps, oldest forgotten first; a game may read it from
    /// its config (kept in its state) to make it a room option. The engine keeps at most 32
    /// (and 256 KiB of steps) whatever this says.
    fn undo_depth(&self, _state: &Self::State) -> usize {
        crate::log::UNDO_DEPTH
    }

    /// How long a request to undo another player's action waits for their consent, in
    /// milliseconds, before it lapses; asked when the request is made. 30 s by default; a game
    /// may read it from its config (kept in its state) to make it a room option.
    fn undo_consent_ms(&self, _state: &Self::State) -> u64 {
        30_000
    }

    /// True when the game wants to hear when a seated player's connection drops or returns
    /// ([`Game::connection`], and [`Seat::connected`]). Each such change is then an entry of
    /// its own.
    fn tracks_connections(&self) -> bool {
        false
    }

    /// A seated player's last connection closed (`connected: false`) or one came back
    /// (already in `cx.seats()`). The seat is held for the room's grace period, after which
    /// [`Game::leave`] applies; in the meantime the game may, for example, skip the player's
    /// turns when their clock runs out.
    fn connection(
        &self,
        _state: &mut Self::State,
        _player: &PlayerId,
        _connected: bool,
        _cx: &mut Ctx<'_, Self::Action>,
    ) {
    }

    /// Seated players the game wants out of the room now (a party host kicked or banned
    /// them). After every entry the engine removes each, as if they had left: a `leave` entry,
    /// [`Game::leave`], and `left` with reason `"removed"` to their connections. A player is
    /// kept out by refusing their next [`Game::join`]. Empty by default.
    fn evicted(&self, _state: &Self::State, _seats: &Seats) -> Vec<PlayerId> {
        Vec::new()
    }

    /// The name the room goes by in the room list (a party's lobby name), if the game gives
    /// it one. Asked after every batch of commands: return a borrow, not a new string.
    fn title<'a>(&self, _state: &'a Self::State) -> Option<&'a str> {
        None
    }

    /// The player who hosts the room (a party's host), if the game names one: they moderate
    /// the room's chat, and the chat announces each new one. By default no one is named and
    /// the human member who has been in the room longest moderates.
    fn host(&self, _state: &Self::State) -> Option<PlayerId> {
        None
    }

    /// The game's own records (poker hand histories, scores per round), as `viewer` may see
    /// them, for the REST history API. `null` when the game keeps none.
    fn history(&self, _state: &Self::State, _viewer: &Viewer) -> Value {
        Value::Null
    }

    /// How often the room ticks while in `state`, in milliseconds (33 for 30 Hz), or `None`
    /// when it does not (the default: a turn game). Asked after every entry, so a game ticks
    /// only while it is being played. The engine ticks no faster than every 10 ms.
    fn tick_ms(&self, _state: &Self::State) -> Option<u64> {
        None
    }

    /// Whether `action` is an input for the next tick rather than an action applied at once,
    /// and how it is buffered. Asked only while the room ticks; an input's `ack` comes with
    /// the tick that consumed it. `None` (the default) for every action of a turn game.
    fn input(&self, _action: &Self::Action) -> Option<InputMode> {
        None
    }

    /// One tick: advance the simulation by [`Game::tick_ms`], consuming the inputs buffered
    /// since the last tick (for [`InputMode::Latest`] kinds only each player's latest), in
    /// the order they arrived. A tick cannot be refused: the game ignores inputs that make
    /// no sense now. Timers, the RNG and seats work as in [`Game::apply`]; `cx.now_ms()` is the
    /// time the tick was due (its place on the fixed schedule, `tick_ms` after the previous
    /// one), however late it ran, so ticks are evenly spaced in room time.
    fn tick(
        &self,
        _state: &mut Self::State,
        _inputs: Vec<Input<Self::Action>>,
        _cx: &mut Ctx<'_, Self::Action>,
    ) {
    }

    /// The room was paused (`paused: true`) or resumed. Room time stood still in between:
    /// timers, the turn clock and ticks resume where they were. Nothing to do by default; a
    /// game may note it in its state (to show it, or to count down again after a resume).
    fn paused(&self, _state: &mut Self::State, _paused: bool, _cx: &mut Ctx<'_, Self::Action>) {}

    /// Whether `add_bot` may seat bots, which then play through [`Game::bot_move`].
    fn has_bots(&self) -> bool {
        false
    }

    /// The name of the `n`th bot (from 1) added to a room: "Bot", "Bot 2", … by default.
    fn bot_name(&self, n: u32) -> String {
        if n <= 1 {
            "Bot".to_owned()
        } else {
            format!("Bot {n}")
        }
    }

    /// What the bot in seat `bot` does now, if anything, and after what pause. Asked after
    /// every change while a human is connected. `rng` is the bot's own, derived from the room
    /// seed and version: bots never draw from the game's RNG, so they cannot alter the game's
    /// random stream, and their chosen actions are logged like anyone's.
    fn bot_move(
        &self,
        _state: &Self::State,
        _bot: &Seat,
        _rng: &mut GameRng,
    ) -> Option<BotMove<Self::Action>> {
        None
    }
}

/// A bot's decision: an action, applied after a pause that makes it look considered.
#[derive(Debug, Clone, PartialEq)]
pub struct BotMove<A> {
    /// The action, which goes through the same checks as a human's.
    pub action: A,
    /// Milliseconds to wait before acting.
    pub delay_ms: u64,
}
