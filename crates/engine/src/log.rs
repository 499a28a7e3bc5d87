//! The action log and deterministic replay: state = f(game, config, seed, log).

use crate::game::{Actor, Ctx, Game, GameError, Input, InputMode, Pause, Timers};
use crate::rng::GameRng;
use crate::seats::{Clock, Seats};
use arbiter_protocol::{ErrorCode, PlayerId, PlayerInfo, UndoTop};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What one log entry did. Actions are kept as the JSON the client sent, so the log is
/// readable without the game's types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntryKind {
    /// A player took a seat.
    Join {
        /// Who.
        player: PlayerInfo,
    },
    /// A seated player left.
    Leave {
        /// Who.
        player: PlayerId,
    },
    /// A player's action.
    Act {
        /// Who.
        player: PlayerId,
        /// The client's sequence number.
        seq: u64,
        /// The client instance that sent it, when the client named one in `hello`: seqs
        /// are counted per (player, instance). Absent for older clients and in older logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// The action as sent.
        action: Value,
    },
    /// A seated player's connection dropped or came back (games that track connections).
    Connection {
        /// Who.
        player: PlayerId,
        /// Whether they now have an open connection.
        connected: bool,
    },
    /// A player took back their latest undoable action — or, with `ask`, asked to take back
    /// the latest one when it is another player's: that opens a [`Proposal`] (unless its
    /// author is a bot, whose consent is implied).
    Undo {
        /// Who.
        player: PlayerId,
        /// The client's sequence number of the request.
        seq: u64,
        /// The client instance that sent it (see [`EntryKind::Act`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// Ask the author for consent when the latest undoable action is not `player`'s.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ask: bool,
    },
    /// A player re-applied the action they last undid (or that was undone at their request).
    Redo {
        /// Who.
        player: PlayerId,
        /// The client's sequence number of the request.
        seq: u64,
        /// The client instance that sent it (see [`EntryKind::Act`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// A player answered the open undo proposal: an accept by the last one it waited for
    /// takes the action back in this entry; a refusal (or the proposer withdrawing) closes it.
    Consent {
        /// Who.
        player: PlayerId,
        /// The client's sequence number of the answer.
        seq: u64,
        /// The client instance that sent it (see [`EntryKind::Act`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
        /// The proposal's id (the version that opened it).
        proposal: u64,
        /// Accept or refuse.
        accept: bool,
    },
    /// An undo proposal's time ran out before everyone it waited for accepted.
    UndoExpired {
        /// The proposal's id.
        proposal: u64,
    },
    /// A player's turn clock ran out (`Ctx::start_clock`).
    Clock {
        /// Whose clock.
        player: PlayerId,
    },
    /// A scheduled system action fired.
    Timer {
        /// Which timer.
        id: crate::game::TimerId,
        /// Its action.
        action: Value,
    },
    /// News from outside the room that the server delivers as a system action (a party's
    /// game room opened, or ended). Unlike a timer's, refused news is not logged.
    Notice {
        /// The action, applied as [`Actor::System`].
        action: Value,
    },
    /// One tick of a game that ticks ([`Game::tick`]), with every input it consumed.
    Tick {
        /// The inputs buffered since the previous tick, in the order they arrived
        /// (superseded [`InputMode::Latest`](crate::InputMode::Latest) ones included, so
        /// their acks survive a restore; the game is handed only the latest).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        inputs: Vec<TickInput>,
    },
    /// Room time stopped: no timer, turn clock or tick fires, game actions are refused.
    Pause {
        /// The host who paused; absent when every seated player had disconnected.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<PlayerId>,
    },
    /// Room time runs again; timers, the turn clock and ticks are moved on by the pause.
    Resume {
        /// The host who resumed; absent when a seated player came back to a room that
        /// paused itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<PlayerId>,
    },
}

/// One input a tick consumed: an `act` buffered between ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TickInput {
    /// Who.
    pub player: PlayerId,
    /// The client's sequence number.
    pub seq: u64,
    /// The client instance that sent it (see [`EntryKind::Act`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The action as sent.
    pub action: Value,
}

/// The fastest a room ticks, whatever the game asks.
pub(crate) const MIN_TICK_MS: u64 = 10;

/// One accepted entry: applying it to the state at `v - 1` gave the state at `v`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Version this entry produced.
    pub v: u64,
    /// Room time of the entry (ms since the Unix epoch); games read it through `Ctx::now_ms`
    /// (a tick's game sees the time the tick was due instead; this is when it ran).
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// Undo steps kept per room; older ones can no longer be taken back.
pub(crate) const UNDO_DEPTH: usize = 32;

/// Bytes of patch text a room keeps across its undo and redo stacks. Beyond it the oldest
/// undo steps are forgotten; an action whose step alone is larger cannot be taken back (it
/// closes every undo window, like a reveal).
const UNDO_BYTES: usize = 256 * 1024;

