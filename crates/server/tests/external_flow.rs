//! A party plays an external game, end to end over real sockets and HTTP with a real key
//! (docs/external-games.md): the party picks the registered game, the host starts it, each
//! member gets a session token and the game's URL, the game validates them, reports where
//! players are (a stale version is refused with the current state), keeps its state, reports
//! the end with a ranking the party records, and everyone is back in the lobby.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, RoomInfo, ServerMsg};
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

/// The host starts the party's picked game: the room (or external session) it launched.
async fn launch(host: &mut Raw, rid: u64, party: &str) -> RoomInfo {
    host.send(&ClientMsg::Launch {
        rid: Some(rid),
        room: party.to_owned(),
    })
    .await;
    match host
        .until(|m| matches!(m, ServerMsg::Launched { rid: r, .. } if *r == Some(rid)))
        .await
    {
        ServerMsg::Launched { room, .. } => room,
        _ => unreachable!(),
    }
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
    let launched = launch(&mut ada, 9, &party).await;
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
    let launched = launch(&mut ada, 3, &party).await;
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

/// What the test's webhook receiver saw of one request: its event, signature, body and the
/// (virtual) time it arrived.
struct Hit {
    event: String,
    signature: String,
    body: String,
    at: tokio::time::Instant,
}

/// A webhook endpoint on loopback that answers 500 to its first `failures` requests and 200
/// after, reporting each request once it has answered.
async fn receiver(failures: usize) -> (u16, tokio::sync::mpsc::UnboundedReceiver<Hit>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let head_end = loop {
                let mut chunk = [0u8; 4096];
                let read = s.read(&mut chunk).await.unwrap();
                assert!(read > 0, "the request ended early");
                buf.extend_from_slice(&chunk[..read]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
                    .unwrap_or_default()
            };
            let length: usize = header("content-length").parse().unwrap();
            while buf.len() < head_end + length {
                let mut chunk = [0u8; 4096];
                let read = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..read]);
            }
            let status = if n < failures {
                "500 Internal Server Error"
            } else {
                "200 OK"
            };
            let answer =
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            s.write_all(answer.as_bytes()).await.unwrap();
            s.shutdown().await.ok();
            let hit = Hit {
                event: header("x-arbiter-event"),
                signature: header("x-arbiter-signature"),
                body: String::from_utf8(buf[head_end..head_end + length].to_vec()).unwrap(),
                at: tokio::time::Instant::now(),
            };
            if tx.send(hit).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

/// Whether `signature` (`t=<ms>,v1=<hex>`) is `secret`'s HMAC-SHA256 of `"<ms>.<body>"`.
fn verifies(secret: &str, signature: &str, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

#[tokio::test]
async fn webhooks_are_signed_retried_with_backoff_and_delivered_in_order_per_party() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    webhook_flow(server_with(arbiter_games::registry(), settings).await).await;
}

#[tokio::test]
async fn webhooks_are_retried_and_kept_in_order_on_postgres() {
    let db = support::PgDatabase::create("arbiter_hooks").await;
    let store = arbiter_server::SqlStore::open(&db.url).await.unwrap();
    let srv = arbiter_server::start_full(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        Settings {
            admin_token: Some(TOKEN.into()),
            ..Settings::default()
        },
        arbiter_server::Signer::new("test-secret-test-secret-test-secret"),
        None,
        Some(store.records()),
    )
    .await
    .unwrap();
    webhook_flow(srv).await;
}

/// A webhook whose endpoint fails twice: each delivery is signed, the retries wait for their
/// growing backoff, the party's next event waits for the first, and the log shows it all.
async fn webhook_flow(srv: arbiter_server::Running) {
    use std::time::Duration;
    use support::{Clock, within};
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
    let registration = json!({"id": "quiz", "name": "Quiz", "url": "http://127.0.0.1:9/quiz",
        "min_players": 1, "max_players": 4});
    assert_eq!(
        game.write("POST", "/api/v2/games", &registration).await.0,
        201
    );
    let (port, mut hits) = receiver(2).await;
    let hook = json!({"url": format!("http://127.0.0.1:{port}/hooks"),
        "events": ["session.started", "player.status"]});
    let (status, registered) = game.write("POST", "/api/v2/webhooks", &hook).await;
    assert_eq!(status, 201, "{registered}");
    let secret = registered["secret"].as_str().unwrap().to_owned();
    let hook_id = registered["webhook"]["id"].as_str().unwrap().to_owned();
    assert_eq!(registered["webhook"]["game"], "quiz", "the key's game");
    let (status, body) = game
        .write("POST", "/api/v2/webhooks", &json!({"url": "https://x/"}))
        .await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");

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
        json!({"type": "pick", "game": "ext:quiz"}),
    )
    .await
    .unwrap();
    act(&mut ada, &party, 2, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();

    let clock = Clock::freeze();
    let launched = within("launched", launch(&mut ada, 3, &party)).await;
    let session = launched.id;
    // A second event about the party, queued behind the first.
    let status_path = format!("/api/v2/sessions/{session}/players/{a}/status");
    let (status, _) = within(
        "a report",
        game.write(
            "POST",
            &status_path,
            &json!({"location": "game", "version": 0}),
        ),
    )
    .await;
    assert_eq!(status, 200);

    let log_path = format!("/api/v2/webhooks/{hook_id}/deliveries");
    let first = within("the first attempt", hits.recv()).await.unwrap();
    assert_eq!(first.event, "session.started");
    assert!(
        verifies(&secret, &first.signature, &first.body),
        "{}",
        first.signature
    );
    assert!(!verifies("whsec_other", &first.signature, &first.body));
    let sent: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(
        (sent["party"].as_str(), sent["data"]["session"].as_str()),
        (Some(party.as_str()), Some(session.as_str()))
    );

    // Attempts are noted; the retry waits for its backoff (at least a second), and the
    // party's next event waits for it.
    let attempts_of = |log: &Value, event: &str| {
        log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["event"] == event)
            .map(|d| d["attempts"].as_u64().unwrap())
    };
    let noted = |attempts: u64| {
        let log_path = log_path.clone();
        let game = &game;
        async move {
            loop {
                let (_, log) = game.get(&log_path).await;
                if attempts_of(&log, "session.started") == Some(attempts) {
                    return log;
                }
                tokio::task::yield_now().await;
            }
        }
    };
    let log = within("the first attempt noted", noted(1)).await;
    assert_eq!(attempts_of(&log, "player.status"), Some(0), "{log}");
    tokio::time::advance(Duration::from_millis(999)).await;
    game.get(&log_path).await;
    assert!(hits.try_recv().is_err(), "retried before its backoff");

    // Step time until a hit arrives; the virtual time between attempts is at least the backoff.
    async fn next_hit(hits: &mut tokio::sync::mpsc::UnboundedReceiver<Hit>, game: &Game) -> Hit {
        for _ in 0..400 {
            if let Ok(hit) = hits.try_recv() {
                return hit;
            }
            tokio::time::advance(Duration::from_millis(50)).await;
            game.get("/api/v2/key").await;
        }
        panic!("no delivery within 20 s of virtual time");
    }
    let second = next_hit(&mut hits, &game).await;
    assert_eq!(second.event, "session.started");
    assert!(second.at - first.at >= Duration::from_millis(1_000));
    within("the second attempt noted", noted(2)).await;
    let third = next_hit(&mut hits, &game).await;
    assert_eq!(third.event, "session.started");
    assert!(
        third.at - second.at >= Duration::from_millis(2_000),
        "the backoff doubles"
    );
    assert_eq!(third.body, first.body, "the same delivery, again");
    let fourth = next_hit(&mut hits, &game).await;
    assert_eq!(
        fourth.event, "player.status",
        "in order, once the first got through"
    );
    assert!(verifies(&secret, &fourth.signature, &fourth.body));

    let log = loop {
        let (_, log) = within("the log", game.get(&log_path)).await;
        if log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "delivered")
        {
            break log;
        }
        tokio::task::yield_now().await;
    };
    let started = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"] == "session.started")
        .unwrap();
    assert_eq!(
        (
            started["attempts"].as_u64(),
            started["last_status"].as_u64()
        ),
        (Some(3), Some(200)),
        "{log}"
    );
    assert_eq!(attempts_of(&log, "player.status"), Some(1));

    clock.thaw();
    srv.stop().await.unwrap();
}

