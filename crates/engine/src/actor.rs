//! The room actor: one task per room owns its [`Room`] and is its only writer.

use crate::game::Game;
use crate::game::{GameError, Viewer};
use crate::outbox::{Caller, ConnId};
use crate::room::{Query, Room};
use arbiter_protocol::{ErrorCode, JoinRole, RoomInfo};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Commands a room accepts. Answers go to the caller's outbox, not back to the sender, so a
/// connection never waits on a room.
pub enum RoomCmd {
    /// Enter the room.
    Join {
        /// Who.
        caller: Caller,
        /// Requested role.
        role: JoinRole,
        /// Request id to echo.
        rid: Option<u64>,
        /// The version a resuming client holds.
        since: Option<u64>,
    },
    /// Seat a bot.
    AddBot {
        /// Who asks.
        caller: Caller,
        /// Request id to echo.
        rid: Option<u64>,
    },
    /// Leave the room.
    Leave {
        /// Who.
        caller: Caller,
        /// Request id to echo.
        rid: Option<u64>,
    },
    /// A game action.
    Act {
        /// Who.
        caller: Caller,
        /// Client sequence number.
        seq: u64,
        /// Version the client saw.
        base: Option<u64>,
        /// The action.
        action: Value,
    },
    /// Relay a chat message.
    Chat {
        /// Who.
        caller: Caller,
        /// What.
        text: String,
    },
    /// A read-only question, answered on `reply`.
    Query {
        /// Whose eyes.
        viewer: Viewer,
        /// What.
        query: Query,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<Value, GameError>>,
    },
    /// Resend a snapshot.
    Sync {
        /// Who.
        caller: Caller,
    },
    /// A connection closed.
    Disconnect {
        /// Which.
        conn: ConnId,
    },
}

/// Capacity of a room's command queue. A full queue makes senders wait, which slows the
/// flooding connection's reader rather than growing memory.
const ROOM_QUEUE: usize = 1024;

/// A cheap, clonable address of a live room.
#[derive(Clone)]
pub struct RoomHandle {
    id: Arc<str>,
    tx: mpsc::Sender<RoomCmd>,
    info: watch::Receiver<RoomInfo>,
}

/// The room has stopped; its commands can no longer be delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomGone;

impl RoomHandle {
    /// The room's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Public facts as of the room's last command.
    pub fn info(&self) -> RoomInfo {
        self.info.borrow().clone()
    }

    /// Deliver a command, waiting while the room's queue is full.
    pub async fn send(&self, cmd: RoomCmd) -> Result<(), RoomGone> {
        self.tx.send(cmd).await.map_err(|_| RoomGone)
    }

    /// True once the room's task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Maps the room's millisecond clock (what the log records) onto tokio's clock, so timers
/// follow `tokio::time::pause` in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoomClock {
    wall_ms: u64,
    start: Instant,
}

impl RoomClock {
    pub(crate) fn start() -> Self {
        let wall_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            wall_ms,
            start: Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.wall_ms + self.start.elapsed().as_millis() as u64
    }

    fn instant_of(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms.saturating_sub(self.wall_ms))
    }
}

/// How long a room lives without connections before it closes itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomLifetimes {
    /// With no members at all.
    pub empty: Duration,
    /// With members whose connections have all closed (seats held for their return).
    pub abandoned: Duration,
}

impl Default for RoomLifetimes {
    fn default() -> Self {
        Self {
            empty: Duration::from_secs(60),
            abandoned: Duration::from_secs(30 * 60),
        }
    }
}

/// Start the actor for `room`. `on_close` runs when it stops by itself (idle) so the
/// directory can forget it.
pub(crate) fn spawn<G: Game>(
    room: Room<G>,
    clock: RoomClock,
    lifetimes: RoomLifetimes,
    on_close: Box<dyn FnOnce() + Send>,
) -> RoomHandle {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    let (info_tx, info) = watch::channel(room.info());
    let handle = RoomHandle {
        id: room.id().into(),
        tx,
        info,
    };
    tokio::spawn(run(room, rx, info_tx, clock, lifetimes, on_close));
    handle
}

async fn run<G: Game>(
    mut room: Room<G>,
    mut rx: mpsc::Receiver<RoomCmd>,
    info_tx: watch::Sender<RoomInfo>,
    clock: RoomClock,
    lifetimes: RoomLifetimes,
    on_close: Box<dyn FnOnce() + Send>,
) {
    let mut idle_since = Some(Instant::now());
    loop {
        let timer_at = room.next_due().map(|ms| clock.instant_of(ms));
        let idle_deadline = idle_since.map(|t| {
            t + if room.member_count() == 0 {
                lifetimes.empty
            } else {
                lifetimes.abandoned
            }
        });
        tokio::select! {
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { break };
                let now = clock.now_ms();
                match cmd {
                    RoomCmd::Join { caller, role, rid, since } => room.join(&caller, role, rid, since, now),
                    RoomCmd::AddBot { caller, rid } => room.add_bot(&caller, rid, now),
                    RoomCmd::Leave { caller, rid } => room.leave(&caller, rid, now),
                    RoomCmd::Act { caller, seq, base, action } => room.act(&caller, seq, base, action, now),
                    RoomCmd::Sync { caller } => room.sync(&caller),
                    RoomCmd::Chat { caller, text } => room.chat(&caller, &text, now),
                    RoomCmd::Query { viewer, query, reply } => {
                        let _ = reply.send(room.query(&viewer, &query));
                    }
                    RoomCmd::Disconnect { conn } => room.disconnect(conn, now),
                }
            }
            () = sleep_until_opt(timer_at) => room.fire_due(clock.now_ms()),
            () = sleep_until_opt(idle_deadline) => {
                tracing::info!(room = %room.id(), members = room.member_count(), "closing idle room");
                room.close(ErrorCode::RoomClosed, "the room closed after being idle");
                rx.close();
                on_close();
                return;
            }
        }
        idle_since = match (room.connection_count(), idle_since) {
            (0, None) => Some(Instant::now()),
            (0, since) => since,
            _ => None,
        };
        info_tx.send_if_modified(|info| {
            let now = room.info();
            let changed = *info != now;
            *info = now;
            changed
        });
    }
    room.close(ErrorCode::Unavailable, "the server is shutting down");
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
