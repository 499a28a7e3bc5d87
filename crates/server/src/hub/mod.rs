//! The Go game server's protocol (drdreo/hub `apps/gameserver`), served by the same engine,
//! games and rooms: see docs/hub-compat.md.
//!
//! A legacy client is a native [`Session`] with a translation around it. Its `{type, data}`
//! envelopes become native messages (`hello`, `join`, `leave`, `add_bot`, `act`) that pass the
//! same rate limits, checks and routing; what the rooms send back (answers, presence, the
//! client's own view as snapshots and patches) becomes the old events and `game_state` shapes,
//! sent as one JSON array per frame. Nothing here holds game state: the view is the room's.
//!
//! * [`wire`]: the old envelopes, in and out;
//! * [`games`]: one mapping per game whose old clients are served;
//! * [`rest`]: `GET /hub/games` and `GET /hub/rooms`;
//! * [`sessions`]: what `reconnect` finds after a socket closed in a room.

mod games;
mod rest;
mod sessions;
mod wire;

pub(crate) use rest::{games, rooms};
pub(crate) use sessions::Sessions;

use crate::app::App;
use crate::limits::Class;
use crate::queue::{ConnQueue, Item};
use crate::session::{Flow, Peer, Session, Watching};
use crate::ws::Dialect;
use arbiter_engine::{CreateKey, CreateOptions, Frame, FrameKind, Outbox};
use arbiter_protocol::{
    ClientMsg, ErrorCode, JoinRole, PlayerId, PresenceEvent, Role, RoomFilter, RoomInfo,
    RoomStatus, ServerMsg,
};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::response::Response;
use bytes::Bytes;
use games::Mapping;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use wire::{Incoming, fail, ok};

/// Marks the frames the hub queues itself, already in the old shape, among the native ones
/// it translates: no room has this id.
const OWN: &str = "\0hub";

/// The player a custom room id is scoped to: one namespace for every legacy client, so two
/// clients naming the same room id meet in one room.
const CUSTOM_IDS: &str = "hub";

/// `?game=`: the game whose room list the client follows.
#[derive(Deserialize)]
pub(crate) struct Interest {
    game: Option<String>,
}

/// `GET /hub/ws?game=X`: the old WebSocket endpoint.
pub(crate) async fn upgrade(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(interest): Query<Interest>,
    req: Request,
) -> Response {
    let game = interest
        .game
        .filter(|g| !g.is_empty())
        .map(|g| g.chars().take(64).collect());
    crate::ws::accept(app, peer, req, Dialect::Hub(game))
}

/// One legacy client: a native session and what the translation must remember.
pub(crate) struct Client {
    app: App,
    session: Session,
    queue: Arc<ConnQueue>,
    /// The native `welcome`'s player, once a `join_room` or `reconnect` said hello for it:
    /// the old protocol's `clientId`.
    me: Option<PlayerId>,
    /// The native `welcome`'s token: kept for `reconnect` when the socket closes in a room.
    token: Option<String>,
    /// The room the client is in (the old protocol allows one).
    room: Option<InRoom>,
    /// Native requests on their way, by rid: what their answer is called here.
    asked: HashMap<u64, Asked>,
    next_rid: u64,
    /// The room list for `?game=`, pushed as it changes.
    _room_list: Option<Watching>,
}

/// What a native request answers in the old protocol.
enum Asked {
    /// `join_room` (or `reconnect`), for the room the client named `name`.
    Join {
        name: String,
        game: String,
        reconnect: bool,
    },
    Leave,
    AddBot,
}

/// The room a legacy client is in.
struct InRoom {
    /// Arbiter's id.
    id: String,
    /// The id the client knows it by (its custom id, or Arbiter's).
    name: String,
    game: String,
    mapping: &'static dyn Mapping,
    /// This client's view, kept from the room's snapshots and patches.
    view: Option<Value>,
    /// Sent the room's actions, by seq: the old message each came as (`None` for one the
    /// hub took itself, whose refusal nobody waits for).
    acts: HashMap<u64, Option<Sent>>,
    next_seq: u64,
    /// The event owed after the first `game_state` (`joined` or `reconnected`).
    greeting: Option<&'static str>,
    /// The old server's action last taken for this client, so a view that stays the same
    /// does not take it twice.
    automatic: Option<Value>,
}

