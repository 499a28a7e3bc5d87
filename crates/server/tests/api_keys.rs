//! API keys over real HTTP (docs/external-games.md#api-keys): made by the admin API and by
//! `arbiter keys`, refused without their scope, refused at once when revoked (on every node),
//! working through a rotation's grace period and not after it, each with its own rate limit.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_server::{Settings, Signer, SqlStore};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use support::{Clock, PgDatabase, request, server_with, within};

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

/// A call with the admin token.
async fn admin(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    request(addr, method, path, &[("Authorization", &auth)], body).await
}

/// A call with API key `key`.
async fn keyed(
    addr: SocketAddr,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    request(addr, method, path, &[("x-api-key", key)], body).await
}

/// A new key made through the admin API: the key and its id.
async fn new_key(addr: SocketAddr, spec: Value) -> (String, String) {
    let (status, body) = admin(addr, "POST", "/api/v1/admin/keys", Some(&spec)).await;
    assert_eq!(status, 201, "{body}");
    let key = body["key"].as_str().unwrap().to_owned();
    let id = body["record"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("arbk.") && key.contains(&id), "{key}");
    (key, id)
}

async fn server() -> arbiter_server::Running {
    server_with(arbiter_games::registry(), admin_settings()).await
}

#[tokio::test]
async fn a_key_without_the_scope_is_refused() {
    let srv = server().await;
    let addr = srv.addr();
    let (reader, reader_id) = new_key(
        addr,
        json!({"name": "quiz reader", "scopes": ["game:read"]}),
    )
    .await;

    let (status, me) = keyed(addr, &reader, "GET", "/api/v2/key", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["id"].as_str(), &me["scopes"]),
        (Some(reader_id.as_str()), &json!(["game:read"]))
    );

    // The key routes need `admin`: a game key is refused and nothing is made.
    let spec = json!({"name": "sneaky", "scopes": ["admin"]});
    let (status, body) = keyed(addr, &reader, "POST", "/api/v1/admin/keys", Some(&spec)).await;
    assert_eq!((status, code_of(&body)), (403, "FORBIDDEN_SCOPE"), "{body}");
    assert_eq!(body["error"]["details"]["scope"], "admin");
    let (_, listed) = admin(addr, "GET", "/api/v1/admin/keys", None).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "{listed}");

    // An admin key may manage keys.
    let (root, _) = new_key(addr, json!({"name": "ops", "scopes": ["admin"]})).await;
    let (status, made) = keyed(addr, &root, "POST", "/api/v1/admin/keys", Some(&spec)).await;
    assert_eq!(status, 201, "{made}");

    // Listings show records, never a key or its hash.
    let (_, listed) = admin(addr, "GET", "/api/v1/admin/keys", None).await;
    let text = listed.to_string();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 3, "{listed}");
    assert!(!text.contains(&reader) && !text.contains("hash"), "{text}");

    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_missing_malformed_or_wrong_key_is_refused_with_its_own_code() {
    let srv = server().await;
    let addr = srv.addr();
    let (key, id) = new_key(addr, json!({"name": "quiz", "scopes": ["game:read"]})).await;

    let (status, body) = request(addr, "GET", "/api/v2/key", &[], None).await;
    assert_eq!(
        (status, code_of(&body)),
        (401, "API_KEY_REQUIRED"),
        "{body}"
    );
    let forged = format!("arbk.{id}.{}", "A".repeat(43));
    let tampered = format!("{key}x");
    for bad in [
        "nonsense",
        "arbk.k_0000000000000000.secret",
        &forged,
        &tampered,
    ] {
        let (status, body) = keyed(addr, bad, "GET", "/api/v2/key", None).await;
        assert_eq!(
            (status, code_of(&body)),
            (401, "INVALID_API_KEY"),
            "{bad}: {body}"
        );
    }

    // Bad requests for keys are named and make nothing.
    for spec in [
        json!({"name": "", "scopes": ["game:read"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["game:delete"]}),
        json!({"name": "x", "scopes": ["game:read"], "rate": "fast"}),
        json!({"name": "x", "scopes": ["game:read"], "game": "../etc"}),
    ] {
        let (status, body) = admin(addr, "POST", "/api/v1/admin/keys", Some(&spec)).await;
        assert_eq!(
            (status, code_of(&body)),
            (400, "INVALID_FIELD"),
            "{spec}: {body}"
        );
    }
    let (status, body) = admin(addr, "POST", "/api/v1/admin/keys", Some(&json!([1]))).await;
    assert_eq!((status, code_of(&body)), (400, "BAD_MESSAGE"), "{body}");
    let (status, body) = request(addr, "GET", "/api/v1/admin/keys", &[], None).await;
    assert_eq!(
        (status, code_of(&body)),
        (401, "NOT_AUTHENTICATED"),
        "{body}"
    );
    let (_, listed) = admin(addr, "GET", "/api/v1/admin/keys", None).await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1, "{listed}");

    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    let srv = server().await;
    let addr = srv.addr();
    let (key, id) = new_key(addr, json!({"name": "quiz", "scopes": ["game:read"]})).await;
    let (other, _) = new_key(addr, json!({"name": "other", "scopes": ["game:read"]})).await;
    assert_eq!(keyed(addr, &key, "GET", "/api/v2/key", None).await.0, 200);

    let path = format!("/api/v1/admin/keys/{id}/revoke");
    let (status, record) = admin(addr, "POST", &path, None).await;
    assert_eq!(status, 200, "{record}");
    assert!(record["revoked_ms"].is_u64(), "{record}");

    let (status, body) = keyed(addr, &key, "GET", "/api/v2/key", None).await;
    assert_eq!((status, code_of(&body)), (401, "API_KEY_REVOKED"), "{body}");
    assert_eq!(keyed(addr, &other, "GET", "/api/v2/key", None).await.0, 200);
    // A revoked key cannot be rotated back to life.
    let path = format!("/api/v1/admin/keys/{id}/rotate");
    let (status, body) = admin(addr, "POST", &path, None).await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");
    let (status, body) = admin(addr, "POST", "/api/v1/admin/keys/k_nope/revoke", None).await;
    assert_eq!((status, code_of(&body)), (404, "NOT_FOUND"), "{body}");

    srv.stop().await.unwrap();
}

