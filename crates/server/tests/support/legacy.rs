//! A client of the Go game server's protocol (`/hub/ws`), for the hub's black-box tests:
//! it sends `{type, data}` envelopes and reads the JSON-array frames the old clients read.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Legacy {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages of a frame not handed out yet.
    pending: VecDeque<Value>,
}

impl Legacy {
    /// Connect to `/hub/ws?game=<game>` and read the `welcome`.
    pub async fn connect(addr: SocketAddr, game: &str) -> Self {
        let url = format!("ws://{addr}/hub/ws?game={game}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut client = Self {
            ws,
            pending: VecDeque::new(),
        };
        let welcome = client.next().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["success"], true);
        client
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Send `{type, data}` (no `data` when `Null`).
    pub async fn send(&mut self, ty: &str, data: Value) {
        let msg = if data.is_null() {
            json!({ "type": ty })
        } else {
            json!({ "type": ty, "data": data })
        };
        self.send_text(&msg.to_string()).await;
    }

    /// The next message; every frame must be a JSON array of messages.
    pub async fn next(&mut self) -> Value {
        if let Some(m) = self.pending.pop_front() {
            return m;
        }
        loop {
            let frame = super::within("a frame", self.ws.next()).await;
            match frame {
                Some(Ok(Message::Text(t))) => {
                    let frame: Value = serde_json::from_str(&t).unwrap();
                    let Value::Array(msgs) = frame else {
                        panic!("a frame that is no array: {frame}");
                    };
                    assert!(!msgs.is_empty(), "an empty frame");
                    self.pending.extend(msgs);
                    return self.pending.pop_front().unwrap();
                }
                Some(Ok(Message::Close(f))) => panic!("closed: {f:?}"),
                Some(Ok(_)) => continue,
                other => panic!("the connection ended: {other:?}"),
            }
        }
    }

    /// Messages up to and including the first of type `ty`.
    pub async fn through(&mut self, ty: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let m = self.next().await;
            let done = m["type"] == ty;
            seen.push(m);
            if done {
                return seen;
            }
        }
    }

    /// The first message of type `ty`, skipping others.
    pub async fn until(&mut self, ty: &str) -> Value {
        self.through(ty).await.pop().unwrap()
    }

    /// The data of the first message of type `ty` whose data satisfies `pred`.
    pub async fn until_data(&mut self, ty: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.until(ty).await;
            if pred(&m["data"]) {
                return m["data"].clone();
            }
        }
    }

    /// The first `game_state` whose data satisfies `pred`.
    pub async fn state_where(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.until_data("game_state", pred).await
    }

    /// Everything the server sends before it answers a frame sent now: the answer to a bad
    /// frame closes the list (the server answers in order).
    pub async fn all_sent(&mut self) -> Vec<Value> {
        self.send_text("not json").await;
        let mut seen = self.through("error").await;
        let last = seen.pop().unwrap();
        assert_eq!(last["error"], "invalid message format", "{last}");
        seen
    }

    /// `join_room`; returns the client id and room id of a successful answer.
    pub async fn join(&mut self, data: Value) -> (String, String) {
        self.send("join_room", data).await;
        let r = self.until("join_room_result").await;
        assert_eq!(r["success"], true, "{r}");
        let id = |k: &str| r["data"][k].as_str().unwrap().to_owned();
        (id("clientId"), id("roomId"))
    }

    /// The answer of type `ty`, which must be a failure; its error string.
    pub async fn failure(&mut self, ty: &str) -> String {
        let r = self.until(ty).await;
        assert_eq!(r["success"], false, "{r}");
        assert!(r.get("data").is_none(), "errors carry no data: {r}");
        r["error"].as_str().unwrap().to_owned()
    }

    /// Close the socket and wait for the server's close.
    pub async fn close(mut self) {
        self.ws.close(None).await.unwrap();
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

/// Only the messages of type `ty`.
pub fn of_type<'a>(msgs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["type"] == ty).collect()
}
