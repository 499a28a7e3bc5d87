//! The one HTTP error: every refused request (REST, long-poll, WebSocket handshake, origin
//! check) answers `{"error": {"code": …, "message": …}}` (and `details`, when there are any)
//! through [`AppError`], and the
//! mapping from codes to statuses lives here and nowhere else.

use arbiter_protocol::ErrorCode;
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A refused HTTP request, in the same codes the WebSocket protocol uses.
#[derive(Debug)]
pub(crate) struct AppError {
    code: ErrorCode,
    message: String,
    /// Machine-readable specifics, as `details` of a WebSocket `error` (e.g. `reason`).
    details: Option<Value>,
}

impl AppError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The HTTP status that carries `code`.
    fn status(code: ErrorCode) -> StatusCode {
        match code {
            ErrorCode::RoomNotFound
            | ErrorCode::UnknownGame
            | ErrorCode::SessionNotFound
            | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::BadToken
            | ErrorCode::NotAuthenticated
            | ErrorCode::ApiKeyRequired
            | ErrorCode::InvalidApiKey
            | ErrorCode::ApiKeyRevoked
            | ErrorCode::ApiKeyExpired => StatusCode::UNAUTHORIZED,
            ErrorCode::ForbiddenOrigin | ErrorCode::Forbidden | ErrorCode::ForbiddenScope => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::Unsupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::RoomClosed => StatusCode::GONE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::IdempotencyInProgress | ErrorCode::VersionConflict => StatusCode::CONFLICT,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let body = json!({ "error": error });
        (Self::status(self.code), Json(body)).into_response()
    }
}

/// axum's `Query`, refused with the structured `INVALID_FIELD` body rather than plain text.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(params)) => Ok(Self(params)),
            Err(e) => Err(AppError::new(ErrorCode::InvalidField, e.body_text())),
        }
    }
}

/// axum's `Path`, refused (e.g. a segment that is not UTF-8 once decoded) with the structured
/// `INVALID_FIELD` body rather than plain text.
pub(crate) struct Segment<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Segment<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(segment)) => Ok(Self(segment)),
            Err(e) => Err(AppError::new(ErrorCode::InvalidField, e.body_text())),
        }
    }
}

/// A JSON request body, refused with the structured `BAD_MESSAGE` body rather than plain
/// text. An empty body reads as `{}` (for requests whose fields are all optional).
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, AppError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::new(ErrorCode::BadMessage, e.body_text()))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(Self)
            .map_err(|e| AppError::new(ErrorCode::BadMessage, format!("bad request body: {e}")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    #[tokio::test]
    async fn the_body_keeps_the_documented_shape() {
        let res = AppError::new(ErrorCode::ForbiddenOrigin, "no").into_response();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body = to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(
            &body[..],
            br#"{"error":{"code":"FORBIDDEN_ORIGIN","message":"no"}}"#
        );
    }
}
