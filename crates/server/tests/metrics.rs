//! `GET /metrics` over real sockets: a game played in part moves the counters and histograms
//! by exactly what it did, the connection gauges follow the open sockets, and a server with
//! metrics off answers 404.
//!
//! The recorder is global to the process, so every check compares two scrapes; no other test
//! in this file plays or opens client connections.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Hello};
use arbiter_protocol::{ErrorCode, JoinRole};
use arbiter_server::{Running, Settings};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::{get, request, request_text, server, server_with, ws_url};

/// One scrape of `/metrics`.
struct Scrape(String);

impl Scrape {
    async fn take(addr: SocketAddr) -> Self {
        let (status, head, body) = request_text(addr, "GET", "/metrics", &[], None).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        Self(body)
    }

    /// The value of the series `name{labels}` (labels in any order), 0 if it is not there.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        want.sort();
        for line in self.0.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (series_name, mut got) = match series.split_once('{') {
                Some((n, rest)) => (
                    n,
                    rest.trim_end_matches('}')
                        .split(',')
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                ),
                None => (series, Vec::new()),
            };
            got.sort();
            if series_name == name && got == want {
                return value.parse().unwrap();
            }
        }
        0.0
    }

    fn has_line(&self, line: &str) -> bool {
        self.0.lines().any(|l| l == line)
    }
}

/// How far each series moved between two scrapes.
fn delta(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

/// Wait, bounded by a count of turns rather than by time, until the server's own count of
/// open connections is `n` (it drops when a connection's task has finished; the gauge moves
/// in the same step).
async fn connections_settle(srv: &Running, n: usize) {
    for _ in 0..100_000 {
        if srv.open_connections() == n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!(
        "the server still counts {} connections, not {n}",
        srv.open_connections()
    );
}

const TTT: (&str, &str) = ("game", "tictactoe");
const WS: (&str, &str) = ("transport", "ws");
const LP: (&str, &str) = ("transport", "lp");

#[tokio::test]
async fn a_game_moves_the_counters_by_what_it_did() {
    let srv = server().await;
    let addr = srv.addr();
    let before = Scrape::take(addr).await;

    let (ada, _ada_events) = Client::connect(&ws_url(addr), Hello::named("Ada"))
        .await
        .unwrap();
    let (bob, _bob_events) = Client::connect(&ws_url(addr), Hello::named("Bob"))
        .await
        .unwrap();
    let (status, opened) = request(addr, "POST", "/lp", &[], None).await;
    assert_eq!(status, 200);
    let sid = opened["sid"].as_str().unwrap().to_owned();
    connections_settle(&srv, 3).await;
    let open = Scrape::take(addr).await;
    for (transport, n) in [(WS, 2.0), (LP, 1.0)] {
        assert_eq!(
            delta(&before, &open, "arbiter_connections_open", &[transport]),
            n
        );
        let total = delta(
            &before,
            &open,
            "arbiter_connections_opened_total",
            &[transport],
        );
        assert_eq!(total, n);
    }

    // v1 Ada seated, v2 Bob seated: the game starts.
    let room = ada.create(CreateRoom::new("tictactoe")).await.unwrap().room;
    bob.join(&room.id, JoinRole::Player).await.unwrap();
    let view = ada.view(&room.id).unwrap().view;
    let (mover, other) = if view["turn"] == json!(ada.player().id.as_str()) {
        (&ada, &bob)
    } else {
        (&bob, &ada)
    };
    let centre = json!({"type": "move", "row": 1, "col": 1});
    assert_eq!(mover.act(&room.id, centre).await.unwrap(), 3);
    // The room handles a connection's messages in order: once the reject is back, the sync
    // sent before it has been answered with a snapshot.
    mover.sync(&room.id).unwrap();
    let again = json!({"type": "move", "row": 0, "col": 0});
    let refused = mover.act(&room.id, again).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NotYourTurn));
    let taken = json!({"type": "move", "row": 1, "col": 1});
    let refused = other.act(&room.id, taken).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InvalidMove));

    let after = Scrape::take(addr).await;
    assert!(after.has_line("# TYPE arbiter_action_apply_seconds histogram"));
    assert!(after.has_line("# TYPE arbiter_action_ack_seconds histogram"));
    assert!(after.has_line("# TYPE arbiter_actions_applied_total counter"));
    assert!(after.has_line("# TYPE arbiter_connections_open gauge"));
    let moved = |name: &str, labels: &[(&str, &str)]| delta(&open, &after, name, labels);
    assert_eq!(moved("arbiter_rooms_created_total", &[TTT]), 1.0);
    let playing = [TTT, ("status", "playing")];
    assert_eq!(moved("arbiter_rooms_live", &playing), 1.0);
    assert_eq!(moved("arbiter_actions_applied_total", &[TTT]), 1.0);
    let code = |c: ErrorCode| ("code", c.as_str());
    assert_eq!(
        moved("arbiter_rejects_total", &[code(ErrorCode::NotYourTurn)]),
        1.0
    );
    assert_eq!(
        moved("arbiter_rejects_total", &[code(ErrorCode::InvalidMove)]),
        1.0
    );
    // Three acts reached the room: each was timed, and each answer's wait recorded.
    assert_eq!(moved("arbiter_action_apply_seconds_count", &[TTT]), 3.0);
    assert_eq!(moved("arbiter_action_ack_seconds_count", &[TTT]), 3.0);
    let sync = [("reason", "sync")];
    assert_eq!(moved("arbiter_snapshot_fallbacks_total", &sync), 1.0);
    // Buckets are cumulative: the last one holds every answer.
    assert_eq!(
        after.value("arbiter_action_ack_seconds_bucket", &[TTT, ("le", "+Inf")]),
        after.value("arbiter_action_ack_seconds_count", &[TTT])
    );

    ada.close();
    bob.close();
    let (status, _) = request(addr, "DELETE", &format!("/lp/{sid}"), &[], None).await;
    assert_eq!(status, 204);
    connections_settle(&srv, 0).await;
    let closed = Scrape::take(addr).await;
    for transport in [WS, LP] {
        assert_eq!(
            delta(&before, &closed, "arbiter_connections_open", &[transport]),
            0.0
        );
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_off_is_a_404_with_the_usual_error_body() {
    let settings = Settings {
        metrics: false,
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    let (status, body) = get(srv.addr(), "/metrics").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], Value::from("NOT_FOUND"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("metrics")
    );
    srv.stop().await.unwrap();
}
