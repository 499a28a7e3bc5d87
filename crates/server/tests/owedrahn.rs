//! Owe Drahn over real sockets: two humans and two bots play a seeded game to the end. One
//! human disconnects mid-game and their turns are skipped; a latecomer watches instead of
//! playing; side bets and the main bet settle zero-sum and the table resets for the next game.
//! The clock is frozen: bot pauses, the turn clock and the reset run in virtual time.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::{ErrorCode, JoinRole, Role};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Clock, advance_until, server_with, within, ws_url};

async fn connect(addr: std::net::SocketAddr, name: &str) -> Client {
    Client::connect(&ws_url(addr), Hello::named(name))
        .await
        .unwrap()
        .0
}

/// Wait until the room's view satisfies `pred` without moving the clock.
async fn until(client: &Client, room: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut watch = client.watch(room);
    within(
        what,
        watch.wait_for(|v| v.as_ref().is_some_and(|v| pred(&v.view))),
    )
    .await
    .unwrap()
    .clone()
    .unwrap()
    .view
}

fn money(view: &Value) -> i64 {
    let seated: i64 = view["players"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["balance_cents"].as_i64().unwrap())
        .sum();
    let gone: i64 = view["departed"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["balance_cents"].as_i64().unwrap())
        .sum();
    seated + gone + view["pot_cents"].as_i64().unwrap()
}

