//! A party playing an external game (docs/external-games.md): the host's `launch` opens a
//! session instead of a game room; each member fetches a signed, expiring session token and
//! the game's URL; the game (with its API key) validates tokens, reports where players are,
//! keeps its state, reports the end with results and sends players back to the lobby. The
//! party hears the start (`launched`) and the end (`finished`) as it does for its own games.

use crate::api_auth::{Keyed, Reads, Writes, require_game};
use crate::app::App;
use crate::auth::SESSION_LIFETIME;
use crate::error::{AppError, JsonBody, Segment};
use crate::external::unavailable;
use crate::party::{ask, tell};
use crate::records::{Located, Records, Session, SessionPlayer, StateWrite};
use arbiter_engine::protocol::{ErrorCode, PlayerId, RoomInfo, RoomStatus};
use arbiter_engine::{GameError, Query, RoomHandle, Viewer};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

/// How often an external game should send each player's heartbeat.
const HEARTBEAT_MS: u64 = 30_000;

/// Largest game state kept, as JSON text.
const STATE_MAX: usize = 256 * 1024;

/// Largest results kept, as JSON text.
const RESULTS_MAX: usize = 64 * 1024;

/// What the host's `launch` of an external game carries.
pub(crate) struct Launch<'a> {
    /// The party.
    pub(crate) party: &'a RoomHandle,
    /// The host.
    pub(crate) by: &'a PlayerId,
    /// The external game's id.
    pub(crate) game: &'a str,
    /// The party's pick (`game`, `config`, `title`…).
    pub(crate) pick: Value,
    /// The ready members with their names, in seat order.
    pub(crate) players: Vec<(PlayerId, String)>,
    /// The party's next round.
    pub(crate) round: u64,
}

fn refused(e: impl std::fmt::Display) -> GameError {
    GameError::new(
        ErrorCode::Unavailable,
        format!("external sessions cannot be stored: {e}"),
    )
}

fn app_error(e: GameError) -> AppError {
    AppError::new(e.code, e.message)
}

/// What the party heard about its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum News {
    /// It started (`launched`).
    Launched,
    /// It ended, or everyone returned (`finished`).
    Finished,
}

/// The webhook event of `news` about `session` (as its record reads after the news):
/// `session.started`, `session.ended` (with the ranking and results) or `session.returned`.
pub(crate) fn session_event(session: &Session, news: News) -> (&'static str, Value) {
    match (news, &session.results) {
        (News::Launched, _) => (
            "session.started",
            json!({
                "session": session.id, "round": session.round, "settings": session.settings,
                "players": session.players,
            }),
        ),
        (News::Finished, Some(kept)) => (
            "session.ended",
            json!({ "session": session.id, "ranking": kept["ranking"], "results": kept["results"] }),
        ),
        (News::Finished, None) => ("session.returned", json!({ "session": session.id })),
    }
}

impl App {
    /// Open a session of an external game for a party and tell the party (`launched`, its
    /// room being the session's id).
    pub(crate) async fn launch_external(&self, launch: Launch<'_>) -> Result<RoomInfo, GameError> {
        let records = self.records().await?;
        let game = records
            .game(launch.game)
            .await
            .map_err(refused)?
            .ok_or_else(|| {
                GameError::new(
                    ErrorCode::UnknownGame,
                    format!(
                        "the external game {:?} is no longer registered",
                        launch.game
                    ),
                )
            })?;
        let id = format!("x_{:016x}", rand::rng().random::<u64>());
        let mut session = Session {
            id: id.clone(),
            game: game.id.clone(),
            party: launch.party.id().to_owned(),
            round: launch.round,
            settings: launch.pick["config"].clone(),
            status: "playing".to_owned(),
            results: None,
            ended_ms: None,
            created_ms: self.clock_ms(),
            state: None,
            state_version: 0,
            players: Vec::new(),
        };
        let players: Vec<SessionPlayer> = launch
            .players
            .iter()
            .enumerate()
            .map(|(seat, (id, name))| SessionPlayer {
                id: id.to_string(),
                name: name.clone(),
                seat: seat as u64,
                location: "lobby".to_owned(),
                version: 0,
                last_seen_ms: None,
            })
            .collect();
        records
            .open_session(&session, &players)
            .await
            .map_err(refused)?;
        session.players = players;
        let ids: Vec<&PlayerId> = launch.players.iter().map(|(id, _)| id).collect();
        let launched = json!({
            "type": "launched", "by": launch.by, "game": launch.pick["game"],
            "config": launch.pick["config"], "players": ids, "room": id, "code": "",
        });
        // The party's feed sends `session.started` as it reads `launched`, in order with
        // the party's other events; the answer waits for that.
        let feed = self.follow_party(launch.party).await;
        let v = match tell(launch.party, launched).await {
            Ok(v) => v,
            Err(e) => {
                // The party refused (its pick changed meanwhile): the session never started.
                let _ = records.end_session(&id, None, self.clock_ms()).await;
                return Err(e);
            }
        };
        if !crate::party_feed::reached(feed, v).await {
            let (event, data) = session_event(&session, News::Launched);
            self.emit(&game.id, launch.party.id(), event, data).await;
        }
        let count = u32::try_from(session.players.len()).unwrap_or(u32::MAX);
        Ok(RoomInfo {
            id,
            code: String::new(),
            game: format!("{}{}", arbiter_games::party::EXTERNAL, game.id),
            public: false,
            max_players: count,
            max_spectators: 0,
            players: count,
            spectators: 0,
            status: RoomStatus::Playing,
            v: 0,
            locked: false,
            name: Some(game.name),
            lang: None,
            tags: Vec::new(),
            paused: false,
        })
    }

