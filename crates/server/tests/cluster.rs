//! Cluster mode, end to end: three real `arbiter` processes on a private Redis and a private
//! PostgreSQL database, busy `counter` rooms whose players are spread over every node, and the
//! failures a cluster must survive — an owner killed, an owner frozen past its lease, a rolling
//! restart, Redis restarted. After each, a history checker over every frame the clients saw
//! proves that nothing acknowledged was lost or applied twice and that every client saw the
//! same views, in order.
//!
//! Waits are for events (a frame, an ack, an HTTP answer that changed, a process exit), each
//! bounded by `support::PATIENCE`; performance (how long a room was unavailable) is measured
//! and printed, never asserted.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{
    ActOptions, Client, ClientError, CreateRoom, Encoding, ErrorCode, Events, Hello, JoinRole,
    RoomInfo, ServerMsg,
};
use history::{Gaps, LogEntry, Seen};
use serde::Deserialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::{PATIENCE, PgDatabase, RedisServer, ServerProcess, get, request, ws_url};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Nodes in the cluster.
const NODES: usize = 3;
/// Busy rooms, each with one player on every node.
const ROOMS: usize = 3;
/// Lease length: short, so a takeover happens within seconds.
const LEASE_MS: &str = "2000";
/// Every node signs and checks tokens with the same secret, so a player resumes anywhere.
const SECRET: &str = "cluster-test-secret-0123456789abcdef";
/// Opens every node's admin API.
const ADMIN_TOKEN: &str = "cluster-admin-token-0123456789";
/// Tries for one request (an action, a join) whose room is moving, before the test fails.
const ATTEMPTS: u32 = 200;

/// SIGKILL the node that owns the rooms while actions flow: another node takes them over from
/// PostgreSQL, the players (on the dead node: socket lost; elsewhere: closed with 1012) resume
/// on live nodes and resend what went unanswered, and the history shows every acknowledged
/// action exactly once, at the version its ack reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_owner_loses_nothing() {
    let mut cluster = Cluster::start(NODES).await;
    let players = seat_players(&cluster).await;
    let everyone = players.len();
    let load = Load::start(players);
    load.book.await_acks(random_acks()).await;

    let (victim, moving) = cluster.busiest_owner().await;
    let killed_at = cluster.kill(victim);
    let via = cluster.live().next().unwrap();
    cluster
        .await_takeover(
            via,
            &moving,
            "another node to take over the dead owner's rooms",
        )
        .await;
    let book = load.book.clone();
    book.await_until("every room of the dead owner to be served again", |acks| {
        moving
            .iter()
            .all(|l| first_ack_after(acks, &l.room, killed_at, victim).is_some())
    })
    .await;
    for lease in &moving {
        let acks = book.acks.lock().unwrap();
        let ack = first_ack_after(&acks, &lease.room, killed_at, victim).unwrap();
        println!(
            "{}: served again {:?} after its owner was killed (by node {})",
            lease.room,
            ack.at - killed_at,
            ack.node
        );
    }
    book.await_everyone_after("every player to carry on", killed_at, everyone)
        .await;

    let players = load.stop().await;
    assert_server_closes_carry_a_code(&players, &[victim]);
    settle_and_check(&cluster, players, Gaps::Forbidden).await;
}

/// SIGSTOP the owner past its lease, with players on it and on the other nodes acting: another
/// node takes its rooms over with a higher fence and serves them; then the frozen node wakes up
/// with actions still in hand. Its late writes must be refused (fencing): the history has
/// nothing duplicated and nothing lost, and its players recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_owner_cannot_write_after_takeover() {
    let cluster = Cluster::start(NODES).await;
    let players = seat_players(&cluster).await;
    let everyone = players.len();
    let load = Load::start(players);
    load.book.await_acks(random_acks()).await;

    let (frozen, moving) = cluster.busiest_owner().await;
    let frozen_at = cluster.freeze(frozen);
    let via = cluster.live().find(|&n| n != frozen).unwrap();
    cluster
        .await_takeover(
            via,
            &moving,
            "another node to take over the frozen owner's rooms",
        )
        .await;
    let took_over_at = Instant::now();
    println!(
        "the frozen owner's rooms changed hands {:?} after SIGSTOP",
        took_over_at - frozen_at
    );
    // The new owner writes while the old one is still frozen: a real split brain.
    load.book
        .await_until(
            "the new owners to serve while the old one is frozen",
            |acks| {
                moving
                    .iter()
                    .all(|l| first_ack_after(acks, &l.room, took_over_at, frozen).is_some())
            },
        )
        .await;
    cluster.thaw(frozen);
    let thawed_at = Instant::now();
    load.book
        .await_everyone_after(
            "every player, the frozen node's too, to carry on",
            thawed_at,
            everyone,
        )
        .await;

    let players = load.stop().await;
    assert_server_closes_carry_a_code(&players, &[]);
    settle_and_check(&cluster, players, Gaps::Forbidden).await;
}

/// SIGTERM each node in turn under load: it hands its rooms over, closes its clients' sockets
/// with 1001 or 1012 and exits 0; a replacement joins the cluster before the next node goes.
/// Nothing is lost and every room still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_loses_nothing() {
    let mut cluster = Cluster::start(NODES).await;
    let players = seat_players(&cluster).await;
    let everyone = players.len();
    let rooms = room_ids(&players);
    let load = Load::start(players);

    for old in 0..NODES {
        let acked = load.book.len();
        load.book.await_acks(acked + random_acks()).await;
        let status = cluster.drain(old).await;
        assert!(
            status.success(),
            "node {old} exited with {status} after SIGTERM"
        );
        let new = cluster.add_node().await;
        println!("node {old} drained and exited; node {new} replaces it");
    }
    load.book
        .await_everyone_after("every player to carry on", Instant::now(), everyone)
        .await;

    let players = load.stop().await;
    assert_server_closes_carry_a_code(&players, &[]);
    settle_and_check(&cluster, players, Gaps::Forbidden).await;
    for node in cluster.live() {
        for room in &rooms {
            let (status, body) = get(cluster.addr(node), &format!("/api/v1/rooms/{room}")).await;
            assert_eq!(
                (status, body["id"].as_str()),
                (200, Some(room.as_str())),
                "room {room} via node {node}: {body}"
            );
        }
    }
}

