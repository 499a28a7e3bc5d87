//! The wire format pinned down: seeded games of each format played through [`Playtest`]
//! (random actions over the table's cards, undo, redo and consent, concessions, leaves and restarts),
//! with every viewer's view at every version hashed into `crates/games/tests/golden/tcg.txt`.
//! Any change to any view changes a line.
//! See `crate::golden`.

#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::{GameRng, Playtest};
use serde_json::json;
use std::fmt::Write as _;

/// Records one line per version: the hash of each viewer's view, everyone ever seated and a
/// spectator.
struct Recorder {
    table: Playtest<Tcg>,
    viewers: Vec<PlayerId>,
    lines: String,
    name: String,
}

impl Recorder {
    fn record(&mut self) {
        let hashes = crate::golden::view_hashes(&self.table, &self.viewers);
        let _ = writeln!(
            self.lines,
            "{} v{}{hashes}",
            self.name,
            self.table.version()
        );
    }

    fn seat(&mut self, name: &str) {
        if let Ok(id) = self.table.seat(name) {
            self.viewers.push(id);
            self.record();
        }
    }

    fn act(&mut self, p: &PlayerId, action: Value) {
        if self.table.act_json(p, action).is_ok() {
            self.record();
        }
    }

    /// The engine's undo, redo and consent (on the open proposal, if any).
    fn undo(&mut self, p: &PlayerId, which: u32) {
        let open = self.table.proposal().map_or(0, |o| o.id);
        let done = match which {
            0 => self.table.undo(p),
            1 => self.table.redo(p),
            2 => self.table.ask_undo(p),
            n => self.table.consent(p, open, n == 3),
        };
        if done.is_ok() {
            self.record();
        }
    }

    fn leave(&mut self, p: &PlayerId) {
        if self.table.leave(p).is_ok() {
            self.record();
        }
    }
}

/// A deck of uniquely named cards, the first a commander in Commander.
fn deck(format: &str, who: &str) -> Value {
    let n = if format == "commander" { 100 } else { 60 };
    let list: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("{who} {i}"), "count": 1, "commander": format == "commander" && i == 0}))
        .collect();
    Value::Array(list)
}

fn game(format: &str, players: u32, seed: u64) -> String {
    let table = Playtest::with_config(Tcg, json!({ "format": format }), seed).unwrap();
    let mut r = Recorder {
        table,
        viewers: Vec::new(),
        lines: String::new(),
        name: format!("{format}{seed}"),
    };
    r.record();
    let mut rng = GameRng::from_seed(seed.wrapping_mul(104_729));
    let mut joined = 0;
    let seat_and_submit = |r: &mut Recorder, joined: &mut u32| {
        *joined += 1;
        let name = format!("n{joined}");
        r.seat(&name);
        let id = PlayerId::from(format!("p_{name}").as_str());
        r.act(
            &id,
            json!({"type": "submit_deck", "list": deck(format, &name)}),
        );
    };
    for _ in 0..players {
        seat_and_submit(&mut r, &mut joined);
    }
    r.act(&PlayerId::from("p_n1"), json!({"type": "start"}));
    let zones: &[&str] = if format == "pokemon" {
        &["deck", "hand", "active", "bench", "prizes", "discard"]
    } else {
        &[
            "library",
            "hand",
            "battlefield",
            "graveyard",
            "exile",
            "command",
            "stack",
        ]
    };
    for _ in 0..300 {
        let seated: Vec<PlayerId> = r.table.seats().ids().cloned().collect();
        if seated.is_empty() {
            break;
        }
        let p = seated[rng.below(seated.len() as u32) as usize].clone();
        let other = seated[rng.below(seated.len() as u32) as usize].clone();
        let cards: Vec<u32> = r.table.state().table.cards.keys().copied().collect();
        let card = |rng: &mut GameRng| {
            if cards.is_empty() {
                0
            } else {
                cards[rng.below(cards.len() as u32) as usize]
            }
        };
        let zone = zones[rng.below(zones.len() as u32) as usize];
        let (c1, c2) = (card(&mut rng), card(&mut rng));
        let delta = i64::from(rng.below(7)) - 3;
        let action = match rng.below(40) {
            0 => json!({"type": "start"}),
            1 => json!({"type": "restart"}),
            2..=4 => json!({"type": "draw", "n": 1 + rng.below(3)}),
            5 => json!({"type": "mulligan"}),
            6 => json!({"type": "shuffle"}),
            7..=11 => json!({"type": "move", "cards": [c1], "to": {"zone": zone},
                "position": if rng.below(2) == 0 { "top" } else { "bottom" }}),
            12 => json!({"type": "move", "from": {"zone": zones[0]}, "count": 2,
                "to": {"zone": zone, "player": other}}),
            13 => json!({"type": "create_token", "name": "Goblin", "count": 1 + rng.below(2)}),
            14 => json!({"type": "turn_face", "cards": [c1], "face_down": rng.below(2) == 0}),
            15 => json!({"type": "reveal", "cards": [c1], "to": other}),
            16 => json!({"type": "reveal", "top": 2}),
            17 => json!({"type": "look", "n": 2, "player": other}),
            18 => json!({"type": "tap", "cards": [c1]}),
            19 => json!({"type": "untap", "cards": [c1]}),
            20 => json!({"type": "untap_all"}),
            21 => json!({"type": "counter", "card": c1, "name": "+1/+1", "delta": delta}),
            22 => json!({"type": "attach", "card": c1, "to": c2}),
            23 => json!({"type": "detach", "card": c1}),
            24 => json!({"type": "life", "player": other, "delta": delta * 5}),
            25 => json!({"type": "player_counter", "name": "poison", "delta": delta}),
            26 => json!({"type": "commander_damage", "from": other, "delta": delta * 4}),
            27 | 28 => json!({"type": "pass_turn"}),
            29 | 30 => json!({"type": "advance_phase"}),
            31 => json!({"type": "coin"}),
            32 => json!({"type": "roll", "sides": 20}),
            33 => json!({"type": "concede"}),
            n @ 34..=38 => {
                r.undo(&p, n - 34);
                continue;
            }
            _ => {
                if rng.below(4) == 0 {
                    r.leave(&p);
                } else {
                    seat_and_submit(&mut r, &mut joined);
                }
                continue;
            }
        };
        r.act(&p, action);
    }
    r.lines
}

fn all_games() -> String {
    let mut out = String::new();
    for (format, players, seeds) in [
        ("mtg", 2, 1..=3),
        ("mtg", 4, 4..=5),
        ("commander", 3, 6..=7),
        ("pokemon", 2, 8..=10),
    ] {
        for seed in seeds {
            out.push_str(&game(format, players, seed));
        }
    }
    out
}

#[test]
fn every_view_at_every_version_matches_the_golden_file() {
    let got = all_games();
    crate::golden::assert_matches("tcg.txt", &got);
}
