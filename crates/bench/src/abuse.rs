//! Hostile connections beside the well-behaved workload (`--abuse KIND`): floods of each class
//! of message, junk frames, sockets that never finish their handshake, connection churn
//! (issue 18: a well-behaved client keeps its latency while others misbehave).
//!
//! The abusers run on a thread of their own with its own current-thread runtime, at the lowest
//! priority (SCHED_IDLE, or nice 19 where that cannot be set). A flooding task is always ready to run: on the measuring thread it
//! would delay the well-behaved clients' sends and reads, and on an equal thread sharing the
//! generator's core it would still hold the core when a well-behaved client wakes; the report
//! would blame the server for either. In the field attacker and victim do not share a CPU.
//! What is left of the generator's own delay shows in the report's `send_lag`. What the
//! abusers did is counted inside the measured window only, like everything else.

use crate::load::{ConnectError, Target, Ws, connect, find_message, joined_room_id, parse_frame};
use crate::procstat;
use crate::report::AbuseStats;
use crate::schedule;
use clap::ValueEnum;
use futures_util::{SinkExt, Stream, StreamExt};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How the abusers' thread yields to the measuring one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AbusePriority {
    /// SCHED_IDLE (through util-linux's `chrt`; nice 19 where that fails).
    Idle,
    /// Nice 19.
    Nice,
    /// The measuring thread's own priority.
    Normal,
}

/// What the hostile connections do. Each reconnects as soon as the server closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AbuseKind {
    /// Sit in a counter room of one's own and send `act` as fast as the socket takes it.
    /// Reconnects with its token and rejoins its room when closed (4029).
    ActFlood,
    /// The same with `chat`.
    ChatFlood,
    /// `create` and `join` (room traffic) as fast as the socket takes them, with one token
    /// throughout.
    JoinFlood,
    /// `ping` and `sync` (the class of everything else) as fast as the socket takes them.
    OtherFlood,
    /// Malformed frames after `hello`: not JSON, wrong types, an unknown type, arrays nested
    /// 10,000 deep, strings just under the frame limit.
    Junk,
    /// TCP sockets that send part of an HTTP request and then one byte a second, reopened
    /// when the server drops them; beside them a tenth as many WebSockets that never say
    /// `hello`.
    Slowloris,
    /// Connect, `hello`, wait for `welcome`, close; again.
    ConnChurn,
}

impl AbuseKind {
    /// Its name on the command line and in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ActFlood => "act-flood",
            Self::ChatFlood => "chat-flood",
            Self::JoinFlood => "join-flood",
            Self::OtherFlood => "other-flood",
            Self::Junk => "junk",
            Self::Slowloris => "slowloris",
            Self::ConnChurn => "conn-churn",
        }
    }

    /// Hostile connections when `--abusers` is not given. A flood needs few: each connection
    /// sends as fast as the server reads, so more would only share the generator's core.
    pub(crate) fn default_abusers(self) -> u32 {
        match self {
            Self::Slowloris => 3_000,
            _ => 16,
        }
    }
}

/// What to run: `abusers` connections of `kind`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Abuse {
    pub(crate) kind: AbuseKind,
    pub(crate) abusers: u32,
    pub(crate) priority: AbusePriority,
}

impl Abuse {
    /// WebSockets that upgrade and never say `hello`, beside the slowloris sockets.
    fn silent(&self) -> u32 {
        match self.kind {
            AbuseKind::Slowloris => self.abusers / 10,
            _ => 0,
        }
    }

    /// Sockets the abusers hold at once.
    pub(crate) fn sockets(&self) -> u64 {
        u64::from(self.abusers) + u64::from(self.silent())
    }
}

/// A byte of the slowloris header trickles in this often per socket.
const TRICKLE: Duration = Duration::from_secs(1);

/// After a failed connection attempt an abuser waits this long: a refused upgrade or a full
/// backlog would otherwise spin the generator's core on retries and nothing else.
const RETRY: Duration = Duration::from_millis(10);

/// The start of a request that never ends: its headers stop in the middle of a line.
const PARTIAL_REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nX-Trickle: ";

