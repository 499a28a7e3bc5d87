//! The limits a public server keeps on every client: message rates per connection, open
//! connections (in all, per address, per player), and the client address they are counted
//! by. Rooms-per-player and the sizes of incoming messages are checked by the session.

use crate::app::App;
use crate::error::AppError;
use arbiter_protocol::{ClientMsg, ErrorCode};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A token bucket as the options spell it: `N/PERIOD` lets `N` messages through at once and
/// refills them over `PERIOD` (`60/1s`, `5/5s`, `20/1m`); `off` lets everything through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(Option<(NonZeroU32, Duration)>);

impl Rate {
    /// No limit.
    pub const OFF: Self = Self(None);

    /// `burst` messages at once, all of them refilled over `period` (a zero burst or period
    /// means no limit).
    pub fn new(burst: u32, period: Duration) -> Self {
        match NonZeroU32::new(burst) {
            Some(burst) if !period.is_zero() => Self(Some((burst, period))),
            _ => Self::OFF,
        }
    }

    /// The period its burst refills over; `None` when off.
    pub fn period(self) -> Option<Duration> {
        self.0.map(|(_, period)| period)
    }

    fn quota(self) -> Option<Quota> {
        let (burst, period) = self.0?;
        Quota::with_period(period / burst.get()).map(|q| q.allow_burst(burst))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some((burst, period)) = self.0 else {
            return f.write_str("off");
        };
        let ms = period.as_millis();
        match ms {
            ms if ms % 3_600_000 == 0 => write!(f, "{burst}/{}h", ms / 3_600_000),
            ms if ms % 60_000 == 0 => write!(f, "{burst}/{}m", ms / 60_000),
            ms if ms % 1_000 == 0 => write!(f, "{burst}/{}s", ms / 1_000),
            ms => write!(f, "{burst}/{ms}ms"),
        }
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "off" {
            return Ok(Self::OFF);
        }
        let bad =
            || format!("{s:?} is not a rate: write N/PERIOD (e.g. `60/1s`, `5/10m`) or `off`");
        let (burst, period) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = burst.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let split = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = period.split_at(split);
        let n: u64 = if n.is_empty() {
            1
        } else {
            n.parse().map_err(|_| bad())?
        };
        let unit_ms = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        let period = Duration::from_millis(n.checked_mul(unit_ms).ok_or_else(bad)?);
        if burst == 0 || period.is_zero() {
            return Err(format!(
                "{s:?}: the count and the period must be above 0 (or write `off`)"
            ));
        }
        if period.as_nanos() < u128::from(burst) {
            return Err(format!(
                "{s:?}: more than one message per nanosecond is no limit (write `off`)"
            ));
        }
        Ok(Self::new(burst, period))
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        to.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        let s = String::deserialize(from)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Every limit the server keeps on its clients.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `act`, `undo`, `redo` and `consent` per connection.
    pub act: Rate,
    /// `chat` per connection (each room also limits each member's chat).
    pub chat: Rate,
    /// `join`, `create`, `add_bot` and `leave` per connection.
    pub join: Rate,
    /// Every other message (and frames that do not decode) per connection.
    pub other: Rate,
    /// Refusals for rate a connection may collect before it is closed (4029).
    pub strikes: Rate,
    /// KiB of frames a WebSocket connection may send: past it the server stops reading the
    /// socket until the bucket refills, so TCP holds the sender back and its bytes cost
    /// nothing. Control frames count too.
    pub read_kib: Rate,
    /// HTTP requests per client address: REST, admin, `/metrics`, web files and long-poll
    /// opens (not a long-poll session's own requests, WebSocket upgrades or the probes).
    pub http: Rate,
    /// New connections (WebSocket upgrades and long-poll opens) per client address.
    pub connect: Rate,
    /// Open connections (WebSocket and long-poll) on this node.
    pub max_connections: usize,
    /// Open connections from one client address.
    pub max_connections_per_ip: usize,
    /// Open connections that said `hello` as one player.
    pub max_connections_per_player: usize,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
    /// Longest wait for a request's headers (slowloris).
    pub header_timeout: Duration,
    /// Live rooms on this node that one player created.
    pub max_rooms_per_player: usize,
    /// Largest `create.config`, in bytes of JSON.
    pub max_config_bytes: usize,
    /// Deepest nesting of arrays and objects (maps) in an incoming message.
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            act: Rate::new(60, Duration::from_secs(1)),
            chat: Rate::new(10, Duration::from_secs(5)),
            join: Rate::new(30, Duration::from_secs(10)),
            other: Rate::new(60, Duration::from_secs(1)),
            strikes: Rate::new(30, Duration::from_secs(10)),
            // 128 KiB/s, 8 of the largest frames at once.
            read_kib: Rate::new(512, Duration::from_secs(4)),
            http: Rate::new(120, Duration::from_secs(10)),
            connect: Rate::new(30, Duration::from_secs(10)),
            max_connections: 50_000,
            max_connections_per_ip: 256,
            max_connections_per_player: 16,
            trusted_proxies: Vec::new(),
            header_timeout: Duration::from_secs(10),
            max_rooms_per_player: 16,
            max_config_bytes: 16 * 1024,
            max_json_depth: 32,
        }
    }
}

