//! `/api/v1/admin/keys…`: make, list, revoke and rotate API keys over HTTP. Open to the admin
//! token (`Authorization: Bearer …`) or to an API key with the `admin` scope; `arbiter keys`
//! does the same on the database directly.

use crate::admin::authorize_operator;
use crate::api_keys::{KeyRecord, KeySpec, successor};
use crate::app::App;
use crate::error::{AppError, JsonBody, Segment};
use crate::records::Rotated;
use arbiter_protocol::ErrorCode;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

/// A rotated key's default grace period: a day.
pub(crate) const DEFAULT_GRACE_MS: u64 = 24 * 3_600_000;

fn unavailable(e: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::Unavailable,
        format!("API keys cannot be read or written: {e}"),
    )
}

async fn records(app: &App) -> Result<&crate::records::Records, AppError> {
    app.records()
        .await
        .map_err(|e| AppError::new(e.code, e.message))
}

fn no_key(id: &str) -> AppError {
    AppError::new(ErrorCode::NotFound, format!("no API key {id:?}"))
}

/// `POST /api/v1/admin/keys` `{"name", "scopes": […], "game"?, "expires_in_ms"?, "rate"?}`:
/// a new key. The answer holds the key itself (`key`) — the only time it is shown.
pub(crate) async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    JsonBody(spec): JsonBody<KeySpec>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    authorize_operator(&app, &headers).await?;
    let minted = spec
        .mint(app.clock_ms())
        .map_err(|e| AppError::new(ErrorCode::InvalidField, e))?;
    records(&app)
        .await?
        .insert_key(&minted.record)
        .await
        .map_err(unavailable)?;
    tracing::info!(key = %minted.record.id, name = %minted.record.name, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "key": minted.key, "record": minted.record })),
    ))
}

/// `GET /api/v1/admin/keys`: every key's record (never a key or its hash).
pub(crate) async fn list(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    authorize_operator(&app, &headers).await?;
    let keys = records(&app).await?.keys().await.map_err(unavailable)?;
    Ok(Json(json!({ "keys": keys })))
}

/// `GET /api/v1/admin/keys/{id}`: one key's record.
pub(crate) async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    Segment(id): Segment<String>,
) -> Result<Json<KeyRecord>, AppError> {
    authorize_operator(&app, &headers).await?;
    let key = records(&app).await?.key(&id).await.map_err(unavailable)?;
    key.map(Json).ok_or_else(|| no_key(&id))
}

/// `POST /api/v1/admin/keys/{id}/revoke`: refuse the key from now on, on every node.
pub(crate) async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Segment(id): Segment<String>,
) -> Result<Json<KeyRecord>, AppError> {
    authorize_operator(&app, &headers).await?;
    let key = records(&app)
        .await?
        .revoke(&id, app.clock_ms())
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_key(&id))?;
    tracing::info!(key = %id, "API key revoked");
    Ok(Json(key))
}

/// Options of a rotation.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RotateBody {
    /// How long the old key keeps working; default a day.
    grace_ms: Option<u64>,
}

/// `POST /api/v1/admin/keys/{id}/rotate` `{"grace_ms"?}`: a successor with the same name,
/// scopes, game, rate and expiry (its key in `key`, shown once); the old key keeps working
/// for the grace period, then is refused (`API_KEY_EXPIRED`).
pub(crate) async fn rotate(
    State(app): State<App>,
    headers: HeaderMap,
    Segment(id): Segment<String>,
    JsonBody(body): JsonBody<RotateBody>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    authorize_operator(&app, &headers).await?;
    let records = records(&app).await?;
    let now = app.clock_ms();
    let old = records
        .key(&id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_key(&id))?;
    if old.usable(now) == Err(crate::api_keys::KeyRefusal::Expired) {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("{id} has expired; make a new key instead"),
        ));
    }
    let grace = body.grace_ms.unwrap_or(DEFAULT_GRACE_MS);
    let minted = successor(&old, now);
    match records
        .rotate(&id, &minted.record, now.saturating_add(grace))
        .await
        .map_err(unavailable)?
    {
        Rotated::Done(old) => {
            tracing::info!(key = %id, successor = %minted.record.id, "API key rotated");
            Ok((
                StatusCode::CREATED,
                Json(json!({ "key": minted.key, "record": minted.record, "previous": old })),
            ))
        }
        Rotated::Missing => Err(no_key(&id)),
        Rotated::Refused(old) => Err(AppError::new(
            ErrorCode::InvalidField,
            match &old.replaced_by {
                Some(next) => format!("{id} was rotated already; rotate its successor {next}"),
                None => format!("{id} is revoked; make a new key instead"),
            },
        )),
    }
}

/// `GET /api/v2/key`: the calling key's own record (any valid key), for an external game to
/// check its key and scopes.
pub(crate) async fn whoami(
    crate::api_auth::Keyed(key, _): crate::api_auth::Keyed<crate::api_auth::AnyKey>,
) -> Json<KeyRecord> {
    Json(key)
}
