//! The [`Client`] handle and the [`Events`] stream of one connection.

use crate::conn::{self, Socket};
use crate::error::{ClientError, CloseInfo};
use crate::state::{Reply, Shared};
use crate::view::RoomView;
use arbiter_protocol::{
    ChatLine, ClientMsg, Encoding, JoinRole, Member, PROTOCOL_VERSION, PlayerId, PlayerInfo, Role,
    RoomInfo, ServerMsg, SignalKind,
};
use futures_util::{SinkExt, Stream, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// What the client says about itself in `hello`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hello {
    /// Display name; the server picks one when absent.
    pub name: Option<String>,
    /// Token from an earlier [`Client::token`], to come back as the same player.
    pub token: Option<String>,
    /// Wire encoding, negotiated as a WebSocket subprotocol (JSON by default).
    pub encoding: Encoding,
    /// The client instance this connection belongs to (`hello.instance`): seqs are counted
    /// per (player, instance), so two clients of one player may act at once. Keep it across
    /// reconnects ([`Client::resume`] does). `None` shares one count with every other
    /// client of the player that names none.
    pub instance: Option<String>,
}

impl Hello {
    /// A new player with this display name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            token: None,
            encoding: Encoding::Json,
            instance: None,
        }
    }
}

/// A `create` request; `None` fields take the server's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRoom {
    /// Registered game name.
    pub game: String,
    /// Game configuration; the game's defaults when `None`.
    pub config: Option<Value>,
    /// Listed in the public room list (server default: true).
    pub public: Option<bool>,
    /// Seats; the game's maximum when `None`.
    pub max_players: Option<u32>,
    /// Spectator places (server default: 64).
    pub max_spectators: Option<u32>,
    /// The creator's role.
    pub role: JoinRole,
    /// A fixed RNG seed (only servers that allow seeded rooms accept it).
    pub seed: Option<u64>,
    /// The request's key (`create.key`): sending the same `CreateRoom` again after its
    /// answer was lost enters the room the first one created instead of creating another.
    pub key: Option<String>,
    /// The language the room plays in, for the room list's filter.
    pub lang: Option<String>,
    /// Tags for the room list's filter.
    pub tags: Vec<String>,
}

impl CreateRoom {
    /// A room of `game` with every other setting left to the server.
    pub fn new(game: impl Into<String>) -> Self {
        Self {
            game: game.into(),
            ..Self::default()
        }
    }
}

/// The answer to a successful `create` or `join`.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    /// The room as it is after entering it.
    pub room: RoomInfo,
    /// The role the server gave, which may differ from the one asked for.
    pub role: Role,
    /// Why the role differs from the one asked for.
    pub notice: Option<String>,
    /// Everyone in the room, this client included.
    pub members: Vec<Member>,
}

/// Overrides for [`Client::act_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActOptions {
    /// Send this seq instead of the next one, e.g. to resend an action. The room's counter
    /// moves up to it, so later automatic seqs stay above it.
    pub seq: Option<u64>,
    /// The version the action was decided on; the server answers `STALE` if the room moved on
    /// and the action depends on order.
    pub base: Option<u64>,
}

/// Every server frame of the connection, in arrival order, starting with `welcome`.
///
/// Frames are routed to waiting calls and views before they appear here. The stream ends when
/// the connection closes. Unread frames queue up; drop the `Events` if nobody reads it, which
/// does not affect the [`Client`].
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<ServerMsg>,
}

impl Events {
    /// The next frame, or `None` once the connection has closed and every frame was taken.
    pub async fn next(&mut self) -> Option<ServerMsg> {
        self.rx.recv().await
    }

    /// The next frame if one has already arrived.
    pub fn try_next(&mut self) -> Option<ServerMsg> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = ServerMsg;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerMsg>> {
        self.rx.poll_recv(cx)
    }
}

/// A handle to one connection; clones share it. The connection stays open while a handle
/// exists, and is closed normally when the last one is dropped.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    player: PlayerInfo,
    token: String,
    max_frame: usize,
    /// Sent again by [`Client::resume`].
    instance: Option<String>,
    encoding: Encoding,
    outgoing: mpsc::UnboundedSender<Message>,
    shared: Arc<Shared>,
    /// Request ids and ping numbers; one counter keeps them unique per connection.
    next_id: AtomicU64,
}

