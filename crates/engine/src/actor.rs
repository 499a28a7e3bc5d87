//! The room actor: one task per room owns its [`Room`] and is its only writer.

use crate::game::Game;
use crate::game::{GameError, Viewer};
use crate::metrics::{LiveRoom, handed_over};
use crate::outbox::{Caller, ConnId};
use crate::room::{AdminOp, Query, Room};
use crate::store::{Archive, Store, StoreError};
use arbiter_protocol::{ClientMsg, ErrorCode, RoomInfo};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Commands a room accepts. Answers go to the caller's outbox, not back to the sender, so a
/// connection never waits on a room.
pub enum RoomCmd {
    /// A client's message addressed to this room (join, act, chat, …); see [`Room::handle`].
    Client {
        /// Who sent it.
        caller: Caller,
        /// The message as it came off the wire.
        msg: ClientMsg,
    },
    /// `join_or_create`'s try at this room (see [`Room::seat_for`]): on `Ok` the caller holds
    /// a seat and has been answered like a `join`; on `Err` nothing changed and nothing was
    /// sent to them.
    Seat {
        /// Who asks.
        caller: Caller,
        /// The request id the answers echo.
        rid: Option<u64>,
        /// Where the outcome goes.
        reply: tokio::sync::oneshot::Sender<Result<(), GameError>>,
    },
    /// News from the server, applied as a system action (see [`Room::notice`]); the version
    /// it made, or the game's refusal, goes to `reply`.
    Notice {
        /// The game action.
        action: Value,
        /// Where the outcome goes.
        reply: tokio::sync::oneshot::Sender<Result<u64, GameError>>,
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
    /// A connection closed.
    Disconnect {
        /// Which.
        conn: ConnId,
    },
    /// Stop serving the room on this node (draining, or its lease was lost): make what was
    /// done durable, tell its connections it moved, stop. `done` is answered when it has.
    HandOver {
        /// Answered once the room has stopped.
        done: tokio::sync::oneshot::Sender<()>,
    },
    /// The server is stopping: make what was done durable, close the room's connections,
    /// stop. `done` is answered when it has — under relaxed durability the last batch's
    /// answers left before its entries were stored, and a process that exited without
    /// waiting for this would lose them.
    Shutdown {
        /// Answered once the room has stopped.
        done: tokio::sync::oneshot::Sender<()>,
    },
    /// An operator's request (the admin API), answered on `reply`.
    Admin {
        /// What.
        op: AdminOp,
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Result<Value, GameError>>,
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
    /// The password hash of a room served here (a proxy's is unknown: see its `info.locked`).
    lock: Option<Arc<str>>,
}

/// The room has stopped; its commands can no longer be delivered. Holds the command that
/// was refused, so its sender can answer it without having prepared an answer beforehand.
pub struct RoomGone(pub RoomCmd);

impl std::fmt::Debug for RoomGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomGone")
    }
}

impl RoomHandle {
    /// The room's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The argon2id hash of the room's password, for a room served here that has one.
    pub fn lock(&self) -> Option<&str> {
        self.lock.as_deref()
    }

    /// Public facts as of the room's last command.
    pub fn info(&self) -> RoomInfo {
        self.info.borrow().clone()
    }

    /// The room's public facts as they change: the receiver wakes after each command that
    /// changed them, and errs once the room's task has ended.
    pub fn watch_info(&self) -> watch::Receiver<RoomInfo> {
        self.info.clone()
    }

    /// Deliver a command, waiting while the room's queue is full.
    pub async fn send(&self, cmd: RoomCmd) -> Result<(), RoomGone> {
        self.tx.send(cmd).await.map_err(|e| RoomGone(e.0))
    }

    /// True once the room's task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// A handle for a room served elsewhere (another node of a cluster): its commands arrive
    /// on the returned receiver, for a proxy to forward; `info` is what it reports.
    pub fn forwarding(id: &str, info: RoomInfo) -> (Self, mpsc::Receiver<RoomCmd>) {
        let (tx, rx) = mpsc::channel(ROOM_QUEUE);
        let (_, info) = watch::channel(info);
        let handle = Self {
            id: id.into(),
            tx,
            info,
            lock: None,
        };
        (handle, rx)
    }
}