/// An old game message sent on as an action.
struct Sent {
    /// Its `type`.
    ty: String,
    /// The action it became.
    action: Value,
    /// Where its error goes: `error`, or `game_action_result` for a `game_action`.
    reply: &'static str,
}

impl Client {
    /// A legacy client on a new connection: it is greeted at once, and follows the room
    /// list of `game` if it named one.
    pub(crate) fn new(
        app: App,
        session: Session,
        queue: Arc<ConnQueue>,
        game: Option<String>,
    ) -> Self {
        let interest = game.clone().unwrap_or_default();
        let room_list = game.map(|game| {
            let filter = RoomFilter {
                game: Some(game),
                ..RoomFilter::default()
            };
            let watch = crate::lobby::watch(app.clone(), queue.clone(), None, filter);
            Watching(tokio::spawn(watch))
        });
        let client = Self {
            app,
            session,
            queue,
            me: None,
            token: None,
            room: None,
            asked: HashMap::new(),
            next_rid: 1,
            _room_list: room_list,
        };
        let message = format!("Connected to game server. Interested in game: {interest}");
        client.send(ok("welcome", json!({ "message": message })));
        client
    }

    /// Queue a message in the old shape, in order with everything the rooms send.
    fn send(&self, msg: Value) {
        let _ = self.queue.push(Frame {
            kind: FrameKind::Control,
            room: Arc::from(OWN),
            bytes: Bytes::from(msg.to_string()),
        });
    }

    fn rid(&mut self, asked: Asked) -> u64 {
        let rid = self.next_rid;
        self.next_rid += 1;
        self.asked.insert(rid, asked);
        rid
    }

    async fn on_message(&mut self, msg: Incoming) -> Flow {
        let Incoming { ty, data } = msg;
        match ty.as_str() {
            "join_room" => self.join_room(data).await,
            "reconnect" => self.reconnect(data).await,
            "leave_room" => match self.room.as_ref().map(|r| r.id.clone()) {
                Some(room) => {
                    let leave = ClientMsg::Leave {
                        rid: Some(self.rid(Asked::Leave)),
                        room,
                    };
                    self.session.handle(leave).await
                }
                None => self.refuse("leave_room_result", "client is not in a room"),
            },
            "add_bot" => match self.room.as_ref().map(|r| r.id.clone()) {
                Some(room) => {
                    let add = ClientMsg::AddBot {
                        rid: Some(self.rid(Asked::AddBot)),
                        room,
                    };
                    self.session.handle(add).await
                }
                None => self.refuse("add_bot_result", "client is not in a room"),
            },
            "get_room_list" => self.room_list(data).await,
            "game_action" if self.room.is_none() => {
                self.refuse("game_action_result", "client is not in a room")
            }
            "game_action" => {
                // The old router's generic form: the game's message named inside `data`.
                let inner = data
                    .as_ref()
                    .and_then(|d| d.get("action").or(d.get("type")));
                match inner.and_then(Value::as_str).map(str::to_owned) {
                    Some(ty) => self.act(ty, data, "game_action_result").await,
                    None => self.refuse("game_action_result", "invalid message format"),
                }
            }
            _ if self.room.is_some() => self.act(ty, data, "error").await,
            _ => self.refuse("error", &format!("Unknown message type: {ty}")),
        }
    }

    /// Answer a request the hub refuses itself; it draws from the `other` bucket.
    fn refuse(&self, ty: &str, error: &str) -> Flow {
        if let Err(flow) = self.session.admit(Class::Other) {
            return flow;
        }
        self.send(fail(ty, error));
        Flow::Continue
    }

    /// Say hello for the client (a guest named `name`, or the holder of `token`), once.
    async fn hello(&mut self, name: Option<String>, token: Option<String>) -> Result<(), Flow> {
        if self.session.player().is_some() {
            return Ok(());
        }
        let hello = ClientMsg::Hello {
            v: arbiter_protocol::PROTOCOL_VERSION,
            token,
            name,
            instance: None,
        };
        match self.session.handle(hello).await {
            Flow::Continue if self.session.player().is_some() => Ok(()),
            Flow::Continue => Err(Flow::Continue),
            close => Err(close),
        }
    }

