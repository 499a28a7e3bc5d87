//! The result of one run, as JSON (the same schema the Colyseus load generator writes) and as
//! table rows that put several runs side by side.

use crate::hist::Summary;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Report {
    /// Row name (`arbiter`, `colyseus-immediate`, …).
    pub(crate) label: String,
    /// `arbiter` or `colyseus`.
    pub(crate) target: String,
    /// `act`, `join` or `idle`.
    pub(crate) workload: String,
    pub(crate) game: String,
    pub(crate) rooms: u32,
    pub(crate) clients: u32,
    pub(crate) spectators: u32,
    pub(crate) interval_ms: u64,
    /// `clustered` or `spread` (see `Schedule`); empty in reports from before it was named,
    /// which were all clustered.
    pub(crate) schedule: String,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    /// When the measured window started (UTC, RFC 3339).
    pub(crate) started_at: String,
    /// Connections opened.
    pub(crate) connections: u64,
    pub(crate) join: JoinStats,
    /// Actions per second the schedule asked for.
    pub(crate) offered_actions_per_s: f64,
    pub(crate) actions_sent: u64,
    pub(crate) acks: u64,
    pub(crate) actions_per_s: f64,
    /// State updates (patches or snapshots) received by members in the window.
    pub(crate) updates: u64,
    pub(crate) updates_per_s: f64,
    /// WebSocket frames received in the window (a batch counts once).
    pub(crate) frames_per_s: f64,
    pub(crate) ack_latency: Summary,
    /// From sending an action to each member receiving the update that contains it.
    pub(crate) update_latency: Summary,
    /// How late the generator sent measured actions against their schedule (its own
    /// scheduling delay, which the latencies above include).
    pub(crate) send_lag: Summary,
    /// Error or reject messages.
    pub(crate) errors: u64,
    /// Connections that closed or failed during the run.
    pub(crate) disconnects: u64,
    /// Measured actions never answered by the end of the drain.
    pub(crate) unanswered: u64,
    /// The server's CPU and memory; with several nodes, their sum (`pid` 0).
    pub(crate) server: ProcStats,
    pub(crate) loadgen: ProcStats,
    /// Busy time of every CPU of the machine in the window, % of one core (200 is both cores
    /// of two): what is not the server's or the generator's belongs to others, or is kernel
    /// work charged to no process.
    pub(crate) machine_busy_pct: f64,
    /// With several nodes: the latencies of members connected to their room's owner and of
    /// members connected elsewhere. Absent from a single server's report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) routes: Vec<RouteStats>,
    /// With several nodes: each node's CPU and memory. Absent from a single server's report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) nodes: Vec<NodeStats>,
    /// What the hostile connections of `--abuse` did in the window. Absent without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) abuse: Option<AbuseStats>,
    /// The `tick` workload's measures. Absent from other workloads' reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tick: Option<TickStats>,
    /// Anything the reader should know (load-bound, limits hit, …).
    pub(crate) notes: Vec<String>,
}

/// What the `tick` workload measures besides the inputs' acks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct TickStats {
    /// The rooms' tick, ms.
    pub(crate) tick_ms: u64,
    /// Tick patches each member received per second (1000 / `tick_ms` when none is lost).
    pub(crate) ticks_per_s: f64,
    /// From each tick's due time to each member receiving its patch. Arbiter: the room's
    /// fixed schedule; Colyseus: the previous tick's start plus the interval, when its
    /// `setInterval` next wanted to run.
    pub(crate) tick_latency: Summary,
    /// WebSocket payload bytes each member received per second.
    pub(crate) bytes_per_client_per_s: f64,
    /// Server CPU per room: ms of CPU per room per second of the window.
    pub(crate) cpu_ms_per_room_s: f64,
}

