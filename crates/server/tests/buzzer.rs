//! The example external game (`examples/buzzer`) played from a party, its page's calls driven
//! over HTTP as a browser would make them: the party picks the buzzer, the host starts it,
//! both members open their ticket URL and join, the faster one buzzes, and everyone is back in
//! the party, which records the ranking.

#![allow(clippy::unwrap_used)]

mod support;

#[path = "../examples/buzzer/game.rs"]
mod game;

use arbiter_protocol::{ClientMsg, JoinRole, ServerMsg};
use arbiter_server::Settings;
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{Raw, create_msg, request, request_text, server_with};

const TOKEN: &str = "admin-token-for-tests-0123";

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

async fn act(raw: &mut Raw, party: &str, seq: u64, action: Value) {
    raw.send(&ClientMsg::Act {
        room: party.to_owned(),
        seq,
        base: None,
        action,
    })
    .await;
    let answer = raw
        .until(|m| matches!(m, ServerMsg::Ack { seq: s, .. } | ServerMsg::Reject { seq: s, .. } if *s == seq))
        .await;
    assert!(matches!(answer, ServerMsg::Ack { .. }), "{answer:?}");
}

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

/// Split `http://host:port/path` into an address and a path.
fn split(url: &str) -> (SocketAddr, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let slash = rest.find('/').unwrap();
    (rest[..slash].parse().unwrap(), rest[slash..].to_owned())
}

#[tokio::test]
async fn a_party_plays_the_example_buzzer_and_comes_back_to_the_lobby() {
    let settings = Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let auth = format!("Bearer {TOKEN}");
    let spec = json!({"name": "buzzer", "scopes": ["game:read", "game:write"], "game": "buzzer"});
    let (_, made) = request(
        addr,
        "POST",
        "/api/v1/admin/keys",
        &[("Authorization", &auth)],
        Some(&spec),
    )
    .await;

    // The buzzer's backend, registering itself.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let buzzer_addr = listener.local_addr().unwrap();
    let arbiter = game::Arbiter {
        addr: addr.to_string(),
        key: made["key"].as_str().unwrap().to_owned(),
    };
    let registered = arbiter
        .register(&format!("http://{buzzer_addr}/"))
        .await
        .unwrap();
    assert_eq!(registered["id"], "buzzer");
    tokio::spawn(
        axum::serve(listener, game::router(arbiter, format!("http://{addr}"))).into_future(),
    );

    // A party picks it and starts it.
    let (mut ada, a, ada_token) = member(addr, "Ada").await;
    ada.send(&create_msg(1, "party")).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let (party, code) = (room.id, room.code);
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
    act(
        &mut ada,
        &party,
        1,
        json!({"type": "pick", "game": "ext:buzzer"}),
    )
    .await;
    act(&mut ada, &party, 2, json!({"type": "ready", "ready": true})).await;
    act(&mut bob, &party, 1, json!({"type": "ready", "ready": true})).await;
    ada.send(&ClientMsg::Launch {
        rid: Some(3),
        room: party.clone(),
    })
    .await;
    ada.until(|m| matches!(m, ServerMsg::Launched { .. })).await;

    // Each member opens their ticket's URL: the page, then its calls.
    let ticket_path = format!("/api/v1/rooms/{party}/external");
    let mut tokens = Vec::new();
    for player_token in [&ada_token, &bob_token] {
        let auth = format!("Bearer {player_token}");
        let (status, ticket) = request(
            addr,
            "POST",
            &ticket_path,
            &[("Authorization", &auth)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{ticket}");
        let (at, path) = split(ticket["url"].as_str().unwrap());
        assert_eq!(at, buzzer_addr);
        let (status, _, html) = request_text(at, "GET", &path, &[], None).await;
        assert_eq!(status, 200);
        assert!(html.contains("Buzz!") && html.contains("/join"), "{html}");
        tokens.push(ticket["token"].as_str().unwrap().to_owned());
    }
    let page = |path: &'static str, token: String| async move {
        request(
            buzzer_addr,
            "POST",
            path,
            &[],
            Some(&json!({"token": token})),
        )
        .await
    };
    let (status, joined) = page("/join", tokens[0].clone()).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        (joined["me"].as_str(), joined["me_name"].as_str()),
        (Some(a.as_str()), Some("Ada"))
    );
    assert_eq!(joined["players"].as_array().unwrap().len(), 2);
    assert!(joined["winner"].is_null());
    let (_, bob_joined) = page("/join", tokens[1].clone()).await;
    // A reload of Bob's page joins again: answered again by Arbiter, not applied twice.
    let (_, again) = page("/join", tokens[1].clone()).await;
    assert_eq!(again["me"], bob_joined["me"]);
    let session = {
        let (_, valid) = arbiter_get_session(addr, &made, &tokens[1]).await;
        valid
    };
    let bob_now = session["session"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == b.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (bob_now["location"].as_str(), bob_now["version"].as_u64()),
        (Some("game"), Some(1))
    );

    // Bob buzzes first; Ada's buzz comes too late.
    let (status, won) = page("/buzz", tokens[1].clone()).await;
    assert_eq!(status, 200, "{won}");
    assert_eq!(
        (won["winner"].as_str(), won["winner_name"].as_str()),
        (Some(b.as_str()), Some("Bob"))
    );
    assert_eq!(won["lobby"], format!("http://{addr}/#room={code}"));
    let (_, late) = page("/buzz", tokens[0].clone()).await;
    assert_eq!(late["winner"].as_str(), Some(b.as_str()));

    // Everyone is back in the party, which records the game with its ranking.
    let view = view_now(&mut ada, &party).await;
    assert!(view["playing"].is_null(), "{view}");
    assert_eq!(view["history"][0]["ranking"], json!([[b], [a]]));
    let (_, ended) = arbiter_get_session(addr, &made, &tokens[0]).await;
    assert_eq!(ended["session"]["status"], "ended");
    let locations: Vec<&str> = ended["session"]["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations, ["lobby", "lobby"]);

    srv.stop().await.unwrap();
}

/// The session a token belongs to, read with the game's key.
async fn arbiter_get_session(addr: SocketAddr, made: &Value, token: &str) -> (u16, Value) {
    let key = made["key"].as_str().unwrap();
    let (_, valid) = request(
        addr,
        "POST",
        "/api/v2/sessions/validate",
        &[("x-api-key", key)],
        Some(&json!({"token": token})),
    )
    .await;
    let id = valid["session"]["id"].as_str().unwrap();
    request(
        addr,
        "GET",
        &format!("/api/v2/sessions/{id}"),
        &[("x-api-key", key)],
        None,
    )
    .await
}
