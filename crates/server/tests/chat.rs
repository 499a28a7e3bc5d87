//! A room's chat over real sockets: members talk, the room says who came, went and hosts, the
//! host deletes and mutes, and all of it — the messages, their ids, the deletions and the
//! mutes — survives a restart on the same database.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{ChatEventKind, ChatLine, Client, CreateRoom, Encoding, Events, Hello};
use arbiter_protocol::{ErrorCode, JoinRole, PresenceEvent, ServerMsg};
use support::{durable_server, next_where, ws_url};

/// The next chat message whose text is `text`.
async fn said(events: &mut Events, text: &str) -> ChatLine {
    match next_where(
        events,
        |m| matches!(m, ServerMsg::Chat { text: t, .. } if t == text),
    )
    .await
    {
        ServerMsg::Chat {
            id,
            from,
            text,
            at,
            event,
            ..
        } => ChatLine {
            id,
            from,
            text,
            at,
            event,
        },
        _ => unreachable!(),
    }
}

/// The next error's code.
async fn refused(events: &mut Events) -> ErrorCode {
    match next_where(events, |m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

fn texts(lines: &[ChatLine]) -> Vec<&str> {
    lines.iter().map(|l| l.text.as_str()).collect()
}

#[tokio::test]
async fn a_partys_chat_and_its_moderation_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("arbiter-chat-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("arbiter.db");
    let srv = durable_server(&db).await;
    let url = ws_url(srv.addr());
    let (ada, mut ada_ev) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
    let (bob, mut bob_ev) = Client::connect(&url, Hello::named("Bob")).await.unwrap();
    let (cy, mut cy_ev) = Client::connect(&url, Hello::named("Cy")).await.unwrap();
    let party = ada.create(CreateRoom::new("party")).await.unwrap().room.id;
    bob.join(&party, JoinRole::Player).await.unwrap();
    cy.join(&party, JoinRole::Player).await.unwrap();

    // The room announces arrivals, and its first host.
    let cy_came = said(&mut ada_ev, "Cy joined").await;
    assert_eq!(cy_came.from, None);
    let event = cy_came.event.unwrap();
    assert_eq!(
        (event.kind, &event.player.id),
        (ChatEventKind::Joined, &cy.player().id)
    );
    let (history, _) = ada.chat_history(&party, None, None).await.unwrap();
    assert_eq!(
        texts(&history),
        [
            "Ada joined",
            "Ada is the host now",
            "Bob joined",
            "Cy joined"
        ]
    );

    // Members talk; everyone receives each message, with its number.
    ada.chat(&party, "welcome").unwrap();
    let welcome = said(&mut cy_ev, "welcome").await;
    assert_eq!(welcome.from.as_ref().unwrap().id, ada.player().id);
    bob.chat(&party, "something rude").unwrap();
    let rude = said(&mut cy_ev, "something rude").await;
    cy.chat(&party, &"y".repeat(1_000)).unwrap();
    let long = said(&mut bob_ev, &"y".repeat(1_000)).await;
    assert!(welcome.id < rude.id && rude.id < long.id);
    cy.chat(&party, &"y".repeat(1_001)).unwrap();
    assert_eq!(refused(&mut cy_ev).await, ErrorCode::InvalidField);

    // Only the host moderates.
    bob.chat_delete(&party, welcome.id).unwrap();
    assert_eq!(refused(&mut bob_ev).await, ErrorCode::Forbidden);
    bob.chat_mute(&party, &ada.player().id, true).unwrap();
    assert_eq!(refused(&mut bob_ev).await, ErrorCode::Forbidden);
    ada.chat_delete(&party, rude.id).unwrap();
    for events in [&mut ada_ev, &mut bob_ev, &mut cy_ev] {
        let gone = next_where(events, |m| matches!(m, ServerMsg::ChatDeleted { .. })).await;
        assert_eq!(
            gone,
            ServerMsg::ChatDeleted {
                room: party.clone(),
                id: rude.id
            }
        );
    }
    ada.chat_mute(&party, &cy.player().id, true).unwrap();
    let presence = next_where(&mut bob_ev, |m| {
        matches!(
            m,
            ServerMsg::Presence {
                event: PresenceEvent::Muted,
                ..
            }
        )
    })
    .await;
    let ServerMsg::Presence { member, .. } = presence else {
        unreachable!()
    };
    assert_eq!((&member.id, member.muted), (&cy.player().id, true));
    let muted = said(&mut bob_ev, "the host muted Cy").await;
    assert_eq!(muted.event.unwrap().kind, ChatEventKind::Muted);
    cy.chat(&party, "am I muted?").unwrap();
    assert_eq!(refused(&mut cy_ev).await, ErrorCode::Forbidden);
    let (before, more) = ada.chat_history(&party, None, None).await.unwrap();
    assert!(!more);
    assert_eq!(
        texts(&before)[4..],
        ["welcome", &"y".repeat(1_000), "the host muted Cy"]
    );

    // A restart on the same database.
    srv.stop().await.unwrap();
    for c in [&ada, &bob, &cy] {
        c.closed().await;
    }
    let srv = durable_server(&db).await;
    let url = ws_url(srv.addr());
    let (ada, mut ada_ev) = Client::resume(&url, &ada, Encoding::Json).await.unwrap();
    let (bob, mut bob_ev) = Client::resume(&url, &bob, Encoding::Json).await.unwrap();
    let (cy, mut cy_ev) = Client::resume(&url, &cy, Encoding::Json).await.unwrap();

    // The same messages with the same numbers, the deleted one still gone; pages of two.
    let (after, _) = bob.chat_history(&party, None, None).await.unwrap();
    assert_eq!(after, before);
    let last = after.last().unwrap().id;
    let (page, more) = bob.chat_history(&party, Some(last), Some(2)).await.unwrap();
    assert_eq!(page, after[after.len() - 3..after.len() - 1]);
    assert!(more);
    let (first, more) = bob
        .chat_history(&party, Some(after[2].id), Some(2))
        .await
        .unwrap();
    assert_eq!((first.as_slice(), more), (&after[..2], false));

    // Cy is still muted until the host says otherwise; numbering goes on above every id
    // given, the deleted message's included.
    cy.chat(&party, "and now?").unwrap();
    assert_eq!(refused(&mut cy_ev).await, ErrorCode::Forbidden);
    ada.chat_mute(&party, &cy.player().id, false).unwrap();
    said(&mut cy_ev, "Cy may chat again").await;
    cy.chat(&party, "thanks").unwrap();
    let thanks = said(&mut ada_ev, "thanks").await;
    assert!(thanks.id > last + 1);

    // The host leaves: the next member hosts and moderates.
    ada.leave(&party).await.unwrap();
    said(&mut bob_ev, "Ada left").await;
    let host = said(&mut cy_ev, "Bob is the host now").await;
    assert_eq!(host.event.unwrap().player.id, bob.player().id);
    bob.chat_delete(&party, thanks.id).unwrap();
    next_where(
        &mut cy_ev,
        |m| matches!(m, ServerMsg::ChatDeleted { id, .. } if *id == thanks.id),
    )
    .await;
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// A game room without a host: the member who has been there longest moderates, and a
/// newcomer gets the latest messages after `joined`.
#[tokio::test]
async fn in_a_game_room_the_longest_present_member_moderates() {
    let srv = support::server().await;
    let url = ws_url(srv.addr());
    let (ada, _ada_ev) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
    let (bob, mut bob_ev) = Client::connect(&url, Hello::named("Bob")).await.unwrap();
    let room = support::new_counter(&ada).await;
    bob.join(&room, JoinRole::Player).await.unwrap();
    bob.chat(&room, "hello").unwrap();
    let hello = said(&mut bob_ev, "hello").await;
    bob.chat_mute(&room, &ada.player().id, true).unwrap();
    assert_eq!(refused(&mut bob_ev).await, ErrorCode::Forbidden);
    ada.chat_mute(&room, &ada.player().id, true).unwrap();
    ada.chat_delete(&room, hello.id).unwrap();
    next_where(&mut bob_ev, |m| matches!(m, ServerMsg::ChatDeleted { .. })).await;
    // No host change is announced in a room whose game names no host.
    let (history, _) = bob.chat_history(&room, None, None).await.unwrap();
    assert_eq!(texts(&history), ["Ada joined", "Bob joined"]);

    let (cy, mut cy_ev) = Client::connect(&url, Hello::named("Cy")).await.unwrap();
    cy.join(&room, JoinRole::Spectator).await.unwrap();
    said(&mut cy_ev, "Bob joined").await;
    srv.stop().await.unwrap();
}
