//! End to end over real sockets with the Rust client: two players and a spectator play
//! tic-tac-toe to a win and to a draw; duplicates, stale bases, hidden information,
//! reconnects, the REST API and graceful shutdown.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{ActOptions, Client, ClientError, CreateRoom, Events, Hello};
use arbiter_protocol::{ErrorCode, JoinRole, PresenceEvent, Role, ServerMsg, close};
use serde_json::{Value, json};
use support::{PATIENCE, Raw, get, server, server_with, ws_url};

/// A participant and everything it received.
struct Seat {
    client: Client,
    events: Events,
    log: Vec<ServerMsg>,
}

impl Seat {
    async fn connect(addr: std::net::SocketAddr, name: &str) -> Self {
        let (client, events) = Client::connect(&ws_url(addr), Hello::named(name))
            .await
            .unwrap();
        Self {
            client,
            events,
            log: Vec::new(),
        }
    }

    /// Read events until the room's view reaches version `v`.
    async fn reach(&mut self, room: &str, v: u64) -> Value {
        let mut watch = self.client.watch(room);
        let view = tokio::time::timeout(
            PATIENCE,
            watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= v)),
        )
        .await
        .expect("view did not reach the version in time")
        .unwrap()
        .clone()
        .unwrap();
        assert_eq!(view.v, v, "overshot the expected version");
        view.view
    }

    /// Everything received so far, in order.
    fn drain(&mut self) -> &[ServerMsg] {
        while let Some(m) = self.events.try_next() {
            self.log.push(m);
        }
        &self.log
    }

    /// The versions of every snapshot and patch for `room`, checking each patch starts where
    /// the previous message left off.
    fn versions(&mut self, room: &str) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        for m in self.drain() {
            match m {
                ServerMsg::Snapshot { room: r, v, .. } if r == room => out.push(*v),
                ServerMsg::Patch {
                    room: r, from, v, ..
                } if r == room => {
                    assert_eq!(
                        Some(from),
                        out.last(),
                        "patch from {from} after {:?}",
                        out.last()
                    );
                    out.push(*v);
                }
                _ => {}
            }
        }
        out
    }
}

fn mover<'a>(view: &Value, a: &'a Seat, b: &'a Seat) -> (&'a Seat, &'a Seat) {
    if view["turn"] == json!(a.client.player().id.as_str()) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Play `cells` alternately starting with whoever's turn it is; returns the first mover's id.
async fn play(
    room: &str,
    cells: &[u8],
    ada: &mut Seat,
    bob: &mut Seat,
    cy: &mut Seat,
    from_v: u64,
) -> String {
    let view = ada.reach(room, from_v).await;
    let first = view["turn"].as_str().unwrap().to_owned();
    let mut v = from_v;
    for &cell in cells {
        let view = ada.reach(room, v).await;
        let (m, _) = mover(&view, ada, bob);
        let got = m
            .client
            .act(
                room,
                json!({"type": "move", "row": cell / 3, "col": cell % 3}),
            )
            .await
            .unwrap();
        v += 1;
        assert_eq!(got, v);
        // The ack comes after the patch: the mover's own view already shows the move.
        let own = m.client.view(room).unwrap();
        assert_eq!(own.v, v);
        let mark = own.view["board"][usize::from(cell)].clone();
        assert!(mark == json!("X") || mark == json!("O"));
    }
    for s in [&mut *ada, &mut *bob, &mut *cy] {
        s.reach(room, v).await;
    }
    first
}

