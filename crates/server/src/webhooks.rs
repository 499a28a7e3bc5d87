//! Webhooks (docs/external-games.md#webhooks): an API key registers endpoints for its games'
//! party and session events; each event becomes a delivery, signed with HMAC-SHA256 over
//! `"<timestamp>.<body>"`, retried with exponential backoff and jitter until it is answered
//! 2xx (or after [`MAX_ATTEMPTS`]), and kept in a delivery log. Deliveries of one webhook
//! about one party leave in the order of their events: one waits while an older is pending.
//!
//! One task per node sends them, on tokio's clock (paused time in tests moves it).

use crate::api_auth::{Keyed, Reads, Writes, require_game};
use crate::app::App;
use crate::error::{AppError, JsonBody, Segment};
use crate::external::unavailable;
use crate::records::{Delivery, Records, Webhook};
use arbiter_protocol::ErrorCode;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, header};
use hmac::{Hmac, Mac};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The events a webhook may ask for.
pub(crate) const EVENTS: [&str; 8] = [
    "party.selected",
    "party.deselected",
    "party.member_joined",
    "party.member_left",
    "session.started",
    "player.status",
    "session.ended",
    "session.returned",
];

/// Attempts before a delivery is given up (`failed`).
pub(crate) const MAX_ATTEMPTS: u64 = 8;

/// The wait after the first failed attempt; it doubles with each further one.
const FIRST_BACKOFF_MS: u64 = 1_000;

/// The longest wait between attempts (before jitter).
const MAX_BACKOFF_MS: u64 = 300_000;

/// The header carrying `t=<ms>,v1=<hex HMAC-SHA256(secret, "<ms>.<body>")>`.
pub(crate) const SIGNATURE: &str = "x-arbiter-signature";

/// The wait before attempt `attempts + 1`, after `attempts` failed ones: 1 s, 2 s, 4 s… (at
/// most 5 minutes) plus up to half as much again at random, so endpoints that failed
/// together are not retried together.
pub(crate) fn backoff_ms(attempts: u64) -> u64 {
    let base = FIRST_BACKOFF_MS
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    base + rand::rng().random_range(0..=base / 2)
}

/// The signature header's value for `body` sent at `at_ms`.
pub(crate) fn sign(secret: &str, at_ms: u64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{at_ms}.{body}").as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={at_ms},v1={hex}")
}

/// `http://host[:port]/path` as an address and a path.
fn target(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() || host.contains('@') {
        return None;
    }
    let addr = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Some((addr, path.to_owned()))
}

/// What `POST /api/v2/webhooks` carries.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HookBody {
    url: String,
    /// Default: every event.
    #[serde(default)]
    events: Option<Vec<String>>,
    /// Only this game's events.
    #[serde(default)]
    game: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidField, message).with_details(json!({ "field": field }))
}

async fn records(app: &App) -> Result<&Records, AppError> {
    app.records()
        .await
        .map_err(|e| AppError::new(e.code, e.message))
}

/// `POST /api/v2/webhooks` `{"url", "events"?, "game"?}` (`game:write`, idempotent): a new
/// endpoint; the answer holds its signing `secret`, shown this once. A key limited to one
/// game gets that game's events only.
pub(crate) async fn register(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    JsonBody(body): JsonBody<HookBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    if target(&body.url).is_none()
        || body.url.len() > 2048
        || body
            .url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "url",
            "`url` is an http:// address (host, port, path) of at most 2048 bytes",
        ));
    }
    let events = body
        .events
        .unwrap_or_else(|| EVENTS.iter().map(|e| (*e).to_owned()).collect());
    if events.is_empty() || events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return Err(invalid(
            "events",
            format!("`events` names at least one of {}", EVENTS.join(", ")),
        ));
    }
    if let Some(game) = &body.game {
        require_game(&key, game)?;
    }
    // The thread's generator is not `Send`: drawn from before any await.
    let (id, secret): (u64, [u8; 32]) = {
        let mut rng = rand::rng();
        (rng.random(), rng.random())
    };
    let hook = Webhook {
        id: format!("wh_{id:016x}"),
        api_key: key.id.clone(),
        game: body.game.or_else(|| key.game.clone()),
        url: body.url,
        secret: format!(
            "whsec_{}",
            secret
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        events,
        created_ms: app.clock_ms(),
    };
    records(&app)
        .await?
        .add_webhook(&hook)
        .await
        .map_err(unavailable)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "webhook": hook, "secret": hook.secret })),
    ))
}

/// `GET /api/v2/webhooks` (`game:read`): the calling key's webhooks (without secrets).
pub(crate) async fn list(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
) -> Result<Json<Value>, AppError> {
    let hooks: Vec<Webhook> = records(&app)
        .await?
        .webhooks()
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|h| h.api_key == key.id)
        .collect();
    Ok(Json(json!({ "webhooks": hooks })))
}

/// `GET /api/v2/webhooks/{id}/deliveries` (`game:read`, the key that registered it): the
/// delivery log, newest first (at most 200): each event with its attempts, its last answer
/// and its status.
pub(crate) async fn deliveries(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
    Segment(id): Segment<String>,
) -> Result<Json<Value>, AppError> {
    let records = records(&app).await?;
    let hooks = records.webhooks().await.map_err(unavailable)?;
    if !hooks.iter().any(|h| h.id == id && h.api_key == key.id) {
        return Err(AppError::new(
            ErrorCode::NotFound,
            format!("no webhook {id:?} of this API key"),
        ));
    }
    let log = records.deliveries(&id, 200).await.map_err(unavailable)?;
    Ok(Json(json!({ "deliveries": log })))
}

