//! The REST API: games, public rooms, one room, health.

use crate::app::App;
use crate::auth::now_ms;
use crate::error::AppError;
use crate::error::{Params, Segment};
use arbiter_engine::{GameListing, Query as RoomQuery, ResultsOf, RoomCmd, Viewer};
use arbiter_protocol::{ErrorCode, PlayerId, RoomInfo};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::oneshot;

/// `GET /healthz`.
pub(crate) async fn health(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "rooms": app.rooms().len(),
        "connections": app.open_connections(),
        "queued_bytes": app.queued_bytes(),
    }))
}

/// How long `/readyz` waits for storage or Redis to answer.
const READY_PATIENCE: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 when this node should get traffic — its store and (in a cluster) Redis
/// answer, it is not draining or stopping, and its rooms were recovered (they are, before the
/// node listens) — 503 otherwise, with each check's finding.
pub(crate) async fn ready(State(app): State<App>) -> Response {
    let store = match app.rooms().store() {
        None => None,
        Some(store) => Some(check(store.ping()).await),
    };
    let redis = match app.cluster() {
        None => None,
        Some(cluster) => Some(check(cluster.ping()).await),
    };
    let draining = app.draining() || *app.shutdown_signal().borrow();
    let ready = !draining
        && store.as_ref().is_none_or(Result::is_ok)
        && redis.as_ref().is_none_or(Result::is_ok);
    let finding = |c: Option<Result<(), String>>| match c {
        None => json!("none"),
        Some(Ok(())) => json!("ok"),
        Some(Err(e)) => json!(e),
    };
    let body = json!({
        "ready": ready,
        "checks": {
            "store": finding(store),
            "redis": finding(redis),
            "draining": draining,
            "recovered": true,
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn check<E: std::fmt::Display>(
    probe: impl std::future::Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(READY_PATIENCE, probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Err(_) => Err(format!(
            "no answer within {} ms",
            READY_PATIENCE.as_millis()
        )),
    }
}

/// `GET /api/v1/games`.
pub(crate) async fn games(State(app): State<App>) -> Json<Vec<GameListing>> {
    Json(app.rooms().registry().games())
}

#[derive(Deserialize)]
pub(crate) struct ListParams {
    game: Option<String>,
    #[serde(default)]
    space: bool,
    lang: Option<String>,
    /// Comma-separated.
    tags: Option<String>,
}

/// `GET /api/v1/rooms?game=G&space=true&lang=L&tags=a,b`: public rooms only (of the whole
/// cluster, in a cluster) that pass every filter given, at most 200, by id.
pub(crate) async fn rooms(
    State(app): State<App>,
    Params(p): Params<ListParams>,
) -> Result<Json<Vec<RoomInfo>>, AppError> {
    let filter = arbiter_protocol::RoomFilter {
        game: p.game,
        space: p.space,
        lang: p.lang,
        tags: p
            .tags
            .iter()
            .flat_map(|t| t.split(','))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let rooms = app
        .list_rooms(true)
        .await
        .map_err(|e| AppError::new(e.code, e.message))?;
    Ok(Json(crate::lobby::filtered(&rooms, &filter)))
}

/// `GET /api/v1/cluster`: the nodes of the cluster and the room leases they hold.
pub(crate) async fn cluster(State(app): State<App>) -> Result<Json<Value>, AppError> {
    match app.cluster() {
        Some(cluster) => cluster
            .describe()
            .await
            .map(Json)
            .map_err(|e| AppError::new(e.code, e.message)),
        None => Ok(Json(json!({ "mode": "single" }))),
    }
}

/// Whose eyes a REST request looks through: a player with `Authorization: Bearer <token>`
/// (the token from `welcome`), a spectator otherwise. A bad token is refused, not ignored.
pub(crate) async fn viewer(app: &App, headers: &HeaderMap) -> Result<Viewer, AppError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Viewer::Spectator);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::BadToken,
                "expected Authorization: Bearer <token>",
            )
        })?;
    app.identity()
        .verify(token.trim(), now_ms())
        .await
        .map(|verified| Viewer::Player(verified.id))
        .map_err(|refusal| {
            AppError::new(refusal.code, refusal.message)
                .with_details(json!({ "reason": refusal.reason }))
        })
}