/// The parts of a room an entry changes, as undo and redo see them: serialised to JSON, an
/// undo step is the RFC 6902 patch between two of these.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct Saved<G: Game> {
    state: G::State,
    rng: GameRng,
    timers: Timers<G::Action>,
    /// The turn clock (the rest of the seats only changes through entries that close every
    /// undo window).
    #[serde(default)]
    clock: Option<Clock>,
}

/// [`Saved`] borrowed from a room, to serialise without a copy. Same fields, same JSON.
#[derive(Serialize)]
#[serde(bound = "")]
struct SavedRef<'a, G: Game> {
    state: &'a G::State,
    rng: &'a GameRng,
    timers: &'a Timers<G::Action>,
    clock: Option<&'a Clock>,
}

/// One undoable action as what it changed: the patch that takes the room from the side of the
/// action this step is on to the other (back to before it on the undo stack, forward to
/// after it on the redo stack). Kept as JSON text, so its size is its cost in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UndoStep {
    /// Whose action it was.
    author: PlayerId,
    /// On the redo stack: who took it back (the author, or whoever asked with consent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    undone_by: Option<PlayerId>,
    /// RFC 6902 operations as JSON text.
    patch: String,
}

/// An old snapshot's undo step: the room before and after the action, whole.
#[derive(Deserialize)]
#[serde(bound = "")]
struct WholeStep<G: Game> {
    author: PlayerId,
    before: Saved<G>,
    after: Saved<G>,
}

/// A request to take back another player's action, waiting for their consent. Room state:
/// logged entries open and close it, snapshots keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The version of the entry that opened it; answers name it.
    pub id: u64,
    /// Who asked.
    pub by: PlayerId,
    /// The author of the action to take back.
    pub of: PlayerId,
    /// Who has yet to accept.
    pub waiting: Vec<PlayerId>,
    /// Room time at which it lapses.
    pub until_ms: u64,
}

/// Everything an entry may change. Entries are applied to a copy of this and the copy is
/// kept only on success, which is what makes a refused action change nothing.
pub(crate) struct Staged<G: Game> {
    pub(crate) state: G::State,
    pub(crate) rng: GameRng,
    pub(crate) timers: Timers<G::Action>,
    /// Who sits where, and the turn clock.
    pub(crate) seats: Seats,
    /// Actions that may be taken back, latest last (games opt in with `Game::undoable`).
    pub(crate) undo: Vec<UndoStep>,
    /// Undone actions that may be redone until a new entry is taken.
    pub(crate) redo: Vec<UndoStep>,
    /// The open request to undo another player's action, if any.
    pub(crate) proposal: Option<Proposal>,
}

impl<G: Game> Clone for Staged<G> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            rng: self.rng.clone(),
            timers: self.timers.clone(),
            seats: self.seats.clone(),
            undo: self.undo.clone(),
            redo: self.redo.clone(),
            proposal: self.proposal.clone(),
        }
    }
}

/// An undo or redo step that does not cross to the room as it is now (a `connection` entry
/// since changed what the step changes).
fn patch_failed(e: impl std::fmt::Display) -> GameError {
    GameError::invalid_move(format!(
        "the room changed since; the step no longer applies: {e}"
    ))
}

impl<G: Game> Staged<G> {
    /// The state right after creation, before any entry.
    pub(crate) fn setup(
        game: &G,
        config: &G::Config,
        seed: u64,
        created_ms: u64,
    ) -> Result<Self, GameError> {
        let mut rng = GameRng::from_seed(seed);
        let mut timers = Timers::default();
        let mut seats = Seats::default();
        let mut cx = Ctx::new(&mut rng, created_ms, &mut timers, &mut seats);
        let state = game.setup(config, &mut cx)?;
        Ok(Self {
            state,
            rng,
            timers,
            seats,
            undo: Vec::new(),
            redo: Vec::new(),
            proposal: None,
        })
    }

    /// The parts undo restores, as JSON; `None` if the game's state does not serialise
    /// (then nothing it does can be taken back).
    fn saved(&self) -> Option<Value> {
        let saved = SavedRef::<G> {
            state: &self.state,
            rng: &self.rng,
            timers: &self.timers,
            clock: self.seats.clock(),
        };
        serde_json::to_value(saved).ok()
    }

    fn restore(&mut self, saved: Value) -> Result<(), GameError> {
        let saved = Saved::<G>::deserialize(saved).map_err(patch_failed)?;
        self.state = saved.state;
        self.rng = saved.rng;
        self.timers = saved.timers;
        self.seats.set_clock(saved.clock);
        Ok(())
    }

