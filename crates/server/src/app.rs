//! State shared by every request and connection.

use crate::cluster::{Cluster, ClusterConfig};
use crate::identity::{Identity, JwtSettings};
use crate::limits::{AddressLimiter, Census, Limits, Over, Slot};
use crate::lp::LpCmd;
use crate::metrics::{CONNECTIONS_OPEN, CONNECTIONS_OPENED};
use crate::queue::{ConnQueue, QueueLimits, QueuedBytes, Wire};
use arbiter_engine::{ConnId, CreateKey, CreateOptions, GameError, RoomHandle, RoomLimits, Rooms};
use arbiter_protocol::{ErrorCode, PlayerId, RoomInfo};
use metrics::{Gauge, counter, gauge};
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Computes fresh [`Settings`] for a reload, or says why it cannot (e.g. a bad file).
pub type Reloader = Box<dyn Fn() -> Result<Settings, String> + Send + Sync>;

/// Tunables of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest incoming WebSocket frame or message, in bytes.
    pub max_frame: usize,
    /// A connection that has not said `hello` by then is closed.
    pub hello_timeout: Duration,
    /// Bounds of each connection's outbound queue.
    pub queue: QueueLimits,
    /// How often the server pings each WebSocket client.
    pub heartbeat_interval: Duration,
    /// A client from which nothing (not even a pong) arrived for this long is disconnected.
    pub heartbeat_timeout: Duration,
    /// A write that takes longer than this means the client stopped reading.
    pub write_timeout: Duration,
    /// How long a long-poll `GET` waits for a message before answering empty.
    pub poll_timeout: Duration,
    /// A long-poll session not polled for this long counts as disconnected.
    pub poll_idle_timeout: Duration,
    /// Room limits and lifetimes.
    pub rooms: RoomLimits,
    /// Web origins allowed to use the server from a browser (`*` for any); empty: any
    /// origin may open a WebSocket and no CORS headers are sent.
    pub allowed_origins: Vec<String>,
    /// Run as a node of a cluster (Redis + PostgreSQL) rather than alone.
    pub cluster: Option<ClusterConfig>,
    /// Record Prometheus metrics and serve them at `/metrics`.
    pub metrics: bool,
    /// A bearer token that opens the admin API (`/api/v1/admin/…`); unset: the admin API is
    /// closed.
    pub admin_token: Option<String>,
    /// Accept JWTs from the operator's auth in `hello` (and as REST bearer tokens); `None`:
    /// only this server's guest tokens. Read at start.
    pub jwt: Option<JwtSettings>,
    /// What each client may do: message rates, connections, rooms, sizes.
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_frame: arbiter_protocol::DEFAULT_MAX_FRAME,
            hello_timeout: Duration::from_secs(10),
            queue: QueueLimits::default(),
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
            poll_timeout: Duration::from_secs(25),
            poll_idle_timeout: Duration::from_secs(30),
            rooms: RoomLimits::default(),
            allowed_origins: Vec::new(),
            cluster: None,
            metrics: true,
            admin_token: None,
            jwt: None,
            limits: Limits::default(),
        }
    }
}

