//! The bare reference server (`arbiter-bare`), started as its own process on port 0 and driven
//! over real sockets: the messages `arbiter bench` sends get the answers it checks.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server process, killed when the test ends.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arbiter-bare"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start arbiter-bare");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Server {
        child,
        url: format!("ws://{addr}/ws"),
    }
}

async fn connect(server: &Server) -> Ws {
    tokio_tungstenite::connect_async(server.url.as_str())
        .await
        .expect("connect")
        .0
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next message (a failure after 10 s: a bound, not a wait).
async fn recv(ws: &mut Ws) -> Value {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s");
        match next {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("JSON"),
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

/// `hello` answered by `welcome`.
async fn greet(server: &Server, name: &str) -> Ws {
    let mut ws = connect(server).await;
    send(&mut ws, json!({"t": "hello", "v": 1, "name": name})).await;
    let welcome = recv(&mut ws).await;
    assert_eq!(
        (welcome["t"].as_str(), welcome["player"]["name"].as_str()),
        (Some("welcome"), Some(name)),
        "{welcome}"
    );
    ws
}

#[tokio::test]
async fn every_member_sees_each_action_once_with_exact_versions() {
    let server = start();
    let mut ada = greet(&server, "ada").await;
    send(
        &mut ada,
        json!({"t": "create", "rid": 1, "game": "counter", "public": false,
            "max_players": 4, "max_spectators": 1, "as": "player"}),
    )
    .await;
    let joined = recv(&mut ada).await;
    assert_eq!(
        (joined["t"].as_str(), joined["rid"].as_u64()),
        (Some("joined"), Some(1))
    );
    let room = joined["room"]["id"].as_str().expect("room id").to_string();
    let snapshot = recv(&mut ada).await;
    assert_eq!(
        snapshot,
        json!({"t": "snapshot", "room": room, "v": 0, "view": {"count": 0}})
    );

    let mut bob = greet(&server, "bob").await;
    send(
        &mut bob,
        json!({"t": "join", "rid": 2, "room": room, "as": "spectator"}),
    )
    .await;
    let joined = recv(&mut bob).await;
    assert_eq!(
        joined["room"]["id"].as_str(),
        Some(room.as_str()),
        "{joined}"
    );
    assert_eq!(recv(&mut bob).await["v"], 0);

    let patch = |from: u64, count: i64| {
        json!({"t": "patch", "room": room, "from": from, "v": from + 1,
            "ops": [{"op": "replace", "path": "/count", "value": count}]})
    };
    let act =
        |seq: u64| json!({"t": "act", "room": room, "seq": seq, "action": {"type": "add", "n": 1}});
    send(&mut ada, act(7)).await;
    assert_eq!(
        recv(&mut ada).await,
        patch(0, 1),
        "the patch comes before the ack"
    );
    assert_eq!(
        recv(&mut ada).await,
        json!({"t": "ack", "room": room, "seq": 7, "v": 1})
    );
    assert_eq!(recv(&mut bob).await, patch(0, 1));

    send(&mut bob, act(1)).await;
    send(&mut bob, act(2)).await;
    for from in [1, 2] {
        assert_eq!(recv(&mut ada).await, patch(from, from as i64 + 1));
        assert_eq!(recv(&mut bob).await, patch(from, from as i64 + 1));
        assert_eq!(
            recv(&mut bob).await,
            json!({"t": "ack", "room": room, "seq": from, "v": from + 1})
        );
    }

    send(&mut ada, json!({"t": "ping", "n": 12})).await;
    assert_eq!(recv(&mut ada).await, json!({"t": "pong", "n": 12}));

    // Bob leaves; the room goes on at the next version.
    bob.close(None).await.expect("close");
    send(&mut ada, act(8)).await;
    assert_eq!(recv(&mut ada).await, patch(3, 4));
    assert_eq!(recv(&mut ada).await["v"], 4);
}

#[tokio::test]
async fn bad_requests_get_structured_answers() {
    let server = start();
    let mut ws = connect(&server).await;
    send(&mut ws, json!({"t": "create", "rid": 1})).await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["code"].as_str(), e["rid"].as_u64()),
        (Some("NOT_AUTHENTICATED"), Some(1)),
        "{e}"
    );
    ws.send(Message::text("not json")).await.expect("send");
    assert_eq!(recv(&mut ws).await["code"], "BAD_MESSAGE");

    let mut ws = greet(&server, "cy").await;
    send(&mut ws, json!({"t": "join", "rid": 3, "room": "r_404"})).await;
    let e = recv(&mut ws).await;
    assert_eq!(
        (e["t"].as_str(), e["code"].as_str()),
        (Some("error"), Some("ROOM_NOT_FOUND")),
        "{e}"
    );
    send(
        &mut ws,
        json!({"t": "act", "room": "r_404", "seq": 1, "action": {}}),
    )
    .await;
    let r = recv(&mut ws).await;
    assert_eq!(
        (r["t"].as_str(), r["code"].as_str(), r["seq"].as_u64()),
        (Some("reject"), Some("NOT_IN_ROOM"), Some(1)),
        "{r}"
    );
    send(&mut ws, json!({"t": "dance"})).await;
    assert_eq!(recv(&mut ws).await["code"], "UNKNOWN_TYPE");
}
