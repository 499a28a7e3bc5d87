//! `GET /api/v1/rooms/{id}/legal` over real sockets: the requester's legal actions and where
//! the game stands, which is all a client needs to play a game it has no page for.

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::JoinRole;
use serde_json::{Value, json};
use support::{server, ws_url};

/// GET with an optional bearer token.
async fn legal(addr: std::net::SocketAddr, room: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let path = format!("/api/v1/rooms/{room}/legal");
    support::request(addr, "GET", &path, &headers, None).await
}

#[tokio::test]
async fn players_get_their_legal_actions_spectators_none_and_the_result_at_the_end() {
    let srv = server().await;
    let url = ws_url(srv.addr());
    let (ada, _ada_ev) = Client::connect(&url, Hello::named("Ada"))
        .await
        .expect("ada");
    let (bob, _bob_ev) = Client::connect(&url, Hello::named("Bob"))
        .await
        .expect("bob");
    let create = CreateRoom {
        config: Some(json!({"target": 3})),
        ..CreateRoom::new("race")
    };
    let room = ada.create(create).await.expect("create").room.id;
    let (_, waiting) = legal(srv.addr(), &room, Some(ada.token())).await;
    assert_eq!(
        waiting,
        json!({"v": 1, "status": "waiting", "ranking": null, "actions": []})
    );
    bob.join(&room, JoinRole::Player).await.expect("join");

    // Ada sat down first, so she plays first.
    let (status, as_ada) = legal(srv.addr(), &room, Some(ada.token())).await;
    assert_eq!(status, 200);
    assert_eq!(as_ada["status"], "playing");
    assert_eq!(
        as_ada["actions"],
        json!([{"type": "add", "n": 1}, {"type": "add", "n": 2}, {"type": "add", "n": 3}])
    );
    let (_, as_bob) = legal(srv.addr(), &room, Some(bob.token())).await;
    assert_eq!(as_bob["actions"], json!([]), "not Bob's turn");
    let (_, as_spectator) = legal(srv.addr(), &room, None).await;
    assert_eq!(as_spectator["actions"], json!([]));

    // Any listed action is accepted as is; this one wins.
    let v = ada
        .act(&room, as_ada["actions"][2].clone())
        .await
        .expect("act");
    let (_, over) = legal(srv.addr(), &room, Some(ada.token())).await;
    assert_eq!(
        over,
        json!({"v": v, "status": "finished", "actions": [],
               "ranking": [[ada.player().id], [bob.player().id]]})
    );

    let (status, body) = legal(srv.addr(), &room, Some("forged.token")).await;
    assert_eq!((status, &body["error"]["code"]), (401, &json!("BAD_TOKEN")));
    let (status, body) = legal(srv.addr(), "r_nope", None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &json!("ROOM_NOT_FOUND"))
    );
}
