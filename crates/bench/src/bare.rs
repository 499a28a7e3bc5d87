//! A bare WebSocket broadcast server: the reference row of `bench/compare.sh`, what this
//! machine allows for the workload of `arbiter bench` with no game engine in the way.
//!
//! It speaks just enough of Arbiter's protocol (docs/protocol.md) for the load generator to
//! drive it unchanged: `hello` → `welcome`; `create` or `join` → `joined` and `snapshot`;
//! `act` → a `patch` to every member of the room, then the `ack` to the actor; `ping` →
//! `pong`. JSON in text frames. The game is a counter: each `act` adds one to the room's count
//! and makes its version `v + 1` (entering a room changes neither), so acks and patches carry
//! exact versions.
//!
//! The design is the cheapest one measured for this workload (docs kept beside the project:
//! `reference/transport.md`):
//! * an action's patch is encoded and framed once, and the same [`Bytes`] go to every member;
//! * the task that read the action writes to every member's socket itself (`try_write`), under
//!   the room's lock, so members see versions in order with no task hop and no wake-up per
//!   frame; only a socket that would block leaves frames in its outbox, for the connection's
//!   writer task to send when it can;
//! * tungstenite (the version the server uses) reads, with a 4 KiB read buffer; TCP_NODELAY is
//!   on.
//!
//! Deliberately left out, because each is cost the engine and server pay and this row must
//! not: no durability (rooms live in memory and vanish with their last member), no views
//! (every member gets the same bytes), no auth (`hello` is answered without checking anything),
//! no limits (no rate limits, frame caps, heartbeats or timeouts; a client that stops reading
//! keeps its frames in memory), no roles (spectators may act), no remembered seqs (a resent
//! action counts again), no presence, no resume, no MessagePack, one room per connection.

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};

/// The WebSocket read buffer: tungstenite zero-fills the whole buffer before each read, so the
/// 128 KiB default would cost much CPU and memory per connection (the server and the
/// generator use 4 KiB too).
const READ_BUFFER: usize = 4 * 1024;

/// Accept connections on `listener` and serve them until accepting fails.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    let rooms = Arc::new(Rooms::default());
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            // The client gave up before we took its connection: not the listener's failure.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted) => continue,
            Err(e) => return Err(e),
        };
        // Nagle's algorithm would hold small frames back until the client's delayed ACK. (A
        // socket that fails this is already gone.)
        if tcp.set_nodelay(true).is_err() {
            continue;
        }
        tokio::spawn(connection(tcp, rooms.clone()));
    }
}

/// Every live room, by id.
#[derive(Default)]
struct Rooms {
    /// Taken before a room's own lock (entering and leaving touch both), never after it.
    by_id: Mutex<HashMap<Arc<str>, Arc<Room>>>,
    next_room: AtomicU64,
    next_player: AtomicU64,
}

struct Room {
    id: Arc<str>,
    /// One lock for the version, the count and the writes of a patch: every member gets the
    /// room's patches in version order. Never held across an await.
    state: Mutex<RoomState>,
}

#[derive(Default)]
struct RoomState {
    v: u64,
    count: i64,
    members: Vec<Arc<Conn>>,
}

impl Rooms {
    /// A new room with `conn` in it; answers `joined` and `snapshot`.
    fn create(&self, conn: &Arc<Conn>, rid: Option<u64>) -> Arc<Room> {
        let n = self.next_room.fetch_add(1, Ordering::Relaxed) + 1;
        let room = Arc::new(Room {
            id: Arc::from(format!("r_{n}")),
            state: Mutex::default(),
        });
        let mut by_id = lock(&self.by_id);
        by_id.insert(room.id.clone(), room.clone());
        room.enter(conn, rid);
        room
    }

    /// `conn` enters room `id`, if it is live; answers `joined` and `snapshot`.
    fn join(&self, id: &str, conn: &Arc<Conn>, rid: Option<u64>) -> Option<Arc<Room>> {
        let by_id = lock(&self.by_id);
        let room = by_id.get(id)?.clone();
        room.enter(conn, rid);
        Some(room)
    }

    /// `conn` leaves `room`; the room goes when its last member does.
    fn leave(&self, room: &Room, conn: &Arc<Conn>) {
        let mut by_id = lock(&self.by_id);
        let mut state = lock(&room.state);
        state.members.retain(|m| !Arc::ptr_eq(m, conn));
        if state.members.is_empty() {
            by_id.remove(&room.id);
        }
    }
}

