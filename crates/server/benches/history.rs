//! `/state?v=N` on a live room with 100,000 entries, for N near its creation, in its middle
//! and near its present: the answer must cost the same wherever N lies (issue 17). The room
//! is stored in SQLite (relaxed durability, a snapshot every 100 versions, the defaults'
//! interval) and queried over HTTP on loopback, as a replay viewer would.
//!
//! `cargo bench -p arbiter-server --bench history`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_engine::{Durability, Persistence};
use arbiter_server::{Limits, Settings, Signer, SqlStore};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ENTRIES: u64 = 100_000;
/// Actions sent before their acks are awaited.
const IN_FLIGHT: u64 = 500;

async fn get(addr: SocketAddr, path: &str) -> Value {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body = if head.to_ascii_lowercase().contains("chunked") {
        body.split("\r\n").nth(1).unwrap_or("")
    } else {
        body
    };
    serde_json::from_str(body).unwrap()
}

fn history(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("arbiter-history-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (srv, room, _client) = rt.block_on(async {
        let store = SqlStore::open(&format!("sqlite://{}", dir.join("arbiter.db").display()))
            .await
            .unwrap();
        let persistence = Persistence {
            store: Arc::new(store),
            durability: Durability::Relaxed,
            snapshot_every: 100,
        };
        let settings = Settings {
            limits: Limits::default().without_rates(),
            ..Settings::default()
        };
        let srv = arbiter_server::start_with(
            "127.0.0.1:0".parse().unwrap(),
            arbiter_games::registry(),
            settings,
            Signer::new("history-bench-secret-0123456789"),
            Some(persistence),
        )
        .await
        .unwrap();
        let url = format!("ws://{}/ws", srv.addr());
        let (ada, _events) = Client::connect(&url, Hello::named("Ada")).await.unwrap();
        let room = ada
            .create(CreateRoom::new("counter"))
            .await
            .unwrap()
            .room
            .id;
        // The acks tell the version; the join made version 1.
        let mut v = 1;
        while v < ENTRIES {
            let n = IN_FLIGHT.min(ENTRIES - v);
            let acks = (0..n).map(|_| ada.act(&room, json!({"type": "add", "n": 1})));
            v = futures_util::future::try_join_all(acks)
                .await
                .unwrap()
                .into_iter()
                .max()
                .unwrap();
        }
        (srv, room, (ada, _events))
    });
    let addr = srv.addr();
    let mut group = c.benchmark_group("state_at_v_of_100k_entries");
    group.measurement_time(Duration::from_secs(5));
    for v in [1, 150, ENTRIES / 2, ENTRIES - 150, ENTRIES - 1] {
        let path = format!("/api/v1/rooms/{room}/state?v={v}");
        // Once, outside the measurement: the answer is the state at v.
        let got = rt.block_on(get(addr, &path));
        assert_eq!(got["v"], json!(v), "{got}");
        group.bench_with_input(BenchmarkId::from_parameter(v), &path, |b, path| {
            b.iter(|| rt.block_on(get(addr, path)));
        });
    }
    group.finish();
    rt.block_on(srv.stop()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, history);
criterion_main!(benches);
