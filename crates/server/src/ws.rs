//! The WebSocket transport: one task per connection reads frames into its [`Session`],
//! writes the connection's queue (several queued messages go out as one batched frame),
//! pings the client and notices when it stops answering.

use crate::app::App;
use crate::session::{Flow, Session};
use arbiter_protocol::{Encoding, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, close};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior, timeout};

/// Read buffer per connection. tungstenite zero-fills the whole buffer before each read, so
/// its 128 KiB default costs ~138 KB of RSS per idle connection and much CPU per frame.
const READ_BUFFER: usize = 4 * 1024;

/// `GET /ws`. The subprotocol picks the encoding: `arbiter.v1.msgpack` or JSON.
pub(crate) async fn upgrade(ws: WebSocketUpgrade, State(app): State<App>) -> Response {
    let cap = app.settings().max_frame;
    ws.read_buffer_size(READ_BUFFER)
        .max_message_size(cap)
        .max_frame_size(cap)
        .protocols([SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON])
        .on_upgrade(move |socket| run(app, socket))
}

async fn run(app: App, socket: WebSocket) {
    let _alive = app.connection_opened();
    let encoding = socket
        .protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Encoding::from_subprotocol)
        .unwrap_or_default();
    let settings = app.settings().clone();
    let queue = app.new_queue(encoding);
    let mut session = Session::new(app.clone(), queue.clone());
    let (mut sink, mut stream) = socket.split();

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
                let frames: Vec<Bytes> = drained.frames.into_iter().map(|f| f.bytes).collect();
                match timeout(settings.write_timeout, write(&mut sink, encoding, &frames)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(())) => break None,
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
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Flow::Continue,
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
                let ping = sink.send(Message::Ping(Bytes::new()));
                if !matches!(timeout(settings.write_timeout, ping).await, Ok(Ok(()))) {
                    break None;
                }
            }
            () = &mut hello_deadline, if !session.authenticated() => {
                break Some((close::HELLO_TIMEOUT, "no hello within the handshake deadline"));
            }
        }
    };
    if let Some((code, reason)) = closing {
        // Deliver what is already queued (answers, the last patches) before saying why.
        let last: Vec<Bytes> = queue.drain().frames.into_iter().map(|f| f.bytes).collect();
        let goodbye = async {
            write(&mut sink, encoding, &last).await?;
            let frame = CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            };
            sink.send(Message::Close(Some(frame))).await.map_err(|_| ())
        };
        let _ = timeout(settings.write_timeout, goodbye).await;
    }
    session.end().await;
}

/// Write queued messages: one frame, or one batch frame (an array) for several.
async fn write<S>(sink: &mut S, encoding: Encoding, frames: &[Bytes]) -> Result<(), ()>
where
    S: SinkExt<Message> + Unpin,
{
    let bytes = match frames {
        [] => return Ok(()),
        [one] => one.clone(),
        many => encoding.batch(many),
    };
    let msg = match encoding {
        // JSON frames are produced from `String`s by the server itself: valid UTF-8.
        Encoding::Json => Message::Text(Utf8Bytes::try_from(bytes).map_err(|_| ())?),
        Encoding::MsgPack => Message::Binary(bytes),
    };
    sink.send(msg).await.map_err(|_| ())
}

/// Map a read error to the close code that explains it, when the socket can still say it.
fn read_error_close(e: axum::Error) -> Option<(u16, &'static str)> {
    let inner = e.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => Some((
            close::MESSAGE_TOO_BIG,
            "frame exceeds the server's size cap",
        )),
        Some(tungstenite::Error::Utf8(_)) => {
            Some((close::INVALID_PAYLOAD, "text frame is not valid UTF-8"))
        }
        Some(tungstenite::Error::Protocol(_)) => {
            Some((close::PROTOCOL_ERROR, "WebSocket protocol violation"))
        }
        _ => None,
    }
}