/// Maps the room's millisecond clock (what the log records) onto tokio's clock, so timers
/// follow `tokio::time::pause` in tests. The wall clock is read once, to the nanosecond, so
/// room time is the system clock's milliseconds exactly (not up to 2 ms behind, as two
/// truncations would make it): a client on the same machine can time a tick's patch
/// against the tick's room time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoomClock {
    /// The system clock since the Unix epoch at `start`.
    wall: Duration,
    start: Instant,
}

impl RoomClock {
    pub(crate) fn start() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            wall,
            start: Instant::now(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        (self.wall + self.start.elapsed()).as_millis() as u64
    }

    fn instant_of(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms).saturating_sub(self.wall)
    }
}

/// The most log a room without storage keeps in memory: past it, the journal starts again
/// from a snapshot (a turn game never gets there; a room ticking at 30 Hz with eight players
/// steering every tick, ~22 KB of entries a second, does after about six minutes).
pub(crate) const MEMORY_LOG_BYTES: usize = 8 << 20;

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

/// When an entry counts as done: before its acknowledgement goes out, or after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Nothing produced by an entry (ack, patches) leaves the server before the entry is
    /// committed: an acknowledged action survives a crash.
    #[default]
    Strict,
    /// Frames leave at once and entries are committed right after: faster acks, and a crash
    /// can lose the actions acknowledged in the last commit window (one group commit).
    Relaxed,
}

/// Where and how a room's entries are kept.
#[derive(Clone)]
pub struct Persistence {
    /// The store.
    pub store: Arc<dyn Store>,
    /// When acks may leave.
    pub durability: Durability,
    /// A snapshot is written every this many versions.
    pub snapshot_every: u64,
}

/// Commands handled before the room persists and sends: a busy room commits (and fsyncs)
/// once per batch rather than once per action.
const BATCH: usize = 64;

/// Start the actor for `room`, writing with fencing token `fence`. `on_close` runs when it
/// stops by itself (idle, handed over, or a storage failure) so the directory can forget it.
pub(crate) fn spawn<G: Game>(
    mut room: Room<G>,
    clock: RoomClock,
    lifetimes: RoomLifetimes,
    persistence: Option<Persistence>,
    fence: u64,
    on_close: Box<dyn FnOnce() + Send>,
) -> RoomHandle {
    let (tx, rx) = mpsc::channel(ROOM_QUEUE);
    let (info_tx, info) = watch::channel(room.info());
    let handle = RoomHandle {
        id: room.id().into(),
        tx,
        info,
        lock: room.lock().map(Arc::from),
    };
    room.set_hold(true);
    let actor = Actor {
        clock,
        lifetimes,
        persistence,
        fence,
    };
    tokio::spawn(actor.run(room, rx, info_tx, on_close));
    handle
}

struct Actor {
    clock: RoomClock,
    lifetimes: RoomLifetimes,
    persistence: Option<Persistence>,
    /// This node's fencing token for the room (see [`Store`]).
    fence: u64,
}

/// Why the actor stops after the current batch.
enum Stop {
    /// Hand the room over; answer `done` once stopped.
    HandOver(tokio::sync::oneshot::Sender<()>),
    /// The server is stopping; answer `done` once stopped.
    Shutdown(tokio::sync::oneshot::Sender<()>),
    /// An operator closes it.
    Close {
        reason: String,
        reply: tokio::sync::oneshot::Sender<Result<Value, GameError>>,
    },
}

