//! The `arbiter` command.

use arbiter_engine::Persistence;
use arbiter_server::config::{self, Config, LogFormat, ServeArgs};
use arbiter_server::{KeyPolicy, Signer, SqlStore, now_ms};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
    /// Check or document the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Load-test a server over real sockets and report latencies and throughput.
    Bench(arbiter_bench::BenchArgs),
    /// Scaffold a new game: its module, tests that pass, a rules page and its registration.
    NewGame(NewGameArgs),
    /// Operate a running server through its admin API (needs its `--admin-token`).
    Admin(arbiter_server::AdminArgs),
    /// Manage API keys for server-to-server calls (the external-game API).
    #[command(subcommand)]
    Keys(arbiter_server::KeysCommand),
    /// Manage the keys that sign guest tokens.
    #[command(subcommand)]
    SigningKeys(SigningKeysCommand),
}

#[derive(Subcommand)]
enum SigningKeysCommand {
    /// Generate a new signing key into the data directory now (a running server signs with it
    /// from its next reload — SIGHUP or `arbiter admin reload` — or start; the key before it
    /// verifies for `key_grace_secs`).
    Rotate(Box<ServeArgs>),
}

#[derive(clap::Args)]
struct NewGameArgs {
    /// The game's name: a lowercase identifier such as `snail_race` (module and wire name).
    name: String,
    /// The root of the Arbiter workspace to write into.
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration (the file, environment and flags `serve` would read) and print
    /// it as TOML with its secrets redacted.
    Check(Box<ServeArgs>),
    /// Print every option (key, flag, environment variable, default) as a Markdown table:
    /// the one in docs/configuration.md.
    Docs,
}

fn main() -> ExitCode {
    let result = match parse().command {
        Command::Serve(args) => args
            .resolve()
            .map_err(|e| e.to_string())
            .and_then(|config| {
                init_logs(&config);
                runtime()
                    .and_then(|rt| rt.block_on(serve(config, *args)).map_err(|e| e.to_string()))
            }),
        Command::Config(ConfigCommand::Check(args)) => args
            .resolve()
            .and_then(|config| config.to_toml())
            .map(|toml| print!("{toml}"))
            .map_err(|e| e.to_string()),
        Command::Config(ConfigCommand::Docs) => {
            print!("{}", config::reference());
            Ok(())
        }
        Command::Bench(args) => runtime().and_then(|rt| rt.block_on(arbiter_bench::run(args))),
        Command::NewGame(args) => new_game(&args),
        Command::Admin(args) => {
            runtime().and_then(|rt| rt.block_on(arbiter_server::run_admin(args)))
        }
        Command::Keys(command) => {
            runtime().and_then(|rt| rt.block_on(arbiter_server::run_keys(command)))
        }
        Command::SigningKeys(SigningKeysCommand::Rotate(args)) => args
            .resolve()
            .map_err(|e| e.to_string())
            .and_then(|config| rotate_keys(&config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arbiter: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line, with each `serve` option's default shown in its help.
fn parse() -> Cli {
    let command = Cli::command()
        .mut_subcommand("serve", config::show_defaults)
        .mut_subcommand("config", |c| {
            c.mut_subcommand("check", config::show_defaults)
        });
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
}

fn init_logs(config: &Config) {
    // `validate` has parsed the filter already.
    let logs =
        tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(&config.log));
    match config.log_format {
        LogFormat::Text => logs.init(),
        // The current span's fields (room, player, request ids) on every line; its parents'
        // would repeat them.
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
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

fn rotate_keys(config: &Config) -> Result<(), String> {
    if config.secret.is_some() {
        return Err("an explicit `secret` does not rotate; change it instead".to_owned());
    }
    let rotate = || {
        std::fs::create_dir_all(&config.data_dir)?;
        // Loaded without its own rotation: this command makes exactly one key.
        let policy = KeyPolicy {
            rotation: std::time::Duration::ZERO,
            ..config.key_policy()
        };
        Signer::load_or_create(&config.data_dir, policy, now_ms())?.rotate(now_ms())
    };
    let kid = rotate().map_err(|e| format!("signing-keys rotate: {e}"))?;
    println!(
        "new signing key {kid} in {}; a running server signs with it from its next reload \
         (SIGHUP or `arbiter admin reload`) or start",
        config.data_dir.join("keys").display()
    );
    Ok(())
}

/// Run the server configured by `config`, which `args` resolved (and resolve again when an
/// operator asks for a reload: `POST /api/v1/admin/reload` or SIGHUP).
async fn serve(config: Config, args: ServeArgs) -> std::io::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let signer = match &config.secret {
        Some(secret) => Signer::new(secret).with_policy(config.key_policy()),
        None => {
            let signer = Signer::load_or_create(&config.data_dir, config.key_policy(), now_ms())?;
            tokio::spawn(signer.clone().rotate_on_schedule());
            signer
        }
    };
    let url = config.database_url();
    let (persistence, records) = if url == "memory" {
        (None, None)
    } else {
        let store = SqlStore::open(&url).await.map_err(std::io::Error::other)?;
        let records = store.records();
        let persistence = Persistence {
            store: Arc::new(store),
            durability: config.durability.into(),
            snapshot_every: config.snapshot_every.max(1),
        };
        (Some(persistence), Some(records))
    };
    let mut running = arbiter_server::start_full(
        config.listen,
        arbiter_games::registry(),
        config.settings(),
        signer,
        persistence,
        records,
    )
    .await?;
    running.set_reloader(Box::new(move || {
        args.resolve()
            .map(|config| config.settings())
            .map_err(|e| e.to_string())
    }));
    println!("Arbiter is listening on http://{}/", running.addr());
    let mut hangups = hangups();
    loop {
        tokio::select! {
            () = shutdown_signal() => {
                tracing::info!("shutting down");
                return running.stop().await;
            }
            Some(()) = hangups.recv() => match running.reload() {
                Ok(()) => tracing::info!("SIGHUP: configuration reloaded"),
                Err(e) => tracing::error!(error = %e, "SIGHUP: reload refused; nothing changed"),
            },
            result = running.wait() => return result,
        }
    }
}

/// SIGHUP, as a stream of unit messages (never one where there are no signals).
fn hangups() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    if tx.send(()).await.is_err() {
                        return;
                    }
                }
            });
        }
    }
    #[cfg(not(unix))]
    drop(tx);
    rx
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