/// Kill the cluster's Redis under load and start it again, empty, on the same port: owners
/// keep serving their own clients meanwhile, no acknowledged action is lost, and once Redis is
/// back the cluster recovers by itself — a new client on every node gets its action acked.
///
/// Frames relayed between nodes may be lost with Redis; a client may then see a patch that
/// does not fit, which it heals with a fresh snapshot ([`Gaps::HealedBySnapshot`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing() {
    let mut cluster = Cluster::start(NODES).await;
    let players = seat_players(&cluster).await;
    let everyone = players.len();
    let rooms = room_ids(&players);
    let load = Load::start(players);
    load.book.await_acks(random_acks()).await;

    let owners = cluster.leases(0, &rooms).await;
    let owner_of: BTreeMap<String, usize> = owners
        .iter()
        .map(|l| (l.room.clone(), cluster.index_of(&l.node)))
        .collect();
    cluster.redis.kill();
    let down_at = Instant::now();
    // Unready while Redis is gone (a load balancer sends new clients elsewhere), alive still.
    let (status, ready) = get(cluster.addr(0), "/readyz").await;
    assert_eq!(status, 503, "{ready}");
    assert!(
        ready["checks"]["redis"].as_str().is_some_and(|r| r != "ok"),
        "{ready}"
    );
    assert_eq!(get(cluster.addr(0), "/healthz").await.0, 200);
    load.book
        .await_until(
            "each owner to serve its own clients without Redis",
            |acks| {
                owner_of.iter().all(|(room, &owner)| {
                    acks.iter()
                        .any(|a| &a.room == room && a.at > down_at && a.node == owner)
                })
            },
        )
        .await;
    cluster.redis.restart();
    let up_at = Instant::now();
    println!("Redis was down for {:?}", up_at - down_at);
    for node in cluster.live().collect::<Vec<_>>() {
        cluster
            .await_cluster(node, "every node registered again", |v| {
                v.nodes.len() == NODES
            })
            .await;
    }
    load.book
        .await_everyone_after("every player to be served again", up_at, everyone)
        .await;
    for node in cluster.live().collect::<Vec<_>>() {
        let (status, ready) = get(cluster.addr(node), "/readyz").await;
        assert_eq!(status, 200, "node {node} ready again: {ready}");
    }

    let mut players = load.stop().await;
    let book = AckBook::default();
    for node in cluster.live().collect::<Vec<_>>() {
        let room = &rooms[node % rooms.len()];
        let name = format!("Probe{node}");
        let entrance = Entrance::Join(room.clone());
        let (mut probe, _) =
            Player::enter(&cluster.directory, players.len(), node, name, entrance).await;
        probe.act_once(&book).await;
        assert_eq!(probe.node, node, "the probe stayed on its node");
        players.push(probe);
    }
    settle_and_check(&cluster, players, Gaps::HealedBySnapshot).await;
}

/// The history checker itself: a good history passes, and each kind of corruption is found.
#[test]
fn the_history_checker_finds_every_kind_of_corruption() {
    use history::check;
    let room = "r_1";
    let log = |acts: &[(u64, &str, u64)]| {
        let mut entries = vec![LogEntry { v: 1, act: None }];
        entries.extend(acts.iter().map(|&(v, p, seq)| LogEntry {
            v,
            act: Some((p.to_owned(), seq)),
        }));
        BTreeMap::from([(room.to_owned(), entries)])
    };
    let snapshot = |v, count| ServerMsg::Snapshot {
        room: room.into(),
        v,
        view: json!({"count": count}),
    };
    let patch = |from, v, count| ServerMsg::Patch {
        room: room.into(),
        from,
        v,
        ops: serde_json::from_value(json!([{"op": "replace", "path": "/count", "value": count}]))
            .unwrap(),
    };
    let ack = |seq, v| ServerMsg::Ack {
        room: room.into(),
        seq,
        v,
    };
    let seen = |player: &str, frames: Vec<ServerMsg>| Seen {
        player: player.into(),
        room: room.into(),
        frames,
    };
    let good_log = log(&[(2, "p_a", 1), (3, "p_b", 1)]);
    let a = || {
        seen(
            "p_a",
            vec![snapshot(1, 0), patch(1, 2, 1), ack(1, 2), patch(2, 3, 2)],
        )
    };
    let b = || seen("p_b", vec![snapshot(2, 1), patch(2, 3, 2), ack(1, 3)]);
    let summary = check(&good_log, &[a(), b()], Gaps::Forbidden).expect("a good history");
    assert_eq!(
        (summary.rooms, summary.versions, summary.actions),
        (1, 3, 2)
    );
    assert_eq!((summary.frames, summary.acks, summary.resyncs), (7, 2, 0));

    let fails = |logs: &BTreeMap<String, Vec<LogEntry>>, seen: Vec<Seen>, gaps, what: &str| {
        let found = check(logs, &seen, gaps).expect_err(what);
        assert!(
            found.iter().any(|f| f.contains(what)),
            "expected {what:?}, found {found:#?}"
        );
    };
    let twice = log(&[(2, "p_a", 1), (3, "p_a", 1)]);
    fails(&twice, vec![a()], Gaps::Forbidden, "applied twice");
    let elsewhere = log(&[(2, "p_b", 1), (3, "p_a", 1)]);
    fails(
        &elsewhere,
        vec![a(), b()],
        Gaps::Forbidden,
        "but the log has",
    );
    let mut lost = log(&[(3, "p_b", 1)]);
    lost.get_mut(room)
        .unwrap()
        .insert(1, LogEntry { v: 2, act: None });
    fails(
        &lost,
        vec![a()],
        Gaps::Forbidden,
        "acked but not in the log",
    );
    let unacked = log(&[(2, "p_a", 1), (3, "p_a", 2)]);
    fails(
        &unacked,
        vec![a()],
        Gaps::Forbidden,
        "in the log but never acked",
    );
    let holes = BTreeMap::from([(room.to_owned(), vec![LogEntry { v: 2, act: None }])]);
    fails(
        &holes,
        vec![],
        Gaps::Forbidden,
        "log entry #0 is at version 2",
    );
    let gap = seen("p_a", vec![snapshot(1, 0), ack(1, 2), patch(2, 3, 2)]);
    fails(&good_log, vec![gap], Gaps::Forbidden, "does not follow");
    let healed = seen(
        "p_a",
        vec![snapshot(1, 0), ack(1, 2), patch(2, 3, 2), snapshot(3, 2)],
    );
    check(&good_log, &[healed, b()], Gaps::HealedBySnapshot).expect("a gap healed by a snapshot");
    let back = seen(
        "p_a",
        vec![
            snapshot(2, 1),
            ack(1, 2),
            snapshot(1, 0),
            patch(1, 2, 1),
            patch(2, 3, 2),
        ],
    );
    fails(&good_log, vec![back, b()], Gaps::Forbidden, "went back");
    let other_view = seen("p_b", vec![snapshot(2, 7), patch(2, 3, 2), ack(1, 3)]);
    fails(
        &good_log,
        vec![a(), other_view],
        Gaps::Forbidden,
        "has count 7",
    );
    let behind = seen("p_b", vec![snapshot(2, 1), ack(1, 3)]);
    fails(&good_log, vec![a(), behind], Gaps::Forbidden, "ended at v2");
    let other_snapshot = ServerMsg::Snapshot {
        room: room.into(),
        v: 2,
        view: json!({"count": 1, "last": "p_z"}),
    };
    let differs = seen("p_b", vec![other_snapshot, patch(2, 3, 2), ack(1, 3)]);
    fails(
        &good_log,
        vec![a(), differs],
        Gaps::Forbidden,
        "differs from p_a's",
    );
}