    async fn join_room(&mut self, data: Option<Value>) -> Flow {
        if let Some(room) = &self.room {
            // The old router answers a second join with the room the client is in.
            let data = json!({ "clientId": self.me, "roomId": room.name });
            self.send(ok("reconnect_result", data));
            return Flow::Continue;
        }
        let join = match wire::JoinRoom::read(data) {
            Ok(join) => join,
            Err(why) => return self.refuse("join_room_result", why),
        };
        // Room ids the client makes up are request keys underneath: the same rules.
        if let Some(id) = join.room_id.as_deref()
            && !arbiter_protocol::is_client_id(id)
        {
            return self.refuse("join_room_result", "room id is invalid");
        }
        // Arbiter's rules for names, checked here so the refusal is one old-style answer.
        if let Err(why) = crate::auth::clean_name(&join.player_name) {
            return self.refuse(
                "join_room_result",
                &format!("player name is invalid: {why}"),
            );
        }
        if let Err(flow) = self.session.admit(Class::Join) {
            return flow;
        }
        if let Err(flow) = self.hello(Some(join.player_name.clone()), None).await {
            if let Flow::Continue = flow {
                self.send(fail("join_room_result", "player name is invalid"));
            }
            return flow;
        }
        let Some(player) = self.session.player().map(|p| p.id.clone()) else {
            return Flow::Continue;
        };
        // A room id names an Arbiter room, or a room an old client named before, or a new
        // room of that name.
        let custom = join.room_id.clone().map(|key| CreateKey {
            player: PlayerId::from(CUSTOM_IDS),
            key,
        });
        let found = match (&join.room_id, &custom) {
            (Some(id), Some(key)) => match self.app.locate(id).await {
                Ok(room) => Ok(Some(room)),
                Err(_) => self.app.created_by(key).await,
            },
            _ => Ok(None),
        };
        let room = match found {
            Ok(Some(room)) => room,
            Err(e) => {
                self.send(fail("join_room_result", &join_refusal(e.code, &e.message)));
                return Flow::Continue;
            }
            Ok(None) => {
                let Some(game) = join.game_type.clone() else {
                    self.send(fail("join_room_result", "game type is required"));
                    return Flow::Continue;
                };
                let Some(mapping) = games::of(&game) else {
                    self.send(fail("join_room_result", "unknown game type"));
                    return Flow::Continue;
                };
                let options = CreateOptions {
                    max_players: mapping.max_players(),
                    key: custom,
                    ..CreateOptions::default()
                };
                let created = self
                    .app
                    .create_room_for(&player, &game, Value::Null, options)
                    .await;
                match created {
                    Ok(room) => room,
                    Err(e) => {
                        self.send(fail("join_room_result", &join_refusal(e.code, &e.message)));
                        return Flow::Continue;
                    }
                }
            }
        };
        let game = room.info().game;
        if games::of(&game).is_none() {
            self.send(fail("join_room_result", "unknown game type"));
            return Flow::Continue;
        }
        let name = join.room_id.unwrap_or_else(|| room.id().to_owned());
        let asked = Asked::Join {
            name,
            game,
            reconnect: false,
        };
        let join = ClientMsg::Join {
            rid: Some(self.rid(asked)),
            room: room.id().to_owned(),
            role: JoinRole::Any,
            since: None,
            password: None,
            invite: None,
        };
        self.session.handle(join).await
    }

    async fn reconnect(&mut self, data: Option<Value>) -> Flow {
        let client_id = data
            .as_ref()
            .and_then(|d| d.get("clientId"))
            .and_then(Value::as_str);
        let Some(client_id) = client_id else {
            return self.refuse("reconnect_result", "session expired or not found");
        };
        if self.session.player().is_some() {
            let why = match self.room {
                Some(_) => "client is already in a room",
                None => "session expired or not found",
            };
            return self.refuse("reconnect_result", why);
        }
        let store = self.app.rooms().store();
        let Some(left) = self.app.hub_sessions().take(store, client_id).await else {
            return self.refuse("reconnect_result", "session expired or not found");
        };
        if let Err(flow) = self.session.admit(Class::Join) {
            return flow;
        }
        if let Err(flow) = self.hello(None, Some(left.token)).await {
            if let Flow::Continue = flow {
                self.send(fail("reconnect_result", "session expired or not found"));
            }
            return flow;
        }
        let asked = Asked::Join {
            name: left.name,
            game: left.game,
            reconnect: true,
        };
        let join = ClientMsg::Join {
            rid: Some(self.rid(asked)),
            room: left.room,
            role: JoinRole::Any,
            since: None,
            password: None,
            invite: None,
        };
        self.session.handle(join).await
    }

