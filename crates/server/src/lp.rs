//! The long-poll transport, for clients that cannot hold a WebSocket (proxies that strip the
//! upgrade, polling clients). Same messages, answers, ordering and resume as the WebSocket;
//! JSON only.
//!
//! * `POST /lp` opens a session: `{"sid": "…"}`.
//! * `POST /lp/{sid}` carries one message or an array of them.
//! * `GET /lp/{sid}?after=N` returns the server's messages numbered above `N`, waiting up to
//!   the poll timeout for one to exist. Messages stay available until a later poll's `after`
//!   passes them, so a poll whose answer was lost is simply repeated.
//! * `DELETE /lp/{sid}` ends the session.
//!
//! A session that is not polled for the idle timeout ends as if its TCP connection had
//! dropped: the rooms mark the player disconnected and hold the seat.

use crate::app::App;
use crate::error::AppError;
use crate::error::{Params, Segment};
use crate::limits::Slot;
use crate::queue::Item;
use crate::request_id::RequestId;
use crate::session::{Flow, Session, connection_span};
use arbiter_engine::ConnId;
use arbiter_protocol::{Encoding, ErrorCode, close};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// A request to a long-poll session's task.
pub(crate) enum LpCmd {
    Send(Bytes, oneshot::Sender<Response>),
    Poll(u64, oneshot::Sender<Response>),
    End,
}

/// Why a session ended, told to the poll that was waiting.
#[derive(Clone, Copy)]
struct Ended {
    code: u16,
    reason: &'static str,
}

/// `POST /lp`: open a session.
pub(crate) async fn open(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    let slot = match app.admit(app.client_ip(peer, req.headers())) {
        Ok(slot) => slot,
        Err(over) => return over.refusal().into_response(),
    };
    let request_id = RequestId::of(&req);
    let sid = format!("{:032x}", rand::rng().random::<u128>());
    let (tx, rx) = mpsc::channel(64);
    app.long_polls().insert(sid.clone(), tx);
    let conn = app.next_conn_id();
    tokio::spawn(
        run(app, sid.clone(), rx, conn, slot).instrument(connection_span(conn, "lp", &request_id)),
    );
    Json(json!({ "sid": sid })).into_response()
}

/// `POST /lp/{sid}`: deliver client messages.
pub(crate) async fn send(
    State(app): State<App>,
    Segment(sid): Segment<String>,
    body: Bytes,
) -> Response {
    ask(&app, &sid, |reply| LpCmd::Send(body, reply)).await
}

#[derive(Deserialize)]
pub(crate) struct PollQuery {
    #[serde(default)]
    after: u64,
}

/// `GET /lp/{sid}?after=N`: wait for server messages.
pub(crate) async fn poll(
    State(app): State<App>,
    Segment(sid): Segment<String>,
    Params(q): Params<PollQuery>,
) -> Response {
    ask(&app, &sid, |reply| LpCmd::Poll(q.after, reply)).await
}

