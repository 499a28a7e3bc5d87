//! One client session, whatever carries it (WebSocket or long-poll): authenticate, validate
//! each message, route it to its room, and answer what the rooms cannot.

use crate::app::App;
use crate::auth::{Signer, clean_name, now_ms};
use crate::limits::{Class, ConnLimiter, Slot, Verdict};
use crate::queue::{ConnQueue, Item};
use arbiter_engine::{
    Caller, ConnId, CreateKey, CreateOptions, Outbox, RoomCmd, RoomGone, RoomHandle,
};
use arbiter_protocol::{
    ClientMsg, Encoding, ErrorCode, MAX_CLIENT_ID, PROTOCOL_VERSION, PlayerInfo, ReplyTo,
    ServerMsg, close, frame_details, is_client_id,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What the transport should do after a message.
pub(crate) enum Flow {
    Continue,
    Close(u16, &'static str),
}

/// What speaks on a WebSocket connection: the native [`Session`], or a translation of
/// another protocol wrapped around one (see [`crate::hub`]). The connection's run loop, its
/// limits and its queue are the same for both.
pub(crate) trait Peer: Send + 'static {
    /// Whether the connection has said who it is (the hello deadline stops then).
    fn authenticated(&self) -> bool;

    /// Handle one frame as it came off the wire.
    fn on_frame(&mut self, frame: &[u8]) -> impl Future<Output = Flow> + Send;

    /// Ask rooms whose patches were collapsed for a fresh snapshot.
    fn resync(&mut self, rooms: Vec<Arc<str>>) -> impl Future<Output = ()> + Send;

    /// What goes on the wire for the messages drained from the queue: as they are for the
    /// native protocol.
    fn outgoing(&mut self, items: Vec<Item>) -> impl Future<Output = Vec<Item>> + Send {
        std::future::ready(items)
    }

    /// The transport is gone.
    fn end(self) -> impl Future<Output = ()> + Send;
}

impl Peer for Session {
    fn authenticated(&self) -> bool {
        self.player.is_some()
    }

    fn on_frame(&mut self, frame: &[u8]) -> impl Future<Output = Flow> + Send {
        Session::on_frame(self, frame)
    }

    fn resync(&mut self, rooms: Vec<Arc<str>>) -> impl Future<Output = ()> + Send {
        Session::resync(self, rooms)
    }

    fn end(self) -> impl Future<Output = ()> + Send {
        Session::end(self)
    }
}

/// The span of one connection's task: every log line of the connection carries its id, its
/// transport, the player once `hello` named them, and the HTTP request that opened it.
pub(crate) fn connection_span(
    conn: ConnId,
    transport: &'static str,
    request_id: &str,
) -> tracing::Span {
    tracing::info_span!(
        "conn",
        conn,
        transport,
        request_id,
        player = tracing::field::Empty
    )
}

pub(crate) struct Session {
    app: App,
    id: ConnId,
    /// Set by `hello`; everything else waits for it.
    player: Option<PlayerInfo>,
    /// The client instance `hello` named, if any: the rooms count its seqs apart from the
    /// player's other instances.
    instance: Option<String>,
    queue: Arc<ConnQueue>,
    /// Rooms this session entered (by room id), so commands skip the directory and the rooms
    /// learn when the session ends.
    rooms: HashMap<String, RoomHandle>,
    /// The connection's token buckets, one per message class.
    limiter: ConnLimiter,
    /// Its place among the open connections (per address, and per player once `hello`
    /// named one), given back when the session ends.
    slot: Slot,
    /// The task sending the room list `watch_rooms` asked for.
    watching: Option<Watching>,
}

/// Stops its task when dropped: a session that ends stops sending its room list.
pub(crate) struct Watching(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Session {
    /// A session for connection `id` (from [`App::next_conn_id`]), whose log lines belong to
    /// the span [`connection_span`] made for it.
    pub(crate) fn new(app: App, queue: Arc<ConnQueue>, id: ConnId, slot: Slot) -> Self {
        Self {
            limiter: ConnLimiter::new(&app.settings().limits),
            slot,
            id,
            app,
            player: None,
            instance: None,
            queue,
            rooms: HashMap::new(),
            watching: None,
        }
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
                let msg = ClientMsg::Sync {
                    room: room.to_string(),
                };
                let _ = h.send(RoomCmd::Client { caller, msg }).await;
            }
        }
    }

    fn caller(&self, player: &PlayerInfo) -> Caller {
        Caller {
            conn: self.id,
            player: player.clone(),
            instance: self.instance.clone(),
            outbox: self.queue.clone(),
        }
    }

    fn error(&self, rid: Option<u64>, code: ErrorCode, message: impl Into<String>) {
        self.queue.control(&ServerMsg::Error {
            rid,
            code,
            message: clipped(message.into()),
            details: None,
        });
    }

    fn reject(
        &self,
        room: String,
        seq: u64,
        code: ErrorCode,
        message: impl Into<String>,
        details: Option<Value>,
    ) {
        metrics::counter!(arbiter_engine::metrics::REJECTS, "code" => code.as_str()).increment(1);
        self.queue.control(&ServerMsg::Reject {
            room,
            seq,
            code,
            message: clipped(message.into()),
            details,
        });
    }

    /// Handle one message as it came off the wire.
    pub(crate) async fn on_frame(&mut self, frame: &[u8]) -> Flow {
        let encoding = self.queue.encoding();
        let depth = self.app.settings().limits.max_json_depth;
        if encoding.too_deep(frame, depth) {
            return self.bad_frame(encoding, frame, Unread::TooDeep(depth));
        }
        match encoding.decode_client(frame) {
            Ok(msg) => self.on_message(msg).await,
            Err(e) => self.bad_frame(encoding, frame, Unread::Invalid(e.0)),
        }
    }

    /// Who the connection is, once `hello` said.
    pub(crate) fn player(&self) -> Option<&PlayerInfo> {
        self.player.as_ref()
    }

    /// Handle a message another protocol's translation made (see [`crate::hub`]), exactly as
    /// if it had come off the wire: the same buckets, checks and routing.
    pub(crate) async fn handle(&mut self, msg: ClientMsg) -> Flow {
        self.on_message(msg).await
    }

    /// Draw from `class`'s bucket for a frame a translation answers itself (one that names
    /// no native message); a refusal is an `error`, as for any other frame.
    pub(crate) fn admit(&self, class: Class) -> Result<(), Flow> {
        match self.limiter.check(class) {
            Verdict::Pass => Ok(()),
            verdict => {
                Err(self.rate_limited(verdict, ReplyTo::Error { rid: None }, None, Map::new()))
            }
        }
    }

    /// A frame that is no message draws from the `other` bucket and is answered where its
    /// sender waits (see [`explain_bad_frame`]).
    fn bad_frame(&self, encoding: Encoding, frame: &[u8], why: Unread) -> Flow {
        let answer = explain_bad_frame(encoding, frame, why);
        match self.limiter.check(Class::Other) {
            Verdict::Pass => {
                let (code, message) = answer.why;
                self.refuse_with(answer.to, None, code, message, answer.details);
                Flow::Continue
            }
            verdict => self.rate_limited(verdict, answer.to, None, answer.details),
        }
    }

    /// Refuse a message the connection's buckets did not let through, and close the
    /// connection if it keeps sending while limited.
    /// `details` are those the refusal carries besides the wait (what a bad frame named).
    fn rate_limited(
        &self,
        verdict: Verdict,
        to: ReplyTo,
        room: Option<&str>,
        mut details: Map<String, Value>,
    ) -> Flow {
        let wait = match verdict {
            Verdict::Pass => return Flow::Continue,
            Verdict::Limited(wait) => wait,
            Verdict::Close => {
                self.refuse_with(
                    to,
                    room,
                    ErrorCode::RateLimited,
                    "too many messages; closing",
                    details,
                );
                if let Some(period) = self.app.settings().limits.strikes.period() {
                    self.slot.penalize(period);
                }
                return Flow::Close(
                    close::RATE_LIMITED,
                    "kept sending while rate limited; slow down",
                );
            }
        };
        // Rounded up, so a client that waits exactly this long finds the token there.
        let ms = u64::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
        details.insert("retry_after_ms".to_owned(), json!(ms));
        self.refuse_with(
            to,
            room,
            ErrorCode::RateLimited,
            format!("too many messages; retry in {ms} ms"),
            details,
        );
        Flow::Continue
    }

    /// Answer the messages that concern the session itself; forward every other one to the
    /// room it addresses.
    async fn on_message(&mut self, msg: ClientMsg) -> Flow {
        match self.limiter.check(Class::of(&msg)) {
            Verdict::Pass => {}
            verdict => {
                return self.rate_limited(verdict, msg.reply_to(), msg.room(), Map::new());
            }
        }
        let caller = match (&msg, &self.player) {
            (
                ClientMsg::Hello {
                    v,
                    token,
                    name,
                    instance,
                },
                _,
            ) => {
                let instance = instance.clone();
                return self
                    .hello(*v, token.as_deref(), name.as_deref(), instance)
                    .await;
            }
            (_, Some(player)) => self.caller(player),
            (msg, None) => {
                self.refuse(
                    msg.reply_to(),
                    None,
                    ErrorCode::NotAuthenticated,
                    "send hello first",
                );
                return Flow::Continue;
            }
        };
        match msg {
            ClientMsg::Ping { n } => {
                self.queue.control(&ServerMsg::Pong { n });
            }
            ClientMsg::Create {
                rid,
                game,
                config,
                public,
                max_players,
                max_spectators,
                role,
                seed,
                key,
                password,
                lang,
                tags,
            } => {
                if let Some(why) = not_a_client_id("key", key.as_deref()) {
                    self.error(rid, ErrorCode::InvalidField, why);
                    return Flow::Continue;
                }
                let config = config.unwrap_or(Value::Null);
                // Cheap checks first: hashing a password costs tens of milliseconds.
                let listing = self
                    .config_fits(&config)
                    .and_then(|()| crate::lobby::listing(lang, tags));
                let (lang, tags) = match listing {
                    Ok(listing) => listing,
                    Err(e) => {
                        self.error(rid, e.code, e.message);
                        return Flow::Continue;
                    }
                };
                // The creator enters with the password they chose.
                let entry = password.clone();
                let lock = match password {
                    Some(password) => match crate::password::hash(password).await {
                        Ok(hash) => Some(hash),
                        Err(e) => {
                            self.error(rid, e.code, e.message);
                            return Flow::Continue;
                        }
                    },
                    None => None,
                };
                let options = CreateOptions {
                    public,
                    max_players,
                    max_spectators,
                    seed,
                    key: key.map(|key| CreateKey {
                        player: caller.player.id.clone(),
                        key,
                    }),
                    creator: None,
                    lock,
                    lang,
                    tags,
                };
                let created = self
                    .app
                    .create_room_for(&caller.player.id, &game, config, options)
                    .await;
                match created {
                    Ok(room) => {
                        let join = ClientMsg::Join {
                            rid,
                            room: room.id().to_owned(),
                            role,
                            since: None,
                            password: entry,
                            invite: None,
                        };
                        self.deliver(room, caller, join).await;
                    }
                    Err(e) => self.error(rid, e.code, e.message),
                }
            }
            ClientMsg::JoinOrCreate {
                rid,
                game,
                config,
                max_players,
                lang,
                tags,
            } => {
                let config = config.unwrap_or(Value::Null);
                let listing = self
                    .config_fits(&config)
                    .and_then(|()| crate::lobby::listing(lang, tags));
                let listing = match listing {
                    Ok(listing) => listing,
                    Err(e) => {
                        self.error(rid, e.code, e.message);
                        return Flow::Continue;
                    }
                };
                let seated = self
                    .app
                    .join_or_create(&caller, rid, &game, config, max_players, listing)
                    .await;
                match seated {
                    Ok(room) => {
                        self.rooms.insert(room.id().to_owned(), room);
                    }
                    Err(e) => self.error(rid, e.code, e.message),
                }
            }
            ClientMsg::WatchRooms { rid, filter } => {
                let watch = crate::lobby::watch(self.app.clone(), self.queue.clone(), rid, filter);
                self.watching = Some(Watching(tokio::spawn(watch)));
            }
            ClientMsg::UnwatchRooms {} => self.watching = None,
            ClientMsg::Invite { rid, room } => {
                // Only from inside: the rooms this connection entered, by id or code.
                let inside = self
                    .rooms
                    .values()
                    .find(|h| h.id() == room || h.info().code.eq_ignore_ascii_case(room.trim()));
                match inside {
                    Some(h) => {
                        let now = now_ms();
                        self.queue.control(&ServerMsg::Invited {
                            rid,
                            room: h.id().to_owned(),
                            code: h.info().code,
                            invite: self.app.identity().signer().invite(h.id(), now),
                            expires: now + crate::auth::INVITE_LIFETIME.as_millis() as u64,
                        });
                    }
                    None => self.refuse(
                        ReplyTo::Error { rid },
                        Some(&room),
                        ErrorCode::NotInRoom,
                        "only a member of a room can invite to it",
                    ),
                }
            }
            ClientMsg::Launch { rid, room } => match self.app.launch(&caller, &room).await {
                Ok(info) => {
                    self.queue.control(&ServerMsg::Launched {
                        rid,
                        party: room,
                        room: info,
                    });
                }
                Err(e) => self.refuse(ReplyTo::Error { rid }, Some(&room), e.code, e.message),
            },
            ClientMsg::Act {
                room,
                seq,
                base,
                mut action,
            } if self
                .rooms
                .get(&room)
                .is_some_and(|h| h.info().game == "party") =>
            {
                // A party's pick of an external game gets the game's registered facts.
                let party = self.rooms.get(&room).cloned();
                let picked = match &party {
                    Some(party) => self.app.party_pick(party, &mut action).await,
                    None => Ok(()),
                };
                match picked {
                    Ok(()) => {
                        let act = ClientMsg::Act {
                            room,
                            seq,
                            base,
                            action,
                        };
                        self.forward(caller, act).await;
                    }
                    Err(e) => self.refuse(
                        ReplyTo::Reject {
                            room: room.clone(),
                            seq,
                        },
                        Some(&room),
                        e.code,
                        e.message,
                    ),
                }
            }
            msg => self.forward(caller, msg).await,
        }
        Flow::Continue
    }

    /// `INVALID_CONFIG` for a room config over `max_config_bytes` of JSON.
    fn config_fits(&self, config: &Value) -> Result<(), arbiter_engine::GameError> {
        let max_config = self.app.settings().limits.max_config_bytes;
        if serde_json::to_string(config).map_or(0, |c| c.len()) > max_config {
            return Err(arbiter_engine::GameError::new(
                ErrorCode::InvalidConfig,
                format!("a room config is at most {max_config} bytes of JSON"),
            ));
        }
        Ok(())
    }

    /// Find the room a message addresses and send it there.
    async fn forward(&mut self, caller: Caller, msg: ClientMsg) {
        let Some(name) = msg.room() else {
            // Every message without a room has its arm in `on_message`.
            return self.refuse(
                msg.reply_to(),
                None,
                ErrorCode::Internal,
                "no handler for this message",
            );
        };
        // A join looks in the directory: the rooms this session is in may have closed or
        // moved. Other messages go where this session's join went.
        let known = match msg {
            ClientMsg::Join { .. } => None,
            _ => self.rooms.get(name).cloned(),
        };
        let found = match known {
            Some(room) => Ok(room),
            None => self.app.locate(name).await,
        };
        let found = match (found, &msg) {
            (
                Ok(room),
                ClientMsg::Join {
                    password, invite, ..
                },
            ) => self
                .app
                .check_key(&room, password.as_deref(), invite.as_deref())
                .await
                .map(|()| room),
            (found, _) => found,
        };
        match found {
            Ok(room) => self.deliver(room, caller, msg).await,
            Err(e) => self.refuse(msg.reply_to(), Some(name), e.code, e.message),
        }
    }

    /// Send a message to its room, keeping the map of rooms this session is in (to route by
    /// id and to tell them when the session ends) in step with joins and leaves.
    async fn deliver(&mut self, room: RoomHandle, caller: Caller, msg: ClientMsg) {
        let joining = matches!(msg, ClientMsg::Join { .. });
        if let ClientMsg::Leave { .. } = msg {
            self.rooms.remove(room.id());
        }
        // The answer for a room that has closed is worked out only then: forwarding is the
        // hot path of every action.
        match room.send(RoomCmd::Client { caller, msg }).await {
            Ok(()) if joining => {
                self.rooms.insert(room.id().to_owned(), room);
            }
            Ok(()) => {}
            Err(RoomGone(cmd)) => {
                self.rooms.remove(room.id());
                if let RoomCmd::Client { msg, .. } = cmd {
                    self.refuse(
                        msg.reply_to(),
                        Some(room.id()),
                        ErrorCode::RoomClosed,
                        "the room has closed",
                    );
                }
            }
        }
    }

    async fn hello(
        &mut self,
        v: u32,
        token: Option<&str>,
        name: Option<&str>,
        instance: Option<String>,
    ) -> Flow {
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
        if let Some(why) = not_a_client_id("instance", instance.as_deref()) {
            self.error(None, ErrorCode::InvalidField, why);
            return Flow::Continue;
        }
        let now = now_ms();
        let (id, claimed_name) = match token {
            Some(token) => match self.app.identity().verify(token, now).await {
                Ok(verified) => (verified.id, verified.name),
                Err(refusal) => {
                    self.queue.control(&ServerMsg::Error {
                        rid: None,
                        code: refusal.code,
                        message: refusal.message,
                        details: Some(serde_json::json!({ "reason": refusal.reason })),
                    });
                    return Flow::Continue;
                }
            },
            None => (Signer::new_player_id(), None),
        };
        let max = self.app.settings().limits.max_connections_per_player;
        if let Err(over) = self.slot.name(id.as_str(), max) {
            let details = over
                .retry_after()
                .map(|wait| serde_json::json!({ "retry_after_ms": crate::limits::millis(wait) }));
            self.queue.control(&ServerMsg::Error {
                rid: None,
                code: ErrorCode::RateLimited,
                message: over.message().to_owned(),
                details,
            });
            return Flow::Close(close::RATE_LIMITED, over.message());
        }
        // The operator's sign-in names its players; guests name themselves.
        let name = claimed_name.or(name).unwrap_or_else(|| {
            let tail = &id.as_str()[id.as_str().len().saturating_sub(4)..];
            format!("Guest {tail}")
        });
        let token = self.app.identity().signer().issue(&id, now);
        let player = PlayerInfo { id, name };
        self.queue.control(&ServerMsg::Welcome {
            v: PROTOCOL_VERSION,
            player: player.clone(),
            token,
            max_frame: self.app.settings().max_frame,
        });
        tracing::Span::current().record("player", player.id.as_str());
        tracing::debug!(name = %player.name, "hello");
        self.player = Some(player);
        self.instance = instance;
        Flow::Continue
    }

    /// Answer a request with an error in the form its sender waits for (see [`ReplyTo`]).
    /// An `error` about a room names it in `details.room` so the client can match it.
    fn refuse(&self, to: ReplyTo, room: Option<&str>, code: ErrorCode, message: impl Into<String>) {
        self.refuse_with(to, room, code, message, Map::new());
    }

    /// [`Session::refuse`] with more `details`.
    fn refuse_with(
        &self,
        to: ReplyTo,
        room: Option<&str>,
        code: ErrorCode,
        message: impl Into<String>,
        mut details: Map<String, Value>,
    ) {
        match to {
            ReplyTo::Reject { room, seq } => {
                let details = (!details.is_empty()).then_some(Value::Object(details));
                self.reject(room, seq, code, message, details);
            }
            ReplyTo::Error { rid } => {
                if let Some(room) = room {
                    details.insert("room".to_owned(), json!(room));
                }
                self.queue.control(&ServerMsg::Error {
                    rid,
                    code,
                    message: clipped(message.into()),
                    details: (!details.is_empty()).then_some(Value::Object(details)),
                });
            }
        }
    }
}

