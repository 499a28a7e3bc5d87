//! The load generator for Arbiter's WebSocket protocol (JSON), on raw tokio-tungstenite.
//!
//! Everything runs on one thread (a current-thread runtime with a `LocalSet`), one task per
//! connection: the generator is pinned to one core in comparisons, and a single thread has no
//! cross-thread wake-ups or locks. Each task parses only the fields it needs (`t`, `v`, `seq`,
//! and `code` of a refusal). The hostile connections of `--abuse` have a thread of their own
//! (see [`abuse`]).

use crate::abuse;
use crate::hist::Latency;
use crate::procstat::{self, Sample};
use crate::report::{JoinStats, NodeStats, ProcStats, Report, RouteStats, TickStats};
use crate::schedule::{self, Route, Slot};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

/// The client's WebSocket read buffer (tungstenite zero-fills the whole buffer before each
/// read: the 128 KiB default would cost the generator 128 KiB and much CPU per connection).
const READ_BUFFER: usize = 4 * 1024;

/// A server the load goes to: one node of a cluster, or the only server.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    /// Its pid, for CPU and RSS; by default the process listening on `addr`'s port.
    pub(crate) pid: Option<u32>,
}

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Room i is created through target i mod n, its member j connects through (i + j) mod n
    /// (see [`schedule::node_of`]).
    pub(crate) targets: Vec<Target>,
    pub(crate) workload: Workload,
    pub(crate) game: String,
    pub(crate) rooms: u32,
    pub(crate) clients: u32,
    pub(crate) spectators: u32,
    pub(crate) interval: Duration,
    /// The rooms' tick (`Workload::Tick`), ms.
    pub(crate) tick_ms: u64,
    /// When in each interval each player acts.
    pub(crate) schedule: schedule::Schedule,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) drain: Duration,
    pub(crate) setup_timeout: Duration,
    pub(crate) concurrency: usize,
    pub(crate) label: String,
    /// Set TCP_QUICKACK after every read (diagnosis of Nagle stalls).
    pub(crate) quickack: bool,
    /// Every WebSocket claims an address of its own in `X-Forwarded-For`.
    pub(crate) forwarded_for: bool,
    /// Hostile connections beside the `act` workload.
    pub(crate) abuse: Option<abuse::Abuse>,
    /// Where the hostile connections go: `targets`, or a decoy server.
    pub(crate) abuse_targets: Vec<Target>,
}

/// The workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Join, then players act every interval.
    Act,
    /// Join as fast as the server takes it, then leave.
    Join,
    /// Join, then sit idle (memory per connection).
    Idle,
    /// Join rooms that tick, then players send inputs every interval.
    Tick,
}

impl Workload {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Act => "act",
            Self::Join => "join",
            Self::Idle => "idle",
            Self::Tick => "tick",
        }
    }

    /// Whether players send actions on a schedule.
    fn acts(self) -> bool {
        matches!(self, Self::Act | Self::Tick)
    }
}

/// The measured window, known to every task once setup is over.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Players start acting (each at its phase after this).
    start: Instant,
    /// Samples count from here.
    measure: Instant,
    /// Players stop acting here.
    end: Instant,
}

#[derive(Default)]
struct Counters {
    actions_sent: Cell<u64>,
    acks: Cell<u64>,
    /// Per [`Route`].
    acks_in_window: [Cell<u64>; 2],
    measured_sent: Cell<u64>,
    measured_answered: Cell<u64>,
    updates: Cell<u64>,
    frames: Cell<u64>,
    errors: Cell<u64>,
    disconnects: Cell<u64>,
    joined: Cell<u64>,
    join_failed: Cell<u64>,
    skipped_ticks: Cell<u64>,
    /// Payload bytes of the frames received in the window.
    bytes: Cell<u64>,
    /// Tick patches received in the window.
    tick_patches: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

struct Shared {
    plan: Plan,
    n: Counters,
    join_lat: RefCell<Latency>,
    /// Per [`Route`] of the actor.
    ack_lat: RefCell<[Latency; 2]>,
    /// Per [`Route`] of the member receiving the update.
    upd_lat: RefCell<[Latency; 2]>,
    /// How late measured actions left against their schedule: the generator's own delay.
    send_lag: RefCell<Latency>,
    /// From each tick's due time to each member receiving its patch (`Workload::Tick`).
    tick_lat: RefCell<Latency>,
    /// The system clock, read once, and the instant it was read: arrival times on the same
    /// clock as the server's room time, without the system clock's steps in between.
    wall0: (Duration, Instant),
    first_connect: Cell<Option<Instant>>,
    last_joined: Cell<Option<Instant>>,
    window: watch::Receiver<Option<Window>>,
    stop: watch::Receiver<bool>,
    setup: Semaphore,
    first_error: RefCell<Option<String>>,
}

impl Shared {
    fn error(&self, e: String) {
        let mut first = self.first_error.borrow_mut();
        if first.is_none() {
            *first = Some(e);
        }
    }
}

/// Matches each action (by the version its ack names) with the moment every member received
/// the update of that version. Samples go to the histogram of the receiving member's route.
struct Track {
    members: u32,
    /// Version → (when its action was sent, members yet to receive it).
    sent: HashMap<u64, (Instant, u32)>,
    /// Updates received before the actor's ack told which action they carry.
    early: HashMap<u64, Vec<(Instant, Route)>>,
}

impl Track {
    fn new(members: u32) -> Self {
        Self {
            members,
            sent: HashMap::new(),
            early: HashMap::new(),
        }
    }

