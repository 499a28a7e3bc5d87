//! `arbiter bench`: a load generator that measures an Arbiter server over real sockets.
//!
//! R rooms × C players (+ S spectators) of a game; every player acts every T ms for D seconds
//! after a warm-up. Reported: join rate and latency, action→ack and action→update latency at
//! every member (HDR histograms), actions/s and updates/s, errors and disconnects, and the CPU
//! and RSS of the server process and of the generator itself. Given several URLs (the nodes of
//! a cluster), rooms and their members are spread over them and latencies are reported apart
//! for members connected to their room's owner and members connected elsewhere. See
//! `docs/performance.md`.
//!
//! With `--abuse KIND`, hostile connections run beside the `act` workload (floods of each
//! message class, junk frames, slowloris sockets, connection churn) and the report says what
//! they did next to what the well-behaved clients measured.
//!
//! [`bare`] is the other side: a minimal broadcast server for the same workload, the reference
//! row of `bench/compare.sh` (binary `arbiter-bare`).

mod abuse;
pub mod bare;
mod hist;
mod load;
mod procstat;
mod report;
mod schedule;

pub use abuse::{AbuseKind, AbusePriority};
use clap::{Args, ValueEnum};
pub use schedule::Schedule;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// What `arbiter bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkloadArg {
    /// Join, then every player acts every `--interval-ms` for `--duration` seconds.
    Act,
    /// Join every client as fast as the server allows (`--concurrency` at a time), then leave.
    Join,
    /// Join, then stay idle for `--duration` seconds: server memory per connection.
    Idle,
    /// A real-time room: rooms of `drift` ticking every `--tick-ms`, every player sending a
    /// steering input every `--interval-ms` (by default once per tick); measured: each tick's
    /// patch at every member against the tick's due time, bytes per client per second and
    /// server CPU per room.
    Tick,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table rows.
    Table,
    /// One JSON object.
    Json,
}

