//! The WebSocket transport.
//!
//! The handshake is done here rather than by axum's extractor so the connection keeps its
//! socket: rooms write a member's frames straight onto it from their own task (see
//! [`crate::queue`]), and this connection's task is woken only to read, to ping, and to
//! finish writes the socket could not take at once. Reading — frame parsing, unmasking, size
//! caps, UTF-8 checks, answering the client's pings — is tungstenite's.

use crate::app::App;
use crate::error::AppError;
use crate::queue::{ConnQueue, Sent, Wire};
use crate::session::{Flow, Session};
use arbiter_protocol::{Encoding, ErrorCode, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, close};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, MissedTickBehavior, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

/// Read buffer per connection. tungstenite zero-fills the whole buffer before each read, so
/// its 128 KiB default costs ~138 KB of RSS per idle connection and much CPU per frame.
const READ_BUFFER: usize = 4 * 1024;

/// Queued messages are sent as batch frames of at most this many bytes (one bigger message
/// goes alone), so a client catching up never meets one huge frame.
const BATCH_BYTES: usize = 64 * 1024;

/// Frames up to this size are copied behind their header and sent as one buffer; bigger
/// ones go as header + shared bytes in one vectored write.
const COPY_BELOW: usize = 16 * 1024;

/// RFC 6455 §1.3: appended to the client's key before hashing.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;

/// `GET /ws`: the opening handshake (RFC 6455 §4.2). The subprotocol picks the encoding:
/// `arbiter.v1.msgpack` or JSON.
pub(crate) async fn upgrade(State(app): State<App>, mut req: Request) -> Response {
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
        _ => {
            return Refusal::BadKey.into_response();
        }
    };
    let encoding = pick_subprotocol(headers);
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => run(app, TokioIo::new(upgraded), encoding.unwrap_or_default()).await,
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });
    let mut res = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::SEC_WEBSOCKET_ACCEPT, accept_key(key.as_bytes()));
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

fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(ACCEPT_GUID.as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

async fn run<T>(app: App, io: T, encoding: Encoding)
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let _alive = app.connection_opened();
    let settings = app.settings().clone();
    let socket = Arc::new(Socket::new(io, encoding));
    let queue = app.new_queue(encoding, Some(socket.clone()));
    let mut session = Session::new(app.clone(), queue.clone());
    let cap = settings.max_frame;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(cap))
        .max_frame_size(Some(cap));
    let reader = Reader {
        socket: socket.clone(),
        queue: queue.clone(),
    };
    let mut stream = WebSocketStream::from_raw_socket(reader, Role::Server, Some(config)).await;

    let mut shutdown = app.shutdown_signal();
    let stopping = async move {
        // The guard `wait_for` returns must not live across an await point.
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stopping);
    let hello_deadline = tokio::time::sleep(settings.hello_timeout);
    tokio::pin!(hello_deadline);
    let mut heartbeat = tokio::time::interval(settings.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    heartbeat.tick().await;
    let mut last_heard = Instant::now();

    let closing: Option<(u16, &'static str)> = loop {
        tokio::select! {
            biased;
            () = &mut stopping => {
                break Some((close::SERVICE_RESTART, "server restarting; reconnect and resume"));
            }
            () = queue.ready() => {
                let drained = queue.drain();
                if drained.overflowed {
                    break Some((close::TOO_SLOW, "outbound queue overflowed; reconnect and resume"));
                }
                if !drained.resync.is_empty() {
                    session.resync(drained.resync).await;
                }
                let bytes = socket.frame_drained(drained.rest, drained.items);
                match timeout(settings.write_timeout, socket.write_all(&bytes)).await {
                    Ok(Ok(())) => queue.written(),
                    Ok(Err(_)) => break None,
                    Err(_) => break Some((close::TOO_SLOW, "the client stopped reading")),
                }
            }
            incoming = stream.next() => {
                last_heard = Instant::now();
                let flow = match incoming {
                    None | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(text))) if encoding == Encoding::Json => {
                        session.on_frame(text.as_bytes()).await
                    }
                    Some(Ok(Message::Binary(bin))) if encoding == Encoding::MsgPack => {
                        session.on_frame(&bin).await
                    }
                    Some(Ok(Message::Text(_) | Message::Binary(_))) => Flow::Close(
                        close::UNSUPPORTED_DATA,
                        "frame type does not match the negotiated encoding",
                    ),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Flow::Continue,
                    Some(Err(e)) => break read_error_close(e),
                };
                if let Flow::Close(code, reason) = flow {
                    break Some((code, reason));
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= settings.heartbeat_timeout {
                    break Some((close::HEARTBEAT_TIMEOUT, "no frame from the client within the heartbeat timeout"));
                }
                if !queue.push_framed(Bytes::from_static(&[0x80 | OP_PING, 0])) {
                    break None;
                }
            }
            () = &mut hello_deadline, if !session.authenticated() => {
                break Some((close::HELLO_TIMEOUT, "no hello within the handshake deadline"));
            }
        }
    };
    // Take no more frames; deliver what is already queued (answers, the last patches,
    // tungstenite's reply to the client's close), then say why, unless the socket is gone.
    queue.close();
    let drained = queue.drain();
    let mut bytes = socket.frame_drained(drained.rest, drained.items);
    if let Some((code, reason)) = closing {
        bytes.extend_from_slice(&close_frame(code, reason));
    }
    let _ = timeout(settings.write_timeout, socket.write_all(&bytes)).await;
    session.end().await;
}

