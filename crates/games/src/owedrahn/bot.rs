//! The Owe Drahn bot: ready at once, answer side bets by their size, roll while the total is
//! safe and owe drahn when a roll is likely to bust and a life can be spared.

use super::{Action, BUST_ABOVE, BetStatus, Phase, State};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{BotMove, GameRng};

/// Bots accept side bets up to this many main bets and decline larger ones.
const ACCEPT_UP_TO_MAIN_BETS: i64 = 2;

/// How many of the faces that add to the total (1, 2, 4, 5, 6) would bust at `total`.
pub(super) fn busting_faces(total: u8) -> usize {
    [1u8, 2, 4, 5, 6]
        .iter()
        .filter(|&&f| total + f > BUST_ABOVE)
        .count()
}

pub(super) fn decide(state: &State, me: &PlayerId, rng: &mut GameRng) -> Option<BotMove<Action>> {
    let mine = state.players.get(me)?;
    let action = match state.phase {
        Phase::Over => return None,
        Phase::Lobby => {
            let offer = state
                .side_bets
                .iter()
                .find(|(_, b)| b.status == BetStatus::Pending && b.opponent == *me);
            if let Some((&bet, b)) = offer {
                if b.amount_cents <= ACCEPT_UP_TO_MAIN_BETS * state.main_bet_cents {
                    Action::AcceptBet { bet }
                } else {
                    Action::DeclineBet { bet }
                }
            } else if !mine.ready {
                Action::Ready { ready: true }
            } else {
                return None;
            }
        }
        Phase::Playing => {
            if state.turn.as_ref() != Some(me) {
                return None;
            }
            if mine.choosing {
                // Hand the turn to the opponent with the fewest lives.
                let alive = state.alive();
                let others: Vec<&PlayerId> = alive.iter().filter(|p| *p != me).collect();
                let fewest = others
                    .iter()
                    .filter_map(|p| state.players.get(*p).map(|pl| pl.life))
                    .min();
                let weakest: Vec<PlayerId> = others
                    .into_iter()
                    .filter(|p| state.players.get(*p).map(|pl| pl.life) == fewest)
                    .cloned()
                    .collect();
                let next = rng.pick(&weakest).cloned().unwrap_or_else(|| me.clone());
                Action::ChooseNext { player: next }
            } else {
                let risky = match busting_faces(state.total) {
                    0 | 1 => false,
                    2 => mine.life >= 4,
                    _ => true,
                };
                if risky && state.may_owe_drahn(me).is_ok() {
                    Action::OweDrahn
                } else {
                    Action::Roll
                }
            }
        }
    };
    Some(BotMove {
        action,
        delay_ms: 700 + u64::from(rng.below(801)),
    })
}
