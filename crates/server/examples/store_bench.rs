//! Durable appends per second through the `Store`, with group commit.
//!
//! `cargo run --release -p arbiter-server --example store_bench -- URL ROOMS SECONDS`
//!
//! ROOMS tasks (one per room, like room actors) each append one log entry at a time and
//! wait for it to be committed, for SECONDS seconds. Prints entries/s and the commit latency
//! each append waited for (what strict durability adds to an ack).

use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{EntryKind, LogEntry, Store, StoredRoom};
use arbiter_server::SqlStore;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "sqlite:///tmp/arbiter-store-bench.db".into());
    let rooms: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5);
    let store = Arc::new(SqlStore::open(&url).await?);
    let run = format!("{:x}", std::process::id());
    for r in 0..rooms {
        store
            .create(StoredRoom {
                id: format!("bench_{run}_{r}"),
                code: format!("B{r}"),
                game: "counter".into(),
                config: json!(null),
                seed: r as u64,
                created_ms: 0,
                public: false,
                max_players: 4,
                max_spectators: 0,
                seat_grace_ms: 0,
                key: None,
                creator: None,
                lock: None,
                lang: None,
                tags: Vec::new(),
            })
            .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for r in 0..rooms {
        let store = store.clone();
        let room = format!("bench_{run}_{r}");
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut v = 0u64;
            while Instant::now() < deadline {
                v += 1;
                let entry = LogEntry {
                    v,
                    at_ms: v,
                    kind: EntryKind::Act {
                        player: PlayerId("p_bench".into()),
                        seq: v,
                        instance: None,
                        action: json!({"type": "add", "n": 1}),
                    },
                };
                let t = Instant::now();
                if store
                    .append(&room, 0, vec![entry], Vec::new(), None)
                    .await
                    .is_err()
                {
                    break;
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{url}: {rooms} rooms, {seconds} s: {} durable appends, {:.0}/s; commit wait p50 {:?} p99 {:?} max {:?}",
        all.len(),
        all.len() as f64 / seconds as f64,
        pct(0.50),
        pct(0.99),
        all.last().copied().unwrap_or_default()
    );
    Ok(())
}
