//! The wire-format guard: seeded games, scripted and random (seats, leaves, late joiners, bots,
//! disconnects, bad input, bust timers and turn clocks run through `advance`), with every
//! viewer's view after every step hashed into `crates/games/tests/golden/dicegame.txt`. A
//! change to any view of any of these plays fails the test. See `crate::golden`.

use super::*;
use arbiter_engine::Playtest;
use sha2::{Digest, Sha256};

/// One line per step: the game, the step, the version and a hash of every viewer's view.
#[derive(Default)]
struct Record {
    lines: Vec<String>,
    /// Everyone who ever sat down; they keep a view after leaving.
    viewers: Vec<PlayerId>,
}

impl Record {
    fn step(&mut self, game: &str, step: usize, t: &Playtest<DiceGame>) {
        for id in t.seats().ids() {
            if !self.viewers.contains(id) {
                self.viewers.push(id.clone());
            }
        }
        let mut views: Vec<Value> = self.viewers.iter().map(|p| t.view_of(p)).collect();
        views.push(t.view(&Viewer::Spectator));
        let text = serde_json::to_string(&views).expect("views serialise");
        let hash = Sha256::digest(text.as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        self.lines
            .push(format!("{game} {step} v{} {hex}", t.version()));
    }
}

fn seated(t: &Playtest<DiceGame>) -> Vec<PlayerId> {
    t.seats().ids().cloned().collect()
}

/// Three sit down, one leaves and another takes a seat before the start; a spectator watches
/// turns with a clock, a bust, a disconnect, a leave on turn, a forfeit and a restart.
fn scripted(rec: &mut Record) {
    let config = json!({"target": 600, "turn_timeout_ms": 4000, "bust_delay_ms": 1500});
    let mut t = Playtest::with_config(DiceGame, config, 5).expect("setup");
    let mut step = 0;
    let mut note = |t: &Playtest<DiceGame>, rec: &mut Record| {
        rec.step("scripted", step, t);
        step += 1;
    };
    note(&t, rec);
    let ann = t.seat("ann").expect("seat");
    note(&t, rec);
    let ben = t.seat("ben").expect("seat");
    note(&t, rec);
    let cat = t.seat("cat").expect("seat");
    note(&t, rec);
    t.leave(&ben).expect("leave");
    note(&t, rec);
    let dan = t.seat("dan").expect("seat");
    note(&t, rec);
    let _ = t.act(&cat, Action::Roll);
    note(&t, rec);
    t.act(&dan, Action::Start).expect("start");
    note(&t, rec);
    for round in 0..60 {
        let Some(turn) = t.state().turn.clone() else {
            break;
        };
        match round % 9 {
            3 => {
                let _ = t.connection(&turn, false);
                note(&t, rec);
                t.advance(4000);
                note(&t, rec);
                let _ = t.connection(&turn, true);
            }
            7 => {
                t.advance(1000);
            }
            _ => match t.legal_actions(&turn).first().cloned() {
                Some(a) => {
                    t.act(&turn, a).expect("legal");
                }
                None => t.advance(1500),
            },
        }
        note(&t, rec);
        let _ = t.act_json(&turn, json!({"type": "select", "index": 9}));
        note(&t, rec);
    }
    let turn = t.state().turn.clone().unwrap_or_else(|| ann.clone());
    t.leave(&turn).expect("leave on turn");
    note(&t, rec);
    for p in seated(&t) {
        if t.state().phase == Phase::Playing {
            t.leave(&p).expect("leave");
            note(&t, rec);
        }
    }
    let eve = t.seat("eve").expect("seat after the game");
    note(&t, rec);
    let _ = t.act(&eve, Action::Restart);
    note(&t, rec);
    t.advance(10_000);
    note(&t, rec);
}

/// Random play from `seed`: legal moves mostly, now and then a leave, a newcomer, a bot, a
/// dropped connection, an illegal action or time passing.
fn random(rec: &mut Record, name: &str, seed: u64, config: Value, steps: usize) {
    let mut t = Playtest::with_config(DiceGame, config, seed).expect("setup");
    let mut dice = GameRng::from_seed(seed ^ 0x5eed);
    let mut joined = 0;
    for _ in 0..3 {
        joined += 1;
        t.seat(&format!("p{joined}")).expect("seat");
    }
    rec.step(name, 0, &t);
    for step in 1..=steps {
        let here = seated(&t);
        let someone = dice.pick(&here).cloned();
        match (dice.below(30), someone) {
            _ if here.len() < 2 => {
                joined += 1;
                let _ = t.seat(&format!("p{joined}"));
            }
            (0, Some(p)) => {
                t.leave(&p).expect("leave");
            }
            (1, Some(p)) => {
                let up = t.seats().get(&p).is_some_and(|s| s.connected);
                t.connection(&p, !up).expect("connection");
            }
            (2 | 7, _) => {
                joined += 1;
                let _ = t.seat(&format!("p{joined}"));
            }
            (3, _) => {
                let _ = t.add_bot();
            }
            (4, _) => t.advance(u64::from(dice.below(5000))),
            (5, Some(p)) => {
                let _ = t.act_json(&p, json!({"type": "roll", "dice": 6}));
            }
            (6, _) => {
                let _ = t.bot_step();
            }
            _ => {
                let moves: Vec<(PlayerId, Action)> = here
                    .iter()
                    .flat_map(|p| t.legal_actions(p).into_iter().map(|a| (p.clone(), a)))
                    .collect();
                // Set aside as soon as that is legal, and mostly roll on rather than bank,
                // so that turns also bust.
                let push_luck = dice.below(3) != 0;
                let set_aside = moves
                    .iter()
                    .find(|(_, a)| matches!(a, Action::SetAside { .. }))
                    .filter(|_| push_luck);
                match set_aside.or_else(|| dice.pick(&moves)).cloned() {
                    Some((p, Action::SetAside { end_turn: true })) if push_luck => {
                        t.act(&p, Action::SetAside { end_turn: false })
                            .expect("legal");
                    }
                    Some((p, a)) => {
                        t.act(&p, a).expect("legal");
                    }
                    None => t.advance(500),
                }
            }
        }
        t.advance(250);
        rec.step(name, step, &t);
    }
    t.check_replay().expect("replays");
}

#[test]
fn every_view_of_these_plays_is_unchanged() {
    let mut rec = Record::default();
    scripted(&mut rec);
    let plays = [
        (1, json!({"target": 800})),
        (2, json!({"target": 800, "turn_timeout_ms": 3000})),
        (
            3,
            json!({"target": 500, "bust_delay_ms": 0, "turn_timeout_ms": 2000}),
        ),
        (
            4,
            json!({"target": 1500, "turn_timeout_ms": 1000, "bust_delay_ms": 800}),
        ),
        (5, Value::Null),
    ];
    for (seed, config) in plays {
        let mut r = Record::default();
        random(&mut r, &format!("random{seed}"), seed, config, 400);
        rec.lines.append(&mut r.lines);
    }
    let got = rec.lines.join("\n") + "\n";
    crate::golden::assert_matches("dicegame.txt", &got);
}