/// The hostile side of a run (`--abuse`), counted in the measured window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AbuseStats {
    /// `act-flood`, `slowloris`, … (see `AbuseKind`).
    pub(crate) kind: String,
    /// Hostile connections kept going (slowloris: sockets with unfinished headers).
    pub(crate) abusers: u32,
    /// Slowloris only: WebSockets beside them that never say `hello`.
    pub(crate) silent: u32,
    /// Length of the window the counts cover.
    pub(crate) seconds: f64,
    /// Messages sent (slowloris: bytes).
    pub(crate) sent: u64,
    /// Server messages that were not refusals, by type (`ack`, `pong`, …).
    pub(crate) answered: BTreeMap<String, u64>,
    /// `reject` and `error` answers, by code.
    pub(crate) refused: BTreeMap<String, u64>,
    /// Connections the server ended, by close code (`eof`: no close frame, `reset`: the
    /// socket failed).
    pub(crate) closes: BTreeMap<String, u64>,
    /// Connection attempts that failed, by cause (`HTTP 429`, `connect`, `handshake`).
    pub(crate) connect_failures: BTreeMap<String, u64>,
    /// Connections opened.
    pub(crate) connects: u64,
    /// Connections opened by an abuser that had been closed before.
    pub(crate) reconnects: u64,
    /// Hostile sockets open when the window ended.
    pub(crate) open_at_end: u64,
    /// CPU of the generator's abuse thread, % of one core.
    pub(crate) thread_cpu_pct: f64,
    /// How the abuse thread yields to the measuring one: `idle` (SCHED_IDLE) or `nice 19`.
    pub(crate) priority: String,
}

impl AbuseStats {
    fn per_s(&self, n: u64) -> f64 {
        if self.seconds > 0.0 {
            n as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// `KEY rate/s` for every entry, largest first.
    fn rates(&self, map: &BTreeMap<String, u64>) -> String {
        let mut entries: Vec<(&String, &u64)> = map.iter().collect();
        entries.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let cells: Vec<String> = entries
            .into_iter()
            .map(|(k, &n)| format!("{k} {}", rate(self.per_s(n))))
            .collect();
        if cells.is_empty() {
            "-".into()
        } else {
            cells.join(", ")
        }
    }
}

/// A rate with no more digits than it deserves.
fn rate(x: f64) -> String {
    if x >= 10.0 || x == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Joining: connect, hello, join, first state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JoinStats {
    pub(crate) joined: u64,
    pub(crate) failed: u64,
    /// From the first connect to the last member holding its first state.
    pub(crate) wall_ms: f64,
    pub(crate) per_s: f64,
    pub(crate) latency: Summary,
}

/// The members of one route (see `schedule::Route`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RouteStats {
    /// `same-node` or `cross-node`.
    pub(crate) route: String,
    /// Members (players and spectators) on this route.
    pub(crate) members: u64,
    /// Acks received in the window by this route's players.
    pub(crate) actions_per_s: f64,
    /// Actions sent by this route's players, send → ack.
    pub(crate) ack_latency: Summary,
    /// Updates received by this route's members, from the send of the action they carry,
    /// whoever sent it.
    pub(crate) update_latency: Summary,
}

/// One node of a cluster run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct NodeStats {
    pub(crate) url: String,
    pub(crate) server: ProcStats,
}

/// CPU and memory of a process over the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ProcStats {
    pub(crate) pid: u32,
    /// Percent of one core.
    pub(crate) cpu_user_pct: f64,
    pub(crate) cpu_sys_pct: f64,
    /// CPU (user + system) per measured action, µs.
    pub(crate) cpu_us_per_action: f64,
    /// Resident set at the start and end of the window, KiB.
    pub(crate) rss_start_kb: u64,
    pub(crate) rss_end_kb: u64,
    /// Resident set before any connection was opened (idle workload), KiB.
    pub(crate) rss_before_kb: u64,
    /// (end − before) / connections, KiB (idle workload).
    pub(crate) rss_per_conn_kb: f64,
}

impl ProcStats {
    pub(crate) fn cpu_pct(&self) -> f64 {
        self.cpu_user_pct + self.cpu_sys_pct
    }

    /// Several processes as one: CPU, CPU per action and memory added up, no pid.
    pub(crate) fn total(procs: &[Self]) -> Self {
        let mut t = Self::default();
        for p in procs {
            t.cpu_user_pct += p.cpu_user_pct;
            t.cpu_sys_pct += p.cpu_sys_pct;
            t.cpu_us_per_action += p.cpu_us_per_action;
            t.rss_start_kb += p.rss_start_kb;
            t.rss_end_kb += p.rss_end_kb;
            t.rss_before_kb += p.rss_before_kb;
            t.rss_per_conn_kb += p.rss_per_conn_kb;
        }
        t
    }
}

/// A load generator above this share of its core is the bottleneck, not the server.
pub(crate) const LOAD_BOUND_PCT: f64 = 90.0;