/// `DELETE /lp/{sid}`: end the session.
pub(crate) async fn end(State(app): State<App>, Segment(sid): Segment<String>) -> Response {
    match app.long_polls().get(&sid) {
        Some(tx) => {
            let _ = tx.send(LpCmd::End).await;
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(),
    }
}

async fn ask(
    app: &App,
    sid: &str,
    cmd: impl FnOnce(oneshot::Sender<Response>) -> LpCmd,
) -> Response {
    let Some(tx) = app.long_polls().get(sid) else {
        return not_found();
    };
    let (reply, answer) = oneshot::channel();
    if tx.send(cmd(reply)).await.is_err() {
        return not_found();
    }
    answer.await.unwrap_or_else(|_| not_found())
}

fn not_found() -> Response {
    AppError::new(
        ErrorCode::SessionNotFound,
        "no such long-poll session; open a new one and resume",
    )
    .into_response()
}

/// The messages numbered after `after`, as a JSON body built from already-encoded messages.
fn batch(after: u64, sent: &VecDeque<(u64, Bytes)>, ended: Option<Ended>) -> Response {
    let mut body = format!("{{\"after\":{after},\"messages\":[").into_bytes();
    let mut last = after;
    for (i, (n, msg)) in sent.iter().filter(|(n, _)| *n > after).enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(msg);
        last = *n;
    }
    body.extend_from_slice(format!("],\"last\":{last}").as_bytes());
    if let Some(e) = ended {
        body.extend_from_slice(
            format!(
                ",\"closed\":{{\"code\":{},\"reason\":{}}}",
                e.code,
                json!(e.reason)
            )
            .as_bytes(),
        );
    }
    body.push(b'}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn run(app: App, sid: String, mut rx: mpsc::Receiver<LpCmd>, conn: ConnId, slot: Slot) {
    let _alive = app.connection_opened("lp");
    let settings = app.settings().clone();
    let queue = app.new_queue(Encoding::Json, None);
    let mut session = Session::new(app.clone(), queue.clone(), conn, slot);
    // Numbered messages not yet acknowledged by a later poll.
    let mut sent: VecDeque<(u64, Bytes)> = VecDeque::new();
    let mut next = 1u64;
    let mut waiting: Option<(u64, oneshot::Sender<Response>, Instant)> = None;
    let mut last_poll = Instant::now();
    let mut shutdown = app.shutdown_signal();
    let stopping = async move {
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(stopping);

    let ended: Ended = loop {
        let poll_deadline = waiting.as_ref().map(|(_, _, d)| *d);
        tokio::select! {
            biased;
            () = &mut stopping => break Ended { code: close::SERVICE_RESTART, reason: "server restarting; reconnect and resume" },
            cmd = rx.recv() => match cmd {
                None | Some(LpCmd::End) => break Ended { code: close::NORMAL, reason: "session ended" },
                Some(LpCmd::Send(body, reply)) => {
                    match deliver(&mut session, &body).await {
                        Ok(()) => { let _ = reply.send(StatusCode::NO_CONTENT.into_response()); }
                        Err(flow_end) => {
                            let _ = reply.send(StatusCode::NO_CONTENT.into_response());
                            break flow_end;
                        }
                    }
                }
                Some(LpCmd::Poll(after, reply)) => {
                    last_poll = Instant::now();
                    while sent.front().is_some_and(|(n, _)| *n <= after) {
                        sent.pop_front();
                    }
                    if let Some((_, old, _)) = waiting.take() {
                        // A newer poll replaces an older one; the older gets nothing new.
                        let _ = old.send(batch(after, &VecDeque::new(), None));
                    }
                    if sent.iter().any(|(n, _)| *n > after) {
                        let _ = reply.send(batch(after, &sent, None));
                    } else {
                        waiting = Some((after, reply, Instant::now() + settings.poll_timeout));
                    }
                }
            },
            () = queue.ready() => {
                let drained = queue.drain();
                if drained.overflowed {
                    break Ended { code: close::TOO_SLOW, reason: "outbound queue overflowed; reconnect and resume" };
                }
                if !drained.resync.is_empty() {
                    session.resync(drained.resync).await;
                }
                for bytes in drained.items.into_iter().filter_map(Item::into_message) {
                    sent.push_back((next, bytes));
                    next += 1;
                }
                if let Some((after, reply, _)) = waiting.take() {
                    let _ = reply.send(batch(after, &sent, None));
                    last_poll = Instant::now();
                }
                if drained.moved {
                    break Ended { code: close::SERVICE_RESTART, reason: crate::ws::ROOM_MOVED };
                }
            }
            () = sleep_until_opt(poll_deadline) => {
                if let Some((after, reply, _)) = waiting.take() {
                    let _ = reply.send(batch(after, &sent, None));
                    last_poll = Instant::now();
                }
            }
            () = sleep_until(last_poll + settings.poll_idle_timeout), if waiting.is_none() => {
                break Ended { code: close::HEARTBEAT_TIMEOUT, reason: "not polled within the idle timeout" };
            }
        }
    };
    app.long_polls().remove(&sid);
    for bytes in queue
        .drain()
        .items
        .into_iter()
        .filter_map(Item::into_message)
    {
        sent.push_back((next, bytes));
        next += 1;
    }
    if let Some((after, reply, _)) = waiting.take() {
        let _ = reply.send(batch(after, &sent, Some(ended)));
    }
    session.end().await;
}

/// Feed a POST body (one message or an array) to the session. `Err` when the session must end.
async fn deliver(session: &mut Session, body: &[u8]) -> Result<(), Ended> {
    let frames: Vec<Vec<u8>> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap_or_default())
            .collect(),
        // Anything else (an object, or malformed JSON) goes through as is, so the session
        // answers it exactly as the WebSocket would.
        _ => vec![body.to_vec()],
    };
    for frame in frames {
        if let Flow::Close(code, reason) = session.on_frame(&frame).await {
            return Err(Ended { code, reason });
        }
    }
    Ok(())
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