/// The private Redis and database the cluster tests stand on: Redis answers, dies, comes back
/// on its port; the database is there, then dropped.
/// A node that cannot be a cluster node says why and exits: cluster mode without PostgreSQL,
/// and a Redis that does not answer.
#[tokio::test]
async fn a_misconfigured_node_is_a_clear_startup_error() {
    let dir = std::env::temp_dir().join(format!("arbiter-misconfigured-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let serve = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
            .args(["serve", "--listen", "127.0.0.1:0", "--secret", SECRET])
            .arg("--data-dir")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = serve(&["--redis", "redis://127.0.0.1:1"]);
    assert!(err.contains("needs a PostgreSQL database"), "{err}");
    let db = PgDatabase::create("arbiter_misconfigured").await;
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = serve(&["--redis", "redis://127.0.0.1:1", "--database-url", &db.url]);
    assert!(err.contains("cannot connect to Redis"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_redis_and_database_come_and_go() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn ping(port: u16) -> std::io::Result<String> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(b"PING\r\n").await?;
        let mut answer = [0u8; 7];
        s.read_exact(&mut answer).await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }
    let mut redis = RedisServer::start();
    assert_eq!(ping(redis.port).await.unwrap(), "+PONG\r\n");
    redis.kill();
    assert!(ping(redis.port).await.is_err(), "killed");
    redis.restart();
    assert_eq!(ping(redis.port).await.unwrap(), "+PONG\r\n");
    let port = redis.port;
    drop(redis);
    assert!(ping(port).await.is_err(), "killed on drop");

    use sqlx::Connection;
    let db = PgDatabase::create("arbiter_helper").await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);
    let (name, admin_url) = (db.name.clone(), db.admin_url().to_owned());
    drop(db);
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(left, 0, "dropped on drop");
}

/// The admin API answers from any node: a request about a room another node serves is
/// forwarded to its owner; draining the owner through the API moves the room (its player
/// resumes elsewhere and acts on); closing it through the drained node ends it everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_from_any_node() {
    let cluster = Cluster::start(2).await;
    let book = AckBook::default();
    let (mut player, info) =
        Player::enter(&cluster.directory, 0, 0, "P0".into(), Entrance::Create).await;
    player.act_once(&book).await;
    let lease = cluster
        .leases(0, std::slice::from_ref(&info.id))
        .await
        .remove(0);
    let owner = cluster.index_of(&lease.node);
    let other = 1 - owner;
    let admin = |via: usize, method: &'static str, path: String| {
        let addr = cluster.addr(via);
        async move {
            let auth = format!("Bearer {ADMIN_TOKEN}");
            request(addr, method, &path, &[("Authorization", &auth)], None).await
        }
    };

    // Inspected through the node that does not serve it: the owner answers, whole state.
    let (status, seen) = admin(other, "GET", format!("/api/v1/admin/rooms/{}", info.id)).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["info"]["id"], json!(info.id));
    assert_eq!(seen["members"].as_array().map(Vec::len), Some(1), "{seen}");
    assert!(
        seen["info"]["v"].as_u64() >= Some(2),
        "a join and an act: {seen}"
    );
    let (_, listed) = admin(other, "GET", "/api/v1/admin/rooms?game=counter".into()).await;
    assert!(listed.to_string().contains(&info.id), "{listed}");

    // Drain the owner through its admin API: the room moves, the owner is unready.
    let (status, drained) = admin(owner, "POST", "/api/v1/admin/drain".into()).await;
    assert_eq!(status, 200, "{drained}");
    assert_eq!(drained["handed_over"], json!(1), "{drained}");
    assert_eq!(get(cluster.addr(owner), "/readyz").await.0, 503);
    assert_eq!(get(cluster.addr(other), "/readyz").await.0, 200);
    cluster.directory.set_open(owner, false);
    player.act_once(&book).await;
    cluster
        .await_takeover(
            other,
            std::slice::from_ref(&lease),
            "the drained room's takeover",
        )
        .await;

    // Closed through the drained node, which forwards to the new owner.
    let (status, closed) = admin(
        owner,
        "POST",
        format!("/api/v1/admin/rooms/{}/close", info.id),
    )
    .await;
    assert_eq!(status, 200, "{closed}");
    for via in [owner, other] {
        let (status, gone) = admin(via, "GET", format!("/api/v1/admin/rooms/{}", info.id)).await;
        assert_eq!(status, 404, "via node {via}: {gone}");
    }
    let log = cluster.log(other, &info.id).await;
    assert!(log.len() >= 3, "a join and two acts: {log:?}");
}