/// Header and rows, one per report, columns aligned.
pub(crate) fn table(reports: &[Report]) -> String {
    let header = [
        "label",
        "workload",
        "conns",
        "offered/s",
        "actions/s",
        "updates/s",
        "ack p50",
        "ack p99",
        "upd p50",
        "upd p95",
        "upd p99",
        "upd max",
        "err",
        "disc",
        "lost",
        "srv cpu%",
        "usr/sys",
        "µs/act",
        "srv MB",
        "gen cpu%",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_string()).collect()];
    for r in reports {
        let ms = |x: f64| {
            if x >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        };
        let workload = workload_cell(r);
        let gen_cpu = if r.loadgen.cpu_pct() >= LOAD_BOUND_PCT {
            format!("{:.0}!", r.loadgen.cpu_pct())
        } else {
            format!("{:.0}", r.loadgen.cpu_pct())
        };
        rows.push(vec![
            r.label.clone(),
            workload,
            r.connections.to_string(),
            format!("{:.0}", r.offered_actions_per_s),
            format!("{:.0}", r.actions_per_s),
            format!("{:.0}", r.updates_per_s),
            ms(r.ack_latency.p50_ms),
            ms(r.ack_latency.p99_ms),
            ms(r.update_latency.p50_ms),
            ms(r.update_latency.p95_ms),
            ms(r.update_latency.p99_ms),
            ms(r.update_latency.max_ms),
            r.errors.to_string(),
            r.disconnects.to_string(),
            r.unanswered.to_string(),
            format!("{:.0}", r.server.cpu_pct()),
            format!("{:.0}/{:.0}", r.server.cpu_user_pct, r.server.cpu_sys_pct),
            format!("{:.1}", r.server.cpu_us_per_action),
            format!("{:.1}", r.server.rss_end_kb as f64 / 1024.0),
            gen_cpu,
        ]);
        for route in &r.routes {
            let mut row = vec![String::new(); header.len()];
            row[0] = format!("{} {}", r.label, route.route);
            row[2] = route.members.to_string();
            row[4] = format!("{:.0}", route.actions_per_s);
            row[6] = ms(route.ack_latency.p50_ms);
            row[7] = ms(route.ack_latency.p99_ms);
            row[8] = ms(route.update_latency.p50_ms);
            row[9] = ms(route.update_latency.p95_ms);
            row[10] = ms(route.update_latency.p99_ms);
            row[11] = ms(route.update_latency.max_ms);
            rows.push(row);
        }
    }
    align(&rows)
}

/// The workload of a report in a few characters: `250x4+0s @100ms spread` (rooms × players +
/// spectators, interval, schedule), `idle 10000`, `join 2000`.
fn workload_cell(r: &Report) -> String {
    match r.workload.as_str() {
        "act" => format!(
            "{}x{}+{}s @{}ms {}",
            r.rooms,
            r.clients,
            r.spectators,
            r.interval_ms,
            r.schedule_name()
        ),
        "idle" => format!("idle {}", r.connections),
        other => format!("{other} {}", r.connections),
    }
}

impl Report {
    /// The schedule, `clustered` for reports from before it was named.
    fn schedule_name(&self) -> &str {
        if self.schedule.is_empty() {
            "clustered"
        } else {
            &self.schedule
        }
    }

    /// Whether two `act` reports ran the same workload (at the same rate).
    fn same_workload(&self, other: &Self) -> bool {
        (self.rooms, self.clients, self.spectators, self.interval_ms)
            == (
                other.rooms,
                other.clients,
                other.spectators,
                other.interval_ms,
            )
            && self.schedule_name() == other.schedule_name()
    }

    /// Whether this `act` row counts towards its label's knee: p99 action→update within
    /// [`KNEE_P99_MS`], every action answered, no connection lost.
    fn within_knee(&self) -> bool {
        self.update_latency.count > 0
            && self.update_latency.p99_ms <= KNEE_P99_MS
            && self.unanswered == 0
            && self.disconnects == 0
    }
}