impl Limits {
    /// No rate limits (load tests and embedding programs that trust their clients); the
    /// connection and size limits stay.
    pub fn without_rates(self) -> Self {
        Self {
            act: Rate::OFF,
            chat: Rate::OFF,
            join: Rate::OFF,
            other: Rate::OFF,
            strikes: Rate::OFF,
            read_kib: Rate::OFF,
            http: Rate::OFF,
            connect: Rate::OFF,
            ..self
        }
    }
}

/// Which bucket a message draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Act,
    Chat,
    Join,
    Other,
}

impl Class {
    pub(crate) fn of(msg: &ClientMsg) -> Self {
        match msg {
            ClientMsg::Act { .. }
            | ClientMsg::Undo { .. }
            | ClientMsg::Redo { .. }
            | ClientMsg::Consent { .. } => Self::Act,
            // Moderation is chat's too: a host cannot flood a room with mute notices.
            ClientMsg::Chat { .. } | ClientMsg::ChatDelete { .. } | ClientMsg::ChatMute { .. } => {
                Self::Chat
            }
            ClientMsg::Join { .. }
            | ClientMsg::Create { .. }
            | ClientMsg::JoinOrCreate { .. }
            | ClientMsg::Launch { .. }
            | ClientMsg::AddBot { .. }
            | ClientMsg::Leave { .. } => Self::Join,
            ClientMsg::Hello { .. }
            | ClientMsg::ChatHistory { .. }
            | ClientMsg::WatchRooms { .. }
            | ClientMsg::UnwatchRooms {}
            | ClientMsg::Invite { .. }
            | ClientMsg::Signal { .. }
            | ClientMsg::Media { .. }
            | ClientMsg::Sync { .. }
            | ClientMsg::Pause { .. }
            | ClientMsg::Resume { .. }
            | ClientMsg::Ping { .. } => Self::Other,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Act => "act",
            Self::Chat => "chat",
            Self::Join => "join",
            Self::Other => "other",
        }
    }
}

/// tokio's clock for governor, so paused time in tests moves the buckets.
#[derive(Debug, Clone)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.origin.elapsed())
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Nanos>>;

fn bucket(rate: Rate, clock: &TokioClock) -> Option<Bucket> {
    rate.quota()
        .map(|quota| RateLimiter::direct_with_clock(quota, clock.clone()))
}

/// What a connection's buckets say about one message.
pub(crate) enum Verdict {
    Pass,
    /// Refuse it; the bucket has room again after this long.
    Limited(Duration),
    /// Refuse it and close: the connection keeps sending while limited.
    Close,
}

/// One connection's buckets, one per [`Class`], and the bucket its refusals draw from.
pub(crate) struct ConnLimiter {
    clock: TokioClock,
    act: Option<Bucket>,
    chat: Option<Bucket>,
    join: Option<Bucket>,
    other: Option<Bucket>,
    strikes: Option<Bucket>,
}

impl ConnLimiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        Self {
            act: bucket(limits.act, &clock),
            chat: bucket(limits.chat, &clock),
            join: bucket(limits.join, &clock),
            other: bucket(limits.other, &clock),
            strikes: bucket(limits.strikes, &clock),
            clock,
        }
    }

    /// Take one token for a message of `class`.
    pub(crate) fn check(&self, class: Class) -> Verdict {
        let bucket = match class {
            Class::Act => &self.act,
            Class::Chat => &self.chat,
            Class::Join => &self.join,
            Class::Other => &self.other,
        };
        let Some(Err(not_until)) = bucket.as_ref().map(RateLimiter::check) else {
            return Verdict::Pass;
        };
        metrics::counter!(arbiter_engine::metrics::RATE_LIMITED, "what" => class.as_str())
            .increment(1);
        if self
            .strikes
            .as_ref()
            .is_some_and(|strikes| strikes.check().is_err())
        {
            return Verdict::Close;
        }
        Verdict::Limited(not_until.wait_time_from(self.clock.now()))
    }
}

