//! A video call at the table, over real sockets: WebRTC signalling reaches only its target,
//! bad signals are refused and relay nothing, and camera/microphone state travels in presence.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{
    ClientMsg, ErrorCode, JoinRole, Media, PlayerId, PresenceEvent, ServerMsg, SignalKind,
};
use serde_json::{Value, json};
use support::{Raw, create_msg, server};

/// A connection that said hello and entered `room` (or created a tic-tac-toe room).
async fn enter(
    addr: std::net::SocketAddr,
    name: &str,
    room: Option<&str>,
) -> (Raw, PlayerId, String, String) {
    let mut raw = Raw::connect(addr).await;
    raw.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some(name.to_owned()),
        instance: None,
    })
    .await;
    let ServerMsg::Welcome {
        player: me, token, ..
    } = raw.msg().await
    else {
        panic!("no welcome")
    };
    let msg = match room {
        None => create_msg(1, "tictactoe"),
        Some(room) => ClientMsg::Join {
            rid: Some(1),
            room: room.to_owned(),
            role: JoinRole::Any,
            since: None,
            password: None,
            invite: None,
        },
    };
    raw.send(&msg).await;
    let id = match raw
        .until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Joined { room, .. } => room.id,
        other => panic!("{name} did not enter: {other:?}"),
    };
    (raw, me.id, id, token)
}

fn signal(room: &str, to: &PlayerId, kind: SignalKind, data: Value) -> ClientMsg {
    ClientMsg::Signal {
        room: room.to_owned(),
        to: to.clone(),
        kind,
        data,
    }
}

fn chat(room: &str, text: &str) -> ClientMsg {
    ClientMsg::Chat {
        room: room.to_owned(),
        text: text.to_owned(),
    }
}

/// Everything `raw` receives up to the chat message `text`. A room handles its messages in
/// order and a connection's frames arrive in order, so nothing sent before that chat can
/// arrive after it: what is not here was never sent to this connection.
async fn upto_chat(raw: &mut Raw, text: &str) -> Vec<ServerMsg> {
    let mut seen = Vec::new();
    loop {
        let m = raw.msg().await;
        if matches!(&m, ServerMsg::Chat { text: t, .. } if t == text) {
            return seen;
        }
        seen.push(m);
    }
}