impl Client {
    /// Open a WebSocket to `url` (`ws://…`), say hello and wait for `welcome`.
    ///
    /// Fails with [`ClientError::Server`] when the server answers `hello` with `error` (a bad
    /// token, an unsupported version) and with [`ClientError::Closed`] when it closes first.
    pub async fn connect(url: &str, hello: Hello) -> Result<(Client, Events), ClientError> {
        let encoding = hello.encoding;
        let instance = hello.instance.clone();
        let mut request = url.into_client_request()?;
        if encoding != Encoding::Json {
            let protocol = HeaderValue::from_static(encoding.subprotocol());
            request
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", protocol);
        }
        let (mut ws, _response) = tokio_tungstenite::connect_async(request).await?;
        let hello = ClientMsg::Hello {
            v: PROTOCOL_VERSION,
            token: hello.token,
            name: hello.name,
            instance: hello.instance,
        };
        ws.send(conn::encode(encoding, &hello)?).await?;
        let welcome = await_welcome(&mut ws, encoding).await?;

        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let _ = events_tx.send(welcome.msg);
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        tokio::spawn(conn::run(
            ws,
            encoding,
            outgoing_rx,
            Arc::clone(&shared),
            events_tx,
        ));
        let client = Client {
            inner: Arc::new(Inner {
                player: welcome.player,
                token: welcome.token,
                max_frame: welcome.max_frame,
                instance,
                encoding,
                outgoing,
                shared,
                next_id: AtomicU64::new(1),
            }),
        };
        Ok((client, Events { rx: events_rx }))
    }

    /// This connection's player, as `welcome` named it.
    pub fn player(&self) -> &PlayerInfo {
        &self.inner.player
    }

    /// The signed token to pass in a later [`Hello`] to come back as the same player.
    pub fn token(&self) -> &str {
        &self.inner.token
    }

    /// The largest frame the server accepts, in bytes.
    pub fn max_frame(&self) -> usize {
        self.inner.max_frame
    }

    /// Create a room and enter it.
    pub async fn create(&self, room: CreateRoom) -> Result<Joined, ClientError> {
        let rid = self.next_id();
        let reply = self
            .request(
                rid,
                ClientMsg::Create {
                    rid: Some(rid),
                    game: room.game,
                    config: room.config,
                    public: room.public,
                    max_players: room.max_players,
                    max_spectators: room.max_spectators,
                    role: room.role,
                    seed: room.seed,
                    key: room.key,
                    password: None,
                    lang: room.lang,
                    tags: room.tags,
                },
            )
            .await?;
        joined(reply)
    }

    /// Quick play: a seat in a public room of `game` made with `config` and `max_players`
    /// that has one free, or in a new one. Answered like [`Client::create`].
    pub async fn join_or_create(
        &self,
        game: &str,
        config: Option<Value>,
        max_players: Option<u32>,
    ) -> Result<Joined, ClientError> {
        let rid = self.next_id();
        let msg = ClientMsg::JoinOrCreate {
            rid: Some(rid),
            game: game.to_owned(),
            config,
            max_players,
            lang: None,
            tags: Vec::new(),
        };
        joined(self.request(rid, msg).await?)
    }

    /// Enter a room by id (`r_…`) or 5-letter code. Its snapshot follows the answer; await it
    /// with [`Client::watch`].
    pub async fn join(&self, room: &str, role: JoinRole) -> Result<Joined, ClientError> {
        self.join_since(room, role, None).await
    }

    /// [`Client::join`] for a client that already holds the room's view at version `since`:
    /// the server sends only the state frames it missed (or a snapshot if it has not kept
    /// them), which apply on top of the view this client holds.
    pub async fn join_since(
        &self,
        room: &str,
        role: JoinRole,
        since: Option<u64>,
    ) -> Result<Joined, ClientError> {
        let rid = self.next_id();
        let msg = ClientMsg::Join {
            rid: Some(rid),
            room: room.to_owned(),
            role,
            since,
            password: None,
            invite: None,
        };
        joined(self.request(rid, msg).await?)
    }