/// A player's maximum of live rooms (16 by default) counts the rooms they created on every
/// node: the shared database counts them, not each node apart. Closing one makes room again.
#[tokio::test]
async fn a_player_s_rooms_are_counted_across_the_cluster() {
    const MAX: usize = 16;
    let cluster = Cluster::start(2).await;
    let (a, _a_events) = Client::connect(&ws_url(cluster.addr(0)), Hello::named("Ada"))
        .await
        .unwrap();
    let again = Hello {
        token: Some(a.token().to_owned()),
        ..Hello::named("Ada")
    };
    let (b, _b_events) = Client::connect(&ws_url(cluster.addr(1)), again)
        .await
        .unwrap();
    assert_eq!(a.player().id, b.player().id);
    // Half through each node.
    let mut rooms = Vec::new();
    for i in 0..MAX {
        let via = if i % 2 == 0 { &a } else { &b };
        rooms.push(
            via.create(CreateRoom::new("counter"))
                .await
                .unwrap()
                .room
                .id,
        );
    }
    for via in [&a, &b] {
        let refused = via.create(CreateRoom::new("counter")).await.unwrap_err();
        assert_eq!(refused.code(), Some(ErrorCode::RateLimited), "{refused}");
    }
    // Closing one of them (through the admin API of the node that did not create it) frees
    // a place on every node.
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let (status, closed) = request(
        cluster.addr(1),
        "POST",
        &format!("/api/v1/admin/rooms/{}/close", rooms[0]),
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{closed}");
    // Archived once the owner has written it down: the room is no longer found.
    let deadline = Instant::now() + PATIENCE;
    while get(cluster.addr(0), &format!("/api/v1/rooms/{}", rooms[0]))
        .await
        .0
        != 404
    {
        assert!(Instant::now() < deadline, "the closed room is still found");
        tokio::task::yield_now().await;
    }
    b.create(CreateRoom::new("counter")).await.unwrap();
    let refused = a.create(CreateRoom::new("counter")).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::RateLimited), "{refused}");
}

/// How many acks to let pass before breaking something: a random point of the load, whatever
/// the machine's speed.
fn random_acks() -> usize {
    20 + rand::random::<u32>() as usize % 200
}

// --- The cluster: its processes and where clients may connect --------------------------------

/// `GET /api/v1/cluster`, the parts the tests read.
#[derive(Debug, Deserialize)]
struct ClusterView {
    mode: String,
    /// The answering node's id.
    node: String,
    nodes: Vec<NodeEntry>,
    leases: Vec<Lease>,
}

#[derive(Debug, Deserialize)]
struct NodeEntry {
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Lease {
    room: String,
    /// The owner's node id.
    node: String,
    /// Grows on every takeover.
    fence: u64,
}

impl ClusterView {
    fn lease(&self, room: &str) -> Option<&Lease> {
        self.leases.iter().find(|l| l.room == room)
    }
}

/// Where clients may (re)connect: every node started, in start order, and whether it takes
/// clients now (not once it is killed, frozen or draining).
#[derive(Debug, Default)]
struct Directory(Mutex<Vec<(SocketAddr, bool)>>);

impl Directory {
    fn add(&self, addr: SocketAddr) {
        self.0.lock().unwrap().push((addr, true));
    }

    fn set_open(&self, node: usize, open: bool) {
        self.0.lock().unwrap()[node].1 = open;
    }

    /// `preferred` if it takes clients, else the next node in start order that does.
    fn pick(&self, preferred: usize) -> (usize, SocketAddr) {
        let nodes = self.0.lock().unwrap();
        (0..nodes.len())
            .map(|i| (preferred + i) % nodes.len())
            .find(|&n| nodes[n].1)
            .map(|n| (n, nodes[n].0))
            .expect("a node that takes clients")
    }
}

/// Nodes on one private Redis and one private PostgreSQL database.
struct Cluster {
    /// By node number, in start order; `None` once killed or exited.
    nodes: Vec<Option<ServerProcess>>,
    /// Each node's id, as it names itself in `/api/v1/cluster`.
    ids: Vec<String>,
    directory: Arc<Directory>,
    prefix: String,
    data_dir: PathBuf,
    // Declared after the nodes, so they are dropped (killed) first.
    redis: RedisServer,
    db: PgDatabase,
}

impl Cluster {
    async fn start(nodes: usize) -> Self {
        let redis = RedisServer::start();
        let db = PgDatabase::create("arbiter_cluster").await;
        let suffix = rand::random::<u32>();
        let data_dir = std::env::temp_dir().join(format!("arbiter-cluster-{suffix}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        let mut cluster = Self {
            nodes: Vec::new(),
            ids: Vec::new(),
            directory: Arc::default(),
            prefix: format!("arbiter-test-{suffix}"),
            data_dir,
            redis,
            db,
        };
        for _ in 0..nodes {
            cluster.add_node().await;
        }
        cluster
    }

    /// Start one more node and wait until every live node lists it.
    async fn add_node(&mut self) -> usize {
        let redis = self.redis.url();
        let node = ServerProcess::start([
            "--data-dir",
            self.data_dir.to_str().expect("a UTF-8 temporary path"),
            "--database-url",
            &self.db.url,
            "--redis",
            &redis,
            "--redis-prefix",
            &self.prefix,
            "--lease-ms",
            LEASE_MS,
            "--secret",
            SECRET,
            "--admin-token",
            ADMIN_TOKEN,
            // The load acts as fast as acks come back, like a load generator, not a person,
            // and the test reads every room's log over REST and reconnects its players, all
            // from one address.
            "--rate-act",
            "off",
            "--rate-http",
            "off",
            "--rate-connect",
            "off",
            "--rate-read-kib",
            "off",
            "--log",
            // Set ARBITER_TEST_NODE_LOG (e.g. `info`) to watch what the nodes do.
            &std::env::var("ARBITER_TEST_NODE_LOG").unwrap_or_else(|_| "warn".into()),
        ])
        .await;
        let view = cluster_view(node.addr).await;
        assert_eq!(view.mode, "cluster");
        let n = self.nodes.len();
        self.directory.add(node.addr);
        self.ids.push(view.node);
        self.nodes.push(Some(node));
        let id = self.ids[n].clone();
        for via in self.live().collect::<Vec<_>>() {
            self.await_cluster(via, &format!("node {n} to be listed"), |v| {
                v.nodes.iter().any(|e| e.id == id)
            })
            .await;
        }
        n
    }

    fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&n| self.nodes[n].is_some())
    }

    fn addr(&self, node: usize) -> SocketAddr {
        self.nodes[node].as_ref().expect("a live node").addr
    }

    fn index_of(&self, id: &str) -> usize {
        self.ids
            .iter()
            .position(|i| i == id)
            .unwrap_or_else(|| panic!("no node has id {id:?} (nodes: {:?})", self.ids))
    }

