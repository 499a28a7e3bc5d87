//! The external-game API v2 (docs/external-games.md): games that run elsewhere register
//! themselves (`/api/v2/games`) so that parties can pick them.

use crate::api_auth::{Keyed, Reads, Writes, require_game};
use crate::app::App;
use crate::error::{AppError, JsonBody, Segment};
use arbiter_engine::{GameError, RoomHandle};
use arbiter_protocol::ErrorCode;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Longest external game id.
const ID_MAX: usize = 40;
/// Longest name.
const NAME_MAX: usize = 60;
/// Longest URL.
const URL_MAX: usize = 2048;
/// Largest settings schema, as JSON text.
const SCHEMA_MAX: usize = 16 * 1024;
/// Most players a party seats.
const PLAYERS_MAX: u32 = 50;

/// A game that runs elsewhere, as registered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ExternalGame {
    /// Its id (`[a-z0-9_-]`, 1–40); parties pick it as `ext:<id>`.
    pub(crate) id: String,
    /// Its title.
    pub(crate) name: String,
    /// Where its players go: the page a member opens, with `?session=<token>` added.
    pub(crate) url: String,
    /// Fewest players it starts with.
    pub(crate) min_players: u32,
    /// Most players it seats.
    pub(crate) max_players: u32,
    /// A JSON Schema of its settings (what a party's host may set), shown to hosts.
    pub(crate) settings_schema: Value,
    /// How many times it was registered (1 at first).
    pub(crate) revision: u64,
    /// The API key that registered it last.
    pub(crate) registered_by: String,
    /// When it was first registered.
    pub(crate) created_ms: u64,
    /// When it was last registered.
    pub(crate) updated_ms: u64,
}

/// What `POST /api/v2/games` carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Registration {
    id: String,
    name: String,
    url: String,
    min_players: u32,
    max_players: u32,
    #[serde(default)]
    settings_schema: Option<Value>,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidField, message).with_details(json!({ "field": field }))
}

/// Whether `id` is an external game's id.
pub(crate) fn valid_id(id: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    !id.is_empty() && id.len() <= ID_MAX && id.chars().all(ok)
}

impl Registration {
    /// The game it registers, checked, by key `by` at `now_ms`.
    fn game(self, by: &str, now_ms: u64) -> Result<ExternalGame, AppError> {
        if !valid_id(&self.id) {
            return Err(invalid(
                "id",
                format!("`id` is 1–{ID_MAX} lowercase letters, digits, - or _"),
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            return Err(invalid(
                "name",
                format!("`name` is 1–{NAME_MAX} characters, no control characters"),
            ));
        }
        let web = self.url.starts_with("https://") || self.url.starts_with("http://");
        let clean = !self
            .url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'));
        if !web || !clean || self.url.len() > URL_MAX || self.url.contains('#') {
            return Err(invalid(
                "url",
                format!(
                    "`url` is an http(s) address of at most {URL_MAX} bytes, without spaces \
                     or a fragment"
                ),
            ));
        }
        let players = 1..=PLAYERS_MAX;
        if !players.contains(&self.min_players)
            || !players.contains(&self.max_players)
            || self.min_players > self.max_players
        {
            return Err(invalid(
                "min_players",
                format!("players: 1 ≤ min_players ≤ max_players ≤ {PLAYERS_MAX}"),
            ));
        }
        let settings_schema = self.settings_schema.unwrap_or_else(|| json!({}));
        if !settings_schema.is_object() || settings_schema.to_string().len() > SCHEMA_MAX {
            return Err(invalid(
                "settings_schema",
                format!("`settings_schema` is a JSON object of at most {SCHEMA_MAX} bytes"),
            ));
        }
        Ok(ExternalGame {
            id: self.id,
            name: name.to_owned(),
            url: self.url,
            min_players: self.min_players,
            max_players: self.max_players,
            settings_schema,
            revision: 0,
            registered_by: by.to_owned(),
            created_ms: now_ms,
            updated_ms: now_ms,
        })
    }
}

/// A storage failure, as the API answers it.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::Unavailable,
        format!("storage cannot be reached: {e}"),
    )
}

async fn records(app: &App) -> Result<&crate::records::Records, AppError> {
    app.records()
        .await
        .map_err(|e| AppError::new(e.code, e.message))
}

/// `POST /api/v2/games` (`game:write`, idempotent): register an external game, or update the
/// one with its id (`revision` goes up). A key limited to one game registers only that one.
pub(crate) async fn register(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    JsonBody(registration): JsonBody<Registration>,
) -> Result<(StatusCode, Json<ExternalGame>), AppError> {
    let game = registration.game(&key.id, app.clock_ms())?;
    require_game(&key, &game.id)?;
    let game = records(&app)
        .await?
        .register_game(&game)
        .await
        .map_err(unavailable)?;
    let status = if game.revision == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(game)))
}