    async fn room_list(&mut self, data: Option<Value>) -> Flow {
        let game = match data {
            None => None,
            Some(data) => match data.get("gameType") {
                None | Some(Value::Null) => Some(String::new()),
                Some(Value::String(game)) => Some(game.clone()),
                Some(_) => None,
            },
        };
        let game = match game {
            None => return self.refuse("get_room_list_result", "Invalid request format"),
            Some(game) if game.is_empty() => {
                return self.refuse("get_room_list_result", "Game type is required");
            }
            Some(game) => game,
        };
        if let Err(flow) = self.session.admit(Class::Other) {
            return flow;
        }
        let filter = RoomFilter {
            game: Some(game),
            ..RoomFilter::default()
        };
        match self.app.list_rooms(true).await {
            Ok(rooms) => self.send(room_list(&crate::lobby::filtered(&rooms, &filter))),
            Err(e) => self.send(fail("get_room_list_result", &e.message)),
        }
        Flow::Continue
    }

    /// A game's own message: its mapping makes it an action, or refuses it the old way.
    async fn act(&mut self, ty: String, data: Option<Value>, reply: &'static str) -> Flow {
        let Some(room) = &mut self.room else {
            return Flow::Continue;
        };
        let view = room.view.clone().unwrap_or(Value::Null);
        let data = data.unwrap_or(Value::Null);
        let reply = match reply {
            "error" => room.mapping.reply_to(&ty),
            game_action => game_action,
        };
        // The session's player, not `me`: its `welcome` may still be on its way out.
        let me = self.session.player().map_or("", |p| p.id.as_str());
        let action = match room.mapping.action(&ty, &data, &view, me) {
            Ok(Some(action)) => action,
            Ok(None) => {
                let updates = room.mapping.updates(None, &view);
                if let Err(flow) = self.session.admit(Class::Act) {
                    return flow;
                }
                for update in updates {
                    self.send(update);
                }
                return Flow::Continue;
            }
            Err(why) => return self.refuse(reply, &why),
        };
        let seq = room.next_seq;
        room.next_seq += 1;
        let sent = Sent {
            ty,
            action: action.clone(),
            reply,
        };
        room.acts.insert(seq, Some(sent));
        let act = ClientMsg::Act {
            room: room.id.clone(),
            seq,
            base: None,
            action,
        };
        self.session.handle(act).await
    }

