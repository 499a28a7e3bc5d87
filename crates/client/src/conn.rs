//! The background task that owns the socket: it reads frames, routes them to waiters and views,
//! forwards them to [`Events`](crate::Events), and writes the frames the handles queue.

use crate::error::{ClientError, CloseInfo};
use crate::state::Shared;
use arbiter_protocol::{ClientMsg, ServerMsg};
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

/// Encode a client message as a text frame.
pub(crate) fn encode(msg: &ClientMsg) -> Result<Message, ClientError> {
    serde_json::to_string(msg)
        .map(Message::text)
        .map_err(|e| ClientError::Encode(e.to_string()))
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
    mut outgoing: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<ServerMsg>,
) {
    let (mut sink, mut stream) = ws.split();
    // Our close frame went out: nothing may follow it.
    let mut closing = false;
    let mut handles_gone = false;
    let info = loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let Some(room) = on_text(&shared, &events, &text) else { continue };
                    if closing {
                        continue;
                    }
                    match encode(&ClientMsg::Sync { room }) {
                        Ok(sync) => {
                            if let Err(e) = sink.send(sync).await {
                                break lost(e);
                            }
                        }
                        Err(e) => warn!(error = %e, "cannot encode sync"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    // Flush the close reply tungstenite queued (unless this was the reply to
                    // ours), then stop: waiting for the server to drop TCP could hang.
                    let _ = sink.flush().await;
                    break close_info(frame);
                }
                Some(Ok(Message::Binary(_))) => warn!("ignoring a binary frame"),
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

/// Decode and route one text frame; returns a room that needs a `sync`.
fn on_text(
    shared: &Shared,
    events: &mpsc::UnboundedSender<ServerMsg>,
    text: &str,
) -> Option<String> {
    let msg = match serde_json::from_str::<ServerMsg>(text) {
        Ok(msg) => msg,
        Err(e) => {
            warn!(error = %e, "ignoring a frame that is not protocol v1");
            return None;
        }
    };
    // Route before publishing, so whoever sees the event also sees its effect.
    let resync = shared.lock().route(&msg);
    // Nobody may be listening; the client works without an `Events` reader.
    let _ = events.send(msg);
    resync
}