    /// The tops of the undo and redo stacks, as members are told of them (`undo_state`).
    pub(crate) fn undo_tops(&self) -> (Option<UndoTop>, Option<UndoTop>) {
        let top = |stack: &[UndoStep]| {
            stack.last().map(|s| UndoTop {
                author: s.author.clone(),
                undone_by: s.undone_by.clone(),
                steps: u32::try_from(stack.len()).unwrap_or(u32::MAX),
            })
        };
        (top(&self.undo), top(&self.redo))
    }

    /// Bytes of patch text both stacks hold.
    pub(crate) fn undo_bytes(&self) -> usize {
        self.undo
            .iter()
            .chain(&self.redo)
            .map(|s| s.patch.len())
            .sum()
    }

    /// Keep both stacks within their bounds: forget the oldest undo steps beyond the depth,
    /// then, while the patches are too large, the furthest redo steps and after them the
    /// oldest undo steps.
    fn trim_undo(&mut self) {
        let excess = self.undo.len().saturating_sub(UNDO_DEPTH);
        self.undo.drain(..excess);
        let mut bytes = self.undo_bytes();
        while bytes > UNDO_BYTES {
            let stack = if self.redo.is_empty() {
                &mut self.undo
            } else {
                &mut self.redo
            };
            bytes -= stack.remove(0).patch.len();
        }
    }

    /// Keep an undoable action taken by `author` whose room before it was `before`.
    fn record_undo(&mut self, author: &PlayerId, before: Option<Value>) {
        let patch = before
            .zip(self.saved())
            .and_then(|(before, after)| {
                serde_json::to_string(&json_patch::diff(&after, &before)).ok()
            })
            .filter(|p| p.len() <= UNDO_BYTES);
        let Some(patch) = patch else {
            // Too large to keep (or not serialisable): it cannot be taken back, and nothing
            // before it can either.
            return self.forget_undo();
        };
        self.undo.push(UndoStep {
            author: author.clone(),
            undone_by: None,
            patch,
        });
        self.redo.clear();
        self.proposal = None;
        self.trim_undo();
    }

    /// Cross `step` (apply its patch) and return it as a step for the other stack: the
    /// patch that crosses back, from here.
    fn cross(
        &mut self,
        step: UndoStep,
        undone_by: Option<PlayerId>,
    ) -> Result<UndoStep, GameError> {
        let ops: json_patch::Patch = serde_json::from_str(&step.patch).map_err(patch_failed)?;
        let here = self
            .saved()
            .ok_or_else(|| patch_failed("the state does not serialise"))?;
        let mut there = here.clone();
        // The copy is discarded on error, so no rollback is needed.
        json_patch::patch_unsafe(&mut there, &ops).map_err(patch_failed)?;
        let back = serde_json::to_string(&json_patch::diff(&there, &here)).map_err(patch_failed)?;
        self.restore(there)?;
        self.proposal = None;
        Ok(UndoStep {
            author: step.author,
            undone_by,
            patch: back,
        })
    }

    /// Take back the latest undoable action on behalf of `by`.
    fn take_back(&mut self, by: &PlayerId) -> Result<(), GameError> {
        let step = self
            .undo
            .pop()
            .ok_or_else(|| GameError::invalid_move("there is no action to undo"))?;
        let redo = self.cross(step, Some(by.clone()))?;
        self.redo.push(redo);
        self.trim_undo();
        Ok(())
    }

    /// Load an undo or redo stack from a snapshot: steps as patches, or — from a snapshot
    /// written before steps were patches — whole rooms before and after, converted.
    pub(crate) fn load_steps(stack: &Value, redo: bool) -> Result<Vec<UndoStep>, String> {
        let Some(steps) = stack.as_array() else {
            return Ok(Vec::new());
        };
        steps
            .iter()
            .map(|step| {
                if step.get("patch").is_some() {
                    return UndoStep::deserialize(step).map_err(|e| e.to_string());
                }
                let whole = WholeStep::<G>::deserialize(step).map_err(|e| e.to_string())?;
                let side = |s: Saved<G>| serde_json::to_value(s).map_err(|e| e.to_string());
                let (before, after) = (side(whole.before)?, side(whole.after)?);
                let ops = if redo {
                    json_patch::diff(&before, &after)
                } else {
                    json_patch::diff(&after, &before)
                };
                Ok(UndoStep {
                    // The old format did not say who undid a redo step: its author did.
                    undone_by: redo.then(|| whole.author.clone()),
                    author: whole.author,
                    patch: serde_json::to_string(&ops).map_err(|e| e.to_string())?,
                })
            })
            .collect()
    }

    /// The game timer, turn clock or undo proposal that comes due next, when, and the entry
    /// that fires it (at equal times a timer first, then the clock, then the proposal). Rooms
    /// and playtests both fire through it.
    pub(crate) fn due_entry(&self) -> Option<(u64, EntryKind)> {
        if self.timers.paused.is_some() {
            return None;
        }
        let event = self.due_event();
        match (event, self.timers.tick_due) {
            (Some((due, _)), Some(tick)) if tick < due => Some(Self::tick_at(tick)),
            (None, Some(tick)) => Some(Self::tick_at(tick)),
            (event, _) => event,
        }
    }

