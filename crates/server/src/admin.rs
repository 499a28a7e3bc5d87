//! The admin API (`/api/v1/admin/…`): what an operator does to a running server — list and
//! inspect rooms, close a room, kick a member, drain the node. Open only with the admin token
//! (`--admin-token`), sent as `Authorization: Bearer <token>`.
//!
//! In a cluster any node answers: a request about a room another node serves is forwarded to
//! that node once (marked with [`FORWARDED`] so it is never forwarded again) and its answer
//! returned as is.

use crate::app::App;
use crate::error::AppError;
use crate::error::{Params, Segment};
use crate::http_client;
use arbiter_engine::{AdminOp, RoomCmd};
use arbiter_protocol::{ErrorCode, PlayerId, RoomInfo};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Header of a request one node forwarded to another (its value: the forwarding node).
pub(crate) const FORWARDED: &str = "x-arbiter-forwarded";

/// Most log entries an inspection returns.
const MAX_INSPECT_LOG: usize = 1000;

/// Refuse unless the request carries the admin token or (for routes that accept one, such as
/// the key routes) an API key with the `admin` scope.
pub(crate) async fn authorize_operator(app: &App, headers: &HeaderMap) -> Result<(), AppError> {
    if headers.contains_key(crate::api_auth::API_KEY) {
        let key = app.api_caller(headers).await?;
        return crate::api_auth::require(&key, crate::api_keys::Scope::Admin);
    }
    authorize(app, headers)
}

/// Refuse unless the request carries the admin token.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), AppError> {
    let settings = app.settings();
    let Some(expected) = settings.admin_token.as_deref() else {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "the admin API is closed: start the server with --admin-token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::NotAuthenticated,
                "the admin API needs Authorization: Bearer <admin token>",
            )
        })?;
    if constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::BadToken, "wrong admin token"))
    }
}

/// Compare without stopping at the first difference (the time taken does not tell how much
/// of a guess was right).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

/// Filters of `GET /api/v1/admin/rooms`.
#[derive(Deserialize)]
pub(crate) struct RoomFilter {
    game: Option<String>,
    status: Option<String>,
    public: Option<bool>,
}

impl RoomFilter {
    fn keeps(&self, room: &RoomInfo) -> bool {
        let status = serde_json::to_value(room.status).unwrap_or(Value::Null);
        self.game.as_ref().is_none_or(|g| *g == room.game)
            && self.status.as_ref().is_none_or(|s| status == *s)
            && self.public.is_none_or(|p| p == room.public)
    }
}

/// `GET /api/v1/admin/rooms`: every room (public or not) of this node or, in a cluster, of
/// every node, filtered by `game`, `status` and `public`.
pub(crate) async fn rooms(
    State(app): State<App>,
    headers: HeaderMap,
    Params(filter): Params<RoomFilter>,
) -> Result<Json<Value>, AppError> {
    authorize(&app, &headers)?;
    let rooms: Vec<RoomInfo> = app
        .list_rooms(false)
        .await
        .map_err(|e| AppError::new(e.code, e.message))?
        .into_iter()
        .filter(|r| filter.keeps(r))
        .collect();
    Ok(Json(json!({ "rooms": rooms })))
}

/// Options of `GET /api/v1/admin/rooms/{id}`.
#[derive(Deserialize)]
pub(crate) struct InspectQuery {
    log: Option<usize>,
}

