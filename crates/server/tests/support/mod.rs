//! Helpers for black-box tests: a real server on port 0, raw WebSocket and HTTP clients.
//! Waits are bounded by a timeout that fails the test; nothing sleeps to synchronise.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod legacy;

use arbiter_protocol::{ClientMsg, PlayerInfo, ServerMsg};
use arbiter_server::{Running, Settings, Signer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A hang guard, not a pace: an expected event on loopback takes milliseconds, so only a
/// hang (or a bug that loses the event) ever waits this long, however busy the machine.
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Time under the test's control, for tests of timers (turn clocks, bot pauses, room
/// lifetimes) against an in-process server on real loopback sockets.
///
/// tokio's clock is paused *and kept from auto-advancing*: it moves only when the test calls
/// [`advance_until`] or `tokio::time::advance`. Auto-advance (`start_paused = true` alone) is
/// not deterministic here: whenever the runtime finds no ready task and no ready socket it
/// jumps to the next timer, and a frame still on its way through loopback (or a SQLite write
/// on its worker thread) does not count as work, so on a busy machine a turn clock can run
/// out while the player's move is in flight. tokio documents that a running `spawn_blocking`
/// task inhibits auto-advance; `Clock` holds one for its lifetime. With the clock frozen,
/// `tokio::time::timeout` never fires, so waits for events are bounded in real time by
/// [`within`] instead: events are immediate in virtual time and `PATIENCE` only catches a
/// hang. Clients may connect before or after the freeze.
pub struct Clock {
    release: Option<std::sync::mpsc::Sender<()>>,
}

impl Clock {
    /// Pause the clock for good; needs the current-thread runtime of `#[tokio::test]`.
    pub fn freeze() -> Self {
        tokio::time::pause();
        let (release, held) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = held.recv();
        });
        Self {
            release: Some(release),
        }
    }

    /// Let real time run again, e.g. before `Running::stop`, whose drain timeout needs it.
    pub fn thaw(self) {
        tokio::time::resume();
    }
}

impl Drop for Clock {
    fn drop(&mut self) {
        self.release.take();
    }
}

/// Await `fut`, failing the test if it takes longer than `PATIENCE` of real time. Use this,
/// not `tokio::time::timeout`, while a [`Clock`] is frozen.
pub async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let (expire, expired) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(PATIENCE) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            let _ = expire.send(());
        }
    });
    let out = tokio::select! {
        out = fut => out,
        _ = expired => panic!("timed out waiting for {what} ({PATIENCE:?} of real time)"),
    };
    drop(done);
    out
}

/// Wait until `client` has seen every version of `room` the server has produced.
pub async fn settled(
    srv: &Running,
    client: &arbiter_client::Client,
    room: &str,
) -> arbiter_client::RoomView {
    let v = srv.rooms().find(room).map_or(0, |h| h.info().v);
    let mut watch = client.watch(room);
    within(
        "the client to catch up with the room",
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= v)),
    )
    .await
    .unwrap()
    .clone()
    .unwrap()
}

/// With a frozen [`Clock`]: let the server's timers run until `client`'s view of `room`
/// satisfies `done`, stepping virtual time 10 ms at a time and settling after each step, so
/// time never moves while something the server sent is still on its way. Returns the view and
/// the virtual time it took; fails once `budget` of virtual time has passed without it.
pub async fn advance_until(
    srv: &Running,
    client: &arbiter_client::Client,
    room: &str,
    what: &str,
    budget: Duration,
    done: impl Fn(&Value) -> bool,
) -> (arbiter_client::RoomView, Duration) {
    const STEP: Duration = Duration::from_millis(10);
    let t0 = tokio::time::Instant::now();
    loop {
        let rv = settled(srv, client, room).await;
        let waited = t0.elapsed();
        if done(&rv.view) {
            return (rv, waited);
        }
        assert!(
            waited < budget,
            "no {what} after {waited:?} of virtual time"
        );
        tokio::time::advance(STEP).await;
    }
}

/// With a frozen [`Clock`]: step virtual time 10 ms at a time until `done` (checked before
/// each step), returning the virtual time it took; fails once `budget` of virtual time has
/// passed without it. For conditions no client view shows, e.g. the server's connection count.
pub async fn step_until(what: &str, budget: Duration, mut done: impl FnMut() -> bool) -> Duration {
    const STEP: Duration = Duration::from_millis(10);
    let t0 = tokio::time::Instant::now();
    loop {
        let waited = t0.elapsed();
        if done() {
            return waited;
        }
        assert!(
            waited < budget,
            "no {what} after {waited:?} of virtual time"
        );
        tokio::time::advance(STEP).await;
    }
}