/// A party's host, its id, and the party room's id.
async fn party_of(addr: SocketAddr) -> (Raw, String, String) {
    let (mut ada, a, _) = member(addr, "Ada").await;
    ada.send(&create_msg(1, "party")).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    (ada, a, room.id)
}

/// A member joins `party` and is seated; their socket and id.
async fn joins(addr: SocketAddr, party: &str, name: &str) -> (Raw, String) {
    let (mut raw, id, _) = member(addr, name).await;
    raw.send(&ClientMsg::Join {
        rid: Some(1),
        room: party.to_owned(),
        role: JoinRole::Any,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    raw.until(|m| matches!(m, ServerMsg::Joined { .. })).await;
    (raw, id)
}

/// A key for external game `id`, with the game registered; the admin token makes the key.
async fn registered(addr: SocketAddr, id: &str) -> Game {
    let auth = format!("Bearer {TOKEN}");
    let spec = json!({"name": id, "scopes": ["game:read", "game:write"], "game": id});
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
    let registration = json!({"id": id, "name": id.to_uppercase(),
        "url": format!("http://127.0.0.1:9/{id}"), "min_players": 1, "max_players": 4});
    assert_eq!(
        game.write("POST", "/api/v2/games", &registration).await.0,
        201
    );
    game
}

/// A webhook of `game`'s key for `events` (all when `None`) at a fresh receiver: its secret
/// and what it hears.
async fn hooked(
    game: &mut Game,
    events: Option<&[&str]>,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Hit>) {
    let (port, hits) = receiver(0).await;
    let mut hook = json!({"url": format!("http://127.0.0.1:{port}/hooks")});
    if let Some(events) = events {
        hook["events"] = json!(events);
    }
    let (status, registered) = game.write("POST", "/api/v2/webhooks", &hook).await;
    assert_eq!(status, 201, "{registered}");
    (registered["secret"].as_str().unwrap().to_owned(), hits)
}

/// The next delivery, checked for its signature: its event and body.
async fn heard(
    hits: &mut tokio::sync::mpsc::UnboundedReceiver<Hit>,
    secret: &str,
) -> (String, Value) {
    let hit = support::within("a delivery", hits.recv()).await.unwrap();
    assert!(verifies(secret, &hit.signature, &hit.body), "{}", hit.body);
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body["event"], hit.event.as_str());
    (hit.event, body)
}

#[tokio::test]
async fn party_events_reach_the_games_webhook_in_order_and_signed() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let mut game = registered(addr, "quiz").await;
    let (secret, mut hits) = hooked(&mut game, None).await;

    let (mut ada, a, party) = party_of(addr).await;
    let (_, b) = joins(addr, &party, "Bob").await;
    let pick = json!({"type": "pick", "game": "ext:quiz", "config": {"rounds": 3}});
    act(&mut ada, &party, 1, pick).await.unwrap();
    let (mut cy, c) = joins(addr, &party, "Cy").await;
    cy.send(&ClientMsg::Leave {
        rid: Some(2),
        room: party.clone(),
    })
    .await;
    cy.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    act(&mut ada, &party, 2, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    let session = launch(&mut ada, 3, &party).await;

    let (event, selected) = heard(&mut hits, &secret).await;
    assert_eq!(event, "party.selected", "{selected}");
    assert_eq!(
        (selected["game"].as_str(), selected["party"].as_str()),
        (Some("quiz"), Some(party.as_str()))
    );
    let data = &selected["data"];
    assert_eq!(data["host"], a.as_str());
    assert_eq!(data["title"], "QUIZ");
    assert_eq!(data["settings"], json!({"rounds": 3}));
    assert_eq!(
        data["members"],
        json!([{"id": a, "name": "Ada"}, {"id": b, "name": "Bob"}])
    );

    let (event, joined) = heard(&mut hits, &secret).await;
    assert_eq!(event, "party.member_joined", "{joined}");
    assert_eq!(
        (
            joined["data"]["player"].as_str(),
            joined["data"]["name"].as_str()
        ),
        (Some(c.as_str()), Some("Cy"))
    );
    assert_eq!(joined["data"]["members"].as_array().unwrap().len(), 3);
    let (event, left) = heard(&mut hits, &secret).await;
    assert_eq!(event, "party.member_left", "{left}");
    assert_eq!(left["data"]["player"], c.as_str());
    assert_eq!(left["data"]["members"].as_array().unwrap().len(), 2);

    let (event, started) = heard(&mut hits, &secret).await;
    assert_eq!(event, "session.started", "after the party's events");
    assert_eq!(started["data"]["session"], session.id.as_str());
    assert_eq!(started["party"], party.as_str());

    // The session's end and the players' moves keep their order too.
    let session = session.id;
    let status_path = format!("/api/v2/sessions/{session}/players/{a}/status");
    let report = json!({"location": "game", "version": 0});
    assert_eq!(game.write("POST", &status_path, &report).await.0, 200);
    let end = json!({"ranking": [[a]], "results": {"best": "Ada"}});
    let end_path = format!("/api/v2/sessions/{session}/end");
    assert_eq!(game.write("POST", &end_path, &end).await.0, 200);
    let mut heard_then = Vec::new();
    for _ in 0..3 {
        let (event, body) = heard(&mut hits, &secret).await;
        if event == "session.ended" {
            assert_eq!(body["data"]["ranking"], json!([[a]]));
            assert_eq!(body["data"]["results"], json!({"best": "Ada"}));
        }
        heard_then.push((event, body["data"]["location"].clone()));
    }
    assert_eq!(
        heard_then,
        [
            ("player.status".to_owned(), json!("game")),
            ("session.ended".to_owned(), Value::Null),
            ("player.status".to_owned(), json!("lobby")),
        ]
    );

    // A second round that everyone leaves without an end.
    act(&mut ada, &party, 3, json!({"type": "ready", "ready": true}))
        .await
        .unwrap();
    let again = launch(&mut ada, 4, &party).await;
    let return_path = format!("/api/v2/sessions/{}/return", again.id);
    assert_eq!(game.write("POST", &return_path, &json!({})).await.0, 200);
    let (event, body) = heard(&mut hits, &secret).await;
    assert_eq!(
        (event.as_str(), &body["data"]["round"]),
        ("session.started", &json!(2))
    );
    let (event, body) = heard(&mut hits, &secret).await;
    assert_eq!(event, "session.returned");
    assert_eq!(body["data"], json!({"session": again.id}));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_games_webhook_hears_nothing_of_another_games_party_events() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let mut quiz = registered(addr, "quiz").await;
    let mut trivia = registered(addr, "trivia").await;
    let (quiz_secret, mut quiz_hits) = hooked(&mut quiz, Some(&EVERY_PARTY_EVENT)).await;
    let (trivia_secret, mut trivia_hits) = hooked(&mut trivia, Some(&EVERY_PARTY_EVENT)).await;

    // The unknown event is refused, naming the events there are.
    let hook = json!({"url": "http://127.0.0.1:9/hooks", "events": ["party.renamed"]});
    let (status, body) = quiz.write("POST", "/api/v2/webhooks", &hook).await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");
    assert_eq!(body["error"]["details"]["field"], "events");
    let message = body["error"]["message"].as_str().unwrap();
    for event in EVERY_PARTY_EVENT {
        assert!(message.contains(event), "{message}");
    }

    let (mut ada, _, party) = party_of(addr).await;
    act(
        &mut ada,
        &party,
        1,
        json!({"type": "pick", "game": "ext:trivia"}),
    )
    .await
    .unwrap();
    let (mut bob, _) = joins(addr, &party, "Bob").await;
    bob.send(&ClientMsg::Leave {
        rid: Some(2),
        room: party.clone(),
    })
    .await;
    bob.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    act(
        &mut ada,
        &party,
        2,
        json!({"type": "pick", "game": "ext:quiz"}),
    )
    .await
    .unwrap();

    let mut trivia_heard = Vec::new();
    for _ in 0..4 {
        let (event, body) = heard(&mut trivia_hits, &trivia_secret).await;
        assert_eq!(body["game"], "trivia", "{body}");
        trivia_heard.push(event);
    }
    assert_eq!(
        trivia_heard,
        [
            "party.selected",
            "party.member_joined",
            "party.member_left",
            "party.deselected"
        ]
    );
    // The party's events queue in order: had quiz's webhook been sent trivia's, they would
    // have come first.
    let (event, body) = heard(&mut quiz_hits, &quiz_secret).await;
    assert_eq!(
        (event.as_str(), body["game"].as_str()),
        ("party.selected", Some("quiz"))
    );
    let (_, hooks) = quiz.get("/api/v2/webhooks").await;
    let id = hooks["webhooks"][0]["id"].as_str().unwrap().to_owned();
    let (_, log) = quiz.get(&format!("/api/v2/webhooks/{id}/deliveries")).await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 1, "{log}");
    srv.stop().await.unwrap();
}

const EVERY_PARTY_EVENT: [&str; 4] = [
    "party.selected",
    "party.deselected",
    "party.member_joined",
    "party.member_left",
];
