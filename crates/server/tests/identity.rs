//! Identity over real sockets: guest tokens across key rotation, and JWTs from an operator's
//! sign-in (HS256 with a shared secret, EdDSA with a JWKS file or a JWKS URL on loopback).
//! Times are set by the tokens' own `issued`/`exp` and the keys' creation times, never waited
//! for.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ServerMsg};
use arbiter_server::{JwtSettings, KeyPolicy, Running, Settings, Signer, now_ms};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Raw, request};

const DAY_MS: u64 = 24 * 3600 * 1000;
const HS_SECRET: &str = "jwt-shared-secret-jwt-shared-secret!";
const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "arbiter";

/// Test-only Ed25519 key pairs (`openssl genpkey -algorithm ed25519`): the PKCS#8 private
/// key, and the public key as a JWK's `x`.
const KEY_A: (&str, &str) = (
    "MC4CAQAwBQYDK2VwBCIEIC5T6YV1XZDhhiDZwvwDrkULkGNcNRiWa9p946rcb8dV",
    "biqdCIYJPlmAh52wF8nTIgwIu0emPT0i0mGlz2UN6Cs",
);
const KEY_B: (&str, &str) = (
    "MC4CAQAwBQYDK2VwBCIEIMJhivvrJj2igB1LzB25CvDeGQl4IdhHy1+F19K/4DSy",
    "rh9mALukuQwuFeo0G4n2GBF1N6s4Gd5M9KQ4T16ZisQ",
);

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arbiter-identity-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn serve(settings: Settings, signer: Signer) -> Running {
    arbiter_server::start(
        "127.0.0.1:0".parse().unwrap(),
        arbiter_games::registry(),
        settings,
        signer,
    )
    .await
    .unwrap()
}

/// Say `hello` with `token` and return the answer.
async fn hello(srv: &Running, token: &str) -> ServerMsg {
    let mut raw = Raw::connect(srv.addr()).await;
    raw.send(&ClientMsg::Hello {
        v: 1,
        token: Some(token.to_owned()),
        name: Some("Chosen".to_owned()),
        instance: None,
    })
    .await;
    raw.msg().await
}