/// Options of `arbiter bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// WebSocket URL of the server under test (loopback only). Repeat it (or comma-separate)
    /// for the nodes of a cluster: room i is created through URL i mod n and its member j
    /// connects through URL (i + j) mod n.
    #[arg(long, value_delimiter = ',', default_value = "ws://127.0.0.1:7878/ws")]
    pub url: Vec<String>,
    /// The workload.
    #[arg(long, value_enum, default_value = "act")]
    pub workload: WorkloadArg,
    /// The game: `counter` for `act` (every action changes state all members see), `drift`
    /// for `tick` (the default of each).
    #[arg(long)]
    pub game: Option<String>,
    /// Rooms.
    #[arg(long, short = 'R', default_value_t = 250)]
    pub rooms: u32,
    /// Players per room.
    #[arg(long, short = 'C', default_value_t = 4)]
    pub clients: u32,
    /// Spectators per room.
    #[arg(long, short = 'S', default_value_t = 0)]
    pub spectators: u32,
    /// Each player acts every this many milliseconds (default 100; with `--workload tick`,
    /// `--tick-ms`).
    #[arg(long, short = 'T')]
    pub interval_ms: Option<u64>,
    /// With `--workload tick`: the rooms' tick, ms (33 is 30 Hz).
    #[arg(long, default_value_t = 33)]
    pub tick_ms: u64,
    /// When in each interval the players act: `clustered` (player i of n at i/n, so a room's
    /// players back to back) or `spread` (a room's players far apart, as people acting on their
    /// own). Every report names it.
    #[arg(long, value_enum, default_value = "clustered")]
    pub schedule: Schedule,
    /// Seconds of acting before measuring starts.
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    /// Seconds measured.
    #[arg(long, short = 'D', default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds to wait for answers still in flight after the window.
    #[arg(long, default_value_t = 3.0)]
    pub drain: f64,
    /// Seconds allowed for every client to connect and join.
    #[arg(long, default_value_t = 60.0)]
    pub setup_timeout: f64,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// The server's pid, for its CPU and RSS; by default the process listening on the URL's
    /// port. With several URLs, one pid per URL in the same order, or none.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,
    /// Row label.
    #[arg(long, default_value = "arbiter")]
    pub label: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Diagnosis only: ACK every segment at once (TCP_QUICKACK after each read). A server
    /// that leaves Nagle's algorithm on stalls small writes until the client's delayed ACK
    /// (40 ms); with this flag that stall disappears, which shows it is the cause. Rows run
    /// with it are labelled `+quickack` and are not comparable.
    #[arg(long)]
    pub quickack: bool,
    /// Hostile connections beside the `act` workload, from the start of the warm-up to the
    /// end of the window; the report adds what they did (messages sent, refusals by code,
    /// closes by code, reconnects).
    #[arg(long, value_enum)]
    pub abuse: Option<AbuseKind>,
    /// How many hostile connections `--abuse` keeps going (slowloris: sockets with unfinished
    /// headers, plus a tenth as many silent WebSockets). Default 16; slowloris 3,000.
    #[arg(long, requires = "abuse")]
    pub abusers: Option<u32>,
    /// Send the hostile connections of `--abuse` to this server instead of `--url`: a decoy
    /// beside the server under test, so that a row shows what the flood costs the generator
    /// alone (see bench/abuse.sh).
    #[arg(long, requires = "abuse")]
    pub abuse_url: Option<String>,
    /// The abusers' thread priority: `idle` (SCHED_IDLE: it runs only when the measuring
    /// thread does not want the core, as if the attacker had a machine of its own), `nice`
    /// (nice 19) or `normal` (an equal: tests on a machine busy with other work, where an
    /// idle thread would hardly run).
    #[arg(long, value_enum, default_value = "idle", requires = "abuse")]
    pub abuse_priority: AbusePriority,
    /// Send `X-Forwarded-For` on every WebSocket, each connection naming an address of its own
    /// in 10.0.0.0/8: for a server that trusts 127.0.0.1 as a proxy (`--trusted-proxies
    /// 127.0.0.1`), whose per-address connection limit then counts the clients apart.
    #[arg(long)]
    pub forwarded_for: bool,
    /// Run nothing: print these JSON reports (from `--json`, or the Colyseus generator) side
    /// by side.
    #[arg(long, num_args = 1..)]
    pub compare: Vec<PathBuf>,
    /// With `--compare`: the label of the reference rows (`bare`, the server of
    /// `arbiter-bare`); every other row's CPU per action and knee are also printed as
    /// fractions of the reference's on the same workload.
    #[arg(long, requires = "compare")]
    pub reference: Option<String>,
}

/// The loopback address a `ws://host:port/path` URL points at.
fn loopback_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{url}: only ws:// URLs are supported"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("{url}: {e}"))?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| format!("{url}: no IPv4 address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{url}: load is only sent to this machine (127.0.0.0/8)"
        ));
    }
    Ok(addr)
}

fn secs(x: f64, what: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(x).map_err(|_| format!("--{what}: not a duration: {x}"))
}

fn print(
    reports: &[report::Report],
    format: Format,
    reference: Option<&str>,
) -> Result<(), String> {
    match format {
        Format::Json => {
            let text = if reports.len() == 1 {
                serde_json::to_string_pretty(&reports[0])
            } else {
                serde_json::to_string_pretty(reports)
            };
            println!("{}", text.map_err(|e| e.to_string())?);
        }
        Format::Table => {
            let (tick, reports): (Vec<_>, Vec<_>) =
                reports.iter().cloned().partition(|r| r.workload == "tick");
            if !tick.is_empty() {
                print!("{}", report::tick_table(&tick));
            }
            let (act, other): (Vec<_>, Vec<_>) =
                reports.iter().cloned().partition(|r| r.workload == "act");
            if !act.is_empty() {
                print!("{}", report::table(&act));
                if reports.len() > 1 {
                    for (label, knee) in report::knees(&act) {
                        match knee {
                            Some(k) => println!(
                                "knee {label}: {k:.0} actions/s (highest with p99 update ≤ {} ms)",
                                report::KNEE_P99_MS
                            ),
                            None => println!(
                                "knee {label}: no row with p99 update ≤ {} ms",
                                report::KNEE_P99_MS
                            ),
                        }
                    }
                }
                if let Some(reference) = reference {
                    print!("{}", report::against(&act, reference));
                }
            }
            if act.iter().any(|r| r.abuse.is_some()) {
                print!("{}", report::abuse_table(&act));
            }
            if act.iter().any(|r| !r.nodes.is_empty()) {
                print!("{}", report::node_table(&act));
            }
            if !other.is_empty() {
                print!("{}", report::join_table(&other));
            }
            print!("{}", report::notes(&tick));
            print!("{}", report::notes(&reports));
        }
    }
    Ok(())
}

