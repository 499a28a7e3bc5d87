//! State shared between the [`Client`](crate::Client) handles and the connection task.
//!
//! One std mutex guards it all; every critical section is a few map operations and none spans
//! an await. Registering a waiter and closing both happen under the lock, so a waiter is either
//! registered before the close (and dropped by it) or sees the close and fails at once.

use crate::error::{ClientError, CloseInfo};
use crate::view::{LocalView, Outcome, RoomView};
use arbiter_protocol::ServerMsg;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::{oneshot, watch};
use tracing::warn;

/// The answer to a `create`, `join` or `leave`: the `joined`/`left` frame, or the error.
pub(crate) type Reply = Result<ServerMsg, ClientError>;

/// Where the answer to one action goes: its version, or the rejection.
pub(crate) type ActWaiter = oneshot::Sender<Result<u64, ClientError>>;

/// The lock around [`State`].
#[derive(Debug, Default)]
pub(crate) struct Shared(Mutex<State>);

impl Shared {
    /// Lock the state; a panic elsewhere while holding it leaves maps that are still usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Waiters, views and sequence counters of one connection.
///
/// Waiters are oneshot senders; when the connection ends they are dropped, and the waiting side
/// turns the dropped channel into [`State::closed_error`].
#[derive(Debug)]
pub(crate) struct State {
    /// `create`/`join`/`leave` waiting for the frame with their rid.
    pub(crate) requests: HashMap<u64, oneshot::Sender<Reply>>,
    /// Actions waiting for `ack`/`reject`, by (room, seq); several when a seq is resent.
    pub(crate) acts: HashMap<(String, u64), Vec<ActWaiter>>,
    /// Pings waiting for their pong, by `n`.
    pub(crate) pings: BTreeMap<u64, oneshot::Sender<()>>,
    /// The last seq used per room.
    pub(crate) seqs: HashMap<String, u64>,
    views: HashMap<String, LocalView>,
    watches: HashMap<String, watch::Sender<Option<RoomView>>>,
    /// `None` while the connection is open.
    closed: watch::Sender<Option<CloseInfo>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            requests: HashMap::new(),
            acts: HashMap::new(),
            pings: BTreeMap::new(),
            seqs: HashMap::new(),
            views: HashMap::new(),
            watches: HashMap::new(),
            closed: watch::Sender::new(None),
        }
    }
}

impl State {
    /// How the connection ended, or `None` while it is open.
    pub(crate) fn close_info(&self) -> Option<CloseInfo> {
        self.closed.borrow().clone()
    }

    /// Fail fast instead of registering a waiter nobody will ever answer.
    pub(crate) fn check_open(&self) -> Result<(), ClientError> {
        match self.close_info() {
            Some(info) => Err(info.into()),
            None => Ok(()),
        }
    }

    /// The error for a call cut short by the end of the connection.
    pub(crate) fn closed_error(&self) -> ClientError {
        self.close_info()
            .unwrap_or_else(|| CloseInfo {
                code: None,
                reason: "connection task ended".into(),
            })
            .into()
    }

    /// Follow the end of the connection.
    pub(crate) fn subscribe_closed(&self) -> watch::Receiver<Option<CloseInfo>> {
        self.closed.subscribe()
    }

    /// The current view of a room.
    pub(crate) fn view(&self, room: &str) -> Option<RoomView> {
        self.views.get(room).and_then(|l| l.current().cloned())
    }

    /// A receiver of a room's view, made on first use so unwatched rooms cost no clones.
    pub(crate) fn watch(&mut self, room: &str) -> watch::Receiver<Option<RoomView>> {
        let current = self.view(room);
        if self.close_info().is_some() {
            // No sender will ever update it, so `wait_for` ends instead of hanging.
            return watch::channel(current).1;
        }
        self.watches
            .entry(room.to_owned())
            .or_insert_with(|| watch::Sender::new(current))
            .subscribe()
    }