    /// Ask `/api/v1/cluster` on `via` until `done` holds. Lease changes are pushed to no
    /// client, so each answer is the event waited for: ask again at once (yielding), with no
    /// pause, bounded by `PATIENCE`.
    async fn await_cluster(
        &self,
        via: usize,
        what: &str,
        done: impl Fn(&ClusterView) -> bool,
    ) -> ClusterView {
        let addr = self.addr(via);
        let deadline = Instant::now() + PATIENCE;
        loop {
            // Not answering yet (e.g. Redis just came back) is one more reason to ask again.
            let view = try_cluster_view(addr).await;
            match view {
                Ok(view) if done(&view) => return view,
                _ => assert!(
                    Instant::now() < deadline,
                    "no {what} within {PATIENCE:?}; node {via} says {view:#?}"
                ),
            }
            tokio::task::yield_now().await;
        }
    }

    /// Each room's lease, as node `via` sees it; every room must have one.
    async fn leases(&self, via: usize, rooms: &[String]) -> Vec<Lease> {
        let view = cluster_view(self.addr(via)).await;
        rooms
            .iter()
            .map(|r| {
                view.lease(r)
                    .cloned()
                    .unwrap_or_else(|| panic!("no lease for {r}: {view:#?}"))
            })
            .collect()
    }

    /// The node owning the most of the test's rooms, and the leases of the rooms it owns.
    async fn busiest_owner(&self) -> (usize, Vec<Lease>) {
        let via = self.live().next().unwrap();
        let view = cluster_view(self.addr(via)).await;
        let mut by_owner: BTreeMap<usize, Vec<Lease>> = BTreeMap::new();
        for lease in &view.leases {
            by_owner
                .entry(self.index_of(&lease.node))
                .or_default()
                .push(lease.clone());
        }
        by_owner
            .into_iter()
            .max_by_key(|(_, leases)| leases.len())
            .expect("some room has an owner")
    }

    /// Wait until `via` shows each of `moving` held by another node with a higher fence.
    async fn await_takeover(&self, via: usize, moving: &[Lease], what: &str) {
        self.await_cluster(via, what, |v| {
            moving.iter().all(|old| {
                v.lease(&old.room)
                    .is_some_and(|new| new.node != old.node && new.fence > old.fence)
            })
        })
        .await;
    }

    /// SIGKILL a node; returns when it is dead.
    fn kill(&mut self, node: usize) -> Instant {
        self.directory.set_open(node, false);
        self.nodes[node].take().expect("a live node").kill();
        Instant::now()
    }

    /// SIGSTOP a node: its sockets stay open and nothing answers.
    fn freeze(&self, node: usize) -> Instant {
        self.directory.set_open(node, false);
        self.nodes[node].as_ref().unwrap().signal("STOP");
        Instant::now()
    }

    fn thaw(&self, node: usize) {
        self.nodes[node].as_ref().unwrap().signal("CONT");
        self.directory.set_open(node, true);
    }

    /// SIGTERM a node and wait for it to exit.
    async fn drain(&mut self, node: usize) -> std::process::ExitStatus {
        self.directory.set_open(node, false);
        let process = self.nodes[node].take().expect("a live node");
        process.signal("TERM");
        process.exited().await
    }

