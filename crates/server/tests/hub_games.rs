//! The games over the Go game server's protocol (`/hub/ws`): the Go server's integration and
//! game tests (`cmd/server/main_test.go`, `games/dicegame/dicegame_test.go`) re-expressed as
//! black-box WebSocket tests, the old error strings, bad input, and a mixed room where a
//! legacy client, a native client and a spectator play a dice game to the end.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::JoinRole;
use serde_json::{Value, json};
use std::time::Duration;
use support::legacy::{Legacy, of_type};
use support::{Clock, advance_until, human_choice, server, server_with, within, ws_url};

/// A server whose rooms may be seeded (so a test can choose the dice).
async fn seeded_server() -> arbiter_server::Running {
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..arbiter_server::Settings::default()
    };
    settings.rooms.allow_seeded_rooms = true;
    server_with(arbiter_games::registry(), settings).await
}

/// Two legacy clients in a new room of `game`: (first, its id, second, its id, room id).
async fn two_in_a_room(
    addr: std::net::SocketAddr,
    game: &str,
) -> (Legacy, String, Legacy, String, String) {
    let mut a = Legacy::connect(addr, game).await;
    let mut b = Legacy::connect(addr, game).await;
    let (ada, room) = a.join(json!({"gameType": game, "playerName": "Ada"})).await;
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    (a, ada, b, bob, room)
}

// ---- cmd/server/main_test.go: TestGameFlowIntegration ----

#[tokio::test]
async fn tictactoe_create_join_and_move_reach_both_players() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let (ada, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    let greeting = a.until("joined").await;
    assert_eq!(
        greeting["data"],
        json!({"clientId": ada, "symbol": "X", "roomId": room})
    );
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    let state = b.state_where(|s| s["currentTurn"] != "").await;
    assert_eq!(b.until("joined").await["data"]["symbol"], "O");
    assert_eq!(state["players"][&ada]["symbol"], "X");
    assert_eq!(state["players"][&bob]["symbol"], "O");
    assert_eq!(
        state["board"],
        json!([["", "", ""], ["", "", ""], ["", "", ""]])
    );
    assert_eq!(
        (state["gameOver"].clone(), state["drawGame"].clone()),
        (json!(false), json!(false))
    );
    // The Go test forced the creator's turn; here the player on turn moves.
    let (mover, symbol) = if state["currentTurn"] == ada {
        (&mut a, "X")
    } else {
        (&mut b, "O")
    };
    mover.send("make_move", json!({"row": 0, "col": 0})).await;
    for c in [&mut a, &mut b] {
        let s = c.state_where(|s| s["board"][0][0] != "").await;
        assert_eq!(s["board"][0][0], symbol);
        assert_ne!(s["currentTurn"], state["currentTurn"], "the turn passed");
    }
}

#[tokio::test]
async fn tictactoe_refusals_use_the_old_strings_and_change_nothing() {
    let srv = server().await;
    let mut a = Legacy::connect(srv.addr(), "tictactoe").await;
    let (_, room) = a
        .join(json!({"gameType": "tictactoe", "playerName": "Ada"}))
        .await;
    // Alone: nobody is on turn yet.
    a.send("make_move", json!({"row": 1, "col": 1})).await;
    assert_eq!(a.failure("error").await, "Not your turn");
    let mut b = Legacy::connect(srv.addr(), "tictactoe").await;
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    let state = b.state_where(|s| s["currentTurn"] != "").await;
    let (mover, waiter) = if state["currentTurn"] == bob {
        (&mut b, &mut a)
    } else {
        (&mut a, &mut b)
    };
    waiter.send("make_move", json!({"row": 0, "col": 0})).await;
    assert_eq!(waiter.failure("error").await, "Not your turn");
    mover.send("make_move", json!({"row": 3, "col": 0})).await;
    assert_eq!(mover.failure("error").await, "Invalid move coordinates");
    mover.send("make_move", json!({"row": -1, "col": 0})).await;
    assert_eq!(mover.failure("error").await, "Invalid move coordinates");
    mover.send("make_move", json!({"row": 0})).await;
    assert_eq!(mover.failure("error").await, "Invalid move format");
    mover.send("restart_game", Value::Null).await;
    assert_eq!(
        mover.failure("error").await,
        "Cannot restart a game in progress"
    );
    mover.send("fly", Value::Null).await;
    assert_eq!(mover.failure("error").await, "Unknown message type: fly");
    // None of that changed the game: the board is still empty, nothing was broadcast.
    assert!(of_type(&waiter.all_sent().await, "game_state").is_empty());
    mover.send("make_move", json!({"row": 0, "col": 0})).await;
    mover.state_where(|s| s["board"][0][0] != "").await;
    waiter.send("make_move", json!({"row": 0, "col": 0})).await;
    waiter.state_where(|s| s["board"][0][0] != "").await;
    assert_eq!(waiter.failure("error").await, "Cell already occupied");
    // A third client watches: "Game is full", and still a successful join.
    let mut c = Legacy::connect(srv.addr(), "tictactoe").await;
    c.send("join_room", json!({"roomId": room, "playerName": "Cy"}))
        .await;
    let sent = c.through("join_room_result").await;
    assert_eq!(
        sent[sent.len() - 2],
        json!({"type": "error", "success": false, "error": "Game is full"})
    );
    assert_eq!(sent.last().unwrap()["success"], true);
    let watched = c.until("game_state").await;
    assert_eq!(watched["data"]["players"].as_object().unwrap().len(), 2);
    assert!(
        of_type(&c.all_sent().await, "joined").is_empty(),
        "a spectator gets no symbol"
    );
}