#[tokio::test]
async fn two_players_and_a_spectator_play_to_a_win_and_a_draw() {
    let srv = server().await;
    let mut ada = Seat::connect(srv.addr(), "Ada").await;
    let mut bob = Seat::connect(srv.addr(), "Bob").await;
    let mut cy = Seat::connect(srv.addr(), "Cy").await;

    let created = ada
        .client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap();
    assert_eq!(created.role, Role::Player);
    let room = created.room.id.clone();
    let joined = bob
        .client
        .join(&created.room.code.to_lowercase(), JoinRole::Any)
        .await
        .unwrap();
    assert_eq!(
        (joined.role, joined.room.id.as_str()),
        (Role::Player, room.as_str())
    );
    let watching = cy
        .client
        .join(&created.room.code, JoinRole::Any)
        .await
        .unwrap();
    assert_eq!(watching.role, Role::Spectator);
    assert!(watching.notice.unwrap().contains("spectator"));
    assert_eq!(watching.members.len(), 3);

    // v1 Ada seated, v2 Bob seated (game starts). First mover takes the top row.
    let first = play(&room, &[0, 3, 1, 4, 2], &mut ada, &mut bob, &mut cy, 2).await;
    let end_of_win = 7;
    let views: Vec<Value> = vec![
        ada.reach(&room, end_of_win).await,
        bob.reach(&room, end_of_win).await,
        cy.reach(&room, end_of_win).await,
    ];
    assert!(
        views.iter().all(|v| *v == views[0]),
        "every participant sees the same final view"
    );
    assert_eq!(views[0]["winner"], json!(first));
    assert_eq!(views[0]["line"], json!([0, 1, 2]));
    assert_eq!(views[0]["over"], json!(true));

    // A move on a finished game is refused and changes nothing.
    let err = ada
        .client
        .act(&room, json!({"type": "move", "row": 2, "col": 2}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::GameOver));
    // The spectator cannot act.
    let err = cy
        .client
        .act(&room, json!({"type": "restart"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAPlayer));

    let v = bob
        .client
        .act(&room, json!({"type": "restart"}))
        .await
        .unwrap();
    assert_eq!(v, end_of_win + 1);
    play(
        &room,
        &[0, 1, 2, 4, 3, 5, 7, 6, 8],
        &mut ada,
        &mut bob,
        &mut cy,
        v,
    )
    .await;
    let end_of_draw = v + 9;
    let views: Vec<Value> = vec![
        ada.reach(&room, end_of_draw).await,
        bob.reach(&room, end_of_draw).await,
        cy.reach(&room, end_of_draw).await,
    ];
    assert!(views.iter().all(|v| *v == views[0]));
    assert_eq!(views[0]["draw"], json!(true));
    assert_eq!(views[0]["winner"], Value::Null);
    assert_eq!(views[0]["round"], json!(2));

    // Every participant received every version from its entry on, without a gap.
    assert_eq!(ada.versions(&room), (1..=end_of_draw).collect::<Vec<_>>());
    assert_eq!(bob.versions(&room), (2..=end_of_draw).collect::<Vec<_>>());
    assert_eq!(cy.versions(&room), (2..=end_of_draw).collect::<Vec<_>>());
    let (_, info) = get(srv.addr(), &format!("/api/v1/rooms/{room}")).await;
    assert_eq!(info["v"], json!(end_of_draw));
    assert_eq!(info["status"], json!("finished"));
    assert_eq!(
        (info["players"].clone(), info["spectators"].clone()),
        (json!(2), json!(1))
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_duplicated_seq_is_applied_once_and_a_stale_base_is_rejected() {
    let srv = server().await;
    let ada = Seat::connect(srv.addr(), "Ada").await;
    let bob = Seat::connect(srv.addr(), "Bob").await;
    let room = ada
        .client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room;
    bob.client.join(&room.code, JoinRole::Player).await.unwrap();
    let mut w = ada.client.watch(&room.id);
    let view = w
        .wait_for(|v| v.as_ref().is_some_and(|v| v.v == 2))
        .await
        .unwrap()
        .clone()
        .unwrap()
        .view;
    let (m, other) = mover(&view, &ada, &bob);

    let first = m
        .client
        .act_with(
            &room.id,
            ActOptions {
                seq: Some(5),
                base: Some(2),
            },
            json!({"type": "move", "row": 0, "col": 0}),
        )
        .await
        .unwrap();
    // The same seq again, even with a different action: answered again, not applied.
    let again = m
        .client
        .act_with(
            &room.id,
            ActOptions {
                seq: Some(5),
                base: Some(2),
            },
            json!({"type": "move", "row": 2, "col": 2}),
        )
        .await
        .unwrap();
    assert_eq!((first, again), (3, 3));
    let view = m.client.view(&room.id).unwrap();
    assert_eq!(view.v, 3);
    let marks = view.view["board"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c.is_null())
        .count();
    assert_eq!(marks, 1);
    assert_eq!(view.view["board"][8], Value::Null);

    // The other player acts on version 2, which the room has left behind.
    let err = other
        .client
        .act_with(
            &room.id,
            ActOptions {
                seq: None,
                base: Some(2),
            },
            json!({"type": "move", "row": 1, "col": 1}),
        )
        .await
        .unwrap_err();
    match err {
        ClientError::Rejected {
            code: ErrorCode::Stale,
            details,
            ..
        } => assert_eq!(details, Some(json!({"v": 3}))),
        other => panic!("expected STALE, got {other:?}"),
    }
    // With the current base it goes through.
    let v = other
        .client
        .act_with(
            &room.id,
            ActOptions {
                seq: None,
                base: Some(3),
            },
            json!({"type": "move", "row": 1, "col": 1}),
        )
        .await
        .unwrap();
    assert_eq!(v, 4);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_reconnecting_player_keeps_the_seat_and_continues_its_seqs() {
    let srv = server().await;
    let mut ada = Seat::connect(srv.addr(), "Ada").await;
    let bob = Seat::connect(srv.addr(), "Bob").await;
    let room = ada
        .client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room;
    bob.client.join(&room.code, JoinRole::Player).await.unwrap();
    let view = ada.reach(&room.id, 2).await;
    let bob_moves_first = view["turn"] == json!(bob.client.player().id.as_str());
    if !bob_moves_first {
        ada.client
            .act(&room.id, json!({"type": "move", "row": 0, "col": 0}))
            .await
            .unwrap();
    }
    bob.client
        .act(&room.id, json!({"type": "move", "row": 1, "col": 1}))
        .await
        .unwrap();
    let before = bob.client.last_seq(&room.id);
    assert_eq!(before, 1);
    let token = bob.client.token().to_owned();
    let bob_id = bob.client.player().id.clone();
    bob.client.close();
    bob.client.closed().await;
    drop(bob);
    let presence = |want: PresenceEvent, id: arbiter_protocol::PlayerId| move |m: &ServerMsg| matches!(m, ServerMsg::Presence { event, member, .. } if *event == want && member.id == id);
    wait_event(
        &mut ada,
        presence(PresenceEvent::Disconnected, bob_id.clone()),
    )
    .await;

    let (back, _events) = Client::connect(
        &ws_url(srv.addr()),
        Hello {
            name: Some("Bob".into()),
            token: Some(token),
            ..Hello::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(back.player().id, bob_id);
    let rejoined = back.join(&room.code, JoinRole::Spectator).await.unwrap();
    assert_eq!(rejoined.role, Role::Player, "the seat was kept");
    assert_eq!(
        back.last_seq(&room.id),
        before,
        "joined told the new client where its seqs were"
    );
    wait_event(&mut ada, presence(PresenceEvent::Connected, bob_id.clone())).await;
    let ada_cell = if bob_moves_first { 0 } else { 2 };
    ada.client
        .act(
            &room.id,
            json!({"type": "move", "row": ada_cell / 3, "col": ada_cell % 3}),
        )
        .await
        .unwrap();
    // Seq 2, a new action: applied, not mistaken for a retry of seq 1.
    let v = back
        .act(&room.id, json!({"type": "move", "row": 2, "col": 0}))
        .await
        .unwrap();
    let view = back.view(&room.id).unwrap();
    assert_eq!(view.v, v);
    assert_ne!(view.view["board"][6], Value::Null);
    srv.stop().await.unwrap();
}

async fn wait_event(seat: &mut Seat, pred: impl Fn(&ServerMsg) -> bool) {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let m = seat.events.next().await.expect("connection closed");
            let hit = pred(&m);
            seat.log.push(m);
            if hit {
                return;
            }
        }
    })
    .await
    .expect("event did not arrive in time");
}

#[tokio::test]
async fn rest_lists_games_and_public_rooms_only() {
    let srv = server().await;
    let ada = Seat::connect(srv.addr(), "Ada").await;
    let public = ada
        .client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room;
    let private = ada
        .client
        .create(CreateRoom {
            public: Some(false),
            ..CreateRoom::new("tictactoe")
        })
        .await
        .unwrap()
        .room;

    let (status, games) = get(srv.addr(), "/api/v1/games").await;
    assert_eq!(status, 200);
    let ttt = games
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == json!("tictactoe"))
        .expect("tic-tac-toe is listed");
    assert_eq!(ttt["max_players"], json!(2));
    // Whether a game's rooms can seat bots, as the lobby needs to know.
    let bots = |name: &str| {
        games
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == json!(name))
            .unwrap()["bots"]
            .clone()
    };
    assert_eq!(bots("tictactoe"), json!(true));
    assert_eq!(bots("tellit"), json!(false));
    assert_eq!(bots("tcg"), json!(false));

    let (_, rooms) = get(srv.addr(), "/api/v1/rooms").await;
    let ids: Vec<&str> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![public.id.as_str()]);
    let (status, by_code) = get(srv.addr(), &format!("/api/v1/rooms/{}", private.code)).await;
    assert_eq!(status, 200);
    assert_eq!(by_code["id"], json!(private.id));
    assert_eq!(by_code["public"], json!(false));

    let (status, body) = get(srv.addr(), "/api/v1/rooms/r_nope").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], json!("ROOM_NOT_FOUND"));
    let (status, health) = get(srv.addr(), "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            health["status"].clone(),
            health["rooms"].clone(),
            health["connections"].clone()
        ),
        (json!("ok"), json!(2), json!(1))
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_tells_every_client_to_reconnect() {
    let srv = server().await;
    let mut raw = Raw::connect(srv.addr()).await;
    raw.hello("ada").await;
    let ada = Seat::connect(srv.addr(), "Ada").await;
    ada.client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap();
    srv.stop().await.unwrap();
    assert_eq!(raw.closed().await.0, Some(close::SERVICE_RESTART));
    let info = tokio::time::timeout(PATIENCE, ada.client.closed())
        .await
        .unwrap();
    assert_eq!(info.code, Some(close::SERVICE_RESTART));
}

