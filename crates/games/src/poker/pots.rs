//! Main and side pots from what each player put in, and paying them out.

use super::eval::HandValue;
use super::history::PotRecord;
use arbiter_engine::protocol::PlayerId;
use std::collections::BTreeMap;

/// What one player put into the hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contribution {
    pub(crate) player: PlayerId,
    /// Chips put in over the whole hand (antes, blinds, bets).
    pub(crate) total: u64,
    /// Still in the hand (not folded).
    pub(crate) live: bool,
    /// No chips behind: cannot put in more this hand.
    pub(crate) all_in: bool,
}

/// A pot and the live players who can win it, in the order the contributions were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pot {
    pub(crate) amount: u64,
    pub(crate) eligible: Vec<PlayerId>,
}

/// Split the chips into a main pot and side pots. Levels are the totals of live players who
/// are all in, and the highest total of the live players who are not (they can still match
/// any bet, so a difference among them — blinds before the others acted — is no side pot).
/// The pot of a level holds what everyone (folded players too) put in between the previous
/// level and it, and is open to the live players who reached it or can still put in more.
/// Chips of folded players above the highest level go to the last pot: folding (leaving
/// included) forfeits every chip put in, and the uncalled-bet return only gives chips back
/// to live players. When no live player has put anything in (the blinds left before the
/// button acted), those chips make one pot open to every live player. At showdown the live players who are not all in have equal totals, so
/// every live total is a level. `entries` should be clockwise from the button: eligibility
/// keeps that order, which is the order odd chips are handed out in.
pub(crate) fn build_pots(entries: &[Contribution]) -> Vec<Pot> {
    let top = entries
        .iter()
        .filter(|e| e.live && !e.all_in)
        .map(|e| e.total)
        .max();
    let mut levels: Vec<u64> = entries
        .iter()
        .filter(|e| e.live && e.all_in)
        .map(|e| e.total)
        .chain(top)
        .filter(|&t| t > 0)
        .collect();
    levels.sort_unstable();
    levels.dedup();
    let mut pots: Vec<Pot> = Vec::new();
    let mut prev = 0;
    for &level in &levels {
        let amount: u64 = entries
            .iter()
            .map(|e| e.total.min(level) - e.total.min(prev))
            .sum();
        let eligible: Vec<PlayerId> = entries
            .iter()
            .filter(|e| e.live && (e.total >= level || !e.all_in))
            .map(|e| e.player.clone())
            .collect();
        // Two levels with the same eligible players are one pot.
        match pots.last_mut() {
            Some(last) if last.eligible == eligible => last.amount += amount,
            _ => pots.push(Pot { amount, eligible }),
        }
        prev = level;
    }
    let above: u64 = entries.iter().map(|e| e.total - e.total.min(prev)).sum();
    if above > 0 {
        match pots.last_mut() {
            Some(last) => last.amount += above,
            None => pots.push(Pot {
                amount: above,
                eligible: entries
                    .iter()
                    .filter(|e| e.live)
                    .map(|e| e.player.clone())
                    .collect(),
            }),
        }
    }
    pots
}

