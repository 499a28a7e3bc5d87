//! Which web origins may use the server from a browser.
//!
//! With no allow-list (the default) any page may open a WebSocket and no CORS headers are
//! sent, so plain HTTP calls work from pages the server serves itself. With an allow-list
//! (`--allow-origin`), WebSocket upgrades and requests from other origins are refused, and
//! listed origins get CORS headers (preflights answered) so the REST API and the long-poll
//! transport work from their pages too.

use crate::app::App;
use crate::error::AppError;
use arbiter_protocol::ErrorCode;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Whether `origin` may use the server under `allowed` (`*` allows every origin).
fn permitted(allowed: &[String], origin: &str) -> bool {
    allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
}

/// Middleware: refuse foreign origins and add CORS headers for allowed ones.
pub(crate) async fn check(State(app): State<App>, req: Request, next: Next) -> Response {
    let allowed = &app.settings().allowed_origins;
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let (Some(origin), false) = (origin, allowed.is_empty()) else {
        return next.run(req).await;
    };
    if !permitted(allowed, &origin) {
        return AppError::new(
            ErrorCode::ForbiddenOrigin,
            format!("origin {origin} is not allowed"),
        )
        .into_response();
    }
    let mut response = if req.method() == Method::OPTIONS {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        r
    } else {
        next.run(req).await
    };
    if let Ok(value) = HeaderValue::from_str(&origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::permitted;

    #[test]
    fn origins_match_exactly_or_by_star() {
        let list = vec!["https://play.example".to_owned()];
        assert!(permitted(&list, "https://play.example"));
        assert!(permitted(&list, "HTTPS://PLAY.EXAMPLE"));
        assert!(!permitted(&list, "https://play.example.evil"));
        assert!(permitted(&["*".to_owned()], "http://anything"));
    }
}