    /// Tell the party of `session` (its record after the end) that the session ended, with
    /// `ranking` if it has one. The party's feed sends the webhook event as it reads the
    /// news, in order with the party's other events; when the party cannot be followed here
    /// or does not take the news, it is sent now.
    async fn tell_finished(&self, session: &Session, ranking: Option<&Value>) {
        let (party, id) = (&session.party, &session.id);
        let news = json!({ "type": "finished", "room": id, "ranking": ranking });
        let told = match self.locate(party).await {
            Ok(handle) => {
                let feed = self.follow_party(&handle).await;
                match tell(&handle, news).await {
                    Ok(v) => Ok(crate::party_feed::reached(feed, v).await),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &told {
            tracing::warn!(%party, session = %id, error = %e, "the party did not hear its external game end");
        }
        if told.is_ok_and(|sent| sent) {
            return;
        }
        let (event, data) = session_event(session, News::Finished);
        self.emit(&session.game, party, event, data).await;
    }
}

async fn records(app: &App) -> Result<&Records, AppError> {
    app.records().await.map_err(app_error)
}

fn no_session(id: &str) -> AppError {
    AppError::new(
        ErrorCode::NotFound,
        format!("no external game session {id:?}"),
    )
}

/// Session `id`, if the key may act for its game.
async fn session_for(
    app: &App,
    key: &crate::api_keys::KeyRecord,
    id: &str,
) -> Result<Session, AppError> {
    let session = records(app)
        .await?
        .session(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_session(id))?;
    require_game(key, &session.game)?;
    Ok(session)
}

/// The session and player a session token names, checked at the server's time.
fn open_token(app: &App, token: &str) -> Result<(String, PlayerId, u64), AppError> {
    app.identity()
        .signer()
        .check_session_token(token.trim(), app.clock_ms())
        .map_err(|e| {
            AppError::new(
                ErrorCode::BadToken,
                "the session token is not valid: recover the session or start again",
            )
            .with_details(json!({ "reason": e.reason() }))
        })
}

/// A fresh token for `player` in `session`, and the URL that opens the game with it.
fn ticket(app: &App, url: &str, session: &str, player: &PlayerId) -> Value {
    let now = app.clock_ms();
    let token = app.identity().signer().session_token(session, player, now);
    let join = if url.contains('?') { '&' } else { '?' };
    json!({
        "session": session,
        "player": player,
        "token": token,
        "url": format!("{url}{join}session={token}"),
        "expires_ms": now + SESSION_LIFETIME.as_millis() as u64,
    })
}

/// `POST /api/v1/rooms/{party}/external` (a member's `Authorization: Bearer <token>`): the
/// member's session token and the game's URL, while the party plays an external game they
/// were launched into.
pub(crate) async fn member_ticket(
    State(app): State<App>,
    Segment(party): Segment<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let Viewer::Player(me) = crate::api::viewer(&app, &headers).await? else {
        return Err(AppError::new(
            ErrorCode::NotAuthenticated,
            "send your player token: Authorization: Bearer <token>",
        ));
    };
    let handle = app.locate(&party).await.map_err(app_error)?;
    let answer = ask(
        &handle,
        Viewer::Player(me.clone()),
        Query::StateAt { v: None },
    )
    .await
    .map_err(app_error)?;
    let playing = &answer["view"]["playing"];
    let Some(id) = playing["room"].as_str().filter(|id| id.starts_with("x_")) else {
        return Err(AppError::new(
            ErrorCode::InvalidMove,
            "the party is not playing an external game",
        ));
    };
    let records = records(&app).await?;
    let session = records
        .session(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| no_session(id))?;
    if !session.players.iter().any(|p| p.id == me.as_str()) {
        return Err(AppError::new(
            ErrorCode::NotAPlayer,
            "you were not launched into this game",
        ));
    }
    let game = records
        .game(&session.game)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| AppError::new(ErrorCode::UnknownGame, "the game is gone"))?;
    Ok(Json(ticket(&app, &game.url, id, &me)))
}

/// A request naming a session token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenBody {
    token: String,
}

/// What an external game sees of its session: everything but other players' tokens.
async fn session_view(app: &App, session: &Session) -> Value {
    let party = match app.locate(&session.party).await {
        Ok(handle) => ask(&handle, Viewer::Spectator, Query::StateAt { v: None })
            .await
            .map(|answer| {
                let view = &answer["view"];
                json!({
                    "id": session.party, "code": handle.info().code, "name": view["name"],
                    "host": view["host"], "members": view["members"],
                })
            })
            .unwrap_or_else(|_| json!({ "id": session.party })),
        Err(_) => json!({ "id": session.party }),
    };
    json!({ "session": session, "party": party })
}

/// `POST /api/v2/sessions/validate` `{"token"}` (`game:read`): whether a player's session
/// token is valid, and if so the session (players, settings, state), the player and the
/// party.
pub(crate) async fn validate(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, AppError> {
    let (id, player, issued) = open_token(&app, &body.token)?;
    let session = session_for(&app, &key, &id).await?;
    let Some(me) = session
        .players
        .iter()
        .find(|p| p.id == player.as_str())
        .cloned()
    else {
        return Err(AppError::new(
            ErrorCode::BadToken,
            "the token's player is not in the session",
        ));
    };
    let mut view = session_view(&app, &session).await;
    view["valid"] = json!(true);
    view["player"] = json!(me);
    view["expires_ms"] = json!(issued + SESSION_LIFETIME.as_millis() as u64);
    Ok(Json(view))
}

/// `POST /api/v2/sessions/recover` `{"token"}` (`game:read`): a fresh token (and URL) for a
/// player whose token is still valid, while the session is playing.
pub(crate) async fn recover(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, AppError> {
    let (id, player, _) = open_token(&app, &body.token)?;
    let session = session_for(&app, &key, &id).await?;
    if session.status != "playing" {
        return Err(AppError::new(
            ErrorCode::GameOver,
            format!("the session is {}; nothing to recover", session.status),
        ));
    }
    let me = session
        .players
        .iter()
        .find(|p| p.id == player.as_str())
        .cloned();
    let me = me.ok_or_else(|| AppError::new(ErrorCode::BadToken, "not in the session"))?;
    let game = records(&app)
        .await?
        .game(&session.game)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| AppError::new(ErrorCode::UnknownGame, "the game is gone"))?;
    let mut answer = ticket(&app, &game.url, &id, &player);
    answer["state"] = json!(me);
    Ok(Json(answer))
}

/// `GET /api/v2/sessions/{id}` (`game:read`).
pub(crate) async fn show(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
    Segment(id): Segment<String>,
) -> Result<Json<Value>, AppError> {
    let session = session_for(&app, &key, &id).await?;
    Ok(Json(session_view(&app, &session).await))
}

/// Where a player can be.
fn location(s: &str) -> Result<&'static str, AppError> {
    ["lobby", "game", "disconnected"]
        .into_iter()
        .find(|l| *l == s)
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::InvalidField,
                format!("unknown location {s:?}: lobby, game or disconnected"),
            )
            .with_details(json!({ "field": "location" }))
        })
}