    /// When [`Staged::due_entry`]'s entry is due, without building it.
    pub(crate) fn next_due(&self) -> Option<u64> {
        if self.timers.paused.is_some() {
            return None;
        }
        [
            self.timers.next_due(),
            self.seats.clock().map(|c| c.due_ms),
            self.proposal.as_ref().map(|p| p.until_ms),
            self.timers.tick_due,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A tick due at `due`, its inputs still to be filled in by whoever fires it.
    fn tick_at(due: u64) -> (u64, EntryKind) {
        (due, EntryKind::Tick { inputs: Vec::new() })
    }

    /// [`Staged::due_entry`] without ticks.
    fn due_event(&self) -> Option<(u64, EntryKind)> {
        let clock = self.seats.clock();
        let event = match (self.timers.earliest(), clock) {
            (Some(t), _) if clock.is_none_or(|c| t.due_ms <= c.due_ms) => {
                // A timer's action always serialises (it deserialised or was built by the
                // game); were it not to, the entry is refused as not a valid action.
                let action = serde_json::to_value(&t.action).unwrap_or(Value::Null);
                Some((t.due_ms, EntryKind::Timer { id: t.id, action }))
            }
            (_, Some(c)) => Some((
                c.due_ms,
                EntryKind::Clock {
                    player: c.player.clone(),
                },
            )),
            _ => None,
        };
        match (event, &self.proposal) {
            (Some((due, _)), Some(p)) if p.until_ms < due => {
                Some((p.until_ms, EntryKind::UndoExpired { proposal: p.id }))
            }
            (None, Some(p)) => Some((p.until_ms, EntryKind::UndoExpired { proposal: p.id })),
            (event, _) => event,
        }
    }

    /// The state and the context a game method gets for an entry at `at_ms`.
    fn parts(&mut self, at_ms: u64) -> (&mut G::State, Ctx<'_, G::Action>) {
        let cx = Ctx::new(&mut self.rng, at_ms, &mut self.timers, &mut self.seats);
        (&mut self.state, cx)
    }

    /// Apply one entry, which makes version `v`, in place. The single code path shared by
    /// live play and replay.
    pub(crate) fn apply(
        &mut self,
        game: &G,
        kind: &EntryKind,
        v: u64,
        at_ms: u64,
    ) -> Result<(), GameError> {
        if self.timers.paused.is_some()
            && matches!(
                kind,
                EntryKind::Act { .. }
                    | EntryKind::Undo { .. }
                    | EntryKind::Redo { .. }
                    | EntryKind::Consent { .. }
                    | EntryKind::Tick { .. }
            )
        {
            return Err(GameError::new(
                ErrorCode::Paused,
                "the game is paused; the host resumes it, or it resumes when a player returns",
            ));
        }
        let ticked = self.timers.tick_due;
        self.apply_entry(game, kind, v, at_ms)?;
        // The game may keep fewer undo steps than the engine's bound (a room option).
        let depth = game.undo_depth(&self.state).clamp(1, UNDO_DEPTH);
        let excess = self.undo.len().saturating_sub(depth);
        self.undo.drain(..excess);
        self.schedule_tick(game, matches!(kind, EntryKind::Tick { .. }), ticked, at_ms);
        Ok(())
    }

    /// After an entry at `at_ms`: when the next tick is due. A game that starts ticking
    /// ticks first one period after the entry that started it; each tick is due one period
    /// after the previous one was (so ticks do not drift), unless the room fell more than a
    /// period behind, when it skips ahead rather than firing a burst of late ticks.
    /// While the room is paused the next tick stays where it was; `Resume` moves it on.
    fn schedule_tick(&mut self, game: &G, ticked: bool, was_due: Option<u64>, at_ms: u64) {
        if self.timers.paused.is_some() {
            return;
        }
        let period = game.tick_ms(&self.state).map(|p| p.max(MIN_TICK_MS));
        self.timers.tick_due = match (period, self.timers.tick_due) {
            (None, _) => None,
            (Some(p), Some(due)) if ticked => {
                let next = was_due.unwrap_or(due).saturating_add(p);
                Some(if next <= at_ms { at_ms + p } else { next })
            }
            (Some(_), Some(due)) => Some(due),
            (Some(p), None) => Some(at_ms.saturating_add(p)),
        };
    }

    fn apply_entry(
        &mut self,
        game: &G,
        kind: &EntryKind,
        v: u64,
        at_ms: u64,
    ) -> Result<(), GameError> {
        match kind {
            EntryKind::Timer { id, action } => {
                // A fired timer is always consumed. If the game refuses its action (the
                // situation it was set for has passed), the entry changes nothing else.
                self.timers.cancel(*id);
                self.forget_undo();
                let action = parse_action::<G>(action)?;
                let mut attempt = self.clone();
                let (state, mut cx) = attempt.parts(at_ms);
                match game.apply(state, &Actor::System, action, &mut cx) {
                    Ok(()) => *self = attempt,
                    Err(e) => tracing::debug!(error = %e, "timer action refused by the game"),
                }
                Ok(())
            }
            EntryKind::Notice { action } => {
                let action = parse_action::<G>(action)?;
                let (state, mut cx) = self.parts(at_ms);
                game.apply(state, &Actor::System, action, &mut cx)
            }
            EntryKind::Clock { player } => {
                // Like a timer, a clock that ran out is consumed even if the game then
                // refuses to act on it.
                if self.seats.clock().map(|c| &c.player) != Some(player) {
                    return Err(GameError::new(
                        ErrorCode::Internal,
                        format!("no clock runs for {player}"),
                    ));
                }
                self.seats.stop_clock();
                self.forget_undo();
                let mut attempt = self.clone();
                let (state, mut cx) = attempt.parts(at_ms);
                match game.out_of_time(state, player, &mut cx) {
                    Ok(()) => *self = attempt,
                    Err(e) => tracing::debug!(error = %e, "out-of-time refused by the game"),
                }
                Ok(())
            }
            EntryKind::Join { player } => {
                self.forget_undo();
                let bot = player.id.as_str().starts_with(BOT_PREFIX);
                let number = self.seats.sit(player, bot);
                let seat = self.seats.at(number).cloned().ok_or_else(|| {
                    GameError::new(ErrorCode::Internal, "a seat vanished as it was taken")
                })?;
                let (state, mut cx) = self.parts(at_ms);
                game.join(state, &seat, &mut cx)
            }
            EntryKind::Leave { player } => {
                self.forget_undo();
                if let Some(seat) = self.seats.stand(player) {
                    let (state, mut cx) = self.parts(at_ms);
                    game.leave(state, &seat, &mut cx);
                }
                Ok(())
            }
            EntryKind::Connection { player, connected } => {
                self.seats.set_connected(player, *connected);
                let (state, mut cx) = self.parts(at_ms);
                game.connection(state, player, *connected, &mut cx);
                Ok(())
            }
            EntryKind::Act { player, action, .. } => {
                let action = parse_action::<G>(action)?;
                let before = if game.undoable(&self.state, &action) {
                    self.saved()
                } else {
                    None
                };
                let (state, mut cx) = self.parts(at_ms);
                game.apply(state, &Actor::Player(player.clone()), action, &mut cx)?;
                if before.is_some() && !cx.revealed {
                    self.record_undo(player, before);
                } else {
                    // An action that cannot be taken back (it revealed something) closes
                    // every undo window: undoing past it would unsee what it showed.
                    self.forget_undo();
                }
                Ok(())
            }
            EntryKind::Undo { player, ask, .. } => {
                let author = match self.undo.last() {
                    Some(step) => step.author.clone(),
                    None => return Err(GameError::invalid_move("there is no action to undo")),
                };
                if &author == player {
                    return self.take_back(player);
                }
                if !*ask {
                    return Err(GameError::invalid_move(format!(
                        "the latest action is {author}'s: undo with \"ask\" to ask them"
                    )));
                }
                if let Some(open) = &self.proposal {
                    return Err(GameError::invalid_move(format!(
                        "{} already asked to undo it; wait for the answer",
                        open.by
                    )));
                }
                if self.seats.get(&author).is_some_and(|s| s.bot) {
                    // A bot's consent is implied.
                    return self.take_back(player);
                }
                let until_ms = at_ms.saturating_add(game.undo_consent_ms(&self.state));
                self.proposal = Some(Proposal {
                    id: v,
                    by: player.clone(),
                    of: author.clone(),
                    waiting: vec![author],
                    until_ms,
                });
                Ok(())
            }
            EntryKind::Redo { player, .. } => {
                let step = self
                    .redo
                    .pop_if(|s| &s.author == player || s.undone_by.as_ref() == Some(player))
                    .ok_or_else(|| GameError::invalid_move("you have nothing to redo"))?;
                let undo = self.cross(step, None)?;
                self.undo.push(undo);
                self.trim_undo();
                Ok(())
            }
            EntryKind::Consent {
                player,
                proposal,
                accept,
                ..
            } => {
                let Some(open) = self.proposal.as_mut().filter(|p| p.id == *proposal) else {
                    return Err(GameError::invalid_move(format!(
                        "no undo proposal {proposal} is open"
                    )));
                };
                if open.waiting.contains(player) {
                    if !*accept {
                        self.proposal = None;
                        return Ok(());
                    }
                    open.waiting.retain(|p| p != player);
                    if open.waiting.is_empty() {
                        let by = open.by.clone();
                        return self.take_back(&by);
                    }
                    Ok(())
                } else if &open.by == player && !*accept {
                    // The proposer withdraws.
                    self.proposal = None;
                    Ok(())
                } else {
                    Err(GameError::invalid_move(
                        "this undo proposal does not wait for your consent",
                    ))
                }
            }
            EntryKind::Tick { inputs } => {
                let Some(due) = self.timers.tick_due.filter(|due| *due <= at_ms) else {
                    return Err(GameError::new(ErrorCode::Internal, "no tick is due"));
                };
                self.forget_undo();
                let inputs = latest_inputs(game, inputs);
                // The game sees the tick's place on the schedule, not how late it ran (the
                // entry's own time, which decides whether the schedule skips ahead).
                let (state, mut cx) = self.parts(due);
                game.tick(state, inputs, &mut cx);
                Ok(())
            }
            EntryKind::Pause { by } => {
                if self.timers.paused.is_some() {
                    return Err(GameError::invalid_move("the game is already paused"));
                }
                self.forget_undo();
                self.timers.paused = Some(Pause {
                    since_ms: at_ms,
                    by: by.clone(),
                });
                let (state, mut cx) = self.parts(at_ms);
                game.paused(state, true, &mut cx);
                Ok(())
            }
            EntryKind::Resume { .. } => {
                let Some(pause) = self.timers.paused.take() else {
                    return Err(GameError::invalid_move("the game is not paused"));
                };
                let stood = at_ms.saturating_sub(pause.since_ms);
                self.timers.postpone(stood);
                self.timers.tick_due = self.timers.tick_due.map(|d| d.saturating_add(stood));
                self.seats.postpone_clock(stood);
                let (state, mut cx) = self.parts(at_ms);
                game.paused(state, false, &mut cx);
                Ok(())
            }
            EntryKind::UndoExpired { proposal } => {
                if self.proposal.as_ref().map(|p| p.id) != Some(*proposal) {
                    return Err(GameError::new(
                        ErrorCode::Internal,
                        format!("no undo proposal {proposal} is open"),
                    ));
                }
                self.proposal = None;
                Ok(())
            }
        }
    }

    fn forget_undo(&mut self) {
        self.undo.clear();
        self.redo.clear();
        self.proposal = None;
    }
}

/// A tick's logged inputs as the game gets them: decoded (the room checked each as it
/// arrived, so one that no longer decodes — a log from other rules — is skipped), and of
/// each player's [`InputMode::Latest`] kinds only the latest.
fn latest_inputs<G: Game>(game: &G, inputs: &[TickInput]) -> Vec<Input<G::Action>> {
    let decoded: Vec<(Option<InputMode>, Input<G::Action>)> = inputs
        .iter()
        .filter_map(|i| {
            let action = parse_action::<G>(&i.action).ok()?;
            let mode = game.input(&action);
            let player = i.player.clone();
            Some((mode, Input { player, action }))
        })
        .collect();
    let superseded = |at: usize, mode: Option<InputMode>, player: &PlayerId| match mode {
        Some(InputMode::Latest(kind)) => decoded[at + 1..]
            .iter()
            .any(|(m, i)| *m == Some(InputMode::Latest(kind)) && &i.player == player),
        _ => false,
    };
    let keep: Vec<bool> = decoded
        .iter()
        .enumerate()
        .map(|(at, (mode, i))| !superseded(at, *mode, &i.player))
        .collect();
    decoded
        .into_iter()
        .zip(keep)
        .filter_map(|((_, input), keep)| keep.then_some(input))
        .collect()
}

/// Player ids of bots start with this; a join entry for such an id seats a bot.
pub(crate) const BOT_PREFIX: &str = "b_";

/// Decode a game action from JSON, mapping failure to `INVALID_ACTION`.
pub(crate) fn parse_action<G: Game>(action: &Value) -> Result<G::Action, GameError> {
    G::Action::deserialize(action)
        .map_err(|e| GameError::new(ErrorCode::InvalidAction, format!("not a valid action: {e}")))
}

/// Decode a game config; `null` means the game's defaults.
pub(crate) fn parse_config<G: Game>(config: &Value) -> Result<G::Config, GameError> {
    if config.is_null() {
        return Ok(G::Config::default());
    }
    G::Config::deserialize(config)
        .map_err(|e| GameError::new(ErrorCode::InvalidConfig, format!("invalid config: {e}")))
}

/// A room rebuilt by [`replay`].
pub struct Replayed<G: Game> {
    /// The state after the last entry.
    pub state: G::State,
    /// The RNG's position after the last entry.
    pub rng: GameRng,
    /// Timers pending after the last entry.
    pub timers: Timers<G::Action>,
    /// Seats and turn clock after the last entry.
    pub seats: Seats,
    /// The undo proposal open after the last entry.
    pub proposal: Option<Proposal>,
    /// The undo and redo stacks after the last entry.
    pub(crate) undo: (Vec<UndoStep>, Vec<UndoStep>),
}

impl<G: Game> From<Staged<G>> for Replayed<G> {
    fn from(staged: Staged<G>) -> Self {
        Self {
            state: staged.state,
            rng: staged.rng,
            timers: staged.timers,
            seats: staged.seats,
            proposal: staged.proposal,
            undo: (staged.undo, staged.redo),
        }
    }
}

/// Rebuild a room's state from its creation parameters and log. Fails if an entry no longer
/// applies (a log written by a different version of the rules).
pub fn replay<G: Game>(
    game: &G,
    config: &Value,
    seed: u64,
    created_ms: u64,
    log: &[LogEntry],
) -> Result<Replayed<G>, GameError> {
    let config = parse_config::<G>(config)?;
    let mut staged = Staged::<G>::setup(game, &config, seed, created_ms)?;
    for entry in log {
        staged.apply(game, &entry.kind, entry.v, entry.at_ms)?;
    }
    Ok(staged.into())
}

/// A live room's entries, in version order without gaps: older ones as their JSON text (a
/// counter action is ~130 bytes that way, against ~1 KB as a parsed `Value` tree), the
/// newest as values until storage has taken them. A room restored from a snapshot starts after it.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    /// Entries that are only read back (queries, replay), oldest first.
    texts: Texts,
    /// Entries not yet handed to storage (all of them in a room without storage, until the
    /// actor compacts them), following `texts`.
    tail: Vec<LogEntry>,
    /// Version of the first entry held; 0 while empty.
    first: u64,
}

impl Journal {
    pub(crate) fn push(&mut self, entry: LogEntry) {
        if self.first == 0 {
            self.first = entry.v;
        }
        self.tail.push(entry);
    }