    /// Reconnect after `previous` lost its connection: the same player (its token), the same
    /// encoding, its views and sequence counters carried over, and every room it was in
    /// rejoined with the version it holds — so it receives exactly what it missed. Actions
    /// whose answers were lost can then be resent with their original seq
    /// ([`Client::act_with`]); the server answers them again without applying them twice.
    pub async fn resume(
        url: &str,
        previous: &Client,
        encoding: Encoding,
    ) -> Result<(Client, Events), ClientError> {
        let hello = Hello {
            name: Some(previous.player().name.clone()),
            token: Some(previous.token().to_owned()),
            encoding,
            instance: previous.inner.instance.clone(),
        };
        let (client, events) = Client::connect(url, hello).await?;
        let rooms = {
            let old = previous.inner.shared.lock();
            client.inner.shared.lock().adopt(&old)
        };
        for (room, v) in rooms {
            client.join_since(&room, JoinRole::Any, v).await?;
        }
        Ok((client, events))
    }

    /// Leave a room, releasing a seat. The local view of the room is dropped.
    pub async fn leave(&self, room: &str) -> Result<(), ClientError> {
        let rid = self.next_id();
        let msg = ClientMsg::Leave {
            rid: Some(rid),
            room: room.to_owned(),
        };
        match self.request(rid, msg).await? {
            ServerMsg::Left { .. } => Ok(()),
            other => Err(unexpected("left", &other)),
        }
    }

    /// Say something in a room; everyone there (this client too) receives it as a `chat`
    /// event. Refusals (too long, too fast) arrive as an `error` event naming the room.
    pub fn chat(&self, room: &str, text: &str) -> Result<(), ClientError> {
        self.send(&ClientMsg::Chat {
            room: room.to_owned(),
            text: text.to_owned(),
        })
    }

    /// As the room's host, remove chat message `id` for everyone (each receives
    /// `chat_deleted`); a refusal arrives as an `error` event.
    pub fn chat_delete(&self, room: &str, id: u64) -> Result<(), ClientError> {
        self.send(&ClientMsg::ChatDelete {
            rid: None,
            room: room.to_owned(),
            id,
        })
    }

    /// As the room's host, mute a member's chat (or, with `muted: false`, let them speak
    /// again); the room says so in its chat. A refusal arrives as an `error` event.
    pub fn chat_mute(&self, room: &str, player: &PlayerId, muted: bool) -> Result<(), ClientError> {
        self.send(&ClientMsg::ChatMute {
            rid: None,
            room: room.to_owned(),
            player: player.clone(),
            muted,
        })
    }