/// A report of one player's location.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    location: String,
    /// The player's version the reporter saw.
    version: u64,
}

fn stale(player: &SessionPlayer) -> AppError {
    AppError::new(
        ErrorCode::VersionConflict,
        format!(
            "{} is at version {} now; read it and report again",
            player.id, player.version
        ),
    )
    .with_details(json!({ "current": player }))
}

/// Tell webhooks that a player moved.
async fn moved(app: &App, session: &Session, player: &SessionPlayer) {
    let data = json!({
        "session": session.id, "player": player.id, "location": player.location,
        "version": player.version,
    });
    app.emit(&session.game, &session.party, "player.status", data)
        .await;
}

/// `POST /api/v2/sessions/{id}/players/{player}/status` `{"location", "version"}`
/// (`game:write`, idempotent): move a player, if their version is still `version`;
/// `VERSION_CONFLICT` (409) with the current state otherwise.
pub(crate) async fn status(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment((id, player)): Segment<(String, String)>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<Value>, AppError> {
    let to = location(&body.location)?;
    let session = session_for(&app, &key, &id).await?;
    let located = records(&app)
        .await?
        .locate_player(&id, &player, to, Some(body.version))
        .await
        .map_err(unavailable)?;
    match located {
        Located::Done(now) => {
            moved(&app, &session, &now).await;
            Ok(Json(json!({ "player": now })))
        }
        Located::Stale(now) => Err(stale(&now)),
        Located::Missing => Err(no_player(&player)),
    }
}

fn no_player(player: &str) -> AppError {
    AppError::new(
        ErrorCode::NotInRoom,
        format!("{player:?} is not a player of this session"),
    )
}

/// `POST /api/v2/sessions/{id}/players/{player}/heartbeat` (`game:write`, idempotent): the
/// player is still there.
pub(crate) async fn heartbeat(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment((id, player)): Segment<(String, String)>,
) -> Result<Json<Value>, AppError> {
    session_for(&app, &key, &id).await?;
    let now = app.clock_ms();
    if !records(&app)
        .await?
        .heartbeat(&id, &player, now)
        .await
        .map_err(unavailable)?
    {
        return Err(no_player(&player));
    }
    Ok(Json(
        json!({ "player": player, "at_ms": now, "next_heartbeat_ms": HEARTBEAT_MS }),
    ))
}

/// One line of a bulk report.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkLine {
    player: String,
    location: String,
    version: u64,
}

