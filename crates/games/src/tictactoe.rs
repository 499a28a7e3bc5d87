//! Tic-tac-toe: two seats, X and O, three in a row wins.
//!
//! Rules (docs/games/tictactoe.md): the first player seated plays X, the second O; when both
//! seats are filled a random player starts. A move names an empty cell by row and column
//! (0–2). Three in a row, column or diagonal wins; a full board without one is a draw. After
//! the game is over either player may restart, and a random player starts the next game. A
//! player who leaves a game in progress forfeits it; the free seat can be taken by a new
//! player, which starts a fresh game.

use arbiter_engine::protocol::{ErrorCode, PlayerId, PlayerInfo};
use arbiter_engine::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng, Status, TimerId, Viewer,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct TicTacToe;

/// A player's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mark {
    /// Seated first.
    X,
    /// Seated second.
    O,
}

/// A seated player.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// Their mark.
    pub mark: Mark,
    /// Display name from the player.
    pub name: String,
}

/// The whole game; everything in it is public.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// Cells row by row: index = row * 3 + col.
    pub board: [Option<Mark>; 9],
    /// Seated players by id.
    pub players: BTreeMap<PlayerId, Seat>,
    /// Whose move it is; `None` before two players are seated and after the game ends.
    pub turn: Option<PlayerId>,
    /// The winner, once there is one.
    pub winner: Option<PlayerId>,
    /// The three winning cells.
    pub line: Option<[u8; 3]>,
    /// The game ended in a draw.
    pub draw: bool,
    /// The game ended because a player left.
    pub forfeit: bool,
    /// The game is over (won, drawn or forfeited) and may be restarted.
    pub over: bool,
    /// Games started in this room so far.
    pub round: u32,
    /// Marks placed this round; names the move a turn clock belongs to.
    pub moves: u8,
    /// When the player to move runs out of time (room time, ms), if the room has a clock.
    pub deadline: Option<u64>,
    /// Milliseconds per move (0: no clock), from the room's config.
    pub turn_ms: u64,
    /// The pending clock timer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub clock: Option<TimerId>,
}

/// What players propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Put your mark on an empty cell.
    Move {
        /// 0–2, top to bottom.
        row: u8,
        /// 0–2, left to right.
        col: u8,
    },
    /// Start a new game once this one is over.
    Restart,
    /// The turn clock ran out for `mover` at move `at_move`: a random free cell is played
    /// for them. Only the room's clock sends this.
    Timeout {
        /// Whose time ran out.
        mover: PlayerId,
        /// The move number the clock was set for.
        at_move: u8,
    },
}

/// Room options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Milliseconds each player has per move; when they run out, a random free cell is
    /// played for them. 0 (the default) means no clock.
    #[serde(default)]
    pub turn_ms: u64,
}

const LINES: [[u8; 3]; 8] = [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7, 8],
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
    [0, 4, 8],
    [2, 4, 6],
];

impl State {
    fn player_with(&self, mark: Mark) -> Option<&PlayerId> {
        self.players
            .iter()
            .find(|(_, s)| s.mark == mark)
            .map(|(id, _)| id)
    }

    /// Clear the board and let a random seated player start.
    fn start(&mut self, cx: &mut Ctx<'_, Action>) {
        self.board = [None; 9];
        self.winner = None;
        self.line = None;
        self.draw = false;
        self.forfeit = false;
        self.over = false;
        self.round += 1;
        self.moves = 0;
        let ids: Vec<PlayerId> = self.players.keys().cloned().collect();
        self.turn = cx.rng().pick(&ids).cloned();
        self.wind_clock(cx);
    }

    /// Restart the turn clock for whoever is to move (or stop it when nobody is).
    fn wind_clock(&mut self, cx: &mut Ctx<'_, Action>) {
        if let Some(old) = self.clock.take() {
            cx.cancel(old);
        }
        self.deadline = None;
        let Some(mover) = self.turn.clone() else {
            return;
        };
        if self.turn_ms == 0 {
            return;
        }
        let at_move = self.moves;
        self.clock = Some(cx.schedule(self.turn_ms, Action::Timeout { mover, at_move }));
        self.deadline = Some(cx.now_ms() + self.turn_ms);
    }