/// A WebSocket connection's budget of bytes read ([`Limits::read_kib`]): each frame is
/// charged after it is read, whole KiB at a time (what is left over is carried to the next
/// frame), and while a charge does not fit, the connection reads nothing.
pub(crate) struct ReadBudget {
    clock: TokioClock,
    bucket: Option<(Bucket, NonZeroU32)>,
    /// Bytes read and not yet charged.
    owed: usize,
}

impl ReadBudget {
    pub(crate) fn new(rate: Rate) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        Self {
            bucket: rate
                .0
                .and_then(|(burst, _)| Some((bucket(rate, &clock)?, burst))),
            clock,
            owed: 0,
        }
    }

    /// Charge `bytes` just read (and whatever is still owed). `None`: read on; `Some(wait)`:
    /// read nothing for `wait`, then charge again (with 0).
    pub(crate) fn charge(&mut self, bytes: usize) -> Option<Duration> {
        let (bucket, burst) = self.bucket.as_ref()?;
        self.owed = self.owed.saturating_add(bytes);
        while self.owed >= 1024 {
            // A frame larger than the burst is charged in bursts: it waits for a full bucket.
            let kib = u32::try_from(self.owed / 1024).map_or(*burst, |kib| {
                NonZeroU32::new(kib).map_or(*burst, |kib| kib.min(*burst))
            });
            match bucket.check_n(kib) {
                Ok(Ok(())) => self.owed -= kib.get() as usize * 1024,
                Ok(Err(not_until)) => {
                    metrics::counter!(arbiter_engine::metrics::RATE_LIMITED, "what" => "read")
                        .increment(1);
                    return Some(not_until.wait_time_from(self.clock.now()));
                }
                // Not reached: `kib` is at most the burst.
                Err(_) => self.owed = 0,
            }
        }
        None
    }
}

type KeyedBucket =
    RateLimiter<IpAddr, HashMapStateStore<IpAddr>, TokioClock, NoOpMiddleware<Nanos>>;

/// A bucket per client address ([`Limits::http`], [`Limits::connect`]), built for one rate
/// (a reload that changes the rate starts over with a new one).
pub(crate) struct AddressLimiter {
    rate: Rate,
    clock: TokioClock,
    buckets: Option<KeyedBucket>,
    checks: AtomicU64,
}

impl AddressLimiter {
    /// How many requests pass between sweeps of the addresses whose bucket is full again.
    const SWEEP_EVERY: u64 = 4096;

    pub(crate) fn new(rate: Rate) -> Self {
        let clock = TokioClock {
            origin: tokio::time::Instant::now(),
        };
        Self {
            buckets: rate
                .quota()
                .map(|quota| RateLimiter::hashmap_with_clock(quota, clock.clone())),
            rate,
            clock,
            checks: AtomicU64::new(0),
        }
    }

    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    /// Take a token from `ip`'s bucket, or say how long until it has one.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        // A full bucket is the same as none: forgetting those now and then keeps the map as
        // large as the set of recent clients, not of every address ever seen.
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(Self::SWEEP_EVERY)
        {
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
        buckets
            .check_key(&host(ip))
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Addresses with a bucket that is not full.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.as_ref().map_or(0, |b| {
            b.retain_recent();
            b.len()
        })
    }
}

/// A bucket per API key, each at the rate its record names (a key whose rate changed starts
/// over with a new one). Keys are made by operators, so the map stays as small as their
/// number.
pub(crate) struct KeyLimiter {
    clock: TokioClock,
    buckets: Mutex<HashMap<String, (Rate, Arc<Bucket>)>>,
}

impl KeyLimiter {
    pub(crate) fn new() -> Self {
        Self {
            clock: TokioClock {
                origin: tokio::time::Instant::now(),
            },
            buckets: Mutex::default(),
        }
    }