    /// Bytes the entries held as text take (their chunks, whole).
    pub(crate) fn text_bytes(&self) -> usize {
        self.texts.bytes
    }

    /// Version of the first entry held (1 unless the room was restored from a snapshot);
    /// `None` while empty.
    pub(crate) fn first_version(&self) -> Option<u64> {
        (self.first > 0).then_some(self.first)
    }

    /// Entries after version `from` still held as values, moved out; every value held is
    /// then kept as text only.
    pub(crate) fn take_after(&mut self, from: u64) -> Vec<LogEntry> {
        let start = self.tail.partition_point(|e| e.v <= from);
        let taken = self.tail.split_off(start);
        self.compact();
        for entry in &taken {
            self.texts.push(entry);
        }
        taken
    }

    /// Drop the entries up to version `v` (storage holds them). What is kept is packed anew:
    /// at most the entries since the last snapshot.
    pub(crate) fn forget_through(&mut self, v: u64) {
        let Some(first) = self.first_version() else {
            return;
        };
        if v < first {
            return;
        }
        let drop = usize::try_from(v + 1 - first).unwrap_or(usize::MAX);
        let mut kept = Texts::default();
        for i in drop..self.texts.len() {
            if let Some(text) = self.texts.get(i) {
                kept.push_text(text);
            }
        }
        let drop_tail = drop.saturating_sub(self.texts.len()).min(self.tail.len());
        self.tail.drain(..drop_tail);
        self.texts = kept;
        self.first = if self.texts.len() + self.tail.len() == 0 {
            0
        } else {
            v + 1
        };
    }