/// Map a read error to the close code that explains it, when the socket can still say it.
fn read_error_close(e: tungstenite::Error) -> Option<(u16, &'static str)> {
    match e {
        tungstenite::Error::Capacity(_) => Some((
            close::MESSAGE_TOO_BIG,
            "frame exceeds the server's size cap",
        )),
        tungstenite::Error::Utf8(_) => {
            Some((close::INVALID_PAYLOAD, "text frame is not valid UTF-8"))
        }
        tungstenite::Error::Protocol(_) => {
            Some((close::PROTOCOL_ERROR, "WebSocket protocol violation"))
        }
        _ => None,
    }
}

/// Append the header of an unmasked, final server frame (RFC 6455 §5.2).
fn put_header(out: &mut BytesMut, opcode: u8, len: usize) {
    out.put_u8(0x80 | opcode);
    if len < 126 {
        out.put_u8(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(126);
        out.put_u16(len);
    } else {
        out.put_u8(127);
        out.put_u64(len as u64);
    }
}

/// A close frame with its code and reason.
fn close_frame(code: u16, reason: &str) -> BytesMut {
    let mut out = BytesMut::with_capacity(4 + reason.len());
    put_header(&mut out, OP_CLOSE, 2 + reason.len());
    out.put_u16(code);
    out.put_slice(reason.as_bytes());
    out
}

/// One connection's socket, shared by its reader and every writer.
pub(crate) struct Socket<T> {
    io: Mutex<T>,
    opcode: u8,
    encoding: Encoding,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Socket<T> {
    fn new(io: T, encoding: Encoding) -> Self {
        let opcode = match encoding {
            // JSON frames are produced from `String`s by the server itself: valid UTF-8.
            Encoding::Json => OP_TEXT,
            Encoding::MsgPack => OP_BINARY,
        };
        Self {
            io: Mutex::new(io),
            opcode,
            encoding,
        }
    }

    fn io(&self) -> MutexGuard<'_, T> {
        // A write either happened or did not; a poisoned lock leaves nothing half-done.
        self.io.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Write what the socket takes now, without waiting.
    fn try_write(&self, parts: &[&[u8]]) -> Sent {
        let total: usize = parts.iter().map(|b| b.len()).sum();
        if total == 0 {
            return Sent::All;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut io = self.io();
        let mut written = 0;
        // A write may take less than it could; go on until the socket says stop.
        while written < total {
            let io = Pin::new(&mut *io);
            let poll = match parts {
                [one] => io.poll_write(&mut cx, &one[written..]),
                _ => io.poll_write_vectored(&mut cx, &skip(parts, written)),
            };
            match poll {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Sent::Broken,
                Poll::Ready(Ok(n)) => written += n,
                Poll::Pending => break,
            }
        }
        match written {
            0 => Sent::Nothing,
            n if n == total => Sent::All,
            n => {
                let mut rest = BytesMut::with_capacity(total - n);
                for b in skip(parts, n) {
                    rest.put_slice(&b);
                }
                Sent::Part(rest.freeze())
            }
        }
    }

    /// Write everything, waiting for the socket as long as it takes.
    async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n =
                std::future::poll_fn(|cx| Pin::new(&mut *self.io()).poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Frame what the queue gave the transport: leftover bytes first, then consecutive
    /// messages as one frame (a batch frame when several, up to [`BATCH_BYTES`] each), and
    /// pre-framed items as they are.
    fn frame_drained(&self, rest: Option<Bytes>, items: Vec<crate::queue::Item>) -> BytesMut {
        use crate::queue::Item;
        let mut out = BytesMut::new();
        if let Some(rest) = rest {
            out.put_slice(&rest);
        }
        let mut run: Vec<Bytes> = Vec::new();
        let mut run_bytes = 0;
        for item in items {
            match item {
                Item::Msg(frame) => {
                    if run_bytes + frame.bytes.len() > BATCH_BYTES {
                        self.put_frame(&mut out, &std::mem::take(&mut run));
                        run_bytes = 0;
                    }
                    run_bytes += frame.bytes.len();
                    run.push(frame.bytes);
                }
                Item::Framed(bytes) => {
                    self.put_frame(&mut out, &std::mem::take(&mut run));
                    run_bytes = 0;
                    out.put_slice(&bytes);
                }
            }
        }
        self.put_frame(&mut out, &run);
        out
    }

    /// Append one frame carrying `messages`: the message itself, or a batch of several.
    fn put_frame<B: AsRef<[u8]>>(&self, out: &mut BytesMut, messages: &[B]) {
        match messages {
            [] => {}
            [one] => {
                put_header(out, self.opcode, one.as_ref().len());
                out.put_slice(one.as_ref());
            }
            many => {
                put_header(out, self.opcode, self.encoding.batch_len(many));
                self.encoding.batch_into(out, many);
            }
        }
    }
}

impl<T> Wire for Socket<T>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    fn try_send(&self, messages: &[&Bytes]) -> Sent {
        if let [one] = messages
            && one.len() > COPY_BELOW
        {
            // Big: the header, then the shared bytes, in one vectored write.
            let mut header = BytesMut::with_capacity(10);
            put_header(&mut header, self.opcode, one.len());
            return self.try_write(&[&header, one]);
        }
        // Small (or a batch, which is built anyway): one buffer and a plain send cost the
        // kernel less than a two-part writev.
        let payload = match messages {
            [one] => one.len(),
            many => self.encoding.batch_len(many),
        };
        let mut frame = BytesMut::with_capacity(10 + payload);
        self.put_frame(&mut frame, messages);
        self.try_write(&[&frame])
    }

    fn try_send_framed(&self, bytes: &Bytes) -> Sent {
        self.try_write(&[bytes])
    }
}

/// `parts` without their first `n` bytes, as slices for a vectored write.
fn skip<'a>(parts: &[&'a [u8]], mut n: usize) -> Vec<IoSlice<'a>> {
    let mut out = Vec::with_capacity(parts.len());
    for b in parts {
        if n >= b.len() {
            n -= b.len();
        } else {
            out.push(IoSlice::new(&b[n..]));
            n = 0;
        }
    }
    out
}