/// `GET /api/v1/admin/rooms/{id}`: the room's facts, members, whole state and newest log
/// entries (`?log=N`, default 20).
pub(crate) async fn inspect(
    State(app): State<App>,
    Segment(id): Segment<String>,
    Params(q): Params<InspectQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let op = AdminOp::Inspect {
        log: q.log.unwrap_or(20).min(MAX_INSPECT_LOG),
    };
    on_room(
        &app,
        &id,
        op,
        Request::new(method, uri, headers, Bytes::new()),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    reason: Option<String>,
}

/// `POST /api/v1/admin/rooms/{id}/close` `{"reason": "…"}` (optional): close the room.
pub(crate) async fn close(
    State(app): State<App>,
    Segment(id): Segment<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: CloseBody = if body.is_empty() {
        CloseBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => return bad_body(&e).into_response(),
        }
    };
    let reason = parsed
        .reason
        .unwrap_or_else(|| "closed by an operator".to_owned());
    let op = AdminOp::Close { reason };
    on_room(&app, &id, op, Request::new(method, uri, headers, body)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KickBody {
    player: PlayerId,
}

/// `POST /api/v1/admin/rooms/{id}/kick` `{"player": "p_…"}`: remove a member.
pub(crate) async fn kick(
    State(app): State<App>,
    Segment(id): Segment<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: KickBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_body(&e).into_response(),
    };
    let op = AdminOp::Kick {
        player: parsed.player,
    };
    on_room(&app, &id, op, Request::new(method, uri, headers, body)).await
}

/// `POST /api/v1/admin/drain`: take no new rooms and, in a cluster, hand every room served
/// here to the other nodes. `/readyz` answers 503 from then on.
pub(crate) async fn drain(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    let handed_over = app.drain().await;
    Json(json!({ "draining": true, "handed_over": handed_over })).into_response()
}

/// `POST /api/v1/admin/reload`: read the configuration again and put its limits in force for
/// new connections and new rooms. Answers the limits now in force; a configuration that does
/// not parse or validate is refused (`400 INVALID_CONFIG`, naming line and field) and changes
/// nothing.
pub(crate) async fn reload(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    match app.reload() {
        Ok(settings) => {
            let rooms = app.rooms().limits();
            Json(json!({
                "reloaded": true,
                "limits": {
                    "max_frame": settings.max_frame,
                    "outbox_frames": settings.queue.frames,
                    "outbox_bytes": settings.queue.bytes,
                    "heartbeat_timeout_ms": settings.heartbeat_timeout.as_millis() as u64,
                    "allow_origin": settings.allowed_origins,
                    "max_rooms": rooms.max_rooms,
                    "room_empty_ms": rooms.lifetimes.empty.as_millis() as u64,
                    "room_idle_ms": rooms.lifetimes.abandoned.as_millis() as u64,
                    "seat_grace_ms": rooms.seat_grace.as_millis() as u64,
                    "allow_seeded_rooms": rooms.allow_seeded_rooms,
                },
            }))
            .into_response()
        }
        Err(e) => AppError::new(e.code, e.message).into_response(),
    }
}

fn bad_body(e: &serde_json::Error) -> AppError {
    AppError::new(ErrorCode::BadMessage, format!("bad request body: {e}"))
}

/// What a forwarded request repeats.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    fn new(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            method,
            uri,
            headers,
            body,
        }
    }
}

/// Run `op` on the room `name` (id or code) wherever it is served.
async fn on_room(app: &App, name: &str, op: AdminOp, req: Request) -> Response {
    if let Err(e) = authorize(app, &req.headers) {
        return e.into_response();
    }
    if app.rooms().find(name).is_none()
        && let Some(cluster) = app.cluster()
        && !req.headers.contains_key(FORWARDED)
    {
        let owner = match app.room_id(name).await {
            Some(id) => cluster.owner_addr(&id).await,
            None => Ok(None),
        };
        match owner {
            Ok(Some(addr)) => return forward(app, &addr, req).await,
            Ok(None) => {}
            Err(e) => return AppError::new(e.code, e.message).into_response(),
        }
    }
    match run(app, name, op).await {
        Ok(value) => Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(app: &App, name: &str, op: AdminOp) -> Result<Value, AppError> {
    let gone = || AppError::new(ErrorCode::RoomClosed, "the room has closed");
    let room = app
        .locate(name)
        .await
        .map_err(|e| AppError::new(e.code, e.message))?;
    let (reply, answer) = oneshot::channel();
    room.send(RoomCmd::Admin { op, reply })
        .await
        .map_err(|_| gone())?;
    answer
        .await
        .map_err(|_| gone())?
        .map_err(|e| AppError::new(e.code, e.message))
}

/// Repeat the request on the node at `addr` and answer with its answer.
async fn forward(app: &App, addr: &str, req: Request) -> Response {
    let mut headers = vec![(
        header::HeaderName::from_static(FORWARDED),
        app.cluster().map(|c| c.id().to_owned()).unwrap_or_default(),
    )];
    if let Some(auth) = req
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        headers.push((header::AUTHORIZATION, auth.to_owned()));
    }
    let path = req
        .uri
        .path_and_query()
        .map_or_else(|| req.uri.path().to_owned(), |p| p.as_str().to_owned());
    match http_client::call(addr, req.method, &path, &headers, req.body).await {
        Ok((status, body)) => {
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => AppError::new(
            ErrorCode::Unavailable,
            format!("the room's node ({addr}) cannot be reached: {e}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_by_every_byte() {
        assert!(constant_time_eq(b"secret-token-123", b"secret-token-123"));
        assert!(!constant_time_eq(b"secret-token-124", b"secret-token-123"));
        assert!(!constant_time_eq(b"secret-token-12", b"secret-token-123"));
        assert!(!constant_time_eq(b"", b"secret-token-123"));
        assert!(!constant_time_eq(b"secret-token-1234", b"secret-token-123"));
    }
}