pub(crate) struct Inner {
    rooms: Rooms,
    cluster: Option<Cluster>,
    /// Guest tokens and, when configured, JWTs.
    identity: Identity,
    /// Swapped whole by a reload; readers take the current one.
    settings: RwLock<Arc<Settings>>,
    /// Computes fresh settings for a reload (the binary re-reads its configuration).
    reloader: OnceLock<Reloader>,
    /// What `/metrics` renders; `None` when metrics are off.
    metrics: Option<PrometheusHandle>,
    shutdown: watch::Receiver<bool>,
    next_conn: AtomicU64,
    open_conns: AtomicUsize,
    /// Each connection task holds a clone; the server waits for all of them to drop it.
    alive: mpsc::Sender<()>,
    /// Open long-poll sessions by id.
    long_polls: LongPolls,
    /// Bytes waiting in all outbound queues.
    queued_bytes: Arc<QueuedBytes>,
    /// Set by the admin API's drain: new rooms go to other nodes, `/readyz` says so.
    draining: AtomicBool,
    /// Open connections by client address and player, for the connection limits.
    census: Arc<Census>,
    /// HTTP requests by client address, for `limits.http`.
    http_limiter: Mutex<Arc<AddressLimiter>>,
    /// New connections by client address, for `limits.connect`.
    connect_limiter: Mutex<Arc<AddressLimiter>>,
    /// The rooms each player created on this node (closed ones are pruned when counted),
    /// for the rooms-per-player limit.
    created: Mutex<HashMap<PlayerId, Vec<RoomHandle>>>,
    /// Held by a keyed `create` from looking its key up until its room is stored, so a
    /// retry racing the request it repeats (the first connection died, its `create` is
    /// still running) finds that room instead of making another.
    keyed_creates: tokio::sync::Mutex<()>,
    /// `join_or_create`'s pools of rooms.
    matchmaker: crate::matchmaker::Matchmaker,
    /// The public list `watch_rooms` follows.
    lobby: crate::lobby::Lobby,
    /// What the Go server's `reconnect` finds (see [`crate::hub`]).
    hub_sessions: crate::hub::Sessions,
    /// API keys and the other records of the external-game API.
    records: RecordsSource,
    /// The wall clock at start and tokio's instant then: [`App::clock_ms`] runs from them, so
    /// paused time in tests moves key expiry as it moves timers.
    epoch: (u64, tokio::time::Instant),
    /// Each API key's rate limit.
    key_limiter: crate::limits::KeyLimiter,
    /// When this node last wrote each key's `last_used_ms`: at most once a minute per key.
    key_used: Mutex<HashMap<String, u64>>,
    /// When this node last swept idempotency answers past their retention window.
    idempotency_swept: AtomicU64,
    /// Wakes the webhook sender when an event is queued.
    webhook_wake: Arc<tokio::sync::Notify>,
    /// The parties whose logs this node reads for webhook events, and how far each feed
    /// read. Async: the first follow of a party asks the room where to start while holding
    /// it, so a party never gets two feeds.
    party_feeds: tokio::sync::Mutex<HashMap<String, crate::party_feed::Progress>>,
}

/// Where the records live: the rooms' database, or (a server keeping nothing on disk) a
/// private one in memory, opened on first use.
pub(crate) enum RecordsSource {
    /// The rooms' database.
    Given(crate::records::Records),
    /// In memory, opened when first needed.
    Memory(tokio::sync::OnceCell<crate::records::Records>),
}

/// Open long-poll sessions, each reached through its task's command channel.
#[derive(Default)]
pub(crate) struct LongPolls(Mutex<HashMap<String, mpsc::Sender<LpCmd>>>);

impl LongPolls {
    fn map(&self) -> MutexGuard<'_, HashMap<String, mpsc::Sender<LpCmd>>> {
        // Single inserts and removes: a poisoned lock still holds a consistent map.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, sid: &str) -> Option<mpsc::Sender<LpCmd>> {
        self.map().get(sid).cloned()
    }

    pub(crate) fn insert(&self, sid: String, tx: mpsc::Sender<LpCmd>) {
        self.map().insert(sid, tx);
    }

    pub(crate) fn remove(&self, sid: &str) {
        self.map().remove(sid);
    }
}

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub(crate) struct App(Arc<Inner>);

/// Held by a connection task for its whole life.
pub(crate) struct Alive {
    app: App,
    _token: mpsc::Sender<()>,
    /// [`CONNECTIONS_OPEN`] for the connection's transport.
    open: Gauge,
}

impl Drop for Alive {
    fn drop(&mut self) {
        // The gauge first: whoever sees the count drop finds the gauge already down.
        self.open.decrement(1.0);
        self.app.0.open_conns.fetch_sub(1, Ordering::Relaxed);
    }
}

