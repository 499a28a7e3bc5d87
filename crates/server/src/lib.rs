//! The Arbiter server: WebSocket and REST transports in front of the room engine.
//!
//! [`start`] binds a listener and serves until [`Running::stop`]; the `arbiter` binary is a
//! thin CLI over it.

mod admin;
mod admin_cli;
mod admin_keys;
mod api;
mod api_auth;
mod api_keys;
mod app;
mod auth;
mod cluster;
pub mod config;
mod error;
mod external;
mod http_client;
mod hub;
mod idempotency;
mod identity;
mod keys_cli;
mod limits;
mod lobby;
mod lp;
mod matchmaker;
mod metrics;
mod origin;
mod party;
mod party_feed;
mod password;
mod queue;
mod records;
mod request_id;
mod scaffold;
mod session;
mod sessions;
mod store;
mod web;
mod webhooks;
mod ws;

pub use admin_cli::{AdminArgs, run_admin};
pub use app::{Reloader, Settings};
pub use auth::{KeyPolicy, Signer, now_ms};
pub use cluster::ClusterConfig;
pub use identity::JwtSettings;
pub use keys_cli::{KeysCommand, run_keys};
pub use limits::{IpNet, Limits, Rate};
pub use queue::QueueLimits;
pub use records::Records;
pub use scaffold::{NewGameError, new_game, next_steps};
pub use store::SqlStore;

use app::App;
use arbiter_engine::{Persistence, Registry, Rooms};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{get, post, put};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a stopping server waits for connections to say goodbye.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP routes.
fn router(app: App) -> Router {
    // The external-game API's mutating routes take an `Idempotency-Key`.
    let once = || axum::middleware::from_fn_with_state(app.clone(), idempotency::idempotent);
    Router::new()
        .route("/", get(web::index))
        .route("/web/{*path}", get(web::file))
        .route("/ws", get(ws::upgrade))
        .route("/hub/ws", get(hub::upgrade))
        .route("/hub/games", get(hub::games))
        .route("/hub/rooms", get(hub::rooms))
        .route("/lp", post(lp::open))
        .route("/lp/{sid}", post(lp::send).get(lp::poll).delete(lp::end))
        .route("/healthz", get(api::health))
        .route("/readyz", get(api::ready))
        .route("/api/v1/admin/rooms", get(admin::rooms))
        .route("/api/v1/admin/rooms/{id}", get(admin::inspect))
        .route("/api/v1/admin/rooms/{id}/close", post(admin::close))
        .route("/api/v1/admin/rooms/{id}/kick", post(admin::kick))
        .route("/api/v1/admin/drain", post(admin::drain))
        .route("/api/v1/admin/reload", post(admin::reload))
        .route(
            "/api/v1/admin/keys",
            post(admin_keys::create).get(admin_keys::list),
        )
        .route("/api/v1/admin/keys/{id}", get(admin_keys::show))
        .route("/api/v1/admin/keys/{id}/revoke", post(admin_keys::revoke))
        .route("/api/v1/admin/keys/{id}/rotate", post(admin_keys::rotate))
        .route("/api/v2/openapi.json", get(external::openapi))
        .route("/api/v2/key", get(admin_keys::whoami))
        .route(
            "/api/v2/games",
            post(external::register).layer(once()).get(external::list),
        )
        .route("/api/v2/games/{id}", get(external::show))
        .route(
            "/api/v2/webhooks",
            post(webhooks::register).layer(once()).get(webhooks::list),
        )
        .route(
            "/api/v2/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/v2/sessions/validate", post(sessions::validate))
        .route("/api/v2/sessions/recover", post(sessions::recover))
        .route("/api/v2/sessions/{id}", get(sessions::show))
        .route(
            "/api/v2/sessions/{id}/state",
            put(sessions::write_state)
                .layer(once())
                .get(sessions::read_state),
        )
        .route(
            "/api/v2/sessions/{id}/status",
            post(sessions::bulk_status).layer(once()),
        )
        .route(
            "/api/v2/sessions/{id}/players/{player}/status",
            post(sessions::status).layer(once()),
        )
        .route(
            "/api/v2/sessions/{id}/players/{player}/heartbeat",
            post(sessions::heartbeat).layer(once()),
        )
        .route(
            "/api/v2/sessions/{id}/end",
            post(sessions::end).layer(once()),
        )
        .route(
            "/api/v2/sessions/{id}/return",
            post(sessions::return_players).layer(once()),
        )
        .route("/api/v1/rooms/{id}/external", post(sessions::member_ticket))
        .route("/metrics", get(metrics::serve))
        .route("/api/v1/cluster", get(api::cluster))
        .route("/api/v1/games", get(api::games))
        .route("/api/v1/external-games", get(external::listing))
        .route("/api/v1/rooms", get(api::rooms))
        .route("/api/v1/rooms/{id}", get(api::room))
        .route("/api/v1/rooms/{id}/log", get(api::log))
        .route("/api/v1/rooms/{id}/state", get(api::state))
        .route("/api/v1/rooms/{id}/history", get(api::history))
        .route("/api/v1/rooms/{id}/legal", get(api::legal))
        .route("/api/v1/rooms/{id}/results", get(api::room_results))
        .route("/api/v1/players/{id}/results", get(api::player_results))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            origin::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            limits::guard,
        ))
        .layer(axum::middleware::from_fn(request_id::tag))
        .with_state(app)
}