    /// Put `player`'s mark on `cell` (already checked legal) and settle the outcome.
    fn place(&mut self, player: &PlayerId, cell: usize, cx: &mut Ctx<'_, Action>) {
        let Some(mark) = self.players.get(player).map(|s| s.mark) else {
            return;
        };
        self.board[cell] = Some(mark);
        self.moves += 1;
        if let Some(line) = self.winning_line() {
            self.winner = Some(player.clone());
            self.line = Some(line);
            self.over = true;
            self.turn = None;
        } else if self.board.iter().all(Option::is_some) {
            self.draw = true;
            self.over = true;
            self.turn = None;
        } else {
            self.turn = self.players.keys().find(|id| *id != player).cloned();
        }
        self.wind_clock(cx);
    }

    fn winning_line(&self) -> Option<[u8; 3]> {
        LINES.into_iter().find(|l| {
            let [a, b, c] = l.map(|i| self.board[usize::from(i)]);
            a.is_some() && a == b && b == c
        })
    }
}

impl Game for TicTacToe {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        GameInfo {
            name: "tictactoe",
            title: "Tic-tac-toe",
            description: "Two players, X and O; three in a row wins.",
            min_players: 2,
            max_players: 2,
        }
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State {
            turn_ms: config.turn_ms,
            ..State::default()
        })
    }

    fn join(
        &self,
        state: &mut State,
        player: &PlayerInfo,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let mark = match (state.player_with(Mark::X), state.player_with(Mark::O)) {
            (None, _) => Mark::X,
            (_, None) => Mark::O,
            _ => {
                return Err(GameError::new(ErrorCode::RoomFull, "both seats are taken"));
            }
        };
        state.players.insert(
            player.id.clone(),
            Seat {
                mark,
                name: player.name.clone(),
            },
        );
        if state.players.len() == 2 {
            state.start(cx);
        }
        Ok(())
    }

    fn leave(&self, state: &mut State, player: &PlayerId, cx: &mut Ctx<'_, Action>) {
        if state.players.remove(player).is_none() {
            return;
        }
        if state.turn.is_some() {
            // A game in progress is forfeited to the player who stayed.
            state.winner = state.players.keys().next().cloned();
            state.forfeit = true;
            state.over = true;
            state.turn = None;
            state.wind_clock(cx);
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let player = match (by, action) {
            (Actor::System, Action::Timeout { mover, at_move }) => {
                // Stale if the player moved (or the game ended) since the clock was wound.
                if state.turn.as_ref() != Some(&mover) || state.moves != at_move {
                    return Err(GameError::invalid_move("that clock has already stopped"));
                }
                let free: Vec<usize> = (0..9).filter(|&c| state.board[c].is_none()).collect();
                let cell = *cx
                    .rng()
                    .pick(&free)
                    .ok_or_else(|| GameError::invalid_move("no free cell"))?;
                state.place(&mover, cell, cx);
                return Ok(());
            }
            (Actor::System, _) => {
                return Err(GameError::new(
                    ErrorCode::InvalidAction,
                    "not a timed action",
                ));
            }
            (Actor::Player(_), Action::Timeout { .. }) => {
                return Err(GameError::new(
                    ErrorCode::InvalidAction,
                    "only the room's clock can time a player out",
                ));
            }
            (Actor::Player(player), action) => (player, action),
        };
        let (player, action) = player;
        if !state.players.contains_key(player) {
            return Err(GameError::new(ErrorCode::NotAPlayer, "you have no seat"));
        }
        match action {
            Action::Move { row, col } => {
                if state.over {
                    return Err(GameError::game_over());
                }
                if state.players.len() < 2 {
                    return Err(GameError::invalid_move("waiting for an opponent"));
                }
                if state.turn.as_ref() != Some(player) {
                    return Err(GameError::not_your_turn());
                }
                if row > 2 || col > 2 {
                    return Err(GameError::invalid_move(format!(
                        "row and col must be 0, 1 or 2 (got {row}, {col})"
                    )));
                }
                let cell = usize::from(row * 3 + col);
                if state.board[cell].is_some() {
                    return Err(GameError::invalid_move("that cell is already taken"));
                }
                state.place(player, cell, cx);
                Ok(())
            }
            Action::Timeout { .. } => Err(GameError::new(
                ErrorCode::InvalidAction,
                "only the room's clock can time a player out",
            )),
            Action::Restart => {
                if !state.over {
                    return Err(GameError::new(
                        ErrorCode::GameInProgress,
                        "a game in progress cannot be restarted",
                    ));
                }
                if state.players.len() < 2 {
                    return Err(GameError::invalid_move("waiting for an opponent"));
                }
                state.start(cx);
                Ok(())
            }
        }
    }

    fn view(&self, state: &State, _viewer: &Viewer) -> Value {
        let mut view = serde_json::to_value(state).unwrap_or(Value::Null);
        if let Some(fields) = view.as_object_mut() {
            // The timer id is bookkeeping; the deadline is what clients show.
            fields.remove("clock");
        }
        view
    }

    fn status(&self, state: &State) -> Status {
        if state.over {
            let ranking = match &state.winner {
                Some(w) => {
                    let mut r = vec![vec![w.clone()]];
                    let rest: Vec<PlayerId> = state
                        .players
                        .keys()
                        .filter(|id| *id != w)
                        .cloned()
                        .collect();
                    if !rest.is_empty() {
                        r.push(rest);
                    }
                    r
                }
                None => vec![state.players.keys().cloned().collect()],
            };
            Status::Finished { ranking }
        } else if state.turn.is_some() {
            Status::Playing
        } else {
            Status::Waiting
        }
    }

    fn legal_actions(&self, state: &State, player: &PlayerId) -> Vec<Action> {
        if state.over {
            return vec![Action::Restart];
        }
        if state.turn.as_ref() != Some(player) {
            return Vec::new();
        }
        (0u8..9)
            .filter(|&i| state.board[usize::from(i)].is_none())
            .map(|i| Action::Move {
                row: i / 3,
                col: i % 3,
            })
            .collect()
    }

    fn public_view(&self) -> bool {
        true
    }

    fn bot_name(&self, n: u32) -> Option<String> {
        Some(if n == 1 {
            "Bot".to_owned()
        } else {
            format!("Bot {n}")
        })
    }

    /// Perfect play: among the moves with the best minimax outcome, a random one. Bots never
    /// restart a finished game; a human decides when to play again.
    fn bot_move(
        &self,
        state: &State,
        bot: &PlayerId,
        rng: &mut GameRng,
    ) -> Option<BotMove<Action>> {
        if state.over || state.turn.as_ref() != Some(bot) {
            return None;
        }
        let mark = state.players.get(bot)?.mark;
        let mut board = state.board;
        let mut best = Vec::new();
        let mut best_score = i32::MIN;
        for cell in 0..9 {
            if board[cell].is_some() {
                continue;
            }
            board[cell] = Some(mark);
            let score = -negamax(&mut board, other(mark));
            board[cell] = None;
            if score > best_score {
                best_score = score;
                best.clear();
            }
            if score == best_score {
                best.push(cell as u8);
            }
        }
        let cell = *rng.pick(&best)?;
        Some(BotMove {
            action: Action::Move {
                row: cell / 3,
                col: cell % 3,
            },
            delay_ms: 350 + u64::from(rng.below(400)),
        })
    }
}