    fn received(&mut self, v: u64, at: Instant, route: Route, hist: &mut [Latency; 2]) {
        match self.sent.get_mut(&v) {
            Some((t0, left)) => {
                hist[route.index()].record(at.saturating_duration_since(*t0));
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.sent.remove(&v);
                }
            }
            None => self.early.entry(v).or_default().push((at, route)),
        }
    }

    fn answered(&mut self, v: u64, t0: Instant, hist: &mut [Latency; 2]) {
        let mut left = self.members;
        if let Some(ats) = self.early.remove(&v) {
            for (at, route) in ats {
                hist[route.index()].record(at.saturating_duration_since(t0));
                left = left.saturating_sub(1);
            }
        }
        if left > 0 {
            self.sent.insert(v, (t0, left));
        }
    }
}

struct RoomCtx {
    id: watch::Sender<Option<Result<String, ()>>>,
    track: RefCell<Track>,
}

/// The fields of a server message the generator reads.
#[derive(Deserialize)]
pub(crate) struct Lite<'a> {
    #[serde(borrow)]
    pub(crate) t: Cow<'a, str>,
    #[serde(default)]
    v: Option<u64>,
    #[serde(default)]
    seq: Option<u64>,
    /// The code of a `reject` or `error`.
    #[serde(default, borrow)]
    pub(crate) code: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct JoinedRoom {
    room: RoomRef,
}

#[derive(Deserialize)]
struct RoomRef {
    id: String,
}

/// The first message of type `t` in a frame (one message or a batch), whole.
pub(crate) fn find_message(text: &str, t: &str) -> Option<serde_json::Value> {
    let msgs: Vec<serde_json::Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).ok()?
    } else {
        vec![serde_json::from_str(text).ok()?]
    };
    msgs.into_iter().find(|m| m["t"] == t)
}

/// The room id of the `joined` in a frame.
pub(crate) fn joined_room_id(text: &str) -> Result<String, String> {
    find_message(text, "joined")
        .and_then(|m| serde_json::from_value::<JoinedRoom>(m).ok())
        .map(|j| j.room.id)
        .ok_or_else(|| "joined without a room id".to_string())
}

/// A `patch` of a ticking `drift` room: the `at` its operations set, the time its tick was
/// due (besides what [`Lite`] reads).
#[derive(Deserialize)]
struct TickLite<'a> {
    #[serde(borrow)]
    t: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default, borrow)]
    ops: Vec<Op<'a>>,
    /// A `snapshot`'s view (sent instead of a patch when it is smaller: when every dot moves).
    #[serde(default)]
    view: Option<TickView>,
}

/// The field of a `drift` view the generator reads.
#[derive(Deserialize)]
struct TickView {
    at: u64,
}

/// One JSON Patch operation.
#[derive(Deserialize)]
struct Op<'a> {
    #[serde(borrow)]
    path: Cow<'a, str>,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

impl TickLite<'_> {
    /// When the tick a patch or snapshot carries was due (its `at`, room time in ms).
    fn due(&self) -> Option<u64> {
        if let Some(view) = &self.view {
            return Some(view.at);
        }
        self.ops
            .iter()
            .find(|op| op.path == "/at")
            .and_then(|op| op.value.as_ref()?.as_u64())
    }
}

fn parse_tick_frame(text: &str) -> Result<Vec<TickLite<'_>>, serde_json::Error> {
    messages(text)
}

pub(crate) fn parse_frame(text: &str) -> Result<Vec<Lite<'_>>, serde_json::Error> {
    messages(text)
}

/// The messages of a frame: one message, or a batch (an array of them).
fn messages<'a, T: Deserialize<'a>>(text: &'a str) -> Result<Vec<T>, serde_json::Error> {
    if text.trim_start().starts_with('[') {
        serde_json::from_str(text)
    } else {
        serde_json::from_str(text).map(|m| vec![m])
    }
}

pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Run the plan and measure it.
pub(crate) async fn run(plan: Plan) -> Result<Report, String> {
    let total = u64::from(plan.rooms) * u64::from(plan.clients + plan.spectators);
    let sockets = total + plan.abuse.as_ref().map_or(0, abuse::Abuse::sockets);
    if let Some(limit) = procstat::open_files_limit()
        && limit < sockets + 64
    {
        return Err(format!(
            "{sockets} connections need more open files than this process may have ({limit}); \
             raise it with `ulimit -n {}` (the hard limit here is 20,000 per process)",
            sockets + 256
        ));
    }
    let server_pids: Vec<Option<u32>> = plan
        .targets
        .iter()
        .map(|t| t.pid.or_else(|| procstat::find_listener(t.addr.port())))
        .collect();
    let sample_servers = || -> Vec<Option<Sample>> {
        server_pids
            .iter()
            .map(|pid| pid.and_then(procstat::sample))
            .collect()
    };
    let rss_before: Vec<Option<u64>> = sample_servers()
        .into_iter()
        .map(|s| s.map(|s| s.rss_kb))
        .collect();

    let (window_tx, window_rx) = watch::channel(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Rc::new(Shared {
        n: Counters::default(),
        join_lat: RefCell::new(Latency::new()),
        ack_lat: RefCell::default(),
        upd_lat: RefCell::default(),
        send_lag: RefCell::new(Latency::new()),
        tick_lat: RefCell::new(Latency::new()),
        wall0: (
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
            Instant::now(),
        ),
        first_connect: Cell::new(None),
        last_joined: Cell::new(None),
        window: window_rx,
        stop: stop_rx,
        setup: Semaphore::new(plan.concurrency.max(1)),
        first_error: RefCell::new(None),
        plan,
    });
    let plan = &shared.plan;
    let rooms: Vec<Rc<RoomCtx>> = (0..plan.rooms)
        .map(|_| {
            Rc::new(RoomCtx {
                id: watch::channel(None).0,
                track: RefCell::new(Track::new(plan.clients + plan.spectators)),
            })
        })
        .collect();
    let slots = schedule::slots(plan.rooms, plan.clients, plan.spectators);
    let players = u64::from(plan.rooms) * u64::from(plan.clients);
    let mut tasks = tokio::task::JoinSet::new();
    for slot in slots {
        let shared = shared.clone();
        let room = rooms[slot.room as usize].clone();
        let source = schedule::source_addr(slot.index, total);
        let player_index = u64::from(slot.room) * u64::from(plan.clients) + u64::from(slot.member);
        tasks.spawn_local(async move {
            client(shared, room, slot, source, player_index, players).await;
        });
    }

    // Setup: everyone joined (or failed), within the setup timeout.
    let setup_deadline = Instant::now() + plan.setup_timeout;
    loop {
        let done = shared.n.joined.get() + shared.n.join_failed.get();
        if done >= total || Instant::now() >= setup_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let join_wall = match (shared.first_connect.get(), shared.last_joined.get()) {
        (Some(a), Some(b)) => b.saturating_duration_since(a),
        _ => Duration::ZERO,
    };
    let mut notes = Vec::new();
    let joined = shared.n.joined.get();
    if joined < total {
        notes.push(format!(
            "only {joined} of {total} members joined within {:?}",
            plan.setup_timeout
        ));
    }
    if let Some(e) = shared.first_error.borrow().as_ref() {
        notes.push(format!("first error: {e}"));
    }

    let started_at = now_rfc3339();
    let (server_a, self_a, server_b, self_b, measured);
    let mut abuse_stats = None;
    let mut machine_busy_pct = 0.0;
    match plan.workload {
        Workload::Join => {
            server_a = sample_servers();
            self_a = procstat::sample(std::process::id());
            server_b = server_a.clone();
            self_b = self_a;
            measured = Duration::ZERO;
        }
        Workload::Idle => {
            // Let allocations settle (heartbeats, presence fan-out) before reading RSS.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let measured_from = Instant::now();
            server_a = sample_servers();
            self_a = procstat::sample(std::process::id());
            tokio::time::sleep(plan.duration).await;
            server_b = sample_servers();
            self_b = procstat::sample(std::process::id());
            measured = measured_from.elapsed();
        }
        Workload::Act | Workload::Tick => {
            let start = Instant::now() + Duration::from_millis(50);
            let w = Window {
                start,
                measure: start + plan.warmup,
                end: start + plan.warmup + plan.duration,
            };
            let _ = window_tx.send(Some(w));
            // The hostile connections run from the start to the end of the schedule.
            let abusers = match &plan.abuse {
                Some(a) => Some(abuse::spawn(
                    *a,
                    plan.abuse_targets.clone(),
                    plan.forwarded_for,
                    (w.start, w.measure, w.end),
                )?),
                None => None,
            };
            tokio::time::sleep_until(w.measure).await;
            let measured_from = Instant::now();
            server_a = sample_servers();
            self_a = procstat::sample(std::process::id());
            let machine_a = procstat::machine();
            tokio::time::sleep_until(w.end).await;
            server_b = sample_servers();
            self_b = procstat::sample(std::process::id());
            if let (Some(a), Some(b)) = (machine_a, procstat::machine()) {
                machine_busy_pct = procstat::machine_pct(&a, &b);
            }
            measured = measured_from.elapsed();
            if let Some(abusers) = abusers {
                let stats = abusers
                    .await
                    .map_err(|_| "the abusers' thread panicked".to_string())??;
                abuse_stats = Some(stats);
            }
            // Drain: wait for the answers still in flight.
            let drain_deadline = Instant::now() + plan.drain;
            while shared.n.measured_answered.get() < shared.n.measured_sent.get()
                && Instant::now() < drain_deadline
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Let the last updates reach the members.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = stop_tx.send(true);
    let close_deadline = Instant::now() + Duration::from_secs(5);
    while !tasks.is_empty() {
        match tokio::time::timeout_at(close_deadline, tasks.join_next()).await {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    tasks.abort_all();

    let secs = measured.as_secs_f64();
    let per_s = |x: u64| if secs > 0.0 { x as f64 / secs } else { 0.0 };
    let n = &shared.n;
    let proc_stats = |a: Option<Sample>, b: Option<Sample>, pid: Option<u32>, actions: u64| {
        let mut p = ProcStats {
            pid: pid.unwrap_or(0),
            ..ProcStats::default()
        };
        if let (Some(a), Some(b)) = (a, b) {
            (p.cpu_user_pct, p.cpu_sys_pct) = procstat::cpu_pct(&a, &b);
            if actions > 0 {
                p.cpu_us_per_action = procstat::cpu_us(&a, &b) / actions as f64;
            }
            p.rss_start_kb = a.rss_kb;
            p.rss_end_kb = b.rss_kb;
        }
        p
    };
    let acks_in_window: u64 = n.acks_in_window.iter().map(Cell::get).sum();
    let mut nodes = Vec::with_capacity(plan.targets.len());
    for (i, target) in plan.targets.iter().enumerate() {
        let mut server = proc_stats(server_a[i], server_b[i], server_pids[i], acks_in_window);
        if let Some(before) = rss_before[i] {
            server.rss_before_kb = before;
            if joined > 0 {
                server.rss_per_conn_kb =
                    server.rss_start_kb.saturating_sub(before) as f64 / joined as f64;
            }
        }
        nodes.push(NodeStats {
            url: target.url.clone(),
            server,
        });
    }
    let cluster = nodes.len() > 1;
    let server = if cluster {
        ProcStats::total(&nodes.iter().map(|n| n.server).collect::<Vec<_>>())
    } else {
        nodes[0].server
    };
    let loadgen = proc_stats(self_a, self_b, Some(std::process::id()), acks_in_window);
    for (target, pid) in plan.targets.iter().zip(&server_pids) {
        if pid.is_some() {
            continue;
        }
        if cluster {
            notes.push(format!(
                "server process of {} not found: its CPU and RSS are missing",
                target.url
            ));
        } else {
            notes.push("server process not found: no server CPU or RSS".into());
        }
    }
    if loadgen.cpu_pct() >= crate::report::LOAD_BOUND_PCT {
        notes.push(format!(
            "load generator at {:.0}% of its core: this row is load-bound",
            loadgen.cpu_pct()
        ));
    }
    if n.skipped_ticks.get() > 0 {
        notes.push(format!(
            "{} scheduled actions skipped (a client fell behind its schedule)",
            n.skipped_ticks.get()
        ));
    }
    let join_lat = shared.join_lat.borrow();
    let (ack_lat, upd_lat) = (shared.ack_lat.borrow(), shared.upd_lat.borrow());
    let merged = |h: &[Latency; 2]| {
        let mut all = h[0].clone();
        all.merge(&h[1]);
        all.summary()
    };
    let routes = if cluster {
        let per_room = plan.clients + plan.spectators;
        Route::ALL
            .iter()
            .map(|&route| RouteStats {
                route: route.name().into(),
                members: u64::from(plan.rooms)
                    * (0..per_room)
                        .filter(|&m| schedule::route(0, m, plan.targets.len()) == route)
                        .count() as u64,
                actions_per_s: per_s(n.acks_in_window[route.index()].get()),
                ack_latency: ack_lat[route.index()].summary(),
                update_latency: upd_lat[route.index()].summary(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Report {
        label: plan.label.clone(),
        target: "arbiter".into(),
        workload: plan.workload.name().into(),
        game: plan.game.clone(),
        rooms: plan.rooms,
        clients: plan.clients,
        spectators: plan.spectators,
        interval_ms: u64::try_from(plan.interval.as_millis()).unwrap_or(u64::MAX),
        schedule: plan.schedule.name().into(),
        warmup_s: plan.warmup.as_secs_f64(),
        duration_s: secs,
        started_at,
        connections: total,
        join: JoinStats {
            joined,
            failed: n.join_failed.get(),
            wall_ms: join_wall.as_secs_f64() * 1e3,
            per_s: if join_wall.is_zero() {
                0.0
            } else {
                joined as f64 / join_wall.as_secs_f64()
            },
            latency: join_lat.summary(),
        },
        offered_actions_per_s: if plan.workload.acts() {
            schedule::offered_per_s(players, plan.interval)
        } else {
            0.0
        },
        actions_sent: n.actions_sent.get(),
        acks: n.acks.get(),
        actions_per_s: per_s(acks_in_window),
        updates: n.updates.get(),
        updates_per_s: per_s(n.updates.get()),
        frames_per_s: per_s(n.frames.get()),
        ack_latency: merged(&ack_lat),
        update_latency: merged(&upd_lat),
        send_lag: shared.send_lag.borrow().summary(),
        errors: n.errors.get(),
        disconnects: n.disconnects.get(),
        unanswered: n
            .measured_sent
            .get()
            .saturating_sub(n.measured_answered.get()),
        server,
        loadgen,
        machine_busy_pct,
        routes,
        nodes: if cluster { nodes } else { Vec::new() },
        abuse: abuse_stats,
        tick: (plan.workload == Workload::Tick).then(|| TickStats {
            tick_ms: plan.tick_ms,
            ticks_per_s: per_s(n.tick_patches.get()) / (joined.max(1) as f64),
            tick_latency: shared.tick_lat.borrow().summary(),
            bytes_per_client_per_s: per_s(n.bytes.get()) / (joined.max(1) as f64),
            cpu_ms_per_room_s: server.cpu_pct() * 10.0 / f64::from(plan.rooms.max(1)),
        }),
        notes,
    })
}

/// Why a WebSocket could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The TCP connection (or binding its source address) failed.
    Tcp(std::io::Error),
    /// The server answered the upgrade with this HTTP status (a connection limit).
    Refused(u16),
    /// The WebSocket handshake failed otherwise.
    Handshake(Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(e) => write!(f, "connect: {e}"),
            Self::Refused(status) => write!(f, "handshake: refused with HTTP {status}"),
            Self::Handshake(e) => write!(f, "handshake: {e}"),
        }
    }
}

/// Open a WebSocket to `target`, from `source` when given, claiming to be `forwarded_for` in
/// `X-Forwarded-For` when given (see `--forwarded-for`).
pub(crate) async fn connect(
    target: &Target,
    source: Option<Ipv4Addr>,
    forwarded_for: Option<Ipv4Addr>,
) -> Result<Ws, ConnectError> {
    let socket = TcpSocket::new_v4().map_err(ConnectError::Tcp)?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip.into(), 0))
            .map_err(ConnectError::Tcp)?;
    }
    let stream = socket
        .connect(target.addr)
        .await
        .map_err(ConnectError::Tcp)?;
    stream.set_nodelay(true).map_err(ConnectError::Tcp)?;
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let mut request = target
        .url
        .as_str()
        .into_client_request()
        .map_err(ConnectError::Handshake)?;
    if let Some(ip) = forwarded_for {
        // An IPv4 address is always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&ip.to_string()) {
            request.headers_mut().insert("x-forwarded-for", value);
        }
    }
    let (ws, _) = client_async_with_config(request, stream, Some(config))
        .await
        .map_err(|e| match e {
            Error::Http(response) => ConnectError::Refused(response.status().as_u16()),
            e => ConnectError::Handshake(e),
        })?;
    Ok(ws)
}

/// Read until a message of type `t` arrives (returning its frame's text).
async fn expect(ws: &mut Ws, t: &str) -> Result<String, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let msgs = parse_frame(&text).map_err(|e| format!("bad frame: {e}"))?;
                if msgs.iter().any(|m| m.t == t) {
                    return Ok(text.to_string());
                }
                if let Some(m) = msgs.iter().find(|m| m.t == "error") {
                    return Err(format!("{} while waiting for {t}: {text}", m.t));
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("waiting for {t}: {e}")),
            None => return Err(format!("closed while waiting for {t}")),
        }
    }
}

