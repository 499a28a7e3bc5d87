//! What the engine tells operators about its rooms and actions, through the `metrics`
//! facade. With no recorder installed (the server installs one when its metrics are on)
//! every call is a no-op costing one atomic load.
//!
//! Every metric the engine records is listed once in [`METRICS`] with its kind, unit, labels
//! and meaning: the server describes them to its exporter from there, and a test checks that
//! `docs/operations.md` documents each. Labels are low-cardinality by design — a game's name,
//! a room status, an error code, a fixed reason — never a room or player id.

use arbiter_protocol::RoomStatus;
use metrics::{Counter, Gauge, Histogram, Unit, counter, gauge, histogram};
use std::time::Instant;

/// What kind of metric it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution, exported with these upper bucket bounds.
    Histogram(&'static [f64]),
}

/// One metric as it is described to the exporter and documented.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Its name, with the `arbiter_` prefix.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// What its values count.
    pub unit: Unit,
    /// The names of its labels.
    pub labels: &'static [&'static str],
    /// What it means, for `# HELP`.
    pub help: &'static str,
}

/// Bounds for work done inside a room's task (tens of microseconds when all is well).
pub const FAST_SECONDS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 1.0,
];

/// Bounds for waits that may include a disk or network round trip (a commit, an fsync).
pub const SLOW_SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Live rooms on this node by game and status.
pub const ROOMS_LIVE: &str = "arbiter_rooms_live";
/// Rooms created on this node.
pub const ROOMS_CREATED: &str = "arbiter_rooms_created_total";
/// Rooms closed after being idle.
pub const ROOMS_CLOSED: &str = "arbiter_rooms_closed_total";
/// Rooms this node stopped serving without closing them.
pub const ROOM_HANDOVERS: &str = "arbiter_room_handovers_total";
/// Actions accepted and applied.
pub const ACTIONS_APPLIED: &str = "arbiter_actions_applied_total";
/// `reject` answers by code.
pub const REJECTS: &str = "arbiter_rejects_total";
/// Time a room's task spends on one `act`.
pub const ACTION_APPLY_SECONDS: &str = "arbiter_action_apply_seconds";
/// Time from an `act` reaching its room's task to its answer reaching the connection.
pub const ACTION_ACK_SECONDS: &str = "arbiter_action_ack_seconds";
/// Snapshots sent where a client asked for (or expected) patches.
pub const SNAPSHOT_FALLBACKS: &str = "arbiter_snapshot_fallbacks_total";
/// Requests refused with `RATE_LIMITED`.
pub const RATE_LIMITED: &str = "arbiter_rate_limited_total";

/// Every metric the engine records.
pub const METRICS: &[Metric] = &[
    Metric {
        name: ROOMS_LIVE,
        kind: Kind::Gauge,
        unit: Unit::Count,
        labels: &["game", "status"],
        help: "Rooms served by this node, by game and status (waiting, playing, finished).",
    },
    Metric {
        name: ROOMS_CREATED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["game"],
        help: "Rooms created on this node.",
    },
    Metric {
        name: ROOMS_CLOSED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["game"],
        help: "Rooms closed (and archived) after being idle.",
    },
    Metric {
        name: ROOM_HANDOVERS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["reason"],
        help: "Rooms this node stopped serving without closing them: requested (draining, \
               lease lost), fenced (another node took the room over), storage_failed.",
    },
    Metric {
        name: ACTIONS_APPLIED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["game"],
        help: "Actions (players' and bots') accepted and applied.",
    },
    Metric {
        name: REJECTS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["code"],
        help: "Reject answers to act, undo and redo (from the room or the session), by \
               error code.",
    },
    Metric {
        name: ACTION_APPLY_SECONDS,
        kind: Kind::Histogram(FAST_SECONDS),
        unit: Unit::Seconds,
        labels: &["game"],
        help: "Time a room's task spends handling one act: checks, apply, views and patches.",
    },
    Metric {
        name: ACTION_ACK_SECONDS,
        kind: Kind::Histogram(SLOW_SECONDS),
        unit: Unit::Seconds,
        labels: &["game"],
        help: "Time from a room's task taking an act from its queue to its answer reaching \
               the connection's queue; under strict durability this includes the commit.",
    },
    Metric {
        name: SNAPSHOT_FALLBACKS,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["reason"],
        help: "Snapshots sent instead of patches: resume (the room no longer holds the \
               patches since the client's version), sync (a client or a collapsed queue \
               asked for one).",
    },
    Metric {
        name: RATE_LIMITED,
        kind: Kind::Counter,
        unit: Unit::Count,
        labels: &["what"],
        help: "Requests refused with RATE_LIMITED, by what was limited.",
    },
];

/// The label of a room status.
pub(crate) fn status_label(status: RoomStatus) -> &'static str {
    match status {
        RoomStatus::Waiting => "waiting",
        RoomStatus::Playing => "playing",
        RoomStatus::Finished => "finished",
    }
}

/// One room's handles on its hot-path metrics, looked up once when the room is built rather
/// than on every action.
pub(crate) struct RoomMetrics {
    game: &'static str,
    pub(crate) applied: Counter,
    pub(crate) apply: Histogram,
    pub(crate) ack: Histogram,
}

impl RoomMetrics {
    pub(crate) fn new(game: &'static str) -> Self {
        Self {
            game,
            applied: counter!(ACTIONS_APPLIED, "game" => game),
            apply: histogram!(ACTION_APPLY_SECONDS, "game" => game),
            ack: histogram!(ACTION_ACK_SECONDS, "game" => game),
        }
    }

    /// Count the room closing for good.
    pub(crate) fn closed(&self) {
        counter!(ROOMS_CLOSED, "game" => self.game).increment(1);
    }

    /// Record the answers handed out now to the acts that arrived at `arrivals`.
    pub(crate) fn answered(&self, arrivals: &mut Vec<Instant>) {
        if arrivals.is_empty() {
            return;
        }
        let now = Instant::now();
        for at in arrivals.drain(..) {
            self.ack.record(now.duration_since(at).as_secs_f64());
        }
    }
}

/// A room counted in [`ROOMS_LIVE`] for as long as this lives, under its current status.
pub(crate) struct LiveRoom {
    game: &'static str,
    status: RoomStatus,
    gauge: Gauge,
}

impl LiveRoom {
    pub(crate) fn new(metrics: &RoomMetrics, status: RoomStatus) -> Self {
        let gauge = Self::gauge(metrics.game, status);
        gauge.increment(1.0);
        Self {
            game: metrics.game,
            status,
            gauge,
        }
    }

    fn gauge(game: &'static str, status: RoomStatus) -> Gauge {
        gauge!(ROOMS_LIVE, "game" => game, "status" => status_label(status))
    }

    /// The room's status is now `status`.
    pub(crate) fn set(&mut self, status: RoomStatus) {
        if status != self.status {
            self.gauge.decrement(1.0);
            self.status = status;
            self.gauge = Self::gauge(self.game, status);
            self.gauge.increment(1.0);
        }
    }
}

impl Drop for LiveRoom {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

/// Count a room this node stopped serving without closing it.
pub(crate) fn handed_over(reason: &'static str) {
    counter!(ROOM_HANDOVERS, "reason" => reason).increment(1);
}
