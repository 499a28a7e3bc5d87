//! The tic-tac-toe bot: perfect play by negamax, a random choice among equally good moves.

use super::{LINES, Mark, Move, State, at};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{BotMove, GameRng};

/// Among the moves with the best minimax outcome, a random one. Bots never restart a
/// finished game; a human decides when to play again.
pub(super) fn decide(
    state: &State,
    mark: Mark,
    bot: &PlayerId,
    rng: &mut GameRng,
) -> Option<BotMove<Move>> {
    if state.turns.over || !state.turns.is_turn(bot) {
        return None;
    }
    let mut board = state.game.board;
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
        action: at(cell),
        delay_ms: 350 + u64::from(rng.below(400)),
    })
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
