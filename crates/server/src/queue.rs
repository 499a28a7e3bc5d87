//! A connection's bounded outbound queue, shared by every transport.
//!
//! Rooms push encoded frames; the transport drains them. The queue is bounded in frames and
//! bytes. When a state frame would overflow it, the room's queued patches are dropped and the
//! room is asked for one fresh snapshot instead — the client misses nothing, it just skips
//! intermediate versions. Frames that cannot be collapsed (answers, presence) may overrun the
//! soft bound up to a hard one; past that the connection is closed as too slow. Nothing is
//! ever dropped silently.

use arbiter_engine::{Frame, FrameKind, Outbox};
use arbiter_protocol::Encoding;
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

#[derive(Default)]
struct State {
    frames: VecDeque<Frame>,
    bytes: usize,
    /// Rooms whose state frames are being skipped until their fresh snapshot arrives.
    lagging: HashSet<Arc<str>>,
    /// Rooms to ask for a snapshot (the transport sends `sync` on the client's behalf).
    resync: Vec<Arc<str>>,
    /// Set once the hard bound was hit; the transport closes with `TOO_SLOW`.
    overflowed: bool,
    /// Set when the transport is gone; pushes then fail.
    closed: bool,
}

/// The queue. Rooms see it as an [`Outbox`].
pub(crate) struct ConnQueue {
    encoding: Encoding,
    /// Bytes queued across all connections of the server, for `/healthz`.
    total: Arc<AtomicUsize>,
    limits: QueueLimits,
    state: Mutex<State>,
    /// Wakes the transport when there is something to write or to do.
    ready: Notify,
}

/// What the transport takes from the queue in one go.
#[derive(Default)]
pub(crate) struct Drained {
    /// Frames to write, in order.
    pub(crate) frames: Vec<Frame>,
    /// Rooms that need a `sync` because their patches were collapsed.
    pub(crate) resync: Vec<Arc<str>>,
    /// The client fell hopelessly behind.
    pub(crate) overflowed: bool,
}

impl ConnQueue {
    pub(crate) fn new(encoding: Encoding, limits: QueueLimits, total: Arc<AtomicUsize>) -> Self {
        Self {
            encoding,
            total,
            limits,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Each critical section leaves the state consistent, so a poisoned lock is usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take everything queued.
    pub(crate) fn drain(&self) -> Drained {
        let mut s = self.lock();
        self.total.fetch_sub(s.bytes, Ordering::Relaxed);
        s.bytes = 0;
        Drained {
            frames: s.frames.drain(..).collect(),
            resync: std::mem::take(&mut s.resync),
            overflowed: s.overflowed,
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
}

impl Outbox for ConnQueue {
    fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn push(&self, frame: Frame) -> bool {
        let mut s = self.lock();
        if s.closed || s.overflowed {
            return false;
        }
        // The fresh snapshot a collapse asked for makes the room whole again; it is queued
        // even over the soft bound, or the collapse could repeat forever.
        let ends_lag = frame.kind == FrameKind::Snapshot && s.lagging.remove(&frame.room);
        if !ends_lag && frame.kind != FrameKind::Control && s.lagging.contains(&frame.room) {
            // Superseded by the snapshot on its way.
            return true;
        }
        let full =
            s.frames.len() >= self.limits.frames || s.bytes + frame.bytes.len() > self.limits.bytes;
        if full && frame.kind != FrameKind::Control && !ends_lag {
            // Collapse: this room's queued state frames go, one snapshot will replace them.
            let room = frame.room.clone();
            let before = s.bytes;
            s.frames
                .retain(|f| f.kind == FrameKind::Control || f.room != room);
            s.bytes = s.frames.iter().map(|f| f.bytes.len()).sum();
            self.total.fetch_sub(before - s.bytes, Ordering::Relaxed);
            tracing::debug!(%room, freed = before - s.bytes, "collapsing a slow client's patches");
            s.lagging.insert(room.clone());
            s.resync.push(room);
            drop(s);
            self.ready.notify_one();
            return true;
        }
        let hard = s.frames.len() >= self.limits.frames * HARD_FACTOR
            || s.bytes + frame.bytes.len() > self.limits.bytes * HARD_FACTOR;
        if hard {
            s.overflowed = true;
            drop(s);
            self.ready.notify_one();
            return false;
        }
        s.bytes += frame.bytes.len();
        self.total.fetch_add(frame.bytes.len(), Ordering::Relaxed);
        s.frames.push_back(frame);
        drop(s);
        self.ready.notify_one();
        true
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
        let texts: Vec<&[u8]> = d.frames.iter().map(|f| &f.bytes[..]).collect();
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
        );
        assert!(q.push(frame(FrameKind::Patch, "a", "123456")));
        assert!(q.push(frame(FrameKind::Patch, "a", "123456")));
        let d = q.drain();
        assert!(d.frames.is_empty());
        assert_eq!(d.resync.len(), 1);
    }
}