    /// Keep every entry held as a value as text only.
    pub(crate) fn compact(&mut self) {
        for entry in self.tail.drain(..) {
            self.texts.push(&entry);
        }
    }

    /// Up to `limit` entries after version `after`, oldest first.
    pub(crate) fn read(&self, after: u64, limit: usize) -> Result<Vec<LogEntry>, GameError> {
        if self.first == 0 {
            return Ok(Vec::new());
        }
        let start = usize::try_from(after.saturating_add(1).saturating_sub(self.first))
            .unwrap_or(usize::MAX);
        let total = self.texts.len() + self.tail.len();
        let end = start.saturating_add(limit).min(total);
        (start..end)
            .map(|i| match self.texts.get(i) {
                Some(text) => serde_json::from_str::<LogEntry>(text).map_err(|e| {
                    GameError::new(
                        ErrorCode::Internal,
                        format!("a kept log entry is unreadable: {e}"),
                    )
                }),
                None => Ok(self.tail[i - self.texts.len()].clone()),
            })
            .collect()
    }
}

/// Bytes per chunk of [`Texts`]: big enough that the allocator's overhead vanishes, small
/// enough that growing never copies much.
const CHUNK: usize = 64 * 1024;

/// Entries as JSON text, packed end to end into chunks: a kept entry costs its text plus
/// 12 bytes of index, with no allocation of its own.
#[derive(Debug, Default)]
struct Texts {
    chunks: Vec<String>,
    /// Per entry: chunk, start and length within it.
    index: Vec<(u32, u32, u32)>,
    /// The chunks' capacity, added up.
    bytes: usize,
}

impl Texts {
    fn push(&mut self, entry: &LogEntry) {
        // A `LogEntry` holds strings, numbers and JSON values only: it always serialises.
        let text = serde_json::to_string(entry).expect("a log entry is plain JSON data");
        self.push_text(&text);
    }

