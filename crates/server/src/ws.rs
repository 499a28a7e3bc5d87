//! The WebSocket transport: one task per connection reads frames, validates them, routes
//! them to room actors and writes the connection's outbound queue.

use crate::app::App;
use crate::auth::clean_name;
use arbiter_engine::{Caller, ConnId, CreateOptions, Outbox, RoomCmd, RoomHandle};
use arbiter_protocol::{ClientMsg, ErrorCode, PROTOCOL_VERSION, PlayerInfo, ServerMsg, close};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Notify, mpsc};

/// Read buffer per connection. tungstenite zero-fills the whole buffer before each read, so
/// its 128 KiB default costs ~138 KB of RSS per idle connection and much CPU per frame.
const READ_BUFFER: usize = 4 * 1024;

/// `GET /ws`.
pub(crate) async fn upgrade(ws: WebSocketUpgrade, State(app): State<App>) -> Response {
    let cap = app.settings().max_frame;
    ws.read_buffer_size(READ_BUFFER)
        .max_message_size(cap)
        .max_frame_size(cap)
        .on_upgrade(move |socket| Connection::new(app).run(socket))
}

/// The sending half of a connection's bounded outbound queue, as rooms see it.
struct ConnOutbox {
    tx: mpsc::Sender<Bytes>,
    /// Set when a push found the queue full; the connection then closes with `TOO_SLOW`.
    overflowed: AtomicBool,
    overflow: Notify,
}

impl Outbox for ConnOutbox {
    fn push(&self, frame: Bytes) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflowed.store(true, Ordering::Release);
                self.overflow.notify_one();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

impl ConnOutbox {
    fn send(&self, msg: &ServerMsg) -> bool {
        self.push(Bytes::from(msg.to_json()))
    }

    fn error(&self, rid: Option<u64>, code: ErrorCode, message: impl Into<String>) {
        self.send(&ServerMsg::Error {
            rid,
            code,
            message: message.into(),
            details: None,
        });
    }

