//! The dice game end to end over real sockets: two humans and a bot play a seeded game to a
//! winner (twice, to show the seed makes it reproducible), a latecomer becomes a spectator,
//! and a disconnected player's turn is skipped when the turn clock runs out. The clock is
//! frozen: bot pauses, bust delays and the turn clock run in virtual time, moved by the test.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello, RoomView};
use arbiter_protocol::{ErrorCode, JoinRole, Role};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Clock, advance_until, human_choice, server_with, within, ws_url};

/// Virtual time the bot and the bust delays may take before a human is on turn again.
const BOT_TURN: Duration = Duration::from_secs(30);

async fn seeded_server() -> arbiter_server::Running {
    // Heartbeats are out of the way: virtual time here is the game's clocks only.
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..arbiter_server::Settings::default()
    };
    settings.rooms.allow_seeded_rooms = true;
    server_with(
        arbiter_games::registry().with(arbiter_games::dicegame::DiceGame),
        settings,
    )
    .await
}

async fn connect(addr: std::net::SocketAddr, name: &str) -> Client {
    let (client, events) = Client::connect(&ws_url(addr), Hello::named(name))
        .await
        .unwrap();
    drop(events);
    client
}

/// Wait, without moving the clock, until the client's view of `room` satisfies `pred`.
async fn until(client: &Client, room: &str, pred: impl Fn(&Value) -> bool) -> RoomView {
    let mut watch = client.watch(room);
    within(
        "the view",
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| pred(&rv.view))),
    )
    .await
    .unwrap()
    .clone()
    .unwrap()
}

/// Wait until the client's view reaches version `v` exactly.
async fn at_version(client: &Client, room: &str, v: u64) -> Value {
    let mut watch = client.watch(room);
    let got = within(
        "the final version",
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= v)),
    )
    .await
    .unwrap()
    .clone()
    .unwrap();
    assert_eq!(got.v, v, "overshot the final version");
    got.view
}

/// One seeded game: Ada and Bob (humans) and a bot to 1000 (this seed makes a seven-turn
/// game); Cy arrives late and watches.
/// Returns the final view every participant agreed on.
async fn play_one(
    srv: &arbiter_server::Running,
    ada: &Client,
    bob: &Client,
    cy: &Client,
    seed: u64,
) -> Value {
    let created = ada
        .create(CreateRoom {
            seed: Some(seed),
            config: Some(json!({"target": 1000, "bust_delay_ms": 200, "bot_delay_ms": [20, 60]})),
            ..CreateRoom::new("dicegame")
        })
        .await
        .unwrap();
    let room = created.room.id.clone();
    assert_eq!(created.room.max_players, 6);
    let joined = bob.join(&created.room.code, JoinRole::Any).await.unwrap();
    assert_eq!(joined.role, Role::Player);
    let bot = ada.add_bot(&room).await.unwrap();
    assert!(bot.bot);
    assert_eq!(bot.name, "Ctibor the Tanner");

    let waiting = until(ada, &room, |v| v["players"].as_object().unwrap().len() == 3).await;
    assert_eq!(waiting.view["phase"], json!("waiting"));
    assert_eq!(waiting.view["legal"], json!([{"type": "start"}]));
    bob.act(&room, json!({"type": "start"})).await.unwrap();

    // After the start: a latecomer asking for any role watches, with a notice; a bot is refused.
    let late = cy.join(&room, JoinRole::Any).await.unwrap();
    assert_eq!(late.role, Role::Spectator);
    assert!(late.notice.unwrap().contains("the game has started"));
    let err = ada.add_bot(&room).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::JoinRefused));
    let err = cy.act(&room, json!({"type": "roll"})).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAPlayer));

    let ada_id = ada.player().id.as_str().to_owned();
    let bob_id = bob.player().id.as_str().to_owned();
    let mut human_moves = 0;
    let final_v = loop {
        // Time moves only while no human is on turn; Ada's copy catches up with the room first.
        let (rv, _) = advance_until(
            srv,
            ada,
            &room,
            "a human's turn or the end",
            BOT_TURN,
            |v| {
                v["phase"] == json!("over")
                    || ((v["turn"] == json!(ada_id) || v["turn"] == json!(bob_id))
                        && !v["legal"].as_array().unwrap().is_empty())
            },
        )
        .await;
        if rv.view["phase"] == json!("over") {
            break rv.v;
        }
        let (mover, other) = if rv.view["turn"] == json!(ada_id) {
            (ada, bob)
        } else {
            (bob, ada)
        };
        // The player not on turn is told so.
        let err = other.act(&room, json!({"type": "roll"})).await.unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotYourTurn));
        let v = mover.act(&room, human_choice(&rv.view)).await.unwrap();
        assert_eq!(v, rv.v + 1, "nothing else happens on a human's turn");
        human_moves += 1;
        assert!(human_moves < 400, "the game does not end");
    };

    let views = [
        at_version(ada, &room, final_v).await,
        at_version(bob, &room, final_v).await,
        at_version(cy, &room, final_v).await,
    ];
    assert!(
        views.iter().all(|v| *v == views[0]),
        "every participant sees the same final view"
    );
    let end = &views[0];
    let winner = end["winner"].as_str().expect("a winner").to_owned();
    assert!(end["players"][&winner]["score"].as_u64().unwrap() >= 1000);
    assert!(
        end["turn_no"].as_u64().unwrap() >= 4,
        "with three seats in turn, every seat (the bot too) played a turn"
    );
    assert_eq!(end["winner_name"], end["players"][&winner]["name"]);
    assert_eq!(end["turn"], Value::Null);
    assert_eq!(end["legal"], json!([{"type": "restart"}]));
    assert!(
        end["players"]
            .as_object()
            .unwrap()
            .values()
            .all(|p| p["connected"] == json!(true))
    );
    end.clone()
}

