//! Every built-in game under a hostile player: reach a state by random legal play, then let
//! the fuzz input act in it.

use arbiter_engine::{Game, Playtest, Status, Viewer};
use arbiter_protocol::PlayerId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

/// Bytes before the action: two select the state, one the actor and what they do.
pub(super) const PREFIX: usize = 3;

/// States kept per thread; building one is random play from the start, acting on one is a
/// clone, so the cache is what makes millions of executions affordable.
const CACHED: usize = 2_048;

/// Most random steps before the fuzz action.
const MAX_STEPS: u32 = 80;

/// Cached states by (game name, selector); each is a `Playtest` of that game.
type Tables = HashMap<(&'static str, u16), Box<dyn Any>>;

thread_local! {
    static TABLES: RefCell<Tables> = RefCell::new(HashMap::new());
}

/// `game_<name>`: input bytes 0–1 select a state (reached by random legal play seeded by
/// them), byte 2 the actor (a seat, or someone without one) and the entry (`act` mostly,
/// sometimes `undo` or `redo`), the rest is the action as JSON.
///
/// Invariants: no panic; a refused entry leaves state, seats, timers and version as they
/// were; an accepted one leaves a state that serialises, deserialises to the same JSON (a
/// snapshot restores it), replays from the log to the same room (checked for one state in
/// eight: replay costs the whole log), and whose view, status,
/// history and legal actions can be asked for every seat and a spectator.
pub(crate) fn act<G: Game + Default + Clone>(input: &[u8]) {
    let [a, b, who, ref action @ ..] = *input else {
        return;
    };
    let Ok(action) = serde_json::from_slice::<Value>(action) else {
        return;
    };
    let mut table = table::<G>(u16::from_le_bytes([a, b]));
    let seats: Vec<PlayerId> = table.seats().ids().cloned().collect();
    let actor = seats
        .get(usize::from(who & 0x0f) % (seats.len() + 1))
        .cloned()
        .unwrap_or_else(|| PlayerId("p_stranger".to_owned()));
    let before = fingerprint(&table);
    let result = match who >> 4 {
        0 => table.undo(&actor),
        1 => table.redo(&actor),
        // A game that ticks takes its inputs at the next tick (which then fires).
        _ if table.timers().tick_due().is_some() && who & 0x0f == 0x0f => {
            match table.input_json(&actor, action) {
                Ok(()) => Ok(table.tick().unwrap_or(0)),
                Err(e) => Err(e),
            }
        }
        _ => table.act_json(&actor, action),
    };
    match result {
        Err(_) => assert_eq!(
            fingerprint(&table),
            before,
            "a refused entry changed the room"
        ),
        // Replay costs the whole log, so one state selector in eight checks it.
        Ok(_) => accepted(&table, a % 8 == 0),
    }
}

fn accepted<G: Game + Default + Clone>(table: &Playtest<G>, replay: bool) {
    let game = G::default();
    let state = serde_json::to_value(table.state()).expect("an accepted state serialises");
    let restored: G::State =
        serde_json::from_value(state.clone()).expect("a serialised state deserialises");
    assert_eq!(
        serde_json::to_value(&restored).expect("a restored state serialises"),
        state,
        "a state does not survive a snapshot"
    );
    if replay && let Err(e) = table.check_replay() {
        panic!("replay disagrees with live play: {e}");
    }
    let mut viewers = vec![Viewer::Spectator];
    viewers.extend(table.seats().ids().cloned().map(Viewer::Player));
    for viewer in &viewers {
        table.view(viewer);
        game.history(table.state(), viewer);
    }
    table.status();
    for id in table.seats().ids() {
        table.legal_actions(id);
    }
}

/// What a refused entry must not change.
fn fingerprint<G: Game>(table: &Playtest<G>) -> (String, String, String, u64) {
    let json = |v: Result<String, serde_json::Error>| v.expect("the room serialises");
    (
        json(serde_json::to_string(table.state())),
        json(serde_json::to_string(table.seats())),
        json(serde_json::to_string(table.timers())),
        table.version(),
    )
}

/// The state `selector` names, from the cache or built now.
fn table<G: Game + Default + Clone>(selector: u16) -> Playtest<G> {
    let name = G::default().info().name;
    let cached = TABLES.with(|t| {
        t.borrow()
            .get(&(name, selector))
            .and_then(|b| b.downcast_ref::<Playtest<G>>())
            .cloned()
    });
    if let Some(table) = cached {
        return table;
    }
    let table = play::<G>(selector);
    TABLES.with(|t| {
        let mut t = t.borrow_mut();
        if t.len() >= CACHED {
            t.clear();
        }
        t.insert((name, selector), Box::new(table.clone()));
    });
    table
}

/// Seat some players and play random legal actions (and let time pass) from the start.
fn play<G: Game + Default + Clone>(selector: u16) -> Playtest<G> {
    let game = G::default();
    let info = game.info();
    let mut rng = ChaCha8Rng::seed_from_u64(u64::from(selector));
    let mut table = Playtest::with_config(game, Value::Null, u64::from(selector) + 1)
        .expect("the default config sets up");
    let players = rng.random_range(info.min_players.max(1)..=info.max_players.clamp(1, 6));
    for n in 0..players {
        if table.seat(&format!("s{n}")).is_err() {
            break;
        }
    }
    let seated: Vec<PlayerId> = table.seats().ids().cloned().collect();
    if info.name == "tcg" && rng.random_ratio(4, 5) {
        for (n, p) in seated.iter().enumerate() {
            let _ = table.act_json(p, tcg::deck(n));
        }
        let _ = table.act_json(&seated[0], json!({"type": "start"}));
    }
    for _ in 0..rng.random_range(0..=MAX_STEPS) {
        if matches!(table.status(), Status::Finished { .. }) {
            break;
        }
        if info.name == "tcg" {
            let p = &seated[rng.random_range(0..seated.len())];
            let other = &seated[rng.random_range(0..seated.len())];
            let _ = table.act_json(p, tcg::action(&mut rng, other));
            continue;
        }
        let movers: Vec<(PlayerId, Vec<G::Action>)> = table
            .seats()
            .ids()
            .map(|p| (p.clone(), table.legal_actions(p)))
            .filter(|(_, actions)| !actions.is_empty())
            .collect();
        if movers.is_empty() || rng.random_ratio(1, 10) {
            table.advance(rng.random_range(1..=60_000));
            continue;
        }
        let (player, actions) = &movers[rng.random_range(0..movers.len())];
        let action = actions[rng.random_range(0..actions.len())].clone();
        // A listed action may still be refused (the list is a hint); play on either way. A
        // ticking game's inputs wait for its next tick.
        if table.input(player, action.clone()).is_err() {
            let _ = table.act(player, action);
        }
    }
    table
}

/// Tabletop has no legal-action list (anything goes on a tabletop), so random play draws
/// from the kinds of action its golden test plays.
mod tcg {
    use super::*;

    /// A legal 60-card deck for seat `n`.
    pub(super) fn deck(n: usize) -> Value {
        let list: Vec<Value> = (0..60)
            .map(|i| json!({"name": format!("s{n} card {i}"), "count": 1}))
            .collect();
        json!({"type": "submit_deck", "list": list})
    }

    /// A random table action; card ids are small numbers, so most name a real card.
    pub(super) fn action(rng: &mut ChaCha8Rng, other: &PlayerId) -> Value {
        let zones = [
            "library",
            "hand",
            "battlefield",
            "graveyard",
            "exile",
            "command",
            "stack",
        ];
        let zone = zones[rng.random_range(0..zones.len())];
        let (c1, c2) = (rng.random_range(0..250u32), rng.random_range(0..250u32));
        let delta = rng.random_range(-3..=3i64);
        match rng.random_range(0..26u32) {
            0 => json!({"type": "restart"}),
            1..=3 => json!({"type": "draw", "n": rng.random_range(1..=3)}),
            4 => json!({"type": "mulligan"}),
            5 => json!({"type": "shuffle"}),
            6..=9 => json!({"type": "move", "cards": [c1], "to": {"zone": zone}}),
            10 => {
                json!({"type": "move", "from": {"zone": "library"}, "count": 2, "to": {"zone": zone}})
            }
            11 => {
                json!({"type": "create_token", "name": "Goblin", "count": rng.random_range(1..=2)})
            }
            12 => json!({"type": "turn_face", "cards": [c1], "face_down": rng.random_bool(0.5)}),
            13 => json!({"type": "reveal", "cards": [c1], "to": other}),
            14 => json!({"type": "look", "n": 2, "player": other}),
            15 => json!({"type": "tap", "cards": [c1]}),
            16 => json!({"type": "untap_all"}),
            17 => json!({"type": "counter", "card": c1, "name": "+1/+1", "delta": delta}),
            18 => json!({"type": "attach", "card": c1, "to": c2}),
            19 => json!({"type": "detach", "card": c1}),
            20 => json!({"type": "life", "player": other, "delta": delta * 5}),
            21 => json!({"type": "player_counter", "name": "poison", "delta": delta}),
            22 => json!({"type": "commander_damage", "from": other, "delta": delta * 4}),
            23 => json!({"type": "pass_turn"}),
            24 => json!({"type": "advance_phase"}),
            _ => json!({"type": "roll", "sides": 20}),
        }
    }
}

/// Seeds for the corpus: in each of the first states, the first legal action of the first
/// seat that has one (a random table action in Tabletop, which lists none).
pub(super) fn seeds<G: Game + Default + Clone>(count: usize) -> Vec<Vec<u8>> {
    let name = G::default().info().name;
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut out = Vec::new();
    for selector in 0u16..512 {
        if out.len() >= count {
            break;
        }
        let table = play::<G>(selector);
        let seats: Vec<PlayerId> = table.seats().ids().cloned().collect();
        let listed = seats.iter().enumerate().find_map(|(n, id)| {
            let action = table.legal_actions(id).into_iter().next()?;
            Some((
                n,
                serde_json::to_value(action).expect("an action serialises"),
            ))
        });
        let found = listed.or_else(|| {
            let n = rng.random_range(0..seats.len().max(1));
            let other = seats.get(n)?;
            (name == "tcg").then(|| (n, tcg::action(&mut rng, other)))
        });
        if let Some((n, action)) = found {
            let mut seed = selector.to_le_bytes().to_vec();
            seed.push(0xf0 | n as u8);
            seed.extend(serde_json::to_vec(&action).expect("an action serialises"));
            out.push(seed);
        }
    }
    out
}