/// A server that is accepting connections.
pub struct Running {
    addr: SocketAddr,
    app: App,
    stop: watch::Sender<bool>,
    rooms: Rooms,
    served: JoinHandle<io::Result<()>>,
    alive: mpsc::Receiver<()>,
}

impl Running {
    /// The address it listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live rooms, for embedding the server in a larger program (and for tests).
    pub fn rooms(&self) -> &Rooms {
        &self.rooms
    }

    /// Say how to compute fresh settings when an operator asks for a reload (`POST
    /// /api/v1/admin/reload`, or [`Running::reload`] on SIGHUP). Only the first call counts.
    pub fn set_reloader(&self, reloader: Reloader) {
        if !self.app.set_reloader(reloader) {
            tracing::warn!("a reloader was already set; keeping the first");
        }
    }

    /// Compute fresh settings and put them in force for new connections and new rooms.
    pub fn reload(&self) -> Result<(), String> {
        self.app.reload().map(drop).map_err(|e| e.message)
    }

    /// Connections (WebSocket and long-poll) currently open.
    pub fn open_connections(&self) -> usize {
        self.app.open_connections()
    }

    /// Stop gracefully. A cluster node first hands its rooms to the other nodes (their
    /// clients are told to reconnect, and resume on the node that takes the room). Then:
    /// stop accepting, close every WebSocket with 1012 after flushing what is queued for it,
    /// wait for the connections to end, stop the rooms.
    pub async fn stop(self) -> io::Result<()> {
        if let Some(cluster) = self.app.cluster() {
            cluster.drain().await;
        }
        let Running {
            app,
            stop,
            rooms,
            served,
            mut alive,
            ..
        } = self;
        // The app holds a connection token of its own; only connections may keep us waiting.
        drop(app);
        let _ = stop.send(true);
        let served = served.await.map_err(io::Error::other);
        // `recv` returns `None` once every connection task has dropped its token.
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, alive.recv()).await;
        if drained.is_err() {
            tracing::warn!("connections still open after the drain timeout");
        }
        // Under relaxed durability a room's last answers may have left before its entries
        // were stored: the process must not exit before every room has stored them.
        if tokio::time::timeout(DRAIN_TIMEOUT, rooms.shut_down())
            .await
            .is_err()
        {
            tracing::warn!("rooms still storing after the drain timeout");
        }
        served?
    }

    /// Wait until the server stops by itself (it only does on a listener failure).
    pub async fn wait(&mut self) -> io::Result<()> {
        (&mut self.served).await.map_err(io::Error::other)?
    }
}

