//! The action log and deterministic replay: state = f(game, config, seed, log).

use crate::game::{Actor, Ctx, Game, GameError, Timers};
use crate::rng::GameRng;
use crate::seats::{Clock, Seats};
use arbiter_protocol::{ErrorCode, PlayerId, PlayerInfo};
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
    /// A player took back their latest undoable action.
    Undo {
        /// Who.
        player: PlayerId,
        /// The client's sequence number of the request.
        seq: u64,
        /// The client instance that sent it (see [`EntryKind::Act`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// A player re-applied the action they last undid.
    Redo {
        /// Who.
        player: PlayerId,
        /// The client's sequence number of the request.
        seq: u64,
        /// The client instance that sent it (see [`EntryKind::Act`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
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
}

/// One accepted entry: applying it to the state at `v - 1` gave the state at `v`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Version this entry produced.
    pub v: u64,
    /// Room time of the entry (ms since the Unix epoch); games read it through `Ctx::now_ms`.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// Undo steps kept per room; older ones can no longer be taken back.
const UNDO_DEPTH: usize = 32;

/// The parts of a room an entry changes, as saved for undo and redo.
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

impl<G: Game> Clone for Saved<G> {
    fn clone(&self) -> Self {
        Self {
            state: self.state.clone(),
            rng: self.rng.clone(),
            timers: self.timers.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// One undoable action: who took it, and the room before and after.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct UndoStep<G: Game> {
    author: PlayerId,
    before: Saved<G>,
    after: Saved<G>,
}

impl<G: Game> Clone for UndoStep<G> {
    fn clone(&self) -> Self {
        Self {
            author: self.author.clone(),
            before: self.before.clone(),
            after: self.after.clone(),
        }
    }
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
    pub(crate) undo: Vec<UndoStep<G>>,
    /// Undone actions that may be redone until a new entry is taken.
    pub(crate) redo: Vec<UndoStep<G>>,
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
        }
    }
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
        })
    }

    fn saved(&self) -> Saved<G> {
        Saved {
            state: self.state.clone(),
            rng: self.rng.clone(),
            timers: self.timers.clone(),
            clock: self.seats.clock().cloned(),
        }
    }

    fn restore(&mut self, saved: Saved<G>) {
        self.state = saved.state;
        self.rng = saved.rng;
        self.timers = saved.timers;
        self.seats.set_clock(saved.clock);
    }

    /// The game timer or turn clock that fires next, when, and the entry that fires it (a
    /// timer before a clock due at the same time). Rooms and playtests both fire through it.
    pub(crate) fn due_entry(&self) -> Option<(u64, EntryKind)> {
        let clock = self.seats.clock();
        match (self.timers.earliest(), clock) {
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
        }
    }

    /// The state and the context a game method gets for an entry at `at_ms`.
    fn parts(&mut self, at_ms: u64) -> (&mut G::State, Ctx<'_, G::Action>) {
        let cx = Ctx::new(&mut self.rng, at_ms, &mut self.timers, &mut self.seats);
        (&mut self.state, cx)
    }

    /// Apply one entry in place. The single code path shared by live play and replay.
    pub(crate) fn apply(
        &mut self,
        game: &G,
        kind: &EntryKind,
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
                let before = game.undoable(&self.state, &action).then(|| self.saved());
                let (state, mut cx) = self.parts(at_ms);
                game.apply(state, &Actor::Player(player.clone()), action, &mut cx)?;
                match before {
                    Some(before) => {
                        if self.undo.len() == UNDO_DEPTH {
                            self.undo.remove(0);
                        }
                        let after = self.saved();
                        self.undo.push(UndoStep {
                            author: player.clone(),
                            before,
                            after,
                        });
                        self.redo.clear();
                    }
                    // An action that cannot be taken back (it revealed something) closes
                    // every undo window: undoing past it would unsee what it showed.
                    None => self.forget_undo(),
                }
                Ok(())
            }
            EntryKind::Undo { player, .. } => {
                let step = self
                    .undo
                    .pop_if(|s| &s.author == player)
                    .ok_or_else(|| GameError::invalid_move("you have no action to undo"))?;
                self.restore(step.before.clone());
                self.redo.push(step);
                Ok(())
            }
            EntryKind::Redo { player, .. } => {
                let step = self
                    .redo
                    .pop_if(|s| &s.author == player)
                    .ok_or_else(|| GameError::invalid_move("you have nothing to redo"))?;
                self.restore(step.after.clone());
                self.undo.push(step);
                Ok(())
            }
        }
    }

    fn forget_undo(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
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
        staged.apply(game, &entry.kind, entry.at_ms)?;
    }
    Ok(Replayed {
        state: staged.state,
        rng: staged.rng,
        timers: staged.timers,
        seats: staged.seats,
    })
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
            self.chunks
                .push(String::with_capacity(CHUNK.max(text.len())));
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
