//! Texas hold'em end to end over real sockets: two humans (acting through the Rust client
//! from the legal actions in their own views) and two bots (acting by themselves) play
//! several hands at a seeded table while a spectator watches. Chips are conserved, nobody
//! ever sees another player's hole cards before showdown, and the revealed hand seed
//! reproduces the deck. The clock is frozen: bot pauses and the pause between hands run in
//! virtual time, moved by the test.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello, RoomView};
use arbiter_games::poker::cards::{commitment, deck_from_seed, parse_card, parse_seed};
use arbiter_protocol::{ErrorCode, JoinRole, Role};
use serde_json::{Value, json};
use std::cell::Cell;
use std::time::Duration;
use support::{Clock, advance_until, server_with, within, ws_url};

const HANDS: u64 = 4;
/// Virtual time from a human's action to the next human turn: a few bot pauses (at most
/// 60 ms each) and the 300 ms pause before the next deal, with room to spare, and well short
/// of the 60 s action clock, so no human is ever timed out.
const BETWEEN_HUMAN_TURNS: Duration = Duration::from_secs(5);

async fn connect(addr: std::net::SocketAddr, name: &str) -> Client {
    let (client, events) = Client::connect(&ws_url(addr), Hello::named(name))
        .await
        .unwrap();
    drop(events);
    client
}

/// Wait, without moving the clock, until the client's view of `room` is at version `from` or
/// later and satisfies `pred`; `pred` sees every view the watch delivers on the way.
async fn until(
    client: &Client,
    room: &str,
    from: u64,
    mut pred: impl FnMut(&Value) -> bool,
) -> RoomView {
    let mut watch = client.watch(room);
    within(
        "the view to get there",
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= from && pred(&rv.view))),
    )
    .await
    .unwrap()
    .clone()
    .unwrap()
}

fn live(view: &Value) -> bool {
    view["hand"].is_object() && view["hand"]["street"] != json!("over")
}