/// Wait until a spawned `arbiter serve` (stdout piped) says where it listens, and return that
/// address. The line is printed once the socket is bound, so listen on port 0 and take the
/// port from it: no readiness polling, no port picked by a probe that another process may
/// grab first. Fails the test if the server exits first or stays silent for `patience`.
pub async fn listening(child: &mut std::process::Child, patience: Duration) -> SocketAddr {
    const SAYS: &str = "Arbiter is listening on http://";
    let stdout = child.stdout.take().expect("the server's stdout is piped");
    let (found, said) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut found = Some(found);
        // Read to the end, so the server never blocks on (or fails writing to) its stdout;
        // its log lines share stdout and pass through to the test's output.
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            match line.strip_prefix(SAYS) {
                Some(addr) if found.is_some() => {
                    let _ = found
                        .take()
                        .unwrap()
                        .send(addr.trim_end_matches('/').to_owned());
                }
                _ => eprintln!("{line}"),
            }
        }
    });
    let said = tokio::time::timeout(patience, said)
        .await
        .expect("the server did not start in time");
    match said {
        Ok(addr) => addr.parse().unwrap(),
        Err(_) => panic!("the server exited before listening: {:?}", child.wait()),
    }
}

pub async fn server_with(registry: arbiter_engine::Registry, settings: Settings) -> Running {
    arbiter_server::start(
        "127.0.0.1:0".parse().unwrap(),
        registry,
        settings,
        Signer::new("test-secret-test-secret-test-secret"),
    )
    .await
    .unwrap()
}

/// A server on a SQLite database at `db` (made if missing) with strict durability: stop it and
/// start another on the same file to restart.
pub async fn durable_server(db: &std::path::Path) -> Running {
    let store = arbiter_server::SqlStore::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let persistence = arbiter_engine::Persistence {
        store: std::sync::Arc::new(store),
        durability: arbiter_engine::Durability::Strict,
        snapshot_every: 4,
    };
    arbiter_server::start_with(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        Settings::default(),
        Signer::new("test-secret-test-secret-test-secret"),
        Some(persistence),
    )
    .await
    .unwrap()
}

/// The next event of a client's connection that `pred` picks, bounded in real time.
pub async fn next_where(
    events: &mut arbiter_client::Events,
    pred: impl Fn(&ServerMsg) -> bool,
) -> ServerMsg {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let m = events.next().await.expect("the connection is open");
            if pred(&m) {
                return m;
            }
        }
    })
    .await
    .expect("in time")
}

pub async fn server() -> Running {
    server_with(arbiter_games::registry(), Settings::default()).await
}

/// `create` for a room of `game` with every option left to its default.
/// A new `counter` room, created by `client`: its id.
pub async fn new_counter(client: &arbiter_client::Client) -> String {
    let created = client.create(arbiter_client::CreateRoom::new("counter"));
    created.await.unwrap().room.id
}

pub fn create_msg(rid: u64, game: &str) -> ClientMsg {
    ClientMsg::Create {
        rid: Some(rid),
        game: game.into(),
        config: None,
        public: None,
        max_players: None,
        max_spectators: None,
        role: arbiter_protocol::JoinRole::Player,
        seed: None,
        key: None,
        password: None,
        lang: None,
        tags: Vec::new(),
    }
}

pub fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

/// A WebSocket client that speaks raw frames, for feeding the server bad input.
pub struct Raw {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages of a batch frame not handed out yet.
    pending: std::collections::VecDeque<ServerMsg>,
}

/// What the server did next.
// One at a time, never stored in bulk: boxing the message would only cost the tests' patterns.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    Msg(ServerMsg),
    Closed(Option<u16>, String),
}

