//! The SQL store on both databases: what it reads back is what was appended, a past state's
//! nearest snapshot is found by version, and fencing tokens and live codes are enforced.

#![allow(clippy::unwrap_used)]

use arbiter_engine::protocol::{ChatLine, PlayerId, PlayerInfo};
use arbiter_engine::{
    Archive, CHAT_KEPT, ChatChange, EntryKind, LogEntry, Snapshot, Store, StoreError, StoredRoom,
};
use arbiter_server::SqlStore;
use serde_json::{Value, json};

fn entry(v: u64) -> LogEntry {
    LogEntry {
        v,
        at_ms: 1_000 + v,
        kind: EntryKind::Act {
            player: PlayerId("p_a".into()),
            seq: v,
            instance: None,
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

fn stored(id: &str, code: &str) -> StoredRoom {
    StoredRoom {
        id: id.into(),
        code: code.into(),
        game: "counter".into(),
        config: Value::Null,
        seed: 7,
        created_ms: 1_000,
        public: true,
        max_players: 4,
        max_spectators: 4,
        seat_grace_ms: 1_000,
        key: None,
        creator: None,
        lock: None,
        lang: None,
        tags: Vec::new(),
    }
}

async fn snapshots_are_found_by_version(store: &SqlStore) {
    let room = format!("r_store_{}", std::process::id());
    store.create(stored(&room, "BCDFG")).await.unwrap();
    // Ten entries in three commits, snapshots after 4 and 8.
    for (range, snap) in [(1..=4, Some(4)), (5..=8, Some(8)), (9..=10, None)] {
        let entries: Vec<LogEntry> = range.map(entry).collect();
        store
            .append(&room, 0, entries, Vec::new(), snap.map(snapshot))
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

/// A takeover raises the room's token; the old owner's appends and archive are refused and
/// change nothing, also when they share a group commit with another room's good write.
async fn an_old_fencing_token_cannot_write(store: &SqlStore) {
    let (a, b) = ("r_fence_a", "r_fence_b");
    store.create(stored(a, "FFFFF")).await.unwrap();
    store.create(stored(b, "GGGGG")).await.unwrap();
    store
        .append(a, 0, vec![entry(1)], Vec::new(), None)
        .await
        .unwrap();
    assert_eq!(store.claim(a).await.unwrap(), Some(1));
    let (stale, fresh) = tokio::join!(
        store.append(a, 0, vec![entry(2)], Vec::new(), None),
        store.append(b, 0, vec![entry(1)], Vec::new(), None),
    );
    assert_eq!(stale, Err(StoreError::Fenced));
    assert_eq!(fresh, Ok(()));
    assert_eq!(store.log(a, 0, 10).await.unwrap(), vec![entry(1)]);
    assert_eq!(
        store.archive(a, 0, Archive::Idle, 5).await,
        Err(StoreError::Fenced)
    );
    assert_eq!(
        store
            .active()
            .await
            .unwrap()
            .iter()
            .filter(|r| *r == a)
            .count(),
        1
    );
    // The new owner writes on from where the room was.
    store
        .append(a, 1, vec![entry(2)], Vec::new(), None)
        .await
        .unwrap();
    assert_eq!(store.claim(a).await.unwrap(), Some(2));
    assert_eq!(
        store.append(a, 1, vec![entry(3)], Vec::new(), None).await,
        Err(StoreError::Fenced)
    );
    assert_eq!(store.log(a, 0, 10).await.unwrap(), vec![entry(1), entry(2)]);
    assert_eq!(store.claim("r_nobody").await.unwrap(), None);
}

/// Codes are unique among live rooms (whichever node creates them); an archived room's code
/// is free again.
async fn live_codes_are_unique(store: &SqlStore) {
    store.create(stored("r_code_a", "HHHHH")).await.unwrap();
    assert_eq!(
        store.create(stored("r_code_b", "HHHHH")).await,
        Err(StoreError::Conflict)
    );
    assert_eq!(store.load("r_code_b").await.unwrap(), None);
    assert_eq!(
        store.find_code("HHHHH").await.unwrap().as_deref(),
        Some("r_code_a")
    );
    store
        .archive("r_code_a", 0, Archive::Idle, 9)
        .await
        .unwrap();
    assert_eq!(store.find_code("HHHHH").await.unwrap(), None);
    assert_eq!(store.claim("r_code_a").await.unwrap(), None);
    store.create(stored("r_code_b", "HHHHH")).await.unwrap();
    assert_eq!(
        store.find_code("HHHHH").await.unwrap().as_deref(),
        Some("r_code_b")
    );
}

/// Appends from many rooms at once share group commits, whose fence checks and log inserts
/// run a few hundred rows a statement: more rooms and entries than one statement holds, one
/// of them fenced, all stored exactly.
async fn many_rooms_appending_at_once_are_all_stored(store: &SqlStore) {
    let rooms: Vec<String> = (0..300).map(|i| format!("r_many_{i:03}")).collect();
    let codes = |i: usize| {
        // Five letters from the code alphabet, distinct per room.
        let letters = b"BCDFGHJKLMNPQRSTVWXZ";
        (0..5)
            .map(|d| letters[(i / 20usize.pow(d)) % 20] as char)
            .collect::<String>()
    };
    for (i, room) in rooms.iter().enumerate() {
        store.create(stored(room, &codes(i))).await.unwrap();
    }
    let fenced = &rooms[150];
    assert_eq!(store.claim(fenced).await.unwrap(), Some(1));
    let appends = rooms
        .iter()
        .map(|room| store.append(room, 0, vec![entry(1), entry(2)], Vec::new(), None));
    let outcomes = futures_util::future::join_all(appends).await;
    for (room, outcome) in rooms.iter().zip(outcomes) {
        if room == fenced {
            assert_eq!(outcome, Err(StoreError::Fenced));
            assert!(store.log(room, 0, 10).await.unwrap().is_empty());
        } else {
            assert_eq!(outcome, Ok(()), "{room}");
            assert_eq!(
                store.log(room, 0, 10).await.unwrap(),
                vec![entry(1), entry(2)]
            );
        }
    }
}

fn line(id: u64) -> ChatLine {
    ChatLine {
        id,
        from: Some(PlayerInfo {
            id: PlayerId("p_a".into()),
            name: "Ada".into(),
        }),
        text: format!("message {id}"),
        at: 2_000 + id,
        event: None,
    }
}

/// Chat is stored with the room: a load returns the newest `CHAT_KEPT` messages not deleted,
/// the highest id ever given (a deleted newest message included) and who is muted; an old
/// fencing token cannot write it; a reused id is refused without failing the others' commit.
async fn chat_is_kept_with_the_room(store: &SqlStore) {
    let room = "r_chat_a";
    store.create(stored(room, "CHCHC")).await.unwrap();
    let loaded = store.load(room).await.unwrap().unwrap();
    assert_eq!(
        (loaded.chat.lines.len(), loaded.chat.last_id),
        (0, 0),
        "a new room has no chat"
    );
    let said = |ids: std::ops::RangeInclusive<u64>| ChatChange {
        said: ids.map(line).collect(),
        ..ChatChange::default()
    };
    store.chat(room, 0, said(1..=150)).await.unwrap();
    store.chat(room, 0, said(151..=260)).await.unwrap();
    let mutes = ChatChange {
        deleted: vec![259, 260],
        muted: Some(vec![PlayerId("p_b".into())]),
        ..ChatChange::default()
    };
    store.chat(room, 0, mutes).await.unwrap();
    let chat = store.load(room).await.unwrap().unwrap().chat;
    let ids: Vec<u64> = chat.lines.iter().map(|l| l.id).collect();
    let want = (259 - CHAT_KEPT as u64)..=258;
    assert_eq!(ids, want.collect::<Vec<_>>());
    assert_eq!(chat.lines.last(), Some(&line(258)));
    assert_eq!(chat.last_id, 260);
    assert_eq!(chat.muted, vec![PlayerId("p_b".into())]);

    assert_eq!(store.claim(room).await.unwrap(), Some(1));
    let (stale, reused, fresh) = tokio::join!(
        store.chat(room, 0, said(261..=261)),
        store.chat(room, 1, said(10..=10)),
        store.chat(room, 1, said(261..=261)),
    );
    assert_eq!(stale, Err(StoreError::Fenced));
    assert_eq!(reused, Err(StoreError::Conflict));
    assert_eq!(fresh, Ok(()));
    let unmuted = ChatChange {
        muted: Some(Vec::new()),
        ..ChatChange::default()
    };
    store.chat(room, 1, unmuted).await.unwrap();
    let chat = store.load(room).await.unwrap().unwrap().chat;
    assert_eq!((chat.last_id, chat.muted.len()), (261, 0));
    assert_eq!(chat.lines.last(), Some(&line(261)));
    assert_eq!(
        chat.lines.iter().find(|l| l.id == 10),
        None,
        "too old to be kept"
    );
}

/// The Go game server's sessions: kept until they expire, taken once, a newer one replacing
/// an older one.
async fn legacy_sessions_are_taken_once_until_they_expire(store: &SqlStore) {
    // An hour from now: a keep sweeps what expired by the wall clock, which these are not.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    store.keep_legacy("p_a", "first", now + 10).await.unwrap();
    store.keep_legacy("p_a", "second", now + 20).await.unwrap();
    store.keep_legacy("p_b", "b's", now + 5).await.unwrap();
    assert_eq!(
        store.take_legacy("p_a", now + 20).await.unwrap(),
        Some("second".into())
    );
    assert_eq!(
        store.take_legacy("p_a", now).await.unwrap(),
        None,
        "taken once"
    );
    assert_eq!(
        store.take_legacy("p_b", now + 6).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_legacy("p_b", now).await.unwrap(),
        None,
        "and gone"
    );
    assert_eq!(store.take_legacy("p_nobody", now).await.unwrap(), None);
}

async fn every_store_test(url: &str) {
    let store = SqlStore::open(url).await.unwrap();
    snapshots_are_found_by_version(&store).await;
    an_old_fencing_token_cannot_write(&store).await;
    many_rooms_appending_at_once_are_all_stored(&store).await;
    live_codes_are_unique(&store).await;
    chat_is_kept_with_the_room(&store).await;
    legacy_sessions_are_taken_once_until_they_expire(&store).await;
}

#[tokio::test]
async fn sqlite() {
    let dir = std::env::temp_dir().join(format!("arbiter-store-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    every_store_test(&format!("sqlite://{}", dir.join("a.db").display())).await;
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
    every_store_test(&format!("{base}/{db}")).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
