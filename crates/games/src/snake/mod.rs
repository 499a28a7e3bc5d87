//! Snake: a real-time game for 2 to 8 players on one grid (rules: docs/games/snake.md).
//!
//! The room ticks at 30 Hz while a round runs. Turns are inputs: they wait for the next tick,
//! queued in the order they came, so two quick key presses between steps both count. Every
//! `step_ticks` ticks each snake moves one cell; a snake that runs into a wall or any body
//! dies, and the last one alive wins the round.
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng, Input, InputMode, Seat, Seats, Status,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snake;

/// Milliseconds per tick: 30 ticks a second.
pub const TICK_MS: u64 = 33;
/// The most cells a snake can be long; its body is a ring of this many cells.
pub const RING: usize = 64;
/// Cells a snake starts with (all on its start cell; it unfolds as it moves).
const START_LEN: u32 = 4;
/// Cells a snake grows by for each food it eats.
const GROWTH: u32 = 3;
/// Ticks between `start` and the first step: 2 s to get ready.
pub const COUNTDOWN_TICKS: u32 = 60;
/// Turns a snake keeps waiting for its next steps; more are ignored.
const QUEUED_TURNS: usize = 3;
/// Ticks a round runs after its countdown before it ends by time: 60 s.
pub const ROUND_TICKS: u64 = 1_800;

/// A direction on the grid (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dir {
    /// Towards y = 0.
    Up,
    /// Towards the bottom row.
    Down,
    /// Towards x = 0.
    Left,
    /// Towards the right column.
    Right,
}

impl Dir {
    const ALL: [Dir; 4] = [Dir::Up, Dir::Down, Dir::Left, Dir::Right];

    fn delta(self) -> (i32, i32) {
        match self {
            Dir::Up => (0, -1),
            Dir::Down => (0, 1),
            Dir::Left => (-1, 0),
            Dir::Right => (1, 0),
        }
    }

    fn opposite(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
            Dir::Left => Dir::Right,
            Dir::Right => Dir::Left,
        }
    }
}

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No round yet: players sit down, then someone says `start`.
    Waiting,
    /// A round is about to begin; snakes stand still and turns are already taken.
    Countdown,
    /// Snakes move.
    Running,
    /// The round ended; `start` begins the next.
    Over,
}

/// One player's snake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Whose.
    pub player: PlayerId,
    /// Their name, for the scoreboard.
    pub name: String,
    /// The cells, as a ring of [`RING`] `[x, y]` pairs: the head at `head`, the body behind
    /// it at `head - 1`, `head - 2`, … (wrapping), `len` cells in all. Moving writes one cell,
    /// so a step is one small patch however long the snake is.
    pub ring: Vec<[u16; 2]>,
    /// Index of the head in `ring`.
    pub head: usize,
    /// Cells long (0 before its first round).
    pub len: u32,
    /// Where it moves next step.
    pub dir: Dir,
    /// Turns waiting for the next steps, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<Dir>,
    /// In the current round and not yet dead.
    pub alive: bool,
    /// Cells still to grow by.
    #[serde(default)]
    pub grow: u32,
    /// Food eaten this round.
    pub score: u32,
    /// Rounds won.
    pub wins: u32,
}

impl Body {
    /// The cells from the head back.
    pub fn cells(&self) -> impl Iterator<Item = [u16; 2]> + '_ {
        (0..self.len as usize).map(move |k| self.ring[(self.head + RING - k) % RING])
    }

    /// The head cell.
    pub fn head_cell(&self) -> [u16; 2] {
        self.ring[self.head]
    }

    /// The direction it will take next step, counting the turns it has queued.
    fn heading(&self) -> Dir {
        self.queue.last().copied().unwrap_or(self.dir)
    }
}

/// Everything about a game. Nothing is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Columns.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// Ticks per step.
    pub step_ticks: u32,
    /// Where the round stands.
    pub phase: Phase,
    /// Ticks since the round's `start` (the countdown included).
    pub tick: u64,
    /// Ticks left before the snakes move.
    pub countdown: u32,
    /// Rounds started.
    pub round: u32,
    /// One snake per seated player, in the order they sat down.
    pub snakes: Vec<Body>,
    /// Cells with food.
    pub food: Vec<[u16; 2]>,
    /// Players who died this round, in groups that died on the same step, first first.
    pub deaths: Vec<Vec<PlayerId>>,
    /// The last round's winner (none for a draw).
    pub winner: Option<PlayerId>,
    /// The last round's places, best first, once it is over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranking: Vec<Vec<PlayerId>>,
}

