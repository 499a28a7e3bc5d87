//! The client against a scripted server on 127.0.0.1: each test plays the server's side of the
//! protocol by hand, frame by frame, and checks what the client sends and resolves.

#![allow(clippy::unwrap_used)]

use arbiter_client::protocol::{ClientMsg, ErrorCode, close};
use arbiter_client::{
    ActOptions, Client, ClientError, CloseInfo, CreateRoom, Events, Hello, JoinRole, PlayerId,
    PlayerInfo, Role, RoomInfo, RoomStatus, RoomView, ServerMsg,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{WebSocketStream, accept_async};

const ROOM: &str = "r_1";
/// A hang guard, not a pace: the scripted server answers in milliseconds.
const PATIENCE: Duration = Duration::from_secs(120);

/// The server end of one connection.
struct Peer {
    ws: WebSocketStream<TcpStream>,
}

impl Peer {
    async fn frame(&mut self) -> Message {
        timeout(PATIENCE, self.ws.next())
            .await
            .expect("client frame in time")
            .expect("connection open")
            .expect("frame reads")
    }

    async fn recv(&mut self) -> ClientMsg {
        match self.frame().await {
            Message::Text(text) => serde_json::from_str(&text).expect("client sends protocol v1"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    async fn send(&mut self, msg: ServerMsg) {
        self.ws.send(Message::text(msg.to_json())).await.unwrap();
    }

    async fn close(mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: code.into(),
            reason: reason.into(),
        };
        self.ws.close(Some(frame)).await.unwrap();
        // Read the client's reply so the close handshake completes.
        while let Some(Ok(_)) = self.ws.next().await {}
    }
}

fn welcome() -> ServerMsg {
    ServerMsg::Welcome {
        v: 1,
        player: PlayerInfo {
            id: PlayerId::from("p_ada"),
            name: "ada".into(),
        },
        token: "tok.ada".into(),
        max_frame: 65536,
    }
}

fn room_info() -> RoomInfo {
    RoomInfo {
        id: ROOM.into(),
        code: "KXQTP".into(),
        game: "tictactoe".into(),
        public: true,
        max_players: 2,
        max_spectators: 64,
        players: 1,
        spectators: 0,
        status: RoomStatus::Waiting,
        v: 1,
        locked: false,
        lang: None,
        name: None,
        tags: Vec::new(),
        paused: false,
    }
}

fn joined(rid: Option<u64>) -> ServerMsg {
    ServerMsg::Joined {
        rid,
        room: room_info(),
        role: Role::Player,
        notice: None,
        members: vec![],
        seq: 0,
        rewound: None,
    }
}

fn snapshot(v: u64, view: Value) -> ServerMsg {
    ServerMsg::Snapshot {
        room: ROOM.into(),
        v,
        view,
    }
}

fn patch(from: u64, v: u64, ops: Value) -> ServerMsg {
    ServerMsg::Patch {
        room: ROOM.into(),
        from,
        v,
        ops: serde_json::from_value(ops).unwrap(),
    }
}

fn ack(seq: u64, v: u64) -> ServerMsg {
    ServerMsg::Ack {
        room: ROOM.into(),
        seq,
        v,
    }
}

/// Listen, connect a client, and hand back both ends plus the hello the server read.
async fn connect_with(hello: Hello) -> (Client, Events, Peer, ClientMsg) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            ws: accept_async(tcp).await.unwrap(),
        };
        let hello = peer.recv().await;
        peer.send(welcome()).await;
        (peer, hello)
    });
    let (client, events) = timeout(PATIENCE, Client::connect(&url, hello))
        .await
        .unwrap()
        .unwrap();
    let (peer, hello) = server.await.unwrap();
    (client, events, peer, hello)
}

async fn connect() -> (Client, Events, Peer) {
    let (client, events, peer, _) = connect_with(Hello::named("ada")).await;
    (client, events, peer)
}

/// Join [`ROOM`] and serve its snapshot at version 1.
async fn join_room(client: &Client, peer: &mut Peer, view: Value) {
    let join = tokio::spawn({
        let client = client.clone();
        async move { client.join(ROOM, JoinRole::Any).await }
    });
    let ClientMsg::Join { rid, room, .. } = peer.recv().await else {
        panic!("expected join");
    };
    assert_eq!(room, ROOM);
    peer.send(joined(rid)).await;
    peer.send(snapshot(1, view)).await;
    join.await.unwrap().unwrap();
    wait_for_version(client, 1).await;
}

async fn wait_for_version(client: &Client, v: u64) -> RoomView {
    let mut rx = client.watch(ROOM);
    let view = timeout(
        PATIENCE,
        rx.wait_for(|view| view.as_ref().is_some_and(|view| view.v == v)),
    )
    .await
    .expect("view reaches the version in time")
    .expect("connection open")
    .clone();
    view.expect("a view")
}

