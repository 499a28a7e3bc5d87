//! The bad-input catalogue: the hostile and broken input a public server meets, sent over
//! real sockets to one server, each case from a fresh connection and each with the answer
//! docs/security.md documents for it (the test renders the catalogue as that table and fails
//! when the two differ). After every case the room a polite player is playing in has not
//! changed and the polite player is still served; at the end the room's state is exactly what
//! the polite player did.
//!
//! Time is frozen (rate buckets run on tokio's clock), so the floods' counts are exact: a
//! bucket holds its burst and nothing refills until the test moves the clock, which it does
//! by one second between cases. Sockets that never finish their handshake are in
//! `three_thousand_sockets_that_never_finish_the_handshake_cost_a_polite_player_nothing`.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_protocol::{ClientMsg, ErrorCode, JoinRole, ServerMsg, close};
use arbiter_server::{JwtSettings, Limits, Settings, Signer, now_ms};
use futures_util::SinkExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;
use support::{Clock, Event, Raw, server_with, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// The guest-token secret of `support::server_with`.
const SECRET: &str = "test-secret-test-secret-test-secret";
const JWT_SECRET: &str = "jwt-shared-secret-jwt-shared-secret!";
const ISSUER: &str = "https://auth.test";
const AUDIENCE: &str = "arbiter";

/// Where the hostile connection stands before its input.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Upgraded, no `hello` yet.
    Anonymous,
    /// Said `hello`; in no room.
    Guest,
    /// A spectator of the polite player's room.
    Spectator,
    /// Seated in the polite player's room.
    Player,
}

impl Who {
    fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "before `hello`",
            Self::Guest => "guest",
            Self::Spectator => "spectator",
            Self::Player => "player",
        }
    }
}

/// What the case sends.
enum Input {
    /// WebSocket frames, in order.
    Frames(Vec<Message>),
    /// `n` copies of one text frame (`{seq}` replaced by 1, 2, …).
    Flood(String, usize),
    /// One HTTP request: method, path, extra headers, JSON body.
    Http(
        &'static str,
        String,
        Vec<(&'static str, String)>,
        Option<Value>,
    ),
    /// `GET path` until refused (at most `n` times).
    HttpFlood(&'static str, usize),
}

/// What the server answers, as docs/security.md states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// An `error` with this code.
    Error(ErrorCode),
    /// A `reject` with this code (for `act`).
    Reject(ErrorCode),
    /// An `error`, then the socket is closed with this code.
    ErrorClose(ErrorCode, u16),
    /// The socket is closed with this code, nothing said before.
    Close(u16),
    /// `welcome`, as the player the token names.
    Welcome,
    /// `answered` messages pass and get their usual answer (those a room answers may come
    /// after the refusals), then `limited` get `RATE_LIMITED` with `retry_after_ms`, then one
    /// more `RATE_LIMITED` and the socket is closed with 4029.
    Flood { answered: usize, limited: usize },
    /// An HTTP status and `error.code`.
    Http(u16, ErrorCode),
    /// HTTP 429 `RATE_LIMITED` with `Retry-After`, once the address's budget is spent.
    HttpLimited,
}

impl Answer {
    fn describe(self) -> String {
        match self {
            Self::Error(code) => format!("`error` `{code}`"),
            Self::Reject(code) => format!("`reject` `{code}`"),
            Self::ErrorClose(code, n) => format!("`error` `{code}`, then close {n}"),
            Self::Close(n) => format!("close {n}"),
            Self::Welcome => {
                "`welcome` as the token's player (a token is a bearer credential)".into()
            }
            Self::Flood { answered, limited } => format!(
                "the first {answered} pass; then {limited} × `RATE_LIMITED` with \
                 `retry_after_ms`, then one more `RATE_LIMITED` and close 4029; for 10 s \
                 its address may not connect (HTTP 429) nor its player say `hello`"
            ),
            Self::Http(status, code) => format!("HTTP {status} `{code}`"),
            Self::HttpLimited => {
                "HTTP 429 `RATE_LIMITED` with `Retry-After` once the address's budget is spent"
                    .into()
            }
        }
    }
}

struct Case {
    name: &'static str,
    who: Who,
    input: Input,
    answer: Answer,
}

fn text(s: impl Into<String>) -> Input {
    Input::Frames(vec![Message::text(s.into())])
}

fn case(name: &'static str, who: Who, input: Input, answer: Answer) -> Case {
    Case {
        name,
        who,
        input,
        answer,
    }
}

/// A `hello` carrying `token`.
fn hello_with(token: &str) -> Input {
    text(json!({"t": "hello", "v": 1, "token": token}).to_string())
}

fn hello_named(name: &str) -> Input {
    text(json!({"t": "hello", "v": 1, "name": name}).to_string())
}

fn jwt(claims: &Value, secret: &str) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

fn claims(exp_in: i64, iss: &str, aud: &str) -> Value {
    json!({
        "sub": "user-42", "name": "Ada", "iss": iss, "aud": aud,
        "exp": (now_ms() / 1000).saturating_add_signed(exp_in),
    })
}

/// A JWT with `alg: none` and no signature.
fn unsigned_jwt() -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims(3600, ISSUER, AUDIENCE))
    )
}