    /// Apply one incoming frame: answer its waiters and update the views. Returns the room
    /// whose view fell out of step and needs a `sync`.
    pub(crate) fn route(&mut self, msg: &ServerMsg) -> Option<String> {
        match msg {
            ServerMsg::Joined { rid, room, seq, .. } => {
                // Continue above the seqs this player already used in the room, so a new
                // client with an old token never has its first action answered from memory.
                let last = self.seqs.entry(room.id.clone()).or_default();
                *last = (*last).max(*seq);
                self.answer(*rid, || Ok(msg.clone()));
            }
            ServerMsg::Left { rid, room, .. } => {
                self.views.remove(room);
                self.publish(room, None);
                self.answer(*rid, || Ok(msg.clone()));
            }
            ServerMsg::Error {
                rid,
                code,
                message,
                details,
            } => self.answer(*rid, || {
                Err(ClientError::Server {
                    code: *code,
                    message: message.clone(),
                    details: details.clone(),
                })
            }),
            ServerMsg::Snapshot { room, .. } | ServerMsg::Patch { room, .. } => {
                return self.update_view(room, msg);
            }
            ServerMsg::Ack { room, seq, v } => {
                for tx in self.acts.remove(&(room.clone(), *seq)).unwrap_or_default() {
                    let _ = tx.send(Ok(*v));
                }
            }
            ServerMsg::Reject {
                room,
                seq,
                code,
                message,
                details,
            } => {
                for tx in self.acts.remove(&(room.clone(), *seq)).unwrap_or_default() {
                    let _ = tx.send(Err(ClientError::Rejected {
                        code: *code,
                        message: message.clone(),
                        details: details.clone(),
                    }));
                }
            }
            ServerMsg::Pong { n } => {
                // A pong without `n` answers the oldest ping.
                let tx = match n {
                    Some(n) => self.pings.remove(n),
                    None => self.pings.pop_first().map(|(_, tx)| tx),
                };
                if let Some(tx) = tx {
                    let _ = tx.send(());
                }
            }
            ServerMsg::BotAdded { rid, .. }
            | ServerMsg::Launched { rid, .. }
            | ServerMsg::ChatHistory { rid, .. }
            | ServerMsg::Invited { rid, .. } => {
                self.answer(*rid, || Ok(msg.clone()));
            }
            ServerMsg::Welcome { .. }
            | ServerMsg::Presence { .. }
            | ServerMsg::Chat { .. }
            | ServerMsg::ChatDeleted { .. }
            | ServerMsg::Rooms { .. }
            | ServerMsg::Signal { .. }
            | ServerMsg::UndoProposal { .. }
            | ServerMsg::UndoState { .. }
            | ServerMsg::Paused { .. } => {}
        }
        None
    }

    /// Record the end of the connection and drop every waiter and watch sender.
    pub(crate) fn finish(&mut self, info: CloseInfo) {
        self.closed.send_replace(Some(info));
        self.requests.clear();
        self.acts.clear();
        self.pings.clear();
        self.watches.clear();
    }

    fn answer(&mut self, rid: Option<u64>, reply: impl FnOnce() -> Reply) {
        if let Some(tx) = rid.and_then(|rid| self.requests.remove(&rid)) {
            let _ = tx.send(reply());
        }
    }

    fn update_view(&mut self, room: &str, msg: &ServerMsg) -> Option<String> {
        let local = self.views.entry(room.to_owned()).or_default();
        match local.apply(msg) {
            Outcome::Updated => {
                let current = local.current().cloned();
                self.publish(room, current);
                None
            }
            Outcome::Unchanged => None,
            Outcome::Resync(reason) => {
                warn!(room, %reason, "room view out of step, asking for a snapshot");
                Some(room.to_owned())
            }
        }
    }

    /// Take over another connection's views and sequence counters (a resume); returns each
    /// room with the version held, to rejoin from.
    pub(crate) fn adopt(&mut self, old: &State) -> Vec<(String, Option<u64>)> {
        self.seqs.clone_from(&old.seqs);
        let mut rooms = Vec::new();
        for (room, view) in &old.views {
            let v = view.current().map(|c| c.v);
            self.views.insert(room.clone(), view.clone());
            let current = view.current().cloned();
            self.publish(room, current);
            rooms.push((room.clone(), v));
        }
        rooms.sort();
        rooms
    }

    fn publish(&mut self, room: &str, view: Option<RoomView>) {
        if let Some(tx) = self.watches.get(room) {
            if tx.receiver_count() == 0 {
                self.watches.remove(room);
            } else {
                tx.send_replace(view);
            }
        }
    }
}