    /// Take a token from key `id`'s bucket at `rate`, or say how long until it has one.
    pub(crate) fn check(&self, id: &str, rate: Rate) -> Result<(), Duration> {
        let bucket = {
            // Inserts only: a poisoned lock still holds whole buckets.
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            match buckets.get(id) {
                Some((r, bucket)) if *r == rate => bucket.clone(),
                _ => {
                    let Some(bucket) = bucket(rate, &self.clock) else {
                        buckets.remove(id);
                        return Ok(());
                    };
                    let bucket = Arc::new(bucket);
                    buckets.insert(id.to_owned(), (rate, bucket.clone()));
                    bucket
                }
            }
        };
        bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

/// Routes outside the [`Limits::http`] bucket: a long-poll session's own requests (its
/// messages draw from the session's buckets), WebSocket upgrades (counted by the connection
/// limits) and the probes a load balancer sends.
fn unmetered(path: &str) -> bool {
    matches!(path, "/ws" | "/healthz" | "/readyz") || path.starts_with("/lp/")
}

/// Middleware: refuse an HTTP request with `429 RATE_LIMITED` (`details.retry_after_ms` and
/// `Retry-After`) when its client address's bucket is empty.
pub(crate) async fn guard(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if unmetered(req.uri().path()) {
        return next.run(req).await;
    }
    match app.admit_request(app.client_ip(peer, req.headers())) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            metrics::counter!(arbiter_engine::metrics::RATE_LIMITED, "what" => "http").increment(1);
            let ms = millis(wait);
            let mut res = AppError::new(
                ErrorCode::RateLimited,
                "too many requests from your address; slow down",
            )
            .with_details(serde_json::json!({ "retry_after_ms": ms }))
            .into_response();
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(ms.div_ceil(1000)));
            res
        }
    }
}

/// An IP network, `10.0.0.0/8` or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or network (`10.0.0.1`, `10.0.0.0/8`)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s.trim(), None),
        };
        let addr = canonical(addr.parse().map_err(|_| bad())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == max {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

impl Serialize for IpNet {
    fn serialize<S: Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        to.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        let s = String::deserialize(from)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The deadline of the `n`th socket under a limit of `limit`: somewhere between half the limit
/// and the limit. Sockets opened together (a slowloris attack opens thousands at once) would
/// otherwise all reach their deadline in the same millisecond, and closing thousands of sockets
/// and accepting their reconnections in one burst stalls everyone else for tens of milliseconds.
/// The fractional parts of `n`·φ spread any run of consecutive `n` evenly over the range,
/// without a random number generator (computed as `n`·⌊2^64/φ⌋ mod 2^64, exact for every `n`).
pub(crate) fn spread(limit: Duration, n: u64) -> Duration {
    const PHI_2_64: u64 = 0x9e37_79b9_7f4a_7c15;
    let frac = n.wrapping_mul(PHI_2_64) as f64 / 2f64.powi(64);
    limit.mul_f64(0.5 + 0.5 * frac)
}

/// The address limits count `ip` by: IPv6 addresses by their /64, since one host commonly
/// holds a whole /64.
fn host(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

/// The client's address: the peer's, or — when the peer is a trusted proxy — the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
pub(crate) fn client_ip(peer: IpAddr, forwarded: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(forwarded) = forwarded else {
        return peer;
    };
    let mut client = peer;
    for hop in forwarded.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Node,
    Ip,
    Player,
    /// The address or player was closed for flooding (4029); it may come back after this.
    Penalty(Duration),
    /// The address opened its maximum of new connections for now; it may again after this.
    Connects(Duration),
}

impl Over {
    /// The metric label of the limit.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Node => "connections",
            Self::Ip => "connections_per_ip",
            Self::Player => "connections_per_player",
            Self::Penalty(_) => "penalty",
            Self::Connects(_) => "connect",
        }
    }

    /// When to try again, for a refusal that says so.
    pub(crate) fn retry_after(self) -> Option<Duration> {
        match self {
            Self::Penalty(wait) | Self::Connects(wait) => Some(wait),
            _ => None,
        }
    }

    /// How an HTTP request for a new connection is refused.
    pub(crate) fn refusal(self) -> AppError {
        let code = match self {
            Self::Node => ErrorCode::Unavailable,
            Self::Ip | Self::Player | Self::Penalty(_) | Self::Connects(_) => {
                ErrorCode::RateLimited
            }
        };
        let error = AppError::new(code, self.message());
        match self.retry_after() {
            Some(wait) => error.with_details(serde_json::json!({ "retry_after_ms": millis(wait) })),
            None => error,
        }
    }

    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Node => "the server holds its maximum number of connections; try again later",
            Self::Ip => "too many connections from your address",
            Self::Player => "too many connections for this player; close another tab first",
            Self::Penalty(_) => {
                "closed for sending while rate limited; wait `retry_after_ms` before reconnecting"
            }
            Self::Connects(_) => {
                "too many new connections from your address; wait `retry_after_ms`"
            }
        }
    }
}

