//! Outgoing frames: pushed at once, or held until the entries that made them are durable.

use super::*;

/// Frames produced by commands. Normally pushed at once; in hold mode kept until the entries
/// that produced them are durable, then pushed per connection in one go (so a patch and the
/// ack that follows it always leave together).
#[derive(Default)]
pub(super) struct Mail {
    pub(super) hold: bool,
    pub(super) queued: Vec<(ConnId, Arc<dyn Outbox>, Frame)>,
    /// Connections whose queue refused a frame, dropped once the current command is done
    /// (dropping them mid-fan-out would interleave a second entry with the first).
    pub(super) dropped: Vec<ConnId>,
}

impl Mail {
    pub(super) fn send(&mut self, conn: ConnId, outbox: &Arc<dyn Outbox>, frame: Frame) {
        if self.hold {
            self.queued.push((conn, outbox.clone(), frame));
        } else if !outbox.push(frame) {
            self.dropped.push(conn);
        }
    }

    pub(super) fn flush(&mut self) {
        // Each connection's frames in order, connections in the order they first appear; an
        // index by connection keeps this linear in the frames (a batch of a busy room holds
        // frames × connections).
        let mut batches: Vec<(ConnId, Arc<dyn Outbox>, Vec<Frame>)> = Vec::new();
        let mut at: HashMap<ConnId, usize> = HashMap::new();
        for (conn, outbox, frame) in self.queued.drain(..) {
            match at.get(&conn) {
                Some(&i) => batches[i].2.push(frame),
                None => {
                    at.insert(conn, batches.len());
                    batches.push((conn, outbox, vec![frame]));
                }
            }
        }
        for (conn, outbox, frames) in batches {
            if !outbox.push_all(frames) {
                self.dropped.push(conn);
            }
        }
    }
}
