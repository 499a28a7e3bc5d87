//! The origin allow-list over real sockets: foreign pages are refused, listed ones get CORS.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_server::Settings;
use support::server_with;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf.to_ascii_lowercase()
}

#[tokio::test]
async fn only_listed_origins_may_use_the_server_from_a_browser() {
    let settings = Settings {
        allowed_origins: vec!["http://good.example".into()],
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let url = format!("ws://{}/ws", srv.addr());

    let mut evil = url.as_str().into_client_request().unwrap();
    evil.headers_mut()
        .insert("Origin", "http://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(evil).await.is_err(),
        "a foreign page cannot open a socket"
    );
    let mut good = url.as_str().into_client_request().unwrap();
    good.headers_mut()
        .insert("Origin", "http://good.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(good).await.is_ok());
    // Non-browser clients send no Origin and are not affected.
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_ok());

    let get = |origin: &str| {
        format!(
            "GET /api/v1/games HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
        )
    };
    let ok = raw(srv.addr(), &get("http://good.example")).await;
    assert!(
        ok.starts_with("http/1.1 200")
            && ok.contains("access-control-allow-origin: http://good.example"),
        "{ok}"
    );
    let refused = raw(srv.addr(), &get("http://evil.example")).await;
    assert!(
        refused.starts_with("http/1.1 403") && refused.contains("forbidden_origin"),
        "{refused}"
    );
    let preflight = raw(
        srv.addr(),
        "OPTIONS /lp HTTP/1.1\r\nHost: x\r\nOrigin: http://good.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        preflight.starts_with("http/1.1 204") && preflight.contains("access-control-allow-methods"),
        "{preflight}"
    );
    srv.stop().await.unwrap();
}
