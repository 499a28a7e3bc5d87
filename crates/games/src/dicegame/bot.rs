//! The dice bot: a risk policy that beats the original's "take a 1, a 5 or a set while at most
//! three dice are aside" rule.
//!
//! On a clear table it rolls. Otherwise it considers every subset of the roll in which every
//! die scores and values it as the points banked at once when the policy banks there, else as
//! the expected turn total after one more roll with the dice left, from the exact bust odds
//! and mean score of a roll of that many dice. It selects the dice of the best subset one
//! action at a time, then sets them aside, banking or rolling on. The plan depends only on
//! the roll and the scores, so it stays the same while the selection is being made.
//!
//! The bank policy: bank whenever that wins; never bank with six dice to throw (a bust is
//! 1 in 43); otherwise bank once the turn total reaches a threshold that falls with the dice
//! left (300 for one or two, 400 for three, 700 for four, 2000 for five), doubled while an
//! opponent within a quarter of the target leads us, since then playing safe loses anyway.

use super::{Action, DICE, Phase, State, score};
use arbiter_engine::protocol::PlayerId;
use std::sync::OnceLock;

/// Bank threshold by dice left to throw (index = dice); six dice never bank.
const BANK_AT: [u32; 6] = [0, 300, 300, 400, 700, 2000];

/// For each number of dice (index), the chance that a roll busts and the mean points of a
/// roll that does not, counted over every outcome.
pub(super) fn odds() -> &'static [(f64, f64); 7] {
    static ODDS: OnceLock<[(f64, f64); 7]> = OnceLock::new();
    ODDS.get_or_init(|| {
        let mut out = [(1.0, 0.0); 7];
        for (n, slot) in out.iter_mut().enumerate().skip(1) {
            let total = 6u32.pow(n as u32);
            let (mut busts, mut sum) = (0u32, 0u64);
            let mut faces = vec![1u8; n];
            for mut k in 0..total {
                for f in faces.iter_mut() {
                    *f = (k % 6) as u8 + 1;
                    k /= 6;
                }
                match score(&faces).points {
                    0 => busts += 1,
                    p => sum += u64::from(p),
                }
            }
            *slot = (
                f64::from(busts) / f64::from(total),
                sum as f64 / f64::from(total - busts),
            );
        }
        out
    })
}

/// Whether to bank a turn total of `total` with `left` dice to throw next.
fn should_bank(total: u32, left: u8, me: u32, best_other: u32, target: u32) -> bool {
    if me + total >= target {
        return true;
    }
    if left >= DICE {
        return false;
    }
    let mut threshold = BANK_AT[usize::from(left)];
    if best_other > me + total && best_other >= target - target / 4 {
        threshold *= 2;
    }
    total >= threshold
}

/// The dice (as a bit mask over the roll) the bot keeps and whether it then banks.
pub(super) fn plan(state: &State, bot: &PlayerId) -> Option<(u32, bool)> {
    let me = state.players.get(bot)?;
    let best_other = state
        .players
        .iter()
        .filter(|(id, _)| *id != bot)
        .map(|(_, p)| p.score)
        .max()
        .unwrap_or(0);
    let n = state.dice.len();
    let mut best: Option<(f64, u32, u32, bool)> = None;
    for mask in 1u32..(1 << n) {
        let kept: Vec<u8> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| state.dice[i])
            .collect();
        let s = score(&kept);
        if !s.valid {
            continue;
        }
        let total = me.round_score + s.points;
        let left = match (n - kept.len()) as u8 {
            0 => DICE,
            l => l,
        };
        let bank = should_bank(total, left, me.score, best_other, state.config.target);
        let value = if me.score + total >= state.config.target {
            f64::MAX
        } else if bank {
            f64::from(total)
        } else {
            let (bust, mean) = odds()[usize::from(left)];
            (1.0 - bust) * (f64::from(total) + mean)
        };
        if best.is_none_or(|(v, t, _, _)| value > v || (value == v && total > t)) {
            best = Some((value, total, mask, bank));
        }
    }
    best.map(|(_, _, mask, bank)| (mask, bank))
}

/// The bot's next action, if it is its turn to act.
pub(super) fn decide(state: &State, bot: &PlayerId) -> Option<Action> {
    if state.phase != Phase::Playing || state.turn.as_ref() != Some(bot) || state.busted {
        return None;
    }
    if state.dice.is_empty() {
        return Some(Action::Roll);
    }
    let (mask, bank) = plan(state, bot)?;
    for index in 0..state.dice.len() as u8 {
        let want = mask & (1 << index) != 0;
        let has = state.selected.binary_search(&index).is_ok();
        match (want, has) {
            (true, false) => return Some(Action::Select { index }),
            (false, true) => return Some(Action::Deselect { index }),
            _ => {}
        }
    }
    Some(Action::SetAside { end_turn: bank })
}
