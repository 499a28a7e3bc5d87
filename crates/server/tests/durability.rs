//! Durability, end to end: a real `arbiter` process under load is killed with SIGKILL at a
//! random moment and restarted on the same storage. Every acknowledged action is there, no
//! unacknowledged one is half-applied, and the clients resume and carry on — on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{ActOptions, Client, CreateRoom, Encoding, Hello};
use arbiter_protocol::JoinRole;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::{PATIENCE, ServerProcess};

/// Start the real binary on the given storage.
async fn start(data_dir: &Path, database_url: &str) -> ServerProcess {
    let data_dir = data_dir.to_str().expect("a UTF-8 temporary path");
    ServerProcess::start([
        "--data-dir",
        data_dir,
        "--database-url",
        database_url,
        "--snapshot-every",
        "10",
        "--log",
        "warn",
        "--secret",
        "durability-test-secret-0123456789",
    ])
    .await
}

/// One player hammering the counter: every action is `add 1`; remembers what was
/// acknowledged and the one action (if any) whose answer the crash swallowed.
struct Player {
    client: Client,
    acked: u64,
    in_flight: Option<u64>,
}

async fn crash_and_recover(database_url: &str) {
    let dir = std::env::temp_dir().join(format!("arbiter-crash-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(&dir, database_url).await;
    let mut players = Vec::new();
    for i in 0..4 {
        let (client, _events) = Client::connect(&server.url(), Hello::named(format!("P{i}")))
            .await
            .unwrap();
        players.push(Player {
            client,
            acked: 0,
            in_flight: None,
        });
    }
    let room = players[0]
        .client
        .create(CreateRoom::new("counter"))
        .await
        .unwrap()
        .room
        .id;
    for p in &players[1..] {
        p.client.join(&room, JoinRole::Player).await.unwrap();
    }

    // Load from every player, then SIGKILL at a random point of its progress: after a random
    // number of acknowledged actions, whatever the machine's speed.
    let progress = std::sync::Arc::new(tokio::sync::Notify::new());
    let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for p in players {
        let room = room.clone();
        let (progress, total) = (progress.clone(), total.clone());
        tasks.push(tokio::spawn(async move {
            let mut p = p;
            loop {
                let seq = p.client.last_seq(&room) + 1;
                p.in_flight = Some(seq);
                let opts = ActOptions {
                    seq: Some(seq),
                    base: None,
                };
                match p
                    .client
                    .act_with(&room, opts, json!({"type": "add", "n": 1}))
                    .await
                {
                    Ok(_) => {
                        p.acked += 1;
                        p.in_flight = None;
                        total.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        progress.notify_waiters();
                    }
                    Err(_) => return p,
                }
            }
        }));
    }
    let kill_after = 20 + u64::from(rand_suffix() % 200);
    tokio::time::timeout(PATIENCE, async {
        loop {
            let more = progress.notified();
            if total.load(std::sync::atomic::Ordering::SeqCst) >= kill_after {
                return;
            }
            more.await;
        }
    })
    .await
    .expect("the load made progress");
    server.kill();
    let mut players = Vec::new();
    for t in tasks {
        players.push(tokio::time::timeout(PATIENCE, t).await.unwrap().unwrap());
    }
    let acked: u64 = players.iter().map(|p| p.acked).sum();
    let in_flight = players.iter().filter(|p| p.in_flight.is_some()).count() as u64;
    assert!(acked > 0, "the load ran before the crash");

    // Restart on the same storage; each player resumes and resends what went unanswered.
    let server = start(&dir, database_url).await;
    let mut resumed = Vec::new();
    for p in &players {
        let (client, _events) = Client::resume(&server.url(), &p.client, Encoding::Json)
            .await
            .unwrap();
        resumed.push(client);
    }
    let count = |c: &Client| c.view(&room).unwrap().view["count"].as_u64().unwrap();
    let recovered = count(&resumed[0]);
    assert!(
        (acked..=acked + in_flight).contains(&recovered),
        "recovered {recovered}, acknowledged {acked}, in flight {in_flight}"
    );
    for (p, c) in players.iter().zip(&resumed) {
        if let Some(seq) = p.in_flight {
            let opts = ActOptions {
                seq: Some(seq),
                base: None,
            };
            c.act_with(&room, opts, json!({"type": "add", "n": 1}))
                .await
                .unwrap();
        }
    }
    // Exactly once: every action, answered before the crash or after, counted once.
    for c in &resumed {
        c.act(&room, json!({"type": "add", "n": 1})).await.unwrap();
    }
    let expected = acked + in_flight + resumed.len() as u64;
    let mut w = resumed[0].watch(&room);
    let view = tokio::time::timeout(
        PATIENCE,
        w.wait_for(|v| {
            v.as_ref()
                .is_some_and(|v| v.view["count"] == json!(expected))
        }),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "count never reached {expected}: {:?}",
            resumed[0].view(&room)
        )
    })
    .unwrap()
    .clone()
    .unwrap();
    println!(
        "{database_url}: killed after {kill_after} acknowledgements; {acked} acked, {in_flight} in flight, recovered {recovered}, final {}",
        view.view["count"]
    );
    server.kill();
    std::fs::remove_dir_all(&dir).ok();
}