    /// A room's whole log, page by page, from node `via`.
    async fn log(&self, via: usize, room: &str) -> Vec<LogEntry> {
        let mut entries: Vec<LogEntry> = Vec::new();
        loop {
            let after = entries.last().map_or(0, |e| e.v);
            let path = format!("/api/v1/rooms/{room}/log?after={after}&limit=1000");
            let (status, body) = get(self.addr(via), &path).await;
            assert_eq!(status, 200, "{path} via node {via}: {body}");
            let page = body["entries"].as_array().expect("log entries");
            let Some(last) = page.last() else {
                return entries;
            };
            assert!(
                last["v"].as_u64().is_some_and(|v| v > after),
                "{path}: the page does not move forward: {body}"
            );
            entries.extend(page.iter().map(LogEntry::parse));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

async fn cluster_view(addr: SocketAddr) -> ClusterView {
    try_cluster_view(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn try_cluster_view(addr: SocketAddr) -> Result<ClusterView, String> {
    let (status, body) = get(addr, "/api/v1/cluster").await;
    if status != 200 {
        return Err(format!("/api/v1/cluster on {addr}: {status} {body}"));
    }
    serde_json::from_value(body.clone())
        .map_err(|e| format!("/api/v1/cluster on {addr}: {e}: {body}"))
}

// --- The load: players hammering counters, reconnecting wherever they can ---------------------

/// One acknowledged action, as the load saw it.
#[derive(Debug, Clone)]
struct Ack {
    player: usize,
    room: String,
    /// The node the player was connected to.
    node: usize,
    at: Instant,
}

/// Every ack of the load, in order; `count` ticks on each, so tests wait on acks as events.
#[derive(Debug, Default)]
struct AckBook {
    acks: Mutex<Vec<Ack>>,
    count: watch::Sender<usize>,
}

impl AckBook {
    fn record(&self, ack: Ack) {
        let n = {
            let mut acks = self.acks.lock().unwrap();
            acks.push(ack);
            acks.len()
        };
        self.count.send_replace(n);
    }

    fn len(&self) -> usize {
        self.acks.lock().unwrap().len()
    }

    async fn await_until(&self, what: &str, done: impl Fn(&[Ack]) -> bool) {
        let mut count = self.count.subscribe();
        let waited = tokio::time::timeout(
            PATIENCE,
            count.wait_for(|_| done(&self.acks.lock().unwrap())),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        assert!(
            waited,
            "no {what} within {PATIENCE:?} ({} acks so far)",
            self.len()
        );
    }

    async fn await_acks(&self, n: usize) {
        self.await_until(&format!("{n} acks"), |acks| acks.len() >= n)
            .await;
    }

    /// Wait until each of the first `players` players has an ack after `t`.
    async fn await_everyone_after(&self, what: &str, t: Instant, players: usize) {
        self.await_until(what, |acks| {
            let acted: BTreeSet<usize> =
                acks.iter().filter(|a| a.at > t).map(|a| a.player).collect();
            acted.len() >= players
        })
        .await;
    }
}

/// The first ack for `room` after `t` through a node other than `not_via` (whose acks may
/// still have been on their way when it died or froze).
fn first_ack_after<'a>(acks: &'a [Ack], room: &str, t: Instant, not_via: usize) -> Option<&'a Ack> {
    acks.iter()
        .find(|a| a.room == room && a.at > t && a.node != not_via)
}

/// Why a player left a connection.
#[derive(Debug, Clone, PartialEq)]
enum Cause {
    /// The connection ended, with the server's close code (`None`: no close frame).
    Closed(Option<u16>),
    /// The server refused the request with a retryable code.
    Refused(ErrorCode),
    /// Connecting failed.
    Unreachable(String),
}

#[derive(Debug, Clone)]
struct Interruption {
    node: usize,
    cause: Cause,
}

/// How a player enters its room.
enum Entrance {
    Create,
    /// By room id or code.
    Join(String),
}

/// One seated player of one counter room, on one node at a time.
struct Player {
    /// Its number in the load.
    no: usize,
    /// The room's id.
    room: String,
    client: Client,
    /// The node the client is connected to.
    node: usize,
    directory: Arc<Directory>,
    /// Every connection's frames, in connection order: one recorder per connection.
    recordings: Vec<JoinHandle<Vec<ServerMsg>>>,
    interruptions: Vec<Interruption>,
}

impl Player {
    /// Connect to `node` and create or join a room, retrying on a moving room.
    async fn enter(
        directory: &Arc<Directory>,
        no: usize,
        node: usize,
        name: String,
        entrance: Entrance,
    ) -> (Self, RoomInfo) {
        let (node, addr) = directory.pick(node);
        let (client, events) = Client::connect(&ws_url(addr), Hello::named(name))
            .await
            .unwrap();
        let mut player = Self {
            no,
            room: String::new(),
            client,
            node,
            directory: directory.clone(),
            recordings: vec![record(events)],
            interruptions: Vec::new(),
        };
        let mut attempt = 0;
        loop {
            let entered = match &entrance {
                Entrance::Create => player.client.create(CreateRoom::new("counter")).await,
                Entrance::Join(room) => player.client.join(room, JoinRole::Player).await,
            };
            match entered {
                Ok(joined) => {
                    player.room = joined.room.id.clone();
                    return (player, joined.room);
                }
                Err(e) => player.recover(e, &mut attempt).await,
            }
        }
    }

    /// Add 1 to the counter with the next seq, resending that seq (on a new connection if
    /// need be) until it is acked.
    async fn act_once(&mut self, book: &AckBook) {
        let seq = self.client.last_seq(&self.room) + 1;
        let mut attempt = 0;
        loop {
            let opts = ActOptions {
                seq: Some(seq),
                base: None,
            };
            let answer = tokio::time::timeout(
                PATIENCE,
                self.client
                    .act_with(&self.room, opts, json!({"type": "add", "n": 1})),
            )
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no answer to seq {seq} in {} within {PATIENCE:?}",
                    self.room
                )
            });
            match answer {
                Ok(_) => {
                    book.record(Ack {
                        player: self.no,
                        room: self.room.clone(),
                        node: self.node,
                        at: Instant::now(),
                    });
                    return;
                }
                Err(e) => self.recover(e, &mut attempt).await,
            }
        }
    }

    /// After a refusal or a lost connection: leave the connection (so its recording and views
    /// are final) and resume on a node that takes clients, this one if it still does.
    async fn recover(&mut self, error: ClientError, attempt: &mut u32) {
        let mut error = error;
        loop {
            let cause = match &error {
                ClientError::Closed { code, .. } => Cause::Closed(*code),
                ClientError::Server { code, .. } | ClientError::Rejected { code, .. }
                    if matches!(code, ErrorCode::Unavailable | ErrorCode::RoomClosed) =>
                {
                    Cause::Refused(*code)
                }
                ClientError::WebSocket(e) => Cause::Unreachable(e.to_string()),
                other => panic!(
                    "player {} in {}: not retryable: {other}",
                    self.no, self.room
                ),
            };
            self.interruptions.push(Interruption {
                node: self.node,
                cause,
            });
            *attempt += 1;
            assert!(
                *attempt <= ATTEMPTS,
                "player {} in {} still failing after {ATTEMPTS} attempts: {error}",
                self.no,
                self.room
            );
            // No pause: a node asked for a room that is moving waits (up to two leases) for
            // it to land before answering, so each retry waits on the server's event.
            if self.client.close_info().is_none() {
                self.client.close();
            }
            tokio::time::timeout(PATIENCE, self.client.closed())
                .await
                .expect("the connection closes");
            let (node, addr) = self.directory.pick(self.node);
            self.node = node;
            let resumed = tokio::time::timeout(
                PATIENCE,
                Client::resume(&ws_url(addr), &self.client, Encoding::Json),
            )
            .await
            .unwrap_or_else(|_| panic!("resuming on node {node} hung"));
            match resumed {
                Ok((client, events)) => {
                    self.client = client;
                    self.recordings.push(record(events));
                    return;
                }
                Err(e) => error = e,
            }
        }
    }

    /// Wait until the client holds version `v` of its room, close, and hand over everything
    /// it saw. A connection the server ends meanwhile (the room moved after the player's last
    /// action: 1012) is resumed, as any client would, and the wait goes on on the new one.
    async fn finish(mut self, v: u64) -> Seen {
        let mut attempt = 0;
        loop {
            let mut view = self.client.watch(&self.room);
            // Only whether it did: a borrowed view would block the connection's updates.
            let caught_up = tokio::time::timeout(PATIENCE, async {
                tokio::select! {
                    r = view.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= v)) => r.is_ok(),
                    _ = self.client.closed() => false,
                }
            })
            .await;
            match (caught_up, self.client.close_info()) {
                (Ok(true), _) => break,
                (Ok(false), Some(info)) => self.recover(info.into(), &mut attempt).await,
                (_, closed) => panic!(
                    "player {} never reached version {v} of {} (holds {:?}, connection {})",
                    self.no,
                    self.room,
                    self.client.view(&self.room).map(|rv| rv.v),
                    closed.map_or("open".to_owned(), |c| format!("closed: {c:?}")),
                ),
            }
        }
        self.client.close();
        tokio::time::timeout(PATIENCE, self.client.closed())
            .await
            .expect("the connection closes");
        let mut frames = Vec::new();
        for recording in self.recordings {
            let recorded = tokio::time::timeout(PATIENCE, recording)
                .await
                .expect("the recording ends with its connection");
            frames.extend(recorded.unwrap());
        }
        Seen {
            player: self.client.player().id.to_string(),
            room: self.room,
            frames,
        }
    }
}