/// How a hostile connection ended.
enum End {
    /// A close frame, with its code if it had one.
    Close(Option<u16>),
    /// The stream ended without a close frame.
    Eof,
    /// The socket failed: reset by the server (closed with data still unread), for instance.
    Reset,
    /// The WebSocket stream broke otherwise.
    Broken,
    /// The abuser left after a refusal while it was setting up (no room, for instance).
    Left,
}

impl End {
    fn key(&self) -> String {
        match self {
            Self::Close(Some(code)) => code.to_string(),
            Self::Close(None) => "close".into(),
            Self::Eof => "eof".into(),
            Self::Reset => "reset".into(),
            Self::Broken => "broken".into(),
            Self::Left => "left".into(),
        }
    }

    fn of_error(e: &WsError) -> Self {
        match e {
            WsError::Io(_) => Self::Reset,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Self::Eof,
            _ => Self::Broken,
        }
    }
}

/// What the abusers did, counted inside the measured window.
struct Tally {
    measure: Instant,
    end: Instant,
    /// Messages sent (slowloris: bytes).
    sent: Cell<u64>,
    answered: RefCell<BTreeMap<String, u64>>,
    refused: RefCell<BTreeMap<String, u64>>,
    closes: RefCell<BTreeMap<String, u64>>,
    connect_failures: RefCell<BTreeMap<String, u64>>,
    connects: Cell<u64>,
    reconnects: Cell<u64>,
    /// Hostile sockets open now (not only in the window: a gauge).
    open: Cell<u64>,
}

fn add(map: &RefCell<BTreeMap<String, u64>>, key: &str, n: u64) {
    let mut map = map.borrow_mut();
    match map.get_mut(key) {
        Some(count) => *count += n,
        None => {
            map.insert(key.to_string(), n);
        }
    }
}

impl Tally {
    fn counting(&self) -> bool {
        let now = Instant::now();
        now >= self.measure && now < self.end
    }

    fn sent(&self, n: u64) {
        if self.counting() {
            self.sent.set(self.sent.get() + n);
        }
    }

    /// A text frame from the server: refusals by code, everything else by type.
    fn received(&self, text: &str) {
        if !self.counting() {
            return;
        }
        let Ok(msgs) = parse_frame(text) else {
            add(&self.answered, "unreadable", 1);
            return;
        };
        for m in msgs {
            match (m.t.as_ref(), m.code.as_deref()) {
                ("reject" | "error", Some(code)) => add(&self.refused, code, 1),
                (t, _) => add(&self.answered, t, 1),
            }
        }
    }

    fn opened(&self, first: bool) {
        self.open.set(self.open.get() + 1);
        if self.counting() {
            self.connects.set(self.connects.get() + 1);
            if !first {
                self.reconnects.set(self.reconnects.get() + 1);
            }
        }
    }

    fn ended(&self, end: &End) {
        self.open.set(self.open.get().saturating_sub(1));
        if self.counting() {
            add(&self.closes, &end.key(), 1);
        }
    }

    fn failed(&self, e: &ConnectError) {
        if self.counting() {
            let key = match e {
                ConnectError::Tcp(_) => "connect".to_string(),
                ConnectError::Refused(status) => format!("HTTP {status}"),
                ConnectError::Handshake(_) => "handshake".to_string(),
            };
            add(&self.connect_failures, &key, 1);
        }
    }
}

/// Start the abusers on a thread of their own, abuser i against target i mod n. They run from
/// `start` until `end` of the `(start, measure, end)` schedule, count what happens between
/// `measure` and `end`, and stop by themselves; the receiver then holds what they did.
pub(crate) fn spawn(
    abuse: Abuse,
    targets: Vec<Target>,
    forwarded_for: bool,
    (start, measure, end): (Instant, Instant, Instant),
) -> Result<oneshot::Receiver<Result<AbuseStats, String>>, String> {
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("bench-abuse".into())
        .spawn(move || {
            let priority = lower_priority(abuse.priority);
            let stats = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .map(|rt| {
                    // Dropping the set at the end closes every hostile socket.
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&rt, run(abuse, targets, forwarded_for, start, measure, end))
                })
                .map(|stats| AbuseStats { priority, ..stats });
            let _ = tx.send(stats);
        })
        .map_err(|e| e.to_string())?;
    Ok(rx)
}