fn rand_suffix() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    t.subsec_nanos() ^ std::process::id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_server_loses_no_acknowledged_action() {
    let dir = std::env::temp_dir().join(format!("arbiter-sqlite-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("arbiter.db").display());
    crash_and_recover(&url).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_postgres_server_loses_no_acknowledged_action() {
    let db = support::PgDatabase::create("arbiter_crash").await;
    crash_and_recover(&db.url).await;
}

#[tokio::test]
async fn a_database_file_lost_beside_its_log_is_a_clear_startup_error() {
    let dir = std::env::temp_dir().join(format!("arbiter-lost-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("arbiter.db-wal"), b"orphaned write-ahead log").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("arbiter.db is missing but its write-ahead log"),
        "{err}"
    );

    std::fs::remove_file(dir.join("arbiter.db-wal")).unwrap();
    std::fs::write(dir.join("arbiter.db"), b"this is not a database").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("arbiter.db"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Under relaxed durability a room answers a batch before storing it. A server stopped with
/// SIGTERM must store what it answered before its process exits: here another writer holds
/// SQLite's write lock, so the room's append waits, until the server has closed its
/// connections; the process then exits only once the append is done. (A server that exited
/// right after closing its connections would take the waiting append with it.)
#[tokio::test]
async fn a_server_stopped_under_relaxed_durability_stores_what_it_answered_first() {
    use arbiter_engine::Store;
    use sqlx::Connection;
    let dir = std::env::temp_dir().join(format!("arbiter-relaxed-stop-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("arbiter.db").display());
    let srv = ServerProcess::start([
        "--data-dir",
        dir.to_str().expect("a UTF-8 temporary path"),
        "--durability",
        "relaxed",
        "--log",
        "warn",
    ])
    .await;
    let (ada, _a) = Client::connect(&srv.url(), Hello::named("Ada"))
        .await
        .unwrap();
    let room = support::new_counter(&ada).await;
    // Everything so far stored first (a room takes its next command only after its append,
    // so the lock below must not catch an earlier one): read until the log holds it.
    let stored = arbiter_server::SqlStore::open(&db).await.unwrap();
    let warm = ada
        .act(&room, json!({"type": "add", "n": 1}))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    while stored.log(&room, 0, 100).await.unwrap().last().map(|e| e.v) != Some(warm) {
        assert!(std::time::Instant::now() < deadline, "v{warm} never stored");
        tokio::task::yield_now().await;
    }
    let mut other = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let v = ada
        .act(&room, json!({"type": "add", "n": 5}))
        .await
        .unwrap();
    srv.signal("TERM");
    assert_eq!(
        ada.closed().await.code,
        Some(arbiter_protocol::close::SERVICE_RESTART)
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert!(srv.exited().await.success());
    let log = stored.log(&room, 0, 100).await.unwrap();
    assert_eq!(
        log.last().map(|e| e.v),
        Some(v),
        "the acknowledged action was stored before the process exited: {log:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

mod in_process {
    //! The same guarantees through the library: a graceful restart (1012) on a durable store,
    //! and the results of finished games.

    use super::rand_suffix;
    use super::support::{self, Clock, Raw, step_until, within};
    use arbiter_client::{Client, CreateRoom, Encoding, Hello};
    use arbiter_engine::{Durability, Persistence};
    use arbiter_protocol::{ClientMsg, JoinRole, ServerMsg};
    use arbiter_server::{Running, Settings, Signer, SqlStore};
    use serde_json::{Value, json};
    use std::path::Path;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn start(db: &Path) -> Running {
        start_with(db, Settings::default()).await
    }

    async fn start_with(db: &Path, settings: Settings) -> Running {
        start_durable(db, settings, Durability::Strict).await
    }

    async fn start_durable(db: &Path, settings: Settings, durability: Durability) -> Running {
        let store = SqlStore::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let persistence = Persistence {
            store: Arc::new(store),
            durability,
            snapshot_every: 4,
        };
        arbiter_server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            arbiter_games::registry(),
            settings,
            Signer::new("durability-test-secret-0123456789"),
            Some(persistence),
        )
        .await
        .unwrap()
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> Value {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.unwrap();
        let body = buf.split_once("\r\n\r\n").unwrap().1;
        let body = if buf.to_ascii_lowercase().contains("chunked") {
            body.split("\r\n").nth(1).unwrap_or("").to_owned()
        } else {
            body.to_owned()
        };
        serde_json::from_str(&body).unwrap()
    }

    #[tokio::test]
    async fn a_graceful_restart_keeps_the_game_and_results_are_recorded() {
        let dir = std::env::temp_dir().join(format!("arbiter-restart-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("arbiter.db");
        let srv = start(&db).await;
        let url = format!("ws://{}/ws", srv.addr());
        let (ada, _a) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
        let (bob, _b) = Client::connect(&url, Hello::named("Bob")).await.unwrap();
        let room = ada
            .create(CreateRoom::new("tictactoe"))
            .await
            .unwrap()
            .room
            .id;
        bob.join(&room, JoinRole::Player).await.unwrap();
        let mut w = ada.watch(&room);
        let view = w
            .wait_for(|v| v.as_ref().is_some_and(|v| v.v == 2))
            .await
            .unwrap()
            .clone()
            .unwrap()
            .view;
        let (first, second) = if view["turn"] == json!(ada.player().id.as_str()) {
            (&ada, &bob)
        } else {
            (&bob, &ada)
        };
        first
            .act(&room, json!({"type": "move", "row": 0, "col": 0}))
            .await
            .unwrap();
        // What a player saw after the first move, to ask for again after the restart.
        let early = first.view(&room).unwrap();
        second
            .act(&room, json!({"type": "move", "row": 1, "col": 0}))
            .await
            .unwrap();
        first
            .act(&room, json!({"type": "move", "row": 0, "col": 1}))
            .await
            .unwrap();
        // And after the third move: a version just above the first stored snapshot (at 4).
        let later = first.view(&room).unwrap();
        second
            .act(&room, json!({"type": "move", "row": 1, "col": 1}))
            .await
            .unwrap();

        srv.stop().await.unwrap();
        assert_eq!(
            ada.closed().await.code,
            Some(arbiter_protocol::close::SERVICE_RESTART)
        );

        let srv = start(&db).await;
        let url = format!("ws://{}/ws", srv.addr());
        let (first2, _f) = Client::resume(&url, first, Encoding::Json).await.unwrap();
        let (second2, _s) = Client::resume(&url, second, Encoding::Json).await.unwrap();
        let before = first.view(&room).unwrap();
        assert_eq!(
            first2.view(&room).unwrap(),
            before,
            "nothing was lost and nothing new was missed"
        );
        let v = first2
            .act(&room, json!({"type": "move", "row": 0, "col": 2}))
            .await
            .unwrap();
        assert_eq!(v, before.v + 1);
        // The restored room holds only the entries after its last snapshot (every 4
        // versions here); a state from before it is rebuilt from storage.
        let past = get(
            srv.addr(),
            &format!("/api/v1/rooms/{room}/state?v={}", early.v),
        )
        .await;
        assert_eq!(past["v"], json!(early.v));
        assert_eq!(past["view"], early.view);
        // Rebuilt from the snapshot at 4 and the entry after it.
        let past = get(
            srv.addr(),
            &format!("/api/v1/rooms/{room}/state?v={}", later.v),
        )
        .await;
        assert_eq!(
            (past["v"].clone(), past["view"].clone()),
            (json!(later.v), later.view.clone())
        );
        assert_eq!(later.v, 5);
        let log = get(srv.addr(), &format!("/api/v1/rooms/{room}/log")).await;
        let versions: Vec<u64> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["v"].as_u64().unwrap())
            .collect();
        assert_eq!(
            versions.first(),
            Some(&1),
            "the whole log, from storage too"
        );
        let mut w = second2.watch(&room);
        let over = w
            .wait_for(|x| x.as_ref().is_some_and(|x| x.v == v))
            .await
            .unwrap()
            .clone()
            .unwrap()
            .view;
        assert_eq!(over["winner"], json!(first.player().id.as_str()));

        let results = get(srv.addr(), &format!("/api/v1/rooms/{room}/results")).await;
        let r = &results["results"][0];
        assert_eq!(
            (r["game"].clone(), r["v"].clone()),
            (json!("tictactoe"), json!(v))
        );
        assert_eq!(
            r["ranking"],
            json!([[first.player().id.as_str()], [second.player().id.as_str()]])
        );
        let mine = get(
            srv.addr(),
            &format!("/api/v1/players/{}/results", second.player().id),
        )
        .await;
        assert_eq!(mine["results"].as_array().unwrap().len(), 1);
        let nobody = get(srv.addr(), "/api/v1/players/p_nobody/results").await;
        assert_eq!(nobody["results"], json!([]));
        srv.stop().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn a_live_room_keeps_only_the_entries_since_its_last_snapshot_and_answers_all_history() {
        const ADMIN: &str = "admin-token-for-history-tests-0123";
        let dir = std::env::temp_dir().join(format!("arbiter-trim-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = Settings {
            admin_token: Some(ADMIN.into()),
            ..Settings::default()
        };
        let srv = start_with(&dir.join("arbiter.db"), settings).await;
        let url = format!("ws://{}/ws", srv.addr());
        let (ada, _a) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
        let room = super::support::new_counter(&ada).await;
        // What Ada saw at every version, to ask for again.
        let mut seen = vec![ada.view(&room).unwrap()];
        for n in 1..=21 {
            ada.act(&room, json!({"type": "add", "n": n}))
                .await
                .unwrap();
            seen.push(ada.view(&room).unwrap());
        }
        let now = seen.last().unwrap().v;
        // Storage took a snapshot every 4 versions; the live room keeps what follows the last.
        let auth = format!("Bearer {ADMIN}");
        let (status, inspect) = super::support::request(
            srv.addr(),
            "GET",
            &format!("/api/v1/admin/rooms/{room}"),
            &[("Authorization", &auth)],
            None,
        )
        .await;
        assert_eq!(status, 200, "{inspect}");
        assert_eq!(inspect["log_from"], json!(now / 4 * 4 + 1), "{inspect}");
        // Every past state: the old ones from storage, the recent ones from the room.
        for past in &seen {
            let got = get(
                srv.addr(),
                &format!("/api/v1/rooms/{room}/state?v={}", past.v),
            )
            .await;
            assert_eq!(
                (&got["v"], &got["view"]),
                (&json!(past.v), &past.view),
                "{got}"
            );
        }
        // Log pages across the boundary, from storage and from memory.
        let versions = |log: &Value| -> Vec<u64> {
            log["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["v"].as_u64().unwrap())
                .collect()
        };
        let all = get(srv.addr(), &format!("/api/v1/rooms/{room}/log?limit=1000")).await;
        assert_eq!(versions(&all), (1..=now).collect::<Vec<_>>());
        for after in [0, 3, now - 3, now - 1] {
            let page = get(
                srv.addr(),
                &format!("/api/v1/rooms/{room}/log?after={after}&limit=2"),
            )
            .await;
            assert_eq!(
                versions(&page),
                vec![after + 1, after + 2]
                    .into_iter()
                    .filter(|v| *v <= now)
                    .collect::<Vec<_>>()
            );
            assert_eq!(page["v"], json!(now));
        }
        srv.stop().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn an_archived_room_still_answers_history_from_storage() {
        const LIFETIME: std::time::Duration = std::time::Duration::from_millis(200);
        let dir = std::env::temp_dir().join(format!("arbiter-archive-{}", rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = Settings::default();
        settings.rooms.lifetimes = arbiter_engine::RoomLifetimes {
            empty: LIFETIME,
            abandoned: LIFETIME,
        };
        let srv = start_with(&dir.join("arbiter.db"), settings).await;
        let url = format!("ws://{}/ws", srv.addr());
        let (ada, _a) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
        let clock = Clock::freeze();
        let room = super::support::new_counter(&ada).await;
        for _ in 0..6 {
            ada.act(&room, json!({"type": "add", "n": 2}))
                .await
                .unwrap();
        }
        let live_v3 = get(srv.addr(), &format!("/api/v1/rooms/{room}/state?v=3")).await;
        let live_log = get(srv.addr(), &format!("/api/v1/rooms/{room}/log")).await;
        let handle = srv.rooms().find(&room).unwrap();
        ada.close();
        ada.closed().await;
        // The room goes idle and closes once its lifetime is over (in virtual time: the clock
        // moves 10 ms at a time and only here), then is archived and unlisted.
        let waited = step_until("close of the idle room", 10 * LIFETIME, || {
            handle.is_closed()
        })
        .await;
        assert!(
            waited >= LIFETIME && waited <= LIFETIME + std::time::Duration::from_millis(50),
            "closed after {waited:?}"
        );
        // Archiving writes to SQLite on its own thread: wait for it without moving the clock.
        within("the room to be archived", async {
            while get(srv.addr(), &format!("/api/v1/rooms/{room}")).await["error"]["code"]
                != json!("ROOM_NOT_FOUND")
            {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert_eq!(
            get(srv.addr(), &format!("/api/v1/rooms/{room}/state?v=3")).await,
            live_v3
        );
        assert_eq!(
            get(srv.addr(), &format!("/api/v1/rooms/{room}/log")).await,
            live_log
        );
        let now = get(srv.addr(), &format!("/api/v1/rooms/{room}/state")).await;
        assert_eq!(
            (now["v"].clone(), now["view"]["count"].clone()),
            (json!(7), json!(12))
        );
        clock.thaw();
        srv.stop().await.unwrap();
        // Archived rooms are not brought back to life on the next start.
        let srv = start(&dir.join("arbiter.db")).await;
        assert_eq!(get(srv.addr(), "/healthz").await["rooms"], json!(0));
        srv.stop().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A raw connection that says `hello` (with `token` when given) and returns its token.
    async fn hello(srv: &Running, name: &str, token: Option<&str>) -> (Raw, String) {
        let mut c = Raw::connect(srv.addr()).await;
        c.send(&ClientMsg::Hello {
            v: 1,
            name: Some(name.into()),
            token: token.map(str::to_owned),
            instance: None,
        })
        .await;
        match c.msg().await {
            ServerMsg::Welcome { token, .. } => (c, token),
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    fn join(room: &str, since: Option<u64>) -> ClientMsg {
        ClientMsg::Join {
            rid: Some(1),
            room: room.into(),
            role: JoinRole::Player,
            since,
            password: None,
            invite: None,
        }
    }

    /// Join (resuming from `since`): `joined.rewound`, and the version of the state frames
    /// that follow, once they reach the room's version `v`.
    async fn resume(
        c: &mut Raw,
        room: &str,
        since: Option<u64>,
        v: u64,
    ) -> (Option<u64>, Vec<ServerMsg>) {
        c.send(&join(room, since)).await;
        let rewound = match c.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
            ServerMsg::Joined { rewound, .. } => rewound,
            _ => unreachable!(),
        };
        let state = if since == Some(v) {
            Vec::new()
        } else {
            c.state_until(v).await
        };
        // A ping's answer proves nothing else came.
        c.send(&ClientMsg::Ping { n: Some(9) }).await;
        assert_eq!(c.msg().await, ServerMsg::Pong { n: Some(9) });
        (rewound, state)
    }

    /// Act and wait for the ack; its version.
    async fn act(c: &mut Raw, room: &str, seq: u64) -> u64 {
        c.send(&ClientMsg::Act {
            room: room.into(),
            seq,
            base: None,
            action: json!({"type": "add", "n": 1}),
        })
        .await;
        match c.until(|m| matches!(m, ServerMsg::Ack { .. })).await {
            ServerMsg::Ack { v, .. } => v,
            _ => unreachable!(),
        }
    }

    /// Under relaxed durability an ack leaves before its commit; a room takes its next
    /// command only once that commit is done, so the answer to a `sync` proves it.
    async fn durable(c: &mut Raw, room: &str) {
        c.send(&ClientMsg::Sync { room: room.into() }).await;
        c.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    }

    fn copy_database(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }

    /// Under `--durability relaxed` a crash loses the entries of the commit in flight:
    /// acknowledged, never stored, and the restarted room reuses their versions. That is a
    /// database whose log ends before what the clients hold — made here by keeping a copy of
    /// the database from an earlier point and restarting on it. A client resuming from a
    /// version above the room's, or from one above where the room was loaded while its player
    /// has not been back since, gets the version the room went back to and a snapshot — never
    /// patches onto a view the room never had.
    #[tokio::test]
    async fn a_client_ahead_of_a_room_that_lost_its_tail_is_told_and_gets_a_snapshot() {
        let dir = std::env::temp_dir().join(format!("arbiter-rewound-{}", rand_suffix()));
        let (live, behind) = (dir.join("live"), dir.join("behind"));
        std::fs::create_dir_all(&live).unwrap();
        std::fs::create_dir_all(&behind).unwrap();
        let relaxed = |dir: &Path| {
            let db = dir.join("arbiter.db");
            async move { start_durable(&db, Settings::default(), Durability::Relaxed).await }
        };

        let srv = relaxed(&live).await;
        let (mut ada, ada_token) = hello(&srv, "Ada", None).await;
        let (mut cy, cy_token) = hello(&srv, "Cy", None).await;
        ada.send(&support::create_msg(1, "counter")).await;
        let room = match ada.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
            ServerMsg::Joined { room, .. } => room.id.to_string(),
            _ => unreachable!(),
        };
        cy.send(&join(&room, None)).await;
        cy.until(|m| matches!(m, ServerMsg::Joined { .. })).await;
        let stored = act(&mut ada, &room, 1).await;
        durable(&mut ada, &room).await;
        srv.stop().await.unwrap();
        copy_database(&live, &behind);

        // What the crash will lose: two more acknowledged actions.
        let srv = relaxed(&live).await;
        let (mut ada, _) = hello(&srv, "Ada", Some(&ada_token)).await;
        let (mut cy, _) = hello(&srv, "Cy", Some(&cy_token)).await;
        assert_eq!(resume(&mut ada, &room, Some(stored), stored).await.0, None);
        assert_eq!(resume(&mut cy, &room, Some(stored), stored).await.0, None);
        act(&mut ada, &room, 2).await;
        let held = act(&mut ada, &room, 3).await;
        assert_eq!(held, stored + 2);
        srv.stop().await.unwrap();

        let srv = relaxed(&behind).await;
        // Cy comes back first, from a version the room does not have.
        let (mut cy, _) = hello(&srv, "Cy", Some(&cy_token)).await;
        let (rewound, state) = resume(&mut cy, &room, Some(held), stored).await;
        assert_eq!(rewound, Some(stored));
        assert!(
            matches!(&state[..], [ServerMsg::Snapshot { v, view, .. }] if *v == stored && view["count"] == json!(1)),
            "{state:?}"
        );
        // Cy moves the room past the version Ada holds: the same number, another history.
        let mut v = stored;
        for seq in 1..=3 {
            v = act(&mut cy, &room, seq).await;
        }
        assert!(v > held);
        let (mut ada, _) = hello(&srv, "Ada", Some(&ada_token)).await;
        let (rewound, state) = resume(&mut ada, &room, Some(held), v).await;
        assert_eq!(
            rewound,
            Some(stored),
            "Ada's {held} is from before the loss"
        );
        assert!(
            matches!(&state[..], [ServerMsg::Snapshot { v: at, view, .. }] if *at == v && view["count"] == json!(4)),
            "{state:?}"
        );
        // Back in this history, Ada resumes as usual.
        drop(ada);
        let (mut ada, _) = hello(&srv, "Ada", Some(&ada_token)).await;
        assert_eq!(resume(&mut ada, &room, Some(v), v).await, (None, vec![]));
        let patched = act(&mut cy, &room, 4).await;
        let (mut again, _) = hello(&srv, "Ada", Some(&ada_token)).await;
        let (rewound, state) = resume(&mut again, &room, Some(v), patched).await;
        assert_eq!(rewound, None);
        assert!(
            matches!(&state[..], [ServerMsg::Patch { from, .. }] if *from == v),
            "{state:?}"
        );
        srv.stop().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }
}