impl Room {
    fn enter(&self, conn: &Arc<Conn>, rid: Option<u64>) {
        let mut state = lock(&self.state);
        state.members.push(conn.clone());
        // Under the room's lock: no patch can pass the snapshot it follows.
        let joined = with_rid(
            json!({"t": "joined", "room": {"id": &*self.id, "v": state.v}}),
            rid,
        );
        let snapshot = json!({"t": "snapshot", "room": &*self.id, "v": state.v,
            "view": {"count": state.count}});
        conn.send(frames(&[&joined.to_string(), &snapshot.to_string()]));
    }

    /// Apply one action of `actor`: the patch to every member, then the ack to the actor.
    fn act(&self, actor: &Arc<Conn>, seq: u64) {
        let mut state = lock(&self.state);
        state.v += 1;
        state.count += 1;
        let (id, v) = (&self.id, state.v);
        let patch = format!(
            r#"{{"t":"patch","room":"{id}","from":{},"v":{v},"ops":[{{"op":"replace","path":"/count","value":{}}}]}}"#,
            v - 1,
            state.count
        );
        let ack = format!(r#"{{"t":"ack","room":"{id}","seq":{seq},"v":{v}}}"#);
        let shared = frames(&[&patch]);
        for member in state.members.iter().filter(|m| !Arc::ptr_eq(m, actor)) {
            member.send(shared.clone());
        }
        // The actor's patch and ack in one write.
        actor.send(frames(&[&patch, &ack]));
    }
}

/// One client's socket, shared by the task reading it, its writer task and its room.
struct Conn {
    tcp: TcpStream,
    out: Mutex<Outbox>,
    /// Wakes the writer task when frames wait in the outbox, or the connection closed.
    wake: Notify,
}

#[derive(Default)]
struct Outbox {
    /// What the socket did not take yet, oldest first (the first may be the rest of a frame).
    waiting: VecDeque<Bytes>,
    /// No more frames are taken (the client left or the socket failed).
    closed: bool,
}

impl Conn {
    /// Write `bytes` now if the socket takes them and nothing waits before them; else queue
    /// them for the writer task.
    fn send(&self, bytes: Bytes) {
        let mut out = lock(&self.out);
        if out.closed {
            return;
        }
        if out.waiting.is_empty() {
            match self.tcp.try_write(&bytes) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) if n > 0 => out.waiting.push_back(bytes.slice(n..)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => out.waiting.push_back(bytes),
                Ok(_) | Err(_) => out.closed = true,
            }
        } else {
            out.waiting.push_back(bytes);
            return;
        }
        drop(out);
        self.wake.notify_one();
    }

    /// Write what waits until the socket would block. Returns whether anything is left, and
    /// whether the connection is closed.
    fn write_waiting(&self) -> (bool, bool) {
        let mut out = lock(&self.out);
        while let Some(front) = out.waiting.front_mut() {
            match self.tcp.try_write(front) {
                Ok(n) if n == front.len() => {
                    out.waiting.pop_front();
                }
                Ok(n) if n > 0 => *front = front.slice(n..),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Ok(_) | Err(_) => {
                    out.waiting.clear();
                    out.closed = true;
                }
            }
        }
        (!out.waiting.is_empty(), out.closed)
    }

    /// Take no more frames; the writer task sends what waits, then ends.
    fn close(&self) {
        lock(&self.out).closed = true;
        self.wake.notify_one();
    }
}

/// The connection's writer task: idle unless a socket would block.
async fn writer(conn: Arc<Conn>) {
    loop {
        conn.wake.notified().await;
        loop {
            let (left, closed) = conn.write_waiting();
            if !left && closed {
                return;
            }
            if !left {
                break;
            }
            if conn.tcp.writable().await.is_err() {
                return;
            }
        }
    }
}

/// What tungstenite reads from and writes to: reads come straight from the socket; its own
/// writes (the handshake's answer, pongs to the client's pings, the reply to a close) go
/// through [`Conn::send`], keeping their place among the frames the rooms write.
struct Wire(Arc<Conn>);

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.tcp.poll_read_ready(cx))?;
            match self.0.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.send(Bytes::copy_from_slice(buf));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The fields of a client message this server reads; the rest (`action`, `as`, …) is skipped.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
    #[serde(default)]
    rid: Option<u64>,
    #[serde(default, borrow)]
    room: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    /// `ping`'s counter, echoed.
    #[serde(default)]
    n: Option<Value>,
}