/// Put the calling thread below the measuring one as `asked`, and say how. SCHED_IDLE: a
/// thread under it runs only when no ordinary thread wants the core, so a well-behaved client
/// waking on the generator's core never waits for a flooding task's time slice (at nice 19 it
/// still may). The workspace forbids `unsafe`, so not `sched_setscheduler` but util-linux's
/// `chrt` on this thread's id; where that fails, nice 19.
fn lower_priority(asked: AbusePriority) -> String {
    let tid = rustix::thread::gettid();
    if asked == AbusePriority::Normal {
        return "normal".into();
    }
    if asked == AbusePriority::Idle {
        let idle = std::process::Command::new("chrt")
            .args(["--idle", "--pid", "0", &tid.as_raw_nonzero().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if idle {
            return "idle".into();
        }
    }
    // Best effort: without it the measuring thread still gets its share of the core.
    let _ = rustix::process::setpriority_process(Some(tid), 19);
    "nice 19".into()
}

async fn run(
    abuse: Abuse,
    targets: Vec<Target>,
    forwarded_for: bool,
    start: Instant,
    measure: Instant,
    end: Instant,
) -> AbuseStats {
    let tally = Rc::new(Tally {
        measure,
        end,
        sent: Cell::new(0),
        answered: RefCell::default(),
        refused: RefCell::default(),
        closes: RefCell::default(),
        connect_failures: RefCell::default(),
        connects: Cell::new(0),
        reconnects: Cell::new(0),
        open: Cell::new(0),
    });
    tokio::time::sleep_until(start).await;
    let mut tasks = tokio::task::JoinSet::new();
    let silent = abuse.silent();
    for i in 0..abuse.abusers + silent {
        let tally = tally.clone();
        let target = targets[i as usize % targets.len()].clone();
        let xff = forwarded_for.then(|| schedule::forwarded_addr(u64::from(i), true));
        tasks.spawn_local(async move {
            match abuse.kind {
                AbuseKind::Slowloris if i >= abuse.abusers => {
                    silent_upgrade(&tally, &target, xff).await
                }
                AbuseKind::Slowloris => {
                    // Spread the trickles over the second instead of all at once.
                    let phase = TRICKLE * i / abuse.abusers.max(1);
                    slow_headers(&tally, &target, phase).await;
                }
                AbuseKind::ConnChurn => churn(&tally, &target, xff).await,
                kind => {
                    if let Some(flood) = Flood::of(kind) {
                        flooder(&tally, &target, xff, flood, u64::from(i)).await;
                    }
                }
            }
        });
    }
    tokio::time::sleep_until(tally.measure).await;
    let cpu_a = procstat::sample_thread();
    tokio::time::sleep_until(tally.end).await;
    let cpu_b = procstat::sample_thread();
    let open_at_end = tally.open.get();
    tasks.abort_all();
    let seconds = tally
        .end
        .saturating_duration_since(tally.measure)
        .as_secs_f64();
    let thread_cpu_pct = match (cpu_a, cpu_b) {
        (Some(a), Some(b)) => {
            let (user, sys) = procstat::cpu_pct(&a, &b);
            user + sys
        }
        _ => 0.0,
    };
    AbuseStats {
        kind: abuse.kind.name().into(),
        abusers: abuse.abusers,
        silent,
        seconds,
        sent: tally.sent.get(),
        answered: tally.answered.take(),
        refused: tally.refused.take(),
        closes: tally.closes.take(),
        connect_failures: tally.connect_failures.take(),
        connects: tally.connects.get(),
        reconnects: tally.reconnects.get(),
        open_at_end,
        thread_cpu_pct,
        priority: String::new(),
    }
}

/// Read frames (counting them) until one holds a message of type `t`; `Err` when the
/// connection ends first or the server refuses (an `error`) instead.
async fn reply(ws: &mut Ws, t: &str, tally: &Tally) -> Result<String, Option<End>> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                tally.received(&text);
                let Ok(msgs) = parse_frame(&text) else {
                    continue;
                };
                if msgs.iter().any(|m| m.t == t) {
                    return Ok(text.to_string());
                }
                if msgs.iter().any(|m| m.t == "error") {
                    return Err(None);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(Some(End::Close(frame.map(|f| u16::from(f.code)))));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(Some(End::of_error(&e))),
            None => return Err(Some(End::Eof)),
        }
    }
}