async fn setup(shared: &Shared, room: &RoomCtx, slot: Slot, ws: &mut Ws) -> Result<String, String> {
    let plan = &shared.plan;
    let hello = format!(r#"{{"t":"hello","v":1,"name":"b{}"}}"#, slot.index);
    ws.send(Message::text(hello))
        .await
        .map_err(|e| e.to_string())?;
    expect(ws, "welcome").await?;
    let role = if slot.player { "player" } else { "spectator" };
    let room_id = if slot.creator {
        let config = if plan.workload == Workload::Tick {
            format!(r#","config":{{"tick_ms":{}}}"#, plan.tick_ms)
        } else {
            String::new()
        };
        let create = format!(
            r#"{{"t":"create","rid":1,"game":"{}","public":false,"max_players":{},"max_spectators":{},"as":"player"{config}}}"#,
            plan.game,
            plan.clients.max(1),
            plan.spectators.max(1),
        );
        ws.send(Message::text(create))
            .await
            .map_err(|e| e.to_string())?;
        let id = expect(ws, "joined")
            .await
            .and_then(|text| joined_room_id(&text));
        let _ = room.id.send_replace(Some(id.clone().map_err(|_| ())));
        id?
    } else {
        let mut rx = room.id.subscribe();
        let id = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "room creator vanished".to_string())?
            .clone();
        let Some(Ok(id)) = id else {
            return Err("the room could not be created".into());
        };
        let join = format!(r#"{{"t":"join","rid":1,"room":"{id}","as":"{role}"}}"#);
        ws.send(Message::text(join))
            .await
            .map_err(|e| e.to_string())?;
        expect(ws, "joined").await?;
        id
    };
    Ok(room_id)
}

#[allow(clippy::too_many_lines)]
async fn client(
    shared: Rc<Shared>,
    room: Rc<RoomCtx>,
    slot: Slot,
    source: Option<Ipv4Addr>,
    player_index: u64,
    players: u64,
) {
    let plan = &shared.plan;
    let n = &shared.n;
    let permit = shared.setup.acquire().await;
    let t0 = Instant::now();
    if shared.first_connect.get().is_none() {
        shared.first_connect.set(Some(t0));
    }
    let nodes = plan.targets.len();
    let target = &plan.targets[schedule::node_of(slot.room, slot.member, nodes)];
    let route = schedule::route(slot.room, slot.member, nodes);
    let forwarded_for = plan
        .forwarded_for
        .then(|| schedule::forwarded_addr(slot.index, false));
    let mut ws = match connect(target, source, forwarded_for).await {
        Ok(ws) => ws,
        Err(e) => {
            if slot.creator {
                let _ = room.id.send_replace(Some(Err(())));
            }
            shared.error(e.to_string());
            bump(&n.join_failed);
            return;
        }
    };
    let room_id = match setup(&shared, &room, slot, &mut ws).await {
        Ok(id) => id,
        Err(e) => {
            shared.error(e);
            bump(&n.join_failed);
            return;
        }
    };
    let joined_at = Instant::now();
    shared.join_lat.borrow_mut().record(joined_at - t0);
    shared.last_joined.set(Some(joined_at));
    bump(&n.joined);
    drop(permit);

    let mut stop = shared.stop.clone();
    let mut window_rx = shared.window.clone();
    let mut window: Option<Window> = *window_rx.borrow();
    let act_enabled = slot.player && plan.workload.acts();
    let ticking = plan.workload == Workload::Tick;
    let mut next_act: Option<Instant> = None;
    let mut done_acting = false;
    let mut seq: u64 = 0;
    // Outstanding actions: (seq, sent at, measured).
    let mut pending: Pending = VecDeque::new();
    let act_prefix = format!(r#"{{"t":"act","room":"{room_id}","seq":"#);
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);

    loop {
        if let (Some(w), None, true) = (window, next_act, act_enabled && !done_acting) {
            next_act = Some(w.start + plan.schedule.phase(player_index, players, plan.interval));
        }
        let wake = next_act.unwrap_or(far);
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            changed = window_rx.changed(), if window.is_none() => {
                if changed.is_err() { break; }
                window = *window_rx.borrow();
            }
            () = tokio::time::sleep_until(wake), if next_act.is_some() => {
                let (Some(w), Some(due)) = (window, next_act) else { continue };
                let now = Instant::now();
                if now >= w.end {
                    next_act = None;
                    done_acting = true;
                    continue;
                }
                seq += 1;
                let measured = now >= w.measure;
                if measured {
                    shared.send_lag.borrow_mut().record(now.saturating_duration_since(due));
                }
                let text = if ticking {
                    // Round the compass, each player from its own point: the dot always moves.
                    let (dx, dy) = COMPASS[((seq + player_index) % 8) as usize];
                    format!(r#"{act_prefix}{seq},"action":{{"type":"steer","dx":{dx},"dy":{dy}}}}}"#)
                } else {
                    format!(r#"{act_prefix}{seq},"action":{{"type":"add","n":1}}}}"#)
                };
                pending.push_back((seq, now, measured));
                bump(&n.actions_sent);
                if measured { bump(&n.measured_sent); }
                if let Err(e) = ws.send(Message::text(text)).await {
                    shared.error(format!("send: {e}"));
                    bump(&n.disconnects);
                    break;
                }
                let mut next = due + plan.interval;
                let after = Instant::now();
                while next <= after {
                    next += plan.interval;
                    bump(&n.skipped_ticks);
                }
                next_act = Some(next);
            }
            incoming = ws.next() => {
                let now = Instant::now();
                if plan.quickack {
                    let _ = socket2::SockRef::from(ws.get_ref()).set_tcp_quickack(true);
                }
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => {
                        if !*shared.stop.borrow() { bump(&n.disconnects); }
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        if !*shared.stop.borrow() {
                            shared.error(format!("read: {e}"));
                            bump(&n.disconnects);
                        }
                        break;
                    }
                };
                let in_window = window.is_some_and(|w| now >= w.measure && now < w.end);
                let counting = window.is_some_and(|w| now >= w.measure);
                if in_window {
                    bump(&n.frames);
                    n.bytes.set(n.bytes.get() + text.len() as u64);
                }
                if ticking {
                    if tick_frame(&shared, &text, now, in_window, route, &mut pending).is_err() {
                        bump(&n.errors);
                    }
                    continue;
                }
                let Ok(msgs) = parse_frame(&text) else {
                    bump(&n.errors);
                    continue;
                };
                for m in msgs {
                    match m.t.as_ref() {
                        "patch" | "snapshot" => {
                            if in_window { bump(&n.updates); }
                            if let (Some(v), true) = (m.v, counting) {
                                room.track.borrow_mut().received(v, now, route, &mut shared.upd_lat.borrow_mut());
                            }
                        }
                        "ack" | "reject" => {
                            let sent = answered(&shared, &mut pending, &m.t, m.seq, now, in_window, route);
                            if let (Some(sent), Some(v), "ack") = (sent, m.v, m.t.as_ref()) {
                                room.track.borrow_mut().answered(v, sent, &mut shared.upd_lat.borrow_mut());
                            }
                        }
                        "error" => bump(&n.errors),
                        _ => {}
                    }
                }
            }
        }
    }
    let _ = ws.close(None).await;
}

/// Steering that goes round the compass.
const COMPASS: [(i8, i8); 8] = [
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
];

/// Outstanding actions of one client: (seq, sent at, measured).
type Pending = VecDeque<(u64, Instant, bool)>;

/// An `ack` or `reject` (`t`) of action `seq`: the client's outstanding actions up to it
/// are settled (those before it went unanswered) and it is counted and timed. When it
/// answers a measured action: when that action was sent.
fn answered(
    shared: &Shared,
    pending: &mut Pending,
    t: &str,
    seq: Option<u64>,
    now: Instant,
    in_window: bool,
    route: Route,
) -> Option<Instant> {
    let n = &shared.n;
    if t == "reject" {
        bump(&n.errors);
    }
    let s = seq?;
    while let Some(&(ps, sent, measured)) = pending.front() {
        if ps > s {
            break;
        }
        pending.pop_front();
        if ps < s {
            continue;
        }
        bump(&n.acks);
        if in_window {
            bump(&n.acks_in_window[route.index()]);
        }
        if measured {
            bump(&n.measured_answered);
            shared.ack_lat.borrow_mut()[route.index()].record(now - sent);
            return Some(sent);
        }
    }
    None
}

/// A frame of a ticking room: each tick's patch timed against the tick's due time, each
/// input's `ack` (which comes with the tick that took it) against its sending.
fn tick_frame(
    shared: &Shared,
    text: &str,
    now: Instant,
    in_window: bool,
    route: Route,
    pending: &mut Pending,
) -> Result<(), serde_json::Error> {
    let n = &shared.n;
    for m in parse_tick_frame(text)? {
        match m.t.as_ref() {
            "patch" | "snapshot" => {
                if in_window {
                    bump(&n.updates);
                }
                let Some(at) = m.due() else {
                    continue;
                };
                if in_window {
                    bump(&n.tick_patches);
                    let (wall0, mono0) = shared.wall0;
                    let arrival = wall0 + now.saturating_duration_since(mono0);
                    let due = Duration::from_millis(at);
                    shared
                        .tick_lat
                        .borrow_mut()
                        .record(arrival.saturating_sub(due));
                }
            }
            "ack" | "reject" => {
                answered(shared, pending, &m.t, m.seq, now, in_window, route);
            }
            "error" => bump(&n.errors),
            _ => {}
        }
    }
    Ok(())
}

/// Now as RFC 3339 UTC, without a date library.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_may_be_single_messages_or_batches() {
        let one = parse_frame(r#"{"t":"ack","room":"r_1","seq":7,"v":3}"#).expect("one");
        assert_eq!(one.len(), 1);
        assert_eq!(
            (one[0].t.as_ref(), one[0].seq, one[0].v),
            ("ack", Some(7), Some(3))
        );
        let batch = parse_frame(
            r#"[{"t":"patch","room":"r_1","from":2,"v":3,"ops":[{"op":"replace","path":"/count","value":1}]},{"t":"ack","room":"r_1","seq":7,"v":3}]"#,
        )
        .expect("batch");
        assert_eq!(batch.len(), 2);
        assert_eq!((batch[0].t.as_ref(), batch[0].v), ("patch", Some(3)));
        let joined =
            parse_frame(r#"{"t":"joined","rid":1,"room":{"id":"r_9","v":1},"members":[]}"#)
                .expect("joined");
        assert_eq!(joined[0].t, "joined");
        assert!(parse_frame("nope").is_err());
    }

    #[test]
    fn updates_match_actions_whichever_arrives_first() {
        let base = Instant::now();
        let ms = Duration::from_millis;
        let mut h: [Latency; 2] = Default::default();
        let mut t = Track::new(3);
        // Two members got version 5 before the actor's ack said which action it was.
        t.received(5, base + ms(2), Route::SameNode, &mut h);
        t.received(5, base + ms(3), Route::CrossNode, &mut h);
        t.answered(5, base, &mut h);
        // The third member gets it after.
        t.received(5, base + ms(4), Route::SameNode, &mut h);
        assert_eq!(
            (h[0].count(), h[1].count()),
            (2, 1),
            "by the receiver's route"
        );
        let cross = h[1].summary();
        assert!((cross.max_ms - 3.0).abs() < 0.01, "{cross:?}");
        let [mut all, cross_node] = h;
        all.merge(&cross_node);
        assert!(
            t.sent.is_empty() && t.early.is_empty(),
            "fully matched entries are freed"
        );
        let s = all.summary();
        assert!((s.max_ms - 4.0).abs() < 0.01, "{s:?}");
        assert!((s.p50_ms - 3.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn a_tick_patch_or_snapshot_gives_the_time_its_tick_was_due() {
        let frame = r#"[{"t":"patch","room":"r_1","from":40,"v":41,"ops":[{"op":"replace","path":"/at","value":1765000000123},{"op":"replace","path":"/dots/p_a/x","value":-4},{"op":"add","path":"/dots/p_b","value":{"x":1,"y":2}},{"op":"replace","path":"/tick","value":39}]},{"t":"ack","room":"r_1","seq":3,"v":41}]"#;
        let msgs = parse_tick_frame(frame).expect("parses");
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].due(), Some(1_765_000_000_123));
        assert_eq!(
            (msgs[1].t.as_ref(), msgs[1].seq, msgs[1].due()),
            ("ack", Some(3), None)
        );
        let snapshot = r#"{"t":"snapshot","room":"r_1","v":42,"view":{"tick_ms":33,"tick":40,"at":1765000000156,"dots":{"p_a":{"x":3,"y":4,"dx":1,"dy":0}}}}"#;
        let msgs = parse_tick_frame(snapshot).expect("parses");
        assert_eq!(msgs[0].due(), Some(1_765_000_000_156));
        // A patch that does not move the clock names no tick.
        let partial = r#"{"t":"patch","room":"r_1","from":1,"v":2,"ops":[{"op":"replace","path":"/dots/p_a/x","value":1}]}"#;
        assert_eq!(parse_tick_frame(partial).expect("parses")[0].due(), None);
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_312_004), "2026-11-22T01:46:44Z");
    }
}
