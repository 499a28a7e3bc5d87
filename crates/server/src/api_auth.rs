//! The `x-api-key` check in front of every route of the external-game API.
//!
//! Each request looks its key up in the database: a revoked key is refused from the next
//! request on, on every node, because nothing caches it. Then the key's own rate limit, then
//! the scope the route needs. `last_used_ms` is written at most once a minute per key and
//! node.

use crate::api_keys::{KeyRecord, KeyRefusal, Scope, key_id};
use crate::app::App;
use crate::error::AppError;
use crate::limits::millis;
use arbiter_protocol::ErrorCode;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::marker::PhantomData;

/// The header that carries the key.
pub(crate) const API_KEY: &str = "x-api-key";

/// The scope a route needs, as a type: `Keyed<Writes>` in a handler's arguments.
pub(crate) trait Needs: Send + Sync {
    /// `None`: any valid key.
    const SCOPE: Option<Scope>;
}

/// Any valid key.
pub(crate) struct AnyKey;
/// `game:read`.
pub(crate) struct Reads;
/// `game:write`.
pub(crate) struct Writes;

impl Needs for AnyKey {
    const SCOPE: Option<Scope> = None;
}
impl Needs for Reads {
    const SCOPE: Option<Scope> = Some(Scope::GameRead);
}
impl Needs for Writes {
    const SCOPE: Option<Scope> = Some(Scope::GameWrite);
}

/// A request whose key passed, with the scope `N` names: the key's record.
pub(crate) struct Keyed<N: Needs>(pub(crate) KeyRecord, pub(crate) PhantomData<N>);

impl<N: Needs> FromRequestParts<App> for Keyed<N> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        // Checked already by the idempotency middleware of a mutating route.
        let key = match parts.extensions.get::<KeyRecord>() {
            Some(key) => key.clone(),
            None => app.api_caller(&parts.headers).await?,
        };
        if let Some(scope) = N::SCOPE {
            require(&key, scope)?;
        }
        Ok(Self(key, PhantomData))
    }
}

/// Refuse unless `key` carries `scope`.
pub(crate) fn require(key: &KeyRecord, scope: Scope) -> Result<(), AppError> {
    if key.has(scope) {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::ForbiddenScope,
        format!("this route needs an API key with the {scope} scope"),
    )
    .with_details(serde_json::json!({ "scope": scope, "key": key.id })))
}

/// Refuse unless `key` may act for external game `game`.
pub(crate) fn require_game(key: &KeyRecord, game: &str) -> Result<(), AppError> {
    match &key.game {
        Some(own) if own != game => Err(AppError::new(
            ErrorCode::ForbiddenScope,
            format!("this API key acts for the game {own:?} only"),
        )
        .with_details(serde_json::json!({ "game": own, "key": key.id }))),
        _ => Ok(()),
    }
}

impl App {
    /// The key `headers` present, checked (known, right secret, neither revoked nor expired,
    /// within its rate limit), or the structured refusal.
    pub(crate) async fn api_caller(&self, headers: &HeaderMap) -> Result<KeyRecord, AppError> {
        let presented = headers
            .get(API_KEY)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::ApiKeyRequired,
                    "this route needs an API key in the x-api-key header",
                )
            })?
            .to_str()
            .map_err(|_| invalid())?
            .trim();
        let id = key_id(presented).ok_or_else(invalid)?;
        let records = self
            .records()
            .await
            .map_err(|e| AppError::new(e.code, e.message))?;
        let key = records
            .key(id)
            .await
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Unavailable,
                    format!("API keys cannot be read: {e}"),
                )
            })?
            .filter(|key| key.matches(presented))
            .ok_or_else(invalid)?;
        let now = self.clock_ms();
        match key.usable(now) {
            Ok(()) => {}
            Err(KeyRefusal::Revoked) => {
                return Err(AppError::new(
                    ErrorCode::ApiKeyRevoked,
                    "this API key was revoked",
                ));
            }
            Err(KeyRefusal::Expired) => {
                let message = if key.replaced_by.is_some() {
                    "this API key was rotated and its grace period is over; use its successor"
                } else {
                    "this API key has expired"
                };
                return Err(AppError::new(ErrorCode::ApiKeyExpired, message));
            }
        }
        if let Err(wait) = self.key_limiter().check(&key.id, key.rate) {
            metrics::counter!(arbiter_engine::metrics::RATE_LIMITED, "what" => "api_key")
                .increment(1);
            return Err(AppError::new(
                ErrorCode::RateLimited,
                format!("this API key's limit is {}; slow down", key.rate),
            )
            .with_details(serde_json::json!({ "retry_after_ms": millis(wait) })));
        }
        // Once a minute per key: cheap enough to wait for, and then a listing right after
        // the call shows it.
        if self.key_use_due(&key.id, now)
            && let Err(e) = records.touch(&key.id, now).await
        {
            tracing::warn!(key = %key.id, error = %e, "cannot note the API key's use");
        }
        Ok(key)
    }
}

fn invalid() -> AppError {
    AppError::new(
        ErrorCode::InvalidApiKey,
        "the x-api-key header holds no key this server issued",
    )
}