/// What players propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Begin a round (at least two players seated; no round running).
    Start,
    /// Head this way from the next step on (an input: it waits for the next tick).
    Turn {
        /// The new direction. Reversing onto yourself is ignored.
        dir: Dir,
    },
}

/// Room options, chosen at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Columns: 20 to 100 (default 48).
    pub width: u16,
    /// Rows: 16 to 80 (default 36).
    pub height: u16,
    /// Ticks per step, 1 to 6 (default 2: 15 cells a second).
    pub step_ticks: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            width: 48,
            height: 36,
            step_ticks: 2,
        }
    }
}

impl State {
    fn body_mut(&mut self, player: &PlayerId) -> Option<&mut Body> {
        self.snakes.iter_mut().find(|s| &s.player == player)
    }

    fn in_bounds(&self, x: i32, y: i32) -> bool {
        x >= 0 && y >= 0 && x < i32::from(self.width) && y < i32::from(self.height)
    }

    /// Every cell a living snake covers.
    fn occupied(&self) -> HashSet<[u16; 2]> {
        self.snakes
            .iter()
            .filter(|s| s.alive)
            .flat_map(Body::cells)
            .collect()
    }

    /// Start a round: every seated snake at its start, food out, a countdown.
    fn begin(&mut self, cx: &mut Ctx<'_, Action>) {
        let n = self.snakes.len();
        for (i, s) in self.snakes.iter_mut().enumerate() {
            let y = ((i / 2 + 1) * usize::from(self.height) / (n.div_ceil(2) + 1)) as u16;
            let (x, dir) = if i % 2 == 0 {
                (3, Dir::Right)
            } else {
                (self.width - 4, Dir::Left)
            };
            s.ring = vec![[x, y]; RING];
            (s.head, s.len, s.dir, s.alive) = (0, START_LEN, dir, true);
            (s.grow, s.score) = (0, 0);
            s.queue.clear();
        }
        (self.phase, self.tick, self.countdown) = (Phase::Countdown, 0, COUNTDOWN_TICKS);
        self.round += 1;
        self.deaths.clear();
        self.ranking.clear();
        self.winner = None;
        self.food.clear();
        for _ in 0..n.max(2) {
            self.place_food(cx.rng());
        }
    }

    /// Put one food on a random free cell (if a few tries find one).
    fn place_food(&mut self, rng: &mut GameRng) {
        let taken = self.occupied();
        for _ in 0..64 {
            let cell = [
                rng.below(u32::from(self.width)) as u16,
                rng.below(u32::from(self.height)) as u16,
            ];
            if !taken.contains(&cell) && !self.food.contains(&cell) {
                self.food.push(cell);
                return;
            }
        }
    }

    /// A player's turn, queued for their next steps.
    fn queue_turn(&mut self, player: &PlayerId, dir: Dir) {
        if let Some(s) = self.body_mut(player).filter(|s| s.alive)
            && s.queue.len() < QUEUED_TURNS
            && s.heading() != dir
        {
            s.queue.push(dir);
        }
    }

    /// Every living snake moves one cell; collisions kill; food grows.
    fn step(&mut self, cx: &mut Ctx<'_, Action>) {
        // Where each head goes, after its next useful queued turn.
        let mut moves: Vec<(usize, Option<[u16; 2]>)> = Vec::new();
        for (i, s) in self.snakes.iter_mut().enumerate().filter(|(_, s)| s.alive) {
            while !s.queue.is_empty() {
                let turn = s.queue.remove(0);
                if turn != s.dir && turn != s.dir.opposite() {
                    s.dir = turn;
                    break;
                }
            }
            let (dx, dy) = s.dir.delta();
            let [x, y] = s.head_cell();
            let (nx, ny) = (i32::from(x) + dx, i32::from(y) + dy);
            moves.push((
                i,
                Some([nx as u16, ny as u16]).filter(|_| nx >= 0 && ny >= 0),
            ));
        }
        // The cells bodies cover after the move: a tail that moves frees its cell.
        let mut blocked = HashSet::new();
        for s in self.snakes.iter().filter(|s| s.alive) {
            let keep = if s.grow > 0 { s.len } else { s.len - 1 };
            blocked.extend(s.cells().take(keep as usize));
        }
        let mut dead = Vec::new();
        for &(i, to) in &moves {
            let hit = match to {
                Some([x, y]) if self.in_bounds(i32::from(x), i32::from(y)) => {
                    blocked.contains(&[x, y])
                        || moves.iter().any(|&(j, other)| j != i && other == to)
                }
                _ => true,
            };
            if hit {
                dead.push(i);
            }
        }
        for (i, to) in moves {
            let s = &mut self.snakes[i];
            if dead.contains(&i) {
                s.alive = false;
                continue;
            }
            let Some(cell) = to else { continue };
            s.head = (s.head + 1) % RING;
            s.ring[s.head] = cell;
            if s.grow > 0 {
                s.grow -= 1;
                s.len = (s.len + 1).min(RING as u32);
            }
            if let Some(at) = self.food.iter().position(|f| *f == cell) {
                self.food.swap_remove(at);
                let s = &mut self.snakes[i];
                s.score += 1;
                s.grow += GROWTH;
                self.place_food(cx.rng());
            }
        }
        if !dead.is_empty() {
            let mut group: Vec<PlayerId> = dead
                .iter()
                .map(|&i| self.snakes[i].player.clone())
                .collect();
            group.sort();
            self.deaths.push(group);
        }
        self.end_if_decided();
    }