/// One connection's place in the protocol.
struct Session<'a> {
    conn: &'a Arc<Conn>,
    rooms: &'a Rooms,
    /// `hello` came.
    greeted: bool,
    room: Option<Arc<Room>>,
}

async fn connection(tcp: TcpStream, rooms: Arc<Rooms>) {
    let conn = Arc::new(Conn {
        tcp,
        out: Mutex::default(),
        wake: Notify::new(),
    });
    tokio::spawn(writer(conn.clone()));
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    if let Ok(mut ws) =
        tokio_tungstenite::accept_async_with_config(Wire(conn.clone()), Some(config)).await
    {
        let mut session = Session {
            conn: &conn,
            rooms: &rooms,
            greeted: false,
            room: None,
        };
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text) => session.handle(&text),
                Message::Binary(_) => {
                    session.error(None, "BAD_MESSAGE", "JSON comes in text frames")
                }
                _ => {}
            }
        }
        if let Some(room) = session.room.take() {
            rooms.leave(&room, &conn);
        }
    }
    conn.close();
}

impl Session<'_> {
    fn handle(&mut self, text: &str) {
        let msg: Incoming<'_> = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(e) => return self.error(None, "BAD_MESSAGE", &e.to_string()),
        };
        let rid = msg.rid;
        match (msg.t.as_ref(), self.greeted) {
            ("hello", true) => self.error(rid, "ALREADY_AUTHENTICATED", "hello came twice"),
            ("hello", false) => {
                let n = self.rooms.next_player.fetch_add(1, Ordering::Relaxed) + 1;
                let id = format!("p_{n}");
                let name = msg.name.as_deref().unwrap_or("");
                let welcome = json!({"t": "welcome", "v": 1, "player": {"id": id, "name": name}});
                self.conn.send(frames(&[&welcome.to_string()]));
                self.greeted = true;
            }
            (_, false) => self.error(rid, "NOT_AUTHENTICATED", "hello comes first"),
            ("create" | "join", _) if self.room.is_some() => {
                self.error(rid, "ALREADY_IN_ROOM", "one room per connection");
            }
            ("create", _) => self.room = Some(self.rooms.create(self.conn, rid)),
            ("join", _) => {
                let Some(id) = msg.room else {
                    return self.error(rid, "INVALID_FIELD", "join needs `room`");
                };
                match self.rooms.join(&id, self.conn, rid) {
                    Some(room) => self.room = Some(room),
                    None => self.error(rid, "ROOM_NOT_FOUND", &format!("no room {id:?}")),
                }
            }
            ("act", _) => {
                let (Some(room), Some(seq)) = (&self.room, msg.seq) else {
                    return self.reject(msg.room.as_deref(), msg.seq, "NOT_IN_ROOM");
                };
                if msg.room.as_deref() != Some(&*room.id) {
                    return self.reject(msg.room.as_deref(), msg.seq, "NOT_IN_ROOM");
                }
                room.act(self.conn, seq);
            }
            ("ping", _) => {
                let pong = json!({"t": "pong", "n": msg.n});
                self.conn.send(frames(&[&pong.to_string()]));
            }
            (t, _) => self.error(rid, "UNKNOWN_TYPE", &format!("no message type {t:?} here")),
        }
    }

    fn error(&self, rid: Option<u64>, code: &str, message: &str) {
        let error = with_rid(json!({"t": "error", "code": code, "message": message}), rid);
        self.conn.send(frames(&[&error.to_string()]));
    }

    fn reject(&self, room: Option<&str>, seq: Option<u64>, code: &str) {
        let message = "act needs `seq` and the room this connection is in";
        let reject =
            json!({"t": "reject", "room": room, "seq": seq, "code": code, "message": message});
        self.conn.send(frames(&[&reject.to_string()]));
    }
}

/// `message` with the request id it answers, when the request had one.
fn with_rid(mut message: Value, rid: Option<u64>) -> Value {
    if let (Some(rid), Some(fields)) = (rid, message.as_object_mut()) {
        fields.insert("rid".into(), rid.into());
    }
    message
}

/// Unmasked, final text frames (RFC 6455 §5.2), one per message, back to back.
fn frames(messages: &[&str]) -> Bytes {
    let mut out = Vec::with_capacity(messages.iter().map(|m| m.len() + 10).sum());
    for m in messages {
        out.push(0x81);
        match m.len() {
            len @ 0..126 => out.push(len as u8),
            len @ 126..65_536 => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(m.as_bytes());
    }
    Bytes::from(out)
}

/// A poisoned lock is taken over: every critical section here leaves its data whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
