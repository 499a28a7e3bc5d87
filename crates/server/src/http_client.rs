//! A minimal HTTP/1.1 client over hyper: one request per connection, for the admin API's
//! forwarding between cluster nodes and the `arbiter admin` command. Nothing here is on a
//! game's path.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use std::io;
use std::time::Duration;
use tokio::net::TcpStream;

/// How long one request may take, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read.
const MAX_BODY: usize = 64 << 20;

/// Send one request to `addr` (`host:port`) and read the whole answer.
pub(crate) async fn call(
    addr: &str,
    method: Method,
    path_and_query: &str,
    headers: &[(header::HeaderName, String)],
    body: Bytes,
) -> io::Result<(StatusCode, Bytes)> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(header::HOST, addr)
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let req = req.body(Body::from(body)).map_err(io::Error::other)?;
        let res = sender.send_request(req).await.map_err(io::Error::other)?;
        let status = res.status();
        let bytes = axum::body::to_bytes(Body::new(res.into_body()), MAX_BODY)
            .await
            .map_err(io::Error::other)?;
        driver.abort();
        Ok((status, bytes))
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("{addr} did not answer")))?
}
