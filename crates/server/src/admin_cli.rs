//! `arbiter admin …`: the admin API from a terminal. Prints the server's JSON answer; exits
//! non-zero with the server's error when it refuses.

use crate::http_client;
use axum::body::Bytes;
use axum::http::{Method, header};
use serde_json::{Value, json};

/// Where the server is and how to open its admin API.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// The server's address.
    #[arg(long, env = "ARBITER_URL", default_value = "http://127.0.0.1:7878")]
    url: String,
    /// The server's admin token (its `--admin-token`).
    #[arg(long, env = "ARBITER_ADMIN_TOKEN", hide_env_values = true)]
    token: String,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// List rooms (of the whole cluster, in a cluster), public or not.
    Rooms {
        /// Only rooms of this game.
        #[arg(long)]
        game: Option<String>,
        /// Only rooms in this state: waiting, playing or finished.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a room: facts, members, whole state and its newest log entries.
    Room {
        /// Room id or code.
        room: String,
        /// How many log entries to show.
        #[arg(long, default_value_t = 20)]
        log: usize,
    },
    /// Close a room: its clients are told, it is archived.
    Close {
        /// Room id or code.
        room: String,
        /// Told to the room's clients.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Remove a member from a room.
    Kick {
        /// Room id or code.
        room: String,
        /// The member's player id.
        player: String,
    },
    /// Drain the node: no new rooms; in a cluster its rooms move to other nodes.
    Drain,
}

/// Run one admin command against the server.
pub async fn run_admin(args: AdminArgs) -> Result<(), String> {
    let addr = args
        .url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url must start with http:// (got {:?})", args.url))?
        .trim_end_matches('/')
        .to_owned();
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let (method, path, body) = match &args.command {
        AdminCommand::Rooms { game, status } => {
            let mut query = Vec::new();
            if let Some(g) = game {
                query.push(format!("game={}", encode(g)));
            }
            if let Some(s) = status {
                query.push(format!("status={}", encode(s)));
            }
            let path = if query.is_empty() {
                "/api/v1/admin/rooms".to_owned()
            } else {
                format!("/api/v1/admin/rooms?{}", query.join("&"))
            };
            (Method::GET, path, None)
        }
        AdminCommand::Room { room, log } => (
            Method::GET,
            format!("/api/v1/admin/rooms/{}?log={log}", encode(room)),
            None,
        ),
        AdminCommand::Close { room, reason } => (
            Method::POST,
            format!("/api/v1/admin/rooms/{}/close", encode(room)),
            Some(json!({ "reason": reason })),
        ),
        AdminCommand::Kick { room, player } => (
            Method::POST,
            format!("/api/v1/admin/rooms/{}/kick", encode(room)),
            Some(json!({ "player": player })),
        ),
        AdminCommand::Drain => (Method::POST, "/api/v1/admin/drain".to_owned(), None),
    };
    let headers = [(header::AUTHORIZATION, format!("Bearer {}", args.token))];
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let (status, answer) = http_client::call(&addr, method, &path, &headers, body)
        .await
        .map_err(|e| format!("cannot reach {}: {e}", args.url))?;
    let value: Value = serde_json::from_slice(&answer)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer).into_owned()));
    let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
    if status.is_success() {
        println!("{pretty}");
        Ok(())
    } else {
        Err(format!("the server refused ({status}): {pretty}"))
    }
}