/// Pay each pot to the best hands among its eligible players. A pot with one eligible player
/// goes to them without a comparison (`values` may lack them). Equal hands split the pot;
/// the odd chips go one each to the tied winners in eligibility order, that is starting from
/// the first winner left of the button.
pub(crate) fn award(pots: &[Pot], values: &BTreeMap<PlayerId, HandValue>) -> Vec<PotRecord> {
    pots.iter()
        .map(|pot| {
            let winners: Vec<&PlayerId> = if pot.eligible.len() == 1 {
                pot.eligible.iter().collect()
            } else {
                let best = pot
                    .eligible
                    .iter()
                    .filter_map(|p| values.get(p))
                    .max()
                    .copied();
                pot.eligible
                    .iter()
                    .filter(|p| best.is_some() && values.get(*p).copied() == best)
                    .collect()
            };
            let n = winners.len() as u64;
            let shares = match (pot.amount.checked_div(n), pot.amount.checked_rem(n)) {
                (Some(each), Some(odd)) => winners
                    .iter()
                    .enumerate()
                    .map(|(i, p)| ((*p).clone(), each + u64::from((i as u64) < odd)))
                    .collect(),
                _ => Vec::new(),
            };
            PotRecord {
                amount: pot.amount,
                eligible: pot.eligible.clone(),
                winners: shares,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A player's settled total at showdown (whether chips are behind no longer matters).
    fn c(p: &str, total: u64, live: bool) -> Contribution {
        Contribution {
            player: p.into(),
            total,
            live,
            all_in: true,
        }
    }

    /// A live player in the middle of a betting round who still has chips behind.
    fn open(p: &str, total: u64) -> Contribution {
        Contribution {
            player: p.into(),
            total,
            live: true,
            all_in: false,
        }
    }

    #[test]
    fn only_all_ins_make_side_pots_while_betting_goes_on() {
        // Pre-flop: the blinds are in, the others have not acted. One pot, open to everyone
        // still in (a player who has put in less can still call).
        let blinds = [
            open("btn", 0),
            open("sb", 1),
            open("bb", 2),
            c("utg", 0, false),
        ];
        assert_eq!(
            build_pots(&blinds),
            vec![Pot {
                amount: 3,
                eligible: ids(&["btn", "sb", "bb"]),
            }]
        );
        // A short all-in, a bigger bet, a player yet to act: the all-in caps the main pot.
        let short = [c("a", 50, true), open("b", 100), open("c", 0)];
        assert_eq!(
            build_pots(&short),
            vec![
                Pot {
                    amount: 100,
                    eligible: ids(&["a", "b", "c"]),
                },
                Pot {
                    amount: 50,
                    eligible: ids(&["b", "c"]),
                },
            ]
        );
    }

    #[test]
    fn blinds_of_players_who_left_go_to_the_live_player_who_put_in_nothing() {
        let left = [open("btn", 0), c("sb", 5, false), c("bb", 10, false)];
        assert_eq!(
            build_pots(&left),
            vec![Pot {
                amount: 15,
                eligible: ids(&["btn"]),
            }]
        );
    }

    fn ids(s: &[&str]) -> Vec<PlayerId> {
        s.iter().map(|&p| p.into()).collect()
    }

    #[test]
    fn side_pots_for_several_all_ins() {
        struct Case {
            name: &'static str,
            entries: Vec<Contribution>,
            pots: Vec<(u64, Vec<&'static str>)>,
        }
        let cases = vec![
            Case {
                name: "three all-ins of different sizes and a caller",
                entries: vec![
                    c("a", 100, true),
                    c("b", 250, true),
                    c("c", 600, true),
                    c("d", 600, true),
                ],
                pots: vec![
                    (400, vec!["a", "b", "c", "d"]),
                    (450, vec!["b", "c", "d"]),
                    (700, vec!["c", "d"]),
                ],
            },
            Case {
                name: "four all-ins, each smaller than the next",
                entries: vec![
                    c("a", 50, true),
                    c("b", 120, true),
                    c("c", 300, true),
                    c("d", 1000, true),
                    c("e", 1000, true),
                ],
                pots: vec![
                    (250, vec!["a", "b", "c", "d", "e"]),
                    (280, vec!["b", "c", "d", "e"]),
                    (540, vec!["c", "d", "e"]),
                    (1400, vec!["d", "e"]),
                ],
            },
            Case {
                name: "folded chips count but folded players cannot win",
                entries: vec![
                    c("a", 80, true),
                    c("b", 200, false),
                    c("c", 300, true),
                    c("d", 300, true),
                ],
                pots: vec![(320, vec!["a", "c", "d"]), (560, vec!["c", "d"])],
            },
            Case {
                name: "equal all-ins make one pot",
                entries: vec![c("a", 500, true), c("b", 500, true), c("c", 20, false)],
                pots: vec![(1020, vec!["a", "b"])],
            },
            Case {
                name: "an all-in for less than the blinds",
                entries: vec![c("a", 3, true), c("b", 10, true), c("c", 10, true)],
                pots: vec![(9, vec!["a", "b", "c"]), (14, vec!["b", "c"])],
            },
        ];
        for case in cases {
            let pots = build_pots(&case.entries);
            let want: Vec<Pot> = case
                .pots
                .iter()
                .map(|(amount, e)| Pot {
                    amount: *amount,
                    eligible: ids(e),
                })
                .collect();
            assert_eq!(pots, want, "{}", case.name);
            let total: u64 = case.entries.iter().map(|e| e.total).sum();
            assert_eq!(
                pots.iter().map(|p| p.amount).sum::<u64>(),
                total,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn split_pots_and_odd_chips() {
        struct Case {
            name: &'static str,
            pots: Vec<(u64, Vec<&'static str>)>,
            values: Vec<(&'static str, u32)>,
            paid: Vec<Vec<(&'static str, u64)>>,
        }
        let cases = vec![
            Case {
                name: "best hand takes it",
                pots: vec![(300, vec!["a", "b", "c"])],
                values: vec![("a", 5), ("b", 9), ("c", 1)],
                paid: vec![vec![("b", 300)]],
            },
            Case {
                name: "two-way split, even",
                pots: vec![(300, vec!["a", "b", "c"])],
                values: vec![("a", 9), ("b", 9), ("c", 1)],
                paid: vec![vec![("a", 150), ("b", 150)]],
            },
            Case {
                name: "two-way split, the odd chip to the first left of the button",
                pots: vec![(301, vec!["c", "a", "b"])],
                values: vec![("a", 9), ("b", 1), ("c", 9)],
                paid: vec![vec![("c", 151), ("a", 150)]],
            },
            Case {
                name: "three-way split with two odd chips",
                pots: vec![(302, vec!["a", "b", "c"])],
                values: vec![("a", 4), ("b", 4), ("c", 4)],
                paid: vec![vec![("a", 101), ("b", 101), ("c", 100)]],
            },
            Case {
                name: "short stack wins the main pot, side pot split",
                pots: vec![(400, vec!["a", "b", "c", "d"]), (301, vec!["b", "c", "d"])],
                values: vec![("a", 20), ("b", 7), ("c", 3), ("d", 7)],
                paid: vec![vec![("a", 400)], vec![("b", 151), ("d", 150)]],
            },
            Case {
                name: "a lone eligible player gets the side pot without a showdown",
                pots: vec![(90, vec!["a", "b"]), (500, vec!["b"])],
                values: vec![("a", 8), ("b", 2)],
                paid: vec![vec![("a", 90)], vec![("b", 500)]],
            },
        ];
        for case in cases {
            let pots: Vec<Pot> = case
                .pots
                .iter()
                .map(|(amount, e)| Pot {
                    amount: *amount,
                    eligible: ids(e),
                })
                .collect();
            let values: BTreeMap<PlayerId, HandValue> = case
                .values
                .iter()
                .map(|(p, v)| (PlayerId::from(*p), HandValue(*v)))
                .collect();
            let got: Vec<Vec<(PlayerId, u64)>> = award(&pots, &values)
                .into_iter()
                .map(|r| r.winners)
                .collect();
            let want: Vec<Vec<(PlayerId, u64)>> = case
                .paid
                .iter()
                .map(|w| w.iter().map(|(p, a)| (PlayerId::from(*p), *a)).collect())
                .collect();
            assert_eq!(got, want, "{}", case.name);
        }
    }
}
