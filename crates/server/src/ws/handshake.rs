//! The opening handshake (RFC 6455 §4.2): check the upgrade request, pick the encoding from
//! the subprotocol, answer `101 Switching Protocols` and hand the upgraded socket to
//! [`super::conn::run`].

use super::conn::{self, Dialect};
use crate::app::App;
use crate::error::AppError;
use crate::request_id::RequestId;
use arbiter_protocol::{Encoding, ErrorCode, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// `GET /ws`: the opening handshake (RFC 6455 §4.2). The subprotocol picks the encoding:
/// `arbiter.v1.msgpack` or JSON.
pub(crate) async fn upgrade(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    accept(app, peer, req, Dialect::Native)
}

/// Check an opening handshake and, if it is one, serve the upgraded socket in `dialect`.
/// The hub's dialect is JSON only and names no subprotocol.
pub(crate) fn accept(app: App, peer: SocketAddr, mut req: Request, dialect: Dialect) -> Response {
    let headers = req.headers();
    if req.version() != Version::HTTP_11
        || !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
    {
        return Refusal::NotAnUpgrade.into_response();
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Refusal::UnsupportedVersion.into_response();
    }
    let key = match headers.get(header::SEC_WEBSOCKET_KEY) {
        Some(key)
            if base64::engine::general_purpose::STANDARD
                .decode(key.as_bytes())
                .is_ok_and(|k| k.len() == 16) =>
        {
            key.clone()
        }
        _ => return Refusal::BadKey.into_response(),
    };
    let slot = match app.admit(app.client_ip(peer, headers)) {
        Ok(slot) => slot,
        Err(over) => return over.refusal().into_response(),
    };
    let encoding = match dialect {
        Dialect::Native => pick_subprotocol(headers),
        Dialect::Hub(_) => None,
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let request_id = RequestId::of(&req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let encoding = encoding.unwrap_or_default();
                conn::run(app, io, encoding, request_id, slot, dialect).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .expect("base64 is a valid header value");
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(encoding) = encoding {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(encoding.subprotocol()),
        );
    }
    res
}

/// Why an opening handshake was refused; answered in the REST API's error shape.
enum Refusal {
    NotAnUpgrade,
    UnsupportedVersion,
    BadKey,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let message = match self {
            Self::NotAnUpgrade => {
                "not a WebSocket upgrade: send an HTTP/1.1 GET with `Connection: upgrade` and `Upgrade: websocket`"
            }
            Self::UnsupportedVersion => {
                "unsupported WebSocket version: this server speaks version 13"
            }
            Self::BadKey => "`Sec-WebSocket-Key` must be 16 bytes in base64",
        };
        let mut res = AppError::new(ErrorCode::BadMessage, message).into_response();
        if let Self::UnsupportedVersion = self {
            // RFC 6455 §4.4: say which version we speak.
            *res.status_mut() = StatusCode::UPGRADE_REQUIRED;
            res.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
        }
        res
    }
}

/// True when a comma-separated header lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

/// The encoding named by the first subprotocol we speak, if the client offered any.
fn pick_subprotocol(headers: &HeaderMap) -> Option<Encoding> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .find(|p| *p == SUBPROTOCOL_MSGPACK || *p == SUBPROTOCOL_JSON)
        .and_then(Encoding::from_subprotocol)
}
