//! The limits a public server keeps on its clients, over real sockets: message rates per
//! connection and class, connections per address, in all and per player, slow request
//! headers, rooms per player, message sizes and nesting. Rates are set so that no test
//! depends on time: a bucket refilled over an hour is empty after its burst.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, ServerMsg, close};
use arbiter_server::{Limits, Rate, Settings};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use support::{PATIENCE, Raw, create_msg, get, server_with, ws_url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const HOUR: Duration = Duration::from_secs(3600);

/// Default settings with these limits.
fn with(limits: Limits) -> Settings {
    Settings {
        limits,
        ..Settings::default()
    }
}

/// Limits whose buckets hold `n` of each class and never refill within a test.
fn buckets_of(n: u32) -> Limits {
    Limits {
        act: Rate::new(n, HOUR),
        chat: Rate::new(n, HOUR),
        join: Rate::new(n, HOUR),
        other: Rate::new(n, HOUR),
        strikes: Rate::OFF,
        ..Limits::default()
    }
}

/// A `RATE_LIMITED` refusal's `retry_after_ms`, checked to be within the hour's refill.
fn retry_after(details: &Option<Value>) -> u64 {
    let ms = details.as_ref().unwrap()["retry_after_ms"]
        .as_u64()
        .unwrap();
    assert!(ms > 0 && ms <= 3_600_000, "retry_after_ms {ms}");
    ms
}

/// The version of a room, as the REST API reports it.
async fn version(addr: SocketAddr, room: &str) -> u64 {
    get(addr, &format!("/api/v1/rooms/{room}")).await.1["v"]
        .as_u64()
        .unwrap()
}

/// Create a counter room and wait for its snapshot; returns its id.
async fn counter_room(c: &mut Raw, rid: u64) -> String {
    c.send(&create_msg(rid, "counter")).await;
    let ServerMsg::Joined { room, .. } = c.until(|m| matches!(m, ServerMsg::Joined { .. })).await
    else {
        unreachable!()
    };
    c.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    room.id
}

fn act(room: &str, seq: u64) -> ClientMsg {
    ClientMsg::Act {
        room: room.into(),
        seq,
        base: None,
        action: json!({"type": "add", "n": 1}),
    }
}

#[tokio::test]
async fn a_flood_of_each_class_is_refused_with_a_retry_time_and_changes_nothing() {
    let srv = server_with(arbiter_games::registry(), with(buckets_of(3))).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await; // other: 1 of 3
    let room = counter_room(&mut c, 1).await; // join: 1 of 3

    // act: three pass, the fourth is refused as a reject of its seq and applies nothing.
    for seq in 1..=3 {
        c.send(&act(&room, seq)).await;
        c.until(|m| matches!(m, ServerMsg::Ack { seq: s, .. } if *s == seq))
            .await;
    }
    let v = version(srv.addr(), &room).await;
    c.send(&act(&room, 4)).await;
    match c.until(|m| !matches!(m, ServerMsg::Patch { .. })).await {
        ServerMsg::Reject {
            seq: 4,
            code: ErrorCode::RateLimited,
            details,
            ..
        } => {
            retry_after(&details);
        }
        other => panic!("expected a RATE_LIMITED reject, got {other:?}"),
    }
    assert_eq!(
        version(srv.addr(), &room).await,
        v,
        "a refused act moved the room"
    );

    // chat: three relayed, the fourth refused as an error naming the room.
    for n in 0..3 {
        c.send(&ClientMsg::Chat {
            room: room.clone(),
            text: format!("hi {n}"),
        })
        .await;
        c.until(|m| matches!(m, ServerMsg::Chat { .. })).await;
    }
    c.send(&ClientMsg::Chat {
        room: room.clone(),
        text: "one too many".into(),
    })
    .await;
    match c.msg().await {
        ServerMsg::Error {
            code: ErrorCode::RateLimited,
            details,
            rid: None,
            ..
        } => {
            retry_after(&details);
            assert_eq!(details.unwrap()["room"], json!(room));
        }
        other => panic!("expected a RATE_LIMITED error, got {other:?}"),
    }

    // join: two more pass (answered, here with ALREADY_IN_ROOM), the next echoes its rid.
    for rid in [2, 3] {
        c.send(&ClientMsg::Join {
            rid: Some(rid),
            room: room.clone(),
            role: Default::default(),
            since: None,
            password: None,
            invite: None,
        })
        .await;
        match c.msg().await {
            ServerMsg::Error { rid: r, code, .. } => {
                assert_eq!((r, code), (Some(rid), ErrorCode::AlreadyInRoom))
            }
            other => panic!("expected ALREADY_IN_ROOM, got {other:?}"),
        }
    }
    c.send(&create_msg(4, "counter")).await;
    match c.msg().await {
        ServerMsg::Error {
            rid: Some(4),
            code: ErrorCode::RateLimited,
            details,
            ..
        } => {
            retry_after(&details);
        }
        other => panic!("expected a RATE_LIMITED error for rid 4, got {other:?}"),
    }
    assert_eq!(srv.rooms().len(), 1, "a refused create made a room");

    // other: two pings pass, the third is refused.
    for n in 0..2 {
        c.send(&ClientMsg::Ping { n: Some(n) }).await;
        assert_eq!(c.msg().await, ServerMsg::Pong { n: Some(n) });
    }
    c.send(&ClientMsg::Ping { n: Some(9) }).await;
    match c.msg().await {
        ServerMsg::Error {
            code: ErrorCode::RateLimited,
            details,
            ..
        } => {
            retry_after(&details);
        }
        other => panic!("expected a RATE_LIMITED error, got {other:?}"),
    }
    assert_eq!(version(srv.addr(), &room).await, v);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_persistent_flooder_is_closed_and_held_back_while_a_polite_client_is_answered() {
    const PERIOD: Duration = Duration::from_secs(10);
    let limits = Limits {
        strikes: Rate::new(3, PERIOD),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..buckets_of(2)
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    // Strikes refill on tokio's clock: frozen, none comes back during the test.
    let clock = support::Clock::freeze();
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    let mut polite = open(srv.addr(), &from("203.0.113.1")).await.unwrap();
    polite.hello("polite").await;
    let mut flooder = open(srv.addr(), &from("203.0.113.66")).await.unwrap();
    let token = hello_token(&mut flooder).await;

    flooder.send(&ClientMsg::Ping { n: Some(0) }).await;
    assert_eq!(flooder.msg().await, ServerMsg::Pong { n: Some(0) });
    // Three refusals are forgiven; the fourth closes the connection.
    for n in 1..=4 {
        flooder.send(&ClientMsg::Ping { n: Some(n) }).await;
        match flooder.msg().await {
            ServerMsg::Error {
                code: ErrorCode::RateLimited,
                ..
            } => {}
            other => panic!("expected RATE_LIMITED, got {other:?}"),
        }
    }
    let (code, reason) = flooder.closed().await;
    assert_eq!(code, Some(close::RATE_LIMITED), "{reason}");

    // For the strikes period its address may not connect again…
    let (status, body) = match open(srv.addr(), &from("203.0.113.66")).await {
        Ok(_) => panic!("the flooder's address was let in again at once"),
        Err(refused) => refused,
    };
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("RATE_LIMITED"))
    );
    let wait = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
    assert_eq!(wait, 10_000, "{body}");
    // …and from another address its player is refused at `hello`.
    let mut moved = open(srv.addr(), &from("203.0.113.67")).await.unwrap();
    moved
        .send(&ClientMsg::Hello {
            v: 1,
            token: Some(token.clone()),
            name: None,
            instance: None,
        })
        .await;
    match moved.msg().await {
        ServerMsg::Error {
            code: ErrorCode::RateLimited,
            details,
            ..
        } => assert_eq!(retry_after(&details), 10_000),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    assert_eq!(moved.closed().await.0, Some(close::RATE_LIMITED));
    // Everyone else is served: the polite client, and a newcomer from that other address.
    polite.send(&ClientMsg::Ping { n: Some(1) }).await;
    assert_eq!(polite.msg().await, ServerMsg::Pong { n: Some(1) });
    let mut newcomer = open(srv.addr(), &from("203.0.113.67")).await.unwrap();
    newcomer.hello("newcomer").await;

    // Once the period is over the flooder is welcome again, as the same player.
    tokio::time::advance(PERIOD).await;
    let mut back = open(srv.addr(), &from("203.0.113.66")).await.unwrap();
    back.send(&ClientMsg::Hello {
        v: 1,
        token: Some(token),
        name: None,
        instance: None,
    })
    .await;
    assert!(matches!(back.msg().await, ServerMsg::Welcome { .. }));
    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn past_its_read_budget_a_connection_is_not_read_until_the_budget_refills() {
    // 128 KiB at once, then one KiB every 7.8125 ms; no message rates in the way.
    let limits = Limits {
        read_kib: Rate::new(128, Duration::from_secs(1)),
        ..Limits::default().without_rates()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let mut big = Raw::connect(srv.addr()).await;
    big.hello("big").await;
    let room = counter_room(&mut big, 1).await;
    let mut other = Raw::connect(srv.addr()).await;
    other.hello("other").await;
    other
        .send_text(&format!(
            r#"{{"t":"join","rid":1,"room":"{room}","as":"any"}}"#
        ))
        .await;
    other
        .until(|m| matches!(m, ServerMsg::Snapshot { .. }))
        .await;
    let _clock = support::Clock::freeze();

    // Three 60 KiB frames (each refused as an unknown type), then a ping. The third frame
    // overdraws the bucket by 52 KiB: it is answered, and then nothing is read for 406.25 ms.
    let frame = format!(r#"{{"t":"fly","pad":"{}"}}"#, "x".repeat(60 * 1024 - 20));
    assert_eq!(frame.len(), 60 * 1024);
    for _ in 0..3 {
        big.send_text(&frame).await;
    }
    big.send(&ClientMsg::Ping { n: Some(7) }).await;
    for _ in 0..3 {
        let answer = big.until(|m| matches!(m, ServerMsg::Error { .. })).await;
        assert!(
            matches!(
                answer,
                ServerMsg::Error {
                    code: ErrorCode::UnknownType,
                    ..
                }
            ),
            "{answer:?}"
        );
    }
    // While the reading waits, the connection is still written to: another member's moves
    // reach it (as a patch or a snapshot), before the answer to the ping it sent earlier.
    let pong_or_patch = |m: &ServerMsg| {
        matches!(
            m,
            ServerMsg::Pong { .. } | ServerMsg::Patch { .. } | ServerMsg::Snapshot { .. }
        )
    };
    other.send(&act(&room, 1)).await;
    let first = big.until(pong_or_patch).await;
    assert!(!matches!(first, ServerMsg::Pong { .. }), "{first:?}");
    tokio::time::advance(Duration::from_millis(406)).await;
    other.send(&act(&room, 2)).await;
    let second = big.until(pong_or_patch).await;
    assert!(!matches!(second, ServerMsg::Pong { .. }), "{second:?}");
    // Once the bucket holds the 52 KiB, the ping is read and answered.
    tokio::time::advance(Duration::from_millis(10)).await;
    assert_eq!(
        big.until(pong_or_patch).await,
        ServerMsg::Pong { n: Some(7) }
    );
    // The pause was for reading only: the connection is open and served as before.
    big.send(&act(&room, 1)).await;
    assert!(matches!(
        big.until(|m| matches!(m, ServerMsg::Ack { .. })).await,
        ServerMsg::Ack { .. }
    ));
}

/// Say `hello` as a new guest; the token to come back with.
async fn hello_token(c: &mut Raw) -> String {
    c.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some("flooder".into()),
        instance: None,
    })
    .await;
    match c.msg().await {
        ServerMsg::Welcome { token, .. } => token,
        other => panic!("expected welcome, got {other:?}"),
    }
}

#[tokio::test]
async fn long_poll_sessions_share_the_limits() {
    let srv = server_with(arbiter_games::registry(), with(buckets_of(2))).await;
    let (_, opened) = support::http(srv.addr(), "POST", "/lp", None).await;
    let sid = opened["sid"].as_str().unwrap().to_owned();
    let path = format!("/lp/{sid}");
    let body = json!([
        {"t": "hello", "v": 1, "name": "lp"},
        {"t": "ping", "n": 1},
        {"t": "ping", "n": 2}
    ]);
    let (status, _) = support::http(srv.addr(), "POST", &path, Some(&body)).await;
    assert_eq!(status, 204);
    let mut messages = Vec::new();
    let mut after = 0;
    while messages.len() < 3 {
        let (_, polled) =
            support::http(srv.addr(), "GET", &format!("{path}?after={after}"), None).await;
        after = polled["last"].as_u64().unwrap();
        messages.extend(polled["messages"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(messages[1], json!({"t": "pong", "n": 1}));
    assert_eq!(messages[2]["code"], json!("RATE_LIMITED"), "{messages:?}");
    assert!(messages[2]["details"]["retry_after_ms"].as_u64().unwrap() > 0);
    srv.stop().await.unwrap();
}

/// Open a WebSocket with extra request headers; `Err` carries a refused upgrade's status and
/// JSON body.
async fn open(addr: SocketAddr, headers: &[(&'static str, &str)]) -> Result<Raw, (u16, Value)> {
    let mut req = ws_url(addr).into_client_request().unwrap();
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(Raw::from_stream(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let body = res
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Err((res.status().as_u16(), body))
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

fn refused_with(result: Result<Raw, (u16, Value)>) -> (u16, Value) {
    match result {
        Ok(_) => panic!("the upgrade was accepted"),
        Err((status, body)) => (status, body["error"]["code"].clone()),
    }
}

/// Wait, bounded by turns rather than time, until the server counts `n` open connections.
async fn open_connections_settle(srv: &arbiter_server::Running, n: usize) {
    support::within("the connection count", async {
        while srv.open_connections() != n {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn connections_are_limited_per_address_and_a_trusted_proxy_names_the_address() {
    let limits = Limits {
        max_connections_per_ip: 1,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let addr = srv.addr();
    let first = open(addr, &[]).await.unwrap();
    assert_eq!(
        refused_with(open(addr, &[]).await),
        (429, json!("RATE_LIMITED"))
    );
    // Behind the (trusted) proxy, each forwarded address has its own allowance.
    let a = open(addr, &[("x-forwarded-for", "203.0.113.1")])
        .await
        .unwrap();
    let _b = open(addr, &[("x-forwarded-for", "203.0.113.2")])
        .await
        .unwrap();
    assert_eq!(
        refused_with(open(addr, &[("x-forwarded-for", "203.0.113.1")]).await),
        (429, json!("RATE_LIMITED"))
    );
    // Long-poll sessions count too.
    let (status, body) = support::http(addr, "POST", "/lp", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (429, json!("RATE_LIMITED"))
    );
    // A closed connection gives its place back.
    drop(first);
    drop(a);
    open_connections_settle(&srv, 1).await;
    let _again = open(addr, &[]).await.unwrap();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_address() {
    let limits = Limits {
        max_connections_per_ip: 1,
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let _first = open(srv.addr(), &[("x-forwarded-for", "203.0.113.1")])
        .await
        .unwrap();
    assert_eq!(
        refused_with(open(srv.addr(), &[("x-forwarded-for", "203.0.113.2")]).await),
        (429, json!("RATE_LIMITED"))
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn the_node_takes_at_most_its_maximum_of_connections() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let _a = open(srv.addr(), &[]).await.unwrap();
    let _b = open(srv.addr(), &[]).await.unwrap();
    assert_eq!(
        refused_with(open(srv.addr(), &[]).await),
        (503, json!("UNAVAILABLE"))
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_player_holds_at_most_its_maximum_of_connections() {
    let limits = Limits {
        max_connections_per_player: 1,
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let mut first = Raw::connect(srv.addr()).await;
    first
        .send(&ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some("ada".into()),
            instance: None,
        })
        .await;
    let ServerMsg::Welcome { token, .. } = first.msg().await else {
        panic!("expected welcome")
    };
    let mut second = Raw::connect(srv.addr()).await;
    second
        .send(&ClientMsg::Hello {
            v: 1,
            token: Some(token.clone()),
            name: None,
            instance: None,
        })
        .await;
    match second.msg().await {
        ServerMsg::Error {
            code: ErrorCode::RateLimited,
            ..
        } => {}
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    assert_eq!(second.closed().await.0, Some(close::RATE_LIMITED));
    // Another player is not affected, and the first connection still works.
    let mut other = Raw::connect(srv.addr()).await;
    other.hello("bob").await;
    first.send(&ClientMsg::Ping { n: Some(1) }).await;
    assert_eq!(first.msg().await, ServerMsg::Pong { n: Some(1) });
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_socket_that_trickles_its_headers_is_closed() {
    let limits = Limits {
        header_timeout: Duration::from_millis(50),
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let mut tcp = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Never finished: the server hangs up (perhaps with a 408 first).
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut got))
        .await
        .expect("the server kept a slow request's socket open");
    assert!(
        read.is_err() || got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn deep_nesting_is_refused_before_any_room_sees_it() {
    let srv = server_with(arbiter_games::registry(), Settings::default()).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await;
    let nested = |depth: usize| {
        format!(
            r#"{{"t":"act","room":"r_none","seq":1,"action":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // Refused for its depth, answered where it said it belongs (its room and seq).
    c.send_text(&nested(40)).await;
    match c.msg().await {
        ServerMsg::Reject {
            room,
            seq: 1,
            code: ErrorCode::BadMessage,
            message,
            ..
        } if room == "r_none" => assert!(message.contains("deeper than 32"), "{message}"),
        other => panic!("expected BAD_MESSAGE, got {other:?}"),
    }
    // Within the limit the message is decoded (and refused for what it says).
    c.send_text(&nested(10)).await;
    match c.msg().await {
        ServerMsg::Reject { seq: 1, code, .. } => assert_ne!(code, ErrorCode::BadMessage),
        other => panic!("expected a reject, got {other:?}"),
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_player_creates_at_most_its_maximum_of_rooms_and_configs_are_bounded() {
    let limits = Limits {
        max_rooms_per_player: 2,
        max_config_bytes: 64,
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await;
    counter_room(&mut c, 1).await;
    let second = counter_room(&mut c, 2).await;
    c.send(&create_msg(3, "counter")).await;
    match c.msg().await {
        ServerMsg::Error {
            rid: Some(3),
            code: ErrorCode::RateLimited,
            message,
            ..
        } => assert!(message.contains("live rooms"), "{message}"),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    assert_eq!(srv.rooms().len(), 2);
    // Another player may still create.
    let mut bob = Raw::connect(srv.addr()).await;
    bob.hello("bob").await;
    counter_room(&mut bob, 1).await;

    let ClientMsg::Create {
        game,
        public,
        max_players,
        max_spectators,
        role,
        seed,
        ..
    } = create_msg(4, "counter")
    else {
        unreachable!()
    };
    bob.send(&ClientMsg::Create {
        rid: Some(4),
        game,
        config: Some(json!({"padding": "x".repeat(100)})),
        public,
        max_players,
        max_spectators,
        role,
        seed,
        key: None,
        password: None,
        lang: None,
        tags: Vec::new(),
    })
    .await;
    match bob.msg().await {
        ServerMsg::Error {
            rid: Some(4),
            code: ErrorCode::InvalidConfig,
            message,
            ..
        } => assert!(message.contains("64 bytes"), "{message}"),
        other => panic!("expected INVALID_CONFIG, got {other:?}"),
    }
    drop(second);
    srv.stop().await.unwrap();
}

/// The refusal for `msg`'s class: its `retry_after_ms`, or `None` if it was answered.
async fn limited(c: &mut Raw, msg: &ClientMsg) -> Option<u64> {
    c.send(msg).await;
    loop {
        match c.msg().await {
            ServerMsg::Reject {
                code: ErrorCode::RateLimited,
                details,
                ..
            }
            | ServerMsg::Error {
                code: ErrorCode::RateLimited,
                details,
                ..
            } => return Some(retry_after(&details)),
            ServerMsg::Ack { .. } | ServerMsg::Chat { .. } => return None,
            ServerMsg::Patch { .. } | ServerMsg::Snapshot { .. } => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn buckets_refill_on_tokio_time_exactly_when_retry_after_says() {
    let limits = Limits {
        act: Rate::new(2, Duration::from_secs(1)),
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await;
    let room = counter_room(&mut c, 1).await;
    let _clock = support::Clock::freeze();

    assert_eq!(limited(&mut c, &act(&room, 1)).await, None);
    assert_eq!(limited(&mut c, &act(&room, 2)).await, None);
    // One token every 500 ms.
    let wait = limited(&mut c, &act(&room, 3)).await.unwrap();
    assert_eq!(wait, 500);
    tokio::time::advance(Duration::from_millis(wait - 1)).await;
    assert_eq!(limited(&mut c, &act(&room, 4)).await, Some(1));
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(limited(&mut c, &act(&room, 5)).await, None);

    // The room's own chat limit, 5 per 5 s per member, runs on room time the same way.
    let chat = ClientMsg::Chat {
        room: room.clone(),
        text: "hi".into(),
    };
    for _ in 0..5 {
        assert_eq!(limited(&mut c, &chat).await, None);
    }
    let wait = limited(&mut c, &chat).await.unwrap();
    assert_eq!(wait, 1000);
    tokio::time::advance(Duration::from_millis(wait)).await;
    assert_eq!(limited(&mut c, &chat).await, None);
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn each_address_has_a_budget_of_http_requests_and_the_probes_are_outside_it() {
    let limits = Limits {
        http: Rate::new(3, HOUR),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let addr = srv.addr();
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    for path in ["/api/v1/games", "/api/v1/rooms", "/"] {
        let (status, _, _) =
            support::request_text(addr, "GET", path, &from("203.0.113.1"), None).await;
        assert_eq!(status, 200, "{path}");
    }
    // The fourth request from that address is refused, whatever route it asks for.
    for path in ["/api/v1/games", "/web/app.js", "/metrics", "/no/such/route"] {
        let (status, head, body) =
            support::request_text(addr, "GET", path, &from("203.0.113.1"), None).await;
        assert_eq!(status, 429, "{path}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "RATE_LIMITED");
        let ms = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
        assert!(
            ms > 0 && ms <= 1_200_000,
            "one token every 20 minutes: {ms}"
        );
        let header = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("retry-after: ")
                    .map(str::to_owned)
            })
            .unwrap();
        assert_eq!(header.parse::<u64>().unwrap(), ms.div_ceil(1000));
    }
    // Probes, WebSocket upgrades and other addresses are not affected.
    let (status, _) = support::request(addr, "GET", "/healthz", &from("203.0.113.1"), None).await;
    assert_eq!(status, 200);
    let (status, _) = support::request(addr, "GET", "/readyz", &from("203.0.113.1"), None).await;
    assert_eq!(status, 200);
    let (status, body) =
        support::request(addr, "GET", "/no/such/route", &from("203.0.113.2"), None).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("NOT_FOUND")));
    let mut c = Raw::connect(addr).await;
    c.hello("ada").await;
    c.send(&ClientMsg::Ping { n: Some(1) }).await;
    assert_eq!(c.msg().await, ServerMsg::Pong { n: Some(1) });
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn each_address_opens_a_budget_of_new_connections() {
    let limits = Limits {
        connect: Rate::new(3, HOUR),
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Limits::default()
    };
    let srv = server_with(arbiter_games::registry(), with(limits)).await;
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    // Closed connections count too: the budget is of new connections, not open ones.
    for _ in 0..2 {
        let mut c = open(srv.addr(), &from("203.0.113.1")).await.unwrap();
        c.hello("ada").await;
    }
    // A long-poll session is a connection as well.
    let (status, _) = support::request(srv.addr(), "POST", "/lp", &from("203.0.113.1"), None).await;
    assert_eq!(status, 200);
    let (status, body) = match open(srv.addr(), &from("203.0.113.1")).await {
        Ok(_) => panic!("a fourth new connection was let in"),
        Err(refused) => refused,
    };
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("RATE_LIMITED"))
    );
    let wait = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
    assert!(
        wait > 0 && wait <= 1_200_000,
        "one every 20 minutes: {body}"
    );
    let (status, body) =
        support::request(srv.addr(), "POST", "/lp", &from("203.0.113.1"), None).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (429, &json!("RATE_LIMITED"))
    );
    // Another address has its own budget.
    let mut other = open(srv.addr(), &from("203.0.113.2")).await.unwrap();
    other.hello("bob").await;
    srv.stop().await.unwrap();
}
