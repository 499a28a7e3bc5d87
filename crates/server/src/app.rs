//! State shared by every request and connection.

use crate::auth::Signer;
use arbiter_engine::{ConnId, RoomLimits, Rooms};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Tunables of a running server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest incoming WebSocket frame or message, in bytes.
    pub max_frame: usize,
    /// A connection that has not said `hello` by then is closed.
    pub hello_timeout: Duration,
    /// Frames a connection's outbound queue holds before the client counts as too slow.
    pub outbox_frames: usize,
    /// Room limits and lifetimes.
    pub rooms: RoomLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_frame: arbiter_protocol::DEFAULT_MAX_FRAME,
            hello_timeout: Duration::from_secs(10),
            outbox_frames: 1024,
            rooms: RoomLimits::default(),
        }
    }
}

struct Inner {
    rooms: Rooms,
    signer: Signer,
    settings: Settings,
    shutdown: watch::Receiver<bool>,
    next_conn: AtomicU64,
    open_conns: AtomicUsize,
    /// Each connection task holds a clone; the server waits for all of them to drop it.
    alive: mpsc::Sender<()>,
}

/// Cheap to clone; handed to every handler.
#[derive(Clone)]
pub(crate) struct App(Arc<Inner>);

/// Held by a connection task for its whole life.
pub(crate) struct Alive {
    app: App,
    _token: mpsc::Sender<()>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.app.0.open_conns.fetch_sub(1, Ordering::Relaxed);
    }
}

impl App {
    pub(crate) fn new(
        rooms: Rooms,
        signer: Signer,
        settings: Settings,
        shutdown: watch::Receiver<bool>,
        alive: mpsc::Sender<()>,
    ) -> Self {
        Self(Arc::new(Inner {
            rooms,
            signer,
            settings,
            shutdown,
            next_conn: AtomicU64::new(1),
            open_conns: AtomicUsize::new(0),
            alive,
        }))
    }

    pub(crate) fn rooms(&self) -> &Rooms {
        &self.0.rooms
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.0.signer
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.0.settings
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

    pub(crate) fn connection_opened(&self) -> Alive {
        self.0.open_conns.fetch_add(1, Ordering::Relaxed);
        Alive {
            app: self.clone(),
            _token: self.0.alive.clone(),
        }
    }
}