/// Run a benchmark and print its report.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    if !args.compare.is_empty() {
        let mut reports = Vec::new();
        for path in &args.compare {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let r: report::Report =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            reports.push(r);
        }
        return print(&reports, args.format, args.reference.as_deref());
    }
    let tick = args.workload == WorkloadArg::Tick;
    let game = args
        .game
        .clone()
        .unwrap_or_else(|| if tick { "drift" } else { "counter" }.into());
    if game != if tick { "drift" } else { "counter" } {
        return Err(format!(
            "--game {game}: the load generator drives `counter` (every action is accepted and \
             seen by every member), or `drift` with --workload tick"
        ));
    }
    let interval_ms = args
        .interval_ms
        .unwrap_or(if tick { args.tick_ms } else { 100 });
    if args.clients == 0 || args.rooms == 0 || interval_ms == 0 {
        return Err("--rooms, --clients and --interval-ms must be at least 1".into());
    }
    if tick && !(10..=1_000).contains(&args.tick_ms) {
        return Err("--tick-ms must be between 10 and 1000".into());
    }
    if args.abuse.is_some() && args.workload != WorkloadArg::Act {
        return Err("--abuse runs beside the act workload".into());
    }
    if !args.server_pid.is_empty() && args.server_pid.len() != args.url.len() {
        return Err(format!(
            "--server-pid: {} pids for {} URLs (give one per URL, or none)",
            args.server_pid.len(),
            args.url.len()
        ));
    }
    let targets = args
        .url
        .iter()
        .enumerate()
        .map(|(i, url)| {
            Ok(load::Target {
                url: url.clone(),
                addr: loopback_addr(url)?,
                pid: args.server_pid.get(i).copied(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let abuse_targets = match &args.abuse_url {
        Some(url) => vec![load::Target {
            url: url.clone(),
            addr: loopback_addr(url)?,
            pid: None,
        }],
        None => targets.clone(),
    };
    let plan = load::Plan {
        targets,
        workload: match args.workload {
            WorkloadArg::Act => load::Workload::Act,
            WorkloadArg::Join => load::Workload::Join,
            WorkloadArg::Idle => load::Workload::Idle,
            WorkloadArg::Tick => load::Workload::Tick,
        },
        game,
        rooms: args.rooms,
        clients: args.clients,
        spectators: args.spectators,
        interval: Duration::from_millis(interval_ms),
        tick_ms: args.tick_ms,
        schedule: args.schedule,
        warmup: secs(args.warmup, "warmup")?,
        duration: secs(args.duration, "duration")?,
        drain: secs(args.drain, "drain")?,
        setup_timeout: secs(args.setup_timeout, "setup-timeout")?,
        concurrency: args.concurrency,
        label: if args.quickack {
            format!("{}+quickack", args.label)
        } else {
            args.label.clone()
        },
        quickack: args.quickack,
        forwarded_for: args.forwarded_for,
        abuse: args.abuse.map(|kind| abuse::Abuse {
            kind,
            abusers: args.abusers.unwrap_or_else(|| kind.default_abusers()),
            priority: args.abuse_priority,
        }),
        abuse_targets,
    };
    // The generator runs on one thread of its own (see `load`); the caller's runtime waits.
    let handle = std::thread::Builder::new()
        .name("bench".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, load::run(plan))
        })
        .map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(handle.join());
    });
    let report = rx
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the load generator panicked".to_string())??;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    print(std::slice::from_ref(&report), args.format, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        assert_eq!(
            loopback_addr("ws://127.0.0.1:7878/ws"),
            Ok("127.0.0.1:7878".parse().expect("addr"))
        );
        assert!(loopback_addr("ws://127.0.0.1:2567").is_ok());
        assert!(loopback_addr("ws://10.0.0.1:7878/ws").is_err());
        assert!(loopback_addr("wss://127.0.0.1/ws").is_err());
    }
}