/// The room's `turn_timeout_ms` and `reset_delay_ms`.
const TURN: Duration = Duration::from_millis(300);
const RESET: Duration = Duration::from_millis(800);
/// Virtual time a bot may take to answer: its pause, with room to spare.
const BOT_TURN: Duration = Duration::from_secs(5);
/// Virtual time from Ada's move to her next turn: Bob's clock and both bots' turns.
const ROUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn humans_and_bots_play_a_seeded_game_to_the_end() {
    // Heartbeats are out of the way: virtual time here is the game's clocks only.
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..arbiter_server::Settings::default()
    };
    settings.rooms.allow_seeded_rooms = true;
    let registry = arbiter_engine::Registry::new().with(arbiter_games::owedrahn::OweDrahn);
    let srv = server_with(registry, settings).await;
    let ada = connect(srv.addr(), "Ada").await;
    let bob = connect(srv.addr(), "Bob").await;
    let cy = connect(srv.addr(), "Cy").await;
    let clock = Clock::freeze();
    let (ada_id, bob_id) = (
        ada.player().id.as_str().to_owned(),
        bob.player().id.as_str().to_owned(),
    );

    let created = ada
        .create(CreateRoom {
            seed: Some(2024),
            config: Some(json!({"lives": 3, "turn_timeout_ms": 300, "reset_delay_ms": 800})),
            ..CreateRoom::new("owedrahn")
        })
        .await
        .unwrap();
    let room = created.room.id.clone();
    bob.join(&room, JoinRole::Player).await.unwrap();
    let bot1 = ada.add_bot(&room).await.unwrap();
    ada.add_bot(&room).await.unwrap();
    let bot1_id = bot1.id.as_str().to_owned();

    // A side bet the bot accepts (it takes bets up to two main bets), then everyone readies.
    ada.act(
        &room,
        json!({"type": "propose_bet", "opponent": bot1_id, "amount_cents": 150}),
    )
    .await
    .unwrap();
    advance_until(&srv, &ada, &room, "the bot accepting", BOT_TURN, |v| {
        v["side_bets"]["1"]["status"] == "accepted"
    })
    .await;
    let err = ada
        .act(&room, json!({"type": "roll"}))
        .await
        .expect_err("not started");
    assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
    ada.act(&room, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    bob.act(&room, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    let (view, _) = advance_until(&srv, &ada, &room, "the game to start", BOT_TURN, |v| {
        v["phase"] == "playing"
    })
    .await;
    let view = view.view;
    assert_eq!(view["order"].as_array().unwrap().len(), 4);
    assert_eq!(view["round"], 1);

    // A latecomer cannot take a seat mid-game: asking for any role makes them a spectator.
    let err = cy.join(&room, JoinRole::Player).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::JoinRefused));
    let watching = cy.join(&room, JoinRole::Any).await.unwrap();
    assert_eq!(watching.role, Role::Spectator);
    assert!(watching.notice.unwrap().contains("in progress"));
    let err = cy.act(&room, json!({"type": "roll"})).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAPlayer));

    // Bob drops out; the game is told and his turns are skipped after the timeout.
    bob.close();
    bob.closed().await;
    until(&ada, &room, "bob to show as disconnected", |v| {
        v["players"][&bob_id]["connected"] == false
    })
    .await;

    let mut skipped = false;
    let mut seen_rolls = 0;
    let end = loop {
        // Time moves only here, while it is not Ada's turn: her own clock never runs out.
        let (rv, waited) = advance_until(&srv, &ada, &room, "ada's turn or the end", ROUND, |v| {
            v["phase"] == "over" || v["turn"] == json!(ada_id)
        })
        .await;
        let view = rv.view;
        if view["event"]["type"] == "skipped" {
            assert!(waited >= TURN, "bob was skipped after only {waited:?}");
            skipped = true;
        }
        seen_rolls = seen_rolls.max(view["rolls"].as_array().unwrap().len());
        assert_eq!(money(&view), 0, "money is conserved");
        if view["phase"] == "over" {
            break view;
        }
        let me = &view["players"][&ada_id];
        let total = view["total"].as_u64().unwrap();
        let action = if me["life"].as_u64().unwrap() > 1 && total >= 12 && me["choosing"] == false {
            json!({"type": "owe_drahn"})
        } else {
            json!({"type": "roll"})
        };
        ada.act(&room, action).await.unwrap();
    };
    let winner = end["winner"].as_str().unwrap().to_owned();
    assert!(end["players"][&winner]["life"].as_u64().unwrap() > 0);
    let alive = end["players"]
        .as_object()
        .unwrap()
        .values()
        .filter(|p| p["life"].as_u64().unwrap() > 0)
        .count();
    assert_eq!(alive, 1, "one player is left");
    assert_eq!(end["side_bets"]["1"]["status"], "settled");
    assert_eq!(money(&end), 0);
    assert_eq!(end["pot_cents"], 0);
    let deaths = end["deaths"].as_array().unwrap().len();
    assert_eq!(deaths, 3);
    assert!(seen_rolls > 0);
    let bob_rolls = end["rolls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["player"] == json!(bob_id))
        .count();
    assert_eq!(bob_rolls, 0, "an absent player never rolls");
    if winner != bob_id {
        // Out without a single roll: his skipped turns cost him his lives.
        assert!(end["deaths"].as_array().unwrap().contains(&json!(bob_id)));
        assert!(skipped || end["players"][&bob_id]["life"] == 0);
    }

    // The table resets by itself after its delay; balances carry over and the spectator saw
    // it all.
    let (lobby, waited) = advance_until(&srv, &cy, &room, "the reset", 2 * RESET, |v| {
        v["phase"] == "lobby"
    })
    .await;
    let lobby = lobby.view;
    assert!(
        waited >= RESET - Duration::from_millis(10),
        "reset after {waited:?}"
    );
    assert_eq!(lobby["round"], 1);
    for (id, p) in end["players"].as_object().unwrap() {
        assert_eq!(lobby["players"][id]["balance_cents"], p["balance_cents"]);
        assert_eq!(lobby["players"][id]["life"], 3);
        assert_eq!(lobby["players"][id]["stats"]["games"], 1);
    }
    assert_eq!(
        lobby["players"][&winner]["stats"]["wins"], 1,
        "the winner's stats count the win"
    );
    clock.thaw();
    srv.stop().await.unwrap();
}
