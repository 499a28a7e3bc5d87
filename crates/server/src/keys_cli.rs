//! `arbiter keys …`: make, list, revoke and rotate API keys in the server's database (the one
//! `serve` would use with the same options). A running server sees the change on the key's
//! next use: nothing caches keys.

use crate::SqlStore;
use crate::admin_keys::DEFAULT_GRACE_MS;
use crate::api_keys::{KeyRefusal, KeySpec, successor};
use crate::auth::now_ms;
use crate::config::ServeArgs;
use crate::records::{Records, Rotated};

/// The `keys` subcommands.
#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Make a key and print it (on stdout, alone): it is shown this once, only its hash is
    /// kept.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// What it may do: game:read, game:write, admin (repeat, or separate with commas).
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Limit it to one external game (its id).
        #[arg(long)]
        game: Option<String>,
        /// Lifetime, e.g. `90d`, `12h`; it does not expire without one.
        #[arg(long)]
        expires: Option<String>,
        /// Its rate limit, `N/PERIOD` (default 600/1m).
        #[arg(long)]
        rate: Option<String>,
        /// Where the server keeps its database.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Print every key's record as JSON (never a key or its hash).
    List {
        /// Where the server keeps its database.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Revoke a key: refused from its next use on, on every node.
    Revoke {
        /// The key's id (`k_…`).
        id: String,
        /// Where the server keeps its database.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
    /// Replace a key by a new one (printed on stdout, alone); the old one keeps working for
    /// the grace period.
    Rotate {
        /// The key's id (`k_…`).
        id: String,
        /// How long the old key keeps working, e.g. `24h` (the default), `0s`.
        #[arg(long)]
        grace: Option<String>,
        /// Where the server keeps its database.
        #[command(flatten)]
        serve: Box<ServeArgs>,
    },
}

/// Run one `keys` command.
pub async fn run_keys(command: KeysCommand) -> Result<(), String> {
    match command {
        KeysCommand::Create {
            name,
            scopes,
            game,
            expires,
            rate,
            serve,
        } => {
            let spec = KeySpec {
                name,
                scopes,
                game,
                expires_in_ms: expires.as_deref().map(span_ms).transpose()?,
                rate,
            };
            let minted = spec.mint(now_ms())?;
            open(&serve)
                .await?
                .insert_key(&minted.record)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", minted.key);
            eprintln!(
                "API key {} ({}) created; keep the key above now: it is shown only this once",
                minted.record.id, minted.record.name
            );
            Ok(())
        }
        KeysCommand::List { serve } => {
            let keys = open(&serve)
                .await?
                .keys()
                .await
                .map_err(|e| e.to_string())?;
            let json = serde_json::json!({ "keys": keys });
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            Ok(())
        }
        KeysCommand::Revoke { id, serve } => {
            let revoked = open(&serve)
                .await?
                .revoke(&id, now_ms())
                .await
                .map_err(|e| e.to_string())?;
            match revoked {
                Some(_) => {
                    eprintln!("API key {id} revoked");
                    Ok(())
                }
                None => Err(format!("no API key {id:?}")),
            }
        }
        KeysCommand::Rotate { id, grace, serve } => {
            let grace = grace.as_deref().map(span_ms).transpose()?;
            let records = open(&serve).await?;
            let now = now_ms();
            let old = records
                .key(&id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no API key {id:?}"))?;
            if old.usable(now) == Err(KeyRefusal::Expired) {
                return Err(format!("{id} has expired; make a new key instead"));
            }
            let minted = successor(&old, now);
            let grace_end = now.saturating_add(grace.unwrap_or(DEFAULT_GRACE_MS));
            match records
                .rotate(&id, &minted.record, grace_end)
                .await
                .map_err(|e| e.to_string())?
            {
                Rotated::Done(_) => {
                    println!("{}", minted.key);
                    eprintln!(
                        "API key {} replaces {id}, which keeps working until {grace_end} \
                         (ms since the epoch); keep the key above now: it is shown only this once",
                        minted.record.id
                    );
                    Ok(())
                }
                Rotated::Missing => Err(format!("no API key {id:?}")),
                Rotated::Refused(old) => Err(match old.replaced_by {
                    Some(next) => format!("{id} was rotated already; rotate its successor {next}"),
                    None => format!("{id} is revoked; make a new key instead"),
                }),
            }
        }
    }
}

/// The records in the database `serve`'s options name.
async fn open(serve: &ServeArgs) -> Result<Records, String> {
    let config = serve.resolve().map_err(|e| e.to_string())?;
    let url = config.database_url();
    if url == "memory" {
        return Err(
            "the database is `memory`: a running server keeps its keys in memory; use \
             its admin API (POST /api/v1/admin/keys) instead"
                .to_owned(),
        );
    }
    if url.starts_with("sqlite://") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    }
    let store = SqlStore::open(&url).await.map_err(|e| e.to_string())?;
    Ok(store.records())
}

/// A span such as `90d`, `12h`, `30m`, `45s`, in ms.
fn span_ms(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a span: write e.g. 90d, 12h, 30m or 45s");
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::span_ms;

    #[test]
    fn spans_read_with_their_unit() {
        assert_eq!(span_ms("90d"), Ok(90 * 86_400_000));
        assert_eq!(span_ms("12h"), Ok(12 * 3_600_000));
        assert_eq!(span_ms("0s"), Ok(0));
        for bad in ["", "12", "h", "1.5h", "3w", "-1d"] {
            assert!(span_ms(bad).is_err(), "{bad}");
        }
    }
}