async fn ask(
    app: &App,
    id: &str,
    viewer: Viewer,
    query: RoomQuery,
) -> Result<Json<Value>, AppError> {
    let Some(room) = app.rooms().find(id) else {
        // Not live here: an archived room, or one another node serves, is answered from
        // storage (which holds every acknowledged entry).
        return stored(app, id, &viewer, &query).await;
    };
    let (reply, answer) = oneshot::channel();
    room.send(RoomCmd::Query {
        viewer: viewer.clone(),
        query: query.clone(),
        reply,
    })
    .await
    .map_err(|_| AppError::new(ErrorCode::RoomClosed, "the room has closed"))?;
    let answer = answer
        .await
        .map_err(|_| AppError::new(ErrorCode::RoomClosed, "the room has closed"))?;
    match answer {
        Ok(value) => Ok(Json(value)),
        // A room restored from a snapshot holds only the entries after it; the rest of its
        // history is read from storage. Without storage a room keeps only its recent history
        // (the engine's memory log budget): the rest is gone.
        Err(e)
            if e.code == ErrorCode::Unavailable
                && matches!(query, RoomQuery::StateAt { .. } | RoomQuery::Log { .. }) =>
        {
            if app.rooms().store().is_none() {
                return Err(AppError::new(
                    ErrorCode::NotFound,
                    "this part of the room's history is no longer kept: a server without \
                     storage keeps only each room's recent history",
                ));
            }
            stored(app, id, &viewer, &query).await
        }
        Err(e) => Err(AppError::new(e.code, e.message)),
    }
}

/// Answer a history query from storage.
async fn stored(
    app: &App,
    id: &str,
    viewer: &Viewer,
    query: &RoomQuery,
) -> Result<Json<Value>, AppError> {
    app.rooms()
        .query_stored(id, viewer, query)
        .await
        .map(Json)
        .map_err(|e| AppError::new(e.code, e.message))
}

#[derive(Deserialize)]
pub(crate) struct LogParams {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /api/v1/rooms/{id}/log?after=N&limit=M`: entries above version N (at most 1,000).
pub(crate) async fn log(
    State(app): State<App>,
    Segment(id): Segment<String>,
    Params(p): Params<LogParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let viewer = viewer(&app, &headers).await?;
    let query = RoomQuery::Log {
        after: p.after,
        limit: p.limit.min(1_000),
    };
    ask(&app, &id, viewer, query).await
}

#[derive(Deserialize)]
pub(crate) struct StateParams {
    v: Option<u64>,
}

/// `GET /api/v1/rooms/{id}/state?v=N`: the requester's view at version N (default: now).
pub(crate) async fn state(
    State(app): State<App>,
    Segment(id): Segment<String>,
    Params(p): Params<StateParams>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let viewer = viewer(&app, &headers).await?;
    ask(&app, &id, viewer, RoomQuery::StateAt { v: p.v }).await
}

/// `GET /api/v1/rooms/{id}/history`: the game's records (e.g. poker hands) as the requester
/// may see them.
pub(crate) async fn history(
    State(app): State<App>,
    Segment(id): Segment<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let viewer = viewer(&app, &headers).await?;
    ask(&app, &id, viewer, RoomQuery::History).await
}

/// `GET /api/v1/rooms/{id}/legal`: the actions the requester may take now (none for a
/// spectator) and where the game stands, for clients that do not know the game's rules.
pub(crate) async fn legal(
    State(app): State<App>,
    Segment(id): Segment<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let viewer = viewer(&app, &headers).await?;
    ask(&app, &id, viewer, RoomQuery::Legal).await
}

#[derive(Deserialize)]
pub(crate) struct ResultsParams {
    #[serde(default = "default_limit")]
    limit: usize,
}

async fn results_of(app: &App, of: ResultsOf, limit: usize) -> Result<Json<Value>, AppError> {
    let store = app.rooms().store().ok_or_else(|| {
        AppError::new(
            ErrorCode::Unsupported,
            "this server keeps no results (no database)",
        )
    })?;
    let results = store.results(of, limit.min(1_000)).await.map_err(|e| {
        tracing::error!(error = %e, "reading results failed");
        AppError::new(ErrorCode::Internal, "reading results failed")
    })?;
    Ok(Json(json!({ "results": results })))
}

/// `GET /api/v1/rooms/{id}/results`: the room's finished games, newest first. Results are
/// public: who won is no secret once a game is over.
pub(crate) async fn room_results(
    State(app): State<App>,
    Segment(id): Segment<String>,
    Params(p): Params<ResultsParams>,
) -> Result<Json<Value>, AppError> {
    let id = app.rooms().find(&id).map_or(id, |h| h.id().to_owned());
    results_of(&app, ResultsOf::Room(id), p.limit).await
}

/// `GET /api/v1/players/{id}/results`: the finished games a player placed in, newest first.
pub(crate) async fn player_results(
    State(app): State<App>,
    Segment(id): Segment<String>,
    Params(p): Params<ResultsParams>,
) -> Result<Json<Value>, AppError> {
    results_of(&app, ResultsOf::Player(PlayerId(id)), p.limit).await
}

/// `GET /api/v1/rooms/{id}`: by id or code; private rooms too, for whoever knows the id.
pub(crate) async fn room(
    State(app): State<App>,
    Segment(id): Segment<String>,
) -> Result<Json<RoomInfo>, AppError> {
    app.room_info(&id)
        .await
        .map(Json)
        .ok_or_else(|| AppError::new(ErrorCode::RoomNotFound, format!("no room {id:?}")))
}

/// Any route the server does not offer: the structured 404 every other refusal shares.
pub(crate) async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::new(
        ErrorCode::NotFound,
        format!("no route {}; see docs/protocol.md", uri.path()),
    )
}