/// What the catalogue needs to know about the polite player's room.
struct Ctx {
    room: String,
    polite_token: String,
    polite_id: String,
}

fn catalogue(cx: &Ctx) -> Vec<Case> {
    use Answer::*;
    use ErrorCode as E;
    use Who::*;
    let room = cx.room.as_str();
    let act = |seq: u64, action: Value| {
        text(json!({"t": "act", "room": room, "seq": seq, "action": action}).to_string())
    };
    let nested = |depth: usize| {
        format!(
            r#"{{"t":"act","room":"{room}","seq":1,"action":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    let guest = Signer::new(SECRET);
    let stranger = Signer::new("another-server-another-server-another");
    let day_ms = 24 * 3600 * 1000;
    let polite = arbiter_protocol::PlayerId(cx.polite_id.clone());
    let expired = guest.issue(&polite, now_ms() - 31 * day_ms);
    let mut forged = cx.polite_token.clone();
    forged.pop();
    forged.push(if cx.polite_token.ends_with('A') {
        'B'
    } else {
        'A'
    });
    let swapped = cx
        .polite_token
        .replacen(cx.polite_id.as_str(), "p_0000000000000000", 1);
    let unknown_kid = cx.polite_token.replacen("v2.", "v2.1.", 1);
    vec![
        // Framing and JSON.
        case("not JSON", Guest, text("{not json"), Error(E::BadMessage)),
        case("empty text frame", Guest, text(""), Error(E::BadMessage)),
        case("JSON array", Guest, text("[1,2,3]"), Error(E::BadMessage)),
        case("JSON string", Guest, text("\"ping\""), Error(E::BadMessage)),
        case("`t` not a string", Guest, text(r#"{"t":5}"#), Error(E::BadMessage)),
        case("no `t`", Guest, text("{}"), Error(E::BadMessage)),
        case("unknown type", Guest, text(r#"{"t":"teleport"}"#), Error(E::UnknownType)),
        case("raw NUL byte after the object", Guest, text("{\"t\":\"ping\"}\0"), Error(E::BadMessage)),
        case("lone UTF-16 surrogate escape", Player, text(format!(r#"{{"t":"chat","room":"{room}","text":"\ud800"}}"#)), Error(E::BadMessage)),
        case("duplicate key", Guest, text(r#"{"t":"ping","n":1,"n":2}"#), Error(E::InvalidField)),
        case("nesting 33 deep", Player, text(nested(33)), Reject(E::BadMessage)),
        case("nesting 30,000 deep", Player, text(nested(30_000)), Error(E::BadMessage)),
        case("frame over 64 KiB", Guest, text(format!(r#"{{"t":"ping","pad":"{}"}}"#, "x".repeat(70_000))), Close(close::MESSAGE_TOO_BIG)),
        case("binary frame on a JSON connection", Guest, Input::Frames(vec![Message::binary(vec![0x81, 0xa1, 0x74])]), Close(close::UNSUPPORTED_DATA)),
        case("text frame that is not UTF-8", Guest, Input::Frames(vec![Message::Frame(Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true))]), Close(close::INVALID_PAYLOAD)),
        // Numbers and types.
        case("`rid` negative", Guest, text(r#"{"t":"join","rid":-1,"room":"X"}"#), Error(E::InvalidField)),
        case("`rid` fractional", Guest, text(r#"{"t":"join","rid":1.5,"room":"X"}"#), Error(E::InvalidField)),
        case("`rid` 2^64", Guest, text(r#"{"t":"join","rid":18446744073709551616,"room":"X"}"#), Error(E::InvalidField)),
        case("`rid` 1e400", Guest, text(r#"{"t":"join","rid":1e400,"room":"X"}"#), Error(E::BadMessage)),
        case("`rid` a string", Guest, text(r#"{"t":"join","rid":"7","room":"X"}"#), Error(E::InvalidField)),
        case("room id a number", Guest, text(r#"{"t":"join","rid":1,"room":42}"#), Error(E::InvalidField)),
        case("`seq` negative", Player, text(format!(r#"{{"t":"act","room":"{room}","seq":-1,"action":{{}}}}"#)), Error(E::InvalidField)),
        case("`seq` 2^64 − 1 with an illegal action", Player, act(u64::MAX, json!({"type": "add", "n": 5000})), Reject(E::InvalidMove)),
        case("action not an object", Player, act(1, json!("add")), Reject(E::InvalidAction)),
        case("action of another game", Player, act(1, json!({"type": "place", "cell": 4})), Reject(E::InvalidAction)),
        case("action amount 2^63", Player, text(format!(r#"{{"t":"act","room":"{room}","seq":1,"action":{{"type":"add","n":9223372036854775808}}}}"#)), Reject(E::InvalidAction)),
        case("action amount 1e308", Player, act(1, json!({"type": "add", "n": 1e308})), Reject(E::InvalidAction)),
        case("action amount out of the game's range", Player, act(1, json!({"type": "add", "n": 1001})), Reject(E::InvalidMove)),
        case("`base` from the future", Player, text(format!(r#"{{"t":"act","room":"{room}","seq":1,"base":999999999,"action":{{"type":"add","n":5000}}}}"#)), Reject(E::InvalidField)),
        // Who may do what (spoofed ids).
        case("`player` field on `act`, naming another player", Player, text(format!(r#"{{"t":"act","room":"{room}","seq":1,"player":"{}","action":{{"type":"add","n":1}}}}"#, cx.polite_id)), Reject(E::InvalidField)),
        case("`player` inside the action", Player, act(1, json!({"type": "add", "n": 1, "player": cx.polite_id})), Reject(E::InvalidAction)),
        case("act in a room one is not in", Guest, act(1, json!({"type": "add", "n": 1})), Reject(E::NotInRoom)),
        case("act in a room that does not exist", Guest, text(r#"{"t":"act","room":"r_0000000000000000","seq":1,"action":{}}"#), Reject(E::RoomNotFound)),
        case("spectator acts", Spectator, act(1, json!({"type": "add", "n": 1})), Reject(E::NotAPlayer)),
        case("spectator adds a bot", Spectator, text(json!({"t": "add_bot", "rid": 1, "room": room}).to_string()), Error(E::NotAPlayer)),
        case("stranger asks for a snapshot", Guest, text(json!({"t": "sync", "room": room}).to_string()), Error(E::NotInRoom)),
        case("stranger chats in a room", Guest, text(json!({"t": "chat", "room": room, "text": "hi"}).to_string()), Error(E::NotInRoom)),
        case("stranger leaves a room", Guest, text(json!({"t": "leave", "rid": 1, "room": room}).to_string()), Error(E::NotInRoom)),
        case("stranger reads a room's chat", Guest, text(json!({"t": "chat_history", "rid": 1, "room": room}).to_string()), Error(E::NotInRoom)),
        case("chat history page of 0", Player, text(json!({"t": "chat_history", "rid": 1, "room": room, "limit": 0}).to_string()), Error(E::InvalidField)),
        case("chat history page of 100,000", Player, text(json!({"t": "chat_history", "rid": 1, "room": room, "limit": 100_000}).to_string()), Error(E::InvalidField)),
        case("a member who is not the host deletes a chat message", Player, text(json!({"t": "chat_delete", "rid": 1, "room": room, "id": 1}).to_string()), Error(E::Forbidden)),
        case("a member who is not the host mutes the host", Player, text(json!({"t": "chat_mute", "rid": 1, "room": room, "player": cx.polite_id, "muted": true}).to_string()), Error(E::Forbidden)),
        case("signal to someone not in the room", Player, text(json!({"t": "signal", "room": room, "to": "p_0000000000000001", "kind": "offer"}).to_string()), Error(E::InvalidField)),
        case("signal carrying 20 KiB", Player, text(json!({"t": "signal", "room": room, "to": cx.polite_id, "kind": "offer", "data": "x".repeat(20_000)}).to_string()), Error(E::InvalidField)),
        case("stranger signals into a room", Guest, text(json!({"t": "signal", "room": room, "to": cx.polite_id, "kind": "ice"}).to_string()), Error(E::NotInRoom)),
        case("stranger asks for an invite", Guest, text(json!({"t": "invite", "rid": 1, "room": room}).to_string()), Error(E::NotInRoom)),
        case("join with a forged invite", Guest, text(json!({"t": "join", "rid": 1, "room": room, "invite": "i1.0.r_0000000000000000.1.AAAA"}).to_string()), Error(E::JoinRefused)),
        case("join with an identity token as the invite", Guest, text(json!({"t": "join", "rid": 1, "room": room, "invite": cx.polite_token}).to_string()), Error(E::JoinRefused)),
        case("launch a room that is not a party", Player, text(json!({"t": "launch", "rid": 1, "room": room}).to_string()), Error(E::Unsupported)),
        case("quick play of an unknown game", Guest, text(json!({"t": "join_or_create", "rid": 1, "game": "chess"}).to_string()), Error(E::UnknownGame)),
        case("create with a password of 129 characters", Guest, text(json!({"t": "create", "rid": 1, "game": "counter", "password": "p".repeat(129)}).to_string()), Error(E::InvalidField)),
        case("joining twice", Spectator, text(json!({"t": "join", "rid": 1, "room": room, "as": "spectator"}).to_string()), Error(E::AlreadyInRoom)),
        // Session order.
        case("message before `hello`", Anonymous, text(json!({"t": "join", "rid": 1, "room": room}).to_string()), Error(E::NotAuthenticated)),
        case("`hello` twice", Guest, hello_named("again"), Error(E::AlreadyAuthenticated)),
        case("`hello` of protocol version 99", Anonymous, text(r#"{"t":"hello","v":99}"#), ErrorClose(E::UnsupportedVersion, close::UNSUPPORTED_VERSION)),
        // Names and text.
        case("name of 33 characters", Anonymous, hello_named(&"é".repeat(33)), Error(E::InvalidField)),
        case("name with a NUL", Anonymous, hello_named("ad\0a"), Error(E::InvalidField)),
        case("name with a bidi override", Anonymous, hello_named("ada\u{202e}gpj.exe"), Error(E::InvalidField)),
        case("name of zero-width characters only", Anonymous, hello_named("\u{200b}\u{200d}\u{feff}"), Error(E::InvalidField)),
        case("name of spaces only", Anonymous, hello_named("   "), Error(E::InvalidField)),
        case("chat over 1,000 characters", Player, text(json!({"t": "chat", "room": room, "text": "z".repeat(1001)}).to_string()), Error(E::InvalidField)),
        case("chat with a NUL", Player, text(json!({"t": "chat", "room": room, "text": "a\u{0}b"}).to_string()), Error(E::InvalidField)),
        case("empty chat", Player, text(json!({"t": "chat", "room": room, "text": ""}).to_string()), Error(E::InvalidField)),
        // Rooms.
        case("create an unknown game", Guest, text(json!({"t": "create", "rid": 1, "game": "chess"}).to_string()), Error(E::UnknownGame)),
        case("create a game named by 10,000 characters", Guest, text(json!({"t": "create", "rid": 1, "game": "g".repeat(10_000)}).to_string()), Error(E::UnknownGame)),
        case("create with a 20 KiB config", Guest, text(json!({"t": "create", "rid": 1, "game": "tictactoe", "config": {"pad": "x".repeat(20_000)}}).to_string()), Error(E::InvalidConfig)),
        case("create with 1,000 seats", Guest, text(json!({"t": "create", "rid": 1, "game": "counter", "max_players": 1000}).to_string()), Error(E::InvalidConfig)),
        case("create with a chosen seed", Guest, text(json!({"t": "create", "rid": 1, "game": "counter", "seed": 7}).to_string()), Error(E::InvalidField)),
        case("join a room code with a NUL", Guest, text(json!({"t": "join", "rid": 1, "room": "AB\u{0}CD"}).to_string()), Error(E::RoomNotFound)),
        case("join a 30,000-character room id", Guest, text(json!({"t": "join", "rid": 1, "room": "r".repeat(30_000)}).to_string()), Error(E::RoomNotFound)),
        // Tokens.
        case("guest token with a forged signature", Anonymous, hello_with(&forged), Error(E::BadToken)),
        case("guest token naming another player", Anonymous, hello_with(&swapped), Error(E::BadToken)),
        case("guest token of another server", Anonymous, hello_with(&stranger.issue(&polite, now_ms())), Error(E::BadToken)),
        case("guest token of an unknown key", Anonymous, hello_with(&unknown_kid), Error(E::BadToken)),
        case("expired guest token", Anonymous, hello_with(&expired), Error(E::BadToken)),
        case("10,000 characters of garbage as a token", Anonymous, hello_with(&"v2.".repeat(3_333)), Error(E::BadToken)),
        case("replayed guest token", Anonymous, hello_with(&cx.polite_token), Welcome),
        case("JWT with `alg: none`", Anonymous, hello_with(&unsigned_jwt()), Error(E::BadToken)),
        case("JWT signed with another secret", Anonymous, hello_with(&jwt(&claims(3600, ISSUER, AUDIENCE), "not-the-secret-not-the-secret-not-it")), Error(E::BadToken)),
        case("expired JWT", Anonymous, hello_with(&jwt(&claims(-3600, ISSUER, AUDIENCE), JWT_SECRET)), Error(E::BadToken)),
        case("JWT of another issuer", Anonymous, hello_with(&jwt(&claims(3600, "https://evil.test", AUDIENCE), JWT_SECRET)), Error(E::BadToken)),
        case("JWT for another audience", Anonymous, hello_with(&jwt(&claims(3600, ISSUER, "someone-else"), JWT_SECRET)), Error(E::BadToken)),
        // Floods: default buckets, frozen clock.
        case("flood of 200 actions", Player, Input::Flood(format!(r#"{{"t":"act","room":"{room}","seq":{{seq}},"action":{{"type":"add","n":5000}}}}"#), 200), Flood { answered: 60, limited: 30 }),
        case("flood of 200 chat messages", Player, Input::Flood(json!({"t": "chat", "room": room, "text": "spam"}).to_string(), 200), Flood { answered: 10, limited: 30 }),
        case("flood of 200 joins and leaves", Guest, Input::Flood(r#"{"t":"leave","rid":{seq},"room":"r_0000000000000000"}"#.into(), 200), Flood { answered: 30, limited: 30 }),
        case("flood of 200 pings", Guest, Input::Flood(r#"{"t":"ping","n":{seq}}"#.into(), 200), Flood { answered: 60, limited: 30 }),
        case("flood of 200 frames that are not JSON", Guest, Input::Flood("{{{{".into(), 200), Flood { answered: 60, limited: 30 }),
        // HTTP.
        case("unknown HTTP route", Anonymous, Input::Http("GET", "/wp-admin.php".into(), vec![], None), Http(404, E::NotFound)),
        case("admin API without its token", Anonymous, Input::Http("POST", "/api/v1/admin/drain".into(), vec![], None), Http(403, E::Forbidden)),
        case("admin API with a wrong token", Anonymous, Input::Http("POST", "/api/v1/admin/drain".into(), vec![("Authorization", "Bearer guess".into())], None), Http(403, E::Forbidden)),
        case("long-poll message to an unknown session", Anonymous, Input::Http("POST", "/lp/nope".into(), vec![], Some(json!([]))), Http(404, E::SessionNotFound)),
        case("REST query parameter of the wrong type", Anonymous, Input::Http("GET", format!("/api/v1/rooms/{room}/log?after=minus-one"), vec![], None), Http(400, E::InvalidField)),
        case("REST room id of 8,000 characters", Anonymous, Input::Http("GET", format!("/api/v1/rooms/{}", "r".repeat(8_000)), vec![], None), Http(404, E::RoomNotFound)),
        case("WebSocket upgrade of an unknown version", Anonymous, Input::Http("GET", "/ws".into(), vec![("Connection", "Upgrade".into()), ("Upgrade", "websocket".into()), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".into()), ("Sec-WebSocket-Version", "8".into())], None), Http(426, E::BadMessage)),
        case("flood of REST requests", Anonymous, Input::HttpFlood("/api/v1/games", 200), HttpLimited),
    ]
}

/// The catalogue as the table in docs/security.md.
fn table(cases: &[Case]) -> String {
    let mut out = String::from("| input | sent by | answer |\n|---|---|---|\n");
    for c in cases {
        let who = match c.input {
            Input::Http(..) | Input::HttpFlood(..) => "HTTP client",
            _ => c.who.as_str(),
        };
        writeln!(out, "| {} | {who} | {} |", c.name, c.answer.describe()).unwrap();
    }
    out
}

/// Wait for the next message, bounded in real time (the clock is frozen).
async fn next(c: &mut Raw) -> Event {
    within("an answer", c.next()).await
}

async fn open_as(addr: SocketAddr, who: Who, room: &str) -> Raw {
    let mut c = Raw::connect(addr).await;
    if matches!(who, Who::Anonymous) {
        return c;
    }
    within("welcome", c.hello("mallory")).await;
    let role = match who {
        Who::Spectator => JoinRole::Spectator,
        Who::Player => JoinRole::Player,
        _ => return c,
    };
    c.send(&ClientMsg::Join {
        rid: Some(1),
        room: room.into(),
        role,
        since: None,
        password: None,
        invite: None,
    })
    .await;
    within(
        "the snapshot",
        c.until(|m| matches!(m, ServerMsg::Snapshot { .. })),
    )
    .await;
    c
}

/// Check one frame-sending case's answer.
async fn expect(c: &mut Raw, case: &Case, polite_id: &str) {
    let name = case.name;
    match case.answer {
        Answer::Error(want) => match next(c).await {
            Event::Msg(ServerMsg::Error { code, .. }) => assert_eq!(code, want, "{name}"),
            other => panic!("{name}: expected error {want}, got {other:?}"),
        },
        Answer::Reject(want) => match next(c).await {
            Event::Msg(ServerMsg::Reject { code, .. }) => assert_eq!(code, want, "{name}"),
            other => panic!("{name}: expected reject {want}, got {other:?}"),
        },
        Answer::ErrorClose(want, close) => {
            match next(c).await {
                Event::Msg(ServerMsg::Error { code, .. }) => assert_eq!(code, want, "{name}"),
                other => panic!("{name}: expected error {want}, got {other:?}"),
            }
            assert_eq!(
                within("the close", c.closed()).await.0,
                Some(close),
                "{name}"
            );
        }
        Answer::Close(want) => match next(c).await {
            Event::Closed(code, _) => assert_eq!(code, Some(want), "{name}"),
            other => panic!("{name}: expected close {want}, got {other:?}"),
        },
        Answer::Welcome => match next(c).await {
            Event::Msg(ServerMsg::Welcome { player, .. }) => {
                assert_eq!(player.id.as_str(), polite_id, "{name}");
            }
            other => panic!("{name}: expected welcome, got {other:?}"),
        },
        Answer::Flood { answered, limited } => {
            let (mut got_answered, mut got_limited, mut last_word) = (0, 0, false);
            loop {
                match next(c).await {
                    Event::Msg(
                        ServerMsg::Error {
                            code: ErrorCode::RateLimited,
                            details,
                            ..
                        }
                        | ServerMsg::Reject {
                            code: ErrorCode::RateLimited,
                            details,
                            ..
                        },
                    ) => {
                        assert!(!last_word, "{name}: refused after the closing refusal");
                        match details.as_ref().and_then(|d| d["retry_after_ms"].as_u64()) {
                            Some(ms) if ms > 0 => got_limited += 1,
                            // The refusal that closes says no time: the socket is closing.
                            _ => last_word = true,
                        }
                    }
                    Event::Msg(
                        ServerMsg::Chat { .. }
                        | ServerMsg::Error { .. }
                        | ServerMsg::Reject { .. }
                        | ServerMsg::Pong { .. },
                    ) => {
                        got_answered += 1;
                    }
                    Event::Msg(other) => panic!("{name}: unexpected {other:?}"),
                    Event::Closed(code, _) => {
                        assert!(last_word, "{name}: closed without saying why");
                        assert_eq!(code, Some(close::RATE_LIMITED), "{name}");
                        break;
                    }
                }
            }
            // The room answers what passed on its own time: some of those answers may come
            // after the session's refusals, or not at all once the socket closes.
            assert!(
                got_limited >= limited && got_answered + got_limited <= answered + limited,
                "{name}: {got_answered} answered, {got_limited} refused"
            );
        }
        Answer::Http(..) | Answer::HttpLimited => unreachable!(),
    }
}

async fn http_case(addr: SocketAddr, case: &Case) {
    let name = case.name;
    match (&case.input, case.answer) {
        (Input::Http(method, path, headers, body), Answer::Http(status, code)) => {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (got, _, body) = within(
                "an HTTP answer",
                support::request_text(addr, method, path, &headers, body.as_ref()),
            )
            .await;
            let body: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{name}: body not JSON: {body}"));
            assert_eq!(got, status, "{name}: {body}");
            assert_eq!(body["error"]["code"], json!(code), "{name}");
        }
        (Input::HttpFlood(path, n), Answer::HttpLimited) => {
            for _ in 0..*n {
                let (status, head, body) = within(
                    "an HTTP answer",
                    support::request_text(addr, "GET", path, &[], None),
                )
                .await;
                if status == 429 {
                    let body: Value = serde_json::from_str(&body).unwrap();
                    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{name}");
                    assert!(
                        head.to_ascii_lowercase().contains("\r\nretry-after: "),
                        "{name}: {head}"
                    );
                    return;
                }
                assert_eq!(status, 200, "{name}");
            }
            panic!("{name}: {n} requests and none refused");
        }
        _ => unreachable!("{name}: an HTTP input has an HTTP answer"),
    }
}

/// Create a counter room as `c`; its id.
async fn counter_room(c: &mut Raw) -> String {
    c.send(&support::create_msg(1, "counter")).await;
    match c.until(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { room, .. } => room.id.to_string(),
        _ => unreachable!(),
    }
}

fn settings() -> Settings {
    Settings {
        jwt: Some(JwtSettings {
            hs256_secret: Some(JWT_SECRET.to_owned()),
            issuer: Some(ISSUER.to_owned()),
            audience: Some(AUDIENCE.to_owned()),
            ..JwtSettings::default()
        }),
        limits: Limits::default(),
        ..Settings::default()
    }
}

#[tokio::test]
async fn every_kind_of_bad_input_gets_its_documented_answer_and_changes_nothing() {
    let srv = server_with(arbiter_games::registry(), settings()).await;
    let addr = srv.addr();
    let mut polite = Raw::connect(addr).await;
    polite
        .send(&ClientMsg::Hello {
            v: 1,
            token: None,
            name: Some("polly".into()),
            instance: None,
        })
        .await;
    let (polite_id, polite_token) = match polite.msg().await {
        ServerMsg::Welcome { player, token, .. } => (player.id.to_string(), token),
        other => panic!("expected welcome, got {other:?}"),
    };
    let room = counter_room(&mut polite).await;
    let cx = Ctx {
        room: room.clone(),
        polite_token,
        polite_id,
    };
    let cases = catalogue(&cx);

    let version = || srv.rooms().find(&room).unwrap().info().v;
    let clock = Clock::freeze();
    let mut polite_seq = 0;
    let mut total = 0;
    for case in &cases {
        let v0 = version();
        match &case.input {
            Input::Http(..) | Input::HttpFlood(..) => http_case(addr, case).await,
            Input::Frames(frames) => {
                let mut c = open_as(addr, case.who, &room).await;
                let v0 = version();
                for frame in frames {
                    c.ws.send(frame.clone()).await.unwrap();
                }
                expect(&mut c, case, &cx.polite_id).await;
                assert_eq!(version(), v0, "{}", case.name);
                leave(c, &room, case.who).await;
            }
            Input::Flood(template, n) => {
                let mut c = open_as(addr, case.who, &room).await;
                let v0 = version();
                for i in 1..=*n {
                    let frame = template.replace("{seq}", &i.to_string());
                    // The server may close the socket before the last ones are written.
                    if c.ws.send(Message::text(frame)).await.is_err() {
                        break;
                    }
                }
                expect(&mut c, case, &cx.polite_id).await;
                assert_eq!(version(), v0, "{}", case.name);
                // The flooder's address (127.0.0.1, as every case's) is held back for the
                // strikes period; the polite player, connected already, is not.
                match tokio_tungstenite::connect_async(support::ws_url(addr)).await {
                    Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                        assert_eq!(res.status().as_u16(), 429, "{}", case.name);
                        let body: Value =
                            serde_json::from_slice(res.body().as_deref().unwrap()).unwrap();
                        let wait = &body["error"]["details"]["retry_after_ms"];
                        assert!(wait.as_u64().is_some_and(|ms| ms > 0), "{body}");
                    }
                    _ => panic!("{}: the flooder's address was let in again", case.name),
                }
                let period = Limits::default().strikes.period().unwrap();
                tokio::time::advance(period).await;
            }
        }
        // The polite player is served, and its action is applied once.
        polite_seq += 1;
        total += polite_seq;
        polite
            .send(&ClientMsg::Act {
                room: room.clone(),
                seq: polite_seq,
                base: None,
                action: json!({"type": "add", "n": polite_seq}),
            })
            .await;
        within(
            "the polite player's ack",
            polite.until(|m| matches!(m, ServerMsg::Ack { seq, .. } if *seq == polite_seq)),
        )
        .await;
        assert!(version() > v0);
        // A second of virtual time refills every bucket the next case starts from.
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    let (_, state) = support::get(addr, &format!("/api/v1/rooms/{room}/state")).await;
    assert_eq!(state["view"]["count"], json!(total), "{state}");
    assert_eq!(state["view"]["actions"], json!(polite_seq), "{state}");
    clock.thaw();
    srv.stop().await.unwrap();

    // The table in docs/security.md is this catalogue.
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security.md"
    ))
    .unwrap();
    let expected = table(&cases);
    assert!(
        doc.contains(&expected),
        "docs/security.md's bad-input table differs from the catalogue; it should read:\n\n{expected}"
    );
}

/// End a case's connection; a seated player leaves first, so its seat goes at once.
async fn leave(mut c: Raw, room: &str, who: Who) {
    if matches!(who, Who::Player) {
        let leave = ClientMsg::Leave {
            rid: Some(99),
            room: room.into(),
        };
        let frame = Message::text(serde_json::to_string(&leave).unwrap());
        let sent = c.ws.send(frame).await.is_ok();
        if sent {
            let _ = within("the leave", async {
                loop {
                    match c.next().await {
                        Event::Msg(ServerMsg::Left { .. }) | Event::Closed(..) => break,
                        Event::Msg(_) => {}
                    }
                }
            })
            .await;
        }
    }
}

#[tokio::test]
async fn three_thousand_sockets_that_never_finish_the_handshake_cost_a_polite_player_nothing() {
    const EACH: usize = 1_000;
    // All sockets come from 127.0.0.1: let one address open and hold the upgraded ones.
    let limits = Limits {
        max_connections_per_ip: 2 * EACH,
        connect: arbiter_server::Rate::OFF,
        ..Limits::default()
    };
    let srv = server_with(
        arbiter_games::registry(),
        Settings {
            limits,
            ..settings()
        },
    )
    .await;
    let addr = srv.addr();
    let mut polite = Raw::connect(addr).await;
    polite.hello("polly").await;
    let room = counter_room(&mut polite).await;
    let clock = Clock::freeze();
    let clock_start = tokio::time::Instant::now();

    // A third say nothing, a third send part of a request and stop, a third upgrade and
    // never say `hello`.
    let mut silent = Vec::with_capacity(EACH);
    let mut partial = Vec::with_capacity(EACH);
    let mut mute = Vec::with_capacity(EACH);
    for _ in 0..EACH {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: webs")
            .await
            .unwrap();
        partial.push(s);
        mute.push(upgraded(addr).await);
    }
    within("the upgraded sockets to be served", async {
        while srv.open_connections() < EACH + 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;

    // Meanwhile the polite player plays as usual.
    let act = |seq: u64| ClientMsg::Act {
        room: room.clone(),
        seq,
        base: None,
        action: json!({"type": "add", "n": 1}),
    };
    for seq in 1..=20 {
        polite.send(&act(seq)).await;
        within(
            "an ack",
            polite.until(|m| matches!(m, ServerMsg::Ack { seq: s, .. } if *s == seq)),
        )
        .await;
    }

    // Each deadline (header or hello, 10 s) falls between its half and its whole, spread so
    // that sockets opened together do not all close together; the polite player's connection
    // stays. The clock was frozen before the first of them was opened.
    let first = support::step_until("the first socket to close", Duration::from_secs(20), || {
        srv.open_connections() < EACH + 1
    })
    .await;
    assert!(first >= Duration::from_secs(5), "closed after {first:?}");
    let mut open_at_three_quarters = 0;
    let waited = support::step_until(
        "the hanging sockets to close",
        Duration::from_secs(20),
        || {
            let open = srv.open_connections() - 1;
            if clock_start.elapsed() < Duration::from_millis(7_500) {
                open_at_three_quarters = open;
            }
            open == 0
        },
    )
    .await
        + first;
    assert!(
        waited <= Duration::from_millis(10_010),
        "closed after {waited:?}"
    );
    assert!(
        (EACH / 4..=EACH * 3 / 4).contains(&open_at_three_quarters),
        "{open_at_three_quarters} of {EACH} still open at 7.5 s"
    );
    // What each upgraded socket was sent after the upgrade ends with close 4003.
    let hello_timeout = [0x0f, 0xa3];
    assert_eq!(u16::from_be_bytes(hello_timeout), close::HELLO_TIMEOUT);
    for mut s in mute {
        // Until the close frame: the server then waits a while for ours before hanging up.
        let mut got = Vec::new();
        let at = within("the close", async {
            loop {
                if let Some(at) = got.windows(4).position(|w| w[0] == 0x88 && w[1] >= 2) {
                    return at;
                }
                let mut buf = [0; 256];
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed without a close frame: {got:?}");
                got.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        assert_eq!(got[at + 2..at + 4], hello_timeout, "{got:?}");
    }
    for mut s in partial.into_iter().chain(silent) {
        let mut got = Vec::new();
        let read = within("the server to hang up", s.read_to_end(&mut got)).await;
        assert!(
            read.is_err() || got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    }
    polite.send(&act(21)).await;
    within(
        "an ack",
        polite.until(|m| matches!(m, ServerMsg::Ack { seq: 21, .. })),
    )
    .await;
    clock.thaw();
    srv.stop().await.unwrap();
}

/// A socket upgraded to a WebSocket that will never send a frame (not even a pong).
async fn upgraded(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        within("the upgrade", s.read_exact(&mut byte))
            .await
            .unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

#[tokio::test]
async fn a_stopping_server_does_not_wait_for_a_silent_socket() {
    let srv = server_with(arbiter_games::registry(), settings()).await;
    let _silent = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    // Sockets are accepted in order: once a later one is answered, the silent one was taken.
    let (status, _) = support::get(srv.addr(), "/healthz").await;
    assert_eq!(status, 200);
    // With time frozen its 10 s deadline never comes; the stop must not wait for it.
    let clock = Clock::freeze();
    within("the server to stop", srv.stop()).await.unwrap();
    clock.thaw();
}
