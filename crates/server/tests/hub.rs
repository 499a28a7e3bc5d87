//! The Go game server's protocol on `/hub/ws`: its router, room, room manager and session
//! tests (drdreo/hub `internal/router`, `internal/room`, `internal/session`), re-expressed as
//! black-box WebSocket tests. docs/hub-compat.md lists them and where they deliberately
//! differ.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::legacy::{Legacy, of_type};
use support::{get, server};

fn names(msgs: &[Value]) -> Vec<&str> {
    msgs.iter().map(|m| m["type"].as_str().unwrap()).collect()
}

/// Ada makes a tic-tac-toe room and Bob joins it: their clients, Ada's id and the room.
async fn ada_and_bob(addr: std::net::SocketAddr) -> (Legacy, Legacy, String, String) {
    let mut a = Legacy::connect(addr, "tictactoe").await;
    let mut b = Legacy::connect(addr, "tictactoe").await;
    let (ada, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    (a, b, ada, room)
}

// ---- router_test.go ----

#[tokio::test]
async fn invalid_json_gets_one_error() {
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.until("room_list_update").await;
    for bad in ["{not json", "[]", r#"{"type": 7}"#, r#"{"data": {}}"#] {
        c.send_text(bad).await;
        let answer = c.next().await;
        assert_eq!(
            answer,
            json!({"type": "error", "success": false, "error": "invalid message format"}),
            "{bad}"
        );
        assert_eq!(
            names(&c.all_sent().await),
            Vec::<&str>::new(),
            "one answer to {bad}"
        );
    }
}

#[tokio::test]
async fn create_room_no_longer_exists() {
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.send("create_room", json!({"gameType": "tictactoe"}))
        .await;
    assert_eq!(
        c.failure("error").await,
        "Unknown message type: create_room"
    );
}

#[tokio::test]
async fn join_room_without_options_or_name_fails() {
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.send("join_room", Value::Null).await;
    assert_eq!(
        c.failure("join_room_result").await,
        "game options are invalid"
    );
    c.send("join_room", json!({})).await;
    assert_eq!(
        c.failure("join_room_result").await,
        "player name is required"
    );
    c.send("join_room", json!({"playerName": "Ada"})).await;
    assert_eq!(c.failure("join_room_result").await, "game type is required");
    c.send(
        "join_room",
        json!({"playerName": "Ada", "gameType": "chess"}),
    )
    .await;
    assert_eq!(c.failure("join_room_result").await, "unknown game type");
    c.send(
        "join_room",
        json!({"playerName": "A".repeat(40), "gameType": "tictactoe"}),
    )
    .await;
    assert_eq!(
        c.failure("join_room_result").await,
        "player name is invalid: name must be at most 32 characters"
    );
    assert!(c.all_sent().await.is_empty(), "one answer");
    c.send("join_room", json!({"playerName": "Ada", "gameType": 5}))
        .await;
    assert_eq!(
        c.failure("join_room_result").await,
        "game options are invalid"
    );
}

#[tokio::test]
async fn create_and_join_answer_each_client_once() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (ada, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let (bob, joined) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    assert_eq!(room, joined);
    assert_ne!(ada, bob);
    let (a_sent, b_sent) = (a.all_sent().await, b.all_sent().await);
    assert!(
        of_type(&a_sent, "join_room_result").is_empty(),
        "{a_sent:?}"
    );
    assert!(
        of_type(&b_sent, "join_room_result").is_empty(),
        "{b_sent:?}"
    );
    // A join while in a room answers with the room the client is in.
    a.send(
        "join_room",
        json!({"gameType": "tictactoe", "playerName": "Ada"}),
    )
    .await;
    let again = a.until("reconnect_result").await;
    assert_eq!(again["data"], json!({"clientId": ada, "roomId": room}));
}

#[tokio::test]
async fn leave_room_outside_a_room_fails() {
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.send("leave_room", Value::Null).await;
    assert_eq!(
        c.failure("leave_room_result").await,
        "client is not in a room"
    );
}

#[tokio::test]
async fn reconnect_after_close_gets_the_room_back() {
    let srv = server().await;
    let (a, mut b, ada, room) = ada_and_bob(srv.addr()).await;
    a.close().await;
    let left = b.until("client_left").await;
    assert_eq!(left["data"]["clientId"], ada);

    let mut again = Legacy::connect(srv.addr(), "tictactoe").await;
    again
        .send("reconnect", json!({"clientId": ada, "roomId": room}))
        .await;
    let r = again.until("reconnect_result").await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["roomId"], room);
    assert_eq!(r["data"]["gameType"], "tictactoe");
    // Arbiter keeps the player's identity: the "new" client id is the same id.
    assert_eq!(r["data"]["clientId"], ada);
    let state = again.until("game_state").await;
    assert_eq!(
        state["data"]["players"][&ada]["symbol"], "X",
        "the seat is back"
    );
    let greeting = again.until("reconnected").await;
    assert_eq!(
        greeting["data"],
        json!({"clientId": ada, "symbol": "X", "roomId": room})
    );
    let back = b.until("client_joined").await;
    assert_eq!(back["data"]["clientId"], ada);

    // A session is taken once.
    let mut thief = Legacy::connect(srv.addr(), "tictactoe").await;
    thief.send("reconnect", json!({"clientId": ada})).await;
    assert_eq!(
        thief.failure("reconnect_result").await,
        "session expired or not found"
    );
}