/// Read (and count) until the connection ends.
async fn until_closed<S>(ws: &mut S, tally: &Tally) -> End
where
    S: Stream<Item = Result<Message, WsError>> + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => tally.received(&text),
            Some(Ok(Message::Close(frame))) => return End::Close(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            Some(Err(e)) => return End::of_error(&e),
            None => return End::Eof,
        }
    }
}

/// `hello` (with the token of an earlier connection, if any), keeping the token `welcome`
/// gives.
async fn hello(ws: &mut Ws, token: &mut Option<String>, tally: &Tally) -> Result<(), Option<End>> {
    let hello = match token {
        Some(token) => format!(r#"{{"t":"hello","v":1,"name":"abuser","token":"{token}"}}"#),
        None => r#"{"t":"hello","v":1,"name":"abuser"}"#.to_string(),
    };
    ws.send(Message::text(hello))
        .await
        .map_err(|_| Some(End::Reset))?;
    tally.sent(1);
    let text = reply(ws, "welcome", tally).await?;
    if let Some(t) =
        find_message(&text, "welcome").and_then(|m| m["token"].as_str().map(str::to_owned))
    {
        *token = Some(t);
    }
    Ok(())
}

/// Back into the abuser's own room (its seat is held while it is away), or a new one.
async fn enter_room(
    ws: &mut Ws,
    room: &mut Option<String>,
    tally: &Tally,
) -> Result<(), Option<End>> {
    if let Some(id) = room.as_deref() {
        let join = format!(r#"{{"t":"join","rid":1,"room":"{id}","as":"player"}}"#);
        ws.send(Message::text(join))
            .await
            .map_err(|_| Some(End::Reset))?;
        tally.sent(1);
        match reply(ws, "joined", tally).await {
            Ok(_) => return Ok(()),
            Err(Some(end)) => return Err(Some(end)),
            // The room is gone: make another.
            Err(None) => {}
        }
    }
    ws.send(Message::text(create_msg(2)))
        .await
        .map_err(|_| Some(End::Reset))?;
    tally.sent(1);
    let text = reply(ws, "joined", tally).await?;
    *room = joined_room_id(&text).ok();
    Ok(())
}

fn create_msg(rid: u64) -> String {
    format!(
        r#"{{"t":"create","rid":{rid},"game":"counter","public":false,"max_players":1,"max_spectators":1,"as":"player"}}"#
    )
}

/// What a flooding connection sends, frame after frame.
enum Flood {
    Act,
    Chat,
    /// `create` and `join`, alternately.
    Join,
    /// `ping` and `sync`, alternately.
    Other,
    /// These frames in turn.
    Junk(Vec<Message>),
}

impl Flood {
    /// The flood of `kind`, if it is one.
    fn of(kind: AbuseKind) -> Option<Self> {
        match kind {
            AbuseKind::ActFlood => Some(Self::Act),
            AbuseKind::ChatFlood => Some(Self::Chat),
            AbuseKind::JoinFlood => Some(Self::Join),
            AbuseKind::OtherFlood => Some(Self::Other),
            AbuseKind::Junk => Some(Self::Junk(junk_frames())),
            AbuseKind::Slowloris | AbuseKind::ConnChurn => None,
        }
    }

    /// Whether it is sent from inside a room of the abuser's own.
    fn needs_room(&self) -> bool {
        !matches!(self, Self::Junk(_))
    }

    /// Frame `i`, from a member of `room`.
    fn frame(&self, i: u64, room: &str) -> Message {
        match self {
            Self::Act => Message::text(format!(
                r#"{{"t":"act","room":"{room}","seq":{i},"action":{{"type":"add","n":1}}}}"#
            )),
            Self::Chat => Message::text(format!(
                r#"{{"t":"chat","room":"{room}","text":"spam {i}"}}"#
            )),
            Self::Join if i.is_multiple_of(2) => Message::text(create_msg(i)),
            Self::Join => Message::text(format!(
                r#"{{"t":"join","rid":{i},"room":"{room}","as":"any"}}"#
            )),
            Self::Other if i.is_multiple_of(2) => {
                Message::text(format!(r#"{{"t":"ping","n":{i}}}"#))
            }
            Self::Other => Message::text(format!(r#"{{"t":"sync","room":"{room}"}}"#)),
            Self::Junk(frames) => frames[usize::try_from(i).unwrap_or(0) % frames.len()].clone(),
        }
    }
}

/// Deepest nesting the junk flood sends.
const JUNK_DEPTH: usize = 10_000;

/// Size of the junk flood's long string: just under the server's default 64 KiB frame limit.
const JUNK_STRING: usize = 60 * 1024;

/// The frames of the junk flood, sent in turn.
fn junk_frames() -> Vec<Message> {
    let deep = format!("{}{}", "[".repeat(JUNK_DEPTH), "]".repeat(JUNK_DEPTH));
    let deep_object = format!(
        r#"{{"t":"act","room":"r_0","seq":1,"action":{}1{}}}"#,
        r#"{"a":"#.repeat(JUNK_DEPTH),
        "}".repeat(JUNK_DEPTH)
    );
    let long = format!(
        r#"{{"t":"chat","room":"r_0","text":"{}"}}"#,
        "x".repeat(JUNK_STRING)
    );
    let long_name = format!(r#"{{"t":"{}"}}"#, "y".repeat(JUNK_STRING));
    [
        r#"{"t":"act","room":"#.to_string(),
        "hello?".to_string(),
        "\u{0}\u{1}\u{2}\u{fffd}".to_string(),
        r#"{"t":42}"#.to_string(),
        r#"["t","act"]"#.to_string(),
        r#"{"t":"act","room":7,"seq":"one","action":null}"#.to_string(),
        r#"{"t":"join","rid":-1,"room":{"id":[]},"as":"king"}"#.to_string(),
        r#"{"t":"fly","to":"the moon"}"#.to_string(),
        r#"{"t":"hello","v":1,"name":"again"}"#.to_string(),
        deep,
        deep_object,
        long,
        long_name,
    ]
    .into_iter()
    .map(Message::text)
    .collect()
}

/// Connect, retrying after each refusal (counted) until the server lets the socket in;
/// counted as opened (`first`: the first of this hostile client, else a reconnect).
async fn reconnect(
    tally: &Tally,
    target: &Target,
    xff: Option<std::net::Ipv4Addr>,
    first: &mut bool,
) -> Ws {
    loop {
        match connect(target, None, xff).await {
            Ok(ws) => {
                tally.opened(*first);
                *first = false;
                return ws;
            }
            Err(e) => {
                tally.failed(&e);
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// One flooding connection after another: set up, then send as fast as the socket takes it
/// while reading every answer, until the server closes it.
async fn flooder(
    tally: &Tally,
    target: &Target,
    xff: Option<std::net::Ipv4Addr>,
    flood: Flood,
    id: u64,
) {
    let (mut token, mut room) = (None, None);
    let mut first = true;
    let mut i = id << 32;
    loop {
        let mut ws = reconnect(tally, target, xff, &mut first).await;
        let mut ready = hello(&mut ws, &mut token, tally).await;
        if ready.is_ok() && flood.needs_room() {
            ready = enter_room(&mut ws, &mut room, tally).await;
        }
        let end = match ready {
            Ok(()) => {
                let room = room.clone().unwrap_or_default();
                send_all(ws, tally, |i| flood.frame(i, &room), &mut i).await
            }
            Err(Some(end)) => end,
            Err(None) => {
                // Refused while setting up: leave, and come back.
                let _ = ws.close(None).await;
                tokio::time::sleep(RETRY).await;
                End::Left
            }
        };
        tally.ended(&end);
    }
}

/// Send `frame(i)` for i = `next`, `next` + 1, … as fast as the socket takes them while
/// reading (and counting) the answers; returns how the server ended the connection.
async fn send_all(ws: Ws, tally: &Tally, frame: impl Fn(u64) -> Message, next: &mut u64) -> End {
    let (mut tx, mut rx) = ws.split();
    let writer = async {
        loop {
            *next += 1;
            if tx.send(frame(*next)).await.is_err() {
                // The reader sees how it ended.
                return std::future::pending::<()>().await;
            }
            tally.sent(1);
        }
    };
    tokio::select! {
        end = until_closed(&mut rx, tally) => end,
        () = writer => End::Reset,
    }
}

/// Connect, `hello`, close; again, each time as a new guest.
async fn churn(tally: &Tally, target: &Target, xff: Option<std::net::Ipv4Addr>) {
    let mut first = true;
    loop {
        let mut ws = reconnect(tally, target, xff, &mut first).await;
        let end = match hello(&mut ws, &mut None, tally).await {
            Err(Some(end)) => end,
            Ok(()) | Err(None) => {
                let _ = ws.close(None).await;
                // Until the server's answering close frame.
                until_closed(&mut ws, tally).await
            }
        };
        tally.ended(&end);
    }
}

/// A WebSocket that never says `hello`, reopened whenever the server closes it (4003).
async fn silent_upgrade(tally: &Tally, target: &Target, xff: Option<std::net::Ipv4Addr>) {
    let mut first = true;
    loop {
        let mut ws = reconnect(tally, target, xff, &mut first).await;
        // Reading answers the server's pings; nothing else is sent.
        let end = until_closed(&mut ws, tally).await;
        tally.ended(&end);
    }
}

/// A TCP socket that sends the start of a request and then one byte of a header every
/// [`TRICKLE`], first after `phase`; reopened whenever the server drops it.
async fn slow_headers(tally: &Tally, target: &Target, phase: Duration) {
    let mut first = true;
    let mut next_byte = Instant::now() + phase;
    loop {
        let mut tcp = match TcpStream::connect(target.addr).await {
            Ok(tcp) => tcp,
            Err(e) => {
                tally.failed(&ConnectError::Tcp(e));
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        tally.opened(first);
        first = false;
        let end = trickle(&mut tcp, tally, &mut next_byte).await;
        tally.ended(&end);
    }
}

async fn trickle(tcp: &mut TcpStream, tally: &Tally, next_byte: &mut Instant) -> End {
    if tcp.write_all(PARTIAL_REQUEST).await.is_err() {
        return End::Reset;
    }
    tally.sent(PARTIAL_REQUEST.len() as u64);
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            read = tcp.read(&mut buf) => match read {
                Ok(0) => return End::Eof,
                Ok(n) => {
                    // The server answered the unfinished request (with an HTTP status).
                    let status = buf[..n].split(|&b| b == b' ').nth(1).unwrap_or(b"?");
                    add(&tally.answered, &format!("HTTP {}", String::from_utf8_lossy(status)), 1);
                }
                Err(_) => return End::Reset,
            },
            () = tokio::time::sleep_until(*next_byte) => {
                // Keeps its phase; after a reconnect that took longer, no burst of bytes.
                *next_byte = (*next_byte + TRICKLE).max(Instant::now());
                if tcp.write_all(b"a").await.is_err() {
                    return End::Reset;
                }
                tally.sent(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_protocol::ClientMsg;

    #[test]
    fn every_kind_parses_by_its_name() {
        for kind in AbuseKind::value_variants() {
            assert_eq!(AbuseKind::from_str(kind.name(), false), Ok(*kind));
        }
        assert!(AbuseKind::from_str("ddos", false).is_err());
        assert_eq!(AbuseKind::Slowloris.default_abusers(), 3_000);
        let slow = Abuse {
            kind: AbuseKind::Slowloris,
            abusers: 3_000,
            priority: AbusePriority::Idle,
        };
        assert_eq!((slow.silent(), slow.sockets()), (300, 3_300));
        let act = Abuse {
            kind: AbuseKind::ActFlood,
            abusers: 16,
            priority: AbusePriority::Idle,
        };
        assert_eq!((act.silent(), act.sockets()), (0, 16));
    }

    fn text(m: &Message) -> &str {
        match m {
            Message::Text(t) => t.as_str(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    #[test]
    fn floods_are_well_formed_messages_of_their_class() {
        let room = "r_0123456789abcdef";
        let decode = |kind, i| {
            let flood = Flood::of(kind).expect("a flood");
            serde_json::from_str::<ClientMsg>(text(&flood.frame(i, room)))
                .unwrap_or_else(|e| panic!("{kind:?} frame {i}: {e}"))
        };
        assert!(matches!(
            decode(AbuseKind::ActFlood, 7),
            ClientMsg::Act { seq: 7, .. }
        ));
        assert!(matches!(
            decode(AbuseKind::ChatFlood, 7),
            ClientMsg::Chat { .. }
        ));
        assert!(matches!(
            decode(AbuseKind::JoinFlood, 2),
            ClientMsg::Create { .. }
        ));
        assert!(matches!(
            decode(AbuseKind::JoinFlood, 3),
            ClientMsg::Join { .. }
        ));
        assert!(matches!(
            decode(AbuseKind::OtherFlood, 2),
            ClientMsg::Ping { .. }
        ));
        assert!(matches!(
            decode(AbuseKind::OtherFlood, 3),
            ClientMsg::Sync { .. }
        ));
        assert!(serde_json::from_str::<ClientMsg>(&create_msg(1)).is_ok());
    }

    #[test]
    fn junk_is_malformed_and_stays_under_the_frame_limit() {
        let junk = junk_frames();
        for (i, frame) in junk.iter().enumerate() {
            let t = text(frame);
            assert!(t.len() < 64 * 1024, "frame {i} is {} bytes", t.len());
            // Two are well-formed messages that the session refuses: a second `hello`
            // (ALREADY_AUTHENTICATED) and a chat message far above 500 characters.
            let well_formed =
                t.contains(r#""hello""#) || (t.len() > JUNK_STRING && t.contains(r#""chat""#));
            assert_eq!(
                serde_json::from_str::<ClientMsg>(t).is_ok(),
                well_formed,
                "frame {i}: {}",
                &t[..t.len().min(80)]
            );
        }
        let deepest = junk
            .iter()
            .map(|m| {
                text(m)
                    .bytes()
                    .fold((0i64, 0i64), |(depth, max), b| match b {
                        b'[' | b'{' => (depth + 1, max.max(depth + 1)),
                        b']' | b'}' => (depth - 1, max),
                        _ => (depth, max),
                    })
                    .1
            })
            .max();
        assert_eq!(deepest, Some(JUNK_DEPTH as i64 + 1));
        assert!(junk.iter().any(|m| text(m).len() > JUNK_STRING));
        // The flood cycles through all of them.
        let flood = Flood::Junk(junk.clone());
        assert_eq!(
            text(&flood.frame(junk.len() as u64 + 1, "")),
            text(&junk[1])
        );
        assert!(
            Flood::of(AbuseKind::Slowloris).is_none() && Flood::of(AbuseKind::ConnChurn).is_none()
        );
    }

    #[test]
    fn ends_are_keyed_by_close_code() {
        assert_eq!(End::Close(Some(4029)).key(), "4029");
        assert_eq!(End::Close(None).key(), "close");
        assert_eq!(End::Eof.key(), "eof");
        assert_eq!(End::Reset.key(), "reset");
        assert_eq!(End::Broken.key(), "broken");
        assert_eq!(End::Left.key(), "left");
        let eof = WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(End::of_error(&eof).key(), "eof");
        let reset = WsError::Io(std::io::ErrorKind::ConnectionReset.into());
        assert_eq!(End::of_error(&reset).key(), "reset");
    }
}
