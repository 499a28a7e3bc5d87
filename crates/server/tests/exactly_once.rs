//! Exactly-once over real sockets: two tabs of one player with overlapping seqs, dropped
//! connections and resent actions; `create` and `join` retried after their answer was lost,
//! also across a restart.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_engine::{Durability, Persistence};
use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, Role, ServerMsg};
use arbiter_server::{Running, Settings, Signer, SqlStore};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use support::{Proxy, Raw, create_msg, get, server, within};

/// Say hello as the player of `token` (a new one when `None`) from client `instance`;
/// returns the token.
async fn hello(c: &mut Raw, token: Option<&str>, instance: Option<&str>) -> String {
    c.send(&ClientMsg::Hello {
        v: 1,
        token: token.map(str::to_owned),
        name: Some("Ada".into()),
        instance: instance.map(str::to_owned),
    })
    .await;
    match c.msg().await {
        ServerMsg::Welcome { token, .. } => token,
        other => panic!("expected welcome, got {other:?}"),
    }
}

fn add(room: &str, seq: u64) -> ClientMsg {
    ClientMsg::Act {
        room: room.into(),
        seq,
        base: None,
        action: json!({"type": "add", "n": 1}),
    }
}

/// A counter room `c` creates (with request key `key`), once its snapshot arrived.
async fn create(c: &mut Raw, key: Option<&str>) -> (String, Role) {
    let mut msg = create_msg(1, "counter");
    if let ClientMsg::Create { key: k, .. } = &mut msg {
        *k = key.map(str::to_owned);
    }
    c.send(&msg).await;
    let joined = c.until(|m| matches!(m, ServerMsg::Joined { .. })).await;
    let ServerMsg::Joined { room, role, .. } = joined else {
        unreachable!()
    };
    c.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    (room.id, role)
}

