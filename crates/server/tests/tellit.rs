//! Tell-It over real sockets: two writers and a spectator. Stories circulate, each seat sees
//! only the latest part of the story in front of it, the spectator sees counts only, and
//! everyone sees every story once the writers vote to finish.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::{ErrorCode, JoinRole, Role};
use serde_json::{Value, json};
use support::{PATIENCE, server_with, ws_url};

async fn connect(addr: std::net::SocketAddr, name: &str) -> Client {
    Client::connect(&ws_url(addr), Hello::named(name))
        .await
        .unwrap()
        .0
}

/// Wait until the room's view reaches version `v` and return it.
async fn at(client: &Client, room: &str, v: u64) -> Value {
    let mut watch = client.watch(room);
    let got = tokio::time::timeout(
        PATIENCE,
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= v)),
    )
    .await
    .expect("the view did not reach the version in time")
    .unwrap()
    .clone()
    .unwrap();
    assert_eq!(got.v, v, "overshot");
    got.view
}

async fn submit(client: &Client, room: &str, text: &str) -> u64 {
    client
        .act(room, json!({"type": "submit", "text": text}))
        .await
        .unwrap()
}

#[tokio::test]
async fn two_writers_and_a_spectator_write_stories_to_the_end() {
    let mut settings = arbiter_server::Settings::default();
    settings.rooms.allow_seeded_rooms = true;
    let registry = arbiter_engine::Registry::new().with(arbiter_games::tellit::TellIt);
    let srv = server_with(registry, settings).await;
    let ada = connect(srv.addr(), "Ada").await;
    let bob = connect(srv.addr(), "Bob").await;
    let cy = connect(srv.addr(), "Cy").await;
    let ada_id = ada.player().id.as_str().to_owned();

    let room = ada
        .create(CreateRoom {
            seed: Some(7),
            config: Some(json!({"max_chars": 40})),
            ..CreateRoom::new("tellit")
        })
        .await
        .unwrap()
        .room
        .id;
    bob.join(&room, JoinRole::Player).await.unwrap();
    let watching = cy.join(&room, JoinRole::Spectator).await.unwrap();
    assert_eq!(watching.role, Role::Spectator);

    let err = ada
        .act(&room, json!({"type": "submit", "text": "Too early."}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
    let err = bob.add_bot(&room).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unsupported));
    bob.act(&room, json!({"type": "start"})).await.unwrap();

    let err = ada
        .act(&room, json!({"type": "submit", "text": "x".repeat(41)}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
    submit(&ada, &room, "ada-one").await;
    let v = submit(&bob, &room, "bob-one").await;

    // Each seat sees only the latest part of the story in front of it.
    let (a, b, c) = (
        at(&ada, &room, v).await,
        at(&bob, &room, v).await,
        at(&cy, &room, v).await,
    );
    assert_eq!(a["me"]["current"]["last"]["text"], "bob-one");
    assert_eq!(b["me"]["current"]["last"]["text"], "ada-one");
    assert_eq!(b["me"]["current"]["owner"], json!(ada_id));
    assert!(
        !a.to_string().contains("ada-one"),
        "ada's story went to bob"
    );
    assert!(!b.to_string().contains("bob-one"));
    assert!(
        !c.to_string().contains("-one"),
        "the spectator sees counts only"
    );
    assert_eq!(
        (c["stories"].clone(), c["parts"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(c["me"], Value::Null);

    submit(&ada, &room, "ada-two").await;
    let v = submit(&bob, &room, "bob-two").await;
    let (a, b) = (at(&ada, &room, v).await, at(&bob, &room, v).await);
    // Back with their owners: ada's story now ends with bob's part, and vice versa.
    assert_eq!(a["me"]["current"]["owner"], json!(ada_id));
    assert_eq!(a["me"]["current"]["last"]["text"], "bob-two");
    assert!(!a.to_string().contains("ada-one") && !a.to_string().contains("bob-one"));
    assert_eq!(b["me"]["current"]["last"]["text"], "ada-two");

    ada.act(&room, json!({"type": "vote_finish", "vote": true}))
        .await
        .unwrap();
    let v = bob
        .act(&room, json!({"type": "vote_finish", "vote": true}))
        .await
        .unwrap();
    let end = at(&cy, &room, v).await;
    assert_eq!(end["phase"], "ended");
    let texts: Vec<&str> = end["final_stories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["ada-one bob-two", "bob-one ada-two"]);
    let err = ada
        .act(&room, json!({"type": "submit", "text": "More."}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::GameOver));
    assert_eq!(
        at(&ada, &room, v).await["final_stories"],
        end["final_stories"]
    );
    srv.stop().await.unwrap();
}
