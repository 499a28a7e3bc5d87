//! The bots' strategy: pre-flop by the Chen formula, after the flop by Monte Carlo equity
//! against the live opponents, with pot-sized bets, pot-odds calls and the occasional bluff.
//! Every action is picked from the legal ones, so a bot never proposes an illegal move.

use super::cards::{Card, rank, suit};
use super::eval::evaluate;
use super::table::{Hand, Legal};
use super::{Action, State};
use arbiter_engine::GameRng;
use arbiter_engine::protocol::PlayerId;

/// Simulated deals per post-flop decision.
const TRIALS: u32 = 300;

/// What the bot does now, if anything.
pub(crate) fn decide(state: &State, bot: &PlayerId, rng: &mut GameRng) -> Option<Action> {
    let p = state.players.get(bot)?;
    if let Some(h) = state.live_hand()
        && let Some(i) = h.index_of_player(bot)
    {
        let legal = h.legal(i)?;
        return Some(play(state, h, i, &legal, rng));
    }
    if p.left.is_some() {
        return None;
    }
    if p.stack == 0 {
        return Some(Action::Rebuy {
            amount: state.config.buy_in,
        });
    }
    p.sitting_out.then_some(Action::SitIn {})
}

/// A uniform number in `[0, 1)`.
fn chance(rng: &mut GameRng) -> f64 {
    f64::from(rng.below(1_000_000)) / 1_000_000.0
}

/// The Chen formula: a quick pre-flop score, from −1 (7-2 offsuit) to 20 (aces).
fn chen(a: Card, b: Card) -> f64 {
    let (hi, lo) = (rank(a).max(rank(b)), rank(a).min(rank(b)));
    let base = match hi {
        12 => 10.0,
        11 => 8.0,
        10 => 7.0,
        9 => 6.0,
        r => (f64::from(r) + 2.0) / 2.0,
    };
    if hi == lo {
        return (base * 2.0f64).max(5.0);
    }
    let mut s = base;
    if suit(a) == suit(b) {
        s += 2.0;
    }
    let gap = hi - lo - 1;
    s -= match gap {
        0 => 0.0,
        1 => 1.0,
        2 => 2.0,
        3 => 4.0,
        _ => 5.0,
    };
    if gap <= 1 && hi < 10 {
        s += 1.0;
    }
    s.ceil()
}

/// The bot's share of the pot if the hand were played out against `opponents` random
/// hands: wins count 1, ties 1 / (players tied).
fn equity(hole: [Card; 2], board: &[Card], opponents: usize, rng: &mut GameRng) -> f64 {
    let mut unseen: Vec<Card> = (0..52u8)
        .filter(|c| !hole.contains(c) && !board.contains(c))
        .collect();
    let opponents = opponents.clamp(1, 6);
    let missing = 5 - board.len().min(5);
    let need = missing + 2 * opponents;
    let mut share = 0.0;
    let mut seven = [0u8; 7];
    for _ in 0..TRIALS {
        for k in 0..need {
            let j = k + rng.below((unseen.len() - k) as u32) as usize;
            unseen.swap(k, j);
        }
        let full: Vec<Card> = board
            .iter()
            .copied()
            .chain(unseen[..missing].iter().copied())
            .collect();
        seven[..5].copy_from_slice(&full);
        seven[5..].copy_from_slice(&hole);
        let mine = evaluate(&seven);
        let mut tied = 1.0;
        let mut lost = false;
        for o in 0..opponents {
            let at = missing + 2 * o;
            seven[5] = unseen[at];
            seven[6] = unseen[at + 1];
            let theirs = evaluate(&seven);
            if theirs > mine {
                lost = true;
                break;
            }
            if theirs == mine {
                tied += 1.0;
            }
        }
        if !lost {
            share += 1.0 / tied;
        }
    }
    share / f64::from(TRIALS)
}

/// Bet or raise to about `to`, within the legal range; all-in when that is the top of the
/// range. Falls back to calling (or checking) when no bet or raise is allowed.
fn aggress(legal: &Legal, to: u64) -> Action {
    let range = legal.bet.or(legal.raise);
    match range {
        Some(r) => {
            let to = to.clamp(r.min, r.max);
            if to == r.max {
                Action::AllIn {}
            } else if legal.bet.is_some() {
                Action::Bet { amount: to }
            } else {
                Action::Raise { amount: to }
            }
        }
        None => passive(legal),
    }
}

/// Call if there is something to call, else check.
fn passive(legal: &Legal) -> Action {
    if legal.check {
        Action::Check {}
    } else if legal.call.is_some() {
        Action::Call {}
    } else {
        Action::Fold {}
    }
}