/// `GET /api/v2/games` (`game:read`): every external game.
pub(crate) async fn list(
    State(app): State<App>,
    Keyed(_, _): Keyed<Reads>,
) -> Result<Json<Value>, AppError> {
    let games = records(&app).await?.games().await.map_err(unavailable)?;
    Ok(Json(json!({ "games": games })))
}

/// `GET /api/v1/external-games` (public, like `/api/v1/games`): what a party's host may pick
/// besides the built-in games — each game's pick name (`ext:<id>`), title and player counts.
pub(crate) async fn listing(State(app): State<App>) -> Result<Json<Value>, AppError> {
    let games = records(&app).await?.games().await.map_err(unavailable)?;
    let listed: Vec<Value> = games
        .into_iter()
        .map(|g| {
            json!({
                "name": format!("{}{}", arbiter_games::party::EXTERNAL, g.id), "title": g.name,
                "min_players": g.min_players, "max_players": g.max_players,
            })
        })
        .collect();
    Ok(Json(Value::Array(listed)))
}

/// `GET /api/v2/games/{id}` (`game:read`): one external game.
pub(crate) async fn show(
    State(app): State<App>,
    Keyed(_, _): Keyed<Reads>,
    Segment(id): Segment<String>,
) -> Result<Json<ExternalGame>, AppError> {
    let game = records(&app).await?.game(&id).await.map_err(unavailable)?;
    game.map(Json)
        .ok_or_else(|| AppError::new(ErrorCode::UnknownGame, format!("no external game {id:?}")))
}

impl App {
    /// Prepare a member's action for `party`: a pick of an external game (`ext:<id>`) gets
    /// the game's registered facts as `external`, and any `external` a client sent is
    /// dropped (only the server says what an external game is). Without a registration the
    /// party refuses the pick (`UNKNOWN_GAME`). With one, the party is followed for
    /// webhook events (see [`crate::party_feed`]) from before the pick.
    pub(crate) async fn party_pick(
        &self,
        party: &RoomHandle,
        action: &mut Value,
    ) -> Result<(), GameError> {
        let Some(fields) = action.as_object_mut() else {
            return Ok(());
        };
        if fields.get("type").and_then(Value::as_str) != Some("pick") {
            return Ok(());
        }
        fields.remove("external");
        let Some(id) = fields
            .get("game")
            .and_then(Value::as_str)
            .and_then(|g| g.strip_prefix(arbiter_games::party::EXTERNAL))
        else {
            return Ok(());
        };
        if !valid_id(id) {
            return Ok(());
        }
        let records = self.records().await?;
        let game = records.game(id).await.map_err(|e| {
            GameError::new(
                ErrorCode::Unavailable,
                format!("external games cannot be read: {e}"),
            )
        })?;
        if let Some(game) = game {
            fields.insert(
                "external".to_owned(),
                json!({
                    "title": game.name,
                    "min_players": game.min_players,
                    "max_players": game.max_players,
                }),
            );
            self.follow_party(party).await;
        }
        Ok(())
    }
}

/// The OpenAPI 3.1 document of the external-game API (and the key routes).
pub(crate) const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/v2/openapi.json`: [`OPENAPI`].
pub(crate) async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    /// Every (method, path) the router in lib.rs serves under the documented prefixes, read
    /// from its source: each `.route("PATH", …)` up to the next one, and the method routers
    /// (`get(`, `post(`, `put(`, `delete(`) in it.
    fn routed() -> BTreeSet<(String, String)> {
        let source = include_str!("lib.rs");
        let documented = |p: &str| {
            p.starts_with("/api/v2/")
                || p.starts_with("/api/v1/admin/keys")
                || p.ends_with("/external")
        };
        let mut routes = BTreeSet::new();
        let pieces: Vec<&str> = source.split(".route(").skip(1).collect();
        for piece in pieces {
            let piece = piece.split(".fallback(").next().unwrap();
            let path = piece.trim_start().trim_start_matches('"');
            let path = &path[..path.find('"').unwrap()];
            if !documented(path) {
                continue;
            }
            for method in ["get", "post", "put", "delete"] {
                let called = piece
                    .match_indices(&format!("{method}("))
                    .any(|(i, _)| i == 0 || !piece.as_bytes()[i - 1].is_ascii_alphanumeric());
                if called {
                    routes.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
        routes
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone()));
            }
        }
        let routed = routed();
        assert!(routed.len() > 15, "{routed:?}");
        assert_eq!(documented, routed);
    }

    #[test]
    fn the_openapi_document_names_every_webhook_event() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let schema = &doc["paths"]["/api/v2/webhooks"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            schema["properties"]["events"]["items"]["enum"],
            serde_json::json!(crate::webhooks::EVENTS)
        );
    }
}