#[tokio::test]
async fn a_legacy_session_outlives_a_restart_of_the_server() {
    let dir = tempfile_dir("hub-restart");
    let db = dir.join("arbiter.db");
    let srv = support::durable_server(&db).await;
    let (a, mut b, ada, room) = ada_and_bob(srv.addr()).await;
    a.close().await;
    // The session is stored before the room hears that Ada left.
    assert_eq!(b.until("client_left").await["data"]["clientId"], ada);
    drop(b);
    srv.stop().await.unwrap();

    let srv = support::durable_server(&db).await;
    let mut again = Legacy::connect(srv.addr(), "tictactoe").await;
    again
        .send("reconnect", json!({"clientId": ada, "roomId": room}))
        .await;
    let r = again.until("reconnect_result").await;
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["data"]["clientId"], ada);
    let state = again.until("game_state").await;
    assert_eq!(
        state["data"]["players"][&ada]["symbol"], "X",
        "the seat is back"
    );
    // Taken once, from the store too.
    let mut thief = Legacy::connect(srv.addr(), "tictactoe").await;
    thief.send("reconnect", json!({"clientId": ada})).await;
    assert_eq!(
        thief.failure("reconnect_result").await,
        "session expired or not found"
    );
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---- internal/session/store_test.go (the expiry test the Go suite left commented out) ----

#[tokio::test]
async fn a_session_can_be_taken_for_fifteen_minutes() {
    let _clock = support::Clock::freeze();
    let hour = std::time::Duration::from_secs(3_600);
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: hour,
        ..arbiter_server::Settings::default()
    };
    settings.rooms.seat_grace = hour;
    settings.rooms.lifetimes.empty = hour;
    settings.rooms.lifetimes.abandoned = hour;
    let srv = support::server_with(arbiter_games::registry(), settings).await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (ada, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    a.close().await;
    b.until("client_left").await;
    b.close().await;
    support::step_until("both sessions kept", hour, || srv.open_connections() == 0).await;

    tokio::time::advance(std::time::Duration::from_secs(15 * 60 - 5)).await;
    let mut ada_again = Legacy::connect(srv.addr(), "tictactoe").await;
    ada_again.send("reconnect", json!({"clientId": ada})).await;
    let r = ada_again.until("reconnect_result").await;
    assert_eq!(r["success"], true, "{r}");

    tokio::time::advance(std::time::Duration::from_secs(10)).await;
    let mut bob_again = Legacy::connect(srv.addr(), "tictactoe").await;
    bob_again.send("reconnect", json!({"clientId": bob})).await;
    assert_eq!(
        bob_again.failure("reconnect_result").await,
        "session expired or not found"
    );
}

#[tokio::test]
async fn reconnect_as_a_connected_client_fails() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let (ada, _) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    b.send("reconnect", json!({"clientId": ada})).await;
    assert_eq!(
        b.failure("reconnect_result").await,
        "session expired or not found"
    );
    b.send("reconnect", json!({"clientId": "nobody"})).await;
    assert_eq!(
        b.failure("reconnect_result").await,
        "session expired or not found"
    );
    a.send("reconnect", json!({"clientId": ada})).await;
    assert_eq!(
        a.failure("reconnect_result").await,
        "client is already in a room"
    );
}

#[tokio::test]
async fn add_bot_in_a_room_succeeds() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "dicegame").await;
    a.join(json!({"gameType": "dicegame", "playerName": "Ada"}))
        .await;
    a.send("add_bot", Value::Null).await;
    let mut sent = a.through("add_bot_result").await;
    assert_eq!(
        sent.last().unwrap(),
        &json!({"type": "add_bot_result", "success": true})
    );
    sent.extend(a.all_sent().await);
    let joined = of_type(&sent, "client_joined");
    assert_eq!(joined.len(), 1, "{sent:?}");
    assert!(
        joined[0]["data"]["clientId"]
            .as_str()
            .unwrap()
            .starts_with("b_"),
        "{joined:?}"
    );
}

#[tokio::test]
async fn game_action_and_add_bot_outside_a_room_fail() {
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.send(
        "game_action",
        json!({"action": "make_move", "row": 0, "col": 0}),
    )
    .await;
    assert_eq!(
        c.failure("game_action_result").await,
        "client is not in a room"
    );
    c.send("add_bot", Value::Null).await;
    assert_eq!(c.failure("add_bot_result").await, "client is not in a room");
    c.send("make_move", json!({"row": 0, "col": 0})).await;
    assert_eq!(c.failure("error").await, "Unknown message type: make_move");
}

// ---- room_test.go ----

