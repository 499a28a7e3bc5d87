//! Rooms that tick and rooms that pause, over real sockets: one entry and one patch per tick,
//! inputs acknowledged with the tick that consumed them, the host's pause and resume (turn
//! clocks and ticks stand still and then go on where they stood), a room pausing itself when
//! every player is gone, a finished real-time game whose log replays to its final state, and a
//! ticking room killed with SIGKILL that continues from its last durable tick.
//!
//! Time: in-process servers run under a frozen clock ([`Clock`]); the SIGKILL test runs a real
//! process and waits for events (ticks arrive 30 times a second), never for a duration.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_engine::LogEntry;
use arbiter_protocol::{ErrorCode, JoinRole, ServerMsg};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Clock, PATIENCE, Raw, ServerProcess, create_msg, request, server_with, within};

/// One tick of `snake` (30 Hz), and the millisecond tokio's timer wheel may round a
/// deadline up by.
const TICK: Duration = Duration::from_millis(34);

/// A server whose heartbeats stay out of the way (virtual time here runs the rooms' clocks
/// only; a raw test socket answers pings only while the test reads it) and which takes seeds.
async fn server() -> arbiter_server::Running {
    let mut settings = arbiter_server::Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..arbiter_server::Settings::default()
    };
    settings.rooms.allow_seeded_rooms = true;
    server_with(arbiter_games::registry(), settings).await
}

/// Ada creates a room of `game` (with `config`), Bob takes the second seat. Returns the room id.
async fn two_players(ada: &mut Raw, bob: &mut Raw, game: &str, config: Value) -> String {
    let mut create = serde_json::to_value(create_msg(1, game)).unwrap();
    create["config"] = config;
    ada.send_text(&create.to_string()).await;
    let room = match ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { room, .. } => room.id,
        _ => unreachable!(),
    };
    let join = json!({"t": "join", "rid": 2, "room": room, "as": "player"});
    bob.send_text(&join.to_string()).await;
    bob.until(|m| matches!(m, ServerMsg::Joined { .. })).await;
    room
}

async fn act(c: &mut Raw, room: &str, seq: u64, action: Value) {
    let act = json!({"t": "act", "room": room, "seq": seq, "action": action});
    c.send_text(&act.to_string()).await;
}

/// The answer (`ack` or `reject`) to `seq`.
async fn answer(c: &mut Raw, seq: u64) -> ServerMsg {
    within(
        "the answer to an act",
        c.until(|m| match m {
            ServerMsg::Ack { seq: s, .. } | ServerMsg::Reject { seq: s, .. } => *s == seq,
            _ => false,
        }),
    )
    .await
}

async fn acked(c: &mut Raw, seq: u64) -> u64 {
    match answer(c, seq).await {
        ServerMsg::Ack { v, .. } => v,
        other => panic!("seq {seq} was not acknowledged: {other:?}"),
    }
}

/// The next patch: (from, v, ops as JSON).
async fn patch(c: &mut Raw) -> (u64, u64, Value) {
    match within("a patch", c.until(|m| matches!(m, ServerMsg::Patch { .. }))).await {
        ServerMsg::Patch { from, v, ops, .. } => (from, v, serde_json::to_value(ops).unwrap()),
        _ => unreachable!(),
    }
}

async fn paused_news(c: &mut Raw) -> (bool, Option<String>) {
    match within(
        "news of a pause",
        c.until(|m| matches!(m, ServerMsg::Paused { .. })),
    )
    .await
    {
        ServerMsg::Paused { paused, by, .. } => (paused, by.map(|p| p.0)),
        _ => unreachable!(),
    }
}

