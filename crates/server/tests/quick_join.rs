//! `join_or_create` over real sockets: concurrent quick-joins fill rooms one at a time and
//! never overfill one, options keep pools apart, a freed seat is taken again, and bad requests
//! get their documented answers.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, Role, ServerMsg};
use arbiter_server::{Limits, Settings};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use support::{Raw, get, server, server_with};

fn quick(rid: u64, game: &str, config: Option<Value>, max_players: Option<u32>) -> ClientMsg {
    ClientMsg::JoinOrCreate {
        rid: Some(rid),
        game: game.to_owned(),
        config,
        max_players,
        lang: None,
        tags: Vec::new(),
    }
}

/// The answer to the request `rid`: the room and role it got, or the refusal.
async fn answer(raw: &mut Raw, rid: u64) -> Result<(String, Role), (ErrorCode, String)> {
    let m = raw
        .until(|m| match m {
            ServerMsg::Joined { rid: r, .. } | ServerMsg::Error { rid: r, .. } => *r == Some(rid),
            _ => false,
        })
        .await;
    match m {
        ServerMsg::Joined { room, role, .. } => Ok((room.id, role)),
        ServerMsg::Error { code, message, .. } => Err((code, message)),
        _ => unreachable!(),
    }
}

async fn player(addr: std::net::SocketAddr, name: &str) -> Raw {
    let mut raw = Raw::connect(addr).await;
    raw.hello(name).await;
    raw
}

/// Seated players per room, as the server lists its public rooms.
async fn listed(addr: std::net::SocketAddr) -> BTreeMap<String, u64> {
    let (status, rooms) = get(addr, "/api/v1/rooms").await;
    assert_eq!(status, 200);
    rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["players"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn fifty_concurrent_quick_joins_fill_rooms_of_four_one_at_a_time_and_seat_everyone() {
    // Fifty players from one address: more new connections than an address may open at once.
    let settings = Settings {
        limits: Limits::default().without_rates(),
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let addr = srv.addr();
    let mut tasks = Vec::new();
    for i in 0..50 {
        tasks.push(tokio::spawn(async move {
            let mut raw = player(addr, &format!("p{i}")).await;
            raw.send(&quick(7, "race", None, Some(4))).await;
            let got = answer(&mut raw, 7).await;
            (raw, got)
        }));
    }
    let mut seats: BTreeMap<String, u64> = BTreeMap::new();
    let mut held = Vec::new();
    for task in tasks {
        let (raw, got) = task.await.unwrap();
        let (room, role) = got.expect("everyone is seated");
        assert_eq!(role, Role::Player);
        *seats.entry(room).or_default() += 1;
        held.push(raw);
    }
    assert_eq!(seats.values().sum::<u64>(), 50, "everyone has a seat");
    assert!(
        seats.values().all(|&n| n <= 4),
        "no room over four: {seats:?}"
    );
    let mut sizes: Vec<u64> = seats.values().copied().collect();
    sizes.sort_unstable();
    assert_eq!(
        sizes,
        [vec![2], vec![4; 12]].concat(),
        "each room filled before the next opened"
    );
    assert_eq!(
        listed(addr).await,
        seats,
        "the server counts the same seats"
    );
}

#[tokio::test]
async fn options_keep_pools_apart_and_a_freed_seat_is_taken_again() {
    let srv = server().await;
    let addr = srv.addr();
    let mut first = Vec::new();
    for i in 0..4 {
        let mut raw = player(addr, &format!("a{i}")).await;
        raw.send(&quick(1, "race", None, Some(4))).await;
        first.push((answer(&mut raw, 1).await.unwrap().0, raw));
    }
    let full = first[0].0.clone();
    assert!(first.iter().all(|(room, _)| *room == full));

    // Other options, another pool: a new room, not the full one's neighbour.
    let mut other = player(addr, "b").await;
    other
        .send(&quick(1, "race", Some(json!({"target": 30})), Some(4)))
        .await;
    let (b_room, _) = answer(&mut other, 1).await.unwrap();
    assert_ne!(b_room, full);

    // A language (and tags) are filters too: German players share a room of their own,
    // listed with its language, and a bad language is refused.
    let german = |rid: u64| {
        let mut msg = quick(rid, "race", None, Some(4));
        if let ClientMsg::JoinOrCreate { lang, tags, .. } = &mut msg {
            *lang = Some("DE".into());
            *tags = vec!["casual".into()];
        }
        msg
    };
    let mut de = Vec::new();
    for i in 0..2 {
        let mut raw = player(addr, &format!("d{i}")).await;
        raw.send(&german(1)).await;
        de.push(answer(&mut raw, 1).await.unwrap().0);
    }
    assert_eq!(de[0], de[1]);
    assert!(de[0] != full && de[0] != b_room);
    let (_, found) = get(addr, "/api/v1/rooms?lang=de&tags=casual").await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["id"], json!(de[0]));
    let mut bad = player(addr, "e").await;
    let mut msg = german(2);
    if let ClientMsg::JoinOrCreate { lang, .. } = &mut msg {
        *lang = Some("x".into());
    }
    bad.send(&msg).await;
    assert_eq!(
        answer(&mut bad, 2).await.unwrap_err().0,
        ErrorCode::InvalidField
    );

    let mut fifth = player(addr, "a4").await;
    fifth.send(&quick(1, "race", None, Some(4))).await;
    let (second, _) = answer(&mut fifth, 1).await.unwrap();
    assert!(
        second != full && second != b_room,
        "the full room is skipped, the other pool too"
    );

    // A seat frees up in the first room: the next quick-join takes it (oldest room first).
    let (_, leaver) = &mut first[3];
    leaver
        .send(&ClientMsg::Leave {
            rid: Some(2),
            room: full.clone(),
        })
        .await;
    leaver.until(|m| matches!(m, ServerMsg::Left { .. })).await;
    let mut sixth = player(addr, "a5").await;
    sixth.send(&quick(1, "race", None, Some(4))).await;
    assert_eq!(answer(&mut sixth, 1).await.unwrap().0, full);
    let rooms = listed(addr).await;
    assert_eq!((rooms[&full], rooms[&second], rooms[&b_room]), (4, 1, 1));
}

#[tokio::test]
async fn a_bad_quick_join_is_refused_and_makes_no_room() {
    let srv = server().await;
    let addr = srv.addr();
    let mut raw = player(addr, "x").await;
    raw.send(&quick(1, "chess", None, None)).await;
    assert_eq!(
        answer(&mut raw, 1).await.unwrap_err().0,
        ErrorCode::UnknownGame
    );
    raw.send(&quick(2, "race", Some(json!({"target": 0})), None))
        .await;
    assert_eq!(
        answer(&mut raw, 2).await.unwrap_err().0,
        ErrorCode::InvalidConfig
    );
    raw.send(&quick(
        3,
        "race",
        Some(json!({"pad": "x".repeat(20 * 1024)})),
        None,
    ))
    .await;
    let (code, message) = answer(&mut raw, 3).await.unwrap_err();
    assert_eq!(code, ErrorCode::InvalidConfig);
    assert!(message.contains("bytes of JSON"), "{message}");
    raw.send(&quick(4, "race", None, Some(9))).await;
    assert!(
        answer(&mut raw, 4).await.is_err(),
        "race seats at most four"
    );
    assert!(listed(addr).await.is_empty(), "no room was made");
    // Unauthenticated: refused before anything else.
    let mut stranger = Raw::connect(addr).await;
    stranger.send(&quick(5, "race", None, None)).await;
    assert_eq!(
        answer(&mut stranger, 5).await.unwrap_err().0,
        ErrorCode::NotAuthenticated
    );
}