#[tokio::test]
async fn hello_carries_name_and_token_and_welcome_gives_the_identity() {
    let hello = Hello {
        name: Some("ada".into()),
        token: Some("tok.old".into()),
        ..Hello::default()
    };
    let (client, mut events, _peer, sent) = connect_with(hello).await;
    assert_eq!(
        sent,
        ClientMsg::Hello {
            v: 1,
            token: Some("tok.old".into()),
            name: Some("ada".into()),
            instance: None,
        }
    );
    assert_eq!(client.player().id, PlayerId::from("p_ada"));
    assert_eq!(client.token(), "tok.ada");
    assert_eq!(client.max_frame(), 65536);
    assert_eq!(events.next().await, Some(welcome()));
}

#[tokio::test]
async fn an_error_instead_of_welcome_fails_connect() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            ws: accept_async(tcp).await.unwrap(),
        };
        peer.recv().await;
        peer.send(ServerMsg::Error {
            rid: None,
            code: ErrorCode::BadToken,
            message: "bad signature".into(),
            details: None,
        })
        .await;
        peer.close(close::NORMAL, "").await;
    });
    let err = Client::connect(&url, Hello::default()).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadToken), "{err}");
}

#[tokio::test]
async fn create_and_join_resolve_on_their_rid_and_errors_fail_only_their_request() {
    let (client, mut events, mut peer) = connect().await;
    let create = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .create(CreateRoom {
                    max_players: Some(2),
                    ..CreateRoom::new("tictactoe")
                })
                .await
        }
    });
    let ClientMsg::Create {
        rid: create_rid,
        game,
        max_players,
        ..
    } = peer.recv().await
    else {
        panic!("expected create");
    };
    assert_eq!((game.as_str(), max_players), ("tictactoe", Some(2)));

    let join = tokio::spawn({
        let client = client.clone();
        async move { client.join("NOPE1", JoinRole::Spectator).await }
    });
    let ClientMsg::Join {
        rid: join_rid,
        role,
        ..
    } = peer.recv().await
    else {
        panic!("expected join");
    };
    assert_eq!(role, JoinRole::Spectator);
    assert_ne!(create_rid, join_rid);

    // Answer out of order, with an unrelated rid-less error in between.
    let not_found = |rid| ServerMsg::Error {
        rid,
        code: ErrorCode::RoomNotFound,
        message: "no such room".into(),
        details: None,
    };
    peer.send(not_found(None)).await;
    peer.send(not_found(join_rid)).await;
    peer.send(joined(create_rid)).await;

    let err = join.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Server {
                code: ErrorCode::RoomNotFound,
                ..
            }
        ),
        "{err}"
    );
    let room = create.await.unwrap().unwrap();
    assert_eq!(room.room, room_info());
    assert_eq!(room.role, Role::Player);

    // Every frame is on the stream, rid-less error included, in order.
    assert_eq!(events.next().await, Some(welcome()));
    assert_eq!(events.next().await, Some(not_found(None)));
    assert_eq!(events.next().await, Some(not_found(join_rid)));
    assert_eq!(events.next().await, Some(joined(create_rid)));
    assert_eq!(events.try_next(), None);
}