    /// End the round once at most one snake lives (none, if it began with one), or when its
    /// time is up: then the longest snakes alive win (several of the same length draw).
    fn end_if_decided(&mut self) {
        if !matches!(self.phase, Phase::Countdown | Phase::Running) {
            return;
        }
        let mut alive: Vec<usize> = (0..self.snakes.len())
            .filter(|&i| self.snakes[i].alive)
            .collect();
        let in_round = alive.len() + self.deaths.iter().map(Vec::len).sum::<usize>();
        let timed_out = self.tick >= u64::from(COUNTDOWN_TICKS) + ROUND_TICKS;
        if !timed_out && (alive.len() > 1 || (alive.len() == 1 && in_round == 1)) {
            return;
        }
        self.phase = Phase::Over;
        // The living by length, longest first, in groups of equal length.
        alive.sort_by_key(|&i| std::cmp::Reverse(self.snakes[i].len));
        let mut places: Vec<Vec<PlayerId>> = Vec::new();
        let mut last_len = None;
        for &i in &alive {
            let s = &mut self.snakes[i];
            s.alive = false;
            match places.last_mut() {
                Some(group) if last_len == Some(s.len) => group.push(s.player.clone()),
                _ => places.push(vec![s.player.clone()]),
            }
            last_len = Some(s.len);
        }
        for group in &mut places {
            group.sort();
        }
        self.winner = match places.first() {
            Some(first) if first.len() == 1 => Some(first[0].clone()),
            _ => None,
        };
        if let Some(w) = self.winner.clone()
            && let Some(s) = self.body_mut(&w)
        {
            s.wins += 1;
        }
        places.extend(self.deaths.iter().rev().cloned());
        self.ranking = places;
    }
}