    fn reject(&self, room: String, seq: u64, code: ErrorCode, message: impl Into<String>) {
        self.send(&ServerMsg::Reject {
            room,
            seq,
            code,
            message: message.into(),
            details: None,
        });
    }
}

/// What to do after handling a frame.
enum Flow {
    Continue,
    Close(u16, &'static str),
}

struct Connection {
    app: App,
    id: ConnId,
    /// Set by `hello`; everything else waits for it.
    player: Option<PlayerInfo>,
    outbox: Arc<ConnOutbox>,
    rx: mpsc::Receiver<Bytes>,
    /// Rooms this connection entered (by room id), so commands skip the directory and the
    /// rooms learn when the connection closes.
    rooms: HashMap<String, RoomHandle>,
}

impl Connection {
    fn new(app: App) -> Self {
        let (tx, rx) = mpsc::channel(app.settings().outbox_frames);
        Self {
            id: app.next_conn_id(),
            app,
            player: None,
            outbox: Arc::new(ConnOutbox {
                tx,
                overflowed: AtomicBool::new(false),
                overflow: Notify::new(),
            }),
            rx,
            rooms: HashMap::new(),
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let _alive = self.app.connection_opened();
        let (mut sink, mut stream) = socket.split();
        let mut shutdown = self.app.shutdown_signal();
        let stopping = async move {
            // The guard `wait_for` returns must not live across an await point.
            let stopped = shutdown.wait_for(|stop| *stop).await.is_ok();
            if !stopped {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(stopping);
        let hello_deadline = tokio::time::sleep(self.app.settings().hello_timeout);
        tokio::pin!(hello_deadline);
        let outbox = self.outbox.clone();
        let closing: Option<(u16, &'static str)> = loop {
            tokio::select! {
                biased;
                () = &mut stopping => break Some((close::GOING_AWAY, "server shutting down")),
                () = outbox.overflow.notified() => {
                    if outbox.overflowed.load(Ordering::Acquire) {
                        break Some((close::TOO_SLOW, "outbound queue overflowed; reconnect"));
                    }
                }
                frame = self.rx.recv() => {
                    let Some(frame) = frame else { break None };
                    if write(&mut sink, frame).await.is_err() {
                        break None;
                    }
                }
                incoming = stream.next() => match incoming {
                    None | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(text))) => {
                        if let Flow::Close(code, reason) = self.on_text(&text).await {
                            break Some((code, reason));
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        break Some((close::UNSUPPORTED_DATA, "binary frames are not accepted on a JSON connection"));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Err(e)) => break read_error_close(e),
                },
                () = &mut hello_deadline, if self.player.is_none() => {
                    break Some((close::HELLO_TIMEOUT, "no hello within the handshake deadline"));
                }
            }
        };
        if let Some((code, reason)) = closing {
            // Deliver what is already queued (answers, the last patches) before closing.
            while let Ok(frame) = self.rx.try_recv() {
                if write(&mut sink, frame).await.is_err() {
                    break;
                }
            }
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        for room in self.rooms.values() {
            let _ = room.send(RoomCmd::Disconnect { conn: self.id }).await;
        }
    }

    fn caller(&self, player: &PlayerInfo) -> Caller {
        Caller {
            conn: self.id,
            player: player.clone(),
            outbox: self.outbox.clone(),
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let msg = match serde_json::from_str::<ClientMsg>(text) {
            Ok(msg) => msg,
            Err(e) => {
                self.explain_bad_frame(text, &e);
                return Flow::Continue;
            }
        };
        let player = match (&msg, &self.player) {
            (ClientMsg::Hello { v, token, name }, _) => {
                return self.hello(*v, token.as_deref(), name.as_deref());
            }
            (_, Some(player)) => player.clone(),
            (msg, None) => {
                self.refuse(msg, ErrorCode::NotAuthenticated, "send hello first");
                return Flow::Continue;
            }
        };
        match msg {
            ClientMsg::Hello { .. } => {}
            ClientMsg::Create {
                rid,
                game,
                config,
                public,
                max_players,
                max_spectators,
                role,
                seed,
            } => {
                let options = CreateOptions {
                    public,
                    max_players,
                    max_spectators,
                    seed,
                };
                let config = config.unwrap_or(Value::Null);
                match self.app.rooms().create(&game, config, options) {
                    Ok(room) => {
                        let caller = self.caller(&player);
                        self.enter(room, RoomCmd::Join { caller, role, rid }, rid)
                            .await;
                    }
                    Err(e) => self.outbox.error(rid, e.code, e.message),
                }
            }
            ClientMsg::Join { rid, room, role } => match self.app.rooms().find(&room) {
                Some(room) => {
                    let caller = self.caller(&player);
                    self.enter(room, RoomCmd::Join { caller, role, rid }, rid)
                        .await;
                }
                None => {
                    self.outbox
                        .error(rid, ErrorCode::RoomNotFound, format!("no room {room:?}"))
                }
            },
            ClientMsg::Leave { rid, room } => {
                let handle = self
                    .rooms
                    .remove(&room)
                    .or_else(|| self.app.rooms().find(&room));
                match handle {
                    Some(h) => {
                        let caller = self.caller(&player);
                        self.rooms.remove(h.id());
                        if h.send(RoomCmd::Leave { caller, rid }).await.is_err() {
                            self.outbox
                                .error(rid, ErrorCode::RoomClosed, "the room has closed");
                        }
                    }
                    None => {
                        self.outbox
                            .error(rid, ErrorCode::RoomNotFound, format!("no room {room:?}"))
                    }
                }
            }
            ClientMsg::AddBot { rid, room } => match self.handle_for(&room) {
                Some(h) => {
                    let caller = self.caller(&player);
                    if h.send(RoomCmd::AddBot { caller, rid }).await.is_err() {
                        self.rooms.remove(h.id());
                        self.outbox
                            .error(rid, ErrorCode::RoomClosed, "the room has closed");
                    }
                }
                None => {
                    self.outbox
                        .error(rid, ErrorCode::RoomNotFound, format!("no room {room:?}"))
                }
            },
            ClientMsg::Act {
                room,
                seq,
                base,
                action,
            } => match self.handle_for(&room) {
                Some(h) => {
                    let caller = self.caller(&player);
                    let cmd = RoomCmd::Act {
                        caller,
                        seq,
                        base,
                        action,
                    };
                    if h.send(cmd).await.is_err() {
                        self.rooms.remove(h.id());
                        self.outbox
                            .reject(room, seq, ErrorCode::RoomClosed, "the room has closed");
                    }
                }
                None => {
                    let message = format!("no room {room:?}");
                    self.outbox
                        .reject(room, seq, ErrorCode::RoomNotFound, message);
                }
            },
            ClientMsg::Sync { room } => match self.handle_for(&room) {
                Some(h) => {
                    let caller = self.caller(&player);
                    if h.send(RoomCmd::Sync { caller }).await.is_err() {
                        self.rooms.remove(h.id());
                        self.outbox
                            .error(None, ErrorCode::RoomClosed, "the room has closed");
                    }
                }
                None => {
                    self.outbox
                        .error(None, ErrorCode::RoomNotFound, format!("no room {room:?}"))
                }
            },
            ClientMsg::Ping { n } => {
                self.outbox.send(&ServerMsg::Pong { n });
            }
        }
        Flow::Continue
    }

    fn handle_for(&self, room: &str) -> Option<RoomHandle> {
        self.rooms
            .get(room)
            .cloned()
            .or_else(|| self.app.rooms().find(room))
    }

    /// Send a join command and remember the room for routing and disconnect notices.
    async fn enter(&mut self, room: RoomHandle, cmd: RoomCmd, rid: Option<u64>) {
        if room.send(cmd).await.is_ok() {
            self.rooms.insert(room.id().to_owned(), room);
        } else {
            self.outbox
                .error(rid, ErrorCode::RoomClosed, "the room has closed");
        }
    }

    fn hello(&mut self, v: u32, token: Option<&str>, name: Option<&str>) -> Flow {
        if self.player.is_some() {
            self.outbox.error(
                None,
                ErrorCode::AlreadyAuthenticated,
                "hello was already sent on this connection",
            );
            return Flow::Continue;
        }
        if v != PROTOCOL_VERSION {
            self.outbox.error(
                None,
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {v}"),
            );
            return Flow::Close(close::UNSUPPORTED_VERSION, "unsupported protocol version");
        }
        let name = match name.map(clean_name).transpose() {
            Ok(name) => name,
            Err(why) => {
                self.outbox.error(None, ErrorCode::InvalidField, why);
                return Flow::Continue;
            }
        };
        let id = match token {
            Some(token) => match self.app.signer().verify(token) {
                Ok(id) => id,
                Err(e) => {
                    self.outbox.error(None, ErrorCode::BadToken, e.to_string());
                    return Flow::Continue;
                }
            },
            None => crate::auth::Signer::new_player_id(),
        };
        let name = name.unwrap_or_else(|| {
            let tail = &id.as_str()[id.as_str().len().saturating_sub(4)..];
            format!("Guest {tail}")
        });
        let token = self.app.signer().issue(&id);
        let player = PlayerInfo { id, name };
        self.outbox.send(&ServerMsg::Welcome {
            v: PROTOCOL_VERSION,
            player: player.clone(),
            token,
            max_frame: self.app.settings().max_frame,
        });
        self.player = Some(player);
        Flow::Continue
    }

    /// Answer a request with an error in the form its sender waits for: a `reject` for an
    /// action (so the client's pending seq settles), an `error` otherwise.
    fn refuse(&self, msg: &ClientMsg, code: ErrorCode, message: &str) {
        match msg {
            ClientMsg::Act { room, seq, .. } => {
                self.outbox.reject(room.clone(), *seq, code, message)
            }
            ClientMsg::Create { rid, .. }
            | ClientMsg::Join { rid, .. }
            | ClientMsg::Leave { rid, .. } => self.outbox.error(*rid, code, message),
            _ => self.outbox.error(None, code, message),
        }
    }

    /// Work out why a frame did not parse and say so precisely.
    fn explain_bad_frame(&self, text: &str, typed: &serde_json::Error) {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return self.outbox.error(
                    None,
                    ErrorCode::BadMessage,
                    format!("not valid JSON: {e}"),
                );
            }
        };
        let Some(t) = value.get("t").and_then(Value::as_str) else {
            return self.outbox.error(
                None,
                ErrorCode::BadMessage,
                "expected a JSON object with a string field \"t\"",
            );
        };
        const KNOWN: [&str; 8] = [
            "hello", "create", "join", "leave", "add_bot", "act", "sync", "ping",
        ];
        if !KNOWN.contains(&t) {
            return self.outbox.error(
                None,
                ErrorCode::UnknownType,
                format!("unknown message type {t:?}"),
            );
        }
        let message = format!("invalid {t}: {typed}");
        let room = value.get("room").and_then(Value::as_str);
        let seq = value.get("seq").and_then(Value::as_u64);
        match (t, room, seq) {
            ("act", Some(room), Some(seq)) => {
                self.outbox
                    .reject(room.to_owned(), seq, ErrorCode::InvalidField, message)
            }
            _ => {
                let rid = value.get("rid").and_then(Value::as_u64);
                self.outbox.error(rid, ErrorCode::InvalidField, message)
            }
        }
    }
}

async fn write<S>(sink: &mut S, frame: Bytes) -> Result<(), ()>
where
    S: SinkExt<Message> + Unpin,
{
    // Frames are produced from `String`s by the server itself, so they are valid UTF-8.
    let text = Utf8Bytes::try_from(frame).map_err(|_| ())?;
    sink.send(Message::Text(text)).await.map_err(|_| ())
}

/// Map a read error to the close code that explains it, when the socket can still say it.
fn read_error_close(e: axum::Error) -> Option<(u16, &'static str)> {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some((
            close::MESSAGE_TOO_BIG,
            "frame exceeds the server's size cap",
        )),
        Some(tungstenite::Error::Utf8(_)) => {
            Some((close::INVALID_PAYLOAD, "text frame is not valid UTF-8"))
        }
        Some(tungstenite::Error::Protocol(_)) => {
            Some((close::PROTOCOL_ERROR, "WebSocket protocol violation"))
        }
        _ => None,
    }
}
