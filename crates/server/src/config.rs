//! Where `arbiter serve` gets its options, lowest layer first: the defaults, a TOML file
//! (`--config`), the environment (`ARBITER_*`) and the command line.
//!
//! Each option is written down once: its default in [`Config::default`] (from
//! [`Settings::default`] where the server has one), its flag, environment variable and help
//! on the field of [`Overrides`]. Its TOML key is the flag's name in snake_case
//! (`--lease-ms` is `lease_ms`) and its variable is `ARBITER_` and the key in capitals.
//! `docs/configuration.md` and `--help` are generated from these ([`reference`],
//! [`show_defaults`]).

use crate::limits::{IpNet, Limits, Rate};
use crate::{ClusterConfig, JwtSettings, KeyPolicy, QueueLimits, Settings};
use clap::{Arg, Args, Command};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Secrets are refused when shorter: a short one can be guessed.
const MIN_SECRET_LEN: usize = 16;

/// An HS256 key shorter than its 256-bit hash is weaker than the algorithm.
const MIN_JWT_SECRET_LEN: usize = 32;

/// The shortest room lease a node takes (the check `serve` made before there was a file).
const MIN_LEASE_MS: u64 = 300;

/// What the effective configuration shows instead of a secret.
const REDACTED: &str = "<redacted>";

/// The options of `arbiter serve`, resolved through every layer.
///
/// Serializes (and debugs) as the configuration to show an operator: secrets and passwords
/// inside URLs come out as `"<redacted>"`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
// Each field is documented once, on its flag in `Overrides`.
#[allow(missing_docs)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    #[serde(serialize_with = "redacted_url")]
    pub database_url: Option<String>,
    pub durability: Durability,
    pub snapshot_every: u64,
    #[serde(serialize_with = "redacted")]
    pub secret: Option<String>,
    pub token_lifetime_secs: u64,
    pub key_rotation_secs: u64,
    pub key_grace_secs: u64,
    #[serde(serialize_with = "redacted")]
    pub jwt_hs256_secret: Option<String>,
    pub jwt_jwks_file: Option<PathBuf>,
    pub jwt_jwks_url: Option<String>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub jwt_player_claim: String,
    pub jwt_name_claim: String,
    pub jwt_leeway_secs: u64,
    pub max_frame: usize,
    pub outbox_frames: usize,
    pub outbox_bytes: usize,
    pub heartbeat_timeout_secs: u64,
    pub max_rooms: usize,
    pub room_empty_secs: u64,
    pub room_idle_secs: u64,
    pub seat_grace_secs: u64,
    pub allow_seeded_rooms: bool,
    pub allow_origin: Vec<String>,
    pub rate_act: Rate,
    pub rate_chat: Rate,
    pub rate_join: Rate,
    pub rate_other: Rate,
    pub rate_strikes: Rate,
    pub rate_read_kib: Rate,
    pub rate_http: Rate,
    pub rate_connect: Rate,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub max_connections_per_player: usize,
    pub trusted_proxies: Vec<IpNet>,
    pub header_timeout_secs: u64,
    pub hello_timeout_secs: u64,
    pub max_rooms_per_player: usize,
    pub max_config_bytes: usize,
    pub max_json_depth: usize,
    #[serde(serialize_with = "redacted_url")]
    pub redis: Option<String>,
    pub redis_prefix: String,
    pub lease_ms: u64,
    pub node_id: Option<String>,
    pub metrics: bool,
    #[serde(serialize_with = "redacted")]
    pub admin_token: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        let settings = Settings::default();
        let keys = KeyPolicy::default();
        let jwt = JwtSettings::default();
        let limits = settings.limits.clone();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            durability: Durability::Strict,
            snapshot_every: 100,
            secret: None,
            token_lifetime_secs: keys.token_lifetime.as_secs(),
            key_rotation_secs: keys.rotation.as_secs(),
            key_grace_secs: keys.grace.as_secs(),
            jwt_hs256_secret: jwt.hs256_secret,
            jwt_jwks_file: jwt.jwks_file,
            jwt_jwks_url: jwt.jwks_url,
            jwt_issuer: jwt.issuer,
            jwt_audience: jwt.audience,
            jwt_player_claim: jwt.player_claim,
            jwt_name_claim: jwt.name_claim,
            jwt_leeway_secs: jwt.leeway.as_secs(),
            max_frame: settings.max_frame,
            outbox_frames: settings.queue.frames,
            outbox_bytes: settings.queue.bytes,
            heartbeat_timeout_secs: settings.heartbeat_timeout.as_secs(),
            max_rooms: settings.rooms.max_rooms,
            room_empty_secs: settings.rooms.lifetimes.empty.as_secs(),
            room_idle_secs: settings.rooms.lifetimes.abandoned.as_secs(),
            seat_grace_secs: settings.rooms.seat_grace.as_secs(),
            allow_seeded_rooms: settings.rooms.allow_seeded_rooms,
            allow_origin: settings.allowed_origins,
            rate_act: limits.act,
            rate_chat: limits.chat,
            rate_join: limits.join,
            rate_other: limits.other,
            rate_strikes: limits.strikes,
            rate_read_kib: limits.read_kib,
            rate_http: limits.http,
            rate_connect: limits.connect,
            max_connections: limits.max_connections,
            max_connections_per_ip: limits.max_connections_per_ip,
            max_connections_per_player: limits.max_connections_per_player,
            trusted_proxies: limits.trusted_proxies,
            header_timeout_secs: limits.header_timeout.as_secs(),
            hello_timeout_secs: settings.hello_timeout.as_secs(),
            max_rooms_per_player: limits.max_rooms_per_player,
            max_config_bytes: limits.max_config_bytes,
            max_json_depth: limits.max_json_depth,
            redis: None,
            redis_prefix: "arbiter".to_owned(),
            lease_ms: 3000,
            node_id: None,
            metrics: settings.metrics,
            admin_token: settings.admin_token,
            log: "info".to_owned(),
            log_format: LogFormat::Text,
        }
    }
}

