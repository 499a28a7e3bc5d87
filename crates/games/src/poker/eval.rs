//! Hand evaluation: the best five-card poker hand among five to seven cards, as one integer.
//!
//! No lookup tables: per-suit and per-rank bit masks and rank counts are built in one pass,
//! then each category is found with bit tricks (a straight is five consecutive set bits of
//! the rank mask, found with four shifts and ands). A [`HandValue`] is
//! `category << 20 | r1 << 16 | r2 << 12 | r3 << 8 | r4 << 4 | r5`, where `r1 …` are the
//! ranks that decide ties in order, so comparing values compares hands.

use super::cards::{Card, rank, suit};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The nine hand categories, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// No pair.
    HighCard,
    /// One pair.
    Pair,
    /// Two pairs.
    TwoPair,
    /// Three of a kind.
    Trips,
    /// Five consecutive ranks.
    Straight,
    /// Five of one suit.
    Flush,
    /// Three of a kind and a pair.
    FullHouse,
    /// Four of a kind.
    Quads,
    /// A straight in one suit (a royal flush is the ace-high one).
    StraightFlush,
}

const CATEGORIES: [Category; 9] = [
    Category::HighCard,
    Category::Pair,
    Category::TwoPair,
    Category::Trips,
    Category::Straight,
    Category::Flush,
    Category::FullHouse,
    Category::Quads,
    Category::StraightFlush,
];

/// The strength of a hand; a greater value is a better hand, equal values tie.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct HandValue(pub u32);

impl HandValue {
    fn new(category: Category, ranks: &[u8]) -> Self {
        let mut v = (category as u32) << 20;
        for (i, &r) in ranks.iter().enumerate() {
            v |= u32::from(r) << (16 - 4 * i);
        }
        Self(v)
    }

    /// The hand's category.
    pub fn category(self) -> Category {
        CATEGORIES[((self.0 >> 20) as usize).min(8)]
    }

    /// The `i`th deciding rank (`0..5`), `0` (deuce) to `12` (ace).
    fn rank_at(self, i: u32) -> u8 {
        ((self.0 >> (16 - 4 * i)) & 15) as u8
    }
}

const RANK_NAMES: [&str; 13] = [
    "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Jack", "Queen",
    "King", "Ace",
];
const RANK_PLURALS: [&str; 13] = [
    "Twos", "Threes", "Fours", "Fives", "Sixes", "Sevens", "Eights", "Nines", "Tens", "Jacks",
    "Queens", "Kings", "Aces",
];

impl fmt::Display for HandValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let one = |i| RANK_NAMES[usize::from(self.rank_at(i) % 13)];
        let many = |i| RANK_PLURALS[usize::from(self.rank_at(i) % 13)];
        match self.category() {
            Category::StraightFlush if self.rank_at(0) == 12 => write!(f, "Royal flush"),
            Category::StraightFlush => write!(f, "Straight flush, {} high", one(0)),
            Category::Quads => write!(f, "Four of a kind, {}", many(0)),
            Category::FullHouse => write!(f, "Full house, {} full of {}", many(0), many(1)),
            Category::Flush => write!(f, "Flush, {} high", one(0)),
            Category::Straight => write!(f, "Straight, {} high", one(0)),
            Category::Trips => write!(f, "Three of a kind, {}", many(0)),
            Category::TwoPair => write!(f, "Two pair, {} and {}", many(0), many(1)),
            Category::Pair => write!(f, "Pair of {}", many(0)),
            Category::HighCard => write!(f, "High card, {}", one(0)),
        }
    }
}

/// Index of the highest set bit; `mask` must not be 0.
fn top(mask: u16) -> u8 {
    (15 - mask.leading_zeros()) as u8
}

/// The `n` highest ranks of a rank mask, highest first.
fn top_n(mut mask: u16, n: usize, out: &mut [u8; 5]) -> usize {
    let mut k = 0;
    while k < n && mask != 0 {
        let r = top(mask);
        out[k] = r;
        mask &= !(1 << r);
        k += 1;
    }
    k
}

