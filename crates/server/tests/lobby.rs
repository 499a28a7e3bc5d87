//! Finding a game: the public room list's filters (game, a free seat, language, tags) over
//! REST, and `watch_rooms`, which sends a client its filtered list again whenever it changes
//! — under a frozen clock, the list's refresh advanced by hand.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, RoomFilter, RoomInfo, ServerMsg};
use serde_json::Value;
use std::time::Duration;
use support::{Clock, Raw, create_msg, get, server, within};

/// `create` of a public `game` room with a listing; the room's id.
async fn create(c: &mut Raw, rid: u64, game: &str, lang: Option<&str>, tags: &[&str]) -> String {
    let mut msg = create_msg(rid, game);
    if let ClientMsg::Create {
        lang: l, tags: t, ..
    } = &mut msg
    {
        *l = lang.map(str::to_owned);
        *t = tags.iter().map(|s| (*s).to_owned()).collect();
    }
    c.send(&msg).await;
    match within(
        "joined",
        c.until(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. })),
    )
    .await
    {
        ServerMsg::Joined { room, .. } => room.id,
        other => panic!("create refused: {other:?}"),
    }
}

/// The next room list the watcher receives.
async fn next_list(c: &mut Raw) -> (Option<u64>, Vec<RoomInfo>) {
    match within(
        "a room list",
        c.until(|m| matches!(m, ServerMsg::Rooms { .. })),
    )
    .await
    {
        ServerMsg::Rooms { rid, rooms } => (rid, rooms),
        _ => unreachable!(),
    }
}

fn ids(rooms: &Value) -> Vec<&str> {
    rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_room_list_filters_and_a_watcher_follows_its_changes() {
    let srv = server().await;
    let addr = srv.addr();
    let mut ada = Raw::connect(addr).await;
    ada.hello("ada").await;
    let mut wendy = Raw::connect(addr).await;
    wendy.hello("wendy").await;
    let clock = Clock::freeze();

    // Wendy looks for German tic-tac-toe with a free seat: nothing yet.
    let filter = RoomFilter {
        game: Some("tictactoe".into()),
        space: true,
        lang: Some("de".into()),
        tags: Vec::new(),
    };
    wendy
        .send(&ClientMsg::WatchRooms {
            rid: Some(1),
            filter,
        })
        .await;
    assert_eq!(next_list(&mut wendy).await, (Some(1), Vec::new()));

    // A room she wants appears in her list at the next refresh, listing and all.
    let german = create(&mut ada, 2, "tictactoe", Some("DE"), &["Casual"]).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    let (rid, rooms) = next_list(&mut wendy).await;
    assert_eq!(rid, None);
    assert_eq!(rooms.len(), 1);
    let room = &rooms[0];
    assert_eq!(
        (room.id.as_str(), room.lang.as_deref(), room.tags.as_slice()),
        (
            german.as_str(),
            Some("de"),
            ["casual".to_owned()].as_slice()
        )
    );
    assert_eq!((room.players, room.max_players), (1, 2));

    // Rooms she does not want send her nothing: the next list she gets is the one that
    // changed, when Bob takes the German room's last seat.
    let english = create(&mut ada, 3, "tictactoe", Some("en"), &[]).await;
    let counter = create(&mut ada, 4, "counter", Some("de"), &["casual"]).await;
    let party = create(&mut ada, 5, "party", None, &["friends"]).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    let mut bob = Raw::connect(addr).await;
    bob.hello("bob").await;
    bob.send(&ClientMsg::Join {
        rid: Some(1),
        room: german.clone(),
        role: arbiter_protocol::JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    within(
        "bob's seat",
        bob.until(|m| matches!(m, ServerMsg::Joined { .. })),
    )
    .await;
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(next_list(&mut wendy).await, (None, Vec::new()));

    // A second watch replaces the first; unwatching stops the lists.
    wendy
        .send(&ClientMsg::WatchRooms {
            rid: Some(2),
            filter: RoomFilter {
                tags: vec!["CASUAL".into()],
                ..RoomFilter::default()
            },
        })
        .await;
    let (rid, rooms) = next_list(&mut wendy).await;
    assert_eq!(rid, Some(2));
    let mut casual: Vec<&str> = rooms.iter().map(|r| r.id.as_str()).collect();
    casual.sort_unstable();
    let mut want = vec![german.as_str(), counter.as_str()];
    want.sort_unstable();
    assert_eq!(casual, want);
    wendy.send(&ClientMsg::UnwatchRooms {}).await;
    let _late = create(&mut ada, 6, "counter", None, &["casual"]).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    wendy.send(&ClientMsg::Ping { n: Some(7) }).await;
    // Nothing else is queued before the pong: the list task was stopped before the refresh.
    assert_eq!(
        within("pong", wendy.msg()).await,
        ServerMsg::Pong { n: Some(7) }
    );
    clock.thaw();

    // The same filters over REST.
    let (status, all) = get(addr, "/api/v1/rooms").await;
    assert_eq!((status, ids(&all).len()), (200, 5));
    let (_, tictactoe) = get(addr, "/api/v1/rooms?game=tictactoe").await;
    assert_eq!(ids(&tictactoe).len(), 2);
    let (_, free) = get(addr, "/api/v1/rooms?game=tictactoe&space=true").await;
    assert_eq!(ids(&free), [english.as_str()]);
    let (_, german_rooms) = get(addr, "/api/v1/rooms?lang=De&tags=casual").await;
    let mut got = ids(&german_rooms);
    got.sort_unstable();
    assert_eq!(got, want);
    let (_, parties) = get(addr, "/api/v1/rooms?game=party&tags=friends").await;
    assert_eq!(ids(&parties), [party.as_str()]);
    assert!(
        parties[0]["name"].as_str().is_some_and(|n| !n.is_empty()),
        "a party is listed by its lobby name: {parties}"
    );
    let (status, _) = get(addr, "/api/v1/rooms?space=perhaps").await;
    assert_eq!(status, 400);

    // Listings are checked at `create` and change nothing when refused.
    for (lang, tags) in [
        (Some("x"), vec![]),
        (Some("en_US"), vec![]),
        (None, vec!["a b"]),
        (None, vec!["a", "b", "c", "d", "e", "f"]),
    ] {
        let mut msg = create_msg(9, "counter");
        if let ClientMsg::Create {
            lang: l, tags: t, ..
        } = &mut msg
        {
            *l = lang.map(str::to_owned);
            *t = tags.iter().map(|s| (*s).to_owned()).collect();
        }
        ada.send(&msg).await;
        match within(
            "the refusal",
            ada.until(|m| matches!(m, ServerMsg::Error { .. })),
        )
        .await
        {
            ServerMsg::Error { code, rid, .. } => {
                assert_eq!((code, rid), (ErrorCode::InvalidField, Some(9)));
            }
            other => panic!("expected INVALID_FIELD, got {other:?}"),
        }
    }
    let (_, after) = get(addr, "/api/v1/rooms").await;
    assert_eq!(ids(&after).len(), 5);
    srv.stop().await.unwrap();
}