/// Redacted like the printed configuration: a `{:?}` in a log line must not leak a secret.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match toml::Table::try_from(self) {
            Ok(table) => f.debug_tuple("Config").field(&table).finish(),
            Err(_) => f.write_str("Config { .. }"),
        }
    }
}

/// When an action counts as done ([`arbiter_engine::Durability`], as the options spell it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
// Documented on `--durability`: doc comments here would become a second, longer `--help`.
#[allow(missing_docs)]
pub enum Durability {
    Strict,
    Relaxed,
}

impl From<Durability> for arbiter_engine::Durability {
    fn from(durability: Durability) -> Self {
        match durability {
            Durability::Strict => Self::Strict,
            Durability::Relaxed => Self::Relaxed,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
// Documented on `--log-format`, like `Durability`.
#[allow(missing_docs)]
pub enum LogFormat {
    Text,
    Json,
}

/// What `serve` (and `config check`) read: a file, and the environment and flags over it.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file of options (keys as in docs/configuration.md); the environment and flags
    /// override it.
    #[arg(long, env = "ARBITER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The options given in the environment or as flags.
    #[command(flatten)]
    pub overrides: Overrides,
}

impl ServeArgs {
    /// The configuration: defaults, then the file, then the environment and flags; checked.
    pub fn resolve(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.overrides.clone().apply(&mut config);
        config.validate()?;
        Ok(config)
    }
}

/// The options given in the environment or on the command line (clap prefers the flag);
/// `None` where neither gave one.
#[derive(Debug, Clone, Default, Args)]
pub struct Overrides {
    /// Address to listen on.
    #[arg(long, env = "ARBITER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the server's files (the token secret, the SQLite database).
    #[arg(long, env = "ARBITER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where rooms are kept: `sqlite://PATH` or `postgres://…`; by default an SQLite file in
    /// the data directory. `memory` keeps rooms in memory only (lost on restart).
    #[arg(long, env = "ARBITER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// `strict`: an action is acknowledged only once its entry is committed. `relaxed`: the
    /// ack goes out at once and the commit follows (a crash can lose the last commit window).
    #[arg(long, env = "ARBITER_DURABILITY")]
    pub durability: Option<Durability>,
    /// A room snapshot is written every this many versions.
    #[arg(long, env = "ARBITER_SNAPSHOT_EVERY")]
    pub snapshot_every: Option<u64>,
    /// Secret for signing identity tokens (at least 16 characters); by default one is
    /// generated into the data directory.
    #[arg(long, env = "ARBITER_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Seconds a guest token stays valid after it was issued (each `welcome` issues a fresh
    /// one).
    #[arg(long, env = "ARBITER_TOKEN_LIFETIME_SECS")]
    pub token_lifetime_secs: Option<u64>,
    /// Seconds a generated signing key signs before a successor replaces it (checked at start
    /// and hourly; 0: never). Not with `secret`, which does not rotate.
    #[arg(long, env = "ARBITER_KEY_ROTATION_SECS")]
    pub key_rotation_secs: Option<u64>,
    /// Seconds a replaced signing key still verifies the tokens it signed (at least
    /// `token_lifetime_secs` keeps every token valid until it expires).
    #[arg(long, env = "ARBITER_KEY_GRACE_SECS")]
    pub key_grace_secs: Option<u64>,
    /// Shared secret of HS256 JWTs from your own sign-in, accepted as `hello.token` (at
    /// least 32 characters). Unset: HS256 JWTs are refused.
    #[arg(long, env = "ARBITER_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,
    /// A JWKS file of public keys (RSA, P-256/P-384, Ed25519) that verify JWTs; read at start.
    #[arg(long, env = "ARBITER_JWT_JWKS_FILE", value_name = "FILE")]
    pub jwt_jwks_file: Option<PathBuf>,
    /// A JWKS URL on this machine's loopback (`http://127.0.0.1:PORT/path`), fetched when
    /// first needed and again when a JWT names a key it lacks.
    #[arg(long, env = "ARBITER_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// The `iss` a JWT must carry. Unset: any issuer.
    #[arg(long, env = "ARBITER_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// The `aud` a JWT must carry. Unset: the audience is not checked.
    #[arg(long, env = "ARBITER_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// The JWT claim that identifies the player (their id is `u_` and a hash of it and
    /// `iss`).
    #[arg(long, env = "ARBITER_JWT_PLAYER_CLAIM")]
    pub jwt_player_claim: Option<String>,
    /// The JWT claim with the player's display name (used when present and valid).
    #[arg(long, env = "ARBITER_JWT_NAME_CLAIM")]
    pub jwt_name_claim: Option<String>,
    /// Seconds of clock skew allowed on a JWT's `exp` and `nbf`.
    #[arg(long, env = "ARBITER_JWT_LEEWAY_SECS")]
    pub jwt_leeway_secs: Option<u64>,
    /// Largest incoming WebSocket message, in bytes.
    #[arg(long, env = "ARBITER_MAX_FRAME")]
    pub max_frame: Option<usize>,
    /// Frames queued for one connection before its patches collapse into a snapshot.
    #[arg(long, env = "ARBITER_OUTBOX_FRAMES")]
    pub outbox_frames: Option<usize>,
    /// Bytes queued for one connection before its patches collapse into a snapshot.
    #[arg(long, env = "ARBITER_OUTBOX_BYTES")]
    pub outbox_bytes: Option<usize>,
    /// Seconds without any frame from a client before it counts as gone.
    #[arg(long, env = "ARBITER_HEARTBEAT_TIMEOUT_SECS")]
    pub heartbeat_timeout_secs: Option<u64>,
    /// Live rooms this node will hold.
    #[arg(long, env = "ARBITER_MAX_ROOMS")]
    pub max_rooms: Option<usize>,
    /// Seconds a room with no members lives before it is archived.
    #[arg(long, env = "ARBITER_ROOM_EMPTY_SECS")]
    pub room_empty_secs: Option<u64>,
    /// Seconds a room whose members are all disconnected lives before it is archived
    /// (kept for history, memory freed).
    #[arg(long, env = "ARBITER_ROOM_IDLE_SECS")]
    pub room_idle_secs: Option<u64>,
    /// Seconds a disconnected player's seat is held before it is released.
    #[arg(long, env = "ARBITER_SEAT_GRACE_SECS")]
    pub seat_grace_secs: Option<u64>,
    /// Let `create` fix a room's RNG seed (reproducible rooms for tests and demos; never in
    /// production: knowing the seed of a card game means knowing the deck).
    #[arg(long, env = "ARBITER_ALLOW_SEEDED_ROOMS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub allow_seeded_rooms: Option<bool>,
    /// A web origin allowed to use the server from a browser (repeat, or comma-separate;
    /// `*` for any). Unset: any origin may connect and no CORS headers are sent.
    #[arg(long, env = "ARBITER_ALLOW_ORIGIN", value_delimiter = ',')]
    pub allow_origin: Option<Vec<String>>,
    /// `act`, `undo`, `redo` and `consent` one connection may send: `N/PERIOD` lets N
    /// through at once and refills them over PERIOD (`ms`, `s`, `m`, `h`); `off` for no
    /// limit. Over it a message is refused with `RATE_LIMITED` and changes nothing.
    #[arg(long, env = "ARBITER_RATE_ACT", value_name = "RATE")]
    pub rate_act: Option<Rate>,
    /// `chat` messages one connection may send (`N/PERIOD` or `off`); each room also allows
    /// each member at most 5 per 5 s.
    #[arg(long, env = "ARBITER_RATE_CHAT", value_name = "RATE")]
    pub rate_chat: Option<Rate>,
    /// `join`, `create`, `add_bot` and `leave` one connection may send (`N/PERIOD` or `off`).
    #[arg(long, env = "ARBITER_RATE_JOIN", value_name = "RATE")]
    pub rate_join: Option<Rate>,
    /// Every other message (`hello`, `sync`, `ping`, frames that do not decode) one
    /// connection may send (`N/PERIOD` or `off`).
    #[arg(long, env = "ARBITER_RATE_OTHER", value_name = "RATE")]
    pub rate_other: Option<Rate>,
    /// `RATE_LIMITED` refusals one connection may collect (`N/PERIOD` or `off`); past them it
    /// is closed with 4029.
    #[arg(long, env = "ARBITER_RATE_STRIKES", value_name = "RATE")]
    pub rate_strikes: Option<Rate>,
    /// KiB of frames one WebSocket connection may send (`N/PERIOD` or `off`); past them the
    /// server stops reading that socket until the budget refills (TCP holds the sender back).
    #[arg(long, env = "ARBITER_RATE_READ_KIB", value_name = "RATE")]
    pub rate_read_kib: Option<Rate>,
    /// HTTP requests one client address may send (`N/PERIOD` or `off`): REST, admin,
    /// `/metrics`, web files and `POST /lp`; not WebSocket upgrades, a long-poll session's own
    /// requests, `/healthz` or `/readyz`. Over it: 429 `RATE_LIMITED` with `Retry-After`.
    #[arg(long, env = "ARBITER_RATE_HTTP", value_name = "RATE")]
    pub rate_http: Option<Rate>,
    /// New connections (WebSocket upgrades and `POST /lp`) one client address may open
    /// (`N/PERIOD` or `off`). Over it: 429 `RATE_LIMITED` with `retry_after_ms`.
    #[arg(long, env = "ARBITER_RATE_CONNECT", value_name = "RATE")]
    pub rate_connect: Option<Rate>,
    /// Open connections (WebSocket and long-poll) this node accepts; past it `/ws` and `POST
    /// /lp` answer 503 `UNAVAILABLE`.
    #[arg(long, env = "ARBITER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Open connections from one client address; past it `/ws` and `POST /lp` answer 429
    /// `RATE_LIMITED`.
    #[arg(long, env = "ARBITER_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<usize>,
    /// Open connections of one player; past it `hello` is answered `RATE_LIMITED` and the
    /// connection closed with 4029.
    #[arg(long, env = "ARBITER_MAX_CONNECTIONS_PER_PLAYER")]
    pub max_connections_per_player: Option<usize>,
    /// Proxies (addresses or networks, `10.0.0.0/8`; repeat or comma-separate) whose
    /// `X-Forwarded-For` names the client. Unset: the peer address is the client's.
    #[arg(
        long,
        env = "ARBITER_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "NET"
    )]
    pub trusted_proxies: Option<Vec<IpNet>>,
    /// Seconds a client has at most to send a request's headers before its socket is closed
    /// (each socket's deadline lies between half of this and this, so that sockets opened
    /// together are not all closed together).
    #[arg(long, env = "ARBITER_HEADER_TIMEOUT_SECS")]
    pub header_timeout_secs: Option<u64>,
    /// Seconds a new connection has at most to say `hello` before it is closed with 4003
    /// (each connection's deadline lies between half of this and this).
    #[arg(long, env = "ARBITER_HELLO_TIMEOUT_SECS")]
    pub hello_timeout_secs: Option<u64>,
    /// Live rooms one player may have created (counted by the database, so across every node
    /// sharing it; with `--database-url memory`, on this node); past it `create` is answered
    /// `RATE_LIMITED`.
    #[arg(long, env = "ARBITER_MAX_ROOMS_PER_PLAYER")]
    pub max_rooms_per_player: Option<usize>,
    /// Largest `create.config`, in bytes of JSON; a larger one is `INVALID_CONFIG`.
    #[arg(long, env = "ARBITER_MAX_CONFIG_BYTES")]
    pub max_config_bytes: Option<usize>,
    /// Deepest nesting of arrays and objects (maps) in an incoming message, JSON or
    /// MessagePack; a deeper one is refused with `BAD_MESSAGE` and never reaches a room or a game.
    #[arg(long, env = "ARBITER_MAX_JSON_DEPTH")]
    pub max_json_depth: Option<usize>,
    /// Run as a cluster node: the Redis that carries leases, the node registry and the bus
    /// (`redis://host:port`). Needs a PostgreSQL `--database-url` shared by every node.
    #[arg(long, env = "ARBITER_REDIS")]
    pub redis: Option<String>,
    /// Prefix of this cluster's Redis keys and channels (clusters may share one Redis).
    #[arg(long, env = "ARBITER_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// Milliseconds a room lease (and a node's registration) lasts without renewal (at least
    /// 300); a dead node's rooms move within about this long plus two sweeps (a third of it
    /// each).
    #[arg(long, env = "ARBITER_LEASE_MS")]
    pub lease_ms: Option<u64>,
    /// This node's id in the cluster (random when unset).
    #[arg(long, env = "ARBITER_NODE_ID")]
    pub node_id: Option<String>,
    /// Record Prometheus metrics and serve them at `/metrics`.
    #[arg(long, env = "ARBITER_METRICS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub metrics: Option<bool>,
    /// Same as `--metrics false` (and wins over it).
    #[arg(long)]
    pub no_metrics: bool,
    /// Bearer token that opens the admin API (`/api/v1/admin/…`; at least 16 characters).
    /// Unset: the admin API is closed.
    #[arg(long, env = "ARBITER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info,arbiter_engine=debug`).
    #[arg(long, env = "ARBITER_LOG")]
    pub log: Option<String>,
    /// `text`, or `json`: one object per line with the fields of the current span.
    #[arg(long, env = "ARBITER_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl Overrides {
    /// Put every option given here over `config`.
    fn apply(self, config: &mut Config) {
        // Destructured so that an option added here and not applied does not compile.
        let Overrides {
            listen,
            data_dir,
            database_url,
            durability,
            snapshot_every,
            secret,
            token_lifetime_secs,
            key_rotation_secs,
            key_grace_secs,
            jwt_hs256_secret,
            jwt_jwks_file,
            jwt_jwks_url,
            jwt_issuer,
            jwt_audience,
            jwt_player_claim,
            jwt_name_claim,
            jwt_leeway_secs,
            max_frame,
            outbox_frames,
            outbox_bytes,
            heartbeat_timeout_secs,
            max_rooms,
            room_empty_secs,
            room_idle_secs,
            seat_grace_secs,
            allow_seeded_rooms,
            allow_origin,
            rate_act,
            rate_chat,
            rate_join,
            rate_other,
            rate_strikes,
            rate_read_kib,
            rate_http,
            rate_connect,
            max_connections,
            max_connections_per_ip,
            max_connections_per_player,
            trusted_proxies,
            header_timeout_secs,
            hello_timeout_secs,
            max_rooms_per_player,
            max_config_bytes,
            max_json_depth,
            redis,
            redis_prefix,
            lease_ms,
            node_id,
            metrics,
            no_metrics,
            admin_token,
            log,
            log_format,
        } = self;
        set(&mut config.listen, listen);
        set(&mut config.data_dir, data_dir);
        set(&mut config.database_url, database_url.map(Some));
        set(&mut config.durability, durability);
        set(&mut config.snapshot_every, snapshot_every);
        set(&mut config.secret, secret.map(Some));
        set(&mut config.token_lifetime_secs, token_lifetime_secs);
        set(&mut config.key_rotation_secs, key_rotation_secs);
        set(&mut config.key_grace_secs, key_grace_secs);
        set(&mut config.jwt_hs256_secret, jwt_hs256_secret.map(Some));
        set(&mut config.jwt_jwks_file, jwt_jwks_file.map(Some));
        set(&mut config.jwt_jwks_url, jwt_jwks_url.map(Some));
        set(&mut config.jwt_issuer, jwt_issuer.map(Some));
        set(&mut config.jwt_audience, jwt_audience.map(Some));
        set(&mut config.jwt_player_claim, jwt_player_claim);
        set(&mut config.jwt_name_claim, jwt_name_claim);
        set(&mut config.jwt_leeway_secs, jwt_leeway_secs);
        set(&mut config.max_frame, max_frame);
        set(&mut config.outbox_frames, outbox_frames);
        set(&mut config.outbox_bytes, outbox_bytes);
        set(&mut config.heartbeat_timeout_secs, heartbeat_timeout_secs);
        set(&mut config.max_rooms, max_rooms);
        set(&mut config.room_empty_secs, room_empty_secs);
        set(&mut config.room_idle_secs, room_idle_secs);
        set(&mut config.seat_grace_secs, seat_grace_secs);
        set(&mut config.allow_seeded_rooms, allow_seeded_rooms);
        set(&mut config.allow_origin, allow_origin);
        set(&mut config.rate_act, rate_act);
        set(&mut config.rate_chat, rate_chat);
        set(&mut config.rate_join, rate_join);
        set(&mut config.rate_other, rate_other);
        set(&mut config.rate_strikes, rate_strikes);
        set(&mut config.rate_read_kib, rate_read_kib);
        set(&mut config.rate_http, rate_http);
        set(&mut config.rate_connect, rate_connect);
        set(&mut config.max_connections, max_connections);
        set(&mut config.max_connections_per_ip, max_connections_per_ip);
        set(
            &mut config.max_connections_per_player,
            max_connections_per_player,
        );
        set(&mut config.trusted_proxies, trusted_proxies);
        set(&mut config.header_timeout_secs, header_timeout_secs);
        set(&mut config.hello_timeout_secs, hello_timeout_secs);
        set(&mut config.max_rooms_per_player, max_rooms_per_player);
        set(&mut config.max_config_bytes, max_config_bytes);
        set(&mut config.max_json_depth, max_json_depth);
        set(&mut config.redis, redis.map(Some));
        set(&mut config.redis_prefix, redis_prefix);
        set(&mut config.lease_ms, lease_ms);
        set(&mut config.node_id, node_id.map(Some));
        set(
            &mut config.metrics,
            if no_metrics { Some(false) } else { metrics },
        );
        set(&mut config.admin_token, admin_token.map(Some));
        set(&mut config.log, log);
        set(&mut config.log_format, log_format);
    }
}

