//! The background task that owns the socket: it reads frames, routes them to waiters and views,
//! forwards them to [`Events`](crate::Events), and writes the frames the handles queue.

use crate::error::{ClientError, CloseInfo};
use crate::state::Shared;
use arbiter_protocol::{ClientMsg, Encoding, ServerMsg};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::{debug, warn};

/// A client WebSocket as `connect_async` returns it.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Encode a client message as a frame of the connection's encoding.
pub(crate) fn encode(encoding: Encoding, msg: &ClientMsg) -> Result<Message, ClientError> {
    match encoding {
        Encoding::Json => serde_json::to_string(msg)
            .map(Message::text)
            .map_err(|e| ClientError::Encode(e.to_string())),
        Encoding::MsgPack => rmp_serde::to_vec_named(msg)
            .map(Message::binary)
            .map_err(|e| ClientError::Encode(e.to_string())),
    }
}

/// Decode a server frame (one message, or a batch of them) of the connection's encoding.
pub(crate) fn decode(
    encoding: Encoding,
    frame: &Message,
) -> Option<Result<Vec<ServerMsg>, String>> {
    let bytes: &[u8] = match (encoding, frame) {
        (Encoding::Json, Message::Text(t)) => t.as_bytes(),
        (Encoding::MsgPack, Message::Binary(b)) => b,
        (_, Message::Text(_) | Message::Binary(_)) => {
            return Some(Err("frame type does not match the encoding".into()));
        }
        _ => return None,
    };
    Some(encoding.decode_server(bytes).map_err(|e| e.0))
}

/// A normal-closure close frame.
pub(crate) fn normal_close() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// How a received close frame ended the connection.
pub(crate) fn close_info(frame: Option<CloseFrame>) -> CloseInfo {
    frame
        .map(|f| CloseInfo {
            code: Some(f.code.into()),
            reason: f.reason.to_string(),
        })
        .unwrap_or_default()
}

/// Run the connection until the socket ends, then fail every waiter with the close.
///
/// When every handle is dropped the task closes the socket normally and keeps reading, so an
/// `Events` still held sees the frames up to the close.
pub(crate) async fn run(
    ws: Socket,
    encoding: Encoding,
    mut outgoing: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<ServerMsg>,
) {
    let (mut sink, mut stream) = ws.split();
    // Our close frame went out: nothing may follow it.
    let mut closing = false;
    let mut handles_gone = false;
    let info = 'conn: loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => {
                    let resync = on_frame(&shared, &events, encoding, &msg);
                    if closing {
                        continue;
                    }
                    for room in resync {
                        match encode(encoding, &ClientMsg::Sync { room }) {
                            Ok(sync) => {
                                if let Err(e) = sink.send(sync).await {
                                    break 'conn lost(e);
                                }
                            }
                            Err(e) => warn!(error = %e, "cannot encode sync"),
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    // Flush the close reply tungstenite queued (unless this was the reply to
                    // ours), then stop: waiting for the server to drop TCP could hang.
                    let _ = sink.flush().await;
                    break close_info(frame);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break lost(e),
                None => break lost("connection closed"),
            },
            out = outgoing.recv(), if !handles_gone => {
                let msg = match out {
                    Some(msg) => msg,
                    None => {
                        handles_gone = true;
                        normal_close()
                    }
                };
                if closing {
                    debug!("dropping a frame queued after the close");
                    continue;
                }
                closing = matches!(msg, Message::Close(_));
                if let Err(e) = sink.send(msg).await {
                    break lost(e);
                }
            }
        }
    };
    debug!(code = ?info.code, reason = %info.reason, "connection ended");
    shared.lock().finish(info);
}

/// A connection that ended without a close frame.
fn lost(why: impl ToString) -> CloseInfo {
    CloseInfo {
        code: None,
        reason: why.to_string(),
    }
}

/// Decode and route one frame (a message or a batch); returns rooms that need a `sync`.
fn on_frame(
    shared: &Shared,
    events: &mpsc::UnboundedSender<ServerMsg>,
    encoding: Encoding,
    frame: &Message,
) -> Vec<String> {
    let msgs = match decode(encoding, frame) {
        Some(Ok(msgs)) => msgs,
        Some(Err(e)) => {
            warn!(error = %e, "ignoring a frame that is not protocol v1");
            return Vec::new();
        }
        None => return Vec::new(),
    };
    let mut resync = Vec::new();
    for msg in msgs {
        // Route before publishing, so whoever sees the event also sees its effect.
        resync.extend(shared.lock().route(&msg));
        // Nobody may be listening; the client works without an `Events` reader.
        let _ = events.send(msg);
    }
    resync
}
