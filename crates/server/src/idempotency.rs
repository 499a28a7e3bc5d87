//! `Idempotency-Key` for the mutating routes of the external-game API: the first request with
//! a key is applied and its answer kept (a day, by API key and idempotency key); a retry gets
//! that answer again, marked `idempotent-replayed: true`, and changes nothing. The same key
//! for a different request (method, path or body) is refused with `IDEMPOTENCY_CONFLICT`
//! (422); a retry that arrives while the first is still being applied gets
//! `IDEMPOTENCY_IN_PROGRESS` (409) and may try again. An answer of the server's failure
//! (5xx) is not kept: the retry applies the request.
//!
//! The middleware checks the API key itself (before reading the body) and hands the key on
//! to the handler's [`Keyed`](crate::api_auth::Keyed) in the request's extensions.

use crate::app::App;
use crate::error::AppError;
use arbiter_protocol::ErrorCode;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The request header.
pub(crate) const HEADER: &str = "idempotency-key";

/// The answer header of a replayed answer.
pub(crate) const REPLAYED: &str = "idempotent-replayed";

/// How long an answer is kept: a retry later than this is a new request.
pub(crate) const RETENTION_MS: u64 = 24 * 3_600_000;

/// A claim not answered within this long belongs to a request that died with its node.
const ABANDON_MS: u64 = 60_000;

/// Longest idempotency key.
const KEY_MAX: usize = 255;

/// Largest request body a mutating route reads, and largest answer kept.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// The middleware.
pub(crate) async fn idempotent(State(app): State<App>, req: Request, next: Next) -> Response {
    match apply_once(&app, req, next).await {
        Ok(res) => res,
        Err(e) => e.into_response(),
    }
}

async fn apply_once(app: &App, req: Request, next: Next) -> Result<Response, AppError> {
    let key = app.api_caller(req.headers()).await?;
    let idem = req
        .headers()
        .get(HEADER)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::IdempotencyKeyRequired,
                "this call changes something: send an Idempotency-Key header (a fresh random \
                 string per operation, the same one when retrying it)",
            )
        })?
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= KEY_MAX && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidField,
                format!("Idempotency-Key is 1–{KEY_MAX} visible ASCII characters"),
            )
        })?
        .to_owned();
    let (mut parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY).await.map_err(|_| {
        AppError::new(
            ErrorCode::BadMessage,
            format!("the request body is larger than {MAX_BODY} bytes or cut short"),
        )
    })?;
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let fingerprint = fingerprint(parts.method.as_str(), target, &body);
    let records = app
        .records()
        .await
        .map_err(|e| AppError::new(e.code, e.message))?;
    let now = app.clock_ms();
    app.sweep_idempotency_if_due(now).await;
    let failed = |e: arbiter_engine::StoreError| {
        AppError::new(
            ErrorCode::Unavailable,
            format!("the Idempotency-Key cannot be checked: {e}"),
        )
    };
    let claim = records
        .claim(&key.id, &idem, &fingerprint, now, RETENTION_MS, ABANDON_MS)
        .await
        .map_err(failed)?;
    match claim {
        crate::records::Claim::Fresh => {}
        crate::records::Claim::Replay(status, body) => {
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = res.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(REPLAYED, HeaderValue::from_static("true"));
            return Ok(res);
        }
        crate::records::Claim::Conflict => {
            return Err(AppError::new(
                ErrorCode::IdempotencyConflict,
                "this Idempotency-Key was used for a different request; use a fresh key for a \
                 new operation",
            ));
        }
        crate::records::Claim::InProgress => {
            return Err(AppError::new(
                ErrorCode::IdempotencyInProgress,
                "the request with this Idempotency-Key is still being applied; retry shortly",
            ));
        }
    }
    parts.extensions.insert(key.clone());
    let res = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = res.into_parts();
    let answer = match to_bytes(body, MAX_BODY).await {
        Ok(answer) => answer,
        Err(e) => {
            let _ = records.release(&key.id, &idem).await;
            return Err(AppError::new(
                ErrorCode::Internal,
                format!("the answer could not be read: {e}"),
            ));
        }
    };
    let kept = if parts.status.is_server_error() {
        records.release(&key.id, &idem).await
    } else {
        let text = String::from_utf8_lossy(&answer);
        records
            .answered(&key.id, &idem, parts.status.as_u16(), &text)
            .await
    };
    if let Err(e) = kept {
        // Applied, but its answer is not kept: a retry within a minute is told "in progress",
        // after that it applies again. Logged, for the operator to see.
        tracing::error!(key = %key.id, idempotency_key = %idem, error = %e,
            "the answer to an idempotent request was not kept");
    }
    Ok(Response::from_parts(parts, Body::from(answer)))
}

/// SHA-256 of what makes a request the same request.
fn fingerprint(method: &str, target: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(target.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl App {
    /// Forget answers past the retention window, at most once a minute per node.
    async fn sweep_idempotency_if_due(&self, now_ms: u64) {
        if !self.idempotency_sweep_due(now_ms) {
            return;
        }
        if let Ok(records) = self.records().await
            && let Err(e) = records
                .sweep_idempotency(now_ms.saturating_sub(RETENTION_MS))
                .await
        {
            tracing::warn!(error = %e, "cannot sweep old idempotency answers");
        }
    }
}
