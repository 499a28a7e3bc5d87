//! The fuzz targets in CI: every committed seed, then a short fixed-seed run of each target.
//! A failure prints the panic and the input, which is then a new regression seed.

use arbiter_fuzz::corpus::{corpus_dir, load};
use arbiter_fuzz::{RunOptions, Target, execute, run, targets};

/// Mutated executions per target: a few seconds in a debug build.
const ITERATIONS: u64 = 2_000;

fn corpus(target: &Target) -> Vec<Vec<u8>> {
    let files = load(&corpus_dir().join(&target.name)).expect("the corpus reads");
    assert!(
        files.len() >= 20,
        "{} has {} seeds; run `cargo run -p arbiter-fuzz -- seed-corpus`",
        target.name,
        files.len()
    );
    files.into_iter().map(|(_, bytes)| bytes).collect()
}

fn fuzz(which: impl Fn(&str) -> bool) {
    for target in targets().iter().filter(|t| which(&t.name)) {
        for (path, bytes) in load(&corpus_dir().join(&target.name)).expect("the corpus reads") {
            if let Err(message) = execute(target, &bytes) {
                panic!("seed {} panics: {message}", path.display());
            }
        }
        let options = RunOptions {
            iterations: ITERATIONS,
            seed: 18,
            crash_dir: None,
            time_limit: None,
        };
        let report = run(target, &corpus(target), &options);
        if let Some(crash) = report.kept.first() {
            panic!(
                "{}: {} crashes; first at execution {}: {}\ninput: {:?}",
                target.name,
                report.crashes,
                crash.execution,
                crash.message,
                String::from_utf8_lossy(&crash.input)
            );
        }
    }
}

#[test]
fn the_wire_targets_survive_their_corpus_and_mutations() {
    fuzz(|name| name.starts_with("protocol_") || name.ends_with("_frames"));
}

#[test]
fn the_client_patch_target_survives_its_corpus_and_mutations() {
    fuzz(|name| name == "json_patch");
}

#[test]
fn the_game_targets_survive_their_corpus_and_mutations() {
    fuzz(|name| name.starts_with("game_"));
}

#[test]
fn every_registered_game_has_a_target() {
    let mut games: Vec<String> = arbiter_games::registry()
        .games()
        .into_iter()
        .map(|g| format!("game_{}", g.info.name))
        .collect();
    let mut fuzzed: Vec<String> = targets()
        .into_iter()
        .map(|t| t.name)
        .filter(|n| n.starts_with("game_"))
        .collect();
    games.sort();
    fuzzed.sort();
    assert_eq!(fuzzed, games);
}
