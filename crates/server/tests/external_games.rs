//! The external-game API v2 over real HTTP with real keys (docs/external-games.md):
//! registering games, scopes per route, and `Idempotency-Key` on every mutating call, on
//! SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_server::{Running, Settings, Signer, SqlStore};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{PgDatabase, request, request_text, server_with};

const TOKEN: &str = "admin-token-for-tests-0123";

fn admin_settings() -> Settings {
    Settings {
        admin_token: Some(TOKEN.into()),
        ..Settings::default()
    }
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// A new key with `scopes` (limited to `game` if given), made through the admin API.
async fn new_key(addr: SocketAddr, scopes: &[&str], game: Option<&str>) -> String {
    let auth = format!("Bearer {TOKEN}");
    let spec = json!({"name": "test", "scopes": scopes, "game": game});
    let (status, body) = request(
        addr,
        "POST",
        "/api/v1/admin/keys",
        &[("Authorization", &auth)],
        Some(&spec),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

/// A call with API key `key` and, when given, an Idempotency-Key: the status, whether the
/// answer was a replay, and the body.
async fn call(
    addr: SocketAddr,
    key: &str,
    idem: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, bool, Value) {
    let mut headers = vec![("x-api-key", key)];
    if let Some(idem) = idem {
        headers.push(("Idempotency-Key", idem));
    }
    let (status, head, text) = request_text(addr, method, path, &headers, body).await;
    let replayed = head
        .to_ascii_lowercase()
        .contains("idempotent-replayed: true");
    (
        status,
        replayed,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn quiz(name: &str) -> Value {
    json!({
        "id": "quiz", "name": name, "url": "http://127.0.0.1:9/quiz/",
        "min_players": 2, "max_players": 8,
        "settings_schema": {"type": "object", "properties": {"rounds": {"type": "integer"}}}
    })
}

#[tokio::test]
async fn registering_a_game_needs_game_write_and_checks_every_field() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let addr = srv.addr();
    let reader = new_key(addr, &["game:read"], None).await;
    let writer = new_key(addr, &["game:write"], None).await;
    let other_game = new_key(addr, &["game:write"], Some("trivia")).await;

    let (status, _, body) = call(
        addr,
        &reader,
        Some("r1"),
        "POST",
        "/api/v2/games",
        Some(&quiz("Quiz")),
    )
    .await;
    assert_eq!((status, code_of(&body)), (403, "FORBIDDEN_SCOPE"), "{body}");
    let (status, _, body) = call(
        addr,
        &other_game,
        Some("o1"),
        "POST",
        "/api/v2/games",
        Some(&quiz("Quiz")),
    )
    .await;
    assert_eq!((status, code_of(&body)), (403, "FORBIDDEN_SCOPE"), "{body}");
    assert_eq!(body["error"]["details"]["game"], "trivia");
    let (status, _, body) = call(addr, &writer, None, "GET", "/api/v2/games", None).await;
    assert_eq!(
        (status, code_of(&body)),
        (403, "FORBIDDEN_SCOPE"),
        "a write key does not read"
    );

    for (i, (field, bad)) in [
        ("id", json!({"id": "Quiz!"})),
        ("name", json!({"name": ""})),
        ("url", json!({"url": "javascript:alert(1)"})),
        ("url", json!({"url": "http://x/a b"})),
        ("min_players", json!({"min_players": 0})),
        ("min_players", json!({"min_players": 9})),
        ("settings_schema", json!({"settings_schema": [1]})),
    ]
    .into_iter()
    .enumerate()
    {
        let mut registration = quiz("Quiz");
        for (k, v) in bad.as_object().unwrap() {
            registration[k] = v.clone();
        }
        let idem = format!("bad-{i}");
        let (status, _, body) = call(
            addr,
            &writer,
            Some(&idem),
            "POST",
            "/api/v2/games",
            Some(&registration),
        )
        .await;
        assert_eq!(
            (status, code_of(&body)),
            (400, "INVALID_FIELD"),
            "{bad}: {body}"
        );
        assert_eq!(body["error"]["details"]["field"], field, "{body}");
    }
    let unknown = json!({"id": "quiz", "name": "Quiz", "url": "http://x/", "min_players": 1, "max_players": 2, "colour": "red"});
    let (status, _, body) = call(
        addr,
        &writer,
        Some("u1"),
        "POST",
        "/api/v2/games",
        Some(&unknown),
    )
    .await;
    assert_eq!((status, code_of(&body)), (400, "BAD_MESSAGE"), "{body}");
    let (_, _, listed) = call(addr, &reader, None, "GET", "/api/v2/games", None).await;
    assert_eq!(listed, json!({"games": []}), "refusals registered nothing");

    let (status, _, game) = call(
        addr,
        &writer,
        Some("w1"),
        "POST",
        "/api/v2/games",
        Some(&quiz("Quiz")),
    )
    .await;
    assert_eq!(status, 201, "{game}");
    assert_eq!(
        (game["id"].as_str(), game["revision"].as_u64()),
        (Some("quiz"), Some(1))
    );
    let (status, _, shown) = call(addr, &reader, None, "GET", "/api/v2/games/quiz", None).await;
    assert_eq!((status, &shown), (200, &game));
    // Parties' pickers see it without a key.
    let (status, listed) = support::get(addr, "/api/v1/external-games").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        json!([{"name": "ext:quiz", "title": "Quiz", "min_players": 2, "max_players": 8}])
    );
    let (status, _, body) = call(addr, &reader, None, "GET", "/api/v2/games/nope", None).await;
    assert_eq!((status, code_of(&body)), (404, "UNKNOWN_GAME"), "{body}");

    srv.stop().await.unwrap();
}

/// Retries with one Idempotency-Key are answered again and applied once: `revision` counts
/// the registrations that were applied.
async fn a_retry_is_applied_once(addr: SocketAddr) {
    let key = new_key(addr, &["game:read", "game:write"], None).await;
    let other_key = new_key(addr, &["game:write"], None).await;
    let register = |key: String, idem: Option<&'static str>, body: Value| async move {
        call(addr, &key, idem, "POST", "/api/v2/games", Some(&body)).await
    };

    let (status, replayed, first) = register(key.clone(), Some("op-1"), quiz("Quiz")).await;
    assert_eq!(
        (status, replayed, first["revision"].as_u64()),
        (201, false, Some(1)),
        "{first}"
    );
    let (status, replayed, again) = register(key.clone(), Some("op-1"), quiz("Quiz")).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first, "the same answer, again");
    let (_, _, shown) = call(addr, &key, None, "GET", "/api/v2/games/quiz", None).await;
    assert_eq!(shown["revision"], 1, "applied once: {shown}");

    // The same key for another request is a conflict, and changes nothing.
    let (status, _, body) = register(key.clone(), Some("op-1"), quiz("Quiz II")).await;
    assert_eq!(
        (status, code_of(&body)),
        (422, "IDEMPOTENCY_CONFLICT"),
        "{body}"
    );
    let (status, _, body) = register(key.clone(), None, quiz("Quiz II")).await;
    assert_eq!(
        (status, code_of(&body)),
        (400, "IDEMPOTENCY_KEY_REQUIRED"),
        "{body}"
    );
    let (_, _, shown) = call(addr, &key, None, "GET", "/api/v2/games/quiz", None).await;
    assert_eq!(
        (shown["revision"].as_u64(), shown["name"].as_str()),
        (Some(1), Some("Quiz"))
    );

    // A fresh key is a new operation; idempotency keys are per API key.
    let (status, replayed, second) = register(key.clone(), Some("op-2"), quiz("Quiz II")).await;
    assert_eq!(
        (status, replayed, second["revision"].as_u64()),
        (200, false, Some(2)),
        "{second}"
    );
    let (status, replayed, third) = register(other_key, Some("op-1"), quiz("Quiz II")).await;
    assert_eq!(
        (status, replayed, third["revision"].as_u64()),
        (200, false, Some(3)),
        "{third}"
    );

    // A refused request's answer is kept too: its retry is refused the same way.
    let mut bad = quiz("Quiz");
    bad["max_players"] = json!(99);
    let (status, _, refused) = register(key.clone(), Some("op-3"), bad.clone()).await;
    assert_eq!((status, code_of(&refused)), (400, "INVALID_FIELD"));
    let (status, replayed, again) = register(key.clone(), Some("op-3"), bad).await;
    assert_eq!((status, replayed, &again), (400, true, &refused));
    let (status, _, body) = register(key, Some(" "), quiz("Quiz")).await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_is_applied_once() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    a_retry_is_applied_once(srv.addr()).await;
    srv.stop().await.unwrap();
}

async fn server_on(url: &str) -> Running {
    let store = SqlStore::open(url).await.unwrap();
    arbiter_server::start_full(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        admin_settings(),
        Signer::new("test-secret-test-secret-test-secret"),
        None,
        Some(store.records()),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_request_is_applied_once_on_postgres() {
    let db = PgDatabase::create("arbiter_idem").await;
    let srv = server_on(&db.url).await;
    a_retry_is_applied_once(srv.addr()).await;
    srv.stop().await.unwrap();
}

/// Duplicates sent at once: one is applied; each other one gets its answer or is told the
/// first is still being applied — never a second registration.
async fn concurrent_duplicates_apply_once(addr: SocketAddr) {
    let key = new_key(addr, &["game:read", "game:write"], None).await;
    let sends = (0..8).map(|_| {
        let key = key.clone();
        tokio::spawn(async move {
            call(
                addr,
                &key,
                Some("burst"),
                "POST",
                "/api/v2/games",
                Some(&quiz("Quiz")),
            )
            .await
        })
    });
    let mut applied = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        let (status, replayed, body) = send.await.unwrap();
        match status {
            201 => applied.push((replayed, body)),
            409 => assert_eq!(code_of(&body), "IDEMPOTENCY_IN_PROGRESS", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(
        applied.iter().filter(|(replayed, _)| !replayed).count(),
        1,
        "{applied:?}"
    );
    assert!(
        applied.iter().all(|(_, body)| body["revision"] == 1),
        "{applied:?}"
    );
    let (_, _, shown) = call(addr, &key, None, "GET", "/api/v2/games/quiz", None).await;
    assert_eq!(shown["revision"], 1, "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_do_not_both_apply_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("arbiter-idem-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let srv = server_on(&format!("sqlite://{}", dir.join("a.db").display())).await;
    concurrent_duplicates_apply_once(srv.addr()).await;
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_do_not_both_apply_on_postgres() {
    let db = PgDatabase::create("arbiter_idem_burst").await;
    let srv = server_on(&db.url).await;
    concurrent_duplicates_apply_once(srv.addr()).await;
    srv.stop().await.unwrap();
}

/// The OpenAPI document is served, and every operation it lists is one the router serves:
/// none is answered by the fallback (`no route …`) or with 405.
#[tokio::test]
async fn the_openapi_document_is_served_and_every_operation_in_it_is_routed() {
    let srv = server_with(arbiter_games::registry(), admin_settings()).await;
    let addr = srv.addr();
    let (status, doc) = request(addr, "GET", "/api/v2/openapi.json", &[], None).await;
    assert_eq!(
        (status, doc["openapi"].as_str()),
        (200, Some("3.1.0")),
        "{doc}"
    );
    let key = new_key(addr, &["admin"], None).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "x_0000000000000000")
            .replace("{player}", "p_0");
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            let idem = format!("probe-{checked}");
            let (status, _, body) = call(
                addr,
                &key,
                Some(&idem),
                &method,
                &concrete,
                Some(&json!({})),
            )
            .await;
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(
                status != 405 && !message.starts_with("no route"),
                "{method} {path}: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked > 15, "{checked}");
    srv.stop().await.unwrap();
}
