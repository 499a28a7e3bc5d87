//! The wire-format guard: seeded random games (writers sitting down in every phase, leaving,
//! dropping their connection, voting, being voted out and trying to come back, bad texts),
//! with every viewer's view after every step hashed into
//! `crates/games/tests/golden/tellit.txt`. A change to any view of any of these plays fails
//! the test. See `crate::golden`.

use super::*;
use arbiter_engine::{GameRng, Playtest};
use sha2::{Digest, Sha256};

const WORDS: [&str; 12] = [
    "the", "fox", "ran", "over", "a", "hill", "and", "then", "slept", "under", "old", "stars",
];

/// A line of `n` random words.
fn text(dice: &mut GameRng, n: u32) -> String {
    (0..n)
        .filter_map(|_| dice.pick(&WORDS).copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Random play from `seed`, one line per step: the step, the version and a hash of every
/// viewer's view (everyone who ever sat down, then a spectator).
fn play(lines: &mut Vec<String>, seed: u64, config: Value, steps: usize) {
    let mut t = Playtest::with_config(TellIt, config, seed).expect("setup");
    let mut dice = GameRng::from_seed(seed ^ 0x7e11);
    let mut viewers: Vec<PlayerId> = Vec::new();
    let mut joined = 0;
    for step in 0..=steps {
        let here: Vec<PlayerId> = t.seats().ids().cloned().collect();
        let someone = dice.pick(&here).cloned();
        let anyone = dice.pick(&viewers).cloned();
        match (dice.below(24), someone) {
            (_, None) | (0 | 1, _) => {
                joined += 1;
                let _ = t.seat(&format!("w{joined}"));
            }
            (2, Some(p)) => {
                t.leave(&p).expect("leave");
            }
            (3 | 4, Some(p)) => {
                let up = t.seats().get(&p).is_some_and(|s| s.connected);
                t.connection(&p, !up).expect("connection");
            }
            (5, Some(p)) => {
                let bad = ["", "   ", "line\nbreak", &"x".repeat(60)];
                let bad = dice.pick(&bad).copied().unwrap_or_default();
                let _ = t.act(
                    &p,
                    Action::Submit {
                        text: bad.to_owned(),
                    },
                );
            }
            (6, Some(p)) => {
                let _ = t.act_json(&p, json!({"type": "vote_kick", "player": 7}));
            }
            (7, Some(p)) => {
                // A kick vote against anyone, seated or not (a leaver, a kicked writer).
                if let Some(other) = anyone {
                    let vote = dice.below(4) != 0;
                    let _ = t.act(
                        &p,
                        Action::VoteKick {
                            player: other,
                            vote,
                        },
                    );
                }
            }
            (8, _) => {
                // Someone who was seated once tries to sit down again.
                if let Some(p) = anyone.filter(|p| !t.seats().contains(p)) {
                    let name = p.as_str().trim_start_matches("p_").to_owned();
                    let _ = t.seat(&name);
                }
            }
            (9, Some(p)) => {
                let vote = dice.below(3) != 0;
                let _ = t.act(&p, Action::VoteRestart { vote });
            }
            (10, Some(p)) => {
                let vote = dice.below(3) != 0;
                let _ = t.act(&p, Action::VoteFinish { vote });
            }
            _ => {
                let moves: Vec<(PlayerId, Action)> = here
                    .iter()
                    .flat_map(|p| t.legal_actions(p).into_iter().map(|a| (p.clone(), a)))
                    .filter(|(_, a)| !matches!(a, Action::VoteKick { .. }))
                    .collect();
                if let Some((p, a)) = dice.pick(&moves).cloned() {
                    let a = match a {
                        Action::Submit { .. } => {
                            let n = 1 + dice.below(4);
                            Action::Submit {
                                text: format!("  {} ", text(&mut dice, n)),
                            }
                        }
                        a => a,
                    };
                    t.act(&p, a).expect("legal");
                }
            }
        }
        for id in t.seats().ids() {
            if !viewers.contains(id) {
                viewers.push(id.clone());
            }
        }
        let mut views: Vec<Value> = viewers.iter().map(|p| t.view_of(p)).collect();
        views.push(t.view(&Viewer::Spectator));
        let json = serde_json::to_string(&views).expect("views serialise");
        let hash = Sha256::digest(json.as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        lines.push(format!("seed{seed} {step} v{} {hex}", t.version()));
    }
    t.check_replay().expect("replays");
}

#[test]
fn every_view_of_these_plays_is_unchanged() {
    let mut lines = Vec::new();
    let plays = [
        (1, Value::Null),
        (2, json!({"min_players": 3, "max_chars": 40})),
        (3, json!({"min_players": 2, "max_chars": 25})),
        (4, Value::Null),
    ];
    for (seed, config) in plays {
        play(&mut lines, seed, config, 400);
    }
    let got = lines.join("\n") + "\n";
    crate::golden::assert_matches("tellit.txt", &got);
}