/// Every `act` row beside the row of `reference` (the bare server of `bench/compare.sh`) with
/// the same workload: its CPU per action as a multiple of the reference's. Then, when the
/// reference ran at several rates (a knee search), each label's knee as a fraction of the
/// reference's. Empty when no report carries the reference label.
pub(crate) fn against(reports: &[Report], reference: &str) -> String {
    let act: Vec<&Report> = reports.iter().filter(|r| r.workload == "act").collect();
    let base_rows: Vec<&Report> = act
        .iter()
        .copied()
        .filter(|r| r.label == reference)
        .collect();
    if base_rows.is_empty() {
        return String::new();
    }
    let mut rows: Vec<Vec<String>> = vec![vec![
        "label".into(),
        "workload".into(),
        "actions/s".into(),
        "µs/act".into(),
        format!("{reference} µs/act"),
        format!("× {reference}"),
    ]];
    for r in act.iter().filter(|r| r.label != reference) {
        let Some(base) = base_rows.iter().find(|b| b.same_workload(r)) else {
            continue;
        };
        let (us, base_us) = (r.server.cpu_us_per_action, base.server.cpu_us_per_action);
        rows.push(vec![
            r.label.clone(),
            workload_cell(r),
            format!("{:.0}", r.actions_per_s),
            format!("{us:.1}"),
            format!("{base_us:.1}"),
            if us > 0.0 && base_us > 0.0 {
                format!("{:.2}", us / base_us)
            } else {
                "-".into()
            },
        ]);
    }
    let mut out = String::new();
    if rows.len() > 1 {
        let _ = writeln!(out, "CPU per action against {reference}, same workload:");
        out.push_str(&align(&rows));
    }
    let mut rates: Vec<u64> = base_rows
        .iter()
        .map(|r| r.offered_actions_per_s.round() as u64)
        .collect();
    rates.sort_unstable();
    rates.dedup();
    let knees = knees(reports);
    let Some(base_knee) = knees
        .iter()
        .find(|(label, _)| label == reference)
        .and_then(|(_, k)| *k)
        .filter(|_| rates.len() > 1)
    else {
        return out;
    };
    // A reference that never failed has its knee above the last rate tried: a fraction of
    // it is then an upper bound.
    let bounded = base_rows
        .iter()
        .any(|r| !r.within_knee() && r.offered_actions_per_s > base_knee);
    let (at_most, base_cell, why) = if bounded {
        ("", format!("{base_knee:.0}"), String::new())
    } else {
        (
            "≤ ",
            format!("≥ {base_knee:.0}"),
            format!(": no row of {reference} failed"),
        )
    };
    for (label, knee) in knees.iter().filter(|(label, _)| label != reference) {
        match knee {
            Some(k) => {
                let _ = writeln!(
                    out,
                    "knee {label} / {reference}: {at_most}{:.2} ({k:.0} / {base_cell} actions/s{why})",
                    k / base_knee
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "knee {label} / {reference}: 0 (no row with p99 update ≤ {KNEE_P99_MS} ms)"
                );
            }
        }
    }
    out
}

