//! The buzzer's backend: it serves the page and makes every call to Arbiter's external-game
//! API with its key, so the key never reaches a browser. The first member to buzz wins.
//!
//! * `GET /` — the page (players open Arbiter's ticket URL, `/?session=<token>`);
//! * `POST /join {"token"}` — validate the token, report the player in the game;
//! * `POST /buzz {"token"}` — claim the win in the session's state (a version conflict means
//!   someone was faster), report the end with the ranking; everyone goes back to the party.
//!
//! Each call to Arbiter carries an `Idempotency-Key` derived from what it does, so a retried
//! page request is answered again by Arbiter rather than applied twice.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The game's id at Arbiter.
pub(crate) const GAME: &str = "buzzer";

/// Where Arbiter is and the key to call it with.
pub(crate) struct Arbiter {
    /// `host:port` of Arbiter's HTTP listener.
    pub(crate) addr: String,
    /// The API key (`game:read` and `game:write`, ideally limited to `buzzer`).
    pub(crate) key: String,
}

impl Arbiter {
    /// One call to Arbiter: the status and the JSON answer.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        idempotency: Option<&str>,
        body: &Value,
    ) -> Result<(StatusCode, Value), String> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.addr)
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-api-key", &self.key);
        if let Some(key) = idempotency {
            req = req.header("idempotency-key", key);
        }
        let req = req
            .body(Body::from(body.to_string()))
            .map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = axum::body::to_bytes(Body::new(res.into_body()), 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Register the buzzer, played at `url`.
    pub(crate) async fn register(&self, url: &str) -> Result<Value, String> {
        let game = json!({
            "id": GAME, "name": "Buzzer", "url": url, "min_players": 2, "max_players": 8,
            "settings_schema": {"type": "object"},
        });
        let idem = format!("register-{url}");
        match self
            .call(Method::POST, "/api/v2/games", Some(&idem), &game)
            .await?
        {
            (status, game) if status.is_success() => Ok(game),
            (status, answer) => Err(format!("registering failed: {status} {answer}")),
        }
    }
}

/// The backend's own state: where Arbiter is, and its public web address (for the link back).
struct Buzzer {
    arbiter: Arbiter,
    arbiter_web: String,
}

/// The router of the buzzer's backend.
pub(crate) fn router(arbiter: Arbiter, arbiter_web: String) -> axum::Router {
    let state = Arc::new(Buzzer {
        arbiter,
        arbiter_web,
    });
    axum::Router::new()
        .route("/", get(page))
        .route("/join", post(join))
        .route("/buzz", post(buzz))
        .with_state(state)
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// A refusal for the page.
fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": {"message": message.into()}}))).into_response()
}

impl Buzzer {
    /// The session a token opens, and the player it names.
    async fn validate(&self, token: &str) -> Result<Value, Response> {
        let body = json!({ "token": token });
        match self
            .arbiter
            .call(Method::POST, "/api/v2/sessions/validate", None, &body)
            .await
        {
            Ok((StatusCode::OK, valid)) => Ok(valid),
            Ok((status, answer)) => Err(refused(status, answer["error"]["message"].to_string())),
            Err(e) => Err(refused(StatusCode::BAD_GATEWAY, e)),
        }
    }

    /// What the page shows.
    fn view(&self, valid: &Value, winner: Option<&str>) -> Value {
        let players = &valid["session"]["players"];
        let name = |id: &str| {
            players
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["id"] == id))
                .map_or(Value::Null, |p| p["name"].clone())
        };
        json!({
            "me": valid["player"]["id"], "me_name": valid["player"]["name"],
            "players": players, "winner": winner, "winner_name": winner.map(name),
            "lobby": format!("{}/#room={}", self.arbiter_web, valid["party"]["code"].as_str().unwrap_or("")),
        })
    }
}

/// `POST /join`: the player arrived in the game.
async fn join(State(buzzer): State<Arc<Buzzer>>, Json(body): Json<TokenBody>) -> Response {
    let valid = match buzzer.validate(&body.token).await {
        Ok(valid) => valid,
        Err(refusal) => return refusal,
    };
    let session = valid["session"]["id"].as_str().unwrap_or_default();
    let me = valid["player"]["id"].as_str().unwrap_or_default();
    if valid["player"]["location"] != "game" {
        let path = format!("/api/v2/sessions/{session}/players/{me}/status");
        let report = json!({ "location": "game", "version": valid["player"]["version"] });
        let idem = format!("join-{session}-{me}");
        // A conflict means another tab reported first: the player is in the game either way.
        let _ = buzzer
            .arbiter
            .call(Method::POST, &path, Some(&idem), &report)
            .await;
    }
    let winner = valid["session"]["state"]["winner"].as_str();
    Json(buzzer.view(&valid, winner)).into_response()
}

/// `POST /buzz`: claim the win, unless someone was faster.
async fn buzz(State(buzzer): State<Arc<Buzzer>>, Json(body): Json<TokenBody>) -> Response {
    let valid = match buzzer.validate(&body.token).await {
        Ok(valid) => valid,
        Err(refusal) => return refusal,
    };
    let session = valid["session"]["id"].as_str().unwrap_or_default();
    let me = valid["player"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(winner) = valid["session"]["state"]["winner"].as_str() {
        return Json(buzzer.view(&valid, Some(winner))).into_response();
    }
    let state_path = format!("/api/v2/sessions/{session}/state");
    let claim = json!({ "state": {"winner": me}, "version": valid["session"]["state_version"] });
    let idem = format!("buzz-{session}-{me}");
    let winner = match buzzer
        .arbiter
        .call(Method::PUT, &state_path, Some(&idem), &claim)
        .await
    {
        Ok((StatusCode::OK, _)) => me.clone(),
        // Someone else's claim landed first: theirs is the state now.
        Ok((StatusCode::CONFLICT, answer)) => answer["error"]["details"]["state"]["winner"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        Ok((status, answer)) => return refused(status, answer.to_string()),
        Err(e) => return refused(StatusCode::BAD_GATEWAY, e),
    };
    if winner == me {
        let others: Vec<Value> = valid["session"]["players"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["id"] != me.as_str())
                    .map(|p| p["id"].clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut ranking = vec![json!([me])];
        if !others.is_empty() {
            ranking.push(Value::Array(others));
        }
        let end = json!({ "ranking": ranking, "results": {"buzzed_first": me} });
        let path = format!("/api/v2/sessions/{session}/end");
        let idem = format!("end-{session}");
        if let Err(e) = buzzer
            .arbiter
            .call(Method::POST, &path, Some(&idem), &end)
            .await
        {
            return refused(StatusCode::BAD_GATEWAY, e);
        }
    }
    Json(buzzer.view(&valid, Some(&winner))).into_response()
}
