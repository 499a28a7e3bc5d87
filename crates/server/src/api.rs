//! The REST API: games, public rooms, one room, health.

use crate::app::App;
use arbiter_engine::GameInfo;
use arbiter_protocol::{ErrorCode, RoomInfo};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API failure. The mapping from codes to HTTP statuses lives here and nowhere else.
#[derive(Debug)]
pub(crate) struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.code {
            ErrorCode::RoomNotFound | ErrorCode::UnknownGame => StatusCode::NOT_FOUND,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        (status, Json(body)).into_response()
    }
}

/// `GET /healthz`.
pub(crate) async fn health(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "rooms": app.rooms().len(),
        "connections": app.open_connections(),
        "queued_bytes": app.queued_bytes(),
    }))
}

/// `GET /api/v1/games`.
pub(crate) async fn games(State(app): State<App>) -> Json<Vec<GameInfo>> {
    Json(app.rooms().registry().games())
}

/// `GET /api/v1/rooms`: public rooms only.
pub(crate) async fn rooms(State(app): State<App>) -> Json<Vec<RoomInfo>> {
    Json(app.rooms().list(true))
}

/// `GET /api/v1/rooms/{id}`: by id or code; private rooms too, for whoever knows the id.
pub(crate) async fn room(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<RoomInfo>, ApiError> {
    app.rooms()
        .find(&id)
        .map(|h| Json(h.info()))
        .ok_or_else(|| ApiError::new(ErrorCode::RoomNotFound, format!("no room {id:?}")))
}