impl Raw {
    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            pending: Default::default(),
        }
    }

    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url(addr))
            .await
            .unwrap();
        Self {
            ws,
            pending: Default::default(),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(&serde_json::to_string(msg).unwrap()).await;
    }

    /// The server's next message, or the end. The room's own chat lines ("Ada joined") are
    /// skipped: these tests read what answers their frames (`chat` tests use the client).
    pub async fn next(&mut self) -> Event {
        if let Some(m) = self.pending.pop_front() {
            return Event::Msg(m);
        }
        // One deadline for the whole wait: the server's pings (skipped below) must not
        // extend it.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the server did not answer in time");
            match frame {
                Some(Ok(Message::Text(t))) => {
                    let msgs = arbiter_protocol::Encoding::Json
                        .decode_server(t.as_bytes())
                        .expect("server frames are protocol");
                    self.pending.extend(
                        msgs.into_iter()
                            .filter(|m| !matches!(m, ServerMsg::Chat { from: None, .. })),
                    );
                    if let Some(m) = self.pending.pop_front() {
                        return Event::Msg(m);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Event::Closed(
                        frame.as_ref().map(|f| u16::from(f.code)),
                        frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    );
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Event::Closed(None, e.to_string()),
                None => return Event::Closed(None, "eof".into()),
            }
        }
    }

    pub async fn msg(&mut self) -> ServerMsg {
        match self.next().await {
            Event::Msg(m) => m,
            Event::Closed(code, why) => {
                panic!("closed ({code:?}, {why}) while expecting a message")
            }
        }
    }

    /// Skip frames until one matches.
    pub async fn until(&mut self, mut pred: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let m = self.msg().await;
            if pred(&m) {
                return m;
            }
        }
    }

    pub async fn hello(&mut self, name: &str) -> PlayerInfo {
        self.send(&ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some(name.into()),
            instance: None,
        })
        .await;
        match self.msg().await {
            ServerMsg::Welcome { player, .. } => player,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The state frames (snapshots and patches) up to the one that reaches version `v`, in
    /// order; other messages are skipped.
    pub async fn state_until(&mut self, v: u64) -> Vec<ServerMsg> {
        let mut state = Vec::new();
        loop {
            let m = self.msg().await;
            let at = match &m {
                ServerMsg::Snapshot { v, .. } | ServerMsg::Patch { v, .. } => *v,
                _ => continue,
            };
            state.push(m);
            if at == v {
                return state;
            }
        }
    }

    pub async fn closed(&mut self) -> (Option<u16>, String) {
        loop {
            if let Event::Closed(code, why) = self.next().await {
                return (code, why);
            }
        }
    }
}

/// The dice game's simple human (a native view in, an action out): roll when the table is clear; select every 1, every 5 and every die whose
/// face shows three or more times (such a selection always scores); set aside, banking at 250
/// or with one or two dice left. Every choice must be among the view's legal hints.
pub fn human_choice(view: &Value) -> Value {
    let legal = view["legal"].as_array().unwrap();
    let roll = json!({"type": "roll"});
    if legal.contains(&roll) {
        return roll;
    }
    let dice: Vec<u64> = view["dice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    let selected: Vec<u64> = view["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    let wanted = |f: u64| f == 1 || f == 5 || dice.iter().filter(|&&d| d == f).count() >= 3;
    let next = (0..dice.len() as u64).find(|&i| wanted(dice[i as usize]) && !selected.contains(&i));
    let action = match next {
        Some(index) => json!({"type": "select", "index": index}),
        None => {
            let me = view["turn"].as_str().unwrap();
            let total = view["players"][me]["round_score"].as_u64().unwrap()
                + view["selection"]["points"].as_u64().unwrap();
            let left = dice.len() - selected.len();
            let bank = total >= 250 || (1..=2).contains(&left);
            json!({"type": "set_aside", "end_turn": bank})
        }
    };
    assert!(legal.contains(&action), "{action} is not in {legal:?}");
    action
}

/// A plain HTTP/1.1 GET; returns the status and the JSON body.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    request(addr, "GET", path, &[], None).await
}