/// A bulk report.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkBody {
    players: Vec<BulkLine>,
}

/// `POST /api/v2/sessions/{id}/status` `{"players": [{"player", "location", "version"}]}`
/// (`game:write`, idempotent): several reports at once, each applied or refused on its own
/// (`updated`, and `conflicts` with each refused player's current state). Every line is
/// checked before any is applied.
pub(crate) async fn bulk_status(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment(id): Segment<String>,
    JsonBody(body): JsonBody<BulkBody>,
) -> Result<Json<Value>, AppError> {
    let session = session_for(&app, &key, &id).await?;
    if body.players.is_empty() || body.players.len() > 50 {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            "`players` holds 1–50 reports",
        ));
    }
    let mut seen = HashSet::new();
    for line in &body.players {
        location(&line.location)?;
        if !session.players.iter().any(|p| p.id == line.player) {
            return Err(no_player(&line.player));
        }
        if !seen.insert(&line.player) {
            return Err(AppError::new(
                ErrorCode::InvalidField,
                format!("{:?} is reported twice", line.player),
            ));
        }
    }
    let records = records(&app).await?;
    let (mut updated, mut conflicts) = (Vec::new(), Vec::new());
    for line in &body.players {
        let to = location(&line.location)?;
        match records
            .locate_player(&id, &line.player, to, Some(line.version))
            .await
            .map_err(unavailable)?
        {
            Located::Done(now) => {
                moved(&app, &session, &now).await;
                updated.push(now);
            }
            Located::Stale(now) => conflicts.push(now),
            Located::Missing => return Err(no_player(&line.player)),
        }
    }
    Ok(Json(json!({ "updated": updated, "conflicts": conflicts })))
}

/// `GET /api/v2/sessions/{id}/state` (`game:read`): the game's own state and its version.
pub(crate) async fn read_state(
    State(app): State<App>,
    Keyed(key, _): Keyed<Reads>,
    Segment(id): Segment<String>,
) -> Result<Json<Value>, AppError> {
    let session = session_for(&app, &key, &id).await?;
    Ok(Json(
        json!({ "state": session.state, "version": session.state_version }),
    ))
}

/// A state write.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateBody {
    state: Value,
    /// The version the writer read (0 before the first write).
    version: u64,
}

/// `PUT /api/v2/sessions/{id}/state` `{"state", "version"}` (`game:write`, idempotent):
/// replace the game's state if its version is still `version`; the answer holds the new one.
pub(crate) async fn write_state(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment(id): Segment<String>,
    JsonBody(body): JsonBody<StateBody>,
) -> Result<Json<Value>, AppError> {
    session_for(&app, &key, &id).await?;
    if body.state.to_string().len() > STATE_MAX {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("`state` is at most {STATE_MAX} bytes of JSON"),
        ));
    }
    match records(&app)
        .await?
        .write_state(&id, &body.state, body.version)
        .await
        .map_err(unavailable)?
    {
        StateWrite::Done(version) => Ok(Json(json!({ "version": version }))),
        StateWrite::Stale(state, version) => Err(AppError::new(
            ErrorCode::VersionConflict,
            format!("the state is at version {version} now; read it and write again"),
        )
        .with_details(json!({ "state": state, "version": version }))),
        StateWrite::Missing => Err(no_session(&id)),
    }
}