/// Open connections counted by address and by player, and who is serving a penalty. A
/// [`Slot`] keeps its place.
#[derive(Debug, Default)]
pub(crate) struct Census {
    counts: Mutex<Counts>,
    /// Addresses and players closed for flooding, until when. Without it a closed flooder
    /// reconnects at once with fresh buckets, and the limits cost it nothing.
    penalties: Mutex<HashMap<Penalized, tokio::time::Instant>>,
}

/// Who a penalty holds back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Penalized {
    Ip(IpAddr),
    Player(String),
}

/// Sentences kept before the expired ones are swept.
const PENALTIES_SWEPT_PAST: usize = 1024;

#[derive(Debug, Default)]
struct Counts {
    all: usize,
    by_ip: HashMap<IpAddr, usize>,
    by_player: HashMap<String, usize>,
}

/// A connection's place in the [`Census`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    census: Arc<Census>,
    ip: IpAddr,
    player: Option<String>,
}

impl Census {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Counter updates only: a poisoned lock still holds consistent counts.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `who` still serves, if at all.
    fn serving(&self, who: &Penalized) -> Option<Duration> {
        let penalties = self.penalties.lock().unwrap_or_else(|p| p.into_inner());
        let until = *penalties.get(who)?;
        let now = tokio::time::Instant::now();
        (until > now).then(|| until - now)
    }

    fn sentence(&self, who: Penalized, period: Duration) {
        let now = tokio::time::Instant::now();
        let mut penalties = self.penalties.lock().unwrap_or_else(|p| p.into_inner());
        if penalties.len() >= PENALTIES_SWEPT_PAST {
            penalties.retain(|_, until| *until > now);
        }
        penalties.insert(who, now + period);
    }

    /// Count a new connection from `ip`, unless that would pass a limit: a penalty first,
    /// then `rate` (the address's bucket of new connections), then the counts.
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        limits: &Limits,
        rate: impl FnOnce() -> Result<(), Over>,
    ) -> Result<Slot, Over> {
        let ip = host(ip);
        if let Some(wait) = self.serving(&Penalized::Ip(ip)) {
            return Err(Over::Penalty(wait));
        }
        rate()?;
        let mut counts = self.counts();
        if counts.all >= limits.max_connections {
            return Err(Over::Node);
        }
        let from_ip = counts.by_ip.entry(ip).or_default();
        if *from_ip >= limits.max_connections_per_ip {
            return Err(Over::Ip);
        }
        *from_ip += 1;
        counts.all += 1;
        Ok(Slot {
            census: self.clone(),
            ip,
            player: None,
        })
    }
}

impl Slot {
    /// Count the connection as `player`'s too, unless they hold their maximum (or serve a
    /// penalty).
    pub(crate) fn name(&mut self, player: &str, max: usize) -> Result<(), Over> {
        if let Some(wait) = self.census.serving(&Penalized::Player(player.to_owned())) {
            return Err(Over::Penalty(wait));
        }
        let mut counts = self.census.counts();
        let of_player = counts.by_player.entry(player.to_owned()).or_default();
        if *of_player >= max {
            if *of_player == 0 {
                counts.by_player.remove(player);
            }
            return Err(Over::Player);
        }
        *of_player += 1;
        drop(counts);
        self.player = Some(player.to_owned());
        Ok(())
    }
}

impl Slot {
    /// The connection is being closed for flooding: its address, and its player if it said
    /// `hello`, may not connect again for `period`.
    pub(crate) fn penalize(&self, period: Duration) {
        self.census.sentence(Penalized::Ip(self.ip), period);
        if let Some(player) = &self.player {
            self.census
                .sentence(Penalized::Player(player.clone()), period);
        }
    }
}