#[tokio::test]
async fn act_resolves_after_its_patch_and_a_reject_is_an_error() {
    let (client, _events, mut peer) = connect().await;
    join_room(
        &client,
        &mut peer,
        json!({"board": [null, null], "turn": "X"}),
    )
    .await;

    let act = tokio::spawn({
        let client = client.clone();
        async move { client.act(ROOM, json!({"cell": 0})).await }
    });
    assert_eq!(
        peer.recv().await,
        ClientMsg::Act {
            room: ROOM.into(),
            seq: 1,
            base: None,
            action: json!({"cell": 0})
        }
    );
    peer.send(patch(
        1,
        2,
        json!([
            {"op": "replace", "path": "/board/0", "value": "X"},
            {"op": "replace", "path": "/turn", "value": "O"}
        ]),
    ))
    .await;
    peer.send(ack(1, 2)).await;
    assert_eq!(act.await.unwrap().unwrap(), 2);
    assert_eq!(
        client.view(ROOM),
        Some(RoomView {
            v: 2,
            view: json!({"board": ["X", null], "turn": "O"})
        })
    );

    let act = tokio::spawn({
        let client = client.clone();
        async move {
            let options = ActOptions {
                seq: None,
                base: Some(2),
            };
            client.act_with(ROOM, options, json!({"cell": 1})).await
        }
    });
    let ClientMsg::Act { seq, base, .. } = peer.recv().await else {
        panic!("expected act");
    };
    assert_eq!((seq, base), (2, Some(2)));
    peer.send(ServerMsg::Reject {
        room: ROOM.into(),
        seq: 2,
        code: ErrorCode::NotYourTurn,
        message: "it is O's turn".into(),
        details: None,
    })
    .await;
    let err = act.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Rejected {
                code: ErrorCode::NotYourTurn,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(client.view(ROOM).map(|view| view.v), Some(2));
}

#[tokio::test]
async fn a_resent_seq_answers_every_waiter_and_later_seqs_stay_above_it() {
    let (client, _events, mut peer) = connect().await;
    join_room(&client, &mut peer, json!({})).await;

    let resend = |client: &Client| {
        let client = client.clone();
        tokio::spawn(async move {
            let options = ActOptions {
                seq: Some(5),
                base: None,
            };
            client.act_with(ROOM, options, json!({"go": true})).await
        })
    };
    let first = resend(&client);
    let second = resend(&client);
    for _ in 0..2 {
        let ClientMsg::Act { seq, .. } = peer.recv().await else {
            panic!("expected act");
        };
        assert_eq!(seq, 5);
    }
    peer.send(patch(1, 2, json!([]))).await;
    peer.send(ack(5, 2)).await;
    peer.send(ack(5, 2)).await;
    assert_eq!(first.await.unwrap().unwrap(), 2);
    assert_eq!(second.await.unwrap().unwrap(), 2);
    assert_eq!(client.last_seq(ROOM), 5);

    let next = tokio::spawn({
        let client = client.clone();
        async move { client.act(ROOM, json!({"go": true})).await }
    });
    let ClientMsg::Act { seq, .. } = peer.recv().await else {
        panic!("expected act");
    };
    assert_eq!(seq, 6);
    peer.send(ack(6, 2)).await;
    assert_eq!(next.await.unwrap().unwrap(), 2);
}

#[tokio::test]
async fn a_patch_that_skips_a_version_asks_for_one_snapshot() {
    let (client, _events, mut peer) = connect().await;
    join_room(&client, &mut peer, json!({"n": 1})).await;

    let set = |n: u64| json!([{"op": "replace", "path": "/n", "value": n}]);
    peer.send(patch(2, 3, set(3))).await;
    peer.send(patch(3, 4, set(4))).await;
    assert_eq!(peer.recv().await, ClientMsg::Sync { room: ROOM.into() });
    // Only one sync per gap: the next frame is the ping, not a second sync.
    let ping = tokio::spawn({
        let client = client.clone();
        async move { client.ping().await }
    });
    let ClientMsg::Ping { n } = peer.recv().await else {
        panic!("expected ping, not another sync");
    };
    peer.send(ServerMsg::Pong { n }).await;
    ping.await.unwrap().unwrap();
    assert_eq!(client.view(ROOM).map(|view| view.v), Some(1));

    peer.send(snapshot(4, json!({"n": 4}))).await;
    peer.send(patch(4, 5, set(5))).await;
    assert_eq!(wait_for_version(&client, 5).await.view, json!({"n": 5}));
}

#[tokio::test]
async fn leaving_drops_the_view() {
    let (client, _events, mut peer) = connect().await;
    join_room(&client, &mut peer, json!({})).await;
    let mut watch = client.watch(ROOM);
    let leave = tokio::spawn({
        let client = client.clone();
        async move { client.leave(ROOM).await }
    });
    let ClientMsg::Leave { rid, room } = peer.recv().await else {
        panic!("expected leave");
    };
    peer.send(ServerMsg::Left {
        rid,
        room,
        reason: None,
    })
    .await;
    leave.await.unwrap().unwrap();
    assert_eq!(client.view(ROOM), None);
    timeout(PATIENCE, watch.wait_for(Option::is_none))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_server_close_fails_pending_calls_with_its_code() {
    let (client, mut events, mut peer) = connect().await;
    join_room(&client, &mut peer, json!({})).await;
    let mut watch = client.watch(ROOM);
    let act = tokio::spawn({
        let client = client.clone();
        async move { client.act(ROOM, json!({})).await }
    });
    peer.recv().await;
    peer.close(close::TOO_SLOW, "too slow").await;

    let err = act.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, ClientError::Closed { code: Some(close::TOO_SLOW), reason } if reason == "too slow"),
        "{err}"
    );
    let expected = CloseInfo {
        code: Some(close::TOO_SLOW),
        reason: "too slow".into(),
    };
    assert_eq!(timeout(PATIENCE, client.closed()).await.unwrap(), expected);
    assert_eq!(client.close_info(), Some(expected));
    assert!(watch.wait_for(|_| false).await.is_err());
    assert!(matches!(
        client.act(ROOM, json!({})).await,
        Err(ClientError::Closed { .. })
    ));
    assert!(client.send_raw("{}".into()).is_err());
    // The stream holds everything up to the close, then ends.
    while timeout(PATIENCE, events.next()).await.unwrap().is_some() {}
}

#[tokio::test]
async fn raw_frames_go_out_verbatim_and_close_is_normal() {
    let (client, _events, mut peer) = connect().await;
    client.send_raw("not json".into()).unwrap();
    assert_eq!(peer.frame().await, Message::text("not json"));

    client.close();
    let Message::Close(Some(frame)) = peer.frame().await else {
        panic!("expected a close frame");
    };
    assert_eq!(u16::from(frame.code), close::NORMAL);
    while let Some(Ok(_)) = peer.ws.next().await {}
    let info = timeout(PATIENCE, client.closed()).await.unwrap();
    assert_eq!(info.code, Some(close::NORMAL));
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let (client, _events, mut peer) = connect().await;
    drop(client);
    let Message::Close(Some(frame)) = peer.frame().await else {
        panic!("expected a close frame");
    };
    assert_eq!(u16::from(frame.code), close::NORMAL);
}