async fn error(c: &mut Raw) -> ErrorCode {
    match within(
        "an error",
        c.until(|m| matches!(m, ServerMsg::Error { .. })),
    )
    .await
    {
        ServerMsg::Error { code, .. } => code,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_ticking_room_sends_one_patch_per_tick_and_acks_inputs_with_the_tick_that_took_them() {
    let srv = server().await;
    let (mut ada, mut bob) = (
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
    );
    let who = ada.hello("Ada").await.id.0;
    bob.hello("Bob").await;
    let clock = Clock::freeze();
    let room = two_players(&mut ada, &mut bob, "snake", Value::Null).await;
    act(&mut ada, &room, 1, json!({"type": "start"})).await;
    let started = acked(&mut ada, 1).await;

    // Each period of room time is one tick: one patch for each member, versions one apart.
    for i in 1..=3 {
        tokio::time::advance(TICK).await;
        for c in [&mut ada, &mut bob] {
            let (from, v, _) = patch(c).await;
            assert_eq!((from, v), (started + i - 1, started + i), "tick {i}");
        }
    }

    // A turn is an input: it waits for the next tick, and its ack names that tick. (Applied
    // at once it would be refused: outside a tick the game takes no turns.)
    act(&mut ada, &room, 2, json!({"type": "turn", "dir": "up"})).await;
    // A retry of the waiting input is kept once.
    act(&mut ada, &room, 2, json!({"type": "turn", "dir": "up"})).await;
    // The room answers a `sync` after what the connection sent before it: only then has it
    // buffered the input, and only then may time move.
    ada.send_text(&json!({"t": "sync", "room": room}).to_string())
        .await;
    within(
        "the room to read the input",
        ada.until(|m| matches!(m, ServerMsg::Snapshot { .. })),
    )
    .await;
    tokio::time::advance(TICK).await;
    let (_, v, ops) = patch(&mut ada).await;
    assert_eq!(v, started + 4);
    assert_eq!(acked(&mut ada, 2).await, v);
    let queued = ops.as_array().unwrap().iter().any(|op| {
        op["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/snakes/0/queue"))
            && op["value"] == json!(["up"])
    });
    assert!(queued, "the tick queued Ada's turn: {ops}");
    // The tick's log entry holds the input once; a retry now is answered from the books.
    let page = log_after(srv.addr(), &room, v - 1).await;
    let entry = &page["entries"][0];
    assert_eq!(entry["kind"], json!("tick"));
    assert_eq!(entry["inputs"].as_array().unwrap().len(), 1, "{entry}");
    assert_eq!(entry["inputs"][0]["seq"], json!(2));
    act(&mut ada, &room, 2, json!({"type": "turn", "dir": "up"})).await;
    assert_eq!(acked(&mut ada, 2).await, v);

    // Bob cannot pause (Ada hosts); Ada can, and then no tick comes however long it stands.
    let pause = json!({"t": "pause", "rid": 7, "room": room}).to_string();
    bob.send_text(&pause).await;
    assert_eq!(error(&mut bob).await, ErrorCode::Forbidden);
    ada.send_text(&pause).await;
    assert_eq!(paused_news(&mut bob).await, (true, Some(who.clone())));
    let at = room_v(&srv, &room);
    tokio::time::advance(Duration::from_secs(30)).await;
    act(&mut bob, &room, 1, json!({"type": "turn", "dir": "down"})).await;
    match answer(&mut bob, 1).await {
        ServerMsg::Reject { code, .. } => assert_eq!(code, ErrorCode::Paused),
        other => panic!("an act in a paused room: {other:?}"),
    }
    assert_eq!(room_v(&srv, &room), at, "nothing happened while paused");
    ada.send_text(&pause).await;
    assert_eq!(
        error(&mut ada).await,
        ErrorCode::InvalidMove,
        "pausing twice"
    );
    ada.send_text(&json!({"t": "resume", "room": room}).to_string())
        .await;
    assert_eq!(paused_news(&mut bob).await, (false, Some(who)));
    tokio::time::advance(TICK).await;
    let (from, v, _) = patch(&mut bob).await;
    assert_eq!(
        (from, v),
        (at + 1, at + 2),
        "the resume, then the next tick"
    );
    clock.thaw();
    srv.stop().await.unwrap();
}

fn room_v(srv: &arbiter_server::Running, room: &str) -> u64 {
    srv.rooms().find(room).unwrap().info().v
}

#[tokio::test]
async fn a_paused_turn_clock_stands_still_and_runs_out_as_late_as_the_pause_lasted() {
    let srv = server().await;
    let (mut ada, mut bob) = (
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
    );
    ada.hello("Ada").await;
    bob.hello("Bob").await;
    let clock = Clock::freeze();
    // Race with a 1 s turn clock: Ada's runs from Bob's arrival.
    let room = two_players(&mut ada, &mut bob, "race", json!({"turn_ms": 1000})).await;
    let dealt = room_v(&srv, &room);
    tokio::time::advance(Duration::from_millis(400)).await;
    ada.send_text(&json!({"t": "pause", "room": room}).to_string())
        .await;
    assert!(paused_news(&mut bob).await.0);
    // Far past the deadline: the clock stands still, and Ada's move is refused.
    tokio::time::advance(Duration::from_secs(60)).await;
    act(&mut ada, &room, 1, json!({"type": "add", "n": 1})).await;
    match answer(&mut ada, 1).await {
        ServerMsg::Reject { code, .. } => assert_eq!(code, ErrorCode::Paused),
        other => panic!("{other:?}"),
    }
    assert_eq!(room_v(&srv, &room), dealt + 1, "only the pause");
    ada.send_text(&json!({"t": "resume", "room": room}).to_string())
        .await;
    assert!(!paused_news(&mut bob).await.0);
    // 600 ms of the clock were left: not out at 590, out by 610 (room time is whole
    // milliseconds, and tokio's timers may fire up to one late).
    tokio::time::advance(Duration::from_millis(590)).await;
    bob.send_text(&json!({"t": "ping", "n": 1}).to_string())
        .await;
    within("pong", bob.until(|m| matches!(m, ServerMsg::Pong { .. }))).await;
    assert_eq!(
        room_v(&srv, &room),
        dealt + 2,
        "the resume only: the clock has 10 ms left"
    );
    tokio::time::advance(Duration::from_millis(20)).await;
    // The view is small enough that the change comes as a whole snapshot.
    let frame = within(
        "the clock's change",
        bob.until(|m| matches!(m, ServerMsg::Snapshot { .. } | ServerMsg::Patch { .. })),
    )
    .await;
    let ServerMsg::Snapshot { v, view, .. } = frame else {
        panic!("{frame:?}")
    };
    assert_eq!(v, dealt + 3);
    assert_eq!(
        view["total"],
        json!(1),
        "Ada ran out of time and 1 was added"
    );
    let page = log_after(srv.addr(), &room, dealt).await;
    assert_eq!(kinds(&page), ["pause", "resume", "clock"]);
    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_room_pauses_itself_when_every_player_is_gone_and_resumes_when_one_returns() {
    let srv = server().await;
    let (mut ada, mut bob) = (
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
    );
    ada.send_text(&json!({"t": "hello", "v": 1, "name": "Ada"}).to_string())
        .await;
    let token = match ada.msg().await {
        ServerMsg::Welcome { token, .. } => token,
        other => panic!("{other:?}"),
    };
    bob.hello("Bob").await;
    let clock = Clock::freeze();
    let room = two_players(&mut ada, &mut bob, "snake", Value::Null).await;
    act(&mut ada, &room, 1, json!({"type": "start"})).await;
    acked(&mut ada, 1).await;
    tokio::time::advance(TICK).await;
    patch(&mut bob).await;
    // Bob leaves the socket; Ada is still there, so the room ticks on.
    drop(bob);
    tokio::time::advance(TICK).await;
    let (_, ticked, _) = patch(&mut ada).await;
    assert!(!srv.rooms().find(&room).unwrap().info().paused);
    drop(ada);
    support::step_until("the room to pause itself", Duration::from_secs(5), || {
        srv.rooms().find(&room).is_some_and(|h| h.info().paused)
    })
    .await;
    let at = room_v(&srv, &room);
    assert!(at > ticked);
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(room_v(&srv, &room), at, "no tick while everyone is gone");
    // Ada comes back: the room resumes by itself, and ticks again.
    let mut ada = Raw::connect(srv.addr()).await;
    ada.send_text(&json!({"t": "hello", "v": 1, "token": token}).to_string())
        .await;
    ada.msg().await;
    ada.send_text(&json!({"t": "join", "rid": 3, "room": room, "as": "player"}).to_string())
        .await;
    assert_eq!(paused_news(&mut ada).await, (false, None));
    tokio::time::advance(TICK).await;
    let (_, v, _) = patch(&mut ada).await;
    assert_eq!(v, at + 2, "the resume, then a tick");
    let page = log_after(srv.addr(), &room, at - 1).await;
    assert_eq!(kinds(&page), ["pause", "resume", "tick"]);
    assert!(
        page["entries"][0].get("by").is_none(),
        "the room paused itself"
    );
    clock.thaw();
    srv.stop().await.unwrap();
}

/// A page of `room`'s log: the entries above version `after`.
async fn log_after(addr: std::net::SocketAddr, room: &str, after: u64) -> Value {
    let path = format!("/api/v1/rooms/{room}/log?after={after}");
    let (status, page) = request(addr, "GET", &path, &[], None).await;
    assert_eq!(status, 200, "{page}");
    page
}

/// The `kind` of each entry of a log page.
fn kinds(page: &Value) -> Vec<&str> {
    let entries = page["entries"].as_array().unwrap();
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

/// Every entry of `room`'s log, a page at a time.
async fn whole_log(addr: std::net::SocketAddr, room: &str) -> Vec<LogEntry> {
    let mut log: Vec<LogEntry> = Vec::new();
    loop {
        let after = log.last().map_or(0, |e| e.v);
        let path = format!("/api/v1/rooms/{room}/log?after={after}&limit=1000");
        let (status, page) = request(addr, "GET", &path, &[], None).await;
        assert_eq!(status, 200, "{page}");
        let entries = page["entries"].as_array().unwrap();
        if entries.is_empty() {
            return log;
        }
        log.extend(
            entries
                .iter()
                .map(|e| serde_json::from_value::<LogEntry>(e.clone()).unwrap()),
        );
    }
}

#[tokio::test]
async fn a_finished_real_time_game_replays_from_its_log_to_its_final_state() {
    let srv = server().await;
    let (ada, _events) = Client::connect(&support::ws_url(srv.addr()), Hello::named("Ada"))
        .await
        .unwrap();
    let clock = Clock::freeze();
    let config = json!({"width": 24, "height": 16});
    let room = ada
        .create(CreateRoom {
            seed: Some(11),
            config: Some(config.clone()),
            ..CreateRoom::new("snake")
        })
        .await
        .unwrap()
        .room
        .id;
    for _ in 0..3 {
        ada.add_bot(&room).await.unwrap();
    }
    ada.act(&room, json!({"type": "start"})).await.unwrap();
    // Bots steer every tick; Ada never does. Run until the round is over.
    let (end, _) = support::advance_until(
        &srv,
        &ada,
        &room,
        "the round to end",
        Duration::from_secs(600),
        |v| v["phase"] == json!("over"),
    )
    .await;
    let log = whole_log(srv.addr(), &room).await;
    assert_eq!(log.last().unwrap().v, end.v);
    let ticks = log
        .iter()
        .filter(|e| matches!(e.kind, arbiter_engine::EntryKind::Tick { .. }))
        .count();
    assert!(ticks > 60, "a countdown and then some: {ticks} ticks");
    let bot_inputs: usize = log
        .iter()
        .map(|e| match &e.kind {
            arbiter_engine::EntryKind::Tick { inputs } => inputs.len(),
            _ => 0,
        })
        .sum();
    assert!(bot_inputs > 0, "the bots steered");
    let replayed = arbiter_engine::replay(
        &arbiter_games::snake::Snake,
        &config,
        11,
        log[0].at_ms,
        &log,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&replayed.state).unwrap(),
        end.view,
        "the replay ends where the room did"
    );
    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_ticking_room_killed_with_sigkill_continues_from_its_last_durable_tick() {
    let dir = std::env::temp_dir().join(format!("arbiter-tick-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/arbiter.db", dir.display());
    let args = |dir: &std::path::Path| {
        vec![
            "--data-dir".to_owned(),
            dir.display().to_string(),
            "--database-url".to_owned(),
            db.clone(),
            "--durability".to_owned(),
            "strict".to_owned(),
            "--log".to_owned(),
            "warn".to_owned(),
            "--secret".to_owned(),
            "tick-crash-test-secret-0123456789".to_owned(),
        ]
    };
    let server = ServerProcess::start(args(&dir)).await;
    let (ada, _) = Client::connect(&server.url(), Hello::named("Ada"))
        .await
        .unwrap();
    let (bob, _) = Client::connect(&server.url(), Hello::named("Bob"))
        .await
        .unwrap();
    let room = ada.create(CreateRoom::new("snake")).await.unwrap().room.id;
    bob.join(&room, JoinRole::Player).await.unwrap();
    ada.act(&room, json!({"type": "start"})).await.unwrap();
    // Inputs are acknowledged once the tick that took them is durable. Take a few.
    let mut last = 0;
    for dir in ["up", "right", "down", "right"] {
        last = ada
            .act(&room, json!({"type": "turn", "dir": dir}))
            .await
            .unwrap();
    }
    let token = ada.token().to_owned();
    server.kill();

    let server = ServerProcess::start(args(&dir)).await;
    let hello = Hello {
        token: Some(token),
        ..Hello::named("Ada")
    };
    let (ada, _) = Client::connect(&server.url(), hello).await.unwrap();
    let joined = ada.join(&room, JoinRole::Player).await.unwrap();
    assert!(
        joined.room.v >= last,
        "the acknowledged tick {last} survived (room at {})",
        joined.room.v
    );
    // The room continues: ticks come again, from where it stood.
    let mut watch = ada.watch(&room);
    let first = within("the restored view", watch.wait_for(|rv| rv.is_some()))
        .await
        .unwrap()
        .clone()
        .unwrap();
    let tick = first.view["tick"].as_u64().unwrap();
    let later = within(
        "ticks after the restart",
        watch.wait_for(|rv| {
            rv.as_ref()
                .is_some_and(|rv| rv.view["tick"].as_u64().unwrap() >= tick + 3)
        }),
    )
    .await
    .unwrap()
    .clone()
    .unwrap();
    assert!(later.v > first.v);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = PATIENCE;
}