#[tokio::test]
async fn two_humans_and_a_bot_play_a_seeded_game_to_a_winner_reproducibly() {
    let srv = seeded_server().await;
    // The same clients play both games, so the player ids (keys of the view) are the same.
    let ada = connect(srv.addr(), "Ada").await;
    let bob = connect(srv.addr(), "Bob").await;
    let cy = connect(srv.addr(), "Cy").await;
    let clock = Clock::freeze();
    let first = play_one(&srv, &ada, &bob, &cy, 8).await;
    let again = play_one(&srv, &ada, &bob, &cy, 8).await;
    assert_eq!(first, again, "the same seed plays the same game");
    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_disconnected_players_turn_is_skipped_when_the_clock_runs_out() {
    const TURN: Duration = Duration::from_millis(1500);
    let srv = seeded_server().await;
    let ada = connect(srv.addr(), "Ada").await;
    let bob = connect(srv.addr(), "Bob").await;
    let clock = Clock::freeze();
    let room = ada
        .create(CreateRoom {
            seed: Some(5),
            config: Some(json!({"turn_timeout_ms": 1500})),
            ..CreateRoom::new("dicegame")
        })
        .await
        .unwrap()
        .room;
    bob.join(&room.id, JoinRole::Player).await.unwrap();
    ada.act(&room.id, json!({"type": "start"})).await.unwrap();
    let bob_id = bob.player().id.as_str().to_owned();
    let ada_id = ada.player().id.as_str().to_owned();
    bob.close();
    bob.closed().await;
    let gone = until(&ada, &room.id, |v| {
        v["players"][&bob_id]["connected"] == json!(false)
    })
    .await;
    assert!(gone.view["turn_deadline_ms"].as_u64().is_some());

    // Ada plays her turns (roll, then bank whatever scores); Bob's turn comes and goes.
    let mut skipped = 0;
    let mut seen_bob_turn = None;
    while skipped < 2 {
        // After a bust the turn passes once the bust delay is over.
        let (rv, _) = advance_until(&srv, &ada, &room.id, "a turn to take", BOT_TURN, |v| {
            v["turn"] == json!(bob_id) || !v["legal"].as_array().unwrap().is_empty()
        })
        .await;
        let turn_no = rv.view["turn_no"].as_u64().unwrap();
        if rv.view["turn"] == json!(bob_id) {
            if seen_bob_turn != Some(turn_no) {
                seen_bob_turn = Some(turn_no);
                // Bob's clock runs out at its deadline, not before.
                let (next, waited) = advance_until(
                    &srv,
                    &ada,
                    &room.id,
                    "bob's turn to be skipped",
                    2 * TURN,
                    |v| v["turn_no"].as_u64().unwrap() > turn_no,
                )
                .await;
                assert!(
                    waited >= TURN - Duration::from_millis(10),
                    "skipped after {waited:?}"
                );
                assert_eq!(next.view["turn"], json!(ada_id));
                assert_eq!(next.view["turn_no"], json!(turn_no + 1));
                assert_eq!(next.view["players"][&bob_id]["score"], json!(0));
                skipped += 1;
            }
            continue;
        }
        let action = human_choice(&rv.view);
        let action = if action["type"] == json!("set_aside") {
            json!({"type": "set_aside", "end_turn": true})
        } else {
            action
        };
        // A bust passes Ada's turn by itself; the loop then sees Bob's turn.
        ada.act(&room.id, action).await.unwrap();
    }
    clock.thaw();
    srv.stop().await.unwrap();
}
