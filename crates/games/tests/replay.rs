//! Replay for every built-in game: after random legal play (with bots, timers, a leave and a
//! reconnect), replaying the log reproduces the exact state, and so does restoring from a
//! snapshot plus the log tail — the property durability, crash recovery and the history API
//! stand on.

#![allow(clippy::unwrap_used)]

use arbiter_engine::protocol::{JoinRole, PlayerInfo};
use arbiter_engine::{Caller, Frame, Game, GameRng, Outbox, Room, RoomOptions, RoomSpec};
use arbiter_games::{counter, dicegame, owedrahn, poker, tellit, tictactoe};
use serde_json::{Value, json};
use std::sync::Arc;

/// A connection that takes every frame and keeps none.
struct Sink;

impl Outbox for Sink {
    fn push(&self, _: Frame) -> bool {
        true
    }
}

fn caller(conn: u64, id: &str) -> Caller {
    Caller {
        conn,
        player: PlayerInfo {
            id: id.into(),
            name: id.to_uppercase(),
        },
        instance: None,
        outbox: Arc::new(Sink),
    }
}

fn state_json<G: Game>(s: &G::State) -> Value {
    serde_json::to_value(s).unwrap()
}

/// Play `steps` random legal moves among `players` (plus bots and timers), checking replay
/// and restore along the way.
fn check<G: Game>(game: G, config: Value, players: usize, bots: usize, steps: usize, seed: u64) {
    let game = Arc::new(game);
    let spec = RoomSpec {
        id: "r_replay".into(),
        code: "RPLAY".into(),
        config,
        seed,
        created_ms: 1_000_000,
        options: RoomOptions {
            public: true,
            max_players: 9,
            max_spectators: 4,
            seat_grace_ms: 60_000,
            lock: None,
            lang: None,
            tags: Vec::new(),
        },
    };
    let mut room = Room::new(game.clone(), spec.clone()).unwrap();
    let mut now = 1_000_000;
    let callers: Vec<Caller> = (0..players)
        .map(|i| caller(i as u64 + 1, &format!("p{i}")))
        .collect();
    for c in &callers {
        room.join(c, JoinRole::Player, None, None, now);
    }
    for _ in 0..bots {
        room.add_bot(&callers[0], None, now);
    }
    let mut seqs = vec![0u64; players];
    let mut rng = GameRng::from_seed(seed ^ 0xabcdef);
    let mut snapshots = Vec::new();
    for step in 0..steps {
        now += 250;
        // Whoever can act, acts; otherwise time moves to the next timer or bot move.
        let mut moved = false;
        for (i, c) in callers.iter().enumerate() {
            let legal = game.legal_actions(room.state(), room.seats(), &c.player.id);
            if let Some(a) = rng.pick(&legal) {
                seqs[i] += 1;
                room.act(c, seqs[i], None, serde_json::to_value(a).unwrap(), now);
                moved = true;
                break;
            }
        }
        if !moved {
            match room.next_due() {
                Some(due) => {
                    now = now.max(due);
                    room.fire_due(now);
                }
                None => break,
            }
        }
        if step == steps / 3 {
            room.disconnect(callers[players - 1].conn, now);
        }
        if step == steps / 2 {
            room.join(&callers[players - 1], JoinRole::Any, None, None, now);
        }
        if step % 40 == 0 {
            snapshots.push(room.snapshot());
        }
    }
    let name = game.info().name;
    assert!(
        room.version() > 10,
        "{name}: the game went somewhere (v{})",
        room.version()
    );

    let replayed = room.replayed().unwrap();
    assert_eq!(
        state_json::<G>(&replayed.state),
        state_json::<G>(room.state()),
        "{name}: replay from the start"
    );

    assert!(
        snapshots.len() >= 2,
        "{name}: played long enough for two snapshots"
    );
    {
        let pair = &snapshots[snapshots.len() - 2..];
        let tail: Vec<_> = room
            .log()
            .unwrap()
            .iter()
            .filter(|e| e.v > pair[0].v)
            .cloned()
            .collect();
        let restored = Room::restore(game.clone(), spec.clone(), pair, &tail, now).unwrap();
        assert_eq!(restored.version(), room.version());
        assert_eq!(
            state_json::<G>(restored.state()),
            state_json::<G>(room.state()),
            "{name}: restore"
        );
        assert_eq!(restored.state_hash(), room.state_hash());

        // A snapshot whose recorded hash disagrees with replay is refused, never trusted.
        let mut forged = pair.to_vec();
        forged[1].hash ^= 1;
        assert!(
            Room::restore(game.clone(), spec.clone(), &forged, &tail, now).is_err(),
            "{name}: forged hash"
        );
    }
}

