//! The room actor with tokio's clock paused: timers fire at their due time and enter the log,
//! and rooms nobody uses close themselves and leave the directory.

#![allow(clippy::unwrap_used)]

mod common;

use arbiter_engine::protocol::{ClientMsg, JoinRole, PlayerInfo, ServerMsg};
use arbiter_engine::{
    Caller, CreateOptions, Frame, Outbox, Registry, RoomCmd, RoomLifetimes, RoomLimits, Rooms,
};
use bytes::Bytes;
use common::Secrets;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Chan(mpsc::UnboundedSender<Bytes>);

impl Outbox for Chan {
    fn push(&self, frame: Frame) -> bool {
        self.0.send(frame.bytes).is_ok()
    }
}

fn caller(conn: u64, id: &str) -> (Caller, mpsc::UnboundedReceiver<Bytes>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let caller = Caller {
        conn,
        player: PlayerInfo {
            id: id.into(),
            name: id.into(),
        },
        instance: None,
        outbox: Arc::new(Chan(tx)),
    };
    (caller, rx)
}

/// The next frame, past the room's own chat lines ("Ada joined").
async fn next(rx: &mut mpsc::UnboundedReceiver<Bytes>) -> ServerMsg {
    loop {
        let msg = serde_json::from_slice(&rx.recv().await.unwrap()).unwrap();
        if !matches!(msg, ServerMsg::Chat { from: None, .. }) {
            return msg;
        }
    }
}

fn rooms(lifetimes: RoomLifetimes) -> Rooms {
    Rooms::new(
        Registry::new().with(Secrets),
        RoomLimits {
            lifetimes,
            ..RoomLimits::default()
        },
    )
}

#[tokio::test(start_paused = true)]
async fn a_timer_fires_at_its_due_time_as_a_system_entry() {
    let rooms = rooms(RoomLifetimes::default());
    let room = rooms
        .create("secrets", Value::Null, CreateOptions::default())
        .await
        .unwrap();
    let (ada, mut rx) = caller(1, "ada");
    room.send(RoomCmd::Client {
        caller: ada.clone(),
        msg: ClientMsg::Join {
            rid: None,
            room: room.id().into(),
            role: JoinRole::Player,
            since: None,
            password: None,
            invite: None,
        },
    })
    .await
    .unwrap();
    assert!(matches!(next(&mut rx).await, ServerMsg::Joined { .. }));
    assert!(matches!(
        next(&mut rx).await,
        ServerMsg::Snapshot { v: 1, .. }
    ));

    let armed_at = Instant::now();
    let action = json!({"type": "arm", "after_ms": 5000});
    room.send(RoomCmd::Client {
        caller: ada.clone(),
        msg: ClientMsg::Act {
            room: room.id().into(),
            seq: 1,
            base: None,
            action,
        },
    })
    .await
    .unwrap();
    assert!(matches!(next(&mut rx).await, ServerMsg::Patch { v: 2, .. }));
    assert!(matches!(
        next(&mut rx).await,
        ServerMsg::Ack { seq: 1, v: 2, .. }
    ));

    // Nothing happens before the due time...
    tokio::time::advance(Duration::from_millis(4_990)).await;
    assert!(rx.try_recv().is_err());
    // ...and the reveal arrives as version 3 once it is due.
    match next(&mut rx).await {
        ServerMsg::Patch {
            from: 2, v: 3, ops, ..
        } => {
            let ops = serde_json::to_value(ops).unwrap();
            assert!(ops.to_string().contains("/revealed"), "{ops}");
        }
        other => panic!("expected the reveal patch, got {other:?}"),
    }
    let waited = armed_at.elapsed();
    assert!(
        waited >= Duration::from_millis(5_000) && waited < Duration::from_millis(5_100),
        "{waited:?}"
    );
    assert_eq!(room.info().v, 3);
}

#[tokio::test(start_paused = true)]
async fn rooms_without_connections_close_and_leave_the_directory() {
    let lifetimes = RoomLifetimes {
        empty: Duration::from_secs(60),
        abandoned: Duration::from_secs(600),
    };
    let rooms = rooms(lifetimes);
    let never_joined = rooms
        .create("secrets", Value::Null, CreateOptions::default())
        .await
        .unwrap();
    let abandoned = rooms
        .create("secrets", Value::Null, CreateOptions::default())
        .await
        .unwrap();
    let (ada, mut rx) = caller(1, "ada");
    abandoned
        .send(RoomCmd::Client {
            caller: ada,
            msg: ClientMsg::Join {
                rid: None,
                room: abandoned.id().into(),
                role: JoinRole::Player,
                since: None,
                password: None,
                invite: None,
            },
        })
        .await
        .unwrap();
    next(&mut rx).await;
    abandoned
        .send(RoomCmd::Disconnect { conn: 1 })
        .await
        .unwrap();
    assert_eq!(rooms.len(), 2);

    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::task::yield_now().await;
    assert!(never_joined.is_closed());
    assert!(rooms.find(never_joined.id()).is_none());
    assert!(
        rooms.find(abandoned.id()).is_some(),
        "a held seat keeps the room longer"
    );

    tokio::time::advance(Duration::from_secs(600)).await;
    tokio::task::yield_now().await;
    assert!(rooms.find(abandoned.id()).is_none());
    assert!(rooms.is_empty());
}
