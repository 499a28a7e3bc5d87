//! The wire format pinned down: seeded games played through [`Playtest`] (scripted play and
//! random legal play with bots, leaves, rebuys, sit-outs, clocks, time banks and deals run by
//! `advance`), with every viewer's view at every version hashed into
//! `crates/games/tests/golden/poker.txt`. Any change to any view changes a line.
//! See `crate::golden`.

#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::Playtest;
use std::fmt::Write as _;

/// Records one line per version: the hash of each viewer's view, everyone ever seated and a
/// spectator.
struct Recorder {
    table: Playtest<Poker>,
    viewers: Vec<PlayerId>,
    lines: String,
    name: String,
}

impl Recorder {
    fn new(name: &str, config: Value, seed: u64) -> Self {
        let table = Playtest::with_config(Poker, config, seed).unwrap();
        let mut r = Self {
            table,
            viewers: Vec::new(),
            lines: String::new(),
            name: name.to_owned(),
        };
        r.record();
        r
    }

    fn record(&mut self) {
        let hashes = crate::golden::view_hashes(&self.table, &self.viewers);
        let _ = writeln!(
            self.lines,
            "{} v{}{hashes}",
            self.name,
            self.table.version()
        );
    }

    /// Record every version made since the last record (advance may make several).
    fn step(&mut self, before: u64) {
        if self.table.version() != before {
            self.record();
        }
    }

    fn seat(&mut self, name: &str) {
        let before = self.table.version();
        if let Ok(id) = self.table.seat(name) {
            self.viewers.push(id);
        }
        self.step(before);
    }

    fn add_bot(&mut self) {
        let before = self.table.version();
        if let Ok(id) = self.table.add_bot() {
            self.viewers.push(id);
        }
        self.step(before);
    }

    fn act(&mut self, p: &PlayerId, a: Action) {
        let before = self.table.version();
        let _ = self.table.act(p, a);
        self.step(before);
    }

    fn leave(&mut self, p: &PlayerId) {
        let before = self.table.version();
        let _ = self.table.leave(p);
        self.step(before);
    }

    /// Advance in small steps so every version made by a timer or clock is recorded.
    fn advance(&mut self, ms: u64) {
        let mut left = ms;
        while left > 0 {
            let step = left.min(50);
            let before = self.table.version();
            self.table.advance(step);
            self.step(before);
            left -= step;
        }
    }

    fn to_act(&self) -> Option<PlayerId> {
        let h = self.table.state().live_hand()?;
        h.to_act.map(|i| h.seats[i].player.clone())
    }
}

fn scripted() -> String {
    let config = json!({"action_timeout_ms": 1_000, "time_bank_ms": 500, "hand_delay_ms": 100});
    let mut r = Recorder::new("scripted", config, 42);
    for name in ["ada", "bob", "cy"] {
        r.seat(name);
    }
    r.advance(100);
    // Call round, then checks on every street.
    while let Some(p) = r.to_act() {
        let legal = r.table.legal_actions(&p);
        let a = if legal.contains(&Action::Check {}) {
            Action::Check {}
        } else {
            Action::Call {}
        };
        r.act(&p, a);
    }
    r.advance(100);
    // A raise, a leave of the player to act, a newcomer mid-hand, then clocks and banks.
    if let Some(p) = r.to_act() {
        r.act(&p, Action::Raise { amount: 40 });
    }
    if let Some(p) = r.to_act() {
        r.leave(&p);
    }
    r.seat("dee");
    r.advance(3_000);
    let dee = PlayerId::from("p_dee");
    r.act(&dee, Action::SitOut {});
    r.act(&dee, Action::SitIn {});
    for p in r.viewers.clone() {
        r.act(&p, Action::TopUp {});
        r.act(&p, Action::SitIn {});
    }
    r.advance(200);
    r.act(&dee, Action::Rebuy { amount: 1 });
    r.advance(10_000);
    r.lines
}

/// Random legal play chosen by the game's own RNG type, seeded per game.
fn random(seed: u64, config: Value) -> String {
    let mut r = Recorder::new(&format!("random{seed}"), config, seed);
    let mut choice = GameRng::from_seed(seed.wrapping_mul(7_919));
    let mut joined = 0;
    for _ in 0..3 {
        joined += 1;
        r.seat(&format!("n{joined}"));
    }
    r.add_bot();
    for _ in 0..250 {
        let c = choice.below(100);
        let seated: Vec<PlayerId> = r.table.seats().ids().cloned().collect();
        let any = |k: u32| seated[k as usize % seated.len()].clone();
        match c {
            0..=2 if !seated.is_empty() => {
                let p = any(choice.below(64));
                r.leave(&p);
            }
            3..=5 => {
                joined += 1;
                r.seat(&format!("n{joined}"));
            }
            6 => r.add_bot(),
            7..=12 if !seated.is_empty() => {
                let p = any(choice.below(64));
                let legal = r.table.legal_actions(&p);
                if !legal.is_empty() {
                    let a = legal[choice.below(legal.len() as u32) as usize].clone();
                    r.act(&p, a);
                }
            }
            13..=22 => {
                let ms = [300, 1_000, 2_500, 6_000][choice.below(4) as usize];
                r.advance(ms);
            }
            23..=40 => {
                let before = r.table.version();
                let _ = r.table.bot_step();
                r.step(before);
            }
            _ => match r.to_act() {
                Some(p) => {
                    let legal = r.table.legal_actions(&p);
                    let a = legal[choice.below(legal.len() as u32) as usize].clone();
                    r.act(&p, a);
                }
                None => r.advance(500),
            },
        }
    }
    r.lines
}

fn all_games() -> String {
    let mut out = scripted();
    let clocked = json!({
        "action_timeout_ms": 1_000, "time_bank_ms": 500, "hand_delay_ms": 300,
        "min_buy_in": 20, "buy_in": 200, "max_buy_in": 400, "ante": 1,
    });
    let short = json!({
        "action_timeout_ms": 2_000, "hand_delay_ms": 100,
        "min_buy_in": 3, "buy_in": 12, "max_buy_in": 400, "seats": 4,
    });
    let unclocked = json!({"action_timeout_ms": 0, "hand_delay_ms": 100});
    for seed in 1..=4 {
        out.push_str(&random(seed, clocked.clone()));
    }
    for seed in 5..=7 {
        out.push_str(&random(seed, short.clone()));
    }
    out.push_str(&random(8, unclocked));
    out
}

#[test]
fn every_view_at_every_version_matches_the_golden_file() {
    let got = all_games();
    crate::golden::assert_matches("poker.txt", &got);
}
