//! A party plays an external game, end to end over real sockets and HTTP with a real key
//! (docs/external-games.md): the party picks the registered game, the host starts it, each
//! member gets a session token and the game's URL, the game validates them, reports where
//! players are (a stale version is refused with the current state), keeps its state, reports
//! the end with a ranking the party records, and everyone is back in the lobby.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, ServerMsg};
use arbiter_server::Settings;
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{Raw, create_msg, request, request_text, server_with};

const TOKEN: &str = "admin-token-for-tests-0123";

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A member: their socket, player id and player token.
async fn member(addr: SocketAddr, name: &str) -> (Raw, String, String) {
    let mut raw = Raw::connect(addr).await;
    raw.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some(name.into()),
        instance: None,
    })
    .await;
    let ServerMsg::Welcome { token, player, .. } = raw.msg().await else {
        panic!("no welcome")
    };
    (raw, player.id.to_string(), token)
}

async fn acked(raw: &mut Raw, seq: u64) -> Result<u64, ErrorCode> {
    match raw
        .until(|m| matches!(m, ServerMsg::Ack { seq: s, .. } | ServerMsg::Reject { seq: s, .. } if *s == seq))
        .await
    {
        ServerMsg::Ack { v, .. } => Ok(v),
        ServerMsg::Reject { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

async fn act(raw: &mut Raw, party: &str, seq: u64, action: Value) -> Result<u64, ErrorCode> {
    raw.send(&ClientMsg::Act {
        room: party.to_owned(),
        seq,
        base: None,
        action,
    })
    .await;
    acked(raw, seq).await
}

/// The party's view now, from a fresh snapshot.
async fn view_now(raw: &mut Raw, room: &str) -> Value {
    raw.send(&ClientMsg::Sync {
        room: room.to_owned(),
    })
    .await;
    match raw.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await {
        ServerMsg::Snapshot { view, .. } => view,
        _ => unreachable!(),
    }
}

/// The external game's side: its key, and a counter for fresh idempotency keys.
struct Game {
    addr: SocketAddr,
    key: String,
    ops: u32,
}

impl Game {
    async fn get(&self, path: &str) -> (u16, Value) {
        request(self.addr, "GET", path, &[("x-api-key", &self.key)], None).await
    }

    async fn read(&self, path: &str, body: &Value) -> (u16, Value) {
        request(
            self.addr,
            "POST",
            path,
            &[("x-api-key", &self.key)],
            Some(body),
        )
        .await
    }

    /// A mutating call with a fresh Idempotency-Key.
    async fn write(&mut self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.ops += 1;
        let idem = format!("op-{}", self.ops);
        self.write_as(&idem, method, path, body).await.1
    }

    /// A mutating call with Idempotency-Key `idem`: whether it was a replay, the answer.
    async fn write_as(
        &self,
        idem: &str,
        method: &str,
        path: &str,
        body: &Value,
    ) -> (bool, (u16, Value)) {
        let headers = [("x-api-key", self.key.as_str()), ("Idempotency-Key", idem)];
        let (status, head, text) =
            request_text(self.addr, method, path, &headers, Some(body)).await;
        let replayed = head
            .to_ascii_lowercase()
            .contains("idempotent-replayed: true");
        (
            replayed,
            (status, serde_json::from_str(&text).unwrap_or(Value::Null)),
        )
    }
}

#[tokio::test]
async fn a_party_plays_an_external_game_and_comes_back_to_the_lobby() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let auth = format!("Bearer {TOKEN}");
    let spec = json!({"name": "quiz", "scopes": ["game:read", "game:write"], "game": "quiz"});
    let (_, made) = request(
        addr,
        "POST",
        "/api/v1/admin/keys",
        &[("Authorization", &auth)],
        Some(&spec),
    )
    .await;
    let mut game = Game {
        addr,
        key: made["key"].as_str().unwrap().to_owned(),
        ops: 0,
    };
    let registration = json!({
        "id": "quiz", "name": "Quiz Night", "url": "http://127.0.0.1:9/quiz/?lang=en",
        "min_players": 2, "max_players": 4,
        "settings_schema": {"type": "object", "properties": {"rounds": {"type": "integer"}}}
    });
    assert_eq!(
        game.write("POST", "/api/v2/games", &registration).await.0,
        201
    );

    // A party: Ada hosts, Bob joins.
    let (mut ada, a, ada_token) = member(addr, "Ada").await;
    ada.send(&create_msg(1, "party")).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let party = room.id;
    let (mut bob, b, bob_token) = member(addr, "Bob").await;
    bob.send(&ClientMsg::Join {
        rid: Some(2),
        room: party.clone(),
        role: JoinRole::Any,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    bob.until(|m| matches!(m, ServerMsg::Joined { .. })).await;

    // The party picks the external game; a client cannot make up one, or its facts.
    let unknown = json!({"type": "pick", "game": "ext:nope"});
    assert_eq!(
        act(&mut ada, &party, 1, unknown).await,
        Err(ErrorCode::UnknownGame)
    );
    let forged = json!({"type": "pick", "game": "ext:nope", "config": {},
        "external": {"title": "Fake", "min_players": 1, "max_players": 9}});
    assert_eq!(
        act(&mut ada, &party, 2, forged).await,
        Err(ErrorCode::UnknownGame)
    );
    let pick = json!({"type": "pick", "game": "ext:quiz", "config": {"rounds": 3}});
    act(&mut ada, &party, 3, pick).await.unwrap();
    let view = view_now(&mut ada, &party).await;
    assert_eq!(view["pick"]["title"], "Quiz Night");
    assert_eq!(
        (
            view["pick"]["min_players"].as_u64(),
            view["pick"]["max_players"].as_u64()
        ),
        (Some(2), Some(4))
    );
    act(&mut ada, &party, 4, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    act(&mut bob, &party, 1, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();

    // Start: a session instead of a game room.
    ada.send(&ClientMsg::Launch {
        rid: Some(9),
        room: party.clone(),
    })
    .await;
    let ServerMsg::Launched { room: launched, .. } =
        ada.until(|m| matches!(m, ServerMsg::Launched { .. })).await
    else {
        unreachable!()
    };
    let session = launched.id;
    assert!(session.starts_with("x_"), "{session}");
    assert_eq!(launched.game, "ext:quiz");
    let view = view_now(&mut ada, &party).await;
    assert_eq!(view["playing"]["room"], session.as_str());

    // Each member gets their own token and the game's URL.
    let ticket_path = format!("/api/v1/rooms/{party}/external");
    let ticket = |token: String| {
        let path = ticket_path.clone();
        async move {
            let auth = format!("Bearer {token}");
            request(addr, "POST", &path, &[("Authorization", &auth)], None).await
        }
    };
    let (status, ada_ticket) = ticket(ada_token.clone()).await;
    assert_eq!(status, 200, "{ada_ticket}");
    let (_, bob_ticket) = ticket(bob_token.clone()).await;
    let ada_session_token = ada_ticket["token"].as_str().unwrap().to_owned();
    let bob_session_token = bob_ticket["token"].as_str().unwrap().to_owned();
    assert_ne!(ada_session_token, bob_session_token);
    assert_eq!(
        ada_ticket["url"],
        format!("http://127.0.0.1:9/quiz/?lang=en&session={ada_session_token}")
    );
    let (status, body) = request(addr, "POST", &ticket_path, &[], None).await;
    assert_eq!(
        (status, code_of(&body)),
        (401, "NOT_AUTHENTICATED"),
        "{body}"
    );

    // The game validates a token: the session, the player, the party and its settings.
    let (status, valid) = game
        .read(
            "/api/v2/sessions/validate",
            &json!({"token": ada_session_token}),
        )
        .await;
    assert_eq!(status, 200, "{valid}");
    assert_eq!(valid["player"]["id"], a.as_str());
    assert_eq!(valid["session"]["settings"], json!({"rounds": 3}));
    assert_eq!(valid["session"]["players"].as_array().unwrap().len(), 2);
    assert_eq!(valid["party"]["host"], a.as_str());
    assert_eq!(valid["party"]["members"][&b]["name"], "Bob");
    let tampered = format!("{ada_session_token}x");
    let (status, body) = game
        .read("/api/v2/sessions/validate", &json!({"token": tampered}))
        .await;
    assert_eq!((status, code_of(&body)), (401, "BAD_TOKEN"), "{body}");
    let (status, body) = game
        .read("/api/v2/sessions/validate", &json!({"token": ada_token}))
        .await;
    assert_eq!(
        (status, code_of(&body)),
        (401, "BAD_TOKEN"),
        "a player token is no session token: {body}"
    );

    // Status reports with versions; a stale one is refused with the current state.
    let ada_status = format!("/api/v2/sessions/{session}/players/{a}/status");
    let (status, moved) = game
        .write(
            "POST",
            &ada_status,
            &json!({"location": "game", "version": 0}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (
            moved["player"]["location"].as_str(),
            moved["player"]["version"].as_u64()
        ),
        (Some("game"), Some(1))
    );
    let (status, body) = game
        .write(
            "POST",
            &ada_status,
            &json!({"location": "disconnected", "version": 0}),
        )
        .await;
    assert_eq!(
        (status, code_of(&body)),
        (409, "VERSION_CONFLICT"),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["current"]["location"], "game");
    assert_eq!(body["error"]["details"]["current"]["version"], 1);
    let (status, body) = game
        .write(
            "POST",
            &ada_status,
            &json!({"location": "moon", "version": 1}),
        )
        .await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");

    // Bulk status and heartbeats.
    let bulk = json!({"players": [{"player": b, "location": "game", "version": 0},
                                  {"player": a, "location": "disconnected", "version": 0}]});
    let (status, both) = game
        .write("POST", &format!("/api/v2/sessions/{session}/status"), &bulk)
        .await;
    assert_eq!(status, 200, "{both}");
    assert_eq!(both["updated"][0]["id"], b.as_str());
    assert_eq!(
        both["conflicts"][0]["id"],
        a.as_str(),
        "Ada's report was stale"
    );
    let (status, beat) = game
        .write(
            "POST",
            &format!("/api/v2/sessions/{session}/players/{b}/heartbeat"),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, beat["next_heartbeat_ms"].as_u64()),
        (200, Some(30_000)),
        "{beat}"
    );

    // The game's own state, with a version.
    let state_path = format!("/api/v2/sessions/{session}/state");
    let (status, written) = game
        .write(
            "PUT",
            &state_path,
            &json!({"state": {"question": 1}, "version": 0}),
        )
        .await;
    assert_eq!(
        (status, written["version"].as_u64()),
        (200, Some(1)),
        "{written}"
    );
    let (status, body) = game
        .write(
            "PUT",
            &state_path,
            &json!({"state": {"question": 9}, "version": 0}),
        )
        .await;
    assert_eq!(
        (status, code_of(&body)),
        (409, "VERSION_CONFLICT"),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"],
        json!({"state": {"question": 1}, "version": 1})
    );
    assert_eq!(
        game.get(&state_path).await.1,
        json!({"state": {"question": 1}, "version": 1})
    );

    // A lost connection: the player's token recovers a fresh one.
    let (status, recovered) = game
        .read(
            "/api/v2/sessions/recover",
            &json!({"token": bob_session_token}),
        )
        .await;
    assert_eq!(status, 200, "{recovered}");
    assert_eq!(recovered["player"], b.as_str());
    assert!(
        recovered["url"].as_str().unwrap().contains("session=x1."),
        "{recovered}"
    );

    // The end, with results; a retry is answered again and recorded once.
    let end_path = format!("/api/v2/sessions/{session}/end");
    let end = json!({"ranking": [[b], [a]], "results": {"scores": {&b: 7, &a: 5}}});
    let (replayed, (status, ended)) = game.write_as("end-1", "POST", &end_path, &end).await;
    assert_eq!((replayed, status), (false, 200), "{ended}");
    let (replayed, (status, again)) = game.write_as("end-1", "POST", &end_path, &end).await;
    assert_eq!((replayed, status), (true, 200));
    assert_eq!(again, ended);
    let (status, body) = game.write("POST", &end_path, &end).await;
    assert_eq!(
        (status, code_of(&body)),
        (400, "GAME_OVER"),
        "a second end: {body}"
    );
    assert_eq!(ended["session"]["status"], "ended");
    assert_eq!(ended["session"]["results"]["results"]["scores"][&b], 7);

    // Everyone is back in the lobby, and the party records the game with its ranking.
    let locations: Vec<&str> = ended["session"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations, ["lobby", "lobby"]);
    let view = view_now(&mut ada, &party).await;
    assert!(view["playing"].is_null(), "{view}");
    let history = view["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "recorded once: {view}");
    assert_eq!(history[0]["room"], session.as_str());
    assert_eq!(history[0]["ranking"], json!([[b], [a]]));
    assert!(
        view["ready"].as_array().unwrap().is_empty(),
        "ready again from scratch"
    );

    // Recovery ends with the session; members get no ticket for a party in its lobby.
    let (status, body) = game
        .read(
            "/api/v2/sessions/recover",
            &json!({"token": bob_session_token}),
        )
        .await;
    assert_eq!((status, code_of(&body)), (400, "GAME_OVER"), "{body}");
    let (status, body) = ticket(bob_token).await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_MOVE"), "{body}");

    srv.stop().await.unwrap();
}

/// `return` for everyone ends a game that reported no end: the party records it without a
/// ranking. Some players alone only move those players.
#[tokio::test]
async fn returning_everyone_ends_the_game_without_a_ranking() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let auth = format!("Bearer {TOKEN}");
    let spec = json!({"name": "quiz", "scopes": ["game:read", "game:write"]});
    let (_, made) = request(
        addr,
        "POST",
        "/api/v1/admin/keys",
        &[("Authorization", &auth)],
        Some(&spec),
    )
    .await;
    let mut game = Game {
        addr,
        key: made["key"].as_str().unwrap().to_owned(),
        ops: 0,
    };
    let registration = json!({"id": "solo", "name": "Solo", "url": "https://example.invalid/solo",
        "min_players": 1, "max_players": 2});
    assert_eq!(
        game.write("POST", "/api/v2/games", &registration).await.0,
        201
    );

    let (mut ada, a, _) = member(addr, "Ada").await;
    ada.send(&create_msg(1, "party")).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let party = room.id;
    act(
        &mut ada,
        &party,
        1,
        json!({"type": "pick", "game": "ext:solo"}),
    )
    .await
    .unwrap();
    act(&mut ada, &party, 2, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    ada.send(&ClientMsg::Launch {
        rid: Some(3),
        room: party.clone(),
    })
    .await;
    let ServerMsg::Launched { room: launched, .. } =
        ada.until(|m| matches!(m, ServerMsg::Launched { .. })).await
    else {
        unreachable!()
    };
    let session = launched.id;
    let status_path = format!("/api/v2/sessions/{session}/players/{a}/status");
    game.write(
        "POST",
        &status_path,
        &json!({"location": "game", "version": 0}),
    )
    .await;

    let back = format!("/api/v2/sessions/{session}/return");
    let (status, body) = game
        .write("POST", &back, &json!({"players": ["p_stranger"]}))
        .await;
    assert_eq!((status, code_of(&body)), (400, "NOT_IN_ROOM"), "{body}");
    let (status, some) = game.write("POST", &back, &json!({"players": [a]})).await;
    assert_eq!(status, 200, "{some}");
    assert_eq!(some["session"]["players"][0]["location"], "lobby");
    assert_eq!(
        some["session"]["status"], "playing",
        "some players: the game goes on"
    );

    let (status, all) = game.write("POST", &back, &json!({})).await;
    assert_eq!(
        (status, all["session"]["status"].as_str()),
        (200, Some("returned")),
        "{all}"
    );
    let view = view_now(&mut ada, &party).await;
    assert!(view["playing"].is_null(), "{view}");
    assert_eq!(view["history"][0]["room"], session.as_str());
    assert!(view["history"][0]["ranking"].is_null(), "{view}");

    srv.stop().await.unwrap();
}