fn signals(msgs: &[ServerMsg]) -> Vec<(PlayerId, SignalKind, Value)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Signal {
                from, kind, data, ..
            } => Some((from.clone(), *kind, data.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_signal_reaches_every_connection_of_its_target_and_no_one_else() {
    let srv = server().await;
    let (mut alice, a, room, _) = enter(srv.addr(), "alice", None).await;
    let (mut bob, b, _, bob_token) = enter(srv.addr(), "bob", Some(&room)).await;
    let (mut carol, _, _, _) = enter(srv.addr(), "carol", Some(&room)).await;
    // Bob's second tab: the same player (his token), another connection in the room.
    let mut bob2 = Raw::connect(srv.addr()).await;
    bob2.send(&ClientMsg::Hello {
        v: 1,
        token: Some(bob_token),
        name: None,
        instance: None,
    })
    .await;
    let ServerMsg::Welcome { player, .. } = bob2.msg().await else {
        panic!("no welcome")
    };
    assert_eq!(player.id, b, "the second tab is bob");
    bob2.send(&ClientMsg::Join {
        rid: Some(2),
        room: room.clone(),
        role: JoinRole::Any,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    bob2.until(|m| matches!(m, ServerMsg::Joined { .. })).await;

    let offer = json!({"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"});
    alice
        .send(&signal(&room, &b, SignalKind::Offer, offer.clone()))
        .await;
    let ice = json!({"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 54321 typ host", "sdpMid": "0"});
    alice
        .send(&signal(&room, &b, SignalKind::Ice, ice.clone()))
        .await;
    alice.send(&chat(&room, "after the offer")).await;

    let to_bob = upto_chat(&mut bob, "after the offer").await;
    assert_eq!(
        signals(&to_bob),
        vec![
            (a.clone(), SignalKind::Offer, offer),
            (a.clone(), SignalKind::Ice, ice)
        ],
        "bob gets both, in order, from alice"
    );
    assert!(
        signals(&upto_chat(&mut carol, "after the offer").await).is_empty(),
        "carol gets none"
    );
    assert!(
        signals(&upto_chat(&mut alice, "after the offer").await).is_empty(),
        "nor the sender"
    );

    // The answer goes back the other way.
    bob.send(&signal(
        &room,
        &a,
        SignalKind::Answer,
        json!({"type": "answer", "sdp": "v=0"}),
    ))
    .await;
    bob.send(&chat(&room, "answered")).await;
    let to_alice = signals(&upto_chat(&mut alice, "answered").await);
    assert_eq!(
        to_alice,
        vec![(
            b.clone(),
            SignalKind::Answer,
            json!({"type": "answer", "sdp": "v=0"})
        )]
    );
    assert!(signals(&upto_chat(&mut carol, "answered").await).is_empty());
}

#[tokio::test]
async fn a_bad_signal_is_refused_with_a_reason_and_relays_nothing() {
    let srv = server().await;
    let (mut alice, a, room, _) = enter(srv.addr(), "alice", None).await;
    let (mut bob, b, _, _) = enter(srv.addr(), "bob", Some(&room)).await;
    let refused = |m: ServerMsg| match m {
        ServerMsg::Error {
            code,
            message,
            details,
            ..
        } => (code, message, details.unwrap_or_default()),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let is_error = |m: &ServerMsg| matches!(m, ServerMsg::Error { .. });

    alice
        .send(&signal(&room, &a, SignalKind::Offer, json!({})))
        .await;
    let (code, message, details) = refused(alice.until(is_error).await);
    assert_eq!(
        (code, details["room"].as_str(), details["field"].as_str()),
        (ErrorCode::InvalidField, Some(room.as_str()), Some("to"))
    );
    assert!(message.contains("another member"), "{message}");

    alice
        .send(&signal(
            &room,
            &PlayerId::from("p_nobody"),
            SignalKind::Offer,
            json!({}),
        ))
        .await;
    let (code, message, _) = refused(alice.until(is_error).await);
    assert_eq!(code, ErrorCode::InvalidField);
    assert!(message.contains("not connected"), "{message}");

    let big = json!({"sdp": "a".repeat(17 * 1024)});
    alice.send(&signal(&room, &b, SignalKind::Offer, big)).await;
    let (code, message, _) = refused(alice.until(is_error).await);
    assert_eq!(code, ErrorCode::InvalidField);
    assert!(message.contains("16384 bytes"), "{message}");

    // A stranger to the room is refused too.
    let (mut eve, _, _, _) = enter(srv.addr(), "eve", None).await;
    eve.send(&signal(&room, &b, SignalKind::Offer, json!({})))
        .await;
    let (code, _, _) = refused(eve.until(is_error).await);
    assert_eq!(code, ErrorCode::NotInRoom);

    // An unknown kind never decodes.
    eve.send_text(&format!(
        r#"{{"t":"signal","room":"{room}","to":"{b}","kind":"video","data":{{}}}}"#
    ))
    .await;
    let (code, _, _) = refused(eve.until(is_error).await);
    assert_eq!(code, ErrorCode::InvalidField);

    alice.send(&chat(&room, "done")).await;
    assert!(
        signals(&upto_chat(&mut bob, "done").await).is_empty(),
        "nothing refused reached bob"
    );
}

#[tokio::test]
async fn camera_and_microphone_state_travels_in_presence_and_goes_off_with_the_member() {
    let srv = server().await;
    let (mut alice, a, room, _) = enter(srv.addr(), "alice", None).await;
    let (mut bob, _, _, _) = enter(srv.addr(), "bob", Some(&room)).await;
    let on = Media {
        camera: true,
        mic: false,
    };
    bob.send(&ClientMsg::Media {
        room: room.clone(),
        camera: true,
        mic: false,
    })
    .await;
    let heard = alice
        .until(|m| {
            matches!(
                m,
                ServerMsg::Presence {
                    event: PresenceEvent::Media,
                    ..
                }
            )
        })
        .await;
    let ServerMsg::Presence { member, .. } = heard else {
        unreachable!()
    };
    assert_eq!((member.name.as_str(), member.media), ("bob", on));

    // Saying the same again is news to no one: the next presence alice hears is carol's.
    bob.send(&ClientMsg::Media {
        room: room.clone(),
        camera: true,
        mic: false,
    })
    .await;
    let (mut carol, _, _, _) = enter(srv.addr(), "carol", Some(&room)).await;
    let next = alice
        .until(|m| matches!(m, ServerMsg::Presence { .. }))
        .await;
    assert!(
        matches!(&next, ServerMsg::Presence { event: PresenceEvent::Joined, member, .. } if member.name == "carol"),
        "{next:?}"
    );
    let _ = &mut carol;

    // A newcomer sees it in `joined`.
    let mut dave = Raw::connect(srv.addr()).await;
    dave.hello("dave").await;
    dave.send(&ClientMsg::Join {
        rid: Some(2),
        room: room.clone(),
        role: JoinRole::Spectator,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    let ServerMsg::Joined { members, .. } =
        dave.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    let bob_there = members.iter().find(|m| m.name == "bob").unwrap();
    assert_eq!(bob_there.media, on);
    let wire = serde_json::to_value(bob_there).unwrap();
    assert_eq!(wire["media"], json!({"camera": true, "mic": false}));
    let alice_there = members.iter().find(|m| m.id == a).unwrap();
    assert!(
        serde_json::to_value(alice_there)
            .unwrap()
            .get("media")
            .is_none(),
        "off is left out"
    );

    // Bob's connection drops: his seat is held, his camera is not.
    drop(bob);
    let gone = alice
        .until(|m| {
            matches!(
                m,
                ServerMsg::Presence {
                    event: PresenceEvent::Disconnected,
                    ..
                }
            )
        })
        .await;
    let ServerMsg::Presence { member, .. } = gone else {
        unreachable!()
    };
    assert_eq!(
        (member.name.as_str(), member.media),
        ("bob", Media::default())
    );
}