fn set<T>(option: &mut T, given: Option<T>) {
    if let Some(value) = given {
        *option = value;
    }
}

impl Config {
    /// Read a configuration file; the options it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parse `text`, the contents of the file at `path` (named in errors).
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            at: e.span().map(|span| Position::of(text, span.start)),
            field: e.span().and_then(|span| key_at(text, span.start)),
            message: e.message().to_owned(),
        })
    }

    /// Refuse what `serve` cannot run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, secret) in [("secret", &self.secret), ("admin_token", &self.admin_token)] {
            if secret
                .as_ref()
                .is_some_and(|secret| secret.len() < MIN_SECRET_LEN)
            {
                return Err(invalid(
                    key,
                    format!("must be at least {MIN_SECRET_LEN} characters"),
                ));
            }
        }
        if self
            .jwt_hs256_secret
            .as_ref()
            .is_some_and(|secret| secret.len() < MIN_JWT_SECRET_LEN)
        {
            return Err(invalid(
                "jwt_hs256_secret",
                format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
            ));
        }
        if let Some(url) = &self.jwt_jwks_url
            && !crate::identity::is_loopback_http(url)
        {
            return Err(invalid(
                "jwt_jwks_url",
                "must be an http:// URL on loopback (127.0.0.1, [::1] or localhost): keys \
                 fetched without TLS must not cross a network"
                    .to_owned(),
            ));
        }
        if self.token_lifetime_secs == 0 {
            return Err(invalid(
                "token_lifetime_secs",
                "must be at least 1".to_owned(),
            ));
        }
        if self.redis.is_some() && !is_postgres(&self.database_url()) {
            return Err(ConfigError::Invalid(
                "cluster mode (`redis`) needs a PostgreSQL database shared by every node: \
                 --database-url postgres://…"
                    .to_owned(),
            ));
        }
        if self.lease_ms < MIN_LEASE_MS {
            return Err(invalid(
                "lease_ms",
                format!("must be at least {MIN_LEASE_MS}"),
            ));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return Err(invalid("log", format!("is not a log filter: {e}")));
        }
        Ok(())
    }

    /// Where rooms are kept: `database_url`, or an SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("arbiter.db").display()))
    }

    /// How long guest tokens live and signing keys serve.
    pub fn key_policy(&self) -> KeyPolicy {
        KeyPolicy {
            token_lifetime: Duration::from_secs(self.token_lifetime_secs),
            rotation: Duration::from_secs(self.key_rotation_secs),
            grace: Duration::from_secs(self.key_grace_secs),
        }
    }

    /// Where JWTs are verified; `None` when no key source is given.
    fn jwt(&self) -> Option<JwtSettings> {
        if self.jwt_hs256_secret.is_none()
            && self.jwt_jwks_file.is_none()
            && self.jwt_jwks_url.is_none()
        {
            return None;
        }
        Some(JwtSettings {
            hs256_secret: self.jwt_hs256_secret.clone(),
            jwks_file: self.jwt_jwks_file.clone(),
            jwks_url: self.jwt_jwks_url.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            player_claim: self.jwt_player_claim.clone(),
            name_claim: self.jwt_name_claim.clone(),
            leeway: Duration::from_secs(self.jwt_leeway_secs),
            ..JwtSettings::default()
        })
    }

    /// The running server's tunables.
    pub fn settings(&self) -> Settings {
        let defaults = Settings::default();
        let heartbeat_secs = self.heartbeat_timeout_secs;
        Settings {
            max_frame: self.max_frame,
            queue: QueueLimits {
                frames: self.outbox_frames.max(1),
                bytes: self.outbox_bytes.max(1024),
            },
            heartbeat_timeout: Duration::from_secs(heartbeat_secs.max(1)),
            heartbeat_interval: Duration::from_secs(heartbeat_secs.max(4) / 4),
            rooms: arbiter_engine::RoomLimits {
                max_rooms: self.max_rooms,
                lifetimes: arbiter_engine::RoomLifetimes {
                    empty: Duration::from_secs(self.room_empty_secs),
                    abandoned: Duration::from_secs(self.room_idle_secs),
                },
                allow_seeded_rooms: self.allow_seeded_rooms,
                seat_grace: Duration::from_secs(self.seat_grace_secs),
                ..defaults.rooms
            },
            allowed_origins: self.allow_origin.clone(),
            hello_timeout: Duration::from_secs(self.hello_timeout_secs.max(1)),
            limits: Limits {
                act: self.rate_act,
                chat: self.rate_chat,
                join: self.rate_join,
                other: self.rate_other,
                strikes: self.rate_strikes,
                read_kib: self.rate_read_kib,
                http: self.rate_http,
                connect: self.rate_connect,
                max_connections: self.max_connections,
                max_connections_per_ip: self.max_connections_per_ip,
                max_connections_per_player: self.max_connections_per_player,
                trusted_proxies: self.trusted_proxies.clone(),
                header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
                max_rooms_per_player: self.max_rooms_per_player,
                max_config_bytes: self.max_config_bytes,
                max_json_depth: self.max_json_depth.max(2),
            },
            cluster: self.redis.as_ref().map(|redis| ClusterConfig {
                redis_url: redis.clone(),
                prefix: self.redis_prefix.clone(),
                lease: Duration::from_millis(self.lease_ms),
                node_id: self.node_id.clone(),
            }),
            metrics: self.metrics,
            admin_token: self.admin_token.clone(),
            jwt: self.jwt(),
            ..defaults
        }
    }

    /// The configuration as a TOML file, secrets redacted.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        // Fails only on a number TOML cannot hold (above 2^63 - 1).
        toml::to_string(self).map_err(|e| ConfigError::Invalid(format!("cannot print: {e}")))
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Why a configuration was refused. Every case is the operator's to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not TOML, or holds a key that is not an option or a value of the wrong type.
    #[error("{}{}: {}", path.display(), at.map(|at| format!(":{at}")).unwrap_or_default(), with_field(field.as_deref(), message))]
    File {
        /// The file.
        path: PathBuf,
        /// Where in it.
        at: Option<Position>,
        /// The option (top-level key) the error is in, when it is in one.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A value out of range, or options that contradict each other.
    #[error("{0}")]
    Invalid(String),
}