/// Keep every frame of a connection, in order, until it ends.
fn record(mut events: Events) -> JoinHandle<Vec<ServerMsg>> {
    tokio::spawn(async move {
        let mut frames = Vec::new();
        while let Some(frame) = events.next().await {
            frames.push(frame);
        }
        frames
    })
}

/// `ROOMS` counter rooms, each with a player on every node: the creator on node `r % NODES`,
/// then the others join from the next nodes, alternately by id and by code.
async fn seat_players(cluster: &Cluster) -> Vec<Player> {
    let nodes: Vec<usize> = cluster.live().collect();
    let mut players = Vec::new();
    for r in 0..ROOMS {
        let mut room: Option<RoomInfo> = None;
        for k in 0..nodes.len() {
            let node = nodes[(r + k) % nodes.len()];
            let entrance = match &room {
                None => Entrance::Create,
                Some(info) if k % 2 == 0 => Entrance::Join(info.code.clone()),
                Some(info) => Entrance::Join(info.id.clone()),
            };
            let name = format!("R{r}P{k}");
            let (player, info) =
                Player::enter(&cluster.directory, players.len(), node, name, entrance).await;
            room.get_or_insert(info);
            players.push(player);
        }
    }
    players
}

fn room_ids(players: &[Player]) -> Vec<String> {
    let rooms: BTreeSet<&String> = players.iter().map(|p| &p.room).collect();
    rooms.into_iter().cloned().collect()
}

/// Every player acting in a loop until stopped.
struct Load {
    book: Arc<AckBook>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Player>>,
}

impl Load {
    fn start(players: Vec<Player>) -> Self {
        let book = Arc::new(AckBook::default());
        let (stop, _) = watch::channel(false);
        let tasks = players
            .into_iter()
            .map(|mut player| {
                let (book, stop) = (book.clone(), stop.subscribe());
                tokio::spawn(async move {
                    while !*stop.borrow() {
                        player.act_once(&book).await;
                    }
                    player
                })
            })
            .collect();
        Self { book, stop, tasks }
    }

    /// Stop after each player's current action is acked, and hand the players back.
    async fn stop(self) -> Vec<Player> {
        self.stop.send_replace(true);
        let mut players = Vec::new();
        for task in self.tasks {
            let player = tokio::time::timeout(PATIENCE, task)
                .await
                .expect("a player stops after its current action");
            players.push(player.unwrap());
        }
        players
    }
}

/// A connection a live node ended must carry a close code (1001 or 1012), not just drop;
/// `dead` nodes are exempt.
fn assert_server_closes_carry_a_code(players: &[Player], dead: &[usize]) {
    for p in players {
        for i in &p.interruptions {
            if let Cause::Closed(code) = i.cause {
                assert!(
                    dead.contains(&i.node) || matches!(code, Some(1001 | 1012)),
                    "player {} on node {}: connection ended with {code:?}",
                    p.no,
                    i.node
                );
            }
        }
    }
}

/// Read every room's log from a live node, let every player catch up with it, and run the
/// history checker over what they saw; print what it checked and how the players were
/// interrupted.
async fn settle_and_check(cluster: &Cluster, players: Vec<Player>, gaps: Gaps) {
    let via = cluster.live().next().unwrap();
    let mut logs = BTreeMap::new();
    for room in room_ids(&players) {
        let log = cluster.log(via, &room).await;
        logs.insert(room, log);
    }
    let mut interruptions: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = Vec::new();
    for p in players {
        for i in &p.interruptions {
            *interruptions.entry(format!("{:?}", i.cause)).or_default() += 1;
        }
        let last = logs[&p.room].last().map_or(0, |e| e.v);
        seen.push(p.finish(last).await);
    }
    println!("interruptions: {interruptions:?}");
    match history::check(&logs, &seen, gaps) {
        Ok(summary) => println!("history checked: {summary:?}"),
        Err(found) => panic!(
            "the history checker found {} problems; the first ones: {:#?}",
            found.len(),
            &found[..found.len().min(30)]
        ),
    }
}

mod history {
    //! The history checker: everything the clients of counter rooms saw, against the rooms'
    //! logs. Pure: no IO, so it is tested on its own.
    //!
    //! It proves: each log runs 1, 2, 3…; no (player, seq) is applied twice; every ack is at
    //! the version its ack reported, in the log, for that player and seq; every action in the
    //! log was acked (the load resends each action until it is); each client's versions never
    //! go backwards and move by a patch to v+1 or by a snapshot; all clients saw the same view
    //! at the same version, and its count is the number of actions applied up to it; every
    //! client ended at the log's last version.

    use arbiter_client::{LocalView, Outcome, ServerMsg};
    use serde_json::Value;
    use std::collections::btree_map::Entry;
    use std::collections::{BTreeMap, BTreeSet};

    /// Every frame one player's connections received, in order, for its one room.
    pub(super) struct Seen {
        /// The player's id.
        pub(super) player: String,
        pub(super) room: String,
        pub(super) frames: Vec<ServerMsg>,
    }

    /// One log entry, as much as the checker needs.
    #[derive(Debug, Clone)]
    pub(super) struct LogEntry {
        pub(super) v: u64,
        /// For an action: who and with which seq.
        pub(super) act: Option<(String, u64)>,
    }

    impl LogEntry {
        /// From `GET /api/v1/rooms/{id}/log`'s `entries`.
        pub(super) fn parse(entry: &Value) -> Self {
            let v = entry["v"].as_u64().expect("an entry has a version");
            let act = (entry["kind"] == "act").then(|| {
                let player = entry["player"].as_str().expect("an act has a player");
                let seq = entry["seq"].as_u64().expect("an act has a seq");
                (player.to_owned(), seq)
            });
            Self { v, act }
        }
    }

