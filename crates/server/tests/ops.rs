//! The operator's side over real sockets: the admin API (token, inspect, kick, close,
//! drain) and `/readyz` following the store.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_engine::{Durability, Persistence};
use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, PlayerInfo, RoomInfo, ServerMsg};
use arbiter_server::{Settings, Signer, SqlStore};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use support::{PgDatabase, Raw, create_msg, get, request, server_with};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

const TOKEN: &str = "admin-token-for-tests-0123";

fn admin_settings() -> Settings {
    Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    }
}

async fn admin(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    request(addr, method, path, &[("Authorization", &auth)], body).await
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Two players in a fresh tic-tac-toe room, one move made.
async fn a_game(addr: SocketAddr) -> (Raw, PlayerInfo, Raw, PlayerInfo, RoomInfo) {
    let (mut a, mut b) = (Raw::connect(addr).await, Raw::connect(addr).await);
    let pa = a.hello("ann").await;
    let pb = b.hello("bob").await;
    let mut create = create_msg(1, "tictactoe");
    if let ClientMsg::Create { public, .. } = &mut create {
        *public = Some(false);
    }
    a.send(&create).await;
    let room = match a.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { room, .. } => room,
        _ => unreachable!(),
    };
    b.send(&ClientMsg::Join {
        rid: Some(1),
        room: room.code.clone(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    let ServerMsg::Snapshot { view, .. } =
        b.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await
    else {
        unreachable!()
    };
    let mover = if view["turn"] == json!(pa.id.as_str()) {
        &mut a
    } else {
        &mut b
    };
    mover
        .send(&ClientMsg::Act {
            room: room.id.clone(),
            seq: 1,
            base: None,
            action: json!({"type": "move", "row": 1, "col": 1}),
        })
        .await;
    mover
        .until(|m| matches!(m, ServerMsg::Ack { seq: 1, .. }))
        .await;
    (a, pa, b, pb, room)
}

#[tokio::test]
async fn the_admin_api_refuses_without_its_token() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let (_a, _pa, _b, pb, room) = a_game(srv.addr()).await;
    let kick = json!({ "player": pb.id });
    let routes = [
        ("GET", "/api/v1/admin/rooms".to_owned(), None),
        ("GET", format!("/api/v1/admin/rooms/{}", room.id), None),
        (
            "POST",
            format!("/api/v1/admin/rooms/{}/kick", room.id),
            Some(&kick),
        ),
        (
            "POST",
            format!("/api/v1/admin/rooms/{}/close", room.id),
            None,
        ),
        ("POST", "/api/v1/admin/drain".to_owned(), None),
    ];
    for (method, path, body) in &routes {
        let (status, answer) = request(srv.addr(), method, path, &[], *body).await;
        assert_eq!(
            (status, code_of(&answer)),
            (401, "NOT_AUTHENTICATED"),
            "{method} {path}"
        );
        let wrong = [("Authorization", "Bearer admin-token-for-tests-0124")];
        let (status, answer) = request(srv.addr(), method, path, &wrong, *body).await;
        assert_eq!(
            (status, code_of(&answer)),
            (401, "BAD_TOKEN"),
            "{method} {path}"
        );
    }
    // Nothing changed: both still seated, the room live, the node ready.
    let (status, inspected) = admin(
        srv.addr(),
        "GET",
        &format!("/api/v1/admin/rooms/{}", room.id),
        None,
    )
    .await;
    assert_eq!(status, 200, "{inspected}");
    assert_eq!(inspected["members"].as_array().unwrap().len(), 2);
    assert_eq!(get(srv.addr(), "/readyz").await.0, 200);

    // A server started without an admin token has no admin API at all.
    let closed = server_with(arbiter_games::registry(), Settings::default()).await;
    let auth = format!("Bearer {TOKEN}");
    let (status, answer) = request(
        closed.addr(),
        "GET",
        "/api/v1/admin/rooms",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!((status, code_of(&answer)), (403, "FORBIDDEN"));
}

#[tokio::test]
async fn an_operator_inspects_kicks_and_closes_a_room() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let (mut a, _pa, mut b, pb, room) = a_game(srv.addr()).await;

    // The list holds private rooms too, and filters.
    let (_, listed) = admin(
        srv.addr(),
        "GET",
        "/api/v1/admin/rooms?game=tictactoe",
        None,
    )
    .await;
    let ids: Vec<&str> = listed["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&room.id.as_str()), "{listed}");
    let (_, none) = admin(srv.addr(), "GET", "/api/v1/admin/rooms?game=poker", None).await;
    assert_eq!(none["rooms"], json!([]));
    assert_eq!(
        get(srv.addr(), "/api/v1/rooms").await.1,
        json!([]),
        "private stays unlisted"
    );

    // Inspect: the whole state, the members, the log with the move in it — by code too.
    let (status, inspected) = admin(
        srv.addr(),
        "GET",
        &format!("/api/v1/admin/rooms/{}?log=5", room.code),
        None,
    )
    .await;
    assert_eq!(status, 200, "{inspected}");
    assert_eq!(inspected["info"]["id"], json!(room.id));
    assert_eq!(inspected["members"].as_array().unwrap().len(), 2);
    assert!(
        !inspected["state"]["board"][4].is_null(),
        "the move at the centre: {inspected}"
    );
    let log = inspected["log"].as_array().unwrap();
    assert!(log.len() <= 5 && !log.is_empty());
    assert!(
        log.iter().any(|e| e["action"]["type"] == json!("move")),
        "{inspected}"
    );

    // Bad requests change nothing.
    let kick_path = format!("/api/v1/admin/rooms/{}/kick", room.id);
    let (status, answer) = admin(
        srv.addr(),
        "POST",
        &kick_path,
        Some(&json!({ "who": pb.id })),
    )
    .await;
    assert_eq!((status, code_of(&answer)), (400, "BAD_MESSAGE"), "{answer}");
    let (status, answer) = admin(
        srv.addr(),
        "POST",
        &kick_path,
        Some(&json!({ "player": "p_nobody" })),
    )
    .await;
    assert_eq!((status, code_of(&answer)), (400, "NOT_IN_ROOM"), "{answer}");
    let (status, answer) = admin(
        srv.addr(),
        "GET",
        "/api/v1/admin/rooms/r_nothing_here",
        None,
    )
    .await;
    assert_eq!(
        (status, code_of(&answer)),
        (404, "ROOM_NOT_FOUND"),
        "{answer}"
    );

    // Kick: bob is told he left; ann sees him go; one member remains.
    let (status, answer) = admin(
        srv.addr(),
        "POST",
        &kick_path,
        Some(&json!({ "player": pb.id })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    b.until(|m| matches!(m, ServerMsg::Left { room: r, .. } if *r == room.id))
        .await;
    a.until(|m| matches!(m, ServerMsg::Presence { .. })).await;
    let (_, inspected) = admin(
        srv.addr(),
        "GET",
        &format!("/api/v1/admin/rooms/{}", room.id),
        None,
    )
    .await;
    assert_eq!(
        inspected["members"].as_array().unwrap().len(),
        1,
        "{inspected}"
    );

    // Close: ann is told, the room is gone from the admin list and cannot be joined, its
    // history stays readable.
    let close_path = format!("/api/v1/admin/rooms/{}/close", room.id);
    let (status, answer) = admin(
        srv.addr(),
        "POST",
        &close_path,
        Some(&json!({ "reason": "maintenance" })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let closed = a
        .until(|m| {
            matches!(
                m,
                ServerMsg::Error {
                    code: ErrorCode::RoomClosed,
                    ..
                }
            )
        })
        .await;
    let ServerMsg::Error { message, .. } = closed else {
        unreachable!()
    };
    assert!(message.contains("maintenance"), "{message}");
    let (_, listed) = admin(srv.addr(), "GET", "/api/v1/admin/rooms", None).await;
    assert!(!listed.to_string().contains(&room.id), "{listed}");
    let (status, answer) = admin(srv.addr(), "POST", &close_path, None).await;
    assert_eq!(
        (status, code_of(&answer)),
        (404, "ROOM_NOT_FOUND"),
        "{answer}"
    );
    b.send(&ClientMsg::Join {
        rid: Some(9),
        room: room.id.clone(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    let refused = b
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(9), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::RoomNotFound,
                ..
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_drained_node_is_unready_and_creates_no_rooms() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let (status, ready) = get(srv.addr(), "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["checks"]["draining"], json!(false));
    let (status, answer) = admin(srv.addr(), "POST", "/api/v1/admin/drain", None).await;
    assert_eq!(
        (status, &answer["draining"]),
        (200, &json!(true)),
        "{answer}"
    );
    let (status, ready) = get(srv.addr(), "/readyz").await;
    assert_eq!((status, &ready["ready"]), (503, &json!(false)), "{ready}");
    assert_eq!(ready["checks"]["draining"], json!(true));
    // Alive all the same.
    assert_eq!(get(srv.addr(), "/healthz").await.0, 200);
    let mut a = Raw::connect(srv.addr()).await;
    a.hello("ann").await;
    a.send(&create_msg(3, "tictactoe")).await;
    let refused = a
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(3), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "{refused:?}"
    );
    assert_eq!(srv.rooms().len(), 0);
}

/// A TCP relay to the database that the test can take down (every connection cut, new ones
/// closed at once) and bring back.
struct Relay {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Relay {
    async fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (d, l) = (down.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                l.lock().await.push(link);
            }
        });
        Self {
            addr,
            down,
            links,
            accept,
        }
    }

    async fn take_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    fn bring_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Ask `/readyz` until it answers `want`, at most `tries` times (each answer is awaited; a
/// pool may need one failed query to notice its connections are gone).
async fn readyz_until(addr: SocketAddr, want: u16, tries: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..tries {
        let (status, body) = get(addr, "/readyz").await;
        if status == want {
            return body;
        }
        last = body;
        tokio::task::yield_now().await;
    }
    panic!("/readyz never answered {want}; last: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_store() {
    let db = PgDatabase::create("arbiter_readyz").await;
    let (base, name) = db.url.rsplit_once('/').unwrap();
    let host = base.rsplit_once('@').unwrap().1;
    let relay = Relay::to(host.parse().unwrap()).await;
    let url = format!("postgres://postgres@{}/{name}", relay.addr);
    let store = SqlStore::open(&url).await.unwrap();
    let srv = arbiter_server::start_with(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        Settings::default(),
        Signer::new("test-secret-test-secret-test-secret"),
        Some(Persistence {
            store: Arc::new(store),
            durability: Durability::Strict,
            snapshot_every: 100,
        }),
    )
    .await
    .unwrap();
    let ready = readyz_until(srv.addr(), 200, 1).await;
    assert_eq!(ready["checks"]["store"], json!("ok"));
    assert_eq!(ready["checks"]["redis"], json!("none"));

    relay.take_down().await;
    let unready = readyz_until(srv.addr(), 503, 3).await;
    assert_eq!(unready["ready"], json!(false));
    assert_ne!(unready["checks"]["store"], json!("ok"), "{unready}");
    // Alive while unready: a load balancer stops sending, nothing restarts it.
    assert_eq!(get(srv.addr(), "/healthz").await.0, 200);

    relay.bring_back();
    let ready = readyz_until(srv.addr(), 200, 5).await;
    assert_eq!(ready["checks"]["store"], json!("ok"));
    srv.stop().await.unwrap();
}

/// The head of a raw HTTP answer to `GET path` sent with `extra` header lines.
async fn head_of(addr: SocketAddr, path: &str, extra: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase()
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let srv = server_with(arbiter_games::registry(), Settings::default()).await;
    let given = head_of(srv.addr(), "/healthz", "X-Request-Id: lb-7f3a-0001\r\n").await;
    assert!(given.contains("\r\nx-request-id: lb-7f3a-0001"), "{given}");
    let made = head_of(srv.addr(), "/api/v1/games", "").await;
    let id = made
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .unwrap_or_else(|| panic!("no request id in {made}"));
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    // An id that is not a sane token is replaced, not echoed.
    let odd = head_of(
        srv.addr(),
        "/healthz",
        &format!("X-Request-Id: {}\r\n", "x".repeat(65)),
    )
    .await;
    assert!(!odd.contains(&"x".repeat(65)), "{odd}");
    // Errors too.
    let refused = head_of(srv.addr(), "/api/v1/rooms/r_nothing", "").await;
    assert!(
        refused.starts_with("http/1.1 404") && refused.contains("x-request-id: "),
        "{refused}"
    );
}

#[tokio::test]
async fn a_reload_puts_new_limits_in_force_or_changes_nothing() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let (status, answer) = admin(srv.addr(), "POST", "/api/v1/admin/reload", None).await;
    assert_eq!((status, code_of(&answer)), (501, "UNSUPPORTED"), "{answer}");

    // What the "configuration" says now; the test edits it as an operator edits a file.
    let next: Arc<std::sync::Mutex<Result<Settings, String>>> =
        Arc::new(std::sync::Mutex::new(Ok(admin_settings())));
    let source = next.clone();
    srv.set_reloader(Box::new(move || source.lock().unwrap().clone()));

    let mut a = Raw::connect(srv.addr()).await;
    a.hello("ann").await;
    a.send(&create_msg(1, "tictactoe")).await;
    a.until(|m| matches!(m, ServerMsg::Joined { .. })).await;

    let mut one_room = admin_settings();
    one_room.rooms.max_rooms = 1;
    *next.lock().unwrap() = Ok(one_room);
    let (status, answer) = admin(srv.addr(), "POST", "/api/v1/admin/reload", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["limits"]["max_rooms"], json!(1));
    a.send(&create_msg(2, "tictactoe")).await;
    let refused = a
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(2), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "{refused:?}"
    );

    // A configuration that does not validate changes nothing.
    *next.lock().unwrap() = Err("arbiter.toml:3:1: unknown field `max_romz`".into());
    let (status, answer) = admin(srv.addr(), "POST", "/api/v1/admin/reload", None).await;
    assert_eq!(
        (status, code_of(&answer)),
        (400, "INVALID_CONFIG"),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_romz")
    );
    a.send(&create_msg(3, "tictactoe")).await;
    let refused = a
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(3), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "still one room"
    );

    // Raised again: the next room is created.
    *next.lock().unwrap() = Ok(admin_settings());
    assert_eq!(
        admin(srv.addr(), "POST", "/api/v1/admin/reload", None)
            .await
            .0,
        200
    );
    a.send(&create_msg(4, "tictactoe")).await;
    a.until(|m| matches!(m, ServerMsg::Joined { rid: Some(4), .. }))
        .await;
    assert_eq!(srv.rooms().len(), 2);
}

/// The binary, configured by a file: the file's limit reloaded on SIGHUP and through the admin
/// API (a bad file refused with its line and key, changing nothing), and JSON log lines that
/// carry the connection's request id and player.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_its_file_and_logs_in_json() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("arbiter-ops-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("arbiter.toml");
    let write = |max_rooms: &str| {
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\ndatabase_url = \"memory\"\n\
             admin_token = \"{TOKEN}\"\nmax_rooms = {max_rooms}\n\
             log = \"info,arbiter_server=debug\"\nlog_format = \"json\"\n",
            dir.join("data").to_str().unwrap()
        );
        std::fs::write(&file, text).unwrap();
    };
    write("1");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logged: Vec<Value> = Vec::new();
    // The next line (as JSON when it is a log line), within PATIENCE.
    async fn next_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
        tokio::time::timeout(support::PATIENCE, lines.recv())
            .await
            .expect("the server logs on")
            .expect("the server is running")
    }
    let addr: SocketAddr = loop {
        let line = next_line(&mut lines).await;
        match line.strip_prefix("Arbiter is listening on http://") {
            Some(addr) => break addr.trim_end_matches('/').parse().unwrap(),
            None => logged.push(serde_json::from_str(&line).unwrap()),
        }
    };

    // A WebSocket opened with a request id of the caller's.
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        support::ws_url(addr),
    )
    .unwrap();
    req.headers_mut()
        .insert("x-request-id", "ws-trace-42".parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut a = Raw::from_stream(ws);
    let pa = a.hello("ann").await;
    a.send(&create_msg(1, "tictactoe")).await;
    a.until(|m| matches!(m, ServerMsg::Joined { .. })).await;
    a.send(&create_msg(2, "tictactoe")).await;
    let refused = a
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(2), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::Unavailable,
                ..
            }
        ),
        "{refused:?}"
    );

    // SIGHUP after raising the limit: the log says it was reloaded, the next room is made.
    write("2");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    loop {
        let event: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
        let reloaded = event["fields"]["message"] == json!("SIGHUP: configuration reloaded");
        logged.push(event);
        if reloaded {
            break;
        }
    }
    a.send(&create_msg(3, "tictactoe")).await;
    a.until(|m| matches!(m, ServerMsg::Joined { rid: Some(3), .. }))
        .await;

    // A broken file: refused with its line and key, nothing changes.
    std::fs::write(&file, "max_rooms = \"many\"\n").unwrap();
    let (status, answer) = admin(addr, "POST", "/api/v1/admin/reload", None).await;
    assert_eq!(
        (status, code_of(&answer)),
        (400, "INVALID_CONFIG"),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("arbiter.toml:1:") && message.contains("max_rooms"),
        "{message}"
    );
    assert_eq!(get(addr, "/healthz").await.0, 200, "still serving");

    // The connection's log lines carry its request id and, after hello, its player.
    let _ = child.kill();
    let _ = child.wait();
    while let Ok(line) = lines.try_recv() {
        if let Ok(event) = serde_json::from_str(&line) {
            logged.push(event);
        }
    }
    let tagged = logged.iter().find(|e| {
        e["span"]["request_id"] == json!("ws-trace-42")
            && e["span"]["player"] == json!(pa.id.as_str())
    });
    assert!(
        tagged.is_some(),
        "no log line with the request id and the player: {logged:#?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `arbiter admin` from a terminal: the answer printed as JSON; a refusal exits 1 with the
/// server's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_command_drives_the_api() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let (_a, _pa, _b, pb, room) = a_game(srv.addr()).await;
    let url = format!("http://{}", srv.addr());
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
                .arg("admin")
                .args(args)
                .env_remove("ARBITER_ADMIN_TOKEN")
                .output()
                .unwrap()
        })
    };
    let with = |token: &str, rest: &[&str]| -> Vec<String> {
        let mut args = vec![
            "--url".to_owned(),
            url.clone(),
            "--token".to_owned(),
            token.to_owned(),
        ];
        args.extend(rest.iter().map(|s| s.to_string()));
        args
    };
    let out = run(with(TOKEN, &["room", &room.code, "--log", "2"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["info"]["id"], json!(room.id));
    assert_eq!(shown["log"].as_array().unwrap().len(), 2);

    let out = run(with(TOKEN, &["kick", &room.id, pb.id.as_str()]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(with(TOKEN, &["rooms", "--game", "tictactoe"]))
        .await
        .unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["rooms"][0]["players"], json!(1), "{listed}");

    let out = run(with("not-the-admin-token", &["drain"])).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("401") && said.contains("BAD_TOKEN"), "{said}");
    assert_eq!(
        get(srv.addr(), "/readyz").await.0,
        200,
        "the refused drain changed nothing"
    );
}

/// The probes answer with exactly the fields docs/protocol.md's examples show, no more and no
/// fewer (an operator's checks read them).
#[tokio::test]
async fn the_probes_answer_the_documented_fields() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/protocol.md"
    ))
    .unwrap();
    // The first JSON block after the probe's heading line.
    let example = |route: &str| -> Value {
        let at = doc
            .find(&format!("`GET {route}`"))
            .unwrap_or_else(|| panic!("{route} is documented"));
        let block = &doc[at..];
        let start = block.find("```json\n").unwrap() + "```json\n".len();
        let end = start + block[start..].find("```").unwrap();
        serde_json::from_str(&block[start..end]).unwrap()
    };
    fn keys(v: &Value) -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }
    let srv = support::server().await;
    let (_, health) = get(srv.addr(), "/healthz").await;
    assert_eq!(keys(&health), keys(&example("/healthz")), "{health}");
    let (_, ready) = get(srv.addr(), "/readyz").await;
    let documented = example("/readyz");
    assert_eq!(keys(&ready), keys(&documented), "{ready}");
    assert_eq!(
        keys(&ready["checks"]),
        keys(&documented["checks"]),
        "{ready}"
    );
    srv.stop().await.unwrap();
}