/// The end of a game.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndBody {
    /// Places, best first; a group is a tie. Only the session's players, each once.
    ranking: Vec<Vec<String>>,
    /// Anything else the game wants kept (scores, awards).
    #[serde(default)]
    results: Value,
    /// Send every player back to the lobby now (default true).
    #[serde(default = "yes")]
    return_players: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v2/sessions/{id}/end` `{"ranking", "results"?, "return_players"?}`
/// (`game:write`, idempotent): the game ended. The results are kept with the session, the
/// party records the game with its ranking (in its `history`) and, unless
/// `return_players` is false, every player is back in the lobby.
pub(crate) async fn end(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment(id): Segment<String>,
    JsonBody(body): JsonBody<EndBody>,
) -> Result<Json<Value>, AppError> {
    let session = session_for(&app, &key, &id).await?;
    let mut seen = HashSet::new();
    for player in body.ranking.iter().flatten() {
        if !session.players.iter().any(|p| p.id == *player) {
            return Err(no_player(player));
        }
        if !seen.insert(player) {
            return Err(AppError::new(
                ErrorCode::InvalidField,
                format!("{player:?} is ranked twice"),
            ));
        }
    }
    if body.ranking.iter().any(Vec::is_empty) {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            "a place of `ranking` names at least one player",
        ));
    }
    let kept = json!({ "ranking": body.ranking, "results": body.results });
    if kept.to_string().len() > RESULTS_MAX {
        return Err(AppError::new(
            ErrorCode::InvalidField,
            format!("the results are at most {RESULTS_MAX} bytes of JSON"),
        ));
    }
    let records = records(&app).await?;
    let now = app.clock_ms();
    if !records
        .end_session(&id, Some(&kept), now)
        .await
        .map_err(unavailable)?
    {
        return Err(AppError::new(
            ErrorCode::GameOver,
            format!("the session is {} already", session.status),
        ));
    }
    let session = Session {
        status: "ended".to_owned(),
        results: Some(kept.clone()),
        ended_ms: Some(now),
        ..session
    };
    app.tell_finished(&session, Some(&kept["ranking"])).await;
    if body.return_players {
        return_to_lobby(&app, records, &session, None).await?;
    }
    let session = session_for(&app, &key, &id).await?;
    Ok(Json(session_view(&app, &session).await))
}

/// Whom to send back.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReturnBody {
    /// These players; everyone when absent.
    players: Option<Vec<String>>,
}

async fn return_to_lobby(
    app: &App,
    records: &Records,
    session: &Session,
    players: Option<&[String]>,
) -> Result<(), AppError> {
    for p in &session.players {
        if players.is_none_or(|only| only.contains(&p.id)) && p.location != "lobby" {
            let located = records
                .locate_player(&session.id, &p.id, "lobby", None)
                .await
                .map_err(unavailable)?;
            if let Located::Done(now) = located {
                moved(app, session, &now).await;
            }
        }
    }
    Ok(())
}

/// `POST /api/v2/sessions/{id}/return` `{"players"?}` (`game:write`, idempotent): send
/// these players (or everyone) back to the lobby. Everyone, while the game is playing,
/// ends it without a ranking: the party records it so and is back in its lobby.
pub(crate) async fn return_players(
    State(app): State<App>,
    Keyed(key, _): Keyed<Writes>,
    Segment(id): Segment<String>,
    JsonBody(body): JsonBody<ReturnBody>,
) -> Result<Json<Value>, AppError> {
    let session = session_for(&app, &key, &id).await?;
    if let Some(only) = &body.players
        && let Some(stranger) = only
            .iter()
            .find(|p| !session.players.iter().any(|s| s.id == **p))
    {
        return Err(no_player(stranger));
    }
    let records = records(&app).await?;
    return_to_lobby(&app, records, &session, body.players.as_deref()).await?;
    let now = app.clock_ms();
    if body.players.is_none()
        && records
            .end_session(&id, None, now)
            .await
            .map_err(unavailable)?
    {
        let returned = Session {
            status: "returned".to_owned(),
            ended_ms: Some(now),
            ..session
        };
        app.tell_finished(&returned, None).await;
    }
    let session = session_for(&app, &key, &id).await?;
    Ok(Json(session_view(&app, &session).await))
}