fn other(mark: Mark) -> Mark {
    match mark {
        Mark::X => Mark::O,
        Mark::O => Mark::X,
    }
}

/// The outcome for `to_move` under perfect play: +10 − depth for a win, 0 for a draw, so a
/// quicker win (and a slower loss) scores better.
fn negamax(board: &mut [Option<Mark>; 9], to_move: Mark) -> i32 {
    let empty = board.iter().filter(|c| c.is_none()).count() as i32;
    let won = LINES.iter().any(|l| {
        let [a, b, c] = l.map(|i| board[usize::from(i)]);
        a.is_some() && a == b && b == c
    });
    if won {
        // The previous mover completed a line.
        return -(10 + empty);
    }
    if empty == 0 {
        return 0;
    }
    let mut best = i32::MIN;
    for cell in 0..9 {
        if board[cell].is_none() {
            board[cell] = Some(to_move);
            best = best.max(-negamax(board, other(to_move)));
            board[cell] = None;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_engine::Timers;

    struct Table {
        state: State,
        rng: GameRng,
        timers: Timers<Action>,
    }

    impl Table {
        fn new(seed: u64) -> Self {
            let mut t = Self {
                state: State::default(),
                rng: GameRng::from_seed(seed),
                timers: Timers::default(),
            };
            for id in ["alice", "bob"] {
                let p = PlayerInfo {
                    id: id.into(),
                    name: id.to_uppercase(),
                };
                let mut cx = Ctx::new(&mut t.rng, 0, &mut t.timers);
                TicTacToe.join(&mut t.state, &p, &mut cx).expect("seat");
            }
            t
        }

        fn act(&mut self, who: &PlayerId, action: Action) -> Result<(), GameError> {
            let mut cx = Ctx::new(&mut self.rng, 0, &mut self.timers);
            TicTacToe.apply(
                &mut self.state,
                &Actor::Player(who.clone()),
                action,
                &mut cx,
            )
        }

        fn mover(&self) -> PlayerId {
            self.state.turn.clone().expect("someone to move")
        }

        fn play(&mut self, cells: &[u8]) {
            for &c in cells {
                let who = self.mover();
                self.act(
                    &who,
                    Action::Move {
                        row: c / 3,
                        col: c % 3,
                    },
                )
                .expect("legal move");
            }
        }
    }

    #[test]
    fn names_and_marks_come_from_seating_order() {
        let t = Table::new(1);
        assert_eq!(t.state.players[&"alice".into()].mark, Mark::X);
        assert_eq!(t.state.players[&"bob".into()].name, "BOB");
        assert_eq!(t.state.players[&"bob".into()].mark, Mark::O);
        assert!(t.state.turn.is_some());
        assert_eq!(TicTacToe.status(&t.state), Status::Playing);
    }

    #[test]
    fn every_line_wins_for_the_player_who_completes_it() {
        for line in LINES {
            let mut t = Table::new(u64::from(line[0]) * 10 + u64::from(line[2]));
            let first = t.mover();
            // The first player takes the line; the second plays elsewhere, never blocking.
            let others: Vec<u8> = (0..9).filter(|c| !line.contains(c)).collect();
            let mut others = others.into_iter().filter(|&c| {
                // Avoid giving the second player a line of their own first.
                !(line == [0, 4, 8] && c == 2)
            });
            for (i, &cell) in line.iter().enumerate() {
                t.play(&[cell]);
                if i < 2 {
                    let o = others.next().expect("a free cell");
                    t.play(&[o]);
                }
            }
            assert_eq!(t.state.winner.as_ref(), Some(&first), "line {line:?}");
            assert_eq!(t.state.line, Some(line));
            assert!(t.state.over);
            assert_eq!(
                TicTacToe.status(&t.state),
                Status::Finished {
                    ranking: vec![
                        vec![first.clone()],
                        t.state
                            .players
                            .keys()
                            .filter(|p| **p != first)
                            .cloned()
                            .collect()
                    ]
                }
            );
        }
    }

    #[test]
    fn full_board_without_line_is_a_draw() {
        let mut t = Table::new(3);
        // X O X / X O O / O X X — no line.
        t.play(&[0, 1, 2, 4, 3, 5, 7, 6, 8]);
        assert!(t.state.draw && t.state.over);
        assert_eq!(t.state.winner, None);
        assert!(
            matches!(TicTacToe.status(&t.state), Status::Finished { ranking } if ranking.len() == 1 && ranking[0].len() == 2)
        );
    }

    #[test]
    fn refusals_carry_stable_codes_and_change_nothing() {
        let mut t = Table::new(4);
        let mover = t.mover();
        let other = t
            .state
            .players
            .keys()
            .find(|p| **p != mover)
            .cloned()
            .expect("two");
        let before = t.state.clone();
        let code = |r: Result<(), GameError>| r.expect_err("refused").code;
        assert_eq!(
            code(t.act(&other, Action::Move { row: 0, col: 0 })),
            ErrorCode::NotYourTurn
        );
        assert_eq!(
            code(t.act(&mover, Action::Move { row: 3, col: 0 })),
            ErrorCode::InvalidMove
        );
        assert_eq!(
            code(t.act(&mover, Action::Restart)),
            ErrorCode::GameInProgress
        );
        assert_eq!(
            code(t.act(&"eve".into(), Action::Restart)),
            ErrorCode::NotAPlayer
        );
        assert_eq!(t.state, before);
        t.play(&[4]);
        assert_eq!(
            code(t.act(&t.mover(), Action::Move { row: 1, col: 1 })),
            ErrorCode::InvalidMove
        );
    }

    #[test]
    fn finished_game_refuses_moves_and_restarts_clean() {
        let mut t = Table::new(5);
        t.play(&[0, 3, 1, 4, 2]);
        let winner = t.state.winner.clone().expect("won");
        assert_eq!(
            t.act(&winner, Action::Move { row: 2, col: 2 })
                .expect_err("over")
                .code,
            ErrorCode::GameOver
        );
        t.act(&winner, Action::Restart).expect("restart");
        assert!(!t.state.over && t.state.board.iter().all(Option::is_none));
        assert_eq!(t.state.round, 2);
        assert!(t.state.turn.is_some());
    }

    #[test]
    fn leaving_mid_game_forfeits_and_a_newcomer_takes_the_free_mark() {
        let mut t = Table::new(6);
        t.play(&[4]);
        let mut cx = Ctx::new(&mut t.rng, 0, &mut t.timers);
        TicTacToe.leave(&mut t.state, &"alice".into(), &mut cx);
        assert!(t.state.over && t.state.forfeit);
        assert_eq!(t.state.winner, Some("bob".into()));
        let carol = PlayerInfo {
            id: "carol".into(),
            name: "Carol".into(),
        };
        TicTacToe
            .join(&mut t.state, &carol, &mut cx)
            .expect("free seat");
        assert_eq!(t.state.players[&"carol".into()].mark, Mark::X);
        assert!(!t.state.over && t.state.board.iter().all(Option::is_none));
    }

    #[test]
    fn a_lone_player_cannot_restart_and_a_newcomer_after_x_left_plays_x() {
        // The Go original let the player left alone restart into a game nobody could move
        // in, and seated a newcomer after X left as a second "O".
        let mut t = Table::new(8);
        t.play(&[0, 3, 1, 4, 2]);
        let mut cx = Ctx::new(&mut t.rng, 0, &mut t.timers);
        TicTacToe.leave(&mut t.state, &"alice".into(), &mut cx);
        let before = t.state.clone();
        let e = t.act(&"bob".into(), Action::Restart).expect_err("alone");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        assert_eq!(e.message, "waiting for an opponent");
        assert_eq!(t.state, before, "a refusal changes nothing");
        let carol = PlayerInfo {
            id: "carol".into(),
            name: "Carol".into(),
        };
        let mut cx = Ctx::new(&mut t.rng, 0, &mut t.timers);
        TicTacToe
            .join(&mut t.state, &carol, &mut cx)
            .expect("free seat");
        assert_eq!(t.state.players[&"carol".into()].mark, Mark::X);
        assert_eq!(t.state.players[&"bob".into()].mark, Mark::O);
        assert!(t.state.turn.is_some() && !t.state.over);
    }

    #[test]
    fn the_bot_never_loses_and_takes_a_win_when_offered() {
        // Against every sequence of human moves, the bot (O here, X when it starts) never loses.
        fn explore(t: &mut Table, bot: &PlayerId, human: &PlayerId, rng: &mut GameRng) -> u32 {
            if t.state.over {
                assert_ne!(
                    t.state.winner.as_ref(),
                    Some(human),
                    "the bot lost: {:?}",
                    t.state.board
                );
                return 1;
            }
            if t.state.turn.as_ref() == Some(bot) {
                let m = TicTacToe
                    .bot_move(&t.state, bot, rng)
                    .expect("bot moves on its turn");
                let saved = t.state.clone();
                t.act(bot, m.action).expect("bot move is legal");
                let n = explore(t, bot, human, rng);
                t.state = saved;
                return n;
            }
            let mut games = 0;
            for a in TicTacToe.legal_actions(&t.state, human) {
                let saved = t.state.clone();
                t.act(human, a).expect("legal");
                games += explore(t, bot, human, rng);
                t.state = saved;
            }
            games
        }
        let mut rng = GameRng::from_seed(9);
        for first in ["alice", "bob"] {
            let mut t = Table::new(0);
            t.state.turn = Some(first.into());
            let (bot, human): (PlayerId, PlayerId) = ("bob".into(), "alice".into());
            assert!(explore(&mut t, &bot, &human, &mut rng) > 1);
        }
        // X X . / O O . / . . .  with O (bob) to move: O completes its row.
        let mut t = Table::new(0);
        t.state.board = [
            Some(Mark::X),
            Some(Mark::X),
            None,
            Some(Mark::O),
            Some(Mark::O),
            None,
            None,
            None,
            None,
        ];
        t.state.turn = Some("bob".into());
        let m = TicTacToe
            .bot_move(&t.state, &"bob".into(), &mut rng)
            .expect("move");
        assert_eq!(m.action, Action::Move { row: 1, col: 2 });
        assert!(
            TicTacToe
                .bot_move(&t.state, &"alice".into(), &mut rng)
                .is_none(),
            "not its turn"
        );
    }

    #[test]
    fn the_turn_clock_plays_a_random_cell_for_a_player_who_runs_out_of_time() {
        let mut t = Table::new(11);
        t.state.turn_ms = 1_000;
        let mut cx = Ctx::new(&mut t.rng, 5_000, &mut t.timers);
        t.state.start(&mut cx);
        let mover = t.mover();
        assert_eq!(t.state.deadline, Some(6_000));
        let timer = t.timers.pending()[0].clone();
        assert_eq!(timer.due_ms, 6_000);
        assert_eq!(
            timer.action,
            Action::Timeout {
                mover: mover.clone(),
                at_move: 0
            }
        );

        // A player cannot time anyone out.
        assert_eq!(
            t.act(&mover, timer.action.clone())
                .expect_err("refused")
                .code,
            ErrorCode::InvalidAction
        );
        let mut cx = Ctx::new(&mut t.rng, 6_000, &mut t.timers);
        TicTacToe
            .apply(&mut t.state, &Actor::System, timer.action.clone(), &mut cx)
            .expect("clock fires");
        assert_eq!(t.state.board.iter().filter(|c| c.is_some()).count(), 1);
        assert_ne!(t.state.turn.as_ref(), Some(&mover), "the turn passed");
        assert_eq!(
            t.state.deadline,
            Some(7_000),
            "the next player's clock is wound"
        );
        assert_eq!(
            t.timers.pending().len(),
            1,
            "the old timer is gone, a new one set"
        );

        // The same (now stale) timeout again changes nothing.
        let mut cx = Ctx::new(&mut t.rng, 6_500, &mut t.timers);
        assert!(
            TicTacToe
                .apply(&mut t.state, &Actor::System, timer.action, &mut cx)
                .is_err()
        );
        assert!(
            TicTacToe
                .view(&t.state, &Viewer::Spectator)
                .get("clock")
                .is_none()
        );
    }

    #[test]
    fn actions_parse_strictly() {
        let ok: Action =
            serde_json::from_str(r#"{"type":"move","row":1,"col":2}"#).expect("parses");
        assert_eq!(ok, Action::Move { row: 1, col: 2 });
        assert!(serde_json::from_str::<Action>(r#"{"type":"move","row":1}"#).is_err());
        assert!(serde_json::from_str::<Action>(r#"{"type":"move","row":-1,"col":0}"#).is_err());
        assert!(serde_json::from_str::<Action>(r#"{"type":"fly"}"#).is_err());
    }
}