// ---- games/dicegame/dicegame_test.go ----

/// A seed whose first roll is [1,1,3,3,5,5] (the Go test's forced dice) and whose next
/// five-dice roll holds a 1, for the room made by [`dice_room`].
const FORCED_DICE_SEED: u64 = 15;

/// A two-seat dice room made by a native spectator with `seed`: its id.
async fn dice_room(addr: std::net::SocketAddr, seed: u64, config: Value) -> (Client, String) {
    let (sue, events) = Client::connect(&ws_url(addr), Hello::named("Sue"))
        .await
        .unwrap();
    drop(events);
    let created = sue
        .create(CreateRoom {
            seed: Some(seed),
            max_players: Some(2),
            role: JoinRole::Spectator,
            config: Some(config),
            ..CreateRoom::new("dicegame")
        })
        .await
        .unwrap();
    (sue, created.room.id)
}

fn dice(state: &Value) -> Vec<u64> {
    state["dice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn dicegame_roll_select_and_set_aside_with_forced_dice() {
    let srv = seeded_server().await;
    let (_sue, room) = dice_room(srv.addr(), FORCED_DICE_SEED, Value::Null).await;
    let mut a = Legacy::connect(srv.addr(), "dicegame").await;
    let mut b = Legacy::connect(srv.addr(), "dicegame").await;
    let (ada, _) = a.join(json!({"roomId": room, "playerName": "Ada"})).await;
    let waiting = a.until("game_state").await;
    assert_eq!(waiting["data"]["started"], false);
    assert_eq!(waiting["data"]["dice"], json!([]));
    let (bob, _) = b.join(json!({"roomId": room, "playerName": "Bob"})).await;
    // The game starts by itself once two sit.
    let started = a.state_where(|s| s["started"] == true).await;
    assert_eq!(started["dice"], json!([0, 0, 0, 0, 0, 0]));
    assert_eq!(started["targetScore"], 3000);
    let first = started["currentTurn"].as_str().unwrap().to_owned();
    let other = if first == ada {
        bob.clone()
    } else {
        ada.clone()
    };
    let (mover, waiter) = if first == ada {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };

    waiter.send("roll", Value::Null).await;
    assert_eq!(waiter.failure("error").await, "not your turn");
    mover.send("select", json!({"diceIndex": 0})).await;
    assert_eq!(
        mover.failure("error").await,
        "select invalid",
        "nothing rolled yet"
    );

    // roll → both players get the state.
    mover.send("roll", Value::Null).await;
    for c in [&mut *mover, &mut *waiter] {
        let s = c.state_where(|s| dice(s).iter().any(|&d| d != 0)).await;
        assert_eq!(
            s["dice"],
            json!([1, 1, 3, 3, 5, 5]),
            "the seed's first roll"
        );
    }
    mover.send("select", json!({"diceIndex": "0"})).await;
    assert_eq!(mover.failure("error").await, "select payload invalid");
    mover.send("select", json!({"diceIndex": 6})).await;
    assert_eq!(mover.failure("error").await, "select invalid");
    mover.send("select", json!({"diceIndex": 2})).await;
    mover.state_where(|s| s["selectedDice"] == json!([2])).await;
    mover.send("set_aside", json!({"endTurn": false})).await;
    assert_eq!(
        mover.failure("error").await,
        "set aside invalid",
        "a lone 3 scores nothing"
    );
    mover.send("set_aside", json!({})).await;
    assert_eq!(mover.failure("error").await, "set aside payload invalid ");
    // select toggles: the 3 goes back, the first 1 is taken.
    mover.send("select", json!({"diceIndex": 2})).await;
    mover.state_where(|s| s["selectedDice"] == json!([])).await;
    mover.send("select", json!({"diceIndex": 0})).await;
    let s = mover.state_where(|s| s["selectedDice"] == json!([0])).await;
    assert_eq!(s["players"][&first]["turnScore"], 100);
    mover.send("set_aside", json!({"endTurn": false})).await;
    let s = mover.state_where(|s| s["setAside"] == json!([1])).await;
    assert_eq!(s["dice"], json!([0, 0, 0, 0, 0]), "five dice left");
    assert_eq!(s["players"][&first]["roundScore"], 100);
    assert_eq!(s["currentTurn"], first);

    // Again, banking: the turn passes with 200.
    mover.send("roll", Value::Null).await;
    let s = mover.state_where(|s| dice(s).iter().any(|&d| d != 0)).await;
    assert_eq!(dice(&s)[0], 1, "the seed's second roll holds a 1");
    mover.send("select", json!({"diceIndex": 0})).await;
    mover.state_where(|s| s["selectedDice"] == json!([0])).await;
    mover.send("set_aside", json!({"endTurn": true})).await;
    for c in [&mut *mover, &mut *waiter] {
        let s = c.state_where(|s| s["currentTurn"] == other).await;
        assert_eq!(s["players"][&first]["score"], 200);
        assert_eq!(s["players"][&first]["roundScore"], 0);
        assert_eq!(s["dice"], json!([0, 0, 0, 0, 0, 0]));
        assert_eq!(s["setAside"], json!([]));
    }
    // The old server's end_turn was commented out.
    waiter.send("end_turn", Value::Null).await;
    assert_eq!(
        waiter.failure("error").await,
        "Unknown message type: end_turn"
    );
}

// ---- one room, three dialects ----

fn names_of(msgs: &[Value]) -> Vec<&str> {
    msgs.iter().map(|m| m["type"].as_str().unwrap()).collect()
}

/// A native dice action as the old client's message.
fn legacy_of(action: &Value) -> (&'static str, Value) {
    match action["type"].as_str().unwrap() {
        "roll" => ("roll", Value::Null),
        "select" => ("select", json!({"diceIndex": action["index"]})),
        "set_aside" => ("set_aside", json!({"endTurn": action["end_turn"]})),
        other => panic!("no old message for {other}"),
    }
}

/// Leo (legacy, `/hub/ws`) and Nat (the Rust SDK) play a seeded dice game to the end while Sue
/// (SDK, spectator) watches: all three end with the same winner and scores, each in its own
/// format. The clock is frozen; bust pauses run in virtual time.
#[tokio::test]
async fn a_legacy_client_a_native_client_and_a_spectator_play_one_dice_game() {
    let _clock = Clock::freeze();
    let srv = seeded_server().await;
    let config = json!({"target": 1000, "bust_delay_ms": 200});
    let (sue, room) = dice_room(srv.addr(), 11, config).await;
    let (nat, events) = Client::connect(&ws_url(srv.addr()), Hello::named("Nat"))
        .await
        .unwrap();
    drop(events);
    nat.join(&room, JoinRole::Player).await.unwrap();
    let nat_id = nat.player().id.as_str().to_owned();
    let mut leo = Legacy::connect(srv.addr(), "dicegame").await;
    let (leo_id, _) = leo.join(json!({"roomId": room, "playerName": "Leo"})).await;

    let (mut moves, mut legacy_moves) = (0, 0);
    let end = loop {
        let (rv, _) = advance_until(
            &srv,
            &nat,
            &room,
            "a move or the end",
            Duration::from_secs(30),
            |v| {
                v["phase"] == "over"
                    || (v["phase"] == "playing" && !v["legal"].as_array().unwrap().is_empty())
            },
        )
        .await;
        if rv.view["phase"] == "over" {
            break rv;
        }
        let action = human_choice(&rv.view);
        if rv.view["turn"] == nat_id {
            let v = nat.act(&room, action).await.unwrap();
            assert_eq!(v, rv.v + 1);
        } else {
            assert_eq!(rv.view["turn"], leo_id);
            let (ty, data) = legacy_of(&action);
            leo.send(ty, data).await;
            let mut watch = nat.watch(&room);
            within(
                "the legacy move",
                watch.wait_for(|w| w.as_ref().is_some_and(|w| w.v > rv.v)),
            )
            .await
            .unwrap();
            legacy_moves += 1;
        }
        moves += 1;
        assert!(moves < 400, "the game does not end");
    };
    assert!(
        legacy_moves > 0 && legacy_moves < moves,
        "both players moved"
    );

    // The native player and the spectator see the same final view.
    let mut watch = sue.watch(&room);
    let sue_end = within(
        "the spectator's final view",
        watch.wait_for(|w| w.as_ref().is_some_and(|w| w.v >= end.v)),
    )
    .await
    .unwrap()
    .clone()
    .unwrap();
    assert_eq!(sue_end.v, end.v);
    assert_eq!(sue_end.view, end.view);
    let winner = end.view["winner"].as_str().unwrap();
    assert!(winner == nat_id || winner == leo_id);
    assert!(end.view["players"][winner]["score"].as_u64().unwrap() >= 1000);

    // The legacy client sees the same outcome in the old shape.
    let last = leo.state_where(|s| s["winner"] != "").await;
    assert_eq!(last["winner"], end.view["winner_name"]);
    assert_eq!(last["currentTurn"], "");
    for id in [&nat_id, &leo_id] {
        let native = &end.view["players"][id];
        assert_eq!(last["players"][id]["name"], native["name"]);
        assert_eq!(last["players"][id]["score"], native["score"]);
    }
    assert_eq!(last["players"][&leo_id]["name"], "Leo");
}

// ---- bad input and limits ----

/// Nonsense from a legacy client in a room gets an old-style error, changes nothing and
/// keeps the connection; a frame over the size cap closes it as a native one would be.
#[tokio::test]
async fn bad_legacy_input_changes_nothing() {
    let srv = server().await;
    let (mut a, _, mut b, _, room) = two_in_a_room(srv.addr(), "dicegame").await;
    a.state_where(|s| s["started"] == true).await;
    let id = srv
        .rooms()
        .list(true)
        .into_iter()
        .find(|r| r.game == "dicegame")
        .unwrap()
        .id;
    let v = srv.rooms().find(&id).unwrap().info().v;
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let deep_data = format!(r#"{{"type":"select","data":{{"diceIndex":{deep}}}}}"#);
    for bad in [
        deep.as_str(),
        deep_data.as_str(),
        r#"{"type":"roll","data":"#,
        "\u{0}",
    ] {
        a.send_text(bad).await;
        assert_eq!(a.failure("error").await, "invalid message format", "{bad}");
    }
    for (ty, data) in [
        ("select", json!("zero")),
        ("select", json!({"diceIndex": -1})),
        ("set_aside", json!({"endTurn": "yes"})),
        ("join_room", json!({"roomId": room, "playerName": "Ada"})),
    ] {
        a.send(ty, data).await;
        let answer = a.next().await;
        assert!(
            answer["success"] == false || answer["type"] == "reconnect_result",
            "{answer}"
        );
    }
    assert_eq!(
        srv.rooms().find(&id).unwrap().info().v,
        v,
        "the room did not move"
    );
    // Both connections still work.
    a.send("get_room_list", json!({"gameType": "dicegame"}))
        .await;
    a.until("room_list_update").await;
    b.send("get_room_list", json!({"gameType": "dicegame"}))
        .await;
    b.until("room_list_update").await;

    let big = json!({"type": "roll", "data": "x".repeat(70 * 1024)}).to_string();
    let _ = futures_util::SinkExt::send(
        &mut a.ws,
        tokio_tungstenite::tungstenite::Message::text(big),
    )
    .await;
    let closed = loop {
        match futures_util::StreamExt::next(&mut a.ws).await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(f))) => break f,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| u16::from(f.code)), Some(1009));
}