/// Whole milliseconds, at least 1: a wait that says 0 would be retried at once.
pub(crate) fn millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.census.counts();
        counts.all = counts.all.saturating_sub(1);
        if let Some(n) = counts.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.by_ip.remove(&self.ip);
            }
        }
        if let Some(player) = &self.player
            && let Some(n) = counts.by_player.get_mut(player)
        {
            *n -= 1;
            if *n == 0 {
                counts.by_player.remove(player);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rates_parse_and_print_as_written() {
        for s in ["60/1s", "5/5s", "20/1m", "5/1h", "3/250ms", "off"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
        assert_eq!("7/s".parse::<Rate>().unwrap().to_string(), "7/1s");
        for bad in ["", "5", "0/1s", "5/0s", "5/1d", "x/1s", "2000000/1ms"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_budget_charges_whole_kib_and_says_how_long_to_stop_reading() {
        // 4 KiB at once, one KiB every 250 ms.
        let mut budget = ReadBudget::new(Rate::new(4, Duration::from_secs(1)));
        // 3,000 bytes: 2 KiB charged, 952 bytes carried.
        assert_eq!(budget.charge(3_000), None);
        // 952 + 1,200 = 2 KiB charged (the bucket is empty now), 104 carried.
        assert_eq!(budget.charge(1_200), None);
        assert_eq!(budget.charge(919), None, "1,023 owed: not yet a whole KiB");
        // 1,025 owed: one KiB is charged when the bucket has one, 250 ms from now.
        assert_eq!(budget.charge(2), Some(Duration::from_millis(250)));
        tokio::time::advance(Duration::from_millis(249)).await;
        assert_eq!(budget.charge(0), Some(Duration::from_millis(1)));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(budget.charge(0), None);
        // A frame larger than the whole bucket waits for the bucket to be full, twice.
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(budget.charge(6 * 1024), Some(Duration::from_millis(500)));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(budget.charge(0), None);
        // Off: nothing is ever owed.
        let mut off = ReadBudget::new(Rate::OFF);
        assert_eq!(off.charge(usize::MAX), None);
    }

    #[test]
    fn deadlines_of_sockets_opened_together_are_spread_over_the_second_half() {
        let limit = Duration::from_secs(10);
        // Any 1,000 consecutive sockets, wherever the count stands.
        for start in [0, 7, 1 << 40, u64::MAX - 1_000] {
            let deadlines: Vec<Duration> =
                (start..start + 1_000).map(|n| spread(limit, n)).collect();
            assert!(deadlines.iter().all(|d| *d >= limit / 2 && *d <= limit));
            // Each tenth of the range [5 s, 10 s] holds close to a tenth of them.
            for tenth in 0..10u32 {
                let from = limit / 2 + limit / 20 * tenth;
                let to = from + limit / 20;
                let n = deadlines.iter().filter(|d| **d >= from && **d < to).count();
                assert!((80..=120).contains(&n), "{n} deadlines in {from:?}..{to:?}");
            }
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = Some("203.0.113.9, 198.51.100.7, 10.1.2.3");
        assert_eq!(client_ip(ip("10.0.0.1"), xff, &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(ip("192.0.2.1"), xff, &trusted), ip("192.0.2.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), None, &trusted), ip("10.0.0.1"));
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), Some("garbage"), &trusted),
            ip("10.0.0.1")
        );
        assert!("::1".parse::<IpNet>().unwrap().contains(ip("::1")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn each_address_has_its_own_http_bucket_and_full_buckets_are_forgotten() {
        let limiter = AddressLimiter::new(Rate::new(2, Duration::from_secs(1)));
        let (a, b): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        assert!(limiter.check(a).is_ok() && limiter.check(a).is_ok());
        let wait = limiter.check(a).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Another address is not affected; one /64 is one host.
        assert!(limiter.check(b).is_ok());
        assert!(limiter.check("2001:db8::2".parse().unwrap()).is_ok());
        assert!(limiter.check("2001:db8::3".parse().unwrap()).is_err());
        assert_eq!(limiter.tracked(), 2);
        tokio::time::advance(wait).await;
        assert!(limiter.check(a).is_ok());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(limiter.tracked(), 0, "full buckets are forgotten");
        assert!(AddressLimiter::new(Rate::OFF).check(a).is_ok());
    }

    #[test]
    fn the_census_gives_places_back() {
        let census = Arc::new(Census::default());
        let free = || Ok(());
        let limits = Limits {
            max_connections_per_ip: 1,
            ..Limits::default()
        };
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let mut first = census.admit(ip, &limits, free).unwrap();
        assert_eq!(census.admit(ip, &limits, free).unwrap_err(), Over::Ip);
        first.name("p_1", 1).unwrap();
        let mut other = census
            .admit("192.0.2.2".parse().unwrap(), &limits, free)
            .unwrap();
        assert_eq!(other.name("p_1", 1), Err(Over::Player));
        drop(first);
        other.name("p_1", 1).unwrap();
        assert!(census.admit(ip, &limits, free).is_ok());
        let _host = census
            .admit("2001:db8::1".parse().unwrap(), &limits, free)
            .unwrap();
        assert_eq!(
            census
                .admit("2001:db8::2".parse().unwrap(), &limits, free)
                .unwrap_err(),
            Over::Ip,
            "one /64 is one host"
        );
    }
}