mod hidden {
    //! A game with a secret per seat, registered beside the built-ins, to show the
    //! transport never carries another seat's secret.

    use arbiter_engine::protocol::PlayerId;
    use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Seat, Seats, Viewer};
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    pub(super) struct Hidden;

    #[derive(Clone, Serialize, Deserialize)]
    pub(super) struct State {
        secrets: BTreeMap<PlayerId, String>,
        turns: u32,
    }

    #[derive(Clone, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub(super) enum Action {
        Reshuffle,
    }

    impl Game for Hidden {
        type State = State;
        type Action = Action;
        type Config = Value;

        fn info(&self) -> GameInfo {
            GameInfo::new("hidden", "Hidden", "test", 1..=4)
        }
        fn setup(&self, _: &Value, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
            Ok(State {
                secrets: BTreeMap::new(),
                turns: 0,
            })
        }
        fn join(&self, s: &mut State, p: &Seat, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
            s.secrets
                .insert(p.id.clone(), format!("HAND{:016x}", cx.rng().next_u64()));
            Ok(())
        }
        fn leave(&self, s: &mut State, p: &Seat, _: &mut Ctx<'_, Action>) {
            s.secrets.remove(&p.id);
        }
        fn apply(
            &self,
            s: &mut State,
            _: &Actor,
            _: Action,
            cx: &mut Ctx<'_, Action>,
        ) -> Result<(), GameError> {
            for secret in s.secrets.values_mut() {
                *secret = format!("HAND{:016x}", cx.rng().next_u64());
            }
            s.turns += 1;
            Ok(())
        }
        fn view(&self, s: &State, _: &Seats, viewer: &Viewer) -> Value {
            let hands: BTreeMap<&PlayerId, Value> = s
                .secrets
                .iter()
                .map(|(id, h)| {
                    (
                        id,
                        if *viewer == Viewer::Player(id.clone()) {
                            json!(h)
                        } else {
                            json!("hidden")
                        },
                    )
                })
                .collect();
            json!({ "hands": hands, "turns": s.turns })
        }
    }
}

