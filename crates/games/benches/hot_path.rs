//! The hot path of one action for every built-in game, on the engine's public API and without
//! a network: decode the client frame → apply → view → diff → encode → push to every member
//! (an outbox that discards frames). Also the stages alone, to show where the time goes.
//!
//! `cargo bench -p arbiter-games --bench hot_path`

#![allow(missing_docs, clippy::unwrap_used)]

use arbiter_engine::protocol::{ClientMsg, Encoding, JoinRole, PlayerId, PlayerInfo, ServerMsg};
use arbiter_engine::{
    Actor, Caller, Ctx, Frame, Game, GameRng, Outbox, Room, RoomOptions, RoomSpec, Timers, Viewer,
};
use arbiter_games::{counter, dicegame, owedrahn, poker, tellit, tictactoe};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::Value;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A connection that drops everything it is sent.
struct Discard;

impl Outbox for Discard {
    fn push(&self, frame: Frame) -> bool {
        black_box(frame);
        true
    }
}

fn caller(i: usize) -> Caller {
    Caller {
        conn: i as u64 + 1,
        player: PlayerInfo {
            id: PlayerId(format!("p_{i:016x}")),
            name: format!("P{i}"),
        },
        instance: None,
        outbox: Arc::new(Discard),
    }
}

/// A room with `players` seats taken and `spectators` watching.
struct Table<G: Game> {
    game: Arc<G>,
    room: Room<G>,
    players: Vec<Caller>,
    now: u64,
    seqs: Vec<u64>,
    turn: usize,
}

impl<G: Game> Table<G> {
    fn new(game: G, players: usize, spectators: usize) -> Self {
        let game = Arc::new(game);
        let mut room = Room::new(
            game.clone(),
            RoomSpec {
                id: "r_0123456789abcdef".into(),
                code: "BCDFG".into(),
                config: Value::Null,
                seed: 7,
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
        let mut all = Vec::new();
        for i in 0..players {
            let c = caller(i);
            room.join(&c, JoinRole::Player, None, None, 1_001);
            all.push(c);
        }
        for i in 0..spectators {
            room.join(&caller(1_000 + i), JoinRole::Spectator, None, None, 1_001);
        }
        Self {
            game,
            room,
            seqs: vec![0; all.len()],
            players: all,
            now: 2_000,
            turn: 0,
        }
    }

    /// The next legal action of some player (advancing the room clock when nobody may act).
    fn next_action(&mut self) -> Option<(usize, Value)> {
        for _ in 0..20 {
            for k in 0..self.players.len() {
                let i = (self.turn + k) % self.players.len();
                let id = &self.players[i].player.id;
                let legal = self
                    .game
                    .legal_actions(self.room.state(), self.room.seats(), id);
                if !legal.is_empty() {
                    self.turn = i + 1;
                    let pick = legal[(self.now as usize / 7) % legal.len()].clone();
                    return Some((i, serde_json::to_value(pick).unwrap()));
                }
            }
            self.now += 5_000;
            self.room.fire_due(self.now);
        }
        None
    }

    /// The client frame of player `i`'s next action.
    fn frame(&mut self, i: usize, action: Value) -> Vec<u8> {
        self.seqs[i] += 1;
        serde_json::to_vec(&ClientMsg::Act {
            room: self.room.id().to_string(),
            seq: self.seqs[i],
            base: None,
            action,
        })
        .unwrap()
    }
}

/// Time `iters` whole actions: decode → `Room::act` (apply, view, diff, encode, fan-out, ack).
fn full_path<G: Game>(mk: &dyn Fn() -> Table<G>, iters: u64) -> Duration {
    let mut t = mk();
    let mut spent = Duration::ZERO;
    for _ in 0..iters {
        let Some((i, action)) = t.next_action() else {
            t = mk();
            continue;
        };
        let frame = t.frame(i, action);
        t.now += 1;
        let start = Instant::now();
        let Ok(ClientMsg::Act {
            seq, base, action, ..
        }) = Encoding::Json.decode_client(&frame)
        else {
            panic!("not an act")
        };
        t.room.act(&t.players[i], seq, base, action, t.now);
        spent += start.elapsed();
    }
    spent
}

fn stages<G: Game>(c: &mut Criterion, name: &str, mk: &dyn Fn() -> Table<G>)
where
    G::State: Clone,
{
    let mut t = mk();
    let Some((i, action)) = t.next_action() else {
        eprintln!("{name}: no legal action from the start; skipped");
        return;
    };
    let frame = t.frame(i, action.clone());
    let mut g = c.benchmark_group(format!("stage/{name}"));
    g.bench_function("decode", |b| {
        b.iter(|| Encoding::Json.decode_client(black_box(&frame)).unwrap())
    });
    let state = t.room.state().clone();
    let seats = t.room.seats().clone();
    let actor = Actor::Player(t.players[i].player.id.clone());
    let typed: G::Action = serde_json::from_value(action).unwrap();
    g.bench_function("apply", |b| {
        b.iter(|| {
            let mut s = state.clone();
            let (mut rng, mut timers) = (GameRng::from_seed(1), Timers::default());
            let mut seats = seats.clone();
            let mut cx = Ctx::new(&mut rng, 2_000, &mut timers, &mut seats);
            let _ = black_box(t.game.apply(&mut s, &actor, typed.clone(), &mut cx));
            s
        })
    });
    let mut after = state.clone();
    {
        let (mut rng, mut timers) = (GameRng::from_seed(1), Timers::default());
        let mut seats = seats.clone();
        let mut cx = Ctx::new(&mut rng, 2_000, &mut timers, &mut seats);
        let _ = t.game.apply(&mut after, &actor, typed, &mut cx);
    }
    let viewer: Viewer = if t.game.public_view() {
        Viewer::Spectator
    } else {
        Viewer::Player(t.players[i].player.id.clone())
    };
    g.bench_function("view", |b| {
        b.iter(|| t.game.view(black_box(&after), &seats, &viewer))
    });
    let (v0, v1) = (
        t.game.view(&state, &seats, &viewer),
        t.game.view(&after, &seats, &viewer),
    );
    g.bench_function("diff", |b| {
        b.iter(|| json_patch::diff(black_box(&v0), black_box(&v1)))
    });
    let patch = ServerMsg::Patch {
        room: t.room.id().to_string(),
        from: 10,
        v: 11,
        ops: json_patch::diff(&v0, &v1),
    };
    g.bench_function("encode", |b| {
        b.iter(|| Encoding::Json.encode(black_box(&patch)))
    });
    g.finish();
}

fn game<G: Game + Clone>(c: &mut Criterion, name: &str, game: G, players: usize) {
    let mk = move || Table::new(game.clone(), players, 0);
    stages(c, name, &mk);
    let mut g = c.benchmark_group("action");
    g.bench_function(BenchmarkId::new(name, format!("{players}p")), |b| {
        b.iter_custom(|iters| full_path(&mk, iters))
    });
    g.finish();
}

fn all_games(c: &mut Criterion) {
    game(c, "counter", counter::Counter, 4);
    game(c, "tictactoe", tictactoe::TicTacToe, 2);
    game(c, "dicegame", dicegame::DiceGame, 2);
    game(c, "owedrahn", owedrahn::OweDrahn, 3);
    game(c, "tellit", tellit::TellIt, 4);
    game(c, "poker", poker::Poker, 6);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = all_games
}
criterion_main!(benches);