#[tokio::test]
async fn room_events_reach_the_others() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (ada, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    // The first joiner hears of nobody.
    assert!(of_type(&a.all_sent().await, "client_joined").is_empty());
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    let joined = a.until("client_joined").await;
    assert_eq!(joined["data"], json!({"clientId": bob}));
    // Nobody hears of themselves.
    assert!(of_type(&b.all_sent().await, "client_joined").is_empty());

    b.send("leave_room", Value::Null).await;
    let answer = b.until("leave_room_result").await;
    assert_eq!(
        answer,
        json!({"type": "leave_room_result", "success": true})
    );
    let left = a.until("client_left").await;
    assert_eq!(left["data"], json!({"clientId": bob}));
    assert!(of_type(&b.all_sent().await, "client_left").is_empty());
    let _ = ada;
}

#[tokio::test]
async fn an_operator_close_reaches_everyone_as_room_closed() {
    let token = "admin-token-for-tests-0123";
    let srv = support::server_with(
        arbiter_games::registry(),
        arbiter_server::Settings {
            admin_token: Some(token.into()),
            ..arbiter_server::Settings::default()
        },
    )
    .await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (_, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada", "roomId": "den"}))
        .await;
    b.join(json!({"roomId": "den", "playerName": "Bob"})).await;
    let id = srv
        .rooms()
        .list(true)
        .into_iter()
        .find(|r| r.game == "tictactoe")
        .unwrap()
        .id;
    let auth = format!("Bearer {token}");
    let path = format!("/api/v1/admin/rooms/{id}/close");
    let (status, _) =
        support::request(srv.addr(), "POST", &path, &[("Authorization", &auth)], None).await;
    assert_eq!(status, 200);
    for c in [&mut a, &mut b] {
        let closed = c.until("room_closed").await;
        assert_eq!(closed["data"], json!({"roomId": room}));
        c.send("leave_room", Value::Null).await;
        assert_eq!(
            c.failure("leave_room_result").await,
            "client is not in a room"
        );
    }
}

// ---- manager_test.go ----

#[tokio::test]
async fn custom_room_ids_are_kept_and_shared() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (_, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada", "roomId": "kitchen"}))
        .await;
    assert_eq!(room, "kitchen");
    // The second client names the same room: it joins it, whatever game it names.
    let (bob, room) = b
        .join(json!({"gameType": "dicegame", "playerName": "Bob", "roomId": "kitchen"}))
        .await;
    assert_eq!(room, "kitchen");
    assert_eq!(a.until("client_joined").await["data"]["clientId"], bob);
    let state = b.until("game_state").await;
    assert!(
        state["data"]["board"].is_array(),
        "a tic-tac-toe room: {state}"
    );
    // An empty id asks for a generated one.
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    let (_, made) = c
        .join(json!({"gameType": "tictactoe", "playerName": "Cy", "roomId": ""}))
        .await;
    assert!(made.starts_with("r_"), "{made}");
    // Ids a store could not key are refused.
    let mut d = Legacy::connect(srv.addr(), "tictactoe").await;
    d.send(
        "join_room",
        json!({"gameType": "tictactoe", "playerName": "Di", "roomId": "a b"}),
    )
    .await;
    assert_eq!(d.failure("join_room_result").await, "room id is invalid");
}

#[tokio::test]
async fn room_lists_follow_the_rooms_of_a_game() {
    let srv = server().await;
    let mut watcher = Legacy::connect(srv.addr(), "tictactoe").await;
    let first = watcher.until("room_list_update").await;
    assert_eq!(first["data"], json!([]));
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let (_, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let listed = loop {
        let update = watcher.until("room_list_update").await;
        if update["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["playerCount"] == 1)
        {
            break update;
        }
    };
    assert_eq!(
        listed["data"],
        json!([{"roomId": room, "playerCount": 1, "started": false}])
    );
    // Rooms of other games are not in it.
    let mut dice = Legacy::connect(srv.addr(), "dicegame").await;
    dice.join(json!({"gameType": "dicegame", "playerName": "Dee"}))
        .await;
    watcher
        .send("get_room_list", json!({"gameType": "tictactoe"}))
        .await;
    let asked = watcher.until("room_list_update").await;
    assert_eq!(asked["data"].as_array().unwrap().len(), 1, "{asked}");
    watcher.send("get_room_list", json!({})).await;
    assert_eq!(
        watcher.failure("get_room_list_result").await,
        "Game type is required"
    );
    watcher.send("get_room_list", json!({"gameType": 3})).await;
    assert_eq!(
        watcher.failure("get_room_list_result").await,
        "Invalid request format"
    );
}

#[tokio::test]
async fn rest_shapes_under_hub() {
    let srv = server().await;
    let (status, games) = get(srv.addr(), "/hub/games").await;
    assert_eq!(status, 200);
    let mut games: Vec<&str> = games["games"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    games.sort_unstable();
    assert_eq!(games, ["dicegame", "owedrahn", "tellit", "tictactoe"]);
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    a.join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let (status, rooms) = get(srv.addr(), "/hub/rooms").await;
    assert_eq!(status, 200);
    let rooms = rooms.as_array().unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["type"], "tictactoe");
    assert_eq!(rooms[0]["clientCount"], 1);
}
