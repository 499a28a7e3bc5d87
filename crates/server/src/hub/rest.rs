//! The old server's REST shapes, under `/hub`.

use crate::app::App;
use crate::error::AppError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// `GET /hub/games`: `{"games": [type, …]}`, the games whose old clients are served.
pub(crate) async fn games(State(app): State<App>) -> Json<Value> {
    let games: Vec<&str> = app
        .rooms()
        .registry()
        .games()
        .into_iter()
        .map(|g| g.info.name)
        .filter(|name| super::games::of(name).is_some())
        .collect();
    Json(json!({ "games": games }))
}

/// `GET /hub/rooms`: `[{id, type, clientCount}]` of the public rooms of those games.
pub(crate) async fn rooms(State(app): State<App>) -> Result<Json<Value>, AppError> {
    let rooms = app
        .list_rooms(true)
        .await
        .map_err(|e| AppError::new(e.code, e.message))?;
    let rooms: Vec<Value> = rooms
        .iter()
        .filter(|r| super::games::of(&r.game).is_some())
        .map(|r| json!({ "id": r.id, "type": r.game, "clientCount": r.players + r.spectators }))
        .collect();
    Ok(Json(Value::Array(rooms)))
}