    fn push_text(&mut self, text: &str) {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + text.len() <= c.capacity());
        if !fits {
            let chunk = String::with_capacity(CHUNK.max(text.len()));
            self.bytes += chunk.capacity();
            self.chunks.push(chunk);
        }
        let n = self.chunks.len() - 1;
        let chunk = &mut self.chunks[n];
        let start = chunk.len();
        chunk.push_str(text);
        // Chunks hold at most CHUNK bytes or one entry, and an entry is capped by the frame
        // size the server accepts: both fit in u32.
        self.index.push((n as u32, start as u32, text.len() as u32));
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn get(&self, i: usize) -> Option<&str> {
        let &(chunk, start, len) = self.index.get(i)?;
        let start = start as usize;
        Some(&self.chunks[chunk as usize][start..start + len as usize])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: u64) -> LogEntry {
        LogEntry {
            v,
            at_ms: 1_000 + v,
            kind: EntryKind::Act {
                player: PlayerId("p_a".to_owned()),
                seq: v,
                instance: None,
                action: json!({"type": "add", "n": v}),
            },
        }
    }

    fn versions(entries: &[LogEntry]) -> Vec<u64> {
        entries.iter().map(|e| e.v).collect()
    }

    #[test]
    fn entries_read_back_the_same_whether_kept_as_text_or_values() {
        let mut j = Journal::default();
        for v in 1..=6 {
            j.push(entry(v));
        }
        // Storage takes 1..=4; they are then held as text only, 5 and 6 arrive later.
        let taken = j.take_after(0);
        assert_eq!(versions(&taken), vec![1, 2, 3, 4, 5, 6]);
        for v in 7..=9 {
            j.push(entry(v));
        }
        assert_eq!(versions(&j.take_after(6)), vec![7, 8, 9]);
        assert!(j.take_after(9).is_empty(), "nothing is handed over twice");
        j.push(entry(10));
        assert_eq!(
            j.read(0, usize::MAX).unwrap(),
            (1..=10).map(entry).collect::<Vec<_>>()
        );
        assert_eq!(versions(&j.read(3, 4).unwrap()), vec![4, 5, 6, 7]);
        assert_eq!(versions(&j.read(8, 100).unwrap()), vec![9, 10]);
        assert!(j.read(10, 5).unwrap().is_empty());
        assert!(j.read(u64::MAX, 5).unwrap().is_empty());
        j.compact();
        assert_eq!(versions(&j.read(9, 1).unwrap()), vec![10]);
    }

