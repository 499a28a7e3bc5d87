//! A connection's bounded outbound queue, shared by every transport.
//!
//! Rooms push encoded frames; the transport drains them. A transport that can write without
//! waiting (the WebSocket) attaches its socket as a [`Wire`]: while nothing is queued, a push
//! goes straight onto the socket from the room's task, and the queue — and the transport's
//! task — come into play only when the socket would block. Order is kept either way.
//!
//! The queue is bounded in frames and bytes. When a state frame would overflow it, the room's
//! queued patches are dropped and the room is asked for one fresh snapshot instead — the
//! client misses nothing, it just skips intermediate versions. Frames that cannot be
//! collapsed (answers, presence) may overrun the soft bound up to a hard one; past that the
//! connection is closed as too slow. Nothing is ever dropped silently.

use crate::metrics::{OUTBOUND_COLLAPSES, OUTBOUND_OVERFLOWS, OUTBOUND_QUEUED_BYTES};
use arbiter_engine::{Frame, FrameKind, Outbox};
use arbiter_protocol::Encoding;
use bytes::Bytes;
use metrics::{Gauge, counter, gauge};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// Bounds of one queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Frames queued before state frames start to collapse.
    pub frames: usize,
    /// Bytes queued before state frames start to collapse.
    pub bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self {
            frames: 1024,
            bytes: 1 << 20,
        }
    }
}

/// Control frames may exceed the soft bounds by this factor before the client is cut off.
const HARD_FACTOR: usize = 4;

/// Bytes queued across all connections of a server, for `/healthz`, and of the process, for
/// the metrics.
pub(crate) struct QueuedBytes {
    bytes: AtomicUsize,
    /// [`OUTBOUND_QUEUED_BYTES`], moved with `bytes`.
    gauge: Gauge,
}

impl Default for QueuedBytes {
    fn default() -> Self {
        Self {
            bytes: AtomicUsize::new(0),
            gauge: gauge!(OUTBOUND_QUEUED_BYTES),
        }
    }
}

impl QueuedBytes {
    pub(crate) fn get(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        self.gauge.increment(n as f64);
    }

    fn sub(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::Relaxed);
        self.gauge.decrement(n as f64);
    }
}

/// A socket the queue may write to directly, without waiting.
pub(crate) trait Wire: Send + Sync + 'static {
    /// Put these messages on the wire as one unit (one frame, or one batch frame), as far as
    /// the socket takes them now.
    fn try_send(&self, messages: &[&Bytes]) -> Sent;
    /// Put bytes the transport framed itself on the wire, as far as the socket takes them.
    fn try_send_framed(&self, bytes: &Bytes) -> Sent;
}

/// How much of a direct write went out.
pub(crate) enum Sent {
    /// Everything.
    All,
    /// Nothing: the socket would block.
    Nothing,
    /// Some; these framed bytes are left and must go before anything else.
    Part(Bytes),
    /// The socket is broken.
    Broken,
}

/// One queued item.
pub(crate) enum Item {
    /// A message for the client.
    Msg(Frame),
    /// Bytes the transport framed itself (WebSocket pings and close frames). Only queues with
    /// a [`Wire`] hold them.
    Framed(Bytes),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Msg(f) => f.bytes.len(),
            Item::Framed(b) => b.len(),
        }
    }

    /// Kept when a room's state frames collapse.
    fn survives_collapse_of(&self, room: &str) -> bool {
        match self {
            Item::Msg(f) => f.kind == FrameKind::Control || &*f.room != room,
            Item::Framed(_) => true,
        }
    }

    /// The message, for transports that frame nothing themselves (long-poll).
    pub(crate) fn into_message(self) -> Option<Bytes> {
        match self {
            Item::Msg(f) => Some(f.bytes),
            Item::Framed(_) => None,
        }
    }
}

#[derive(Default)]
struct State {
    items: VecDeque<Item>,
    bytes: usize,
    /// Framed bytes a direct write left unsent; they go before every queued item.
    rest: Option<Bytes>,
    /// The transport took items and is still writing them: direct writes must wait.
    writing: bool,
    /// Rooms whose state frames are being skipped until their fresh snapshot arrives.
    lagging: HashSet<Arc<str>>,
    /// Rooms to ask for a snapshot (the transport sends `sync` on the client's behalf).
    resync: Vec<Arc<str>>,
    /// Set once the hard bound was hit; the transport closes with `TOO_SLOW`.
    overflowed: bool,
    /// Set when the transport is gone; pushes then fail.
    closed: bool,
    /// A room this connection is in moved to another node: once what is queued is written,
    /// the transport closes so the client reconnects and resumes there.
    moved: bool,
}

impl State {
    /// Nothing is queued or being written: a direct write keeps the order.
    fn idle(&self) -> bool {
        !self.writing && self.rest.is_none() && self.items.is_empty()
    }
}

/// The queue. Rooms see it as an [`Outbox`].
pub(crate) struct ConnQueue {
    encoding: Encoding,
    /// Bytes queued across all connections of the server.
    total: Arc<QueuedBytes>,
    limits: QueueLimits,
    state: Mutex<State>,
    /// Wakes the transport when there is something to write or to do.
    ready: Notify,
    /// The socket, for direct writes.
    wire: Option<Arc<dyn Wire>>,
}

