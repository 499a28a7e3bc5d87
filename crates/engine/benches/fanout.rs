//! Fan-out of one action to N viewers, through the engine's public API with an outbox that
//! discards frames: one shared view (spectators, or a public-view game) is built, diffed and
//! encoded once for everyone; per-seat views are each built, diffed and encoded once per seat.
//!
//! `cargo bench -p arbiter-engine --bench fanout`

#![allow(missing_docs, clippy::unwrap_used)]

use arbiter_engine::protocol::{JoinRole, PlayerId, PlayerInfo};
use arbiter_engine::{
    Actor, Caller, Ctx, Frame, Game, GameError, GameInfo, Outbox, Room, RoomOptions, RoomSpec,
    Seat, Seats, Viewer,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts frames and bytes, keeps nothing.
#[derive(Default)]
struct Discard {
    frames: AtomicU64,
}

impl Outbox for Discard {
    fn push(&self, frame: Frame) -> bool {
        self.frames.fetch_add(1, Ordering::Relaxed);
        black_box(frame);
        true
    }
}

/// Each seat holds a secret only it sees, and a shared counter everyone sees; `public` makes
/// the whole state one shared view.
#[derive(Clone, Copy)]
struct Tally {
    public: bool,
}

#[derive(Clone, Serialize, Deserialize)]
struct State {
    count: u64,
    last: Option<PlayerId>,
    secrets: BTreeMap<PlayerId, u64>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Action {
    Add,
}

impl Game for Tally {
    type State = State;
    type Action = Action;
    type Config = Value;

    fn info(&self) -> GameInfo {
        GameInfo::new("tally", "Tally", "fan-out benchmark", 1..=1_000)
    }

    fn setup(&self, _: &Value, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State {
            count: 0,
            last: None,
            secrets: BTreeMap::new(),
        })
    }

    fn join(&self, s: &mut State, p: &Seat, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        s.secrets.insert(p.id.clone(), cx.rng().next_u64());
        Ok(())
    }

    fn leave(&self, s: &mut State, p: &Seat, _: &mut Ctx<'_, Action>) {
        s.secrets.remove(&p.id);
    }

    fn apply(
        &self,
        s: &mut State,
        by: &Actor,
        _: Action,
        _: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        s.count += 1;
        if let Actor::Player(p) = by {
            s.last = Some(p.clone());
            if let Some(x) = s.secrets.get_mut(p) {
                *x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            }
        }
        Ok(())
    }

    fn view(&self, s: &State, _: &Seats, viewer: &Viewer) -> Value {
        let mine = match viewer {
            Viewer::Player(p) if !self.public => s.secrets.get(p).copied(),
            _ => None,
        };
        json!({"count": s.count, "last": s.last, "seats": s.secrets.len(), "mine": mine})
    }

    fn public_view(&self) -> bool {
        self.public
    }
}

fn caller(i: usize, outbox: &Arc<Discard>) -> Caller {
    Caller {
        conn: i as u64 + 1,
        player: PlayerInfo {
            id: PlayerId(format!("p_{i:016x}")),
            name: format!("P{i}"),
        },
        instance: None,
        outbox: outbox.clone(),
    }
}

fn room(
    game: Tally,
    players: usize,
    spectators: usize,
    outbox: &Arc<Discard>,
) -> (Room<Tally>, Vec<Caller>) {
    let mut r = Room::new(
        Arc::new(game),
        RoomSpec {
            id: "r_0123456789abcdef".into(),
            code: "BCDFG".into(),
            config: Value::Null,
            seed: 3,
            created_ms: 1_000,
            options: RoomOptions {
                public: true,
                max_players: players as u32,
                max_spectators: spectators as u32 + 1,
                seat_grace_ms: 60_000,
                lock: None,
                lang: None,
                tags: Vec::new(),
            },
        },
    )
    .unwrap();
    let mut seats = Vec::new();
    for i in 0..players {
        let c = caller(i, outbox);
        r.join(&c, JoinRole::Player, None, None, 1_001);
        seats.push(c);
    }
    for i in 0..spectators {
        r.join(
            &caller(10_000 + i, outbox),
            JoinRole::Spectator,
            None,
            None,
            1_001,
        );
    }
    (r, seats)
}

fn bench_case(c: &mut Criterion, group: &str, game: Tally, players: usize, spectators: usize) {
    let outbox = Arc::new(Discard::default());
    let (mut r, seats) = room(game, players, spectators, &outbox);
    let viewers = players + spectators;
    let mut g = c.benchmark_group(group);
    // Throughput = frames delivered per action (every viewer's patch, plus the ack).
    g.throughput(Throughput::Elements(viewers as u64 + 1));
    let mut seq = 0u64;
    let mut now = 2_000u64;
    g.bench_function(BenchmarkId::from_parameter(viewers), |b| {
        b.iter(|| {
            seq += 1;
            now += 1;
            r.act(&seats[0], seq, None, json!({"type": "add"}), now);
        })
    });
    g.finish();
}

fn fanout(c: &mut Criterion) {
    // One shared view: 2 players and N − 2 spectators of a public-view game.
    for n in [2, 10, 52, 200, 1_000] {
        bench_case(c, "fanout/shared_view", Tally { public: true }, 2, n - 2);
    }
    // A view per seat: N players, each with a secret.
    for n in [2, 10, 52, 200] {
        bench_case(c, "fanout/per_seat_view", Tally { public: false }, n, 0);
    }
    // Mixed: 2 seats with secrets and 50 spectators (the fan-out workload of `arbiter bench`).
    bench_case(
        c,
        "fanout/2_seats_50_spectators",
        Tally { public: false },
        2,
        50,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = fanout
}
criterion_main!(benches);