/// Apply one command; a hand-over or a close is returned to the caller, which stops the room
/// after making the commands before it durable. An act is timed, and when it arrived is noted
/// in `acts` for the time to its answer.
fn handle<G: Game>(
    room: &mut Room<G>,
    cmd: RoomCmd,
    now: u64,
    acts: &mut Vec<std::time::Instant>,
) -> Option<Stop> {
    match cmd {
        RoomCmd::Client {
            caller,
            msg: msg @ ClientMsg::Act { .. },
        } => {
            let arrived = std::time::Instant::now();
            room.handle(&caller, msg, now);
            room.metrics().apply.record(arrived.elapsed().as_secs_f64());
            acts.push(arrived);
        }
        RoomCmd::Client { caller, msg } => room.handle(&caller, msg, now),
        RoomCmd::Seat { caller, rid, reply } => {
            let _ = reply.send(room.seat_for(&caller, rid, now));
        }
        RoomCmd::Notice { action, reply } => {
            let _ = reply.send(room.notice(action, now));
        }
        RoomCmd::Query {
            viewer,
            query,
            reply,
        } => {
            let _ = reply.send(room.query(&viewer, &query));
        }
        RoomCmd::Disconnect { conn } => room.disconnect(conn, now),
        RoomCmd::HandOver { done } => return Some(Stop::HandOver(done)),
        RoomCmd::Shutdown { done } => return Some(Stop::Shutdown(done)),
        RoomCmd::Admin {
            op: AdminOp::Close { reason },
            reply,
        } => return Some(Stop::Close { reason, reply }),
        RoomCmd::Admin { op, reply } => {
            let _ = reply.send(room.admin(&op, now));
        }
    }
    None
}

