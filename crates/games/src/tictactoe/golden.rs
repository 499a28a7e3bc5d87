//! The wire-format guard for tic-tac-toe: seeded random games (moves, refusals, restarts,
//! leaves and newcomers, a bot, the move clock running out under `advance`), with every
//! viewer's view after every step hashed into `crates/games/tests/golden/tictactoe.txt`.
//! Written after the port to engine seats (which the SDK and browser tests held), so that
//! later changes to the game or the engine cannot change its views unnoticed. See
//! `crate::golden`.

use super::tests::mv;
use super::*;
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{GameRng, Playtest};

/// Random play from `seed`: one line per step with the version and every viewer's view.
fn play(lines: &mut Vec<String>, kinds: &mut Vec<String>, seed: u64, config: Value, steps: usize) {
    let mut t = Playtest::with_config(TicTacToe, config, seed).expect("setup");
    let mut dice = GameRng::from_seed(seed ^ 0x71c7);
    let mut viewers: Vec<PlayerId> = Vec::new();
    let mut joined = 0;
    for step in 0..=steps {
        let here: Vec<PlayerId> = t.seats().ids().cloned().collect();
        match dice.below(20) {
            0 | 1 if here.len() < 2 => {
                joined += 1;
                let _ = t.seat(&format!("p{joined}"));
            }
            2 if here.len() < 2 && !t.seats().iter().any(|s| s.bot) => {
                let _ = t.add_bot();
            }
            3 => {
                if let Some(p) = dice.pick(&here).cloned() {
                    let _ = t.leave(&p);
                }
            }
            4 => t.advance(u64::from(dice.below(1_500))),
            5 => {
                if let Some((_, Err(e))) = t.bot_step() {
                    panic!("the bot's move was refused: {e}");
                }
            }
            6 => {
                // Any cell, legal or not: refusals must change no view.
                if let Some(p) = dice.pick(&here).cloned() {
                    let (row, col) = (dice.below(4) as u8, dice.below(3) as u8);
                    let _ = t.act(&p, mv(row, col));
                }
            }
            _ => {
                let options: Vec<(PlayerId, Action)> = here
                    .iter()
                    .flat_map(|p| t.legal_actions(p).into_iter().map(move |a| (p.clone(), a)))
                    .collect();
                if let Some((p, a)) = dice.pick(&options).cloned() {
                    t.act(&p, a).expect("a legal action is accepted");
                }
            }
        }
        for id in t.seats().ids() {
            if !viewers.contains(id) {
                viewers.push(id.clone());
            }
        }
        let hashes = crate::golden::view_hashes(&t, &viewers);
        lines.push(format!("{seed} {step} v{}{hashes}", t.version()));
    }
    t.check_replay().expect("the log replays to the same room");
    for entry in t.log() {
        let kind = serde_json::to_value(entry).expect("entry")["kind"].to_string();
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
}

#[test]
fn every_view_of_these_plays_is_unchanged() {
    let (mut lines, mut kinds) = (Vec::new(), Vec::new());
    for (seed, config) in [
        (1, Value::Null),
        (2, json!({"turn_ms": 1_000})),
        (3, json!({"turn_ms": 300})),
        (4, Value::Null),
    ] {
        play(&mut lines, &mut kinds, seed, config, 300);
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [r#""act""#, r#""clock""#, r#""join""#, r#""leave""#],
        "what the plays covered"
    );
    let got = lines.join("\n") + "\n";
    crate::golden::assert_matches("tictactoe.txt", &got);
}
