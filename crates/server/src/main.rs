//! The `arbiter` command.

use arbiter_engine::{Durability, Persistence};
use arbiter_server::{Settings, Signer, SqlStore};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "arbiter",
    version,
    about = "Server-authoritative game-state synchronization"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Load-test a server over real sockets and report latencies and throughput.
    Bench(arbiter_bench::BenchArgs),
    /// Scaffold a new game: its module, tests that pass, a rules page and its registration.
    NewGame(NewGameArgs),
}

#[derive(clap::Args)]
struct NewGameArgs {
    /// The game's name: a lowercase identifier such as `snail_race` (module and wire name).
    name: String,
    /// The root of the Arbiter workspace to write into.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ARBITER_LISTEN", default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Directory for the server's files (the token secret; later the embedded database).
    #[arg(long, env = "ARBITER_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Where rooms are kept: `sqlite://PATH` or `postgres://…`; by default an SQLite file in
    /// the data directory. `memory` keeps rooms in memory only (lost on restart).
    #[arg(long, env = "ARBITER_DATABASE_URL")]
    database_url: Option<String>,
    /// `strict`: an action is acknowledged only once its entry is committed. `relaxed`: the
    /// ack goes out at once and the commit follows (a crash can lose the last commit window).
    #[arg(long, env = "ARBITER_DURABILITY", default_value = "strict", value_parser = ["strict", "relaxed"])]
    durability: String,
    /// A room snapshot is written every this many versions.
    #[arg(long, env = "ARBITER_SNAPSHOT_EVERY", default_value_t = 100)]
    snapshot_every: u64,
    /// Secret for signing identity tokens; by default one is generated into the data dir.
    #[arg(long, env = "ARBITER_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Largest incoming WebSocket message, in bytes.
    #[arg(long, env = "ARBITER_MAX_FRAME", default_value_t = arbiter_protocol::DEFAULT_MAX_FRAME)]
    max_frame: usize,
    /// Frames queued for one connection before its patches collapse into a snapshot.
    #[arg(long, env = "ARBITER_OUTBOX_FRAMES", default_value_t = 1024)]
    outbox_frames: usize,
    /// Bytes queued for one connection before its patches collapse into a snapshot.
    #[arg(long, env = "ARBITER_OUTBOX_BYTES", default_value_t = 1 << 20)]
    outbox_bytes: usize,
    /// Seconds without any frame from a client before it counts as gone.
    #[arg(long, env = "ARBITER_HEARTBEAT_TIMEOUT_SECS", default_value_t = 20)]
    heartbeat_timeout_secs: u64,
    /// Live rooms this node will hold.
    #[arg(long, env = "ARBITER_MAX_ROOMS", default_value_t = 10_000)]
    max_rooms: usize,
    /// Seconds a room with no members lives before it is archived.
    #[arg(long, env = "ARBITER_ROOM_EMPTY_SECS", default_value_t = 60)]
    room_empty_secs: u64,
    /// Seconds a room whose members are all disconnected lives before it is archived
    /// (kept for history, memory freed).
    #[arg(long, env = "ARBITER_ROOM_IDLE_SECS", default_value_t = 1800)]
    room_idle_secs: u64,
    /// Seconds a disconnected player's seat is held before it is released.
    #[arg(long, env = "ARBITER_SEAT_GRACE_SECS", default_value_t = 120)]
    seat_grace_secs: u64,
    /// Let `create` fix a room's RNG seed (reproducible rooms for tests and demos; never in
    /// production: knowing the seed of a card game means knowing the deck).
    #[arg(long, env = "ARBITER_ALLOW_SEEDED_ROOMS")]
    allow_seeded_rooms: bool,
    /// A web origin allowed to use the server from a browser (repeat, or comma-separate;
    /// `*` for any). Unset: any origin may connect and no CORS headers are sent.
    #[arg(
        long = "allow-origin",
        env = "ARBITER_ALLOW_ORIGIN",
        value_delimiter = ','
    )]
    allow_origin: Vec<String>,
    /// Run as a cluster node: the Redis that carries leases, the node registry and the bus
    /// (`redis://host:port`). Needs a PostgreSQL `--database-url` shared by every node.
    #[arg(long, env = "ARBITER_REDIS")]
    redis: Option<String>,
    /// Prefix of this cluster's Redis keys and channels (clusters may share one Redis).
    #[arg(long, env = "ARBITER_REDIS_PREFIX", default_value = "arbiter")]
    redis_prefix: String,
    /// Milliseconds a room lease (and a node's registration) lasts without renewal; a dead
    /// node's rooms move within about this long plus two sweeps (a third of it each).
    #[arg(long, env = "ARBITER_LEASE_MS", default_value_t = 3000)]
    lease_ms: u64,
    /// This node's id in the cluster (random when unset).
    #[arg(long, env = "ARBITER_NODE_ID")]
    node_id: Option<String>,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "ARBITER_LOG", default_value = "info")]
    log: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log))
                .init();
            runtime().and_then(|rt| rt.block_on(serve(*args)).map_err(|e| e.to_string()))
        }
        Command::Bench(args) => runtime().and_then(|rt| rt.block_on(arbiter_bench::run(args))),
        Command::NewGame(args) => new_game(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arbiter: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))
}