/// A place in a text file, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The line.
    pub line: usize,
    /// The character in the line.
    pub column: usize,
}

impl Position {
    /// Where byte `offset` of `text` is.
    fn of(text: &str, offset: usize) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |nl| nl + 1);
        Self {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The top-level key whose key or value covers `offset` in `text`, or else the last one
/// before it on its line (a syntax error after `key =`).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let (table, _) = toml::de::DeTable::parse_recoverable(text);
    let line = Position::of(text, offset).line;
    let keys = table.get_ref();
    let covering = keys
        .iter()
        .find(|(key, value)| key.span().contains(&offset) || value.span().contains(&offset));
    let on_the_line = || {
        keys.iter()
            .filter(|(key, _)| {
                key.span().start <= offset && Position::of(text, key.span().start).line == line
            })
            .max_by_key(|(key, _)| key.span().start)
    };
    covering
        .or_else(on_the_line)
        .map(|(key, _)| key.get_ref().to_string())
}

/// `message`, prefixed by the option it is about unless it already names it.
fn with_field(field: Option<&str>, message: &str) -> String {
    match field {
        Some(field) if !message.contains(&format!("`{field}`")) => {
            format!("`{field}`: {message}")
        }
        _ => message.to_owned(),
    }
}

/// A value refused: the message names the option in all three spellings.
fn invalid(key: &str, problem: String) -> ConfigError {
    ConfigError::Invalid(format!(
        "`{key}` ({}, {}) {problem}",
        flag_of(key),
        env_of(key)
    ))
}