/// The well-behaved side of each report beside what its hostile side (`--abuse`) did. The
/// ratio is ack p99 over that of the first report without abuse (the unloaded baseline).
pub(crate) fn abuse_table(reports: &[Report]) -> String {
    let base = reports
        .iter()
        .find(|r| r.abuse.is_none())
        .map(|r| r.ack_latency.p99_ms);
    let mut rows: Vec<Vec<String>> = vec![
        [
            "label",
            "abuse",
            "actions/s",
            "ack p50",
            "ack p99",
            "ack max",
            "p99/base",
            "upd p99",
            "lag p99",
            "srv cpu%",
            "gen cpu%",
            "other%",
            "sent/s",
            "refused/s",
            "closed/s",
            "reconn/s",
            "failed/s",
            "open",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect(),
    ];
    let ms = |x: f64| {
        if x >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    for r in reports {
        let ratio = match base {
            Some(b) if b > 0.0 => format!("{:.2}", r.ack_latency.p99_ms / b),
            _ => "-".into(),
        };
        let mut row = vec![
            r.label.clone(),
            String::new(),
            format!("{:.0}", r.actions_per_s),
            ms(r.ack_latency.p50_ms),
            ms(r.ack_latency.p99_ms),
            ms(r.ack_latency.max_ms),
            ratio,
            ms(r.update_latency.p99_ms),
            ms(r.send_lag.p99_ms),
            format!("{:.0}", r.server.cpu_pct()),
            format!("{:.0}", r.loadgen.cpu_pct()),
            format!(
                "{:.0}",
                (r.machine_busy_pct - r.server.cpu_pct() - r.loadgen.cpu_pct()).max(0.0)
            ),
        ];
        match &r.abuse {
            Some(a) => {
                row[1] = if a.silent > 0 {
                    format!("{} {}+{}", a.kind, a.abusers, a.silent)
                } else {
                    format!("{} {}", a.kind, a.abusers)
                };
                if !a.priority.is_empty() {
                    row[1] = format!("{} ({})", row[1], a.priority);
                }
                row[10] = format!("{:.0} ({:.0})", r.loadgen.cpu_pct(), a.thread_cpu_pct);
                row.extend([
                    rate(a.per_s(a.sent)),
                    a.rates(&a.refused),
                    a.rates(&a.closes),
                    rate(a.per_s(a.reconnects)),
                    a.rates(&a.connect_failures),
                    a.open_at_end.to_string(),
                ]);
            }
            None => {
                row[1] = "none".into();
                row.extend(std::iter::repeat_n("-".to_string(), 6));
            }
        }
        rows.push(row);
    }
    align(&rows)
}

/// CPU and memory of every node of the reports that ran against several.
pub(crate) fn node_table(reports: &[Report]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "label", "node", "pid", "srv cpu%", "usr/sys", "µs/act", "srv MB",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect(),
    ];
    for r in reports {
        for n in &r.nodes {
            let p = &n.server;
            rows.push(vec![
                r.label.clone(),
                n.url.clone(),
                p.pid.to_string(),
                format!("{:.0}", p.cpu_pct()),
                format!("{:.0}/{:.0}", p.cpu_user_pct, p.cpu_sys_pct),
                format!("{:.1}", p.cpu_us_per_action),
                format!("{:.1}", p.rss_end_kb as f64 / 1024.0),
            ]);
        }
    }
    align(&rows)
}

/// Join and memory figures, one row per report.
pub(crate) fn join_table(reports: &[Report]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "label",
            "workload",
            "joined",
            "failed",
            "wall ms",
            "joins/s",
            "join p50",
            "join p99",
            "join max",
            "srv MB before",
            "srv MB after",
            "KB/conn",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect(),
    ];
    for r in reports {
        let j = &r.join;
        rows.push(vec![
            r.label.clone(),
            r.workload.clone(),
            j.joined.to_string(),
            j.failed.to_string(),
            format!("{:.0}", j.wall_ms),
            format!("{:.0}", j.per_s),
            format!("{:.2}", j.latency.p50_ms),
            format!("{:.2}", j.latency.p99_ms),
            format!("{:.2}", j.latency.max_ms),
            format!("{:.1}", r.server.rss_before_kb as f64 / 1024.0),
            format!("{:.1}", r.server.rss_end_kb as f64 / 1024.0),
            format!("{:.1}", r.server.rss_per_conn_kb),
        ]);
    }
    align(&rows)
}

/// The `tick` workload, one row per report: rooms × players at the tick rate, inputs per
/// second, tick patches per member per second, from a tick's due time to each member
/// receiving it, input → ack, bytes per member per second and server CPU per room.
pub(crate) fn tick_table(reports: &[Report]) -> String {
    let header = [
        "label",
        "workload",
        "conns",
        "inputs/s",
        "ticks/s",
        "tick p50",
        "tick p99",
        "tick max",
        "ack p50",
        "ack p99",
        "KB/client/s",
        "srv cpu%",
        "cpu ms/room/s",
        "srv MB",
        "gen cpu%",
        "err",
        "disc",
        "lost",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_string()).collect()];
    for r in reports {
        let t = r.tick.unwrap_or_default();
        let gen_mark = if r.loadgen.cpu_pct() >= LOAD_BOUND_PCT {
            "!"
        } else {
            ""
        };
        rows.push(vec![
            r.label.clone(),
            format!(
                "{}x{} @{}ms tick {}ms {}",
                r.rooms,
                r.clients,
                r.interval_ms,
                t.tick_ms,
                r.schedule_name()
            ),
            r.connections.to_string(),
            format!("{:.0}", r.actions_per_s),
            format!("{:.1}", t.ticks_per_s),
            format!("{:.2}", t.tick_latency.p50_ms),
            format!("{:.2}", t.tick_latency.p99_ms),
            format!("{:.2}", t.tick_latency.max_ms),
            format!("{:.2}", r.ack_latency.p50_ms),
            format!("{:.2}", r.ack_latency.p99_ms),
            format!("{:.2}", t.bytes_per_client_per_s / 1_000.0),
            format!("{:.0}", r.server.cpu_pct()),
            format!("{:.3}", t.cpu_ms_per_room_s),
            format!("{:.1}", r.server.rss_end_kb as f64 / 1024.0),
            format!("{:.0}{gen_mark}", r.loadgen.cpu_pct()),
            r.errors.to_string(),
            r.disconnects.to_string(),
            r.unanswered.to_string(),
        ]);
    }
    align(&rows)
}

