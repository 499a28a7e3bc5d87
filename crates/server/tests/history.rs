//! Chat and the history API over real sockets: relayed and rate-limited chat, the log, the
//! view at any version (for the requester's eyes only) and game records.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::{ErrorCode, JoinRole, ServerMsg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::{next_where, server, server_with, ws_url};

/// GET with an optional bearer token.
async fn get_as(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    support::request(addr, "GET", path, &headers, None).await
}

#[tokio::test]
async fn chat_is_relayed_rate_limited_validated_and_shown_to_newcomers() {
    let srv = server().await;
    let (ada, mut ada_ev) = Client::connect(&ws_url(srv.addr()), Hello::named("Ada"))
        .await
        .unwrap();
    let (bob, mut bob_ev) = Client::connect(&ws_url(srv.addr()), Hello::named("Bob"))
        .await
        .unwrap();
    let room = ada
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room
        .id;
    bob.join(&room, JoinRole::Player).await.unwrap();

    ada.chat(&room, "  good luck  ").unwrap();
    for events in [&mut ada_ev, &mut bob_ev] {
        match next_where(events, said).await {
            ServerMsg::Chat {
                from: Some(from),
                text,
                ..
            } => {
                assert_eq!((from.name.as_str(), text.as_str()), ("Ada", "good luck"));
            }
            _ => unreachable!(),
        }
    }
    bob.chat(&room, &"x".repeat(1001)).unwrap();
    match next_where(&mut bob_ev, |m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, details, .. } => {
            assert_eq!(code, ErrorCode::InvalidField);
            assert_eq!(details, Some(json!({"room": room})));
        }
        _ => unreachable!(),
    }
    for i in 0..5 {
        bob.chat(&room, &format!("msg {i}")).unwrap();
    }
    bob.chat(&room, "one too many").unwrap();
    match next_where(&mut bob_ev, |m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::RateLimited),
        _ => unreachable!(),
    }
    // A spectator arriving later sees the latest messages after `joined`.
    let (cy, mut cy_ev) = Client::connect(&ws_url(srv.addr()), Hello::named("Cy"))
        .await
        .unwrap();
    cy.join(&room, JoinRole::Spectator).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 6 {
        if let ServerMsg::Chat { text, .. } = next_where(&mut cy_ev, said).await {
            seen.push(text);
        }
    }
    assert_eq!(
        seen,
        vec!["good luck", "msg 0", "msg 1", "msg 2", "msg 3", "msg 4"]
    );
    srv.stop().await.unwrap();
}

/// A chat message a member said (not one of the room's own).
fn said(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Chat { from: Some(_), .. })
}