/// `lease_ms` → `--lease-ms`.
fn flag_of(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// `lease_ms` → `ARBITER_LEASE_MS`.
fn env_of(key: &str) -> String {
    format!("ARBITER_{}", key.to_ascii_uppercase())
}

fn redacted<S: Serializer>(secret: &Option<String>, to: S) -> Result<S::Ok, S::Error> {
    secret.as_ref().map(|_| REDACTED).serialize(to)
}

fn redacted_url<S: Serializer>(url: &Option<String>, to: S) -> Result<S::Ok, S::Error> {
    url.as_deref().map(redact_url).serialize(to)
}

/// `url` with its password (`user:password@`, `?password=`) replaced by `<redacted>`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The last `@`: a password may hold one unescaped; redacting too much is the safe side.
    let rest = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{REDACTED}@{host}"),
            None => rest.to_owned(),
        },
        None => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => format!("password={REDACTED}"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

/// The `serve` options as the command line defines them, for documentation.
fn serve_command() -> Command {
    ServeArgs::augment_args(Command::new("serve"))
}

/// The defaults as TOML values, by key (options unset by default are absent).
fn defaults() -> toml::Table {
    // Serializing the defaults cannot fail: every number in them fits TOML.
    toml::Table::try_from(Config::default()).unwrap_or_default()
}

/// Add each option's default to its help (clap cannot show a default it does not apply,
/// and applying one would hide whether the option was given).
pub fn show_defaults(command: Command) -> Command {
    let defaults = defaults();
    command.mut_args(|arg| {
        let Some(value) = defaults.get(arg.get_id().as_str()) else {
            return arg;
        };
        let shown = format!("[default: {}]", plain(value));
        let help = arg.get_help().map(ToString::to_string);
        let long_help = arg.get_long_help().map(ToString::to_string);
        let arg = match help {
            Some(help) => arg.help(format!("{help} {shown}")),
            None => arg,
        };
        match long_help {
            Some(help) => arg.long_help(format!("{help}\n\n{shown}")),
            None => arg,
        }
    })
}

/// A default as typed on the command line.
fn plain(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) if items.is_empty() => "none".to_owned(),
        other => other.to_string(),
    }
}