/// Pads every column to its widest cell; the first column is left-aligned, the rest right.
fn align(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            if c > 0 {
                out.push_str("  ");
            }
            if c == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    }
    out
}

/// The p99 action→update latency a row may have and still count towards the knee.
pub(crate) const KNEE_P99_MS: f64 = 50.0;

/// Per label (in first-seen order): the highest actions/s of an `act` row whose p99
/// action→update latency is within [`KNEE_P99_MS`] with every action answered, or `None`
/// when no row qualifies.
pub(crate) fn knees(reports: &[Report]) -> Vec<(String, Option<f64>)> {
    let mut out: Vec<(String, Option<f64>)> = Vec::new();
    for r in reports.iter().filter(|r| r.workload == "act") {
        let ok = r.within_knee();
        let idx = match out.iter().position(|(l, _)| *l == r.label) {
            Some(i) => i,
            None => {
                out.push((r.label.clone(), None));
                out.len() - 1
            }
        };
        if ok {
            let best = &mut out[idx].1;
            *best = Some(best.map_or(r.actions_per_s, |b: f64| b.max(r.actions_per_s)));
        }
    }
    out
}

/// The notes of every report, prefixed by its label.
pub(crate) fn notes(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        for n in &r.notes {
            let _ = writeln!(out, "{}: {n}", r.label);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: &str, gen_pct: f64) -> Report {
        Report {
            label: label.into(),
            target: "arbiter".into(),
            workload: "act".into(),
            rooms: 250,
            clients: 4,
            spectators: 0,
            interval_ms: 100,
            connections: 1_000,
            offered_actions_per_s: 10_000.0,
            actions_per_s: 9_990.4,
            updates_per_s: 39_961.6,
            ack_latency: Summary {
                count: 10,
                p50_ms: 0.5,
                p95_ms: 1.0,
                p99_ms: 2.25,
                max_ms: 150.0,
                mean_ms: 0.6,
            },
            update_latency: Summary {
                count: 40,
                p50_ms: 0.7,
                p95_ms: 1.5,
                p99_ms: 3.0,
                max_ms: 150.0,
                mean_ms: 0.8,
            },
            server: ProcStats {
                cpu_user_pct: 20.0,
                cpu_sys_pct: 45.5,
                cpu_us_per_action: 65.54,
                rss_end_kb: 40_960,
                ..ProcStats::default()
            },
            loadgen: ProcStats {
                cpu_user_pct: gen_pct,
                ..ProcStats::default()
            },
            ..Report::default()
        }
    }

    #[test]
    fn table_aligns_columns_and_flags_a_load_bound_generator() {
        let t = table(&[sample("arbiter", 50.0), sample("colyseus-immediate", 95.0)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("label  "));
        assert!(
            lines[1].starts_with("arbiter             250x4+0s @100ms"),
            "{t}"
        );
        // Right-aligned numeric columns end at the same place on every line.
        let end = |l: &str, needle: &str| l.find(needle).map(|i| i + needle.len());
        assert_eq!(end(lines[0], "actions/s"), end(lines[1], "9990"));
        assert!(lines[1].contains("  2.25  "), "{t}");
        assert!(lines[1].contains("  150  "), "{t}");
        assert!(
            lines[1].contains("20/46") || lines[1].contains("20/45"),
            "{t}"
        );
        assert!(lines[1].contains("65.5"), "{t}");
        assert!(lines[1].ends_with("  50"), "{t}");
        assert!(lines[2].ends_with("  95!"), "{t}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn json_round_trips_and_tolerates_missing_fields() {
        let r = sample("x", 10.0);
        let text = serde_json::to_string(&r).expect("serialise");
        let back: Report = serde_json::from_str(&text).expect("parse");
        assert_eq!(back, r);
        let partial: Report =
            serde_json::from_str(r#"{"label":"colyseus","actions_per_s":12.5}"#).expect("parse");
        assert_eq!(partial.label, "colyseus");
        assert_eq!(partial.actions_per_s, 12.5);
        assert_eq!(partial.server, ProcStats::default());
    }

    #[test]
    fn cluster_reports_add_route_rows_and_node_rows() {
        let single = serde_json::to_string(&sample("one", 1.0)).expect("serialise");
        assert!(
            !single.contains("routes") && !single.contains("nodes"),
            "a single server's JSON is unchanged: {single}"
        );
        let mut r = sample("cluster", 1.0);
        r.routes = vec![
            RouteStats {
                route: "same-node".into(),
                members: 500,
                actions_per_s: 5_000.0,
                ack_latency: Summary {
                    p99_ms: 1.5,
                    ..Summary::default()
                },
                update_latency: Summary {
                    p99_ms: 2.5,
                    ..Summary::default()
                },
            },
            RouteStats {
                route: "cross-node".into(),
                members: 500,
                actions_per_s: 4_990.0,
                ..RouteStats::default()
            },
        ];
        let node = |url: &str, pid: u32, us: f64| NodeStats {
            url: url.into(),
            server: ProcStats {
                pid,
                cpu_user_pct: 10.0,
                cpu_sys_pct: 5.0,
                cpu_us_per_action: us,
                rss_end_kb: 2_048,
                ..ProcStats::default()
            },
        };
        r.nodes = vec![node("ws://a/ws", 1, 20.0), node("ws://b/ws", 2, 30.5)];
        let total = ProcStats::total(&[r.nodes[0].server, r.nodes[1].server]);
        assert_eq!(
            (total.pid, total.cpu_pct(), total.cpu_us_per_action),
            (0, 30.0, 50.5)
        );
        assert_eq!(total.rss_end_kb, 4_096);

        let t = table(&[r.clone()]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[2].starts_with("cluster same-node "), "{t}");
        assert!(
            lines[2].contains("  500  ") && lines[2].contains("  5000  "),
            "{t}"
        );
        assert!(
            lines[2].contains("  1.50  ") && lines[2].contains("  2.50  "),
            "{t}"
        );
        assert!(lines[3].starts_with("cluster cross-node"), "{t}");
        let n = node_table(&[r]);
        assert_eq!(n.lines().count(), 3, "{n}");
        assert!(
            n.lines()
                .nth(2)
                .is_some_and(|l| l.contains("ws://b/ws  ") && l.contains("  30.5  ")),
            "{n}"
        );
    }

    #[test]
    fn join_table_reports_memory_per_connection() {
        let mut r = sample("idle", 1.0);
        r.workload = "idle".into();
        r.join.joined = 10_000;
        r.server.rss_before_kb = 10_240;
        r.server.rss_per_conn_kb = 12.34;
        let t = join_table(&[r]);
        assert!(
            t.lines().nth(1).is_some_and(|l| l.ends_with("  12.3")),
            "{t}"
        );
    }

    #[test]
    fn knee_is_the_fastest_row_within_the_latency_bound() {
        let row = |label: &str, aps: f64, p99: f64, lost: u64| {
            let mut r = sample(label, 1.0);
            r.actions_per_s = aps;
            r.update_latency.count = 100;
            r.update_latency.p99_ms = p99;
            r.unanswered = lost;
            r
        };
        let k = knees(&[
            row("a", 5_000.0, 3.0, 0),
            row("b", 5_000.0, 60.0, 0),
            row("a", 10_000.0, 12.0, 0),
            row("a", 15_000.0, 80.0, 0),
            row("a", 14_000.0, 20.0, 3),
        ]);
        assert_eq!(
            k,
            vec![("a".to_string(), Some(10_000.0)), ("b".to_string(), None)]
        );
    }

    #[test]
    fn rows_stand_beside_the_reference_row_of_their_workload() {
        let row = |label: &str, rooms: u32, schedule: &str, us: f64, p99: f64| {
            let mut r = sample(label, 1.0);
            r.rooms = rooms;
            r.schedule = schedule.into();
            r.offered_actions_per_s = f64::from(rooms) * 40.0;
            r.actions_per_s = r.offered_actions_per_s;
            r.server.cpu_us_per_action = us;
            r.update_latency.count = 100;
            r.update_latency.p99_ms = p99;
            r
        };
        assert_eq!(
            against(&[row("arbiter", 250, "spread", 60.0, 3.0)], "bare"),
            ""
        );
        // One rate: CPU per action only, matched by workload and schedule.
        let t = against(
            &[
                row("bare", 250, "spread", 30.0, 2.0),
                row("arbiter", 250, "spread", 60.0, 3.0),
                row("arbiter", 250, "clustered", 50.0, 3.0),
                row("colyseus-immediate", 250, "spread", 90.0, 9.0),
            ],
            "bare",
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[1].ends_with("bare µs/act  × bare"), "{t}");
        assert!(!t.contains("knee"), "one rate is no knee search: {t}");
        assert!(
            lines[2].starts_with("arbiter ") && lines[2].contains("250x4+0s @100ms spread"),
            "{t}"
        );
        let tail = |l: &str| {
            l.split_whitespace()
                .rev()
                .take(3)
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(tail(lines[2]), ["2.00", "30.0", "60.0"], "{t}");
        assert_eq!(tail(lines[3]), ["3.00", "30.0", "90.0"], "{t}");
        // A knee search: knees as fractions, an upper bound when the reference never failed.
        let search = |bare_fails: bool| {
            vec![
                row("bare", 250, "spread", 30.0, 2.0),
                row(
                    "bare",
                    500,
                    "spread",
                    30.0,
                    if bare_fails { 80.0 } else { 9.0 },
                ),
                row("arbiter", 250, "spread", 60.0, 3.0),
                row("arbiter", 500, "spread", 60.0, 70.0),
                row("colyseus-50ms", 250, "spread", 60.0, 70.0),
            ]
        };
        let t = against(&search(true), "bare");
        assert!(
            t.contains("knee arbiter / bare: 1.00 (10000 / 10000 actions/s)"),
            "{t}"
        );
        assert!(
            t.contains("knee colyseus-50ms / bare: 0 (no row with p99 update ≤ 50 ms)"),
            "{t}"
        );
        let t = against(&search(false), "bare");
        assert!(
            t.contains(
                "knee arbiter / bare: ≤ 0.50 (10000 / ≥ 20000 actions/s: no row of bare failed)"
            ),
            "{t}"
        );
    }

    #[test]
    fn abuse_rows_stand_beside_the_unloaded_baseline() {
        let unloaded = sample("unloaded", 10.0);
        assert!(
            !serde_json::to_string(&unloaded)
                .expect("serialise")
                .contains("\"abuse\""),
            "a run without abuse has no abuse section"
        );
        let mut flood = sample("act-flood", 99.0);
        flood.ack_latency.p99_ms = 4.5;
        let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
            pairs.iter().map(|&(k, n)| (k.to_string(), n)).collect()
        };
        flood.abuse = Some(AbuseStats {
            kind: "act-flood".into(),
            abusers: 16,
            seconds: 10.0,
            sent: 1_000_000,
            refused: counts(&[("BAD_MESSAGE", 5), ("RATE_LIMITED", 250_000)]),
            closes: counts(&[("4029", 5_000), ("reset", 100)]),
            reconnects: 5_100,
            open_at_end: 13,
            thread_cpu_pct: 86.0,
            priority: "idle".into(),
            ..AbuseStats::default()
        });
        let back: Report = serde_json::from_str(&serde_json::to_string(&flood).expect("serialise"))
            .expect("parse");
        assert_eq!(back, flood);

        let t = abuse_table(&[unloaded, flood]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(
            lines[1].starts_with("unloaded ") && lines[1].contains("  none  "),
            "{t}"
        );
        assert!(lines[1].contains("  1.00  "), "{t}");
        assert!(lines[2].contains("  act-flood 16 (idle)  "), "{t}");
        assert!(
            lines[2].contains("  2.00  "),
            "p99 twice the baseline's: {t}"
        );
        assert!(lines[2].contains("  99 (86)  "), "{t}");
        assert!(lines[2].contains("  100000  "), "{t}");
        assert!(
            lines[2].contains("  RATE_LIMITED 25000, BAD_MESSAGE 0.5  "),
            "refusals by code, largest first: {t}"
        );
        assert!(lines[2].contains("  4029 500, reset 10  "), "{t}");
        let tail: Vec<&str> = lines[2].split_whitespace().rev().take(3).collect();
        assert_eq!(
            tail,
            ["13", "-", "510"],
            "open, failed/s, reconnects/s: {t}"
        );
    }

    #[test]
    fn notes_are_prefixed_with_their_label() {
        let mut r = sample("arbiter", 1.0);
        r.notes = vec!["load-bound".into()];
        assert_eq!(notes(&[r]), "arbiter: load-bound\n");
    }
}