/// Two nodes share one PostgreSQL database: a key revoked through one is refused by the other
/// on its very next request (nothing caches keys).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_node_is_refused_by_another_at_once_on_postgres() {
    let db = PgDatabase::create("arbiter_keys").await;
    let node = || async {
        let store = SqlStore::open(&db.url).await.unwrap();
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
    };
    let (a, b) = (node().await, node().await);
    let (key, id) = new_key(a.addr(), json!({"name": "quiz", "scopes": ["game:read"]})).await;
    let (status, me) = keyed(b.addr(), &key, "GET", "/api/v2/key", None).await;
    assert_eq!(
        (status, me["id"].as_str()),
        (200, Some(id.as_str())),
        "{me}"
    );

    let path = format!("/api/v1/admin/keys/{id}/revoke");
    assert_eq!(admin(a.addr(), "POST", &path, None).await.0, 200);
    let (status, body) = keyed(b.addr(), &key, "GET", "/api/v2/key", None).await;
    assert_eq!((status, code_of(&body)), (401, "API_KEY_REVOKED"), "{body}");

    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn a_rotated_key_works_in_its_grace_period_and_not_after() {
    let srv = server().await;
    let addr = srv.addr();
    let clock = Clock::freeze();
    let spec = json!({"name": "quiz", "scopes": ["game:write"], "game": "quiz"});
    let (old, old_id) = within("a key", new_key(addr, spec)).await;

    let path = format!("/api/v1/admin/keys/{old_id}/rotate");
    let grace = json!({"grace_ms": 60_000});
    let (status, rotated) = within("the rotation", admin(addr, "POST", &path, Some(&grace))).await;
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["key"].as_str().unwrap().to_owned();
    let new_id = rotated["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(rotated["record"]["rotated_from"], old_id.as_str());
    assert_eq!(rotated["previous"]["replaced_by"], new_id.as_str());
    // The successor keeps what the key could do.
    assert_eq!(rotated["record"]["scopes"], json!(["game:write"]));
    assert_eq!(rotated["record"]["game"], "quiz");

    let whoami = |key: String| async move {
        within("an answer", keyed(addr, &key, "GET", "/api/v2/key", None)).await
    };
    tokio::time::advance(Duration::from_millis(59_000)).await;
    assert_eq!(whoami(old.clone()).await.0, 200, "inside the grace period");
    assert_eq!(whoami(new.clone()).await.0, 200);
    tokio::time::advance(Duration::from_millis(1_000)).await;
    let (status, body) = whoami(old.clone()).await;
    assert_eq!((status, code_of(&body)), (401, "API_KEY_EXPIRED"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rotated")
    );
    assert_eq!(whoami(new.clone()).await.0, 200);
    // Rotated once, the old key cannot be rotated again.
    let (status, body) = within("a refusal", admin(addr, "POST", &path, None)).await;
    assert_eq!((status, code_of(&body)), (400, "INVALID_FIELD"), "{body}");

    // `last_used_ms` follows use, written at most once a minute.
    let show = format!("/api/v1/admin/keys/{new_id}");
    let used = || async { within("a record", admin(addr, "GET", &show, None)).await.1 };
    let first = used().await["last_used_ms"].as_u64().unwrap();
    tokio::time::advance(Duration::from_millis(30_000)).await;
    whoami(new.clone()).await;
    assert_eq!(used().await["last_used_ms"].as_u64(), Some(first));
    tokio::time::advance(Duration::from_millis(31_000)).await;
    whoami(new.clone()).await;
    let later = used().await["last_used_ms"].as_u64().unwrap();
    assert!(later >= first + 61_000, "{first} → {later}");

    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn each_key_has_its_own_rate_limit() {
    let srv = server().await;
    let addr = srv.addr();
    let clock = Clock::freeze();
    let slow = json!({"name": "slow", "scopes": ["game:read"], "rate": "2/1m"});
    let (slow, _) = within("a key", new_key(addr, slow)).await;
    let fast = json!({"name": "fast", "scopes": ["game:read"]});
    let (fast, _) = within("a key", new_key(addr, fast)).await;
    let call = |key: String| async move {
        within("an answer", keyed(addr, &key, "GET", "/api/v2/key", None)).await
    };

    assert_eq!(call(slow.clone()).await.0, 200);
    assert_eq!(call(slow.clone()).await.0, 200);
    let (status, body) = call(slow.clone()).await;
    assert_eq!((status, code_of(&body)), (429, "RATE_LIMITED"), "{body}");
    let wait = body["error"]["details"]["retry_after_ms"].as_u64().unwrap();
    assert!((1..=30_000).contains(&wait), "{wait}");
    assert_eq!(
        call(fast.clone()).await.0,
        200,
        "another key has its own bucket"
    );

    tokio::time::advance(Duration::from_millis(wait)).await;
    assert_eq!(call(slow.clone()).await.0, 200);

    clock.thaw();
    srv.stop().await.unwrap();
}

/// `arbiter keys` writes the server's database: a key it makes works on a server over that
/// database, and one it revokes is refused at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_command_makes_lists_rotates_and_revokes_keys_in_the_database() {
    let dir = std::env::temp_dir().join(format!("arbiter-keys-{}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let arbiter = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("ARBITER_DATABASE_URL")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, key, said) = arbiter(&[
        "keys",
        "create",
        "--name",
        "quiz",
        "--scope",
        "game:read,game:write",
        "--expires",
        "30d",
    ]);
    assert!(ok, "{said}");
    assert!(key.starts_with("arbk.") && !key.contains(' '), "{key}");

    let store = SqlStore::open(&format!("sqlite://{}", dir.join("arbiter.db").display()))
        .await
        .unwrap();
    let srv = arbiter_server::start_full(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        admin_settings(),
        Signer::new("test-secret-test-secret-test-secret"),
        None,
        Some(store.records()),
    )
    .await
    .unwrap();
    let addr = srv.addr();
    let (status, me) = keyed(addr, &key, "GET", "/api/v2/key", None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["scopes"], json!(["game:read", "game:write"]));
    assert!(me["expires_ms"].is_u64(), "{me}");
    let id = me["id"].as_str().unwrap().to_owned();

    let (ok, listed, said) = arbiter(&["keys", "list"]);
    assert!(ok, "{said}");
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["keys"][0]["id"], id.as_str());
    assert!(!listed.to_string().contains(&key));

    let (ok, next, said) = arbiter(&["keys", "rotate", &id, "--grace", "0s"]);
    assert!(ok, "{said}");
    let (status, body) = keyed(addr, &key, "GET", "/api/v2/key", None).await;
    assert_eq!((status, code_of(&body)), (401, "API_KEY_EXPIRED"), "{body}");
    let (status, me) = keyed(addr, &next, "GET", "/api/v2/key", None).await;
    assert_eq!(
        (status, me["rotated_from"].as_str()),
        (200, Some(id.as_str()))
    );

    let next_id = me["id"].as_str().unwrap().to_owned();
    let (ok, _, said) = arbiter(&["keys", "revoke", &next_id]);
    assert!(ok, "{said}");
    let (status, body) = keyed(addr, &next, "GET", "/api/v2/key", None).await;
    assert_eq!((status, code_of(&body)), (401, "API_KEY_REVOKED"), "{body}");

    let (ok, _, said) = arbiter(&["keys", "create", "--name", "x", "--scope", "game:sing"]);
    assert!(!ok && said.contains("unknown scope"), "{said}");
    let (ok, _, said) = arbiter(&["keys", "revoke", "k_0000000000000000"]);
    assert!(!ok && said.contains("no API key"), "{said}");

    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