#[tokio::test]
async fn a_viewer_never_receives_another_seats_hidden_information() {
    let srv = server_with(
        arbiter_games::registry().with(hidden::Hidden),
        arbiter_server::Settings::default(),
    )
    .await;
    let mut raws = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let mut r = Raw::connect(srv.addr()).await;
        let p = r.hello(name).await;
        raws.push((r, p));
    }
    let (first, _) = &mut raws[0];
    first
        .send_text(r#"{"t":"create","rid":1,"game":"hidden","as":"player"}"#)
        .await;
    let ServerMsg::Joined { room, .. } =
        first.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    raws[1]
        .0
        .send_text(&format!(
            r#"{{"t":"join","rid":1,"room":"{}","as":"player"}}"#,
            room.code
        ))
        .await;
    raws[2]
        .0
        .send_text(&format!(
            r#"{{"t":"join","rid":1,"room":"{}","as":"spectator"}}"#,
            room.code
        ))
        .await;
    for (r, _) in raws.iter_mut() {
        r.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    }
    for seq in 1..=5 {
        raws[0]
            .0
            .send_text(&format!(
                r#"{{"t":"act","room":"{}","seq":{seq},"action":{{"type":"reshuffle"}}}}"#,
                room.id
            ))
            .await;
    }
    // Collect every raw frame each one gets up to the last version (2 seats + 5 actions).
    let mut texts = Vec::new();
    for (r, _) in raws.iter_mut() {
        let mut all = String::new();
        loop {
            let m = r.msg().await;
            all.push_str(&serde_json::to_string(&m).unwrap());
            if matches!(
                m,
                ServerMsg::Patch { v: 7, .. } | ServerMsg::Snapshot { v: 7, .. }
            ) {
                break;
            }
        }
        texts.push(all);
    }
    let hands = |t: &str| -> Vec<String> {
        t.match_indices("HAND")
            .map(|(i, _)| t[i..i + 20].to_owned())
            .collect()
    };
    let (ann, ben, cat) = (hands(&texts[0]), hands(&texts[1]), hands(&texts[2]));
    assert!(
        !ann.is_empty() && !ben.is_empty(),
        "each seat sees its own hand"
    );
    assert!(
        ann.iter().all(|h| !ben.contains(h)),
        "no hand is seen by both seats"
    );
    assert!(cat.is_empty(), "the spectator sees no hand");
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_human_plays_a_bot_to_the_end_and_the_bot_never_loses() {
    let srv = server().await;
    let ada = Seat::connect(srv.addr(), "Ada").await;
    let room = ada
        .client
        .create(CreateRoom::new("tictactoe"))
        .await
        .unwrap()
        .room;
    let bot = ada.client.add_bot(&room.id).await.unwrap();
    assert!(bot.bot && bot.connected);
    let mut watch = ada.client.watch(&room.id);
    let me = ada.client.player().id.as_str().to_owned();
    loop {
        let view = tokio::time::timeout(
            PATIENCE,
            watch.wait_for(|v| {
                v.as_ref()
                    .is_some_and(|v| v.view["over"] == json!(true) || v.view["turn"] == json!(me))
            }),
        )
        .await
        .expect("the bot answers")
        .unwrap()
        .clone()
        .unwrap()
        .view;
        if view["over"] == json!(true) {
            assert_ne!(view["winner"], json!(me), "perfect play never loses");
            break;
        }
        // The human plays the first free cell.
        let cell = view["board"]
            .as_array()
            .unwrap()
            .iter()
            .position(Value::is_null)
            .unwrap();
        ada.client
            .act(
                &room.id,
                json!({"type": "move", "row": cell / 3, "col": cell % 3}),
            )
            .await
            .unwrap();
    }
    // A third bot has no seat.
    let err = ada.client.add_bot(&room.id).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::RoomFull));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn seeded_rooms_replay_the_same_randomness_when_the_server_allows_them() {
    let mut settings = arbiter_server::Settings::default();
    settings.rooms.allow_seeded_rooms = true;
    let srv = server_with(arbiter_games::registry(), settings).await;
    let ada = Seat::connect(srv.addr(), "Ada").await;
    let bob = Seat::connect(srv.addr(), "Bob").await;
    let ada_id = json!(ada.client.player().id.as_str());
    let mut first_movers = Vec::new();
    for round in 0..2 {
        let mut starts = Vec::new();
        for seed in 1..=8u64 {
            let create = CreateRoom {
                seed: Some(seed),
                ..CreateRoom::new("tictactoe")
            };
            let room = ada.client.create(create).await.unwrap().room;
            bob.client.join(&room.id, JoinRole::Player).await.unwrap();
            let mut w = ada.client.watch(&room.id);
            let view = w
                .wait_for(|v| v.as_ref().is_some_and(|v| v.v == 2))
                .await
                .unwrap()
                .clone()
                .unwrap();
            starts.push(view.view["turn"] == ada_id);
        }
        first_movers.push(starts);
        let _ = round;
    }
    assert_eq!(
        first_movers[0], first_movers[1],
        "the same seeds start the same players"
    );
    assert!(
        first_movers[0].iter().any(|a| *a) && first_movers[0].iter().any(|a| !*a),
        "seeds differ"
    );
    srv.stop().await.unwrap();
}