/// What the transport takes from the queue in one go.
#[derive(Default)]
pub(crate) struct Drained {
    /// Framed bytes left by a direct write; they go first.
    pub(crate) rest: Option<Bytes>,
    /// Items to write, in order.
    pub(crate) items: Vec<Item>,
    /// Rooms that need a `sync` because their patches were collapsed.
    pub(crate) resync: Vec<Arc<str>>,
    /// The client fell hopelessly behind.
    pub(crate) overflowed: bool,
    /// A room moved away (see [`Outbox::moved`]): close after writing `items`.
    pub(crate) moved: bool,
}

/// What to do with a frame that passed the bounds.
enum Admit {
    /// Queue it (or write it directly).
    Take,
    /// Dropped on purpose (superseded by a snapshot on its way); the push succeeds.
    Skip,
    /// Refused: the connection is gone or hopelessly behind.
    Refuse,
}

impl ConnQueue {
    pub(crate) fn new(
        encoding: Encoding,
        limits: QueueLimits,
        total: Arc<QueuedBytes>,
        wire: Option<Arc<dyn Wire>>,
    ) -> Self {
        Self {
            encoding,
            total,
            limits,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            wire,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Each critical section leaves the state consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take everything queued. With a [`Wire`], the transport then owns the writing until
    /// it calls [`ConnQueue::written`].
    pub(crate) fn drain(&self) -> Drained {
        let mut s = self.lock();
        self.total.sub(s.bytes);
        s.bytes = 0;
        let rest = s.rest.take();
        if rest.is_some() || !s.items.is_empty() {
            s.writing = true;
        }
        Drained {
            rest,
            items: s.items.drain(..).collect(),
            resync: std::mem::take(&mut s.resync),
            overflowed: s.overflowed,
            moved: s.moved,
        }
    }

    /// The transport wrote what it drained. Direct writes resume once nothing else waits.
    pub(crate) fn written(&self) {
        let mut s = self.lock();
        if s.items.is_empty() && s.rest.is_none() {
            s.writing = false;
        } else {
            drop(s);
            self.ready.notify_one();
        }
    }

    /// Wait until something was pushed (or a resync or overflow needs handling).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Refuse further pushes: the transport has ended.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Queue a frame the connection produces itself (answers to `ping`, errors).
    pub(crate) fn control(&self, msg: &arbiter_protocol::ServerMsg) -> bool {
        self.push(Frame {
            kind: FrameKind::Control,
            room: Arc::from(""),
            bytes: self.encoding.encode(msg),
        })
    }

    /// Send bytes the transport framed itself (pings, pongs, close frames), in order with
    /// everything else. `false` once the connection is gone.
    pub(crate) fn push_framed(&self, bytes: Bytes) -> bool {
        let mut s = self.lock();
        if s.closed {
            return false;
        }
        if s.idle()
            && let Some(wire) = &self.wire
            && let Some(ok) = self.after_direct(&mut s, wire.try_send_framed(&bytes))
        {
            return ok;
        }
        self.enqueue(&mut s, Item::Framed(bytes));
        true
    }

    /// Bounds and collapsing for one frame about to be queued.
    fn admit(&self, s: &mut State, frame: &Frame) -> Admit {
        if s.closed || s.overflowed {
            return Admit::Refuse;
        }
        // The fresh snapshot a collapse asked for makes the room whole again; it is queued
        // even over the soft bound, or the collapse could repeat forever.
        let ends_lag = frame.kind == FrameKind::Snapshot && s.lagging.remove(&frame.room);
        if !ends_lag && frame.kind != FrameKind::Control && s.lagging.contains(&frame.room) {
            // Superseded by the snapshot on its way.
            return Admit::Skip;
        }
        let full =
            s.items.len() >= self.limits.frames || s.bytes + frame.bytes.len() > self.limits.bytes;
        if full && frame.kind != FrameKind::Control && !ends_lag {
            // Collapse: this room's queued state frames go, one snapshot will replace them.
            let room = frame.room.clone();
            let before = s.bytes;
            s.items.retain(|i| i.survives_collapse_of(&room));
            s.bytes = s.items.iter().map(Item::len).sum();
            self.total.sub(before - s.bytes);
            counter!(OUTBOUND_COLLAPSES).increment(1);
            tracing::debug!(%room, freed = before - s.bytes, "collapsing a slow client's patches");
            s.lagging.insert(room.clone());
            s.resync.push(room);
            self.ready.notify_one();
            return Admit::Skip;
        }
        let hard = s.items.len() >= self.limits.frames * HARD_FACTOR
            || s.bytes + frame.bytes.len() > self.limits.bytes * HARD_FACTOR;
        if hard {
            counter!(OUTBOUND_OVERFLOWS).increment(1);
            s.overflowed = true;
            self.ready.notify_one();
            return Admit::Refuse;
        }
        Admit::Take
    }

    fn enqueue(&self, s: &mut State, item: Item) {
        s.bytes += item.len();
        self.total.add(item.len());
        s.items.push_back(item);
        self.ready.notify_one();
    }

    /// Account for a direct write. `None`: nothing went out and the caller queues instead.
    fn after_direct(&self, s: &mut State, sent: Sent) -> Option<bool> {
        match sent {
            Sent::All => Some(true),
            Sent::Nothing => None,
            Sent::Part(rest) => {
                s.rest = Some(rest);
                self.ready.notify_one();
                Some(true)
            }
            Sent::Broken => {
                s.closed = true;
                self.ready.notify_one();
                Some(false)
            }
        }
    }

    /// Push one frame, writing it directly when `direct` and nothing waits.
    fn push_locked(&self, s: &mut State, frame: Frame, direct: bool) -> bool {
        match self.admit(s, &frame) {
            Admit::Refuse => false,
            Admit::Skip => true,
            Admit::Take => {
                if direct
                    && s.idle()
                    && let Some(wire) = &self.wire
                    && let Some(ok) = self.after_direct(s, wire.try_send(&[&frame.bytes]))
                {
                    return ok;
                }
                self.enqueue(s, Item::Msg(frame));
                true
            }
        }
    }
}

impl Outbox for ConnQueue {
    fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn moved(&self, _room: &str) {
        self.lock().moved = true;
        self.ready.notify_one();
    }

    fn push(&self, frame: Frame) -> bool {
        self.push_locked(&mut self.lock(), frame, true)
    }

    /// With a wire and nothing queued, the frames leave at once as one batch frame.
    fn push_all(&self, mut frames: Vec<Frame>) -> bool {
        let mut s = self.lock();
        if frames.len() == 1
            && let Some(frame) = frames.pop()
        {
            return self.push_locked(&mut s, frame, true);
        }
        if s.idle()
            && s.lagging.is_empty()
            && !s.closed
            && !s.overflowed
            && let Some(wire) = &self.wire
        {
            // An idle queue is far below its bounds: every frame would be taken.
            let messages: Vec<&Bytes> = frames.iter().map(|f| &f.bytes).collect();
            if let Some(ok) = self.after_direct(&mut s, wire.try_send(&messages)) {
                return ok;
            }
            // The socket would block: queue them all, in order, for the transport.
        }
        frames
            .into_iter()
            .all(|f| self.push_locked(&mut s, f, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frame(kind: FrameKind, room: &str, text: &str) -> Frame {
        Frame {
            kind,
            room: Arc::from(room),
            bytes: Bytes::from(text.to_owned()),
        }
    }

    #[test]
    fn overflowing_patches_collapse_into_one_snapshot_and_others_are_kept() {
        let q = ConnQueue::new(
            Encoding::Json,
            QueueLimits {
                frames: 4,
                bytes: 1 << 20,
            },
            Default::default(),
            None,
        );
        assert!(q.push(frame(FrameKind::Patch, "a", "a1")));
        assert!(q.push(frame(FrameKind::Control, "a", "ack")));
        assert!(q.push(frame(FrameKind::Patch, "b", "b1")));
        assert!(q.push(frame(FrameKind::Patch, "a", "a2")));
        // Full: the next patch of room a collapses a's patches.
        assert!(q.push(frame(FrameKind::Patch, "a", "a3")));
        // While a waits for its snapshot, its patches are skipped.
        assert!(q.push(frame(FrameKind::Patch, "a", "a4")));
        assert!(q.push(frame(FrameKind::Snapshot, "a", "a-snap")));
        assert!(q.push(frame(FrameKind::Patch, "a", "a5")));
        let d = q.drain();
        let texts: Vec<Bytes> = d.items.into_iter().filter_map(Item::into_message).collect();
        assert_eq!(texts, vec![&b"ack"[..], b"b1", b"a-snap", b"a5"]);
        assert_eq!(d.resync, vec![Arc::<str>::from("a")]);
        assert!(!d.overflowed);
    }

    #[test]
    fn control_frames_overrun_the_soft_bound_then_the_client_is_cut_off() {
        let q = ConnQueue::new(
            Encoding::Json,
            QueueLimits {
                frames: 2,
                bytes: 1 << 20,
            },
            Default::default(),
            None,
        );
        for _ in 0..8 {
            assert!(q.push(frame(FrameKind::Control, "", "x")));
        }
        assert!(!q.push(frame(FrameKind::Control, "", "x")));
        assert!(q.drain().overflowed);
        assert!(!q.push(frame(FrameKind::Control, "", "x")), "stays refused");
    }

    #[test]
    fn the_byte_bound_counts_too() {
        let q = ConnQueue::new(
            Encoding::Json,
            QueueLimits {
                frames: 100,
                bytes: 10,
            },
            Default::default(),
            None,
        );
        assert!(q.push(frame(FrameKind::Patch, "a", "123456")));
        assert!(q.push(frame(FrameKind::Patch, "a", "123456")));
        let d = q.drain();
        assert!(d.items.is_empty());
        assert_eq!(d.resync.len(), 1);
    }
}