    /// A page of a room's kept chat: the newest `limit` messages (at most 100) before
    /// message `before` (the newest ones without it), oldest first, and whether older ones
    /// are kept.
    pub async fn chat_history(
        &self,
        room: &str,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<(Vec<ChatLine>, bool), ClientError> {
        let rid = self.next_id();
        let msg = ClientMsg::ChatHistory {
            rid: Some(rid),
            room: room.to_owned(),
            before,
            limit,
        };
        match self.request(rid, msg).await? {
            ServerMsg::ChatHistory { messages, more, .. } => Ok((messages, more)),
            other => Err(unexpected("chat_history", &other)),
        }
    }

    /// Relay a WebRTC signalling message to another member of a room this client is in.
    pub fn signal(
        &self,
        room: &str,
        to: &PlayerId,
        kind: SignalKind,
        data: Value,
    ) -> Result<(), ClientError> {
        self.send(&ClientMsg::Signal {
            room: room.to_owned(),
            to: to.clone(),
            kind,
            data,
        })
    }

    /// Tell a room whether this client's camera and microphone are on.
    pub fn media(&self, room: &str, camera: bool, mic: bool) -> Result<(), ClientError> {
        self.send(&ClientMsg::Media {
            room: room.to_owned(),
            camera,
            mic,
        })
    }

    /// Seat a bot in a room this client is in; resolves to the bot's membership.
    pub async fn add_bot(&self, room: &str) -> Result<Member, ClientError> {
        let rid = self.next_id();
        let msg = ClientMsg::AddBot {
            rid: Some(rid),
            room: room.to_owned(),
        };
        match self.request(rid, msg).await? {
            ServerMsg::BotAdded { bot, .. } => Ok(bot),
            other => Err(unexpected("bot_added", &other)),
        }
    }

    /// Propose an action with the room's next seq; resolves to the version it produced.
    ///
    /// The server sends the patch before the ack, so the local view already shows the version
    /// when this returns (unless the view is resyncing). A refusal is
    /// [`ClientError::Rejected`].
    ///
    /// Seqs continue above the highest one the server reports in `joined` for this player,
    /// so a new client with an old token never reuses a seq the room already answered.
    pub async fn act(&self, room: &str, action: impl Serialize) -> Result<u64, ClientError> {
        let action =
            serde_json::to_value(action).map_err(|e| ClientError::Encode(e.to_string()))?;
        self.act_with(room, ActOptions::default(), action).await
    }

    /// [`Client::act`] with an explicit seq and/or base version. Several calls awaiting the
    /// same seq all get its answer.
    pub async fn act_with(
        &self,
        room: &str,
        options: ActOptions,
        action: Value,
    ) -> Result<u64, ClientError> {
        self.sequenced(room, options.seq, |room, seq| ClientMsg::Act {
            room,
            seq,
            base: options.base,
            action,
        })
        .await
    }

    /// Take back this player's latest undoable action in a room; resolves to the version the
    /// undo produced (a refusal is [`ClientError::Rejected`]).
    pub async fn undo(&self, room: &str) -> Result<u64, ClientError> {
        self.sequenced(room, None, |room, seq| ClientMsg::Undo {
            room,
            seq,
            ask: false,
        })
        .await
    }

    /// Take back the room's latest undoable action, asking its author to consent when it is
    /// another player's: resolves to the version that took it back or opened the proposal
    /// (the room's `undo_proposal` messages tell how it ends).
    pub async fn ask_undo(&self, room: &str) -> Result<u64, ClientError> {
        self.sequenced(room, None, |room, seq| ClientMsg::Undo {
            room,
            seq,
            ask: true,
        })
        .await
    }

    /// Accept or refuse undo proposal `proposal` (as its proposer, `false` withdraws it);
    /// resolves to the version the answer produced.
    pub async fn consent(
        &self,
        room: &str,
        proposal: u64,
        accept: bool,
    ) -> Result<u64, ClientError> {
        self.sequenced(room, None, |room, seq| ClientMsg::Consent {
            room,
            seq,
            proposal,
            accept,
        })
        .await
    }

    /// Re-apply the action this player last undid, if nothing happened since.
    pub async fn redo(&self, room: &str) -> Result<u64, ClientError> {
        self.sequenced(room, None, |room, seq| ClientMsg::Redo { room, seq })
            .await
    }

    /// Send a message carrying the room's next seq (or `seq`) and await its ack or reject.
    async fn sequenced(
        &self,
        room: &str,
        seq: Option<u64>,
        msg: impl FnOnce(String, u64) -> ClientMsg,
    ) -> Result<u64, ClientError> {
        let (seq, rx) = {
            let mut state = self.inner.shared.lock();
            state.check_open()?;
            let last = state.seqs.entry(room.to_owned()).or_default();
            let seq = seq.unwrap_or(*last + 1);
            *last = (*last).max(seq);
            let (tx, rx) = oneshot::channel();
            state
                .acts
                .entry((room.to_owned(), seq))
                .or_default()
                .push(tx);
            (seq, rx)
        };
        self.send(&msg(room.to_owned(), seq))?;
        rx.await.map_err(|_| self.closed_error())?
    }

    /// The highest seq this client has sent in a room (0 before the first action).
    pub fn last_seq(&self, room: &str) -> u64 {
        let state = self.inner.shared.lock();
        state.seqs.get(room).copied().unwrap_or(0)
    }

    /// The room's view as last received, once its first snapshot has arrived.
    pub fn view(&self, room: &str) -> Option<RoomView> {
        self.inner.shared.lock().view(room)
    }

    /// Follow a room's view, e.g. `rx.wait_for(|v| v.as_ref().is_some_and(|v| v.v >= 3))`.
    /// It turns `None` when the room is left; `wait_for` fails once the connection has closed.
    pub fn watch(&self, room: &str) -> watch::Receiver<Option<RoomView>> {
        self.inner.shared.lock().watch(room)
    }

    /// Ask for a fresh snapshot of a room. The client does this by itself when a patch does
    /// not fit its view.
    pub fn sync(&self, room: &str) -> Result<(), ClientError> {
        self.send(&ClientMsg::Sync {
            room: room.to_owned(),
        })
    }

    /// Send a text frame as is, bypassing the protocol types (for probing the server with bad
    /// input). Answers arrive on [`Events`].
    pub fn send_raw(&self, text: String) -> Result<(), ClientError> {
        self.queue(Message::text(text))
    }

    /// Round trip a `ping`; resolves to the time until its `pong`.
    pub async fn ping(&self) -> Result<Duration, ClientError> {
        let n = self.next_id();
        let rx = {
            let mut state = self.inner.shared.lock();
            state.check_open()?;
            let (tx, rx) = oneshot::channel();
            state.pings.insert(n, tx);
            rx
        };
        let start = Instant::now();
        self.send(&ClientMsg::Ping { n: Some(n) })?;
        rx.await.map_err(|_| self.closed_error())?;
        Ok(start.elapsed())
    }

    /// Start a normal close (code 1000). Pending calls fail with [`ClientError::Closed`] once
    /// the server answers; await [`Client::closed`] for that. Does nothing if already closed.
    pub fn close(&self) {
        let _ = self.inner.outgoing.send(conn::normal_close());
    }

    /// Resolves when the connection has ended, with the server's close code and reason.
    pub async fn closed(&self) -> CloseInfo {
        let mut rx = self.inner.shared.lock().subscribe_closed();
        // The sender lives in the shared state this handle keeps alive, so this cannot fail.
        let info = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|r| r.clone());
        info.unwrap_or_default()
    }