impl App {
    // One call site (`start_full`), each argument a distinct part of the server.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        rooms: Rooms,
        cluster: Option<Cluster>,
        identity: Identity,
        settings: Settings,
        metrics: Option<PrometheusHandle>,
        shutdown: watch::Receiver<bool>,
        alive: mpsc::Sender<()>,
        records: Option<crate::records::Records>,
    ) -> Self {
        let http_limiter = Mutex::new(Arc::new(AddressLimiter::new(settings.limits.http)));
        let connect_limiter = Mutex::new(Arc::new(AddressLimiter::new(settings.limits.connect)));
        Self(Arc::new(Inner {
            rooms,
            cluster,
            identity,
            settings: RwLock::new(Arc::new(settings)),
            reloader: OnceLock::new(),
            metrics,
            shutdown,
            next_conn: AtomicU64::new(1),
            open_conns: AtomicUsize::new(0),
            alive,
            long_polls: LongPolls::default(),
            queued_bytes: Arc::default(),
            draining: AtomicBool::new(false),
            http_limiter,
            connect_limiter,
            census: Arc::default(),
            created: Mutex::default(),
            keyed_creates: tokio::sync::Mutex::default(),
            matchmaker: crate::matchmaker::Matchmaker::default(),
            lobby: crate::lobby::Lobby::default(),
            hub_sessions: crate::hub::Sessions::default(),
            records: match records {
                Some(records) => RecordsSource::Given(records),
                None => RecordsSource::Memory(tokio::sync::OnceCell::new()),
            },
            epoch: (crate::auth::now_ms(), tokio::time::Instant::now()),
            key_limiter: crate::limits::KeyLimiter::new(),
            key_used: Mutex::default(),
            idempotency_swept: AtomicU64::new(0),
            webhook_wake: Arc::default(),
            party_feeds: tokio::sync::Mutex::default(),
        }))
    }

    /// The records of the external-game API (API keys).
    pub(crate) async fn records(&self) -> Result<&crate::records::Records, GameError> {
        match &self.0.records {
            RecordsSource::Given(records) => Ok(records),
            RecordsSource::Memory(cell) => cell
                .get_or_try_init(crate::records::Records::memory)
                .await
                .map_err(|e| {
                    GameError::new(
                        ErrorCode::Unavailable,
                        format!("the key records cannot be opened: {e}"),
                    )
                }),
        }
    }

    /// Whether the records are open (a server without a database opens its in-memory ones on
    /// first use only).
    pub(crate) fn records_opened(&self) -> bool {
        match &self.0.records {
            RecordsSource::Given(_) => true,
            RecordsSource::Memory(cell) => cell.initialized(),
        }
    }

    /// Wakes the webhook sender.
    pub(crate) fn webhook_wake(&self) -> &Arc<tokio::sync::Notify> {
        &self.0.webhook_wake
    }

    /// The parties this node follows for webhook events (see [`crate::party_feed`]).
    pub(crate) fn party_feeds(
        &self,
    ) -> &tokio::sync::Mutex<HashMap<String, crate::party_feed::Progress>> {
        &self.0.party_feeds
    }

    /// Wall-clock time in ms since the epoch, as this server counts it: the time at start
    /// plus tokio's time since (which tests pause and advance).
    pub(crate) fn clock_ms(&self) -> u64 {
        let (wall, instant) = self.0.epoch;
        wall.saturating_add(u64::try_from(instant.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Whether this node's sweep of old idempotency answers is due at `now_ms` (none in the
    /// last minute); if so, it counts as done now.
    pub(crate) fn idempotency_sweep_due(&self, now_ms: u64) -> bool {
        let last = self.0.idempotency_swept.load(Ordering::Relaxed);
        now_ms.saturating_sub(last) >= 60_000
            && self
                .0
                .idempotency_swept
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// Each API key's rate limit.
    pub(crate) fn key_limiter(&self) -> &crate::limits::KeyLimiter {
        &self.0.key_limiter
    }

    /// Whether key `id`'s `last_used_ms` is due a write at `now_ms` (none from this node in
    /// the last minute); if so, it counts as written now.
    pub(crate) fn key_use_due(&self, id: &str, now_ms: u64) -> bool {
        const EVERY_MS: u64 = 60_000;
        // Single inserts: a poisoned lock still holds a consistent map.
        let mut used = self.0.key_used.lock().unwrap_or_else(|p| p.into_inner());
        match used.get(id) {
            Some(&last) if now_ms.saturating_sub(last) < EVERY_MS => false,
            _ => {
                used.insert(id.to_owned(), now_ms);
                true
            }
        }
    }

    /// What the Go server's `reconnect` finds.
    pub(crate) fn hub_sessions(&self) -> &crate::hub::Sessions {
        &self.0.hub_sessions
    }

    /// The public list `watch_rooms` follows.
    pub(crate) fn lobby(&self) -> &crate::lobby::Lobby {
        &self.0.lobby
    }

    /// A reference that does not keep the app alive (for tasks that end with it).
    pub(crate) fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.0)
    }

    /// The app, while it lives.
    pub(crate) fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(Self)
    }

    pub(crate) fn rooms(&self) -> &Rooms {
        &self.0.rooms
    }

    pub(crate) fn matchmaker(&self) -> &crate::matchmaker::Matchmaker {
        &self.0.matchmaker
    }

    /// The cluster this node belongs to, if any.
    pub(crate) fn cluster(&self) -> Option<&Cluster> {
        self.0.cluster.as_ref()
    }

    /// A room by id or code: live here, or (in a cluster) wherever it is served.
    pub(crate) async fn locate(&self, name: &str) -> Result<RoomHandle, GameError> {
        if let Some(h) = self.0.rooms.find(name) {
            return Ok(h);
        }
        if !arbiter_engine::could_name_a_room(name) {
            return Err(GameError::new(
                ErrorCode::RoomNotFound,
                format!("no room {name:?}"),
            ));
        }
        match &self.0.cluster {
            Some(cluster) => cluster.locate(name).await,
            None => match self.0.rooms.find_or_load(name).await {
                Ok(Some(h)) => Ok(h),
                Ok(None) => Err(GameError::new(
                    ErrorCode::RoomNotFound,
                    format!("no room {name:?}"),
                )),
                Err(e) => Err(GameError::new(
                    ErrorCode::Unavailable,
                    format!("the room cannot be loaded from storage: {e}"),
                )),
            },
        }
    }

    /// Create a room here (and, in a cluster, register it). A draining node creates none.
    pub(crate) async fn create_room(
        &self,
        game: &str,
        config: serde_json::Value,
        options: CreateOptions,
    ) -> Result<RoomHandle, GameError> {
        if self.draining() {
            return Err(GameError::new(
                ErrorCode::Unavailable,
                "this node is draining and creates no rooms; connect to another node",
            ));
        }
        let room = self.0.rooms.create(game, config, options).await?;
        if let Some(cluster) = &self.0.cluster {
            cluster.created(&room).await?;
        }
        Ok(room)
    }

    /// Create a room for `player`, unless they already have their maximum of live rooms
    /// here. A request whose key made a room before gets that room instead (a retry after a
    /// lost answer), or `ROOM_CLOSED` if it has closed since.
    pub(crate) async fn create_room_for(
        &self,
        player: &PlayerId,
        game: &str,
        config: serde_json::Value,
        options: CreateOptions,
    ) -> Result<RoomHandle, GameError> {
        let _keyed = match &options.key {
            Some(key) => {
                let held = self.0.keyed_creates.lock().await;
                if let Some(room) = self.created_by(key).await? {
                    return Ok(room);
                }
                Some(held)
            }
            None => None,
        };
        let max = self.settings().limits.max_rooms_per_player;
        let live = |created: &mut HashMap<PlayerId, Vec<RoomHandle>>| {
            let rooms = created.entry(player.clone()).or_default();
            rooms.retain(|room| !room.is_closed());
            rooms.len()
        };
        // With a store, its count: every node sharing it, and rooms from before a restart.
        let stored = self.0.rooms.live_created(player).await.map_err(|e| {
            GameError::new(
                ErrorCode::Unavailable,
                format!("the player's rooms cannot be counted: {e}"),
            )
        })?;
        let have = match stored {
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
            None => live(&mut self.created()),
        };
        if have >= max {
            return Err(GameError::new(
                ErrorCode::RateLimited,
                format!(
                    "you have {max} live rooms, the most one player may create; leave one to close it first"
                ),
            ));
        }
        let options = CreateOptions {
            creator: Some(player.clone()),
            ..options
        };
        let room = self.create_room(game, config, options).await?;
        // Without a store the node's own handles are the count; with one, the store counts.
        if stored.is_none() {
            let mut created = self.created();
            live(&mut created);
            created
                .entry(player.clone())
                .or_default()
                .push(room.clone());
        }
        Ok(room)
    }

    /// The room a keyed `create` made before, wherever it lives now.
    pub(crate) async fn created_by(
        &self,
        key: &CreateKey,
    ) -> Result<Option<RoomHandle>, GameError> {
        let id = self.0.rooms.created_by(key).await.map_err(|e| {
            GameError::new(
                ErrorCode::Unavailable,
                format!("the request's key cannot be looked up: {e}"),
            )
        })?;
        let Some(id) = id else { return Ok(None) };
        match self.locate(&id).await {
            Ok(room) => Ok(Some(room)),
            Err(e) if e.code == ErrorCode::RoomNotFound => Err(GameError::new(
                ErrorCode::RoomClosed,
                format!("the room this request created, {id}, has closed"),
            )),
            Err(e) => Err(e),
        }
    }

    fn created(&self) -> MutexGuard<'_, HashMap<PlayerId, Vec<RoomHandle>>> {
        // Pushes and prunes only: a poisoned lock still holds a consistent map.
        self.0.created.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Count a new connection from `ip`, unless that passes a connection limit.
    pub(crate) fn admit(&self, ip: std::net::IpAddr) -> Result<Slot, Over> {
        let limits = &self.settings().limits;
        let admitted = self.0.census.admit(ip, limits, || {
            take(&self.0.connect_limiter, limits.connect, ip).map_err(Over::Connects)
        });
        if let Err(over) = admitted {
            counter!(arbiter_engine::metrics::RATE_LIMITED, "what" => over.as_str()).increment(1);
        }
        admitted
    }

    /// Take one HTTP request of `ip`'s from its bucket, or say how long until it has one.
    pub(crate) fn admit_request(&self, ip: std::net::IpAddr) -> Result<(), Duration> {
        let rate = self.settings().limits.http;
        take(&self.0.http_limiter, rate, ip)
    }

    /// The client's address: the peer's, or the one a trusted proxy forwarded.
    pub(crate) fn client_ip(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        crate::limits::client_ip(
            peer.ip(),
            forwarded,
            &self.settings().limits.trusted_proxies,
        )
    }

    /// True once an operator drained this node.
    pub(crate) fn draining(&self) -> bool {
        self.0.draining.load(Ordering::Relaxed)
    }

    /// Stop taking new rooms; in a cluster, hand every room served here to the other nodes.
    /// Returns how many rooms were handed over.
    pub(crate) async fn drain(&self) -> usize {
        self.0.draining.store(true, Ordering::Relaxed);
        match &self.0.cluster {
            Some(cluster) => {
                let rooms = self.0.rooms.len();
                cluster.drain().await;
                rooms
            }
            None => 0,
        }
    }

    /// A room's public facts by id or code, wherever it is served.
    pub(crate) async fn room_info(&self, name: &str) -> Option<RoomInfo> {
        if let Some(h) = self.0.rooms.find(name) {
            return Some(h.info());
        }
        let cluster = self.0.cluster.as_ref()?;
        let id = self.room_id(name).await?;
        cluster.room_info(&id).await
    }

    /// A room's id from its id or code (a code is looked up in storage).
    pub(crate) async fn room_id(&self, name: &str) -> Option<String> {
        if !arbiter_engine::could_name_a_room(name) {
            return None;
        }
        if name.starts_with("r_") {
            return Some(name.to_owned());
        }
        if let Some(h) = self.0.rooms.find(name) {
            return Some(h.id().to_owned());
        }
        let code = name.trim().to_ascii_uppercase();
        self.0.rooms.store()?.find_code(&code).await.ok()?
    }

    /// The rooms to list: this node's, or the whole cluster's.
    pub(crate) async fn list_rooms(&self, public_only: bool) -> Result<Vec<RoomInfo>, GameError> {
        match &self.0.cluster {
            Some(cluster) => cluster.list(public_only).await,
            None => Ok(self.0.rooms.list(public_only)),
        }
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.identity
    }

    /// The settings in force now.
    pub(crate) fn settings(&self) -> Arc<Settings> {
        self.0
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Say how to compute fresh settings for a reload (once).
    pub(crate) fn set_reloader(&self, reloader: Reloader) -> bool {
        self.0.reloader.set(reloader).is_ok()
    }

    /// Compute fresh settings and put them in force: new connections and new rooms get them.
    /// What cannot change while running (the cluster, the metrics switch) keeps its value.
    pub(crate) fn reload(&self) -> Result<Arc<Settings>, GameError> {
        let reloader = self.0.reloader.get().ok_or_else(|| {
            GameError::new(
                ErrorCode::Unsupported,
                "this server was not started from a configuration it can read again",
            )
        })?;
        let mut fresh = reloader().map_err(|e| GameError::new(ErrorCode::InvalidConfig, e))?;
        let current = self.settings();
        fresh.cluster = current.cluster.clone();
        fresh.metrics = current.metrics;
        self.0.rooms.set_limits(fresh.rooms);
        // Keys written by `arbiter signing-keys rotate` since the start sign from now on.
        match self.0.identity.signer().refresh() {
            Ok(0) => {}
            Ok(added) => tracing::info!(added, "token signing keys loaded"),
            Err(e) => {
                return Err(GameError::new(
                    ErrorCode::Internal,
                    format!("cannot read the signing keys: {e}"),
                ));
            }
        }
        let fresh = Arc::new(fresh);
        *self.0.settings.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        tracing::info!("settings reloaded");
        Ok(fresh)
    }

    /// The recorder `/metrics` renders, when metrics are on.
    pub(crate) fn metrics(&self) -> Option<&PrometheusHandle> {
        self.0.metrics.as_ref()
    }

    /// A fresh outbound queue for a connection of this server.
    pub(crate) fn new_queue(
        &self,
        encoding: arbiter_protocol::Encoding,
        wire: Option<Arc<dyn Wire>>,
    ) -> Arc<ConnQueue> {
        Arc::new(ConnQueue::new(
            encoding,
            self.settings().queue,
            self.0.queued_bytes.clone(),
            wire,
        ))
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.0.queued_bytes.get()
    }

    pub(crate) fn long_polls(&self) -> &LongPolls {
        &self.0.long_polls
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.0.shutdown.clone()
    }

    pub(crate) fn next_conn_id(&self) -> ConnId {
        self.0.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.0.open_conns.load(Ordering::Relaxed)
    }

    /// A connection of `transport` (`ws` or `lp`) opened; it is counted open until the
    /// returned guard drops.
    pub(crate) fn connection_opened(&self, transport: &'static str) -> Alive {
        self.0.open_conns.fetch_add(1, Ordering::Relaxed);
        counter!(CONNECTIONS_OPENED, "transport" => transport).increment(1);
        let open = gauge!(CONNECTIONS_OPEN, "transport" => transport);
        open.increment(1.0);
        Alive {
            app: self.clone(),
            _token: self.0.alive.clone(),
            open,
        }
    }
}

/// Take a token of `ip`'s from `limiter`, first rebuilding it if a reload changed its rate.
fn take(
    limiter: &Mutex<Arc<AddressLimiter>>,
    rate: crate::limits::Rate,
    ip: std::net::IpAddr,
) -> Result<(), Duration> {
    let limiter = {
        // One swap per reload: a poisoned lock still holds a whole limiter.
        let mut current = limiter.lock().unwrap_or_else(|p| p.into_inner());
        if current.rate() != rate {
            *current = Arc::new(AddressLimiter::new(rate));
        }
        current.clone()
    };
    limiter.check(ip)
}