    /// What a patch that does not fit the client's view means.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Gaps {
        /// A violation: the server lost or reordered a frame.
        Forbidden,
        /// Allowed if the client's next view comes from a snapshot (the SDK asks for one).
        HealedBySnapshot,
    }

    #[derive(Debug, Default)]
    pub(super) struct Summary {
        pub(super) rooms: usize,
        pub(super) versions: u64,
        pub(super) actions: u64,
        pub(super) frames: usize,
        pub(super) acks: usize,
        /// Patches that did not fit and were healed by a snapshot.
        pub(super) resyncs: usize,
    }

    /// Check `seen` against `logs` (by room id); every problem found, or what was checked.
    pub(super) fn check(
        logs: &BTreeMap<String, Vec<LogEntry>>,
        seen: &[Seen],
        gaps: Gaps,
    ) -> Result<Summary, Vec<String>> {
        let mut bad = Vec::new();
        let mut summary = Summary {
            rooms: logs.len(),
            ..Summary::default()
        };
        // By room: the action at each version, and the actions applied up to each version.
        let mut acts_at: BTreeMap<&str, BTreeMap<u64, (&str, u64)>> = BTreeMap::new();
        let mut applied: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        let mut in_log: BTreeMap<(&str, &str), BTreeSet<u64>> = BTreeMap::new();
        for (room, entries) in logs {
            let counts = applied.entry(room).or_insert_with(|| vec![0]);
            for (i, e) in entries.iter().enumerate() {
                if e.v != i as u64 + 1 {
                    bad.push(format!("{room}: log entry #{i} is at version {}", e.v));
                }
                let before = counts.last().copied().unwrap_or(0);
                counts.push(before + u64::from(e.act.is_some()));
                if let Some((player, seq)) = &e.act {
                    summary.actions += 1;
                    if !in_log.entry((room, player)).or_default().insert(*seq) {
                        bad.push(format!(
                            "{room}: ({player}, {seq}) applied twice (again at v{})",
                            e.v
                        ));
                    }
                    acts_at.entry(room).or_default().insert(e.v, (player, *seq));
                }
            }
            summary.versions += entries.len() as u64;
        }

        let mut views: BTreeMap<(&str, u64), (Value, &str)> = BTreeMap::new();
        let mut acked: BTreeMap<(&str, &str), BTreeMap<u64, u64>> = BTreeMap::new();
        for s in seen {
            let (room, player) = (s.room.as_str(), s.player.as_str());
            let who = format!("{room}: {player}");
            let last = logs.get(room).and_then(|l| l.last()).map_or(0, |e| e.v);
            let mut local = LocalView::default();
            let mut views_of_client: Vec<(u64, Value)> = Vec::new();
            summary.frames += s.frames.len();
            for msg in &s.frames {
                match msg {
                    ServerMsg::Ack { room: r, seq, v } if r == room => {
                        summary.acks += 1;
                        let earlier = *acked
                            .entry((room, player))
                            .or_default()
                            .entry(*seq)
                            .or_insert(*v);
                        if earlier != *v {
                            bad.push(format!("{who}: seq {seq} acked at v{earlier} and at v{v}"));
                        }
                        match acts_at.get(room).and_then(|a| a.get(v)) {
                            Some(&(p, q)) if p == player && q == *seq => {}
                            other => bad.push(format!(
                                "{who}: seq {seq} acked at v{v} but the log has {other:?} there"
                            )),
                        }
                    }
                    ServerMsg::Snapshot { room: r, v, .. } if r == room => {
                        if let Some(cur) = local.current().filter(|c| *v < c.v) {
                            bad.push(format!(
                                "{who}: went back from v{} to a snapshot at v{v}",
                                cur.v
                            ));
                        }
                        if local.apply(msg) == Outcome::Updated {
                            views_of_client.push((*v, local.current().unwrap().view.clone()));
                        }
                    }
                    ServerMsg::Patch {
                        room: r, from, v, ..
                    } if r == room => {
                        if local.is_resyncing() {
                            // The client drops patches until the snapshot it asked for.
                            local.apply(msg);
                            continue;
                        }
                        let cur = local.current().map(|c| c.v);
                        let fits = cur == Some(*from) && *v == from + 1;
                        if !fits && gaps == Gaps::Forbidden {
                            bad.push(format!(
                                "{who}: patch {from}->{v} does not follow the view at {cur:?}"
                            ));
                        }
                        match local.apply(msg) {
                            Outcome::Updated => {
                                views_of_client.push((*v, local.current().unwrap().view.clone()));
                            }
                            // An old patch, which the client ignores (flagged above if forbidden).
                            Outcome::Unchanged => {}
                            Outcome::Resync(why) => {
                                summary.resyncs += 1;
                                if fits {
                                    bad.push(format!("{who}: patch {from}->{v}: {why}"));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (v, view) in views_of_client {
                match applied.get(room).and_then(|a| a.get(v as usize)) {
                    Some(&n) if view["count"] == n => {}
                    Some(&n) => bad.push(format!(
                        "{who}: the view at v{v} has count {}, the log {n} actions",
                        view["count"]
                    )),
                    None => bad.push(format!("{who}: saw v{v}, beyond the log (v{last})")),
                }
                match views.entry((room, v)) {
                    Entry::Vacant(first) => {
                        first.insert((view, player));
                    }
                    Entry::Occupied(first) if first.get().0 != view => {
                        let (other, by) = first.get();
                        bad.push(format!(
                            "{who}: the view at v{v} differs from {by}'s: {view} vs {other}"
                        ));
                    }
                    Entry::Occupied(_) => {}
                }
            }
            match local.current() {
                Some(c) if c.v == last => {}
                other => bad.push(format!(
                    "{who}: ended at {}, the log at v{last}",
                    other.map_or("no view".to_owned(), |c| format!("v{}", c.v))
                )),
            }
        }
        for ((room, player), seqs) in &in_log {
            let acked_seqs: BTreeSet<u64> = acked
                .get(&(*room, *player))
                .map(|a| a.keys().copied().collect())
                .unwrap_or_default();
            for seq in seqs.difference(&acked_seqs) {
                bad.push(format!(
                    "{room}: ({player}, {seq}) in the log but never acked"
                ));
            }
        }
        for ((room, player), seqs) in &acked {
            let logged = in_log.get(&(*room, *player));
            for seq in seqs.keys() {
                if !logged.is_some_and(|l| l.contains(seq)) {
                    bad.push(format!(
                        "{room}: ({player}, {seq}) acked but not in the log"
                    ));
                }
            }
        }
        if bad.is_empty() {
            Ok(summary)
        } else {
            Err(bad)
        }
    }
}
