//! One client session, whatever carries it (WebSocket or long-poll): authenticate, validate
//! each message, route it to its room, and answer what the rooms cannot.

use crate::app::App;
use crate::auth::{Signer, clean_name};
use crate::queue::ConnQueue;
use arbiter_engine::{Caller, ConnId, CreateOptions, Outbox, RoomCmd, RoomHandle};
use arbiter_protocol::{
    ClientMsg, Encoding, ErrorCode, PROTOCOL_VERSION, PlayerInfo, ServerMsg, close,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What the transport should do after a message.
pub(crate) enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// Message types of protocol v1, to tell an unknown type from a malformed known one.
const KNOWN: [&str; 11] = [
    "hello", "create", "join", "leave", "add_bot", "act", "undo", "redo", "chat", "sync", "ping",
];

pub(crate) struct Session {
    app: App,
    id: ConnId,
    /// Set by `hello`; everything else waits for it.
    player: Option<PlayerInfo>,
    queue: Arc<ConnQueue>,
    /// Rooms this session entered (by room id), so commands skip the directory and the rooms
    /// learn when the session ends.
    rooms: HashMap<String, RoomHandle>,
}

impl Session {
    pub(crate) fn new(app: App, queue: Arc<ConnQueue>) -> Self {
        Self {
            id: app.next_conn_id(),
            app,
            player: None,
            queue,
            rooms: HashMap::new(),
        }
    }

    pub(crate) fn authenticated(&self) -> bool {
        self.player.is_some()
    }

    /// The session's transport is gone: the rooms mark the member disconnected (the seat is
    /// held for the grace period).
    pub(crate) async fn end(self) {
        self.queue.close();
        for room in self.rooms.values() {
            let _ = room.send(RoomCmd::Disconnect { conn: self.id }).await;
        }
    }

    /// Ask rooms whose patches were collapsed for a fresh snapshot.
    pub(crate) async fn resync(&mut self, rooms: Vec<Arc<str>>) {
        let Some(player) = self.player.clone() else {
            return;
        };
        for room in rooms {
            if let Some(h) = self.rooms.get(&*room) {
                let caller = self.caller(&player);
                let _ = h.send(RoomCmd::Sync { caller }).await;
            }
        }
    }

    fn caller(&self, player: &PlayerInfo) -> Caller {
        Caller {
            conn: self.id,
            player: player.clone(),
            outbox: self.queue.clone(),
        }
    }

    fn error(&self, rid: Option<u64>, code: ErrorCode, message: impl Into<String>) {
        self.queue.control(&ServerMsg::Error {
            rid,
            code,
            message: message.into(),
            details: None,
        });
    }

    /// An error about a room, named in `details.room` so the client can match it.
    fn room_error(
        &self,
        rid: Option<u64>,
        room: &str,
        code: ErrorCode,
        message: impl Into<String>,
    ) {
        self.queue.control(&ServerMsg::Error {
            rid,
            code,
            message: message.into(),
            details: Some(serde_json::json!({ "room": room })),
        });
    }

    fn reject(&self, room: String, seq: u64, code: ErrorCode, message: impl Into<String>) {
        self.queue.control(&ServerMsg::Reject {
            room,
            seq,
            code,
            message: message.into(),
            details: None,
        });
    }

    /// Handle one message as it came off the wire.
    pub(crate) async fn on_frame(&mut self, frame: &[u8]) -> Flow {
        let encoding = self.queue.encoding();
        match encoding.decode_client(frame) {
            Ok(msg) => self.on_message(msg).await,
            Err(e) => {
                self.explain_bad_frame(encoding, frame, &e.0);
                Flow::Continue
            }
        }
    }

    async fn on_message(&mut self, msg: ClientMsg) -> Flow {
        let caller = match (&msg, &self.player) {
            (ClientMsg::Hello { v, token, name }, _) => {
                return self.hello(*v, token.as_deref(), name.as_deref());
            }
            (_, Some(player)) => self.caller(player),
            (msg, None) => {
                self.refuse(msg, ErrorCode::NotAuthenticated, "send hello first");
                return Flow::Continue;
            }
        };
        let redo = matches!(msg, ClientMsg::Redo { .. });
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
                match self.app.rooms().create(&game, config, options).await {
                    Ok(room) => {
                        let cmd = RoomCmd::Join {
                            caller,
                            role,
                            rid,
                            since: None,
                        };
                        self.enter(room, cmd, rid).await;
                    }
                    Err(e) => self.error(rid, e.code, e.message),
                }
            }
            ClientMsg::Join {
                rid,
                room,
                role,
                since,
            } => match self.app.rooms().find(&room) {
                Some(h) => {
                    let cmd = RoomCmd::Join {
                        caller,
                        role,
                        rid,
                        since,
                    };
                    self.enter(h, cmd, rid).await;
                }
                None => self.room_error(
                    rid,
                    &room,
                    ErrorCode::RoomNotFound,
                    format!("no room {room:?}"),
                ),
            },
            ClientMsg::Leave { rid, room } => match self.handle_for(&room) {
                Some(h) => {
                    self.rooms.remove(h.id());
                    if h.send(RoomCmd::Leave { caller, rid }).await.is_err() {
                        self.room_error(rid, h.id(), ErrorCode::RoomClosed, "the room has closed");
                    }
                }
                None => self.room_error(
                    rid,
                    &room,
                    ErrorCode::RoomNotFound,
                    format!("no room {room:?}"),
                ),
            },
            ClientMsg::AddBot { rid, room } => {
                self.deliver(&room, RoomCmd::AddBot { caller, rid }, rid)
                    .await;
            }
            ClientMsg::Act {
                room,
                seq,
                base,
                action,
            } => match self.handle_for(&room) {
                Some(h) => {
                    let cmd = RoomCmd::Act {
                        caller,
                        seq,
                        base,
                        action,
                    };
                    if h.send(cmd).await.is_err() {
                        self.rooms.remove(h.id());
                        self.reject(room, seq, ErrorCode::RoomClosed, "the room has closed");
                    }
                }
                None => {
                    let message = format!("no room {room:?}");
                    self.reject(room, seq, ErrorCode::RoomNotFound, message);
                }
            },
            ClientMsg::Undo { room, seq } | ClientMsg::Redo { room, seq } => {
                match self.handle_for(&room) {
                    Some(h) => {
                        if h.send(RoomCmd::Undo { caller, seq, redo }).await.is_err() {
                            self.rooms.remove(h.id());
                            self.reject(room, seq, ErrorCode::RoomClosed, "the room has closed");
                        }
                    }
                    None => {
                        let message = format!("no room {room:?}");
                        self.reject(room, seq, ErrorCode::RoomNotFound, message);
                    }
                }
            }
            ClientMsg::Chat { room, text } => {
                self.deliver(&room, RoomCmd::Chat { caller, text }, None)
                    .await;
            }
            ClientMsg::Sync { room } => {
                self.deliver(&room, RoomCmd::Sync { caller }, None).await;
            }
            ClientMsg::Ping { n } => {
                self.queue.control(&ServerMsg::Pong { n });
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

    /// Deliver a command whose failures are answered with `error`.
    async fn deliver(&mut self, room: &str, cmd: RoomCmd, rid: Option<u64>) {
        match self.handle_for(room) {
            Some(h) => {
                if h.send(cmd).await.is_err() {
                    self.rooms.remove(h.id());
                    self.room_error(rid, h.id(), ErrorCode::RoomClosed, "the room has closed");
                }
            }
            None => self.room_error(
                rid,
                room,
                ErrorCode::RoomNotFound,
                format!("no room {room:?}"),
            ),
        }
    }

    /// Send a join command and remember the room for routing and disconnect notices.
    async fn enter(&mut self, room: RoomHandle, cmd: RoomCmd, rid: Option<u64>) {
        if room.send(cmd).await.is_ok() {
            self.rooms.insert(room.id().to_owned(), room);
        } else {
            self.room_error(rid, room.id(), ErrorCode::RoomClosed, "the room has closed");
        }
    }

    fn hello(&mut self, v: u32, token: Option<&str>, name: Option<&str>) -> Flow {
        if self.player.is_some() {
            self.error(
                None,
                ErrorCode::AlreadyAuthenticated,
                "hello was already sent on this connection",
            );
            return Flow::Continue;
        }
        if v != PROTOCOL_VERSION {
            self.error(
                None,
                ErrorCode::UnsupportedVersion,
                format!("this server speaks protocol version {PROTOCOL_VERSION}, not {v}"),
            );
            return Flow::Close(close::UNSUPPORTED_VERSION, "unsupported protocol version");
        }
        let name = match name.map(clean_name).transpose() {
            Ok(name) => name,
            Err(why) => {
                self.error(None, ErrorCode::InvalidField, why);
                return Flow::Continue;
            }
        };
        let id = match token {
            Some(token) => match self.app.signer().verify(token) {
                Ok(id) => id,
                Err(e) => {
                    self.error(None, ErrorCode::BadToken, e.to_string());
                    return Flow::Continue;
                }
            },
            None => Signer::new_player_id(),
        };
        let name = name.unwrap_or_else(|| {
            let tail = &id.as_str()[id.as_str().len().saturating_sub(4)..];
            format!("Guest {tail}")
        });
        let token = self.app.signer().issue(&id);
        let player = PlayerInfo { id, name };
        self.queue.control(&ServerMsg::Welcome {
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
            ClientMsg::Act { room, seq, .. }
            | ClientMsg::Undo { room, seq }
            | ClientMsg::Redo { room, seq } => self.reject(room.clone(), *seq, code, message),
            ClientMsg::Create { rid, .. }
            | ClientMsg::Join { rid, .. }
            | ClientMsg::Leave { rid, .. }
            | ClientMsg::AddBot { rid, .. } => self.error(*rid, code, message),
            _ => self.error(None, code, message),
        }
    }

    /// Work out why a frame did not decode and say so precisely.
    fn explain_bad_frame(&self, encoding: Encoding, frame: &[u8], typed: &str) {
        let value: Result<Value, String> = match encoding {
            Encoding::Json => serde_json::from_slice(frame).map_err(|e| e.to_string()),
            Encoding::MsgPack => rmp_serde::from_slice(frame).map_err(|e| e.to_string()),
        };
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                let what = match encoding {
                    Encoding::Json => "JSON",
                    Encoding::MsgPack => "MessagePack",
                };
                return self.error(
                    None,
                    ErrorCode::BadMessage,
                    format!("not valid {what}: {e}"),
                );
            }
        };
        let Some(t) = value.get("t").and_then(Value::as_str) else {
            return self.error(
                None,
                ErrorCode::BadMessage,
                "expected an object with a string field \"t\"",
            );
        };
        if !KNOWN.contains(&t) {
            return self.error(
                None,
                ErrorCode::UnknownType,
                format!("unknown message type {t:?}"),
            );
        }
        let message = format!("invalid {t}: {typed}");
        let room = value.get("room").and_then(Value::as_str);
        let seq = value.get("seq").and_then(Value::as_u64);
        match (t, room, seq) {
            ("act" | "undo" | "redo", Some(room), Some(seq)) => {
                self.reject(room.to_owned(), seq, ErrorCode::InvalidField, message)
            }
            _ => {
                let rid = value.get("rid").and_then(Value::as_u64);
                self.error(rid, ErrorCode::InvalidField, message)
            }
        }
    }
}
