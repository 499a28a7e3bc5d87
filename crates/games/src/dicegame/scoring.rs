//! The scoring table, shared by the rules (bust detection, set-aside checks) and the bot.

use serde::{Deserialize, Serialize};

/// Points a set of dice is worth, and whether every die in it scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// Points of every scoring combination found.
    pub points: u32,
    /// True when the set is not empty and every die belongs to a scoring combination; only
    /// such a set may be set aside.
    pub valid: bool,
}

/// Score a set of dice (faces 1–6, in any order). A face outside 1–6 never scores.
///
/// At most one run counts, checked first: 1-2-3-4-5-6 = 1500, else 1-2-3-4-5 = 500, else
/// 2-3-4-5-6 = 750; one die of each face of the run is used. Then each face present three or
/// more times scores as a set: three 1s = 1000, three of another face = 100 × face, doubled
/// for every die beyond three. Then each remaining 1 = 100 and each remaining 5 = 50.
///
/// With at most six dice taking the run first is always best: a run uses five or six
/// distinct faces, which leaves no room for a set of three.
pub fn score(dice: &[u8]) -> Score {
    let mut counts = [0u32; 7];
    for &d in dice {
        if (1..=6).contains(&d) {
            counts[usize::from(d)] += 1;
        }
    }
    let mut points = 0;
    let mut used = 0;
    let has = |counts: &[u32; 7], lo: usize, hi: usize| (lo..=hi).all(|f| counts[f] > 0);
    let run = if has(&counts, 1, 6) {
        Some((1, 6, 1500))
    } else if has(&counts, 1, 5) {
        Some((1, 5, 500))
    } else if has(&counts, 2, 6) {
        Some((2, 6, 750))
    } else {
        None
    };
    if let Some((lo, hi, run_points)) = run {
        points += run_points;
        for count in &mut counts[lo..=hi] {
            *count -= 1;
            used += 1;
        }
    }
    for (face, count) in counts.iter_mut().enumerate().skip(1) {
        if *count >= 3 {
            let base = if face == 1 { 1000 } else { 100 * face as u32 };
            points += base << (*count - 3);
            used += *count;
            *count = 0;
        }
    }
    points += counts[1] * 100 + counts[5] * 50;
    used += counts[1] + counts[5];
    Score {
        points,
        valid: !dice.is_empty() && used as usize == dice.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule and combination of the table: (name, dice, points, valid).
    const TABLE: [(&str, &[u8], u32, bool); 42] = [
        ("nothing selected", &[], 0, false),
        ("a lone 1", &[1], 100, true),
        ("a lone 5", &[5], 50, true),
        ("a lone 2 scores nothing", &[2], 0, false),
        ("a lone 3 scores nothing", &[3], 0, false),
        ("a lone 4 scores nothing", &[4], 0, false),
        ("a lone 6 scores nothing", &[6], 0, false),
        ("two 1s", &[1, 1], 200, true),
        ("two 5s", &[5, 5], 100, true),
        ("a 1 and a 5", &[5, 1], 150, true),
        ("three 1s", &[1, 1, 1], 1000, true),
        ("three 2s", &[2, 2, 2], 200, true),
        ("three 3s", &[3, 3, 3], 300, true),
        ("three 4s", &[4, 4, 4], 400, true),
        ("three 5s", &[5, 5, 5], 500, true),
        ("three 6s", &[6, 6, 6], 600, true),
        ("four 1s double three", &[1, 1, 1, 1], 2000, true),
        ("four 2s", &[2, 2, 2, 2], 400, true),
        ("five 2s double twice", &[2, 2, 2, 2, 2], 800, true),
        ("four 5s", &[5, 5, 5, 5], 1000, true),
        ("five 6s", &[6, 6, 6, 6, 6], 2400, true),
        ("six 1s", &[1, 1, 1, 1, 1, 1], 8000, true),
        ("six 3s", &[3, 3, 3, 3, 3, 3], 2400, true),
        ("six 5s", &[5, 5, 5, 5, 5, 5], 4000, true),
        ("run 1-5", &[1, 2, 3, 4, 5], 500, true),
        ("run 2-6", &[2, 3, 4, 5, 6], 750, true),
        ("run 1-6", &[1, 2, 3, 4, 5, 6], 1500, true),
        ("run 1-6 in any order", &[6, 4, 2, 1, 3, 5], 1500, true),
        ("run 1-5 plus a 1", &[1, 2, 3, 4, 5, 1], 600, true),
        ("run 1-5 plus a 5", &[5, 1, 2, 3, 4, 5], 550, true),
        ("run 1-5 plus a dead 3", &[1, 2, 3, 4, 5, 3], 500, false),
        ("run 2-6 plus a 5", &[5, 2, 3, 4, 5, 6], 800, true),
        ("run 2-6 plus a dead 6", &[2, 3, 4, 5, 6, 6], 750, false),
        ("partial run 1-4 keeps the 1", &[1, 2, 3, 4], 100, false),
        ("partial run 2-5 keeps the 5", &[2, 3, 4, 5], 50, false),
        ("three 1s and a 5", &[1, 5, 1, 1], 1050, true),
        ("three 2s and a 1", &[2, 2, 1, 2], 300, true),
        ("three 1s and three 2s", &[1, 1, 1, 2, 2, 2], 1200, true),
        ("four 4s and two 5s", &[4, 5, 4, 4, 5, 4], 900, true),
        ("two 1s and a dead 3", &[1, 1, 3], 200, false),
        ("pairs only score nothing", &[2, 2, 3, 3, 4, 6], 0, false),
        ("a face outside 1-6 never scores", &[1, 7], 100, false),
    ];

    #[test]
    fn the_scoring_table() {
        for (name, dice, points, valid) in TABLE {
            assert_eq!(
                score(dice),
                Score { points, valid },
                "{name}: {dice:?} should be {points} ({valid})"
            );
        }
        let mut names: Vec<&str> = TABLE.iter().map(|c| c.0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len(), "every case is distinct");
    }

    #[test]
    fn order_never_matters() {
        for (_, dice, points, valid) in TABLE {
            let mut rev = dice.to_vec();
            rev.reverse();
            assert_eq!(score(&rev), Score { points, valid });
        }
    }
}