impl Actor {
    async fn run<G: Game>(
        self,
        mut room: Room<G>,
        mut rx: mpsc::Receiver<RoomCmd>,
        info_tx: watch::Sender<RoomInfo>,
        on_close: Box<dyn FnOnce() + Send>,
    ) {
        let mut idle_since = Some(Instant::now());
        let mut handing_over = None;
        let mut live = LiveRoom::new(room.metrics(), info_tx.borrow().status);
        // When each act of the current batch arrived, until its answer is handed out.
        let mut acts = Vec::new();
        loop {
            let timer_at = room.next_due().map(|ms| self.clock.instant_of(ms));
            let idle_deadline = idle_since.map(|t| {
                t + if room.member_count() == 0 {
                    self.lifetimes.empty
                } else {
                    self.lifetimes.abandoned
                }
            });
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    handing_over = handle(&mut room, cmd, self.clock.now_ms(), &mut acts);
                    for _ in 1..BATCH {
                        if handing_over.is_some() {
                            break;
                        }
                        let Ok(cmd) = rx.try_recv() else { break };
                        handing_over = handle(&mut room, cmd, self.clock.now_ms(), &mut acts);
                    }
                }
                () = sleep_until_opt(timer_at) => room.fire_due(self.clock.now_ms()),
                () = sleep_until_opt(idle_deadline) => {
                    tracing::info!(room = %room.id(), members = room.member_count(), "closing idle room");
                    let _ = self.end(&mut room, &mut rx, Archive::Idle, "the room closed after being idle").await;
                    on_close();
                    return;
                }
            }
            match self.deliver(&mut room, &mut acts).await {
                Ok(()) => {}
                Err(StoreError::Fenced) => {
                    // Another node took the room over while this one was paused or cut off:
                    // what was refused was never acknowledged, and its clients resend it there.
                    tracing::warn!(room = %room.id(), fence = self.fence, "the room was taken over; handing it over");
                    handed_over("fenced");
                    room.hand_over();
                    rx.close();
                    on_close();
                    return;
                }
                Err(e) => {
                    // Entries that are not durable must not be acknowledged: stop the room,
                    // dropping what they produced. Its clients are told to reconnect; the room
                    // is loaded again from storage, as storage last had it, for the first of
                    // them that asks once storage answers again.
                    tracing::error!(room = %room.id(), error = %e, "storage failed; stopping the room");
                    handed_over("storage_failed");
                    room.hand_over();
                    rx.close();
                    on_close();
                    return;
                }
            }
            match handing_over.take() {
                Some(Stop::HandOver(done)) => {
                    handed_over("requested");
                    room.hand_over();
                    rx.close();
                    on_close();
                    let _ = done.send(());
                    return;
                }
                Some(Stop::Shutdown(done)) => {
                    room.close(ErrorCode::Unavailable, "the server is shutting down");
                    rx.close();
                    let _ = done.send(());
                    return;
                }
                Some(Stop::Close { reason, reply }) => {
                    tracing::info!(room = %room.id(), %reason, "an operator closed the room");
                    let closed = json!({ "closed": room.id(), "info": room.info() });
                    let message = format!("an operator closed the room: {reason}");
                    let archived = self
                        .end(&mut room, &mut rx, Archive::Closed, &message)
                        .await;
                    on_close();
                    let _ = reply.send(archived.map(|()| closed).map_err(|e| {
                        GameError::new(
                            ErrorCode::Unavailable,
                            format!("the room closed but archiving it failed: {e}"),
                        )
                    }));
                    return;
                }
                None => {}
            }
            if self.persistence.is_none() {
                // Without storage the room's memory is the only copy of its log: keep it small,
                // and bounded.
                room.compact_log();
                room.keep_log_within(MEMORY_LOG_BYTES);
            }
            idle_since = match (room.connection_count(), idle_since) {
                (0, None) => Some(Instant::now()),
                (0, since) => since,
                _ => None,
            };
            info_tx.send_if_modified(|info| room.refresh_info(info));
            live.set(info_tx.borrow().status);
        }
        room.close(ErrorCode::Unavailable, "the server is shutting down");
    }

    /// Close the room for good (idle, or an operator's close): tell its connections why, take
    /// no more commands, and archive it in storage (kept for history, no longer served).
    async fn end<G: Game>(
        &self,
        room: &mut Room<G>,
        rx: &mut mpsc::Receiver<RoomCmd>,
        why: Archive,
        message: &str,
    ) -> Result<(), StoreError> {
        room.close(ErrorCode::RoomClosed, message);
        room.metrics().closed();
        rx.close();
        let Some(p) = &self.persistence else {
            return Ok(());
        };
        let archived = p
            .store
            .archive(room.id(), self.fence, why, self.clock.now_ms())
            .await;
        if let Err(e) = &archived {
            tracing::error!(room = %room.id(), error = %e, "archiving failed");
        }
        archived
    }

    /// Make new entries durable, then send what they produced (the reverse under relaxed
    /// durability). Dropping connections that could not take their frames can produce more
    /// entries, so repeat until nothing is left. The answers to `acts` leave with the first
    /// frames sent; their time is taken just before.
    async fn deliver<G: Game>(
        &self,
        room: &mut Room<G>,
        acts: &mut Vec<std::time::Instant>,
    ) -> Result<(), StoreError> {
        loop {
            // Without a store there is nowhere to keep results.
            let results = room.take_results();
            // Chat is as durable as the log, and sent on the same terms.
            let chat = room.take_chat_change();
            if let Some(p) = &self.persistence {
                let before = room.persisted_version();
                let entries = room.take_unpersisted();
                let mut kept = None;
                let append = if entries.is_empty() {
                    None
                } else {
                    let every = p.snapshot_every.max(1);
                    let snapshot =
                        (room.version() / every > before / every).then(|| room.snapshot());
                    if p.durability == Durability::Relaxed {
                        room.metrics().answered(acts);
                        room.flush(self.clock.now_ms());
                    }
                    kept.clone_from(&snapshot);
                    Some(
                        p.store
                            .append(room.id(), self.fence, entries, results, snapshot),
                    )
                };
                let said = (!chat.is_empty()).then(|| p.store.chat(room.id(), self.fence, chat));
                // Both at once: they share one group commit.
                let (appended, said) = tokio::join!(
                    async {
                        match append {
                            Some(f) => f.await,
                            None => Ok(()),
                        }
                    },
                    async {
                        match said {
                            Some(f) => f.await,
                            None => Ok(()),
                        }
                    }
                );
                appended?;
                said?;
                if let Some(snapshot) = kept {
                    room.stored_snapshot(snapshot);
                }
            }
            if !room.has_mail() {
                return Ok(());
            }
            room.metrics().answered(acts);
            room.flush(self.clock.now_ms());
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