    /// How the connection ended, or `None` while it is open.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.inner.shared.lock().close_info()
    }

    fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn closed_error(&self) -> ClientError {
        self.inner.shared.lock().closed_error()
    }

    fn send(&self, msg: &ClientMsg) -> Result<(), ClientError> {
        self.queue(conn::encode(self.inner.encoding, msg)?)
    }

    fn queue(&self, frame: Message) -> Result<(), ClientError> {
        self.inner
            .outgoing
            .send(frame)
            .map_err(|_| self.closed_error())
    }

    /// Register a waiter for `rid` before sending, so the answer cannot arrive first.
    async fn request(&self, rid: u64, msg: ClientMsg) -> Result<ServerMsg, ClientError> {
        let rx: oneshot::Receiver<Reply> = {
            let mut state = self.inner.shared.lock();
            state.check_open()?;
            let (tx, rx) = oneshot::channel();
            state.requests.insert(rid, tx);
            rx
        };
        self.send(&msg)?;
        rx.await.map_err(|_| self.closed_error())?
    }
}

/// The `welcome` frame and the identity it gives.
struct Welcome {
    msg: ServerMsg,
    player: PlayerInfo,
    token: String,
    max_frame: usize,
}

/// Read until `welcome`; an `error` or a close before it is the server refusing the hello.
async fn await_welcome(ws: &mut Socket, encoding: Encoding) -> Result<Welcome, ClientError> {
    while let Some(frame) = ws.next().await {
        let frame = frame?;
        if let Message::Close(close) = frame {
            return Err(conn::close_info(close).into());
        }
        let Some(decoded) = conn::decode(encoding, &frame) else {
            continue;
        };
        let msg = decoded
            .map_err(|e| ClientError::Protocol(format!("bad frame before welcome: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::Protocol("empty batch before welcome".into()))?;
        return match &msg {
            ServerMsg::Welcome {
                player,
                token,
                max_frame,
                ..
            } => Ok(Welcome {
                player: player.clone(),
                token: token.clone(),
                max_frame: *max_frame,
                msg,
            }),
            ServerMsg::Error {
                code,
                message,
                details,
                ..
            } => Err(ClientError::Server {
                code: *code,
                message: message.clone(),
                details: details.clone(),
            }),
            other => Err(unexpected("welcome", other)),
        };
    }
    Err(ClientError::Closed {
        code: None,
        reason: "connection closed before welcome".into(),
    })
}

fn joined(reply: ServerMsg) -> Result<Joined, ClientError> {
    match reply {
        ServerMsg::Joined {
            room,
            role,
            notice,
            members,
            ..
        } => Ok(Joined {
            room,
            role,
            notice,
            members,
        }),
        other => Err(unexpected("joined", &other)),
    }
}

fn unexpected(wanted: &str, got: &ServerMsg) -> ClientError {
    ClientError::Protocol(format!("expected {wanted}, got {got:?}"))
}