impl Game for Snake {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Steer your snake, eat, grow; the last snake alive wins. Real time.";
        GameInfo::new("snake", "Snake", description, 2..=8)
    }

    fn setup(&self, config: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        let bad = |why: &str| Err(GameError::new(ErrorCode::InvalidConfig, why));
        if !(20..=100).contains(&config.width) {
            return bad("width must be between 20 and 100");
        }
        if !(16..=80).contains(&config.height) {
            return bad("height must be between 16 and 80");
        }
        if !(1..=6).contains(&config.step_ticks) {
            return bad("step_ticks must be between 1 and 6");
        }
        Ok(State {
            width: config.width,
            height: config.height,
            step_ticks: config.step_ticks,
            phase: Phase::Waiting,
            tick: 0,
            countdown: 0,
            round: 0,
            snakes: Vec::new(),
            food: Vec::new(),
            deaths: Vec::new(),
            winner: None,
            ranking: Vec::new(),
        })
    }

    /// A newcomer's snake waits for the next round.
    fn join(
        &self,
        state: &mut State,
        seat: &Seat,
        _: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        state.snakes.push(Body {
            player: seat.id.clone(),
            name: seat.name.clone(),
            ring: Vec::new(),
            head: 0,
            len: 0,
            dir: Dir::Right,
            queue: Vec::new(),
            alive: false,
            grow: 0,
            score: 0,
            wins: 0,
        });
        Ok(())
    }

    /// A leaver's snake goes, which may end the round.
    fn leave(&self, state: &mut State, seat: &Seat, _: &mut Ctx<'_, Action>) {
        state.snakes.retain(|s| s.player != seat.id);
        for group in &mut state.deaths {
            group.retain(|p| *p != seat.id);
        }
        state.deaths.retain(|g| !g.is_empty());
        state.end_if_decided();
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        cx.seat_of(by.player()?)?;
        match action {
            Action::Start => {
                if matches!(state.phase, Phase::Countdown | Phase::Running) {
                    return Err(GameError::in_progress("a round is running"));
                }
                if state.snakes.len() < 2 {
                    return Err(GameError::invalid_move("a round needs two players"));
                }
                state.begin(cx);
                Ok(())
            }
            // Turns reach the game through `tick` while a round runs.
            Action::Turn { .. } => Err(GameError::invalid_move("no round is running")),
        }
    }

    fn tick_ms(&self, state: &State) -> Option<u64> {
        matches!(state.phase, Phase::Countdown | Phase::Running).then_some(TICK_MS)
    }

    fn input(&self, action: &Action) -> Option<InputMode> {
        match action {
            Action::Turn { .. } => Some(InputMode::Queued),
            Action::Start => None,
        }
    }

    fn tick(&self, state: &mut State, inputs: Vec<Input<Action>>, cx: &mut Ctx<'_, Action>) {
        for input in inputs {
            if let Action::Turn { dir } = input.action {
                state.queue_turn(&input.player, dir);
            }
        }
        state.tick += 1;
        match state.phase {
            Phase::Countdown => {
                state.countdown = state.countdown.saturating_sub(1);
                if state.countdown == 0 {
                    state.phase = Phase::Running;
                }
            }
            Phase::Running if state.tick.is_multiple_of(u64::from(state.step_ticks)) => {
                state.step(cx)
            }
            _ => {}
        }
    }

    fn status(&self, state: &State, _: &Seats) -> Status {
        match state.phase {
            Phase::Waiting => Status::Waiting,
            Phase::Countdown | Phase::Running => Status::Playing,
            Phase::Over => Status::Finished {
                ranking: state.ranking.clone(),
            },
        }
    }

    fn legal_actions(&self, state: &State, _: &Seats, player: &PlayerId) -> Vec<Action> {
        match state.phase {
            Phase::Waiting | Phase::Over if state.snakes.len() >= 2 => vec![Action::Start],
            Phase::Countdown | Phase::Running => {
                let alive = state.snakes.iter().any(|s| &s.player == player && s.alive);
                let dirs = if alive { Dir::ALL.to_vec() } else { Vec::new() };
                dirs.into_iter().map(|dir| Action::Turn { dir }).collect()
            }
            _ => Vec::new(),
        }
    }

    fn public_view(&self) -> bool {
        true
    }

    fn has_bots(&self) -> bool {
        true
    }

    /// A bot turns when going on would kill it or another way leads to food sooner; it
    /// prefers the way with the most room around it.
    fn bot_move(&self, state: &State, bot: &Seat, _: &mut GameRng) -> Option<BotMove<Action>> {
        if !matches!(state.phase, Phase::Countdown | Phase::Running) {
            return None;
        }
        let me = state
            .snakes
            .iter()
            .find(|s| s.player == bot.id && s.alive)?;
        let taken = state.occupied();
        let [x, y] = me.head_cell();
        let heading = me.heading();
        let free = |x: i32, y: i32| state.in_bounds(x, y) && !taken.contains(&[x as u16, y as u16]);
        let food_distance = |x: i32, y: i32| {
            state
                .food
                .iter()
                .map(|[fx, fy]| (i32::from(*fx) - x).abs() + (i32::from(*fy) - y).abs())
                .min()
                .unwrap_or(0)
        };
        let score = |dir: Dir| {
            let (dx, dy) = dir.delta();
            let (nx, ny) = (i32::from(x) + dx, i32::from(y) + dy);
            if !free(nx, ny) {
                return None;
            }
            let room = Dir::ALL
                .iter()
                .filter(|d| {
                    let (ex, ey) = d.delta();
                    free(nx + ex, ny + ey)
                })
                .count() as i32;
            Some(room * 100 - food_distance(nx, ny))
        };
        let best = Dir::ALL
            .into_iter()
            .filter(|d| *d != heading.opposite())
            .filter_map(|d| score(d).map(|s| (s, d)))
            .max_by_key(|(s, d)| (*s, *d == heading))?;
        (best.1 != heading).then_some(BotMove {
            action: Action::Turn { dir: best.1 },
            delay_ms: 0,
        })
    }
}