/// The table of every option, as `arbiter config docs` prints it and docs/configuration.md
/// holds it.
pub fn reference() -> String {
    let defaults = defaults();
    let command = serve_command();
    let args: Vec<&Arg> = command.get_arguments().collect();
    let mut out = String::from(
        "| Key | Flag | Environment | Default | Description |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for arg in &args {
        let key = arg.get_id().as_str();
        if !is_option(key) {
            continue;
        }
        let mut flags = vec![format!("`{}`", flag_of(key))];
        let negation = format!("no_{key}");
        if args.iter().any(|other| other.get_id() == negation.as_str()) {
            flags.push(format!("`{}`", flag_of(&negation)));
        }
        let env = arg
            .get_env()
            .map(|env| format!("`{}`", env.to_string_lossy()))
            .unwrap_or_default();
        let default = defaults
            .get(key)
            .map_or_else(|| "unset".to_owned(), |value| format!("`{value}`"));
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        out.push_str(&format!(
            "| `{key}` | {} | {env} | {} | {} |\n",
            flags.join(", "),
            default.replace('|', "\\|"),
            help.replace('|', "\\|"),
        ));
    }
    out
}

/// Whether a `serve` argument is an option of [`Config`] (not `--config`, not a negation).
fn is_option(id: &str) -> bool {
    id != "config" && !id.starts_with("no_")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn file(text: &str) -> Config {
        Config::from_toml(Path::new("arbiter.toml"), text).unwrap()
    }

    #[test]
    fn a_flag_beats_the_file_and_the_file_beats_the_default() {
        let mut config = file("lease_ms = 1000\nredis_prefix = \"from-file\"\n");
        let cli = Cli::try_parse_from(["arbiter", "--lease-ms", "4000"]).unwrap();
        cli.serve.overrides.apply(&mut config);
        assert_eq!(config.lease_ms, 4000);
        assert_eq!(config.redis_prefix, "from-file");
        assert_eq!(config.snapshot_every, Config::default().snapshot_every);
    }

    #[test]
    fn metrics_are_switched_by_value_or_by_negation() {
        let metrics = |args: &[&str]| {
            let mut config = file("metrics = true");
            let argv = std::iter::once("arbiter").chain(args.iter().copied());
            Cli::try_parse_from(argv)
                .unwrap()
                .serve
                .overrides
                .apply(&mut config);
            config.metrics
        };
        assert!(metrics(&[]));
        assert!(metrics(&["--metrics"]));
        assert!(!metrics(&["--metrics", "false"]));
        assert!(!metrics(&["--no-metrics"]));
        assert!(!metrics(&["--metrics=true", "--no-metrics"]));
    }

    #[test]
    fn an_error_is_placed_at_its_line_column_and_key() {
        let err = Config::from_toml(
            Path::new("a.toml"),
            "# comment\nlisten = \"0.0.0.0:1\"\nlease_ms = \"soon\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("a.toml:3:12: `lease_ms`: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://arbiter:hunter2@db:5432/arbiter"),
            "postgres://arbiter:<redacted>@db:5432/arbiter"
        );
        assert_eq!(
            redact_url("redis://:pw@cache:6379/0"),
            "redis://:<redacted>@cache:6379/0"
        );
        assert_eq!(
            redact_url("postgres://db/arbiter?user=a&password=b"),
            "postgres://db/arbiter?user=a&password=<redacted>"
        );
        assert_eq!(
            redact_url("postgres://arbiter@db/arbiter"),
            "postgres://arbiter@db/arbiter"
        );
        assert_eq!(redact_url("memory"), "memory");
    }

    #[test]
    fn debugging_a_config_shows_no_secret() {
        let config = file("secret = \"0123456789abcdefgh\"\nredis = \"redis://:pw@r\"\n");
        let shown = format!("{config:?}");
        assert!(shown.contains("lease_ms"), "{shown}");
        assert!(
            !shown.contains("0123456789abcdefgh") && !shown.contains("pw@"),
            "{shown}"
        );
    }

    #[test]
    fn limits_follow_the_options_and_a_bad_rate_is_named() {
        let config = file(
            "rate_act = \"5/1h\"\nrate_chat = \"off\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n\
             hello_timeout_secs = 3\n",
        );
        let settings = config.settings();
        assert_eq!(settings.limits.act, Rate::new(5, Duration::from_secs(3600)));
        assert_eq!(settings.limits.chat, Rate::OFF);
        assert_eq!(settings.limits.trusted_proxies.len(), 1);
        assert_eq!(settings.hello_timeout, Duration::from_secs(3));
        assert!(config.to_toml().unwrap().contains("rate_act = \"5/1h\""));
        let err = Config::from_toml(Path::new("a.toml"), "rate_join = \"often\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("a.toml:1:13: `rate_join`:"), "{err}");
        assert!(err.contains("N/PERIOD"), "{err}");
    }

    #[test]
    fn settings_follow_the_options() {
        let config = file("heartbeat_timeout_secs = 40\nredis = \"redis://r\"\nlease_ms = 900\n");
        let settings = config.settings();
        assert_eq!(settings.heartbeat_timeout, Duration::from_secs(40));
        assert_eq!(settings.heartbeat_interval, Duration::from_secs(10));
        let cluster = settings.cluster.unwrap();
        assert_eq!(cluster.lease, Duration::from_millis(900));
        assert_eq!(cluster.prefix, "arbiter");
    }
}
