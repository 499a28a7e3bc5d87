//! Bad input over a real socket: each gets a structured answer and changes nothing; only
//! frames that make the stream unreadable close it, with the documented code.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, ServerMsg, close};
use arbiter_server::Settings;
use futures_util::SinkExt;
use serde_json::json;
use support::{Clock, Raw, get, server, server_with, step_until, within};
use tokio_tungstenite::tungstenite::Message;

fn error_code(m: &ServerMsg) -> (Option<u64>, ErrorCode) {
    match m {
        ServerMsg::Error { rid, code, .. } => (*rid, *code),
        other => panic!("expected error, got {other:?}"),
    }
}

fn reject_code(m: &ServerMsg) -> (u64, ErrorCode) {
    match m {
        ServerMsg::Reject { seq, code, .. } => (*seq, *code),
        other => panic!("expected reject, got {other:?}"),
    }
}

async fn ping_still_works(c: &mut Raw) {
    c.send(&ClientMsg::Ping { n: Some(77) }).await;
    assert_eq!(c.msg().await, ServerMsg::Pong { n: Some(77) });
}

#[tokio::test]
async fn malformed_frames_get_structured_errors_and_the_socket_stays_open() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;

    c.send_text("{not json").await;
    assert_eq!(error_code(&c.msg().await).1, ErrorCode::BadMessage);
    c.send_text("[1,2,3]").await;
    assert_eq!(error_code(&c.msg().await).1, ErrorCode::BadMessage);
    c.send_text(r#"{"t":"teleport"}"#).await;
    assert_eq!(error_code(&c.msg().await).1, ErrorCode::UnknownType);
    c.send_text(r#"{"t":"join","rid":3,"room":"X"}"#).await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(3), ErrorCode::NotAuthenticated)
    );
    c.send_text(r#"{"t":"act","room":"r_1","seq":4,"action":{}}"#)
        .await;
    assert_eq!(
        reject_code(&c.msg().await),
        (4, ErrorCode::NotAuthenticated)
    );

    c.hello("ada").await;
    c.send_text(r#"{"t":"join","rid":5,"room":42}"#).await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(5), ErrorCode::InvalidField)
    );
    c.send_text(r#"{"t":"act","room":"r_1","seq":6,"base":"x","action":{}}"#)
        .await;
    assert_eq!(reject_code(&c.msg().await), (6, ErrorCode::InvalidField));
    c.send_text(r#"{"t":"ping","extra":true}"#).await;
    assert_eq!(error_code(&c.msg().await).1, ErrorCode::InvalidField);
    c.send_text(r#"{"t":"hello","v":1}"#).await;
    assert_eq!(
        error_code(&c.msg().await).1,
        ErrorCode::AlreadyAuthenticated
    );
    c.send_text(r#"{"t":"create","rid":8,"game":"chess"}"#)
        .await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(8), ErrorCode::UnknownGame)
    );
    c.send_text(r#"{"t":"create","rid":9,"game":"tictactoe","config":{"size":4}}"#)
        .await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(9), ErrorCode::InvalidConfig)
    );
    c.send_text(r#"{"t":"create","rid":10,"game":"tictactoe","max_players":3}"#)
        .await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(10), ErrorCode::InvalidConfig)
    );
    c.send_text(r#"{"t":"create","rid":13,"game":"tictactoe","seed":7}"#)
        .await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(13), ErrorCode::InvalidField)
    );
    c.send_text(r#"{"t":"join","rid":11,"room":"ZZZZZ"}"#).await;
    assert_eq!(
        error_code(&c.msg().await),
        (Some(11), ErrorCode::RoomNotFound)
    );
    c.send_text(r#"{"t":"act","room":"r_nope","seq":12,"action":{"type":"restart"}}"#)
        .await;
    assert_eq!(reject_code(&c.msg().await), (12, ErrorCode::RoomNotFound));
    ping_still_works(&mut c).await;

    // Nothing above created a room.
    assert_eq!(get(srv.addr(), "/api/v1/rooms").await.1, json!([]));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn rule_violations_are_rejected_and_change_nothing() {
    let srv = server().await;
    let (mut a, mut b, mut eve) = (
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
    );
    let pa = a.hello("ann").await;
    b.hello("bob").await;
    eve.hello("eve").await;
    a.send(&ClientMsg::Create {
        rid: Some(1),
        game: "tictactoe".into(),
        config: None,
        public: Some(true),
        max_players: None,
        max_spectators: None,
        role: JoinRole::Player,
        seed: None,
        key: None,
        password: None,
        lang: None,
        tags: Vec::new(),
    })
    .await;
    let room = match a.msg().await {
        ServerMsg::Joined { room, .. } => room,
        other => panic!("expected joined, got {other:?}"),
    };
    b.send(&ClientMsg::Join {
        rid: Some(1),
        room: room.code.clone(),
        role: JoinRole::Player,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    let ServerMsg::Snapshot { view, v, .. } =
        b.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(v, 2);
    let (mover, waiter) = if view["turn"] == json!(pa.id.as_str()) {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };

    let act = |seq, action| ClientMsg::Act {
        room: room.id.clone(),
        seq,
        base: None,
        action,
    };
    waiter
        .send(&act(1, json!({"type": "move", "row": 0, "col": 0})))
        .await;
    assert_eq!(
        reject_code(
            &waiter
                .until(|m| matches!(m, ServerMsg::Reject { .. }))
                .await
        ),
        (1, ErrorCode::NotYourTurn)
    );
    mover
        .send(&act(1, json!({"type": "move", "row": 5, "col": 0})))
        .await;
    assert_eq!(
        reject_code(&mover.until(|m| matches!(m, ServerMsg::Reject { .. })).await),
        (1, ErrorCode::InvalidMove)
    );
    mover
        .send(&act(2, json!({"type": "move", "row": "a", "col": 0})))
        .await;
    assert_eq!(
        reject_code(&mover.until(|m| matches!(m, ServerMsg::Reject { .. })).await),
        (2, ErrorCode::InvalidAction)
    );
    mover.send(&act(3, json!({"type": "restart"}))).await;
    assert_eq!(
        reject_code(&mover.until(|m| matches!(m, ServerMsg::Reject { .. })).await),
        (3, ErrorCode::GameInProgress)
    );
    // Someone who never joined the room.
    eve.send(&act(1, json!({"type": "move", "row": 1, "col": 1})))
        .await;
    assert_eq!(reject_code(&eve.msg().await), (1, ErrorCode::NotInRoom));
    eve.send(&ClientMsg::Leave {
        rid: Some(2),
        room: room.id.clone(),
    })
    .await;
    assert_eq!(
        error_code(&eve.msg().await),
        (Some(2), ErrorCode::NotInRoom)
    );

    // Still version 2: none of that changed the room.
    let (status, info) = get(srv.addr(), &format!("/api/v1/rooms/{}", room.id)).await;
    assert_eq!(status, 200);
    assert_eq!(info["v"], json!(2));
    assert_eq!(info["status"], json!("playing"));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn oversized_frames_close_with_1009() {
    let srv = server_with(
        arbiter_games::registry(),
        Settings {
            max_frame: 1024,
            ..Settings::default()
        },
    )
    .await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("big").await;
    let huge = format!(r#"{{"t":"ping","pad":"{}"}}"#, "x".repeat(4096));
    c.send_text(&huge).await;
    assert_eq!(c.closed().await.0, Some(close::MESSAGE_TOO_BIG));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn binary_frames_close_with_1003() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;
    c.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(c.closed().await.0, Some(close::UNSUPPORTED_DATA));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn wrong_protocol_version_is_explained_then_closed() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;
    c.send_text(r#"{"t":"hello","v":9}"#).await;
    assert_eq!(error_code(&c.msg().await).1, ErrorCode::UnsupportedVersion);
    assert_eq!(c.closed().await.0, Some(close::UNSUPPORTED_VERSION));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed() {
    const HELLO: std::time::Duration = std::time::Duration::from_millis(200);
    let settings = Settings {
        hello_timeout: HELLO,
        ..Settings::default()
    };
    let srv = server_with(arbiter_games::registry(), settings).await;
    // The hello deadline is a tokio sleep armed when the connection starts, so it follows
    // the frozen clock. Freezing before connecting arms it at most `HELLO` from now.
    let clock = Clock::freeze();
    let mut c = Raw::connect(srv.addr()).await;
    // The client hears the upgrade before the server's connection task starts.
    within("the connection task to start", async {
        while srv.open_connections() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let waited = step_until("close of the silent connection", 5 * HELLO, || {
        srv.open_connections() == 0
    })
    .await;
    // Each connection's deadline lies between half the limit and the limit.
    assert!(
        waited >= HELLO / 2 && waited <= HELLO + std::time::Duration::from_millis(50),
        "closed after {waited:?}"
    );
    let (code, _) = within("the close frame", c.closed()).await;
    assert_eq!(code, Some(close::HELLO_TIMEOUT));
    clock.thaw();
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn tokens_keep_identity_and_forgeries_are_refused() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;
    c.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some("  ada  ".into()),
        instance: None,
    })
    .await;
    let (player, token) = match c.msg().await {
        ServerMsg::Welcome { player, token, .. } => (player, token),
        other => panic!("expected welcome, got {other:?}"),
    };
    assert_eq!(player.name, "ada");

    let mut d = Raw::connect(srv.addr()).await;
    let forged = token.replacen(player.id.as_str(), "p_0000000000000000", 1);
    d.send(&ClientMsg::Hello {
        v: 1,
        token: Some(forged),
        name: None,
        instance: None,
    })
    .await;
    assert_eq!(error_code(&d.msg().await).1, ErrorCode::BadToken);
    d.send(&ClientMsg::Hello {
        v: 1,
        token: Some("garbage".into()),
        name: None,
        instance: None,
    })
    .await;
    assert_eq!(error_code(&d.msg().await).1, ErrorCode::BadToken);
    d.send(&ClientMsg::Hello {
        v: 1,
        token: None,
        name: Some("\u{1}".into()),
        instance: None,
    })
    .await;
    assert_eq!(error_code(&d.msg().await).1, ErrorCode::InvalidField);
    d.send(&ClientMsg::Hello {
        v: 1,
        token: Some(token),
        name: Some("Ada L.".into()),
        instance: None,
    })
    .await;
    match d.msg().await {
        ServerMsg::Welcome { player: again, .. } => {
            assert_eq!(again.id, player.id);
            assert_eq!(again.name, "Ada L.");
        }
        other => panic!("expected welcome, got {other:?}"),
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn bad_websocket_handshakes_are_refused_with_a_structured_error() {
    let srv = server().await;
    let addr = srv.addr();
    let upgrade = [("Connection", "Upgrade"), ("Upgrade", "websocket")];
    let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    let cases: [(&[(&str, &str)], u16); 4] = [
        // A plain GET, no upgrade asked for.
        (&[], 400),
        // No version.
        (&[upgrade[0], upgrade[1], key], 426),
        // A version this server does not speak.
        (
            &[upgrade[0], upgrade[1], key, ("Sec-WebSocket-Version", "8")],
            426,
        ),
        // A key that is not 16 bytes of base64.
        (
            &[
                upgrade[0],
                upgrade[1],
                ("Sec-WebSocket-Key", "short"),
                ("Sec-WebSocket-Version", "13"),
            ],
            400,
        ),
    ];
    for (headers, status) in cases {
        let (got, body) = support::request(addr, "GET", "/ws", headers, None).await;
        assert_eq!(got, status, "{headers:?}");
        assert_eq!(body["error"]["code"], "BAD_MESSAGE", "{headers:?}");
    }
    // The server is unharmed.
    let mut c = Raw::connect(addr).await;
    c.hello("after").await;
    ping_still_works(&mut c).await;
}

#[tokio::test]
async fn a_spectator_cannot_act_or_add_bots_and_a_stranger_cannot_sync() {
    let srv = server().await;
    let (mut a, mut eve) = (
        Raw::connect(srv.addr()).await,
        Raw::connect(srv.addr()).await,
    );
    a.hello("ann").await;
    eve.hello("eve").await;
    a.send(&support::create_msg(1, "dicegame")).await;
    let room = match a.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { room, .. } => room,
        _ => unreachable!(),
    };
    eve.send(&ClientMsg::Join {
        rid: Some(1),
        room: room.code.clone(),
        role: JoinRole::Spectator,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    eve.until(|m| matches!(m, ServerMsg::Snapshot { .. })).await;
    let before = srv.rooms().find(&room.id).unwrap().info();

    eve.send(&ClientMsg::AddBot {
        rid: Some(2),
        room: room.id.clone(),
    })
    .await;
    let refused = eve
        .until(|m| matches!(m, ServerMsg::Error { rid: Some(2), .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::NotAPlayer,
                ..
            }
        ),
        "{refused:?}"
    );
    eve.send(&ClientMsg::Act {
        room: room.id.clone(),
        seq: 1,
        base: None,
        action: json!({"type": "roll"}),
    })
    .await;
    let rejected = eve.until(|m| matches!(m, ServerMsg::Reject { .. })).await;
    assert!(
        matches!(
            rejected,
            ServerMsg::Reject {
                code: ErrorCode::NotAPlayer,
                ..
            }
        ),
        "{rejected:?}"
    );
    // A stranger (not a member) gets no view by asking for one.
    let mut stranger = Raw::connect(srv.addr()).await;
    stranger.hello("mallory").await;
    stranger
        .send(&ClientMsg::Sync {
            room: room.id.clone(),
        })
        .await;
    let refused = stranger
        .until(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Snapshot { .. }))
        .await;
    assert!(
        matches!(
            refused,
            ServerMsg::Error {
                code: ErrorCode::NotInRoom,
                ..
            }
        ),
        "{refused:?}"
    );
    // Nothing changed: the same players, the same version.
    let after = srv.rooms().find(&room.id).unwrap().info();
    assert_eq!((after.players, after.v), (before.players, before.v));
    // The player may.
    a.send(&ClientMsg::AddBot {
        rid: Some(3),
        room: room.id.clone(),
    })
    .await;
    a.until(|m| matches!(m, ServerMsg::BotAdded { rid: Some(3), .. }))
        .await;
}

#[tokio::test]
async fn a_clients_close_is_answered_with_its_code() {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let srv = server().await;
    for (sent, answered) in [(Some(4000), 4000), (Some(1001), 1001), (None, 1000)] {
        let mut c = Raw::connect(srv.addr()).await;
        c.hello("ada").await;
        let frame = sent.map(|code: u16| CloseFrame {
            code: code.into(),
            reason: "bye".into(),
        });
        c.ws.close(frame).await.unwrap();
        assert_eq!(c.closed().await.0, Some(answered), "{sent:?}");
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn answers_do_not_echo_a_huge_input() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await;
    let huge = "y".repeat(60_000);
    for frame in [
        format!(r#"{{"t":"{huge}"}}"#),
        format!(r#"{{"t":"join","rid":"{huge}","room":"X"}}"#),
        format!(r#"{{"t":"act","room":"r_1","seq":"{huge}","action":{{}}}}"#),
    ] {
        c.send_text(&frame).await;
        match c.msg().await {
            ServerMsg::Error { message, .. } | ServerMsg::Reject { message, .. } => {
                assert!(
                    message.len() <= 260,
                    "{} bytes: {message:.80}",
                    message.len()
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    ping_still_works(&mut c).await;
}

/// docs/protocol.md, *Malformed messages*: the answer to a message that does not decode
/// carries every room, seq and rid that could be read from it, so a client matching answers
/// by seq (or rid) never waits for one that does not come.
#[tokio::test]
async fn a_malformed_message_is_answered_with_what_it_said_of_where_it_belongs() {
    let srv = server().await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello("ada").await;
    let nested = |depth: usize| {
        format!(
            r#"{{"t":"act","room":"r_1","seq":7,"action":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    let reject = |seq: u64, code| json!({"t": "reject", "room": "r_1", "seq": seq, "code": code});
    let error = |rid: Option<u64>, code, details: Option<serde_json::Value>| {
        let mut e = json!({"t": "error", "code": code});
        if let Some(rid) = rid {
            e["rid"] = json!(rid);
        }
        if let Some(d) = details {
            e["details"] = d;
        }
        e
    };
    let cases = [
        // An act that names a room and a valid seq: a reject, whatever else is wrong.
        (
            r#"{"t":"act","room":"r_1","seq":4,"action":{},"x":1}"#.to_owned(),
            reject(4, "INVALID_FIELD"),
        ),
        (
            r#"{"t":"undo","room":"r_1"}"#.to_owned(),
            error(None, "INVALID_FIELD", Some(json!({"room": "r_1"}))),
        ),
        (nested(40), reject(7, "BAD_MESSAGE")),
        // A seq the reject cannot carry: an error echoing it as sent, beside the room.
        (
            r#"{"t":"act","room":"r_1","seq":"5","action":{}}"#.to_owned(),
            error(
                None,
                "INVALID_FIELD",
                Some(json!({"room": "r_1", "seq": "5"})),
            ),
        ),
        (
            r#"{"t":"act","room":"r_1","seq":-1,"action":{}}"#.to_owned(),
            error(
                None,
                "INVALID_FIELD",
                Some(json!({"room": "r_1", "seq": -1})),
            ),
        ),
        (
            r#"{"t":"act","room":6,"seq":6,"action":{}}"#.to_owned(),
            error(None, "INVALID_FIELD", Some(json!({"seq": 6}))),
        ),
        // Requests: `rid` in its field when it is a number, in details as sent otherwise.
        (
            r#"{"t":"join","rid":"8","room":"KXQTP","x":1}"#.to_owned(),
            error(
                None,
                "INVALID_FIELD",
                Some(json!({"room": "KXQTP", "rid": "8"})),
            ),
        ),
        (
            r#"{"t":"leave","rid":9,"room":"r_1","x":1}"#.to_owned(),
            error(Some(9), "INVALID_FIELD", Some(json!({"room": "r_1"}))),
        ),
        (
            r#"{"t":"sync","room":"r_1","x":1}"#.to_owned(),
            error(None, "INVALID_FIELD", Some(json!({"room": "r_1"}))),
        ),
        // Nothing readable: a bare error.
        (nested(200), error(None, "BAD_MESSAGE", None)),
        (
            r#"{"t":"act","room":"r_1","seq":3,"action":{}"#.to_owned(),
            error(None, "BAD_MESSAGE", None),
        ),
        (
            r#"{"t":"jump","room":"r_1","seq":3}"#.to_owned(),
            error(None, "UNKNOWN_TYPE", None),
        ),
    ];
    for (frame, want) in cases {
        c.send_text(&frame).await;
        let mut got = serde_json::to_value(c.msg().await).unwrap();
        got.as_object_mut().unwrap().remove("message");
        assert_eq!(got, want, "{frame:.80}");
    }
    ping_still_works(&mut c).await;
    srv.stop().await.unwrap();
}
