//! The party lobby over real sockets: the host leaving hands the role on, a kicked member is
//! told and may come back, a banned one cannot enter even to watch.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, PlayerId, RoomInfo, ServerMsg};
use serde_json::{Value, json};
use support::{Raw, create_msg, server};

async fn member(addr: std::net::SocketAddr, name: &str) -> (Raw, PlayerId) {
    let mut raw = Raw::connect(addr).await;
    let me = raw.hello(name).await;
    (raw, me.id)
}

/// `raw` sends `create` and is in the new room: its info.
async fn created(raw: &mut Raw, create: &ClientMsg) -> RoomInfo {
    raw.send(create).await;
    match raw.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { room, .. } => room,
        _ => unreachable!(),
    }
}

async fn enter(raw: &mut Raw, room: &str, role: JoinRole) -> Result<(), ErrorCode> {
    raw.send(&ClientMsg::Join {
        rid: Some(5),
        room: room.to_owned(),
        role,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    match raw
        .until(|m| {
            matches!(
                m,
                ServerMsg::Joined { rid: Some(5), .. } | ServerMsg::Error { rid: Some(5), .. }
            )
        })
        .await
    {
        ServerMsg::Joined { .. } => {
            // The room's snapshot follows: read it, so later reads start after it.
            raw.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
            Ok(())
        }
        ServerMsg::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

fn act(room: &str, seq: u64, action: Value) -> ClientMsg {
    ClientMsg::Act {
        room: room.to_owned(),
        seq,
        base: None,
        action,
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

/// Skip frames until a patch of `room` touches `path` (or a snapshot of it arrives).
async fn changed(raw: &mut Raw, room: &str, path: &str) {
    raw.until(|m| match m {
        ServerMsg::Patch { room: r, ops, .. } if r == room => serde_json::to_value(ops)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .any(|op| op["path"].as_str().is_some_and(|p| p.starts_with(path))),
        _ => false,
    })
    .await;
}

async fn launch(raw: &mut Raw, rid: u64, party: &str) -> Result<String, ErrorCode> {
    raw.send(&ClientMsg::Launch {
        rid: Some(rid),
        room: party.to_owned(),
    })
    .await;
    match raw
        .until(|m| matches!(m, ServerMsg::Launched { rid: r, .. } | ServerMsg::Error { rid: r, .. } if *r == Some(rid)))
        .await
    {
        ServerMsg::Launched { room, .. } => Ok(room.id),
        ServerMsg::Error { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

async fn acked(raw: &mut Raw, seq: u64) -> u64 {
    match raw
        .until(|m| matches!(m, ServerMsg::Ack { seq: s, .. } | ServerMsg::Reject { seq: s, .. } if *s == seq))
        .await
    {
        ServerMsg::Ack { v, .. } => v,
        other => panic!("refused: {other:?}"),
    }
}

#[tokio::test]
async fn the_host_leaving_hands_the_role_to_the_next_member() {
    let srv = server().await;
    let (mut ada, _) = member(srv.addr(), "ada").await;
    let mut create = create_msg(1, "party");
    if let ClientMsg::Create { config, .. } = &mut create {
        *config = Some(json!({"name": "Friday"}));
    }
    let room = created(&mut ada, &create).await;
    let (mut bob, b) = member(srv.addr(), "bob").await;
    enter(&mut bob, &room.id, JoinRole::Any).await.unwrap();
    let (mut cy, _) = member(srv.addr(), "cy").await;
    enter(&mut cy, &room.id, JoinRole::Any).await.unwrap();

    ada.send(&ClientMsg::Leave {
        rid: Some(2),
        room: room.id.clone(),
    })
    .await;
    ada.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    // The leave is done before its answer: a snapshot asked for now shows it.
    let view = view_now(&mut cy, &room.id).await;
    assert_eq!(view["name"], "Friday");
    assert_eq!(view["host"], json!(b));
    assert_eq!(view["members"][b.as_str()]["host"], true);
}

#[tokio::test]
async fn a_kicked_member_is_told_and_may_return_a_banned_one_cannot_even_watch() {
    let srv = server().await;
    let (mut ada, _) = member(srv.addr(), "ada").await;
    let room = created(&mut ada, &create_msg(1, "party")).await;
    let (mut bob, b) = member(srv.addr(), "bob").await;
    enter(&mut bob, &room.id, JoinRole::Any).await.unwrap();

    // Not the host: refused.
    bob.send(&act(&room.id, 1, json!({"type": "kick", "player": "p_x"})))
        .await;
    let refused = bob.until(|m| matches!(m, ServerMsg::Reject { .. })).await;
    assert!(
        matches!(
            refused,
            ServerMsg::Reject {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{refused:?}"
    );

    ada.send(&act(&room.id, 1, json!({"type": "kick", "player": b})))
        .await;
    acked(&mut ada, 1).await;
    let left = bob.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    assert_eq!(
        left,
        ServerMsg::Left {
            rid: None,
            room: room.id.clone(),
            reason: Some("removed".into())
        }
    );
    enter(&mut bob, &room.id, JoinRole::Any)
        .await
        .expect("a kick is not a ban");

    ada.send(&act(
        &room.id,
        2,
        json!({"type": "kick", "player": b, "ban": true}),
    ))
    .await;
    acked(&mut ada, 2).await;
    bob.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    assert_eq!(
        enter(&mut bob, &room.id, JoinRole::Any).await,
        Err(ErrorCode::JoinRefused)
    );
    assert_eq!(
        enter(&mut bob, &room.id, JoinRole::Spectator).await,
        Err(ErrorCode::JoinRefused)
    );
    // The ban is on bob, not on the room: a stranger may still watch.
    let (mut eve, _) = member(srv.addr(), "eve").await;
    enter(&mut eve, &room.id, JoinRole::Spectator)
        .await
        .expect("a stranger may watch");
}

#[tokio::test]
async fn a_party_plays_a_game_hears_its_result_and_plays_again() {
    let srv = server().await;
    let (mut ada, a) = member(srv.addr(), "ada").await;
    let party = created(&mut ada, &create_msg(1, "party")).await.id;
    let (mut bob, b) = member(srv.addr(), "bob").await;
    enter(&mut bob, &party, JoinRole::Any).await.unwrap();
    let (mut cy, _) = member(srv.addr(), "cy").await;
    enter(&mut cy, &party, JoinRole::Any).await.unwrap();

    assert_eq!(
        launch(&mut ada, 2, &party).await,
        Err(ErrorCode::InvalidMove),
        "nothing picked"
    );
    ada.send(&act(
        &party,
        1,
        json!({"type": "pick", "game": "tictactoe"}),
    ))
    .await;
    acked(&mut ada, 1).await;
    let mut seqs = (2, 1);
    for round in 1..=2u64 {
        ada.send(&act(
            &party,
            seqs.0,
            json!({"type": "ready", "ready": true}),
        ))
        .await;
        acked(&mut ada, seqs.0).await;
        assert_eq!(
            launch(&mut ada, 3, &party).await,
            Err(ErrorCode::InvalidMove),
            "one ready, two needed"
        );
        bob.send(&act(
            &party,
            seqs.1,
            json!({"type": "ready", "ready": true}),
        ))
        .await;
        acked(&mut bob, seqs.1).await;
        assert_eq!(
            launch(&mut bob, 4, &party).await,
            Err(ErrorCode::Forbidden),
            "bob is not the host"
        );
        let game = launch(&mut ada, 5, &party).await.expect("launched");
        assert_eq!(
            launch(&mut ada, 6, &party).await,
            Err(ErrorCode::GameInProgress)
        );

        // Everyone sees where to go: the party's view names the room.
        let view = view_now(&mut cy, &party).await;
        assert_eq!(view["playing"]["room"], json!(game));
        assert_eq!(view["playing"]["round"], round);
        assert_eq!(view["playing"]["players"], json!([a, b]));

        // The two ready members play it; X (whoever moves first) takes the top row.
        enter(&mut ada, &game, JoinRole::Player).await.unwrap();
        enter(&mut bob, &game, JoinRole::Player).await.unwrap();
        let first = view_now(&mut ada, &game).await["turn"]
            .as_str()
            .unwrap()
            .to_owned();
        let x_is_ada = first == a.as_str();
        for (i, cell) in [0, 3, 1, 4, 2].into_iter().enumerate() {
            let x_moves = i % 2 == 0;
            let who = if x_moves == x_is_ada {
                &mut ada
            } else {
                &mut bob
            };
            // Each player's seqs in this room: 1, 2, 3.
            let seq = (i / 2 + 1) as u64;
            who.send(&act(
                &game,
                seq,
                json!({"type": "move", "row": cell / 3, "col": cell % 3}),
            ))
            .await;
            acked(who, seq).await;
        }

        // The party hears the end, with the ranking, and is back in the lobby.
        changed(&mut cy, &party, "/history").await;
        let view = view_now(&mut cy, &party).await;
        assert!(view["playing"].is_null(), "{view}");
        let played = &view["history"][round as usize - 1];
        assert_eq!(played["room"], json!(game));
        assert_eq!(played["round"], round);
        assert_eq!(played["ranking"][0], json!([first]), "the winner first");
        assert_eq!(view["ready"], json!([]), "ready again for the next one");
        seqs = (seqs.0 + 1, seqs.1 + 1);
        for raw in [&mut ada, &mut bob] {
            raw.send(&ClientMsg::Leave {
                rid: Some(8),
                room: game.clone(),
            })
            .await;
            raw.until(|m| matches!(m, ServerMsg::Left { rid: Some(8), .. }))
                .await;
        }
    }
}

#[tokio::test]
async fn a_locked_party_admits_only_with_its_password_and_members_come_back_without_it() {
    let srv = server().await;
    let (mut ada, _) = member(srv.addr(), "ada").await;
    let mut create = create_msg(1, "party");
    if let ClientMsg::Create { password, .. } = &mut create {
        *password = Some("open sesame".into());
    }
    let room = created(&mut ada, &create).await;
    assert!(room.locked);
    let (status, listed) = support::get(srv.addr(), "/api/v1/rooms").await;
    assert_eq!((status, &listed[0]["locked"]), (200, &json!(true)));

    let mut bob = Raw::connect(srv.addr()).await;
    bob.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some("bob".into()),
        instance: None,
    })
    .await;
    let ServerMsg::Welcome { token, .. } = bob.msg().await else {
        panic!("no welcome")
    };
    let join = |rid: u64, password: Option<&str>, role: JoinRole| ClientMsg::Join {
        rid: Some(rid),
        room: room.code.clone(),
        role,
        since: None,
        password: password.map(str::to_owned),
        invite: None,
    };
    let answer = |rid: u64| move |m: &ServerMsg| matches!(m, ServerMsg::Joined { rid: r, .. } | ServerMsg::Error { rid: r, .. } if *r == Some(rid));
    for (rid, password, role) in [
        (2, None, JoinRole::Any),
        (3, Some("Open sesame"), JoinRole::Any),
        (4, None, JoinRole::Spectator),
    ] {
        bob.send(&join(rid, password, role)).await;
        match bob.until(answer(rid)).await {
            ServerMsg::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::JoinRefused, "{message}");
                let expected = if password.is_some() {
                    "wrong password"
                } else {
                    "password"
                };
                assert!(message.contains(expected), "{message}");
            }
            other => panic!("admitted without the password: {other:?}"),
        }
    }
    bob.send(&join(5, Some("open sesame"), JoinRole::Any)).await;
    assert!(matches!(
        bob.until(answer(5)).await,
        ServerMsg::Joined { .. }
    ));

    // Bob's other tab, a member already: no password needed.
    let mut tab = Raw::connect(srv.addr()).await;
    tab.send(&ClientMsg::Hello {
        v: 1,
        token: Some(token),
        name: None,
        instance: None,
    })
    .await;
    tab.msg().await;
    tab.send(&join(6, None, JoinRole::Any)).await;
    assert!(matches!(
        tab.until(answer(6)).await,
        ServerMsg::Joined { .. }
    ));

    // A member's invite admits a newcomer without the password; an outsider cannot make
    // one, and a tampered invite or another room's does not admit.
    let (mut cy, _) = member(srv.addr(), "cy").await;
    cy.send(&ClientMsg::Invite {
        rid: Some(7),
        room: room.code.clone(),
    })
    .await;
    match cy.until(answer_any(7)).await {
        ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::NotInRoom),
        other => panic!("an outsider got an invite: {other:?}"),
    }
    bob.send(&ClientMsg::Invite {
        rid: Some(8),
        room: room.code.to_lowercase(),
    })
    .await;
    let ServerMsg::Invited {
        room: invited,
        code,
        invite,
        ..
    } = bob.until(answer_any(8)).await
    else {
        panic!("no invite")
    };
    assert_eq!(
        (invited.as_str(), code.as_str()),
        (room.id.as_str(), room.code.as_str())
    );
    let mut tampered = invite.clone();
    tampered.pop();
    tampered.push(if invite.ends_with('A') { 'B' } else { 'A' });
    let (mut dee, _) = member(srv.addr(), "dee").await;
    let mut own = create_msg(9, "counter");
    if let ClientMsg::Create { password, .. } = &mut own {
        *password = Some("another".into());
    }
    dee.send(&own).await;
    let ServerMsg::Joined { room: dees, .. } = dee.until(answer_any(9)).await else {
        panic!("dee's room")
    };
    dee.send(&ClientMsg::Invite {
        rid: Some(10),
        room: dees.id.clone(),
    })
    .await;
    let ServerMsg::Invited {
        invite: elsewhere, ..
    } = dee.until(answer_any(10)).await
    else {
        panic!("no invite")
    };
    for (rid, invite) in [(11, tampered), (12, elsewhere)] {
        cy.send(&with_invite(join(rid, None, JoinRole::Any), invite))
            .await;
        match cy.until(answer_any(rid)).await {
            ServerMsg::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::JoinRefused, "{message}");
                assert!(message.contains("invite"), "{message}");
            }
            other => panic!("admitted with a bad invite: {other:?}"),
        }
    }
    cy.send(&with_invite(join(13, None, JoinRole::Any), invite))
        .await;
    assert!(matches!(
        cy.until(answer_any(13)).await,
        ServerMsg::Joined { .. }
    ));
}

fn with_invite(mut join: ClientMsg, with: String) -> ClientMsg {
    if let ClientMsg::Join { invite, .. } = &mut join {
        *invite = Some(with);
    }
    join
}

/// The answer to request `rid`, whatever it is.
fn answer_any(rid: u64) -> impl Fn(&ServerMsg) -> bool {
    move |m: &ServerMsg| {
        matches!(m, ServerMsg::Joined { rid: r, .. }
            | ServerMsg::Error { rid: r, .. }
            | ServerMsg::Invited { rid: r, .. } if *r == Some(rid))
    }
}

#[tokio::test]
async fn a_server_stops_at_once_while_a_party_plays_a_built_in_game() {
    let srv = server().await;
    let (mut ada, _) = member(srv.addr(), "ada").await;
    let party = created(&mut ada, &create_msg(1, "party")).await.id;
    let (mut bob, _) = member(srv.addr(), "bob").await;
    enter(&mut bob, &party, JoinRole::Any).await.unwrap();
    ada.send(&act(
        &party,
        1,
        json!({"type": "pick", "game": "tictactoe"}),
    ))
    .await;
    acked(&mut ada, 1).await;
    ada.send(&act(&party, 2, json!({"type": "ready", "ready": true})))
        .await;
    acked(&mut ada, 2).await;
    bob.send(&act(&party, 1, json!({"type": "ready", "ready": true})))
        .await;
    acked(&mut bob, 1).await;
    launch(&mut ada, 3, &party).await.expect("launched");
    // The game runs; its follower waits for it to end. Everyone goes, then the server stops
    // on a frozen clock: waiting out the drain timeout would move it on by 10 s.
    drop((ada, bob));
    tokio::time::pause();
    let before = tokio::time::Instant::now();
    srv.stop().await.unwrap();
    assert!(
        before.elapsed() < std::time::Duration::from_secs(10),
        "stop waited {:?}: something held the app until the drain timeout",
        before.elapsed()
    );
}