/// Accept connections and serve HTTP on each (upgrades included) until `stop`; then stop
/// accepting and wait for the HTTP connections to finish what they are doing (an upgraded
/// WebSocket is no longer hyper's: its own task closes it).
///
/// Not `axum::serve`: it offers no header read timeout, and a client that trickles its
/// request headers in (slowloris) would hold its socket for ever.
async fn serve(listener: TcpListener, app: App, mut stop: watch::Receiver<bool>) -> io::Result<()> {
    let router = router(app.clone());
    let graceful = GracefulShutdown::new();
    let mut accepted = 0u64;
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pass, as axum::serve does.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        // Nagle would hold a patch's ack back until the client's delayed ACK (~40 ms).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move { tower_service::Service::call(&mut router, req).await }
        });
        let header_timeout = limits::spread(app.settings().limits.header_timeout, accepted);
        accepted = accepted.wrapping_add(1);
        let watcher = graceful.watcher();
        let mut stopping = stop.clone();
        tokio::spawn(async move {
            // hyper's header timeout starts once it has read enough to tell HTTP/1 from
            // HTTP/2; a socket that sends nothing at all is the first deadline's. A stopping
            // server does not wait for it (the watcher would hold the shutdown up).
            let mut first = [0; 1];
            tokio::select! {
                peeked = tokio::time::timeout(header_timeout, tcp.peek(&mut first)) => {
                    if !matches!(peeked, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                }
                () = stopped(&mut stopping) => return,
            }
            let mut http = auto::Builder::new(TokioExecutor::new());
            http.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = http.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::trace!(error = %e, "HTTP connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Resolves once `stop` says so (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await point.
    let _ = stop.wait_for(|stop| *stop).await.map(drop);
}

/// Pending connections the kernel keeps for the server to accept. Tokio's default (1,024)
/// overflows when a few thousand clients connect at once — a dropped SYN costs that client a
/// one-second retransmit — so ask for more; the kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 8192;

fn bind(listen: SocketAddr) -> io::Result<TcpListener> {
    let socket = if listen.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(listen)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Bind `listen` and serve `registry`'s games, keeping rooms in memory only.
pub async fn start(
    listen: SocketAddr,
    registry: Registry,
    settings: Settings,
    signer: Signer,
) -> io::Result<Running> {
    start_with(listen, registry, settings, signer, None).await
}

/// Bind `listen` and serve `registry`'s games, keeping rooms in `persistence` when given:
/// every room it holds is restored (and its timers resume) before the first connection. API
/// keys live in memory ([`start_full`] keeps them in a database).
pub async fn start_with(
    listen: SocketAddr,
    registry: Registry,
    settings: Settings,
    signer: Signer,
    persistence: Option<Persistence>,
) -> io::Result<Running> {
    start_full(listen, registry, settings, signer, persistence, None).await
}

/// [`start_with`], keeping API keys in `records` (usually [`SqlStore::records`] of the
/// rooms' store) when given, in memory otherwise.
pub async fn start_full(
    listen: SocketAddr,
    registry: Registry,
    settings: Settings,
    signer: Signer,
    persistence: Option<Persistence>,
    records: Option<Records>,
) -> io::Result<Running> {
    // Before any room starts: rooms look their metric handles up when they are built.
    let metrics = if settings.metrics {
        metrics::recorder()
    } else {
        None
    };
    let rooms = Rooms::with_persistence(registry, settings.rooms, persistence);
    let (stop, stop_rx) = watch::channel(false);
    let (listener, cluster) = match settings.cluster.clone() {
        // A cluster node takes rooms over one by one (see `cluster`), never all at start. It
        // binds first: its first heartbeat registers the address other nodes forward to.
        Some(config) => {
            let listener = bind(listen)?;
            let addr = listener.local_addr()?.to_string();
            let cluster = cluster::Cluster::start(config, addr, rooms.clone(), stop_rx.clone())
                .await
                .map_err(io::Error::other)?;
            tracing::info!(node = cluster.id(), "joined the cluster");
            (listener, Some(cluster))
        }
        None => {
            let restored = rooms.restore_all().await.map_err(io::Error::other)?;
            if restored > 0 {
                tracing::info!(rooms = restored, "restored rooms from storage");
            }
            (bind(listen)?, None)
        }
    };
    let addr = listener.local_addr()?;
    let (alive_tx, alive) = mpsc::channel(1);
    let identity = identity::Identity::new(signer, settings.jwt.as_ref())?;
    let app = App::new(
        rooms.clone(),
        cluster,
        identity,
        settings,
        metrics,
        stop_rx.clone(),
        alive_tx,
        records,
    );
    tokio::spawn(webhooks::dispatch(app.downgrade()));
    let handle = app.clone();
    let served = tokio::spawn(serve(listener, app, stop_rx));
    tracing::info!(%addr, "arbiter listening");
    Ok(Running {
        addr,
        app: handle,
        stop,
        rooms,
        served,
        alive,
    })
}