    /// One native message in the old protocol's words (possibly none), and any action the
    /// old server would have taken by itself.
    fn translate(&mut self, msg: ServerMsg, out: &mut Vec<Value>, then: &mut Vec<ClientMsg>) {
        match msg {
            ServerMsg::Welcome { player, token, .. } => {
                self.me = Some(player.id);
                self.token = Some(token);
            }
            ServerMsg::Joined {
                rid,
                room,
                role,
                notice,
                seq,
                ..
            } => {
                let Some(Asked::Join {
                    name,
                    game,
                    reconnect,
                }) = rid.and_then(|rid| self.asked.remove(&rid))
                else {
                    return;
                };
                let Some(mapping) = games::of(&game) else {
                    return;
                };
                if notice.is_some() && role == Role::Spectator {
                    // The old games seat no one past their cap, but keep them watching.
                    out.push(fail("error", mapping.spectating()));
                }
                let data = if reconnect {
                    json!({ "roomId": name, "clientId": self.me, "gameType": game })
                } else {
                    json!({ "clientId": self.me, "roomId": name })
                };
                let ty = if reconnect {
                    "reconnect_result"
                } else {
                    "join_room_result"
                };
                out.push(ok(ty, data));
                let greeting = match (role, reconnect) {
                    (Role::Spectator, _) => None,
                    (Role::Player, false) => Some("joined"),
                    (Role::Player, true) => Some("reconnected"),
                };
                self.room = Some(InRoom {
                    id: room.id,
                    name,
                    game,
                    mapping,
                    view: None,
                    acts: HashMap::new(),
                    next_seq: seq + 1,
                    greeting,
                    automatic: None,
                });
            }
            ServerMsg::Snapshot { room, view, .. } => self.on_view(&room, Some(view), out, then),
            ServerMsg::Patch { room, ops, .. } => {
                if ops.0.is_empty() {
                    return;
                }
                let Some(mut view) = self.room_named(&room).and_then(|r| r.view.clone()) else {
                    return;
                };
                if json_patch::patch(&mut view, &ops).is_err() {
                    // A patch that does not fit is a bug; a snapshot repairs the copy.
                    then.push(ClientMsg::Sync { room });
                    return;
                }
                self.on_view(&room, Some(view), out, then);
            }
            ServerMsg::Reject {
                room,
                seq,
                code,
                message,
                ..
            } => {
                let Some(r) = self.room_named(&room) else {
                    return;
                };
                if let Some(Some(sent)) = r.acts.remove(&seq) {
                    let error = r.mapping.refusal(&sent.ty, code, &message);
                    out.push(fail(sent.reply, &error));
                }
            }
            ServerMsg::Ack { room, seq, .. } => {
                let Some(r) = self.room_named(&room) else {
                    return;
                };
                if let (Some(Some(sent)), Some(view)) = (r.acts.remove(&seq), &r.view) {
                    out.extend(r.mapping.answer(&sent.ty, &sent.action, view));
                }
            }
            ServerMsg::Presence {
                room,
                event,
                member,
            } => {
                if self.room_named(&room).is_none() || Some(&member.id) == self.me.as_ref() {
                    return;
                }
                // The old server has no disconnect of its own: a closed socket left the room.
                let ty = match event {
                    PresenceEvent::Joined | PresenceEvent::Connected => "client_joined",
                    PresenceEvent::Left | PresenceEvent::Disconnected => "client_left",
                    PresenceEvent::Media | PresenceEvent::Muted => return,
                };
                out.push(ok(ty, json!({ "clientId": member.id })));
            }
            ServerMsg::Left { rid, room, .. } => {
                let asked = rid.and_then(|rid| self.asked.remove(&rid));
                let Some(r) = self.room.take_if(|r| r.id == room) else {
                    return;
                };
                match asked {
                    Some(Asked::Leave) => out.push(wire::done("leave_room_result")),
                    // Removed unasked (an operator's kick): for this client the room is gone.
                    _ => out.push(ok("room_closed", json!({ "roomId": r.name }))),
                }
            }
            ServerMsg::BotAdded { rid, .. } => {
                if let Some(rid) = rid {
                    self.asked.remove(&rid);
                }
                out.push(wire::done("add_bot_result"));
            }
            ServerMsg::Rooms { rooms, .. } => out.push(room_list(&rooms)),
            ServerMsg::Error {
                rid,
                code,
                message,
                details,
            } => {
                let asked = rid.and_then(|rid| self.asked.remove(&rid));
                let closed_room = details
                    .as_ref()
                    .and_then(|d| d.get("room"))
                    .and_then(Value::as_str)
                    .filter(|_| code == ErrorCode::RoomClosed && rid.is_none());
                match (asked, closed_room) {
                    (Some(Asked::Join { reconnect, .. }), _) => {
                        let ty = if reconnect {
                            "reconnect_result"
                        } else {
                            "join_room_result"
                        };
                        out.push(fail(ty, &join_refusal(code, &message)));
                    }
                    (Some(Asked::Leave), _) => out.push(fail("leave_room_result", &message)),
                    (Some(Asked::AddBot), _) => out.push(fail("add_bot_result", &message)),
                    (None, Some(id)) => {
                        if let Some(r) = self.room.take_if(|r| r.id == id) {
                            out.push(ok("room_closed", json!({ "roomId": r.name })));
                        }
                    }
                    (None, None) => out.push(fail("error", &message)),
                }
            }
            // Chat, signalling, undo and the rest have no old counterpart.
            _ => {}
        }
    }

    fn room_named(&mut self, id: &str) -> Option<&mut InRoom> {
        self.room.as_mut().filter(|r| r.id == id)
    }

