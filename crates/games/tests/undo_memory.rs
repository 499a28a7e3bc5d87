//! What undo costs in memory at a 6-player Commander table, 20 undoable actions deep: the
//! engine's undo as it was (the room before and after, whole, per step) and as it is (one
//! patch per step). The table's own undo, which kept a whole table per step, is gone; its
//! figure is in docs/performance.md.
//!
//! A measurement, not a check: it prints and asserts only that the stacks are full.
//! `cargo test -p arbiter-games --test undo_memory -- --ignored --nocapture` (sizes, not
//! times: any profile gives the same numbers)

#![allow(clippy::unwrap_used)]

use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{Game, Playtest};
use arbiter_games::tcg::{Action, CardId, Config, State, Tcg, ZoneKind};
use serde_json::{Value, json};

const PLAYERS: [&str; 6] = ["ann", "ben", "cat", "dan", "eve", "fay"];
const DEPTH: usize = 20;

fn deck(who: &str) -> Value {
    let list: Vec<Value> = (0..100)
        .map(|i| json!({"name": format!("<{who}#{i}>"), "count": 1, "commander": i == 0}))
        .collect();
    json!({"type": "submit_deck", "list": list})
}

fn act<G: Game<Action = Action>>(t: &mut Playtest<G>, who: &PlayerId, action: Value) {
    let action: Action = serde_json::from_value(action).unwrap();
    if let Err(e) = t.act(who, action) {
        panic!("{who}: {e}");
    }
}

fn battlefield(s: &State, who: &PlayerId) -> Vec<CardId> {
    s.table.players[who]
        .zones
        .get(&ZoneKind::Battlefield)
        .cloned()
        .unwrap_or_default()
}

/// Seat six, start a Commander game, put three cards of each player in play (that reveals
/// them, so it closes every undo window), then take `DEPTH` undoable actions. Calls `each`
/// with the state before and after every one of them.
fn play<G: Game<State = State, Action = Action, Config = Config>>(
    game: G,
    mut each: impl FnMut(&State, &State),
) -> Playtest<G> {
    let mut t = Playtest::with_config(game, json!({"format": "commander"}), 17).unwrap();
    let ids: Vec<PlayerId> = PLAYERS.iter().map(|p| t.seat(p).unwrap()).collect();
    for (id, name) in ids.iter().zip(PLAYERS) {
        act(&mut t, id, deck(name));
    }
    act(&mut t, &ids[0], json!({"type": "start"}));
    for id in &ids {
        act(
            &mut t,
            id,
            json!({"type": "move", "from": {"zone": "hand"}, "count": 3, "to": {"zone": "battlefield"}}),
        );
    }
    for i in 0..DEPTH {
        let who = &ids[i % ids.len()];
        // Each player's taps land on different cards (a tapped card refuses a second tap).
        let card = battlefield(t.state(), who)[(i / PLAYERS.len()) % 3];
        let action = match i % 4 {
            0 => json!({"type": "tap", "cards": [card]}),
            1 => json!({"type": "life", "delta": -1}),
            2 => json!({"type": "counter", "card": card, "name": "+1/+1", "delta": 1}),
            _ => json!({"type": "create_token", "name": "Goblin 1/1"}),
        };
        let before = t.state().clone();
        act(&mut t, who, action);
        each(&before, t.state());
    }
    t
}

fn size<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).unwrap().len()
}

#[test]
#[ignore = "a measurement: run it by name with --ignored --nocapture"]
fn undo_memory_at_a_six_player_commander_table() {
    let mut whole = 0;
    let engine = play(Tcg, |before, after| whole += size(before) + size(after));
    let (steps, _, patches) = engine.undo_depth();
    assert_eq!(steps, DEPTH);

    let state = size(engine.state());
    println!("6-player Commander table, {DEPTH} undoable actions (tap, life, counter, token):");
    println!("  game state (JSON)                         {state:>10} bytes");
    println!("  engine undo, whole states before/after    {whole:>10} bytes");
    println!("  engine undo, patches (held as this text)  {patches:>10} bytes");
    println!(
        "  per step: {} bytes as whole states, {} bytes as patches",
        whole / DEPTH,
        patches / DEPTH
    );
}