async fn join(c: &mut Raw, room: &str) -> (Role, Vec<arbiter_protocol::Member>, u64) {
    c.send(&ClientMsg::Join {
        rid: Some(2),
        room: room.into(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    match c.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined {
            role, members, seq, ..
        } => (role, members, seq),
        _ => unreachable!(),
    }
}

/// The answer to `seq`: `Ok(v)` for an ack, `Err(code)` for a reject.
async fn answer(c: &mut Raw, seq: u64) -> Result<u64, ErrorCode> {
    let m = c
        .until(|m| match m {
            ServerMsg::Ack { seq: s, .. } | ServerMsg::Reject { seq: s, .. } => *s == seq,
            _ => false,
        })
        .await;
    match m {
        ServerMsg::Ack { v, .. } => Ok(v),
        ServerMsg::Reject { code, .. } => Err(code),
        _ => unreachable!(),
    }
}

/// Read `c`'s frames until its view of the room reaches version `v`.
async fn seen(c: &mut Raw, v: u64) {
    c.until(|m| match m {
        ServerMsg::Patch { v: at, .. } | ServerMsg::Snapshot { v: at, .. } => *at >= v,
        _ => false,
    })
    .await;
}

/// The room's state as a spectator reads it over REST.
async fn state(addr: SocketAddr, room: &str) -> Value {
    let (status, body) = get(addr, &format!("/api/v1/rooms/{room}/state")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn public_rooms(addr: SocketAddr) -> Vec<Value> {
    let (status, body) = get(addr, "/api/v1/rooms").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn two_tabs_of_one_player_act_with_overlapping_seqs_and_each_action_applies_once() {
    let srv = server().await;
    let addr = srv.addr();
    let mut tab_a = Raw::connect(addr).await;
    let token = hello(&mut tab_a, None, Some("tab-a")).await;
    let (room, _) = create(&mut tab_a, None).await; // v1: Ada's seat
    // Tab B goes through a proxy, so that its connection can die with answers unread.
    let proxy = Proxy::to(addr).await;
    let mut tab_b = Raw::connect(proxy.addr).await;
    hello(&mut tab_b, Some(&token), Some("tab-b")).await;
    join(&mut tab_b, &room).await;

    // Interleaved, overlapping seqs: neither tab's 1 or 2 is the other's retry.
    tab_a.send(&add(&room, 1)).await;
    assert_eq!(answer(&mut tab_a, 1).await, Ok(2));
    tab_b.send(&add(&room, 1)).await;
    assert_eq!(answer(&mut tab_b, 1).await, Ok(3));
    tab_b.send(&add(&room, 2)).await;
    assert_eq!(answer(&mut tab_b, 2).await, Ok(4));
    tab_a.send(&add(&room, 2)).await;
    assert_eq!(answer(&mut tab_a, 2).await, Ok(5));

    // Tab B sends two more and loses its connection before reading the answers.
    proxy.stall();
    tab_b.send(&add(&room, 3)).await;
    tab_b.send(&add(&room, 4)).await;
    seen(&mut tab_a, 7).await;
    proxy.cut();
    drop(tab_b);

    // The same tab comes back on a new connection and resends both with their seqs.
    let mut tab_b = Raw::connect(addr).await;
    hello(&mut tab_b, Some(&token), Some("tab-b")).await;
    let (role, _, seq) = join(&mut tab_b, &room).await;
    assert_eq!(
        (role, seq),
        (Role::Player, 4),
        "joined.seq counts this tab's seqs"
    );
    tab_b.send(&add(&room, 3)).await;
    tab_b.send(&add(&room, 4)).await;
    assert_eq!(answer(&mut tab_b, 3).await, Ok(6));
    assert_eq!(answer(&mut tab_b, 4).await, Ok(7));
    // Both tabs carry on, their seqs overlapping again.
    tab_b.send(&add(&room, 5)).await;
    assert_eq!(answer(&mut tab_b, 5).await, Ok(8));
    tab_a.send(&add(&room, 3)).await;
    assert_eq!(answer(&mut tab_a, 3).await, Ok(9));

    let at = state(addr, &room).await;
    assert_eq!(at["v"], json!(9));
    assert_eq!(
        at["view"]["count"],
        json!(8),
        "eight actions, each applied once"
    );
    let (_, log) = get(addr, &format!("/api/v1/rooms/{room}/log")).await;
    let acts: Vec<(Value, Value)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == json!("act"))
        .map(|e| (e["instance"].clone(), e["seq"].clone()))
        .collect();
    let (a, b) = (json!("tab-a"), json!("tab-b"));
    assert_eq!(
        acts,
        [
            (a.clone(), json!(1)),
            (b.clone(), json!(1)),
            (b.clone(), json!(2)),
            (a.clone(), json!(2)),
            (b.clone(), json!(3)),
            (b.clone(), json!(4)),
            (b, json!(5)),
            (a, json!(3)),
        ]
    );
}

#[tokio::test]
async fn connections_without_an_instance_share_the_players_seqs_as_before() {
    let srv = server().await;
    let addr = srv.addr();
    let mut first = Raw::connect(addr).await;
    let token = hello(&mut first, None, None).await;
    let (room, _) = create(&mut first, None).await;
    let mut second = Raw::connect(addr).await;
    hello(&mut second, Some(&token), None).await;
    join(&mut second, &room).await;

    first.send(&add(&room, 1)).await;
    assert_eq!(answer(&mut first, 1).await, Ok(2));
    // The other connection's seq 1 is taken for a retry of the first's: answered, not applied.
    second.send(&add(&room, 1)).await;
    assert_eq!(answer(&mut second, 1).await, Ok(2));
    first.send(&add(&room, 5)).await;
    assert_eq!(answer(&mut first, 5).await, Ok(3));
    second.send(&add(&room, 3)).await;
    assert_eq!(answer(&mut second, 3).await, Err(ErrorCode::SeqReused));
    let at = state(addr, &room).await;
    assert_eq!(
        (at["v"].clone(), at["view"]["count"].clone()),
        (json!(3), json!(2))
    );
    let (_, log) = get(addr, &format!("/api/v1/rooms/{room}/log")).await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("instance").is_none()),
        "{log}"
    );
}

#[tokio::test]
async fn a_malformed_instance_or_key_is_refused_and_changes_nothing() {
    let srv = server().await;
    let addr = srv.addr();
    let mut c = Raw::connect(addr).await;
    for bad in ["", "tab a", "tab/a", &"x".repeat(65)] {
        c.send_text(&json!({"t": "hello", "v": 1, "instance": bad}).to_string())
            .await;
        match c.msg().await {
            ServerMsg::Error { code, .. } => assert_eq!(code, ErrorCode::InvalidField, "{bad:?}"),
            other => panic!("expected INVALID_FIELD for {bad:?}, got {other:?}"),
        }
    }
    // Still unauthenticated: a good hello is welcomed.
    hello(&mut c, None, Some(&"x".repeat(64))).await;
    c.send_text(&json!({"t": "create", "rid": 9, "game": "counter", "key": "a b"}).to_string())
        .await;
    match c.msg().await {
        ServerMsg::Error { rid, code, .. } => {
            assert_eq!((rid, code), (Some(9), ErrorCode::InvalidField));
        }
        other => panic!("expected INVALID_FIELD, got {other:?}"),
    }
    assert!(public_rooms(addr).await.is_empty());
}

/// Send a keyed `create` through `proxy` and lose the connection before its answer arrives,
/// once the server has made the room.
async fn create_and_lose_the_answer(srv: &Running, token: &str, key: &str) {
    let proxy = Proxy::to(srv.addr()).await;
    let mut c = Raw::connect(proxy.addr).await;
    hello(&mut c, Some(token), Some("tab-a")).await;
    proxy.stall();
    let mut msg = create_msg(1, "counter");
    if let ClientMsg::Create { key: k, .. } = &mut msg {
        *k = Some(key.to_owned());
    }
    c.send(&msg).await;
    within("the room to be created", async {
        while srv.rooms().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    proxy.cut();
}

async fn new_token(addr: SocketAddr) -> String {
    let mut c = Raw::connect(addr).await;
    hello(&mut c, None, Some("tab-a")).await
}

#[tokio::test]
async fn a_create_retried_with_its_key_after_a_lost_answer_makes_one_room() {
    let srv = server().await;
    let addr = srv.addr();
    let token = new_token(addr).await;
    create_and_lose_the_answer(&srv, &token, "create-1").await;
    let listed = public_rooms(addr).await;
    assert_eq!(listed.len(), 1);

    let mut again = Raw::connect(addr).await;
    hello(&mut again, Some(&token), Some("tab-a")).await;
    let (room, role) = create(&mut again, Some("create-1")).await;
    assert_eq!(json!(room), listed[0]["id"]);
    assert_eq!(role, Role::Player, "the seat the first create took");
    let listed = public_rooms(addr).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["players"], json!(1));

    // A new key makes a new room; another player's identical key is theirs alone.
    create(&mut again, Some("create-2")).await;
    let mut bob = Raw::connect(addr).await;
    hello(&mut bob, None, None).await;
    create(&mut bob, Some("create-1")).await;
    assert_eq!(public_rooms(addr).await.len(), 3);
}

#[tokio::test]
async fn a_join_retried_after_a_lost_answer_gets_the_same_seat() {
    let srv = server().await;
    let addr = srv.addr();
    let mut ada = Raw::connect(addr).await;
    hello(&mut ada, None, None).await;
    let (room, _) = create(&mut ada, None).await;
    let bob_token = new_token(addr).await;
    let proxy = Proxy::to(addr).await;
    let mut bob = Raw::connect(proxy.addr).await;
    hello(&mut bob, Some(&bob_token), Some("bob-1")).await;
    proxy.stall();
    bob.send(&ClientMsg::Join {
        rid: Some(2),
        room: room.clone(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    seen(&mut ada, 2).await; // Bob's seat
    proxy.cut();

    let mut bob = Raw::connect(addr).await;
    hello(&mut bob, Some(&bob_token), Some("bob-1")).await;
    let (role, members, _) = join(&mut bob, &room).await;
    assert_eq!(role, Role::Player);
    assert_eq!(members.len(), 2, "{members:?}");
    let info = state(addr, &room).await;
    assert_eq!(info["v"], json!(2), "no second seat was taken");
}

mod restart {
    //! The key is stored with the room: a retry after a restart finds it too.

    use super::*;

    async fn start(db: &Path) -> Running {
        let store = SqlStore::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let persistence = Persistence {
            store: Arc::new(store),
            durability: Durability::Strict,
            snapshot_every: 4,
        };
        arbiter_server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            arbiter_games::registry(),
            Settings::default(),
            Signer::new("exactly-once-test-secret-0123456789"),
            Some(persistence),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_create_retried_after_a_restart_enters_the_room_the_first_one_made() {
        let dir = std::env::temp_dir().join(format!(
            "arbiter-create-key-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("arbiter.db");
        let srv = start(&db).await;
        let token = new_token(srv.addr()).await;
        create_and_lose_the_answer(&srv, &token, "k-1").await;
        let first = public_rooms(srv.addr()).await;
        assert_eq!(first.len(), 1);
        srv.stop().await.unwrap();

        let srv = start(&db).await;
        let addr = srv.addr();
        let mut c = Raw::connect(addr).await;
        hello(&mut c, Some(&token), Some("tab-a")).await;
        let (room, role) = create(&mut c, Some("k-1")).await;
        assert_eq!(json!(room), first[0]["id"]);
        assert_eq!(role, Role::Player);
        assert_eq!(public_rooms(addr).await.len(), 1);
        srv.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