    /// The room's view changed: the old events it implies, `game_state`, the greeting owed
    /// to a joiner, and the action the old server would have taken by itself.
    fn on_view(
        &mut self,
        room: &str,
        view: Option<Value>,
        out: &mut Vec<Value>,
        then: &mut Vec<ClientMsg>,
    ) {
        let me = self.me.as_ref().map(PlayerId::as_str).unwrap_or_default();
        let Some(r) = self.room.as_mut().filter(|r| r.id == room) else {
            return;
        };
        let Some(view) = view else { return };
        out.extend(r.mapping.updates(r.view.as_ref(), &view));
        if let Some(greeting) = r.greeting.take()
            && let Some(data) = r.mapping.greeting(&view, me, &r.name)
        {
            out.push(ok(greeting, data));
        }
        let automatic = r.mapping.automatic(&view, me);
        if automatic.is_some() && automatic != r.automatic {
            let seq = r.next_seq;
            r.next_seq += 1;
            r.acts.insert(seq, None);
            then.push(ClientMsg::Act {
                room: r.id.clone(),
                seq,
                base: None,
                action: automatic.clone().unwrap_or_default(),
            });
        }
        r.automatic = automatic;
        r.view = Some(view);
    }
}

/// The old wording for a refused join.
fn join_refusal(code: ErrorCode, message: &str) -> String {
    match code {
        ErrorCode::RoomClosed => "room is closed".to_owned(),
        ErrorCode::UnknownGame => "unknown game type".to_owned(),
        _ => message.to_owned(),
    }
}

/// `room_list_update`: `[{roomId, playerCount, started}]`; everyone in a room counts, bots
/// and spectators too, as in the old server.
fn room_list(rooms: &[RoomInfo]) -> Value {
    let rooms: Vec<Value> = rooms
        .iter()
        .map(|r| {
            json!({
                "roomId": r.id,
                "playerCount": r.players + r.spectators,
                "started": r.status != RoomStatus::Waiting,
            })
        })
        .collect();
    ok("room_list_update", Value::Array(rooms))
}

impl Peer for Client {
    fn authenticated(&self) -> bool {
        // The old protocol has no hello: the client is greeted on connecting.
        true
    }

    async fn on_frame(&mut self, frame: &[u8]) -> Flow {
        let depth = self.app.settings().limits.max_json_depth;
        match wire::read(frame, depth) {
            Some(msg) => self.on_message(msg).await,
            None => self.refuse("error", "invalid message format"),
        }
    }

    async fn resync(&mut self, rooms: Vec<Arc<str>>) {
        self.session.resync(rooms).await;
    }

    /// Everything drained goes out as one JSON array per frame: the hub's own messages as
    /// they are, the rooms' translated.
    async fn outgoing(&mut self, items: Vec<Item>) -> Vec<Item> {
        let mut frames = Vec::new();
        let mut run: Vec<Bytes> = Vec::new();
        let mut then = Vec::new();
        for item in items {
            match item {
                Item::Msg(frame) if &*frame.room == OWN => run.push(frame.bytes),
                Item::Msg(frame) => {
                    let Ok(msg) = serde_json::from_slice::<ServerMsg>(&frame.bytes) else {
                        continue;
                    };
                    let mut out = Vec::new();
                    self.translate(msg, &mut out, &mut then);
                    run.extend(out.into_iter().map(|m| Bytes::from(m.to_string())));
                }
                framed @ Item::Framed(_) => {
                    frames.extend(wire::array(std::mem::take(&mut run)));
                    frames.push(framed);
                }
            }
        }
        frames.extend(wire::array(run));
        for msg in then {
            let _ = self.session.handle(msg).await;
        }
        frames
    }

    /// A socket closed in a room leaves what `reconnect` needs; the session then ends as
    /// any other (the room holds the seat for its grace period).
    async fn end(self) {
        if let (Some(room), Some(me), Some(token)) = (&self.room, &self.me, &self.token) {
            let left = sessions::Left {
                token: token.clone(),
                room: room.id.clone(),
                name: room.name.clone(),
                game: room.game.clone(),
            };
            let store = self.app.rooms().store();
            self.app.hub_sessions().keep(store, me.as_str(), left).await;
        }
        self.session.end().await;
    }
}