impl App {
    /// Queue `event` about `party` (of external game `game`) for every webhook that wants
    /// it, and wake the sender. A failure is logged: the event's own request succeeded.
    pub(crate) async fn emit(&self, game: &str, party: &str, event: &str, data: Value) {
        let queued = async {
            let records = self.records().await.map_err(|e| e.message)?;
            let hooks = records.webhooks().await.map_err(|e| e.to_string())?;
            let now = self.clock_ms();
            for hook in hooks.iter().filter(|h| {
                h.events.iter().any(|e| e == event) && h.game.as_deref().is_none_or(|g| g == game)
            }) {
                let id = format!("dl_{:016x}", rand::rng().random::<u64>());
                let body = json!({
                    "id": id, "event": event, "game": game, "party": party, "at_ms": now,
                    "data": data,
                })
                .to_string();
                records
                    .enqueue(&id, &hook.id, party, event, &body, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        };
        if let Err(e) = queued.await {
            tracing::warn!(%event, %party, error = %e, "a webhook event was not queued");
        }
        self.webhook_wake().notify_one();
    }

    /// Send every delivery that is due and first in its (webhook, party) queue; the time the
    /// next one is due, if any is pending.
    async fn deliver_due(&self) -> Result<Option<u64>, String> {
        let records = self.records().await.map_err(|e| e.message)?;
        let pending = records.pending().await.map_err(|e| e.to_string())?;
        if pending.is_empty() {
            return Ok(None);
        }
        let hooks: HashMap<String, Webhook> = records
            .webhooks()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        let mut heads = HashSet::new();
        let mut next: Option<u64> = None;
        let mut soonest = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
        for delivery in pending {
            if !heads.insert((delivery.webhook.clone(), delivery.party.clone())) {
                continue;
            }
            let now = self.clock_ms();
            if delivery.next_at_ms > now {
                soonest(delivery.next_at_ms);
                continue;
            }
            let answer = match hooks.get(&delivery.webhook) {
                Some(hook) => send(hook, &delivery, now).await,
                None => Err("the webhook is gone".to_owned()),
            };
            let now = self.clock_ms();
            let attempts = delivery.attempts + 1;
            let (status, next_at) = match &answer {
                Ok(code) if (200..300).contains(code) => ("delivered", now),
                _ if attempts >= MAX_ATTEMPTS || !hooks.contains_key(&delivery.webhook) => {
                    ("failed", now)
                }
                _ => ("pending", now + backoff_ms(attempts)),
            };
            records
                .attempted(delivery.seq, status, next_at, answer, now)
                .await
                .map_err(|e| e.to_string())?;
            // Done with this one: the next in its queue may go at once.
            soonest(next_at);
        }
        Ok(next)
    }
}

/// One attempt: the endpoint's HTTP status, or why there was none.
async fn send(hook: &Webhook, delivery: &Delivery, now_ms: u64) -> Result<u16, String> {
    let (addr, path) = target(&hook.url).ok_or_else(|| "the URL is not http://".to_owned())?;
    let headers = [
        (
            header::HeaderName::from_static(SIGNATURE),
            sign(&hook.secret, now_ms, &delivery.body),
        ),
        (
            header::HeaderName::from_static("x-arbiter-event"),
            delivery.event.clone(),
        ),
        (
            header::HeaderName::from_static("x-arbiter-delivery"),
            delivery.id.clone(),
        ),
    ];
    let body = Bytes::from(delivery.body.clone());
    crate::http_client::call(&addr, Method::POST, &path, &headers, body)
        .await
        .map(|(status, _)| status.as_u16())
        .map_err(|e| e.to_string())
}

/// The sender: deliver what is due, then sleep until the next is due or an event arrives;
/// ends with the server.
pub(crate) async fn dispatch(app: std::sync::Weak<crate::app::Inner>) {
    let Some(first) = App::upgrade(&app) else {
        return;
    };
    let wake = first.webhook_wake().clone();
    let mut stop = first.shutdown_signal();
    drop(first);
    loop {
        let Some(live) = App::upgrade(&app) else {
            return;
        };
        // Nothing can be queued before the records are open.
        let due = if live.records_opened() {
            live.deliver_due().await
        } else {
            Ok(None)
        };
        let next = match due {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliveries could not be read or sent");
                Some(live.clock_ms() + FIRST_BACKOFF_MS)
            }
        };
        let now = live.clock_ms();
        drop(live);
        let wait = next.map(|at| Duration::from_millis(at.saturating_sub(now)));
        tokio::select! {
            () = wake.notified() => {}
            () = async {
                match wait {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            } => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempts in 1..=12u64 {
            let base = (1_000u64 << (attempts - 1)).min(300_000);
            let wait = backoff_ms(attempts);
            assert!(
                (base..=base + base / 2).contains(&wait),
                "{attempts}: {wait}"
            );
        }
    }

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = sign("whsec_1", 1_000, "{}");
        assert!(
            a.starts_with("t=1000,v1=") && a.len() == "t=1000,v1=".len() + 64,
            "{a}"
        );
        assert_ne!(a, sign("whsec_1", 1_001, "{}"));
        assert_ne!(a, sign("whsec_1", 1_000, "{ }"));
        assert_ne!(a, sign("whsec_2", 1_000, "{}"));
    }

    #[test]
    fn only_plain_http_urls_are_targets() {
        assert_eq!(
            target("http://127.0.0.1:9000/hooks?x=1"),
            Some(("127.0.0.1:9000".into(), "/hooks?x=1".into()))
        );
        assert_eq!(
            target("http://example.invalid"),
            Some(("example.invalid:80".into(), "/".into()))
        );
        for bad in ["https://x/", "ftp://x/", "http:///x", "http://user@x/"] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }
}