    #[test]
    fn a_journal_restored_after_a_snapshot_starts_there() {
        let mut j = Journal::default();
        assert_eq!(j.first_version(), None);
        assert!(j.read(0, 10).unwrap().is_empty());
        for v in 101..=105 {
            j.push(entry(v));
        }
        assert_eq!(j.first_version(), Some(101));
        assert_eq!(versions(&j.read(0, 2).unwrap()), vec![101, 102]);
        assert_eq!(versions(&j.read(103, 10).unwrap()), vec![104, 105]);
    }

    #[test]
    fn a_journal_forgets_what_storage_holds_and_keeps_the_rest_in_order() {
        let mut j = Journal::default();
        for v in 1..=10 {
            j.push(entry(v));
        }
        // 1..=6 kept as text, 7..=10 still values.
        j.take_after(6);
        j.push(entry(11));
        j.forget_through(4);
        assert_eq!(j.first_version(), Some(5));
        assert_eq!(
            versions(&j.read(0, 100).unwrap()),
            (5..=11).collect::<Vec<_>>()
        );
        assert_eq!(versions(&j.read(8, 2).unwrap()), vec![9, 10]);
        // Through a value not yet packed as text.
        j.forget_through(9);
        assert_eq!(versions(&j.read(0, 100).unwrap()), vec![10, 11]);
        // Below what is held: nothing changes; everything: empty until the next entry.
        j.forget_through(3);
        assert_eq!(j.first_version(), Some(10));
        j.forget_through(11);
        assert_eq!(j.first_version(), None);
        assert!(j.read(0, 10).unwrap().is_empty());
        j.push(entry(12));
        assert_eq!(versions(&j.read(0, 10).unwrap()), vec![12]);
    }
}
