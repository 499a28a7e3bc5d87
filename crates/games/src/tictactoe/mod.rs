//! Tic-tac-toe (docs/games/tictactoe.md): seat 0 plays X, seat 1 plays O, three in a row
//! wins. Everything is public; the engine keeps the seats and the move clock.
mod bot;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng};
use arbiter_engine::{Seat, Seats, Status, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct TicTacToe;

/// A player's mark: seat 0 plays X, so a newcomer in a leaver's seat takes their mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Mark {
    X,
    O,
}

/// The board (row by row), whose move it is, how it ended, the round and move counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    board: [Option<Mark>; 9],
    turn: Option<PlayerId>,
    winner: Option<PlayerId>,
    line: Option<[u8; 3]>,
    draw: bool,
    forfeit: bool,
    over: bool,
    round: u32,
    moves: u8,
    turn_ms: u64,
}

/// `move` marks the empty cell at `row`, `col` (0–2); `restart` plays again once it is over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum Action {
    Move { row: u8, col: u8 },
    Restart,
}

/// `turn_ms`: ms per move, after which a random free cell is played; 0 (default): no clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Config {
    #[serde(default)]
    pub turn_ms: u64,
}

#[rustfmt::skip]
const LINES: [[u8; 3]; 8] = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

fn mark(seat: usize) -> Mark {
    if seat == 0 { Mark::X } else { Mark::O }
}

impl State {
    fn end(&mut self, winner: Option<PlayerId>, cx: &mut Ctx<'_, Action>) {
        (self.over, self.winner, self.turn) = (true, winner, None);
        cx.stop_clock();
    }

    /// Clear the board; a random player (from the room's RNG) starts.
    fn start(&mut self, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let mut ids: Vec<PlayerId> = cx.seats().ids().cloned().collect();
        ids.sort();
        let first = cx.rng().pick(&ids).cloned();
        let (round, turn_ms) = (self.round + 1, self.turn_ms);
        let turn = cx.give_turn(first, turn_ms);
        *self = State {
            turn,
            round,
            turn_ms,
            ..State::default()
        };
        Ok(())
    }

    fn place(&mut self, seat: &Seat, cell: usize, cx: &mut Ctx<'_, Action>) {
        self.board[cell] = Some(mark(seat.number));
        self.moves += 1;
        self.line = LINES.into_iter().find(|l| {
            let [a, b, c] = l.map(|i| self.board[usize::from(i)]);
            a.is_some() && a == b && b == c
        });
        if self.line.is_some() {
            self.end(Some(seat.id.clone()), cx);
        } else if self.board.iter().all(Option::is_some) {
            self.draw = true;
            self.end(None, cx);
        } else {
            self.turn = cx.pass_turn(seat.number, self.turn_ms);
        }
    }
}

impl Game for TicTacToe {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Two players, X and O; three in a row wins.";
        GameInfo::new("tictactoe", "Tic-tac-toe", description, 2..=2)
    }

    fn setup(&self, config: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State {
            turn_ms: config.turn_ms,
            ..State::default()
        })
    }

    fn join(&self, state: &mut State, _: &Seat, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        match cx.seats().len() {
            2 => state.start(cx),
            _ => Ok(()),
        }
    }

    /// Leaving a game in progress forfeits it to the player who stayed.
    fn leave(&self, state: &mut State, _: &Seat, cx: &mut Ctx<'_, Action>) {
        if state.turn.is_some() {
            state.forfeit = true;
            let stayed = cx.seats().ids().next().cloned();
            state.end(stayed, cx);
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let seat = cx.seat_of(by.player()?)?;
        let alone = cx.seats().len() < 2;
        let refuse = |m: String| Err(GameError::invalid_move(m));
        match action {
            Action::Move { .. } if state.over => Err(GameError::game_over()),
            Action::Restart if !state.over => Err(GameError::new(
                ErrorCode::GameInProgress,
                "a game in progress cannot be restarted",
            )),
            _ if alone => refuse("waiting for an opponent".into()),
            Action::Move { .. } if state.turn.as_ref() != Some(&seat.id) => {
                Err(GameError::not_your_turn())
            }
            Action::Move { row, col } if row > 2 || col > 2 => {
                refuse(format!("row and col must be 0, 1 or 2 (got {row}, {col})"))
            }
            Action::Move { row, col } if state.board[usize::from(row * 3 + col)].is_some() => {
                refuse("that cell is already taken".into())
            }
            Action::Move { row, col } => {
                state.place(&seat, usize::from(row * 3 + col), cx);
                Ok(())
            }
            Action::Restart => state.start(cx),
        }
    }

    fn view(&self, state: &State, seats: &Seats, _: &Viewer) -> Value {
        let mut view = serde_json::to_value(state).unwrap_or_default();
        let player = |s: &Seat| json!({ "mark": mark(s.number), "name": s.name });
        let players = seats.iter().map(|s| (s.id.to_string(), player(s)));
        view["players"] = players.collect();
        view["deadline"] = json!(seats.clock().map(|c| c.due_ms));
        view
    }

    fn status(&self, state: &State, seats: &Seats) -> Status {
        match (state.over, &state.turn) {
            (true, _) => Status::decided(state.winner.as_ref(), seats.ids()),
            (false, Some(_)) => Status::Playing,
            (false, None) => Status::Waiting,
        }
    }

    fn legal_actions(&self, state: &State, seats: &Seats, player: &PlayerId) -> Vec<Action> {
        if state.over {
            // A player left alone waits for an opponent before a restart.
            return if seats.len() == 2 {
                vec![Action::Restart]
            } else {
                Vec::new()
            };
        }
        let mine = state.turn.as_ref() == Some(player);
        let free = (0u8..9).filter(|&i| mine && state.board[usize::from(i)].is_none());
        free.map(|i| Action::Move {
            row: i / 3,
            col: i % 3,
        })
        .collect()
    }

    fn public_view(&self) -> bool {
        true
    }

    fn has_bots(&self) -> bool {
        true
    }

    fn bot_move(&self, state: &State, bot: &Seat, rng: &mut GameRng) -> Option<BotMove<Action>> {
        bot::decide(state, mark(bot.number), &bot.id, rng)
    }
}
