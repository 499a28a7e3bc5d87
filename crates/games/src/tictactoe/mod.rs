//! Tic-tac-toe (docs/games/tictactoe.md): seat 0 plays X, seat 1 plays O, three in a row
//! wins. Everything is public, so this is a [`TurnGame`]: the engine keeps the seats, whose
//! turn it is, the result, restarts, forfeits and the move clock; the game keeps the board.
mod bot;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

use arbiter_engine::{BotMove, GameError, GameInfo, GameRng, Next, Round, Seat, TurnGame};
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

/// The cells row by row, the line that won and the moves made this round.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Board {
    board: [Option<Mark>; 9],
    line: Option<[u8; 3]>,
    moves: u8,
}

/// `move` marks the empty cell at `row`, `col` (0–2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum Move {
    Move { row: u8, col: u8 },
}

/// A room's state: the board beside the engine's turns.
pub type State = Round<Board>;
/// A move, or `restart` once a round is over.
pub type Action = arbiter_engine::TurnAction<Move>;

#[rustfmt::skip]
const LINES: [[u8; 3]; 8] = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

fn mark(seat: usize) -> Mark {
    if seat == 0 { Mark::X } else { Mark::O }
}

/// The move that marks `cell` (0–8, row by row).
fn at(cell: u8) -> Move {
    let (row, col) = (cell / 3, cell % 3);
    Move::Move { row, col }
}

impl TurnGame for TicTacToe {
    type Board = Board;
    type Move = Move;

    fn info(&self) -> GameInfo {
        let description = "Two players, X and O; three in a row wins.";
        GameInfo::new("tictactoe", "Tic-tac-toe", description, 2..=2)
    }

    /// Three in a row wins; a full board is a draw.
    fn play(&self, b: &mut Board, seat: &Seat, mv: Move) -> Result<Next, GameError> {
        let Move::Move { row, col } = mv;
        if row > 2 || col > 2 {
            let range = format!("row and col must be 0, 1 or 2 (got {row}, {col})");
            return Err(GameError::invalid_move(range));
        }
        let cell = row * 3 + col;
        if b.board[usize::from(cell)].is_some() {
            return Err(GameError::invalid_move("that cell is already taken"));
        }
        let me = Some(mark(seat.number));
        b.board[usize::from(cell)] = me;
        b.moves += 1;
        let three = |l: &[u8; 3]| l.iter().all(|&i| b.board[usize::from(i)] == me);
        b.line = LINES.into_iter().find(|l| l.contains(&cell) && three(l));
        Ok(match (b.line, b.moves) {
            (Some(_), _) => Next::Win,
            (None, 9) => Next::Draw,
            _ => Next::Pass,
        })
    }

    fn moves(&self, b: &Board, _: &Seat) -> Vec<Move> {
        let free = (0u8..9).filter(|&i| b.board[usize::from(i)].is_none());
        free.map(at).collect()
    }

    fn player(&self, seat: &Seat) -> Value {
        json!({ "mark": mark(seat.number), "name": seat.name })
    }

    fn bot(&self, round: &State, bot: &Seat, rng: &mut GameRng) -> Option<BotMove<Move>> {
        bot::decide(round, mark(bot.number), &bot.id, rng)
    }
}
