//! One WebSocket connection's run loop: read and answer the client's frames, ping it, finish
//! the writes the shared socket could not take at once, and close with a reason.

use super::frame::{OP_PING, close_frame};
use super::socket::{Reader, Socket};
use crate::app::App;
use crate::limits::{self, Slot};
use crate::queue::ConnQueue;
use crate::session::{Flow, Peer, Session, connection_span};
use arbiter_engine::Outbox;
use arbiter_protocol::{Encoding, close};
use bytes::Bytes;
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, MissedTickBehavior, Sleep, timeout};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tracing::Instrument;

/// Read buffer per connection. tungstenite zero-fills the whole buffer before each read, so
/// its 128 KiB default costs ~138 KB of RSS per idle connection and much CPU per frame.
const READ_BUFFER: usize = 4 * 1024;

/// Bytes a connection handles before its task lets the others run. tokio's budget counts
/// socket reads, not bytes or frames: a client sending large frames as fast as it can would
/// otherwise hold the node's thread for ~1 ms per turn (128 reads and what they hold), and
/// every well-behaved connection queued behind a few of those waits for all of them.
const YIELD_AFTER: usize = 16 * 1024;

/// Charge `read` bytes to the connection's read budget; `true` (and `sleep` set to the
/// end of the pause) when it must stop reading.
fn pause(budget: &mut limits::ReadBudget, sleep: Pin<&mut Sleep>, read: usize) -> bool {
    match budget.charge(read) {
        Some(wait) => {
            sleep.reset(Instant::now() + wait);
            true
        }
        None => false,
    }
}

/// How a connection's messages are spoken.
pub(crate) enum Dialect {
    /// Arbiter's own protocol: rooms write a member's frames straight onto the socket.
    Native,
    /// The Go game server's, translated by [`crate::hub`] for a client interested in this
    /// game (`?game=`): every frame passes through the translation.
    Hub(Option<String>),
}

/// Serve one upgraded connection until it closes, in its own span.
pub(super) async fn run<T>(
    app: App,
    io: T,
    encoding: Encoding,
    request_id: String,
    slot: Slot,
    dialect: Dialect,
) where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let conn = app.next_conn_id();
    let socket = Arc::new(Socket::new(io, encoding));
    match dialect {
        Dialect::Native => {
            let queue = app.new_queue(encoding, Some(socket.clone()));
            let session = Session::new(app.clone(), queue.clone(), conn, slot);
            serve(app, socket, queue, session)
                .instrument(connection_span(conn, "ws", &request_id))
                .await;
        }
        Dialect::Hub(game) => {
            let queue = app.new_queue(encoding, None);
            let session = Session::new(app.clone(), queue.clone(), conn, slot);
            let peer = crate::hub::Client::new(app.clone(), session, queue.clone(), game);
            serve(app, socket, queue, peer)
                .instrument(connection_span(conn, "hub", &request_id))
                .await;
        }
    }
}

async fn serve<T, P>(app: App, socket: Arc<Socket<T>>, queue: Arc<ConnQueue>, mut session: P)
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    P: Peer,
{
    let alive = app.connection_opened("ws");
    tracing::debug!("connection opened");
    let settings = app.settings().clone();
    let encoding = queue.encoding();
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
    // Spread like the header deadline: sockets upgraded together do not all close together.
    static UPGRADED: AtomicU64 = AtomicU64::new(0);
    let hello_deadline = tokio::time::sleep(limits::spread(
        settings.hello_timeout,
        UPGRADED.fetch_add(1, Ordering::Relaxed),
    ));
    tokio::pin!(hello_deadline);
    // First tick one interval from now: `interval`'s immediate first tick would be awaited
    // here, and under paused time (tests) "immediate" waits for the clock's next millisecond.
    let mut heartbeat = tokio::time::interval_at(
        Instant::now() + settings.heartbeat_interval,
        settings.heartbeat_interval,
    );
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    // Past its read budget the connection reads nothing until `read_pause`; bytes read since
    // this task last let others run (see `YIELD_AFTER`).
    let mut budget = limits::ReadBudget::new(settings.limits.read_kib);
    let read_pause = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(read_pause);
    let mut paused = false;
    let mut unyielded = 0usize;

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
                let items = session.outgoing(drained.items).await;
                let bytes = socket.frame_drained(drained.rest, items);
                match timeout(settings.write_timeout, socket.write_all(&bytes)).await {
                    Ok(Ok(())) => queue.written(),
                    Ok(Err(_)) => break None,
                    Err(_) => break Some((close::TOO_SLOW, "the client stopped reading")),
                }
                if drained.moved {
                    break Some((close::SERVICE_RESTART, ROOM_MOVED));
                }
            }
            () = &mut read_pause, if paused => {
                // Not silent: its frames wait in the socket.
                last_heard = Instant::now();
                paused = pause(&mut budget, read_pause.as_mut(), 0);
            }
            incoming = stream.next(), if !paused => {
                last_heard = Instant::now();
                let read = incoming.as_ref().map_or(0, |m| m.as_ref().map_or(0, Message::len));
                let flow = match incoming {
                    None => break None,
                    // The closing handshake: answer with a close frame, as RFC 6455 asks.
                    Some(Ok(Message::Close(frame))) => break Some((echo(frame.as_ref()), "")),
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
                paused = pause(&mut budget, read_pause.as_mut(), read);
                unyielded += read;
                if unyielded >= YIELD_AFTER {
                    unyielded = 0;
                    tokio::task::yield_now().await;
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
    let items = session.outgoing(drained.items).await;
    let mut bytes = socket.frame_drained(drained.rest, items);
    if let Some((code, reason)) = closing {
        bytes.extend_from_slice(&close_frame(code, reason));
    }
    let _ = timeout(settings.write_timeout, socket.write_all(&bytes)).await;
    session.end().await;
    // The connection no longer counts as open, nor holds up a stopping server (which waits
    // for every handle on the app to go), from here.
    drop((alive, app));
    if closing.is_some() {
        // The closing handshake: drop what the client still sends until its close frame.
        // Closing a socket with unread bytes makes the kernel answer with a reset, which can
        // destroy our close frame (and the answers before it) before the client reads them.
        let _ = timeout(CLOSE_LINGER, async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    match closing {
        Some((code, reason)) => tracing::debug!(code, reason, "connection closed"),
        None => tracing::debug!("connection closed by the client"),
    }
}

/// The code to answer a client's close with: its own, when it may be sent on the wire.
fn echo(frame: Option<&tungstenite::protocol::CloseFrame>) -> u16 {
    match frame.map(|f| u16::from(f.code)) {
        Some(code @ (1000..=1003 | 1007..=1011 | 3000..=4999)) => code,
        _ => close::NORMAL,
    }
}

/// How long a server-initiated close waits for the client's close frame.
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Why a connection closes when a room it is in moved to another node.
pub(crate) const ROOM_MOVED: &str = "a room moved to another node; reconnect and resume";

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