/// The legacy endpoint draws from the same per-connection buckets as the native one: with
/// the clock frozen, the `other` bucket's 60 tokens pass and the 61st message is refused.
#[tokio::test]
async fn legacy_messages_are_rate_limited_like_native_ones() {
    let _clock = Clock::freeze();
    let srv = server().await;
    let mut c = Legacy::connect(srv.addr(), "").await;
    for _ in 0..60 {
        c.send("get_room_list", json!({"gameType": "dicegame"}))
            .await;
    }
    for _ in 0..60 {
        assert_eq!(c.next().await["type"], "room_list_update");
    }
    c.send("get_room_list", json!({"gameType": "dicegame"}))
        .await;
    let refused = c.failure("error").await;
    assert!(
        refused.starts_with("too many messages; retry in"),
        "{refused}"
    );
}

// ---- games/owe_drahn/game_test.go and bets_test.go ----

/// Main bet, side bets, ready, roll, lose a life, choose the next player, a bust ending the
/// game with its money settled, and the reset — Owe Drahn's old messages from start to end.
#[tokio::test]
async fn owedrahn_bets_turns_and_a_game_to_the_end() {
    let _clock = Clock::freeze();
    let srv = seeded_server().await;
    let (sue, events) = Client::connect(&ws_url(srv.addr()), Hello::named("Sue"))
        .await
        .unwrap();
    drop(events);
    let created = sue
        .create(CreateRoom {
            seed: Some(3),
            role: JoinRole::Spectator,
            config: Some(json!({"reset_delay_ms": 1000})),
            ..CreateRoom::new("owedrahn")
        })
        .await
        .unwrap();
    let room = created.room.id;
    let mut a = Legacy::connect(srv.addr(), "owedrahn").await;
    let mut b = Legacy::connect(srv.addr(), "owedrahn").await;
    let (ada, _) = a
        .join(json!({"roomId": room, "playerName": "Ada", "gameType": "owedrahn"}))
        .await;
    let (bob, _) = b
        .join(json!({"roomId": room, "playerName": "Bob", "gameType": "owedrahn"}))
        .await;
    a.send("fly", Value::Null).await;
    assert_eq!(a.failure("error").await, "unknown message type: fly");
    a.send("handshake", json!({"uid": ""})).await;
    let s = a
        .state_where(|s| s["players"].as_array().unwrap().len() == 2)
        .await;
    assert_eq!(s["mainBet"], 1.0, "the default main bet");
    assert_eq!(s["players"][0]["id"], ada, "players in seating order");
    assert_eq!(s["players"][1]["username"], "Bob");
    assert_eq!(
        (s["players"][0]["life"].clone(), s["started"].clone()),
        (json!(6), json!(false))
    );

    // set_main_bet
    for (amount, error) in [
        (json!(0), "main bet must be greater than 0"),
        (json!(-5), "main bet must be greater than 0"),
        (json!("ten"), "invalid main bet format"),
    ] {
        a.send("set_main_bet", json!({"amount": amount})).await;
        assert_eq!(a.failure("error").await, error);
    }
    a.send("set_main_bet", json!({"amount": 5})).await;
    a.state_where(|s| s["mainBet"] == 5.0).await;
    b.send("set_main_bet", json!({"amount": 10.5})).await;
    a.state_where(|s| s["mainBet"] == 10.5).await;

    // side bets
    for (data, error) in [
        (
            json!({"opponentId": ada, "amount": 2}),
            "player can not propose bet to oneself",
        ),
        (
            json!({"opponentId": bob, "amount": 0}),
            "amount must be greater than 0",
        ),
        (
            json!({"opponentId": bob, "amount": -1}),
            "amount must be greater than 0",
        ),
        (
            json!({"opponentId": "nobody", "amount": 2}),
            "opponent not found",
        ),
    ] {
        a.send("sidebet_propose", data).await;
        assert_eq!(a.failure("error").await, error);
    }
    a.send("sidebet_propose", json!({"opponentId": bob, "amount": 2.5}))
        .await;
    let s = a
        .state_where(|s| s["sideBets"].as_array().unwrap().len() == 1)
        .await;
    let bet = &s["sideBets"][0];
    assert_eq!(
        (
            &bet["challengerId"],
            &bet["opponentId"],
            &bet["amount"],
            &bet["status"]
        ),
        (&json!(ada), &json!(bob), &json!(2.5), &json!(0))
    );
    assert_eq!(
        (&bet["challengerName"], &bet["opponentName"]),
        (&json!("Ada"), &json!("Bob"))
    );
    let bet_id = bet["id"].clone();
    let proposed = a.until("sidebet_propose_result").await;
    assert_eq!(proposed["data"]["betId"], bet_id);
    assert_eq!(proposed["data"]["bets"], s["sideBets"]);
    a.send("sidebet_accept", json!({"betId": bet_id})).await;
    assert_eq!(
        a.failure("error").await,
        "player can not manage bets from other players"
    );
    b.send("sidebet_accept", json!({"betId": "99"})).await;
    assert_eq!(b.failure("error").await, "side bet not found");
    b.send("sidebet_accept", json!({"betId": bet_id})).await;
    let accepted = b.until("sidebet_accept_result").await;
    assert_eq!(accepted["data"]["betId"], bet_id);
    assert_eq!(accepted["data"]["bets"][0]["status"], 1);
    a.state_where(|s| s["sideBets"][0]["status"] == 1).await;
    a.send("sidebet_propose", json!({"opponentId": bob, "amount": 1}))
        .await;
    let s = a
        .state_where(|s| s["sideBets"].as_array().unwrap().len() == 2)
        .await;
    let second = s["sideBets"][1]["id"].clone();
    a.send("sidebet_cancel", json!({"betId": second})).await;
    a.state_where(|s| s["sideBets"].as_array().unwrap().len() == 1)
        .await;

    // ready ×2 starts the game
    a.send("ready", json!(true)).await;
    a.state_where(|s| s["players"][0]["ready"] == true).await;
    b.send("ready", json!("yes")).await;
    assert_eq!(b.failure("error").await, "invalid message format");
    b.send("ready", json!(true)).await;
    let mut s = Value::Null;
    for c in [&mut a, &mut b] {
        c.until("gameStarted").await;
        s = c.state_where(|s| s["started"] == true).await;
        assert!(
            s["players"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["ready"] == false)
        );
    }
    a.send("set_main_bet", json!({"amount": 2})).await;
    assert_eq!(
        a.failure("error").await,
        "cannot change main bet after game has started"
    );
    a.send("sidebet_propose", json!({"opponentId": bob, "amount": 1}))
        .await;
    assert_eq!(
        a.failure("error").await,
        "can not propose bet. game already started"
    );

    // Roll up to 10 (from below 10 no roll can bust), then owe drahn and pass the turn on.
    // After each step both clients read up to its `game_state`.
    while s["currentValue"].as_u64().unwrap() < 10 {
        let (mover, other) = if s["currentTurn"] == ada {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        other.send("roll", Value::Null).await;
        assert_eq!(other.failure("error").await, "not your turn");
        mover.send("roll", Value::Null).await;
        let seen = mover.through("game_state").await;
        other.through("game_state").await;
        let rolled = of_type(&seen, "rolledDice");
        assert_eq!(rolled.len(), 1, "{seen:?}");
        assert!((1..=6).contains(&rolled[0]["data"]["dice"].as_u64().unwrap()));
        assert_eq!(rolled[0]["data"]["player"]["life"], 6);
        s = seen.last().unwrap()["data"].clone();
        assert_eq!(rolled[0]["data"]["total"], s["currentValue"]);
    }
    let chooser = s["currentTurn"].as_str().unwrap().to_owned();
    let next = if chooser == ada {
        bob.clone()
    } else {
        ada.clone()
    };
    let (mover, other) = if chooser == ada {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    mover.send("loseLife", Value::Null).await;
    let seen = mover.through("game_state").await;
    other.through("game_state").await;
    assert_eq!(of_type(&seen, "lostLife")[0]["data"]["player"]["life"], 5);
    let s = seen.last().unwrap()["data"].clone();
    let me = s["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == chooser)
        .unwrap()
        .clone();
    assert_eq!(
        (me["life"].clone(), me["choosing"].clone()),
        (json!(5), json!(true))
    );
    assert_eq!(
        (s["currentValue"].clone(), s["currentTurn"].clone()),
        (json!(0), json!(chooser))
    );
    mover
        .send("chooseNextPlayer", json!({"nextPlayerId": "nobody"}))
        .await;
    assert_eq!(mover.failure("error").await, "next player is invalid");
    mover
        .send("chooseNextPlayer", json!({"nextPlayerId": next}))
        .await;
    let mut s = mover.until("game_state").await["data"].clone();
    other.until("game_state").await;
    assert_eq!(s["currentTurn"], next);
    assert!(
        s["players"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["choosing"] == false)
    );

    // Roll on until somebody goes over 15: the game is over, money moves.
    let (busted, ends) = loop {
        let me = s["currentTurn"].as_str().unwrap().to_owned();
        let (mover, other) = if me == ada {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        mover.send("roll", Value::Null).await;
        let seen = mover.through("game_state").await;
        let seen_too = other.through("game_state").await;
        s = seen.last().unwrap()["data"].clone();
        let rolled = of_type(&seen, "rolledDice")[0].clone();
        if rolled["data"]["total"].as_u64().unwrap() > 15 {
            assert_eq!(rolled["data"]["player"]["life"], 0);
            break (me, [seen, seen_too]);
        }
    };
    let winner = if busted == ada {
        bob.clone()
    } else {
        ada.clone()
    };
    let winner_name = if busted == ada { "Bob" } else { "Ada" };
    for seen in ends {
        assert_eq!(
            names_of(&seen)[seen.len() - 3..],
            ["rolledDice", "gameOver", "game_state"]
        );
        assert_eq!(
            of_type(&seen, "gameOver")[0]["data"],
            json!({"winner": winner_name})
        );
        let s = &seen.last().unwrap()["data"];
        assert_eq!(s["over"], true);
        let balance = |id: &str| {
            s["players"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == id)
                .unwrap()["balance"]
                .as_f64()
                .unwrap()
        };
        // The main bet (10.5) and the accepted side bet (2.5) both go to the survivor.
        assert_eq!(balance(&winner), 13.0);
        assert_eq!(balance(&busted), -13.0);
        assert_eq!(s["sideBets"][0]["status"], 3);
    }
    // The reset: gameInit, the main bet back to 1, balances kept.
    let reset = srv.rooms().find(&room).unwrap().info().v + 1;
    support::step_until("the reset", Duration::from_secs(5), || {
        srv.rooms().find(&room).unwrap().info().v >= reset
    })
    .await;
    for c in [&mut a, &mut b] {
        let init = c.until("gameInit").await;
        assert_eq!(init["data"]["mainBet"], 1.0);
        assert_eq!(init["data"]["started"], false);
        assert_eq!(init["data"]["players"][0]["life"], 6);
        assert_eq!(
            init["data"]["players"][0]["balance"]
                .as_f64()
                .unwrap()
                .abs(),
            13.0
        );
    }
}

// ---- games/tell_it: the submit_text integration tests ----

/// Three writers: a first submission begins a writer's own story; stories pass on in joining
/// order; a writer hears `story_update` only once they own a story; after two rounds each
/// writer holds their own story again; everyone voting to finish ends the game with every
/// story shown.
#[tokio::test]
async fn tellit_stories_circulate_and_finish() {
    let srv = server().await;
    let mut ada = Legacy::connect(srv.addr(), "tellit").await;
    let (ada_id, room) = ada
        .join(json!({"gameType": "tellit", "playerName": "Ada"}))
        .await;
    let first = ada.until("users_update").await;
    assert_eq!(first["data"]["users"][0]["name"], "Ada");
    assert_eq!(
        ada.until("game_status").await["data"],
        json!({"status": "waiting"})
    );
    ada.send("submit_text", json!({"text": "Too early."})).await;
    assert_eq!(ada.failure("submit_text").await, "the game has not started");
    ada.send("start", Value::Null).await;
    ada.failure("error").await;
    let mut bob = Legacy::connect(srv.addr(), "tellit").await;
    bob.join(json!({"roomId": room, "playerName": "Bob"})).await;
    let mut cy = Legacy::connect(srv.addr(), "tellit").await;
    cy.join(json!({"roomId": room, "playerName": "Cy"})).await;
    ada.send("start", Value::Null).await;
    for c in [&mut ada, &mut bob, &mut cy] {
        c.until_data("game_status", |d| d["status"] == "started")
            .await;
    }
    // Round one: everyone begins a story. Nobody owns one before writing: no story_update.
    ada.send("submit_text", json!({"text": "Ada one."})).await;
    let users = bob.until("users_update").await;
    assert_eq!(
        users["data"]["users"][1]["queuedStories"], 1,
        "Ada's story is Bob's"
    );
    assert!(of_type(&bob.all_sent().await, "story_update").is_empty());
    bob.send("submit_text", json!({"text": "Bob one."})).await;
    let held = bob.until("story_update").await;
    assert_eq!(held["data"]["text"], "Ada one.");
    assert_eq!(held["data"]["author"], "Ada");
    assert_eq!(held["data"]["stats"]["turns"], 1);
    cy.send("submit_text", json!({"text": "Cy one."})).await;
    assert_eq!(cy.until("story_update").await["data"]["text"], "Bob one.");
    // Ada began hers holding nothing (`null`); Cy's story reaches her now.
    ada.until_data("story_update", |d| d["text"] == "Cy one.")
        .await;
    // Rounds two and three: each continues the story they hold; then everyone holds their
    // own story again, three parts long.
    for (round, holds) in [
        (
            "two",
            [("Ada", "Cy two."), ("Bob", "Ada two."), ("Cy", "Bob two.")],
        ),
        (
            "three",
            [
                ("Ada", "Cy three."),
                ("Bob", "Ada three."),
                ("Cy", "Bob three."),
            ],
        ),
    ] {
        for (c, name) in [(&mut ada, "Ada"), (&mut bob, "Bob"), (&mut cy, "Cy")] {
            c.send("submit_text", json!({"text": format!("{name} {round}.")}))
                .await;
        }
        for (c, (_, last)) in [&mut ada, &mut bob, &mut cy].into_iter().zip(holds) {
            let held = c.until_data("story_update", |d| d["text"] == last).await;
            assert!(held["stats"]["turns"].as_u64().unwrap() >= 2);
        }
    }
    ada.send("submit_text", json!({"text": "x"})).await;
    ada.until("story_update").await;
    ada.send("submit_text", json!({"text": "y"})).await;
    assert_eq!(
        ada.failure("submit_text").await,
        "can't wait - no story to continue"
    );
    // Everyone votes to finish (a toggle: twice takes it back).
    ada.send("vote_finish", Value::Null).await;
    ada.until_data("finish_vote_update", |d| d["votes"] == json!([ada_id]))
        .await;
    ada.send("vote_finish", Value::Null).await;
    ada.until_data("finish_vote_update", |d| d["votes"] == json!([]))
        .await;
    for c in [&mut ada, &mut bob, &mut cy] {
        c.send("vote_finish", Value::Null).await;
    }
    for c in [&mut ada, &mut bob, &mut cy] {
        c.until_data("game_status", |d| d["status"] == "ended")
            .await;
    }
    let finals = cy.until("final_stories").await;
    let stories = finals["data"]["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 3);
    let adas = stories.iter().find(|s| s["author"] == "Ada").unwrap();
    assert_eq!(adas["text"], "Ada one. Bob two. Cy three. x");
    assert_eq!(adas["stats"]["turns"], 4);
}

/// Legacy and native connections share the per-address connection limit: with one allowed,
/// a legacy socket beside a native one is refused at the handshake (429), and the other way
/// round.
#[tokio::test]
async fn legacy_connections_count_against_the_same_connection_limits() {
    let limits = arbiter_server::Limits {
        max_connections_per_ip: 1,
        ..arbiter_server::Limits::default()
    };
    let settings = arbiter_server::Settings {
        limits,
        ..arbiter_server::Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let status = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("not an HTTP refusal: {e}"),
        Ok(_) => 101,
    };
    let native = tokio_tungstenite::connect_async(ws_url(srv.addr()))
        .await
        .unwrap();
    let legacy = format!("ws://{}/hub/ws?game=dicegame", srv.addr());
    assert_eq!(
        status(tokio_tungstenite::connect_async(&legacy).await.map(drop)),
        429
    );
    drop(native);
    within("the native socket to close", async {
        while srv.open_connections() != 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let _legacy = Legacy::connect(srv.addr(), "dicegame").await;
    let again = tokio_tungstenite::connect_async(ws_url(srv.addr()))
        .await
        .map(drop);
    assert_eq!(status(again), 429);
}
