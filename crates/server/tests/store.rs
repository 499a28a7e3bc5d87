//! The SQL store on both databases: what it reads back is what was appended, and a past
//! state's nearest snapshot is found by version.

#![allow(clippy::unwrap_used)]

use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{EntryKind, LogEntry, Snapshot, Store, StoredRoom};
use arbiter_server::SqlStore;
use serde_json::{Value, json};

fn entry(v: u64) -> LogEntry {
    LogEntry {
        v,
        at_ms: 1_000 + v,
        kind: EntryKind::Act {
            player: PlayerId("p_a".into()),
            seq: v,
            action: json!({"type": "add", "n": v}),
        },
    }
}

fn snapshot(v: u64) -> Snapshot {
    Snapshot {
        v,
        hash: v * 31,
        state: json!({ "at": v }),
    }
}

async fn snapshots_are_found_by_version(url: &str) {
    let store = SqlStore::open(url).await.unwrap();
    let room = format!("r_store_{}", std::process::id());
    store
        .create(StoredRoom {
            id: room.clone(),
            code: "BCDFG".into(),
            game: "counter".into(),
            config: Value::Null,
            seed: 7,
            created_ms: 1_000,
            public: true,
            max_players: 4,
            max_spectators: 4,
            seat_grace_ms: 1_000,
        })
        .await
        .unwrap();
    // Ten entries in three commits, snapshots after 4 and 8.
    for (range, snap) in [(1..=4, Some(4)), (5..=8, Some(8)), (9..=10, None)] {
        let entries: Vec<LogEntry> = range.map(entry).collect();
        store
            .append(&room, entries, Vec::new(), snap.map(snapshot))
            .await
            .unwrap();
    }
    let at = |v| {
        let store = &store;
        let room = &room;
        async move { store.snapshot_at(room, v).await.unwrap().map(|s| s.v) }
    };
    assert_eq!(at(0).await, None);
    assert_eq!(at(3).await, None);
    assert_eq!(at(4).await, Some(4));
    assert_eq!(at(7).await, Some(4));
    assert_eq!(at(8).await, Some(8));
    assert_eq!(at(u64::MAX).await, Some(8));
    assert_eq!(
        store.snapshot_at(&room, 5).await.unwrap(),
        Some(snapshot(4))
    );
    assert_eq!(store.snapshot_at("r_nobody", 5).await.unwrap(), None);
    assert_eq!(
        store.log(&room, 4, 3).await.unwrap(),
        vec![entry(5), entry(6), entry(7)]
    );
    // A bound from a client beyond every stored version reads nothing, not everything.
    assert!(store.log(&room, u64::MAX, 10).await.unwrap().is_empty());
    let loaded = store.load(&room).await.unwrap().unwrap();
    assert_eq!(loaded.snapshots, vec![snapshot(4), snapshot(8)]);
    assert_eq!(loaded.log, (5..=10).map(entry).collect::<Vec<_>>());
}

#[tokio::test]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("arbiter-store-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    snapshots_are_found_by_version(&format!("sqlite://{}", dir.join("a.db").display())).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn postgres() {
    use sqlx::Connection;
    let admin_url = std::env::var("ARBITER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("arbiter_store_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("the local PostgreSQL server (127.0.0.1:5432) must be running");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    snapshots_are_found_by_version(&format!("{base}/{db}")).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
