//! A request id for every HTTP request: taken from the client's `x-request-id` when it is a
//! sane token (so a proxy's id follows the request through), made up otherwise, answered in
//! the response's `x-request-id`, and a field of the span every log line of the request —
//! and of the WebSocket or long-poll connection it opens — is written in.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use tracing::Instrument;

/// The header, in and out.
pub(crate) const HEADER: &str = "x-request-id";

/// Longest id taken from a client.
const MAX_LEN: usize = 64;

/// The client's id if it is 1–64 visible ASCII characters, else a fresh one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_LEN && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(
            || format!("{:016x}", rand::rng().random::<u64>()),
            str::to_owned,
        )
}

/// A request's id, in its extensions for handlers that start a connection.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub(crate) String);

impl RequestId {
    /// The id a request was given (`-` outside the middleware, e.g. in unit tests).
    pub(crate) fn of(req: &Request) -> String {
        req.extensions()
            .get::<Self>()
            .map_or_else(|| "-".to_owned(), |r| r.0.clone())
    }
}

/// The middleware.
pub(crate) async fn tag(mut req: Request, next: Next) -> Response {
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = res.status().as_u16(), "answered"));
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    res
}