/// Hole cards of players other than `me` must be hidden while a hand is live, and after it
/// unless they were shown.
fn assert_hidden(view: &Value, me: Option<&str>) {
    let shown: Vec<String> = view["last_hand"]["seats"]
        .as_array()
        .map(|seats| {
            seats
                .iter()
                .filter(|s| s["shown"] == json!(true))
                .map(|s| s["player"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let over = view["hand"]["street"] == json!("over");
    for (id, p) in view["players"].as_object().unwrap() {
        if Some(id.as_str()) == me || (over && shown.contains(id)) {
            continue;
        }
        assert_eq!(
            p["cards"],
            Value::Null,
            "{me:?} sees the cards of {id}: {view}"
        );
    }
}

/// A cautious human: check when free, call up to 60 chips, otherwise fold; now and then a
/// minimum bet or raise. Every choice comes from the view's `legal`.
fn choose(view: &Value, v: u64) -> Value {
    let legal = &view["legal"];
    if v.is_multiple_of(4) {
        if let Some(min) = legal["bet"]["min"].as_u64() {
            return json!({"type": "bet", "amount": min});
        }
        if let Some(min) = legal["raise"]["min"].as_u64()
            && min <= 100
        {
            return json!({"type": "raise", "amount": min});
        }
    }
    if legal["check"] == json!(true) {
        return json!({"type": "check"});
    }
    match legal["call"].as_u64() {
        Some(c) if c <= 60 => json!({"type": "call"}),
        _ => {
            assert_eq!(legal["fold"], json!(true));
            json!({"type": "fold"})
        }
    }
}

fn chips(view: &Value) -> (u64, u64) {
    let stacks: u64 = view["players"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["stack"].as_u64().unwrap())
        .sum();
    let pot = view["hand"]["pot"].as_u64().unwrap_or(0);
    let cashed = view["cashed_out"].as_u64().unwrap();
    (stacks + pot + cashed, view["bought_in"].as_u64().unwrap())
}

#[tokio::test]
async fn two_humans_and_two_bots_play_several_hands() {
    // Heartbeats are out of the way: virtual time here is the table's clocks only.
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..arbiter_server::Settings::default()
    };
    settings.rooms.allow_seeded_rooms = true;
    let srv = server_with(
        arbiter_games::registry().with(arbiter_games::poker::Poker),
        settings,
    )
    .await;
    let ada = connect(srv.addr(), "Ada").await;
    let bob = connect(srv.addr(), "Bob").await;
    let cy = connect(srv.addr(), "Cy").await;
    let clock = Clock::freeze();
    let created = ada
        .create(CreateRoom {
            seed: Some(2024),
            config: Some(json!({
                "hand_delay_ms": 300,
                "action_timeout_ms": 60_000,
                "bot_delay_min_ms": 20,
                "bot_delay_max_ms": 60,
            })),
            ..CreateRoom::new("poker")
        })
        .await
        .unwrap();
    let room = created.room.id.clone();
    assert_eq!(created.role, Role::Player);
    bob.join(&created.room.code, JoinRole::Player)
        .await
        .unwrap();
    ada.add_bot(&room).await.unwrap();
    ada.add_bot(&room).await.unwrap();
    let watching = cy
        .join(&created.room.code, JoinRole::Spectator)
        .await
        .unwrap();
    assert_eq!(watching.role, Role::Spectator);
    let err = cy.act(&room, json!({"type": "check"})).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAPlayer));

    let (ada_id, bob_id) = (ada.player().id.0.clone(), bob.player().id.0.clone());
    let humans = [(&ada, ada_id.as_str()), (&bob, bob_id.as_str())];
    let mut human_actions = 0;
    let mut refused_once = false;
    let bots_acted = Cell::new(false);
    loop {
        // From Ada's view, letting the bots and the pause between hands run in virtual time:
        // wait for the target, or for a human to have something to do. Each step settles Ada
        // on the room's latest version, so no decision is made on a view older than the last
        // action.
        let (seen, _) = advance_until(
            &srv,
            &ada,
            &room,
            "a human's turn or the last hand",
            BETWEEN_HUMAN_TURNS,
            |view| {
                assert_hidden(view, Some(&ada_id));
                if view["hand"]["actions"].as_array().is_some_and(|actions| {
                    actions.iter().any(|a| {
                        a["player"].as_str().is_some_and(|p| p.starts_with("b_"))
                            && ["fold", "check", "call", "bet", "raise"]
                                .contains(&a["kind"].as_str().unwrap_or(""))
                    })
                }) {
                    bots_acted.set(true);
                }
                view["hands_played"].as_u64().unwrap() >= HANDS
                    || (live(view)
                        && (view["hand"]["to_act"] == json!(ada_id)
                            || view["hand"]["to_act"] == json!(bob_id)))
            },
        )
        .await;
        if seen.view["hands_played"].as_u64().unwrap() >= HANDS {
            break;
        }
        let to_act = seen.view["hand"]["to_act"].as_str().unwrap().to_owned();
        let (client, id) = humans.iter().find(|(_, id)| *id == to_act).unwrap();
        let mine = until(client, &room, seen.v, |view| {
            assert_hidden(view, Some(id));
            view["hand"]["to_act"] == json!(id)
        })
        .await;
        assert_eq!(mine.view["you"], json!(id));
        let cards = mine.view["players"][*id]["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 2, "a player sees their own hole cards");
        if !refused_once {
            // A move outside the legal range is refused and changes nothing.
            let err = client
                .act(&room, json!({"type": "raise", "amount": 1}))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
            refused_once = true;
        }
        let action = choose(&mine.view, mine.v);
        let v = client.act(&room, action.clone()).await.unwrap();
        assert!(v > mine.v, "{action} moved the room on");
        human_actions += 1;
        // The spectator never sees hole cards of a live hand.
        let spectator = cy.view(&room).unwrap();
        assert_hidden(&spectator.view, None);
        assert_eq!(spectator.view["legal"], Value::Null);
    }
    assert!(human_actions > 0);

    // Everyone agrees on the final accounting at one version.
    let final_ada = until(&ada, &room, 0, |v| {
        v["hands_played"].as_u64().unwrap() >= HANDS
    })
    .await;
    let at = final_ada.v;
    let final_bob = until(&bob, &room, at, |_| true).await;
    let final_cy = until(&cy, &room, at, |_| true).await;
    for view in [&final_ada.view, &final_bob.view, &final_cy.view] {
        let (accounted, bought) = chips(view);
        assert_eq!(accounted, bought, "chips are conserved: {view}");
        let per_player: u64 = view["players"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["bought_in"].as_u64().unwrap())
            .sum();
        assert_eq!(
            bought, per_player,
            "nobody left, so every buy-in is at the table"
        );
        assert!(bought >= 4 * 1_000);
    }

    assert!(bots_acted.get(), "the bots made decisions of their own");
    let record = &final_ada.view["last_hand"];

    // The revealed seed matches the commitment and reproduces the deck: Ada's own hole cards
    // and the board are where the documented algorithm puts them.
    let seed = parse_seed(record["seed"].as_str().unwrap()).unwrap();
    assert_eq!(commitment(&seed), record["commitment"].as_str().unwrap());
    let deck = deck_from_seed(&seed);
    let seats = record["seats"].as_array().unwrap();
    let n = seats.len();
    let button = record["button"].as_u64().unwrap();
    let start = seats
        .iter()
        .position(|s| s["seat"].as_u64().unwrap() > button)
        .unwrap_or(0);
    for k in 0..n {
        let s = &seats[(start + k) % n];
        if let Some(hole) = s["hole"].as_array() {
            let got: Vec<u8> = hole
                .iter()
                .map(|c| parse_card(c.as_str().unwrap()).unwrap())
                .collect();
            assert_eq!(got, vec![deck[k], deck[n + k]], "{}", s["player"]);
        }
    }
    let board: Vec<u8> = record["board"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| parse_card(c.as_str().unwrap()).unwrap())
        .collect();
    let slots = [2 * n + 1, 2 * n + 2, 2 * n + 3, 2 * n + 5, 2 * n + 7];
    for (i, c) in board.iter().enumerate() {
        assert_eq!(*c, deck[slots[i]]);
    }
    clock.thaw();
    srv.stop().await.unwrap();
}