/// What tungstenite reads from and writes to: reads come from the socket; its own writes
/// (pongs to the client's pings, the reply to a close) join the connection's queue so they
/// keep their place among the frames the rooms write.
struct Reader<T> {
    socket: Arc<Socket<T>>,
    queue: Arc<ConnQueue>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Reader<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.socket.io()).poll_read(cx, buf)
    }
}

impl<T> AsyncWrite for Reader<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(if self.queue.push_framed(Bytes::copy_from_slice(buf)) {
            Ok(buf.len())
        } else {
            Err(io::ErrorKind::BrokenPipe.into())
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::queue::QueueLimits;
    use arbiter_engine::{Frame, FrameKind, Outbox};
    use serde_json::Value;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::net::{TcpListener, TcpStream};

    fn numbered(n: usize) -> Frame {
        Frame {
            kind: FrameKind::Control,
            room: Arc::from(""),
            bytes: Bytes::from(format!(r#"{{"n":{n},"pad":"{}"}}"#, "x".repeat(1000))),
        }
    }

    /// Direct writes, the queue behind a blocked socket and the transport's writes interleave
    /// and the client still reads every frame once, in order, through a real WebSocket parser.
    #[tokio::test]
    async fn frames_keep_their_order_when_the_socket_blocks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let socket = Arc::new(Socket::new(server, Encoding::Json));
        let queued = Arc::new(AtomicUsize::new(0));
        let limits = QueueLimits {
            frames: 1 << 20,
            bytes: 1 << 30,
        };
        let queue = Arc::new(ConnQueue::new(
            Encoding::Json,
            limits,
            queued.clone(),
            Some(socket.clone() as Arc<dyn Wire>),
        ));
        const N: usize = 40_000;
        // Nobody reads yet: the kernel's buffers fill and the rest waits in the queue.
        for n in 0..N / 2 {
            assert!(queue.push(numbered(n)));
        }
        assert!(
            queued.load(Ordering::Relaxed) > 0,
            "20 MB must not fit in the socket's buffers"
        );
        let writer = {
            let (socket, queue) = (socket.clone(), queue.clone());
            tokio::spawn(async move {
                loop {
                    queue.ready().await;
                    let d = queue.drain();
                    let bytes = socket.frame_drained(d.rest, d.items);
                    socket.write_all(&bytes).await.unwrap();
                    queue.written();
                }
            })
        };
        let reader = tokio::spawn(async move {
            let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            let mut next = 0;
            while next < N {
                let Some(Ok(Message::Text(text))) = ws.next().await else {
                    panic!("the stream ended at {next}");
                };
                let v: Value = serde_json::from_str(&text).unwrap();
                let items = match v {
                    Value::Array(items) => items,
                    one => vec![one],
                };
                for item in items {
                    assert_eq!(item["n"], next, "frames out of order");
                    next += 1;
                }
            }
        });
        // More pushes while the transport writes and the client reads, in pairs (as a room
        // flushes a patch with its ack).
        for n in (N / 2..N).step_by(2) {
            assert!(queue.push_all(vec![numbered(n), numbered(n + 1)]));
            if n % 512 == 0 {
                tokio::task::yield_now().await;
            }
        }
        reader.await.unwrap();
        writer.abort();
        let d = queue.drain();
        assert!(
            d.rest.is_none() && d.items.is_empty(),
            "everything was written"
        );
    }

    #[test]
    fn headers_follow_rfc_6455_lengths() {
        for (len, expect) in [
            (0usize, vec![0x81, 0]),
            (125, vec![0x81, 125]),
            (126, vec![0x81, 126, 0, 126]),
            (65_535, vec![0x81, 126, 0xff, 0xff]),
            (65_536, vec![0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let mut out = BytesMut::new();
            put_header(&mut out, OP_TEXT, len);
            assert_eq!(&out[..], &expect[..], "length {len}");
        }
    }

    #[test]
    fn accept_key_matches_the_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