/// A plain HTTP/1.1 request with extra headers and an optional JSON body; returns the status
/// and the JSON body (`Null` when the body is not JSON).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let (status, _, body) = request_text(addr, method, path, headers, body).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// [`request`], returning the status, the head (status line and headers) and the body as
/// text.
pub async fn request_text(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(PATIENCE * 4, s.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, head.to_owned(), body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// A TCP proxy in front of the server whose connection the test can break without any
/// WebSocket close: `cut` drops both sockets (the server sees the TCP stream end), `stall`
/// stops forwarding server→client bytes while keeping the sockets open (a black hole).
pub struct Proxy {
    pub addr: SocketAddr,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn to(target: SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> =
            Default::default();
        let (st, tk) = (stalled.clone(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(target).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let st = st.clone();
                let down = tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if st.load(Ordering::SeqCst) {
                            continue;
                        }
                        if cw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
                tk.lock().unwrap().extend([up, down]);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self {
            addr,
            stalled,
            tasks,
        }
    }

    pub fn url(&self) -> String {
        ws_url(self.addr)
    }

    /// Stop delivering server→client bytes; the connection stays open.
    pub fn stall(&self) {
        self.stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Drop every proxied socket at once, with no WebSocket close.
    pub fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

/// A plain HTTP/1.1 request with an optional JSON body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    request(addr, method, path, &[], body).await
}

/// A real `arbiter serve` process, started on port 0. Dropping it kills it (SIGKILL).
pub struct ServerProcess {
    /// `None` once the process has been waited for.
    child: Option<std::process::Child>,
    pid: u32,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Start the binary with `serve --listen 127.0.0.1:0` and `args`, and wait until it says
    /// where it listens.
    pub async fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = listening(&mut child, PATIENCE).await;
        Self {
            pid: child.id(),
            child: Some(child),
            addr,
        }
    }

    pub fn url(&self) -> String {
        ws_url(self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Send a signal by name (`"STOP"`, `"CONT"`, `"TERM"`) with kill(1); libc is no
    /// dependency of the tests.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} {} failed", self.pid);
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Wait for the process to exit by itself (e.g. after SIGTERM) and return its status.
    pub async fn exited(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("not waited for yet");
        let pid = self.pid;
        let wait = tokio::task::spawn_blocking(move || child.wait());
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(status) => status.unwrap().unwrap(),
            Err(_) => {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("the server (pid {pid}) did not exit within {PATIENCE:?}");
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL ends a stopped (SIGSTOP) process too.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A private `redis-server` on a free loopback port, with no persistence, so a test never
/// touches the machine's shared Redis. Dropping it kills it.
pub struct RedisServer {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl RedisServer {
    /// Start on a port the kernel just handed out; if another process takes it first, try
    /// another.
    pub fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            match Self::start_on(port) {
                Ok(child) => {
                    return Self {
                        child: Some(child),
                        port,
                    };
                }
                Err(why) => failures.push(format!("port {port}: {why}")),
            }
        }
        panic!("redis-server did not start: {failures:#?}");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL the server; everything it held is gone (no persistence).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Start it again, empty, on the same port (after [`RedisServer::kill`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "kill it first");
        let child = Self::start_on(self.port)
            .unwrap_or_else(|why| panic!("redis-server did not restart on {}: {why}", self.port));
        self.child = Some(child);
    }

    /// Spawn `redis-server` and wait until it says it accepts connections (it prints that
    /// once its socket is bound); `Err` with its output if it exits first.
    fn start_on(port: u16) -> Result<std::process::Child, String> {
        use std::io::BufRead;
        const READY: &str = "Ready to accept connections";
        let mut child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let (said, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut said = Some(said);
            let mut before = Vec::new();
            // Read to the end, so the server never blocks writing its log.
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(READY) {
                    if let Some(said) = said.take() {
                        let _ = said.send(Ok(()));
                    }
                } else if said.is_some() {
                    before.push(line);
                }
            }
            if let Some(said) = said {
                let _ = said.send(Err(before.join("\n")));
            }
        });
        match ready.recv_timeout(PATIENCE) {
            Ok(Ok(())) => Ok(child),
            Ok(Err(output)) => {
                let status = child.wait();
                Err(format!("exited ({status:?}):\n{output}"))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("not ready within {PATIENCE:?}"))
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fresh PostgreSQL database on the local server (`ARBITER_TEST_POSTGRES` names the admin
/// connection), dropped with `WITH (FORCE)` when this is dropped, even if the test failed.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(prefix: &str) -> Self {
        use sqlx::Connection;
        let admin_url = std::env::var("ARBITER_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("{prefix}_{}", rand::random::<u32>());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("the local PostgreSQL server (127.0.0.1:5432) must be running");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("no database name in {admin_url}"),
        };
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// The connection to the server's admin database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop may run inside the test's runtime, which must not block on itself: a thread
        // with its own runtime does the async work.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map(drop)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop database {}: {dropped:?}", self.name);
        }
    }
}