/// The high rank of the best straight in a rank mask, if any. The ace also plays low
/// (A-2-3-4-5 is five-high, rank 3).
fn straight_high(mask: u16) -> Option<u8> {
    // Bit r + 1 is rank r; bit 0 is the ace played low.
    let m = u32::from(mask) << 1 | u32::from(mask >> 12 & 1);
    let runs = m & m >> 1 & m >> 2 & m >> 3 & m >> 4;
    if runs == 0 {
        None
    } else {
        // A run starting at bit b covers bits b..b+4, whose top is rank b + 3.
        Some((31 - runs.leading_zeros()) as u8 + 3)
    }
}

/// The best five-card hand among `cards` (five to seven distinct cards; fewer are ranked
/// as if the missing cards were absent).
pub fn evaluate(cards: &[Card]) -> HandValue {
    let mut by_suit = [0u16; 4];
    let mut counts = [0u8; 13];
    for &c in cards {
        by_suit[usize::from(suit(c))] |= 1 << rank(c);
        counts[usize::from(rank(c) % 13)] += 1;
    }
    let mut out = [0u8; 5];
    // With at most seven cards a flush excludes quads and full houses, so it can be settled
    // first.
    for s in by_suit {
        if s.count_ones() >= 5 {
            if let Some(hi) = straight_high(s) {
                return HandValue::new(Category::StraightFlush, &[hi]);
            }
            top_n(s, 5, &mut out);
            return HandValue::new(Category::Flush, &out);
        }
    }
    let (mut all, mut pairs, mut trips, mut quads) = (0u16, 0u16, 0u16, 0u16);
    for (r, &n) in counts.iter().enumerate() {
        let bit = 1u16 << r;
        match n {
            0 => continue,
            1 => {}
            2 => pairs |= bit,
            3 => trips |= bit,
            _ => quads |= bit,
        }
        all |= bit;
    }
    if quads != 0 {
        let q = top(quads);
        let kicker = top(all & !(1 << q));
        return HandValue::new(Category::Quads, &[q, kicker]);
    }
    if trips != 0 {
        let t = top(trips);
        let rest = (trips & !(1 << t)) | pairs;
        if rest != 0 {
            return HandValue::new(Category::FullHouse, &[t, top(rest)]);
        }
    }
    if let Some(hi) = straight_high(all) {
        return HandValue::new(Category::Straight, &[hi]);
    }
    if trips != 0 {
        let t = top(trips);
        out[0] = t;
        let mut k = [0u8; 5];
        top_n(all & !(1 << t), 2, &mut k);
        out[1..3].copy_from_slice(&k[..2]);
        return HandValue::new(Category::Trips, &out[..3]);
    }
    if pairs.count_ones() >= 2 {
        let p1 = top(pairs);
        let p2 = top(pairs & !(1 << p1));
        let kicker = top(all & !(1 << p1) & !(1 << p2));
        return HandValue::new(Category::TwoPair, &[p1, p2, kicker]);
    }
    if pairs != 0 {
        let p = top(pairs);
        out[0] = p;
        let mut k = [0u8; 5];
        top_n(all & !(1 << p), 3, &mut k);
        out[1..4].copy_from_slice(&k[..3]);
        return HandValue::new(Category::Pair, &out[..4]);
    }
    let n = top_n(all, 5, &mut out);
    HandValue::new(Category::HighCard, &out[..n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poker::cards::parse_card;
    use arbiter_engine::GameRng;
    use std::collections::HashSet;

    fn hand(s: &str) -> Vec<Card> {
        s.split_whitespace()
            .map(|c| parse_card(c).expect("card"))
            .collect()
    }

    fn value(s: &str) -> HandValue {
        evaluate(&hand(s))
    }

    /// An independent, deliberately naive five-card ranking: sort ranks by (count, rank).
    fn naive5(cards: &[Card]) -> (u8, Vec<u8>) {
        let mut counts = [0u8; 13];
        for &c in cards {
            counts[usize::from(rank(c))] += 1;
        }
        let mut groups: Vec<(u8, u8)> = (0..13u8)
            .filter(|&r| counts[usize::from(r)] > 0)
            .map(|r| (counts[usize::from(r)], r))
            .collect();
        groups.sort_unstable_by(|a, b| b.cmp(a));
        let ranks: Vec<u8> = groups.iter().map(|g| g.1).collect();
        let flush = cards.iter().all(|&c| suit(c) == suit(cards[0]));
        let straight_top = if groups.len() == 5 {
            if ranks[0] - ranks[4] == 4 {
                Some(ranks[0])
            } else if ranks == [12, 3, 2, 1, 0] {
                Some(3)
            } else {
                None
            }
        } else {
            None
        };
        let shape: Vec<u8> = groups.iter().map(|g| g.0).collect();
        match (straight_top, flush, shape.as_slice()) {
            (Some(t), true, _) => (8, vec![t]),
            (_, _, [4, 1]) => (7, ranks),
            (_, _, [3, 2]) => (6, ranks),
            (None, true, _) => (5, ranks),
            (Some(t), false, _) => (4, vec![t]),
            (_, _, [3, 1, 1]) => (3, ranks),
            (_, _, [2, 2, 1]) => (2, ranks),
            (_, _, [2, 1, 1, 1]) => (1, ranks),
            _ => (0, ranks),
        }
    }

    fn best_of_21(cards: &[Card]) -> HandValue {
        let mut best = HandValue(0);
        for a in 0..7 {
            for b in a + 1..7 {
                let five: Vec<Card> = (0..7)
                    .filter(|&i| i != a && i != b)
                    .map(|i| cards[i])
                    .collect();
                best = best.max(evaluate(&five));
            }
        }
        best
    }

    #[test]
    fn all_five_card_hands_fall_into_the_standard_categories() {
        let mut counts = [0u32; 9];
        let mut distinct = HashSet::new();
        let mut royals = 0;
        for a in 0..52u8 {
            for b in a + 1..52 {
                for c in b + 1..52 {
                    for d in c + 1..52 {
                        for e in d + 1..52 {
                            let v = evaluate(&[a, b, c, d, e]);
                            counts[v.category() as usize] += 1;
                            distinct.insert(v);
                            if v.category() == Category::StraightFlush && v.rank_at(0) == 12 {
                                royals += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(
            counts,
            [
                1_302_540, 1_098_240, 123_552, 54_912, 10_200, 5_108, 3_744, 624, 40
            ]
        );
        assert_eq!(royals, 4);
        assert_eq!(counts.iter().sum::<u32>(), 2_598_960);
        // 7,462 distinct five-card hand strengths exist; fewer would mean lost kickers.
        assert_eq!(distinct.len(), 7_462);
    }

    #[test]
    fn five_card_values_agree_with_a_naive_ranking() {
        let mut rng = GameRng::from_seed(11);
        let mut deck: Vec<Card> = (0..52).collect();
        let mut hands = Vec::new();
        for _ in 0..3_000 {
            rng.shuffle(&mut deck);
            hands.push(deck[..5].to_vec());
        }
        for h in &hands {
            let v = evaluate(h);
            let (cat, ranks) = naive5(h);
            assert_eq!(v.category() as u8, cat, "{h:?}");
            let got: Vec<u8> = (0..ranks.len() as u32).map(|i| v.rank_at(i)).collect();
            assert_eq!(got, ranks, "{h:?}");
        }
        // Pairwise order agrees too (on a sample of pairs).
        for w in hands.windows(2) {
            let (a, b) = (naive5(&w[0]), naive5(&w[1]));
            assert_eq!(evaluate(&w[0]).cmp(&evaluate(&w[1])), a.cmp(&b));
        }
    }

    #[test]
    fn seven_card_values_equal_the_best_of_21_five_card_hands() {
        let mut rng = GameRng::from_seed(5);
        let mut deck: Vec<Card> = (0..52).collect();
        let mut seen = [0u32; 9];
        for _ in 0..20_000 {
            rng.shuffle(&mut deck);
            let seven = &deck[..7];
            let v = evaluate(seven);
            assert_eq!(v, best_of_21(seven), "{seven:?}");
            seen[v.category() as usize] += 1;
        }
        // The sample reaches every category but the rarest.
        assert!(seen[..8].iter().all(|&n| n > 0), "{seen:?}");
        // Seven-card edge cases the random sample may miss.
        for s in [
            "As Ks Qs Js Ts 9s 8s",
            "Ah Ad Ac As Kd Kc Kh",
            "Ah Ad Ac Kd Kc Qh Qd",
            "2h 3h 4h 5h Ah Kd Kc",
            "2h 3d 4c 5s Ah 6d 7c",
            "9h 9d 9c 8s 8h 7d 7c",
            "Ah Kh Qh Jh 9h 8h 2c",
        ] {
            let h = hand(s);
            assert_eq!(evaluate(&h), best_of_21(&h), "{s}");
        }
    }

    #[test]
    fn categories_kickers_and_ties() {
        let table: &[(&str, &str, std::cmp::Ordering)] = &[
            (
                "As Ks Qs Js Ts",
                "9h 9d 9c 9s Ah",
                std::cmp::Ordering::Greater,
            ),
            (
                "5s 4s 3s 2s As",
                "Ah Kh Qh Jh 9h",
                std::cmp::Ordering::Greater,
            ),
            ("5s 4d 3s 2s Ac", "6s 5d 4s 3s 2c", std::cmp::Ordering::Less),
            ("Ah Ad Kc Ks 2d", "Ah Ad Kc Ks 3d", std::cmp::Ordering::Less),
            (
                "Ah Ad 7c 5s 2d",
                "Ac As 7d 5h 2c",
                std::cmp::Ordering::Equal,
            ),
            (
                "Kh Kd Kc 2s 2d",
                "Qh Qd Qc As Ad",
                std::cmp::Ordering::Greater,
            ),
            (
                "Ah Kh 9h 5h 3h",
                "Ad Kd 9d 5d 2d",
                std::cmp::Ordering::Greater,
            ),
            (
                "Ah Kd 9c 5s 3h",
                "Ad Kc 9d 5h 3c",
                std::cmp::Ordering::Equal,
            ),
            (
                "Th Td 4c 4s 9h",
                "Th Td 4c 4s 8h",
                std::cmp::Ordering::Greater,
            ),
            (
                "7h 7d 7c Ks 2h",
                "7h 7d 7c Qs Jh",
                std::cmp::Ordering::Greater,
            ),
        ];
        for (a, b, want) in table {
            assert_eq!(value(a).cmp(&value(b)), *want, "{a} vs {b}");
        }
        assert_eq!(value("As Ks Qs Js Ts").to_string(), "Royal flush");
        assert_eq!(
            value("5s 4s 3s 2s As").to_string(),
            "Straight flush, Five high"
        );
        assert_eq!(
            value("Kh Kd Kc 2s 2d 2c 9h").to_string(),
            "Full house, Kings full of Twos"
        );
        assert_eq!(
            value("Ah Ad 8c 8s 4d 4c 9h").to_string(),
            "Two pair, Aces and Eights"
        );
        assert_eq!(value("Ah Kd 8c 7s 2d").to_string(), "High card, Ace");
    }

    /// Run with `cargo test --release -p arbiter-games poker::eval::tests::speed -- --ignored
    /// --nocapture` to print seven-card evaluations per second.
    #[test]
    #[ignore]
    fn speed() {
        let mut rng = GameRng::from_seed(1);
        let mut deck: Vec<Card> = (0..52).collect();
        let mut hands = Vec::with_capacity(1 << 16);
        for _ in 0..(1 << 16) {
            rng.shuffle(&mut deck);
            let mut h = [0u8; 7];
            h.copy_from_slice(&deck[..7]);
            hands.push(h);
        }
        let rounds = 200;
        let start = std::time::Instant::now();
        let mut acc = 0u64;
        for _ in 0..rounds {
            for h in &hands {
                acc = acc.wrapping_add(u64::from(evaluate(std::hint::black_box(h)).0));
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let n = (rounds * hands.len()) as f64;
        println!(
            "{:.1} million 7-card evaluations per second (checksum {acc})",
            n / secs / 1e6
        );
    }
}