#[tokio::test]
async fn the_view_at_any_version_matches_what_clients_saw_then() {
    let srv = server().await;
    let (ada, mut ada_ev) = Client::connect(&ws_url(srv.addr()), Hello::named("Ada"))
        .await
        .unwrap();
    let (bob, _b) = Client::connect(&ws_url(srv.addr()), Hello::named("Bob"))
        .await
        .unwrap();
    let room = ada
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room
        .id;
    bob.join(&room, JoinRole::Player).await.unwrap();
    let mut w = ada.watch(&room);
    let mut seen: BTreeMap<u64, Value> = BTreeMap::new();
    let mut at = 2;
    for cell in [4u8, 0, 8, 2, 6] {
        let view = w
            .wait_for(|v| v.as_ref().is_some_and(|v| v.v >= at))
            .await
            .unwrap()
            .clone()
            .unwrap();
        seen.insert(view.v, view.view.clone());
        let mover = if view.view["turn"] == json!(ada.player().id.as_str()) {
            &ada
        } else {
            &bob
        };
        at = mover
            .act(
                &room,
                json!({"type": "move", "row": cell / 3, "col": cell % 3}),
            )
            .await
            .unwrap();
    }
    w.wait_for(|v| v.as_ref().is_some_and(|v| v.v >= at))
        .await
        .unwrap();
    let last = ada.view(&room).unwrap();
    seen.insert(last.v, last.view);
    let _ = &mut ada_ev;
    for (v, view) in &seen {
        let (status, body) = get_as(
            srv.addr(),
            &format!("/api/v1/rooms/{room}/state?v={v}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (&body["v"], &body["view"]),
            (&json!(v), view),
            "state at v{v}"
        );
    }
    let (status, body) = get_as(
        srv.addr(),
        &format!("/api/v1/rooms/{room}/state?v=999"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("INVALID_FIELD"))
    );

    let (status, log) = get_as(
        srv.addr(),
        &format!("/api/v1/rooms/{room}/log?after=2&limit=3"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| e["v"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(entries[0]["kind"], json!("act"));
    assert_eq!(
        entries[0]["action"],
        json!({"type": "move", "row": 1, "col": 1}),
        "a public game's actions are shown"
    );

    let (status, body) = get_as(
        srv.addr(),
        &format!("/api/v1/rooms/{room}/log"),
        Some("forged.token"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (401, json!("BAD_TOKEN"))
    );
    let (status, body) = get_as(srv.addr(), "/api/v1/rooms/r_nope/log", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("ROOM_NOT_FOUND"))
    );
    let (_, body) = get_as(srv.addr(), &format!("/api/v1/rooms/{room}/history"), None).await;
    assert_eq!(body["history"], Value::Null, "tic-tac-toe keeps no records");
    srv.stop().await.unwrap();
}

mod whisper {
    //! A game whose actions carry secrets, to check the log hides them from others.

    use arbiter_engine::protocol::PlayerId;
    use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Seat, Seats, Viewer};
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    pub(super) struct Whisper;

    #[derive(Clone, Serialize, Deserialize)]
    pub(super) enum Action {
        Whisper { secret: String },
    }

    impl Game for Whisper {
        type State = BTreeMap<PlayerId, Vec<String>>;
        type Action = Action;
        type Config = Value;

        fn info(&self) -> GameInfo {
            GameInfo::new("whisper", "Whisper", "test", 1..=4)
        }
        fn setup(&self, _: &Value, _: &mut Ctx<'_, Action>) -> Result<Self::State, GameError> {
            Ok(BTreeMap::new())
        }
        fn join(
            &self,
            s: &mut Self::State,
            p: &Seat,
            _: &mut Ctx<'_, Action>,
        ) -> Result<(), GameError> {
            s.insert(p.id.clone(), Vec::new());
            Ok(())
        }
        fn leave(&self, s: &mut Self::State, p: &Seat, _: &mut Ctx<'_, Action>) {
            s.remove(&p.id);
        }
        fn apply(
            &self,
            s: &mut Self::State,
            by: &Actor,
            a: Action,
            _: &mut Ctx<'_, Action>,
        ) -> Result<(), GameError> {
            let (Actor::Player(p), Action::Whisper { secret }) = (by, a) else {
                return Err(GameError::invalid_move("no"));
            };
            s.entry(p.clone()).or_default().push(secret);
            Ok(())
        }
        fn view(&self, s: &Self::State, _: &Seats, viewer: &Viewer) -> Value {
            let counts: BTreeMap<&PlayerId, Value> = s
                .iter()
                .map(|(p, secrets)| {
                    (
                        p,
                        if *viewer == Viewer::Player(p.clone()) {
                            json!(secrets)
                        } else {
                            json!(secrets.len())
                        },
                    )
                })
                .collect();
            json!(counts)
        }
    }
}

#[tokio::test]
async fn the_log_and_past_views_keep_hidden_information_hidden() {
    let srv = server_with(
        arbiter_games::registry().with(whisper::Whisper),
        arbiter_server::Settings::default(),
    )
    .await;
    let (ada, _a) = Client::connect(&ws_url(srv.addr()), Hello::named("Ada"))
        .await
        .unwrap();
    let (bob, _b) = Client::connect(&ws_url(srv.addr()), Hello::named("Bob"))
        .await
        .unwrap();
    let room = ada
        .create(CreateRoom::new("whisper"))
        .await
        .unwrap()
        .room
        .id;
    bob.join(&room, JoinRole::Player).await.unwrap();
    let v = ada
        .act(&room, json!({"Whisper": {"secret": "SWORDFISH"}}))
        .await
        .unwrap();

    let path = format!("/api/v1/rooms/{room}/log");
    let (_, as_ada) = get_as(srv.addr(), &path, Some(ada.token())).await;
    let (_, as_bob) = get_as(srv.addr(), &path, Some(bob.token())).await;
    let (_, as_nobody) = get_as(srv.addr(), &path, None).await;
    assert!(
        as_ada.to_string().contains("SWORDFISH"),
        "the author sees their action"
    );
    assert!(!as_bob.to_string().contains("SWORDFISH"));
    assert!(!as_nobody.to_string().contains("SWORDFISH"));
    assert_eq!(
        as_bob["entries"].as_array().unwrap().len(),
        3,
        "the entry is listed, without its action"
    );

    let state = format!("/api/v1/rooms/{room}/state?v={v}");
    let (_, ada_view) = get_as(srv.addr(), &state, Some(ada.token())).await;
    let (_, bob_view) = get_as(srv.addr(), &state, Some(bob.token())).await;
    assert!(ada_view.to_string().contains("SWORDFISH"));
    assert!(!bob_view.to_string().contains("SWORDFISH"));
    assert_eq!(bob_view["view"][ada.player().id.as_str()], json!(1));
    srv.stop().await.unwrap();
}