/// A player whose connection dropped gives up the held seat from a new connection that never
/// joined the room; the other player sees the seat go.
#[tokio::test]
async fn a_held_seat_can_be_given_up_from_a_new_connection() {
    use arbiter_protocol::ClientMsg;
    let srv = server().await;
    let mut ada = Raw::connect(srv.addr()).await;
    ada.hello("Ada").await;
    ada.send(&ClientMsg::Create {
        rid: Some(1),
        game: "tictactoe".into(),
        config: None,
        public: Some(false),
        max_players: None,
        max_spectators: None,
        role: JoinRole::Player,
        seed: None,
        key: None,
        password: None,
        lang: None,
        tags: Vec::new(),
    })
    .await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let mut bob = Raw::connect(srv.addr()).await;
    bob.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some("Bob".into()),
        instance: None,
    })
    .await;
    let ServerMsg::Welcome { player, token, .. } = bob.msg().await else {
        panic!("expected welcome")
    };
    bob.send(&ClientMsg::Join {
        rid: Some(2),
        room: room.id.clone(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    bob.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    drop(bob);
    let bob_away = |m: &ServerMsg| matches!(m, ServerMsg::Presence { event: PresenceEvent::Disconnected, member, .. } if member.id == player.id);
    ada.until(bob_away).await;

    let mut again = Raw::connect(srv.addr()).await;
    again
        .send(&ClientMsg::Hello {
            v: 1,
            token: Some(token),
            name: None,
            instance: None,
        })
        .await;
    assert!(matches!(again.msg().await, ServerMsg::Welcome { .. }));
    again
        .send(&ClientMsg::Leave {
            rid: Some(7),
            room: room.id.clone(),
        })
        .await;
    assert_eq!(
        again.msg().await,
        ServerMsg::Left {
            rid: Some(7),
            room: room.id.clone(),
            reason: None,
        }
    );
    ada.until(|m| {
        matches!(m, ServerMsg::Presence { event: PresenceEvent::Left, member, .. } if member.id == player.id)
    })
    .await;
    let (_, info) = get(srv.addr(), &format!("/api/v1/rooms/{}", room.id)).await;
    assert_eq!(info["players"], json!(1), "the seat is free again");
}