/// Why `value` (a client instance or request key, named `field`) is refused, if it is.
fn not_a_client_id(field: &str, value: Option<&str>) -> Option<String> {
    let bad = value.filter(|v| !is_client_id(v))?;
    let shown: String = bad.chars().take(40).collect();
    Some(format!(
        "{field} {shown:?} must be 1–{MAX_CLIENT_ID} ASCII letters, digits, '-' or '_'"
    ))
}

/// Why a frame was not read as a message.
enum Unread {
    /// It nests deeper than this (`max_json_depth`): refused for that, whatever else is wrong.
    TooDeep(usize),
    /// The typed decoder's complaint.
    Invalid(String),
}

/// The answer to a frame that is no message: where it goes, what it carries of the frame,
/// and the code and message.
struct BadFrame {
    to: ReplyTo,
    details: Map<String, Value>,
    why: (ErrorCode, String),
}

/// Work out why a frame did not decode, say so precisely, and address the answer. The frame
/// is read again as a plain value (within the decoder's own depth bound, so a frame too deep
/// for a game still names its room and seq): the answer to an object of a known type is a
/// `reject` when it names a room and a seq, and otherwise an `error` carrying every `room`,
/// `seq` and `rid` it could read (see [`frame_details`]).
fn explain_bad_frame(encoding: Encoding, frame: &[u8], unread: Unread) -> BadFrame {
    let typed = match unread {
        Unread::TooDeep(depth) => Err(format!(
            "the message nests arrays and objects deeper than {depth}"
        )),
        Unread::Invalid(typed) => Ok(typed),
    };
    let unaddressed = |code, message: String| {
        let why = match &typed {
            Err(deep) => (ErrorCode::BadMessage, deep.clone()),
            Ok(_) => (code, message),
        };
        BadFrame {
            to: ReplyTo::Error { rid: None },
            details: Map::new(),
            why,
        }
    };
    let value = match encoding.decode_value(frame) {
        Ok(v) => v,
        Err(e) => {
            let what = match encoding {
                Encoding::Json => "JSON",
                Encoding::MsgPack => "MessagePack",
            };
            return unaddressed(ErrorCode::BadMessage, format!("not valid {what}: {}", e.0));
        }
    };
    let Some(t) = value.get("t").and_then(Value::as_str) else {
        let message = "expected an object with a string field \"t\"".to_owned();
        return unaddressed(ErrorCode::BadMessage, message);
    };
    if ClientMsg::fields(t).is_none() {
        let shown: String = t.chars().take(40).collect();
        return unaddressed(
            ErrorCode::UnknownType,
            format!("unknown message type {shown:?}"),
        );
    }
    let to = ReplyTo::of_frame(t, &value);
    let details = match to {
        ReplyTo::Reject { .. } => Map::new(),
        ReplyTo::Error { .. } => frame_details(t, &value),
    };
    let why = match typed {
        Ok(typed) => (ErrorCode::InvalidField, format!("invalid {t}: {typed}")),
        Err(deep) => (ErrorCode::BadMessage, deep),
    };
    BadFrame { to, details, why }
}

/// Longest `message` of an `error` or `reject`, in bytes: messages quote what the client sent
/// (a type, a serde error naming a value), and a 60 KiB string must not come back as a
/// 60 KiB answer.
const MAX_MESSAGE: usize = 256;

fn clipped(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}