#[test]
fn tictactoe_replays_exactly() {
    check(
        tictactoe::TicTacToe,
        json!({"turn_ms": 5_000}),
        2,
        0,
        200,
        1,
    );
}

#[test]
fn counter_replays_exactly() {
    check(counter::Counter, Value::Null, 3, 0, 200, 2);
}

#[test]
fn dicegame_replays_exactly() {
    check(dicegame::DiceGame, json!({"target": 1000}), 2, 1, 300, 3);
}

#[test]
fn owedrahn_replays_exactly() {
    check(owedrahn::OweDrahn, Value::Null, 2, 1, 300, 4);
}

#[test]
fn tellit_replays_exactly() {
    check(tellit::TellIt, Value::Null, 3, 0, 200, 5);
}

#[test]
fn poker_replays_exactly() {
    check(poker::Poker, Value::Null, 3, 1, 400, 6);
}

/// The TCG has no finite list of legal actions (players enforce the card rules), so it is
/// driven by a script that touches every kind of entry, accepted or refused.
#[test]
fn tcg_replays_exactly() {
    use arbiter_games::tcg::Tcg;
    let game = Arc::new(Tcg);
    let spec = RoomSpec {
        id: "r_tcg".into(),
        code: "TCGRP".into(),
        config: json!({"format": "mtg"}),
        seed: 7,
        created_ms: 1_000,
        options: RoomOptions {
            public: true,
            max_players: 2,
            max_spectators: 4,
            seat_grace_ms: 60_000,
            lock: None,
            lang: None,
            tags: Vec::new(),
        },
    };
    let mut room = Room::new(game.clone(), spec.clone()).unwrap();
    let (a, b) = (caller(1, "pa"), caller(2, "pb"));
    room.join(&a, JoinRole::Player, None, None, 1_000);
    room.join(&b, JoinRole::Player, None, None, 1_000);
    let deck = json!({"type": "submit_deck", "list": [{"name": "Forest", "count": 24}, {"name": "Grizzly Bears", "count": 36}]});
    let script: Vec<(&Caller, Value)> = vec![
        (&a, deck.clone()),
        (&b, deck),
        (&a, json!({"type": "start"})),
        (&a, json!({"type": "draw", "n": 2})),
        (&a, json!({"type": "life", "delta": -3})),
        (&b, json!({"type": "life", "player": "pa", "delta": -2})),
        (&a, json!({"type": "undo"})),
        (
            &b,
            json!({"type": "player_counter", "name": "poison", "delta": 1}),
        ),
        (&b, json!({"type": "roll", "sides": 20})),
        (&a, json!({"type": "coin"})),
        (
            &a,
            json!({"type": "move", "from": {"zone": "library"}, "count": 3, "to": {"zone": "graveyard"}}),
        ),
        (&a, json!({"type": "shuffle"})),
        (&a, json!({"type": "untap_all"})),
        (&a, json!({"type": "pass_turn"})),
        (&b, json!({"type": "advance_phase"})),
        (&b, json!({"type": "mulligan"})),
    ];
    let mut seqs = std::collections::HashMap::new();
    for (i, (who, action)) in script.into_iter().enumerate() {
        let seq = seqs.entry(who.conn).or_insert(0u64);
        *seq += 1;
        room.act(who, *seq, None, action, 2_000 + i as u64 * 10);
    }
    let snapshot = room.snapshot();
    room.act(
        &b,
        seqs[&2] + 1,
        None,
        json!({"type": "life", "delta": 5}),
        3_000,
    );
    assert!(
        room.version() > 12,
        "most of the script applied (v{})",
        room.version()
    );
    let replayed = room.replayed().unwrap();
    assert_eq!(
        state_json::<Tcg>(&replayed.state),
        state_json::<Tcg>(room.state())
    );
    let tail: Vec<_> = room
        .log()
        .unwrap()
        .iter()
        .filter(|e| e.v > snapshot.v)
        .cloned()
        .collect();
    let restored = Room::restore(game, spec, &[snapshot], &tail, 3_000).unwrap();
    assert_eq!(
        state_json::<Tcg>(restored.state()),
        state_json::<Tcg>(room.state())
    );
}
