//! The party lobby over real sockets: the host leaving hands the role on, a kicked member is
//! told and may come back, a banned one cannot enter even to watch.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, PlayerId, ServerMsg};
use serde_json::{Value, json};
use support::{Raw, create_msg, server};

async fn member(addr: std::net::SocketAddr, name: &str) -> (Raw, PlayerId) {
    let mut raw = Raw::connect(addr).await;
    let me = raw.hello(name).await;
    (raw, me.id)
}

async fn enter(raw: &mut Raw, room: &str, role: JoinRole) -> Result<(), ErrorCode> {
    raw.send(&ClientMsg::Join {
        rid: Some(5),
        room: room.to_owned(),
        role,
        since: None,
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
        ServerMsg::Joined { .. } => Ok(()),
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
    ada.send(&create).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let (mut bob, b) = member(srv.addr(), "bob").await;
    enter(&mut bob, &room.id, JoinRole::Any).await.unwrap();
    let (mut cy, _) = member(srv.addr(), "cy").await;
    enter(&mut cy, &room.id, JoinRole::Any).await.unwrap();
    cy.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;

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
    ada.send(&create_msg(1, "party")).await;
    let ServerMsg::Joined { room, .. } = ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
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