/// The player a `welcome` names, or a panic showing what came instead.
async fn welcomed(srv: &Running, token: &str) -> (String, String, String) {
    match hello(srv, token).await {
        ServerMsg::Welcome { player, token, .. } => (player.id.to_string(), player.name, token),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// The `details.reason` of a `BAD_TOKEN` refusal.
async fn refused(srv: &Running, token: &str) -> String {
    match hello(srv, token).await {
        ServerMsg::Error {
            code,
            details,
            message,
            ..
        } => {
            assert_eq!(code.as_str(), "BAD_TOKEN", "{message}");
            let reason = details.and_then(|d| d.get("reason").cloned());
            reason.and_then(|r| r.as_str().map(str::to_owned)).unwrap()
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// docs/protocol.md: each `welcome` issues a fresh token and the older ones stay valid until
/// they expire — a new `welcome` revokes nothing, so another tab's token keeps working.
#[tokio::test]
async fn an_older_token_stays_valid_after_a_newer_welcome() {
    let srv = serve(Settings::default(), guest_signer()).await;
    let mut first = Raw::connect(srv.addr()).await;
    first
        .send(&ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some("Ada".to_owned()),
            instance: None,
        })
        .await;
    let (player, older) = match first.msg().await {
        ServerMsg::Welcome { player, token, .. } => (player.id.to_string(), token),
        other => panic!("expected welcome, got {other:?}"),
    };
    let (id, _, newer) = welcomed(&srv, &older).await;
    assert_eq!(id, player);
    let (again, _, _) = welcomed(&srv, &older).await;
    assert_eq!(again, player, "the older token still names the player");
    let (by_newer, _, _) = welcomed(&srv, &newer).await;
    assert_eq!(by_newer, player);
    srv.stop().await.unwrap();
}

fn policy(grace_days: u64) -> KeyPolicy {
    KeyPolicy {
        token_lifetime: Duration::from_millis(30 * DAY_MS),
        rotation: Duration::ZERO,
        grace: Duration::from_millis(grace_days * DAY_MS),
    }
}

#[tokio::test]
async fn a_token_of_the_previous_key_verifies_during_grace_and_not_after() {
    let dir = scratch("grace");
    let now = now_ms();
    // A key made ten days ago signs a token, and was replaced five days ago.
    let first = Signer::load_or_create(&dir, policy(0), now - 10 * DAY_MS).unwrap();
    let player = Signer::new_player_id();
    let old = first.issue(&player, now - 6 * DAY_MS);
    first.rotate(now - 5 * DAY_MS).unwrap();

    // Seven days of grace: the old key verifies for two more days.
    let lenient = Signer::load_or_create(&dir, policy(7), now).unwrap();
    let srv = serve(Settings::default(), lenient).await;
    let (id, _, fresh) = welcomed(&srv, &old).await;
    assert_eq!(id, player.to_string());
    // The fresh token is signed by the newest key and works as well; so does the old one
    // still (tokens stay valid until they expire, whatever welcome handed out since).
    assert_eq!(welcomed(&srv, &fresh).await.0, id);
    assert_eq!(welcomed(&srv, &old).await.0, id);
    srv.stop().await.unwrap();

    // Three days of grace: it stopped two days ago; the newest key's tokens still verify.
    let strict = Signer::load_or_create(&dir, policy(3), now).unwrap();
    let srv = serve(Settings::default(), strict).await;
    assert_eq!(refused(&srv, &old).await, "retired_key");
    assert_eq!(welcomed(&srv, &fresh).await.0, id);
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn forged_foreign_expired_and_malformed_guest_tokens_are_refused() {
    let secret = "guest-secret-guest-secret-guest";
    let srv = serve(Settings::default(), Signer::new(secret)).await;
    let now = now_ms();
    let player = Signer::new_player_id();
    let good = Signer::new(secret).issue(&player, now);
    assert_eq!(welcomed(&srv, &good).await.0, player.to_string());

    let forged = good.replacen(player.as_str(), "p_0000000000000000", 1);
    assert_eq!(refused(&srv, &forged).await, "signature");
    let foreign = Signer::new("another-server-another-server").issue(&player, now);
    assert_eq!(refused(&srv, &foreign).await, "signature");
    let dir = scratch("foreign");
    let rotated = Signer::load_or_create(&dir, KeyPolicy::default(), now).unwrap();
    assert_eq!(
        refused(&srv, &rotated.issue(&player, now)).await,
        "unknown_key"
    );
    let expired = Signer::new(secret).issue(&player, now - 31 * DAY_MS);
    assert_eq!(refused(&srv, &expired).await, "expired");
    assert_eq!(refused(&srv, "v2.0.p_1.x").await, "malformed");
    // No JWT source is configured: a JWT is refused as such.
    let jwt = hs256(&claims(3600), HS_SECRET);
    assert_eq!(refused(&srv, &jwt).await, "unsupported");

    // Tokens of the first format stay valid under the same secret.
    let body = format!("v1.{player}.{now}");
    let mac = hmac_sha256(secret.as_bytes(), body.as_bytes());
    let v1 = format!("{body}.{}", URL_SAFE_NO_PAD.encode(mac));
    assert_eq!(welcomed(&srv, &v1).await.0, player.to_string());
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// Claims of a JWT for subject `user-42`, expiring `exp_in` seconds from now (negative: in
/// the past).
fn claims(exp_in: i64) -> Value {
    json!({
        "sub": "user-42",
        "name": "Ada",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now_secs().saturating_add_signed(exp_in),
    })
}

fn hs256(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

fn eddsa(claims: &Value, (private, _): (&str, &str), kid: &str) -> String {
    let key = EncodingKey::from_ed_der(&STANDARD.decode(private).unwrap());
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn jwks(keys: &[(&str, (&str, &str))]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(kid, (_, x))| json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}))
        .collect();
    json!({ "keys": keys }).to_string()
}

/// The documented player id of a JWT identity.
fn external_id(issuer: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("{issuer}\n{subject}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("u_{hex}")
}

fn jwt_settings(jwt: JwtSettings) -> Settings {
    Settings {
        jwt: Some(JwtSettings {
            issuer: Some(ISSUER.to_owned()),
            audience: Some(AUDIENCE.to_owned()),
            ..jwt
        }),
        ..Settings::default()
    }
}

fn guest_signer() -> Signer {
    Signer::new("test-secret-test-secret-test-secret")
}

#[tokio::test]
async fn hs256_jwts_are_verified_with_the_shared_secret() {
    let srv = serve(
        jwt_settings(JwtSettings {
            hs256_secret: Some(HS_SECRET.to_owned()),
            ..JwtSettings::default()
        }),
        guest_signer(),
    )
    .await;
    let (id, name, token) = welcomed(&srv, &hs256(&claims(3600), HS_SECRET)).await;
    assert_eq!(id, external_id(ISSUER, "user-42"));
    assert_eq!(name, "Ada", "the sign-in's name wins over hello's");
    // The welcome token is a guest token for the same player.
    assert_eq!(welcomed(&srv, &token).await.0, id);

    assert_eq!(
        refused(&srv, &hs256(&claims(-3600), HS_SECRET)).await,
        "expired"
    );
    let mut other = claims(3600);
    other["aud"] = json!("someone-else");
    assert_eq!(refused(&srv, &hs256(&other, HS_SECRET)).await, "audience");
    let mut other = claims(3600);
    other["iss"] = json!("https://evil.test");
    assert_eq!(refused(&srv, &hs256(&other, HS_SECRET)).await, "issuer");
    let mut other = claims(3600);
    other.as_object_mut().unwrap().remove("aud");
    assert_eq!(refused(&srv, &hs256(&other, HS_SECRET)).await, "claim");
    let wrong_key = hs256(&claims(3600), "not-the-secret-not-the-secret-not!");
    assert_eq!(refused(&srv, &wrong_key).await, "signature");

    // `alg: none`, unsigned.
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(3600).to_string());
    assert_eq!(refused(&srv, &format!("{head}.{body}.")).await, "algorithm");
    // No public keys here: an EdDSA token is refused for its algorithm.
    let ed = eddsa(&claims(3600), KEY_A, "a");
    assert_eq!(refused(&srv, &ed).await, "algorithm");

    // A REST bearer JWT is verified the same way.
    let bearer = format!("Bearer {}", hs256(&claims(-3600), HS_SECRET));
    let (status, body) = request(
        srv.addr(),
        "GET",
        "/api/v1/rooms/r_0/state",
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "BAD_TOKEN");
    assert_eq!(body["error"]["details"]["reason"], "expired");
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn eddsa_jwts_are_verified_with_a_jwks_file_and_algorithms_are_pinned() {
    let dir = scratch("jwks-file");
    let file = dir.join("jwks.json");
    std::fs::write(&file, jwks(&[("a", KEY_A)])).unwrap();
    let srv = serve(
        jwt_settings(JwtSettings {
            jwks_file: Some(file),
            ..JwtSettings::default()
        }),
        guest_signer(),
    )
    .await;
    let (id, _, _) = welcomed(&srv, &eddsa(&claims(3600), KEY_A, "a")).await;
    assert_eq!(id, external_id(ISSUER, "user-42"));

    assert_eq!(
        refused(&srv, &eddsa(&claims(-3600), KEY_A, "a")).await,
        "expired"
    );
    // Key B's signature under key A's id; key B under its own id, which the file lacks.
    assert_eq!(
        refused(&srv, &eddsa(&claims(3600), KEY_B, "a")).await,
        "signature"
    );
    assert_eq!(
        refused(&srv, &eddsa(&claims(3600), KEY_B, "b")).await,
        "unknown_key"
    );

    // Algorithm confusion: HS256 "signed" with the public key, as raw bytes or as the JWK.
    let public = URL_SAFE_NO_PAD.decode(KEY_A.1).unwrap();
    let key = EncodingKey::from_secret(&public).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("a".to_owned());
    let confused = jsonwebtoken::encode(&header, &claims(3600), &key).unwrap();
    assert_eq!(refused(&srv, &confused).await, "algorithm");
    let confused = hs256(&claims(3600), KEY_A.1);
    assert_eq!(refused(&srv, &confused).await, "algorithm");
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_jwks_url_on_loopback_is_fetched_and_refreshed_for_a_new_key() {
    use axum::routing::get;
    let served = Arc::new(Mutex::new(jwks(&[("a", KEY_A)])));
    let fetches = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new().route(
        "/jwks.json",
        get({
            let (served, fetches) = (served.clone(), fetches.clone());
            move || async move {
                *fetches.lock().unwrap() += 1;
                served.lock().unwrap().clone()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let keys = tokio::spawn(async move { axum::serve(listener, app).await });

    let srv = serve(
        jwt_settings(JwtSettings {
            jwks_url: Some(url),
            jwks_refresh: Duration::ZERO,
            ..JwtSettings::default()
        }),
        guest_signer(),
    )
    .await;
    let (id, _, _) = welcomed(&srv, &eddsa(&claims(3600), KEY_A, "a")).await;
    assert_eq!(id, external_id(ISSUER, "user-42"));
    welcomed(&srv, &eddsa(&claims(3600), KEY_A, "a")).await;
    assert_eq!(
        *fetches.lock().unwrap(),
        1,
        "a known key is served from the cache"
    );

    // The operator adds key B: a token naming it makes the server fetch again.
    *served.lock().unwrap() = jwks(&[("a", KEY_A), ("b", KEY_B)]);
    let (id_b, _, _) = welcomed(&srv, &eddsa(&claims(3600), KEY_B, "b")).await;
    assert_eq!(id_b, id);
    assert_eq!(*fetches.lock().unwrap(), 2);
    assert_eq!(
        refused(&srv, &eddsa(&claims(3600), KEY_B, "c")).await,
        "unknown_key"
    );
    srv.stop().await.unwrap();
    keys.abort();
}

#[test]
fn signing_keys_rotate_adds_a_private_key_that_signs_while_the_old_one_verifies() {
    let dir = scratch("keys-rotate");
    let now = now_ms();
    let before = Signer::load_or_create(&dir, policy(30), now - DAY_MS).unwrap();
    let player = Signer::new_player_id();
    let old = before.issue(&player, now - DAY_MS);

    signing_keys_rotate(&dir);
    let files: Vec<_> = std::fs::read_dir(dir.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    #[cfg(unix)]
    for file in &files {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }

    let after = Signer::load_or_create(&dir, policy(30), now).unwrap();
    assert_ne!(
        after.issue(&player, now).split('.').nth(1),
        old.split('.').nth(1),
        "the new key signs"
    );
    assert_eq!(after.verify(&old, now), Ok(player));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_key_rotated_from_the_command_line_signs_after_the_running_server_reloads() {
    const ADMIN: &str = "admin-token-admin-token";
    let dir = scratch("rotate-running");
    let signer = Signer::load_or_create(&dir, policy(30), now_ms()).unwrap();
    let settings = || Settings {
        admin_token: Some(ADMIN.to_owned()),
        ..Settings::default()
    };
    let srv = serve(settings(), signer).await;
    srv.set_reloader(Box::new(move || Ok(settings())));
    let kid = |token: &str| token.split('.').nth(1).unwrap().to_owned();
    let mut first = Raw::connect(srv.addr()).await;
    first
        .send(&ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some("Ada".into()),
            instance: None,
        })
        .await;
    let (player, old) = match first.msg().await {
        ServerMsg::Welcome { player, token, .. } => (player.id.to_string(), token),
        other => panic!("expected welcome, got {other:?}"),
    };

    signing_keys_rotate(&dir);
    // Until the reload the server signs with the key it started with.
    assert_eq!(kid(&welcomed(&srv, &old).await.2), kid(&old));

    let auth = format!("Bearer {ADMIN}");
    let (status, body) = request(
        srv.addr(),
        "POST",
        "/api/v1/admin/reload",
        &[("Authorization", auth.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (again, _, fresh) = welcomed(&srv, &old).await;
    assert_eq!(again, player, "the old key still verifies");
    assert_ne!(kid(&fresh), kid(&old), "the new key signs");
    assert_eq!(welcomed(&srv, &fresh).await.0, player);
    srv.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Run `arbiter signing-keys rotate` on data directory `dir`.
fn signing_keys_rotate(dir: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_arbiter"))
        .args([
            "signing-keys",
            "rotate",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .env_remove("ARBITER_SECRET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}
