//! The poker hand evaluator: best five of seven cards. Criterion reports evaluations per
//! second (`thrpt`).
//!
//! `cargo bench -p arbiter-games --bench poker_eval`

#![allow(missing_docs)]

use arbiter_games::poker::cards::{Card, deck_from_seed};
use arbiter_games::poker::eval::evaluate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

/// `n` seven-card hands dealt from seeded decks.
fn hands(n: usize) -> Vec<[Card; 7]> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let deck = deck_from_seed(&seed);
            let mut h = [0; 7];
            h.copy_from_slice(&deck[..7]);
            h
        })
        .collect()
}

fn eval(c: &mut Criterion) {
    let hands = hands(4_096);
    let mut g = c.benchmark_group("poker_eval");
    g.throughput(Throughput::Elements(hands.len() as u64));
    g.bench_function("7_cards", |b| {
        b.iter(|| {
            for h in &hands {
                black_box(evaluate(black_box(h)));
            }
        })
    });
    let fives: Vec<[Card; 5]> = hands
        .iter()
        .map(|h| [h[0], h[1], h[2], h[3], h[4]])
        .collect();
    g.bench_function("5_cards", |b| {
        b.iter(|| {
            for h in &fives {
                black_box(evaluate(black_box(h)));
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = eval
}
criterion_main!(benches);