/// Check if free, else fold.
fn give_up(legal: &Legal) -> Action {
    if legal.check {
        Action::Check {}
    } else {
        Action::Fold {}
    }
}

fn play(state: &State, h: &Hand, i: usize, legal: &Legal, rng: &mut GameRng) -> Action {
    let me = &h.seats[i];
    let bb = state.config.big_blind.max(1);
    let pot = h.pot();
    let to_call = legal.call.unwrap_or(0);
    let opponents = h
        .seats
        .iter()
        .enumerate()
        .filter(|(j, s)| *j != i && !s.folded)
        .count();
    if h.board.is_empty() {
        return preflop(h, me.hole, me.stack + me.bet, legal, bb, to_call, rng);
    }
    let e = equity(me.hole, &h.board, opponents, rng);
    let r = chance(rng);
    let frac = |f: f64| (pot as f64 * f) as u64;
    if to_call == 0 {
        return if e > 0.75 && r < 0.85 {
            aggress(legal, frac(0.75))
        } else if (e > 0.55 && r < 0.6) || (e < 0.3 && opponents == 1 && r < 0.1) {
            // Value with a decent hand, or now and then a bluff heads-up.
            aggress(legal, frac(0.5))
        } else {
            Action::Check {}
        };
    }
    let odds = to_call as f64 / (pot + to_call) as f64;
    if e > 0.85 && r < 0.7 {
        aggress(legal, h.current_bet * 2 + frac(0.5))
    } else if e > 0.65 && r < 0.25 {
        aggress(legal, h.current_bet * 2 + h.min_raise)
    } else if e >= odds + 0.05 {
        passive(legal)
    } else {
        give_up(legal)
    }
}

fn preflop(
    h: &Hand,
    hole: [Card; 2],
    chips: u64,
    legal: &Legal,
    bb: u64,
    to_call: u64,
    rng: &mut GameRng,
) -> Action {
    let score = chen(hole[0], hole[1]);
    let unopened = h.current_bet <= bb;
    let short = chips <= 12 * bb;
    let r = chance(rng);
    if score >= 12.0 {
        return if short || to_call * 4 > chips {
            aggress(legal, u64::MAX)
        } else if unopened {
            aggress(legal, 3 * bb)
        } else {
            aggress(legal, 3 * h.current_bet)
        };
    }
    if score >= 9.0 {
        return if short && score >= 10.0 {
            aggress(legal, u64::MAX)
        } else if unopened {
            aggress(legal, 3 * bb)
        } else if to_call * 5 <= chips || (score >= 10.0 && to_call * 3 <= chips) {
            passive(legal)
        } else {
            give_up(legal)
        };
    }
    if score >= 7.0 {
        return if unopened && r < 0.6 {
            aggress(legal, 5 * bb / 2)
        } else if to_call <= 3 * bb {
            passive(legal)
        } else {
            give_up(legal)
        };
    }
    if score >= 5.0 {
        return if to_call <= bb {
            passive(legal)
        } else {
            give_up(legal)
        };
    }
    if unopened && r < 0.04 {
        return aggress(legal, 3 * bb);
    }
    give_up(legal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poker::cards::parse_card;

    fn c(s: &str) -> Card {
        parse_card(s).expect("card")
    }

    #[test]
    fn chen_scores_known_hands() {
        assert_eq!(chen(c("As"), c("Ad")), 20.0);
        assert_eq!(chen(c("As"), c("Ks")), 12.0);
        assert_eq!(chen(c("Ah"), c("Ks")), 10.0);
        assert_eq!(chen(c("Jh"), c("Th")), 9.0);
        assert_eq!(chen(c("2h"), c("2s")), 5.0);
        assert_eq!(chen(c("7h"), c("2s")), -1.0);
    }

    #[test]
    fn equity_tracks_hand_strength() {
        let mut rng = GameRng::from_seed(3);
        let board = [c("Ah"), c("Ad"), c("7c")];
        let quads = equity([c("As"), c("Ac")], &board, 1, &mut rng);
        let air = equity([c("2s"), c("3d")], &board, 1, &mut rng);
        assert!(quads > 0.97, "{quads}");
        assert!(air < 0.35, "{air}");
        let vs_many = equity([c("Ks"), c("Kc")], &board, 5, &mut rng);
        let vs_one = equity([c("Ks"), c("Kc")], &board, 1, &mut rng);
        assert!(vs_many < vs_one);
    }
}