fn new_game(args: &NewGameArgs) -> Result<(), String> {
    let registered = arbiter_games::registry();
    let written =
        arbiter_server::new_game(&args.root, &args.name, |n| registered.info(n).is_some())
            .map_err(|e| format!("new-game: {e}"))?;
    for path in written {
        println!("wrote {}", args.root.join(path).display());
    }
    println!("{}", arbiter_server::next_steps(&args.name));
    Ok(())
}

async fn serve(args: ServeArgs) -> std::io::Result<()> {
    std::fs::create_dir_all(&args.data_dir)?;
    let signer = match &args.secret {
        Some(secret) if secret.len() >= 16 => Signer::new(secret),
        Some(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--secret must be at least 16 characters",
            ));
        }
        None => Signer::load_or_create(&args.data_dir)?,
    };
    let mut settings = Settings {
        max_frame: args.max_frame,
        queue: arbiter_server::QueueLimits {
            frames: args.outbox_frames.max(1),
            bytes: args.outbox_bytes.max(1024),
        },
        heartbeat_timeout: Duration::from_secs(args.heartbeat_timeout_secs.max(1)),
        heartbeat_interval: Duration::from_secs(args.heartbeat_timeout_secs.max(4) / 4),
        ..Settings::default()
    };
    settings.rooms.max_rooms = args.max_rooms;
    settings.allowed_origins = args.allow_origin.clone();
    settings.rooms.allow_seeded_rooms = args.allow_seeded_rooms;
    settings.rooms.seat_grace = Duration::from_secs(args.seat_grace_secs);
    settings.rooms.lifetimes = arbiter_engine::RoomLifetimes {
        empty: Duration::from_secs(args.room_empty_secs),
        abandoned: Duration::from_secs(args.room_idle_secs),
    };
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", args.data_dir.join("arbiter.db").display()));
    if let Some(redis) = &args.redis {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "cluster mode (--redis) needs a PostgreSQL database shared by every node: \
                 --database-url postgres://…",
            ));
        }
        if args.lease_ms < 300 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "--lease-ms must be at least 300",
            ));
        }
        settings.cluster = Some(arbiter_server::ClusterConfig {
            redis_url: redis.clone(),
            prefix: args.redis_prefix.clone(),
            lease: Duration::from_millis(args.lease_ms),
            node_id: args.node_id.clone(),
        });
    }
    let persistence = if url == "memory" {
        None
    } else {
        let store = SqlStore::open(&url).await.map_err(std::io::Error::other)?;
        Some(Persistence {
            store: Arc::new(store),
            durability: if args.durability == "relaxed" {
                Durability::Relaxed
            } else {
                Durability::Strict
            },
            snapshot_every: args.snapshot_every.max(1),
        })
    };
    let mut running = arbiter_server::start_with(
        args.listen,
        arbiter_games::registry(),
        settings,
        signer,
        persistence,
    )
    .await?;
    println!("Arbiter is listening on http://{}/", running.addr());
    tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            running.stop().await
        }
        result = running.wait() => result,
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
