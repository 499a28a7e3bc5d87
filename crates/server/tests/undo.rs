//! Undo with consent over real sockets: two players and a spectator at a game that marks
//! its additions undoable. Your own action is undone at once and redone; another player's
//! only after they accept a proposal every member sees; a refusal, the proposal's time
//! running out (virtual time) and a reveal each close it and change nothing.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{Client, CreateRoom, Events, Hello};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Registry};
use arbiter_protocol::{ErrorCode, JoinRole, PlayerId, ProposalState, ServerMsg};
use arbiter_server::{Running, Settings};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Clock, server_with, settled, within, ws_url};

/// A shared total. Adding can be taken back; peeking cannot (it shows the room's next random
/// number to everyone). How long a request to undo waits for consent is a room option.
struct Tally;

#[derive(Clone, Serialize, Deserialize)]
struct State {
    total: i64,
    peeked: Vec<u32>,
    consent_ms: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Action {
    Add { n: i64 },
    Peek,
}

impl Game for Tally {
    type State = State;
    type Action = Action;
    type Config = Value;

    fn info(&self) -> GameInfo {
        GameInfo::new("tally", "Tally", "test", 1..=4)
    }

    fn setup(&self, config: &Value, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State {
            total: 0,
            peeked: Vec::new(),
            consent_ms: config["consent_ms"].as_u64().unwrap_or(30_000),
        })
    }

    fn apply(
        &self,
        s: &mut State,
        _: &Actor,
        a: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        match a {
            Action::Add { n } => s.total += n,
            Action::Peek => s.peeked.push(cx.rng().below(100)),
        }
        Ok(())
    }

    fn public_view(&self) -> bool {
        true
    }

    fn undoable(&self, _: &State, a: &Action) -> bool {
        matches!(a, Action::Add { .. })
    }

    fn undo_consent_ms(&self, s: &State) -> u64 {
        s.consent_ms
    }
}

struct Member {
    client: Client,
    events: Events,
}

async fn connect(srv: &Running, name: &str) -> Member {
    let (client, events) = Client::connect(&ws_url(srv.addr()), Hello::named(name))
        .await
        .unwrap();
    Member { client, events }
}

/// The next `undo_proposal` this member receives: (id, state, who it waits for, v).
async fn news(m: &mut Member) -> (u64, ProposalState, Vec<PlayerId>, u64) {
    within("undo_proposal news", async {
        loop {
            match m.events.next().await.expect("the connection stays open") {
                ServerMsg::UndoProposal {
                    id,
                    state,
                    waiting,
                    v,
                    ..
                } => return (id, state, waiting, v),
                _ => continue,
            }
        }
    })
    .await
}

async fn total(srv: &Running, m: &Member, room: &str) -> i64 {
    settled(srv, &m.client, room).await.view["total"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn another_players_action_is_undone_only_with_their_consent() {
    // Heartbeats are out of the way: the test moves time by 10 s at once.
    let settings = Settings {
        heartbeat_timeout: Duration::from_secs(3_600),
        ..Settings::default()
    };
    let srv = server_with(Registry::new().with(Tally), settings).await;
    let clock = Clock::freeze();
    let mut ada = connect(&srv, "Ada").await;
    let mut bob = connect(&srv, "Bob").await;
    let mut eve = connect(&srv, "Eve").await;
    let create = CreateRoom {
        config: Some(json!({"consent_ms": 10_000})),
        ..CreateRoom::new("tally")
    };
    let room = ada.client.create(create).await.unwrap().room.id;
    bob.client.join(&room, JoinRole::Player).await.unwrap();
    eve.client.join(&room, JoinRole::Spectator).await.unwrap();
    let ada_id = ada.client.player().id.clone();
    let add = |n: i64| json!({"type": "add", "n": n});

    // Your own action: undone at once, and redone.
    ada.client.act(&room, add(5)).await.unwrap();
    ada.client.undo(&room).await.unwrap();
    assert_eq!(total(&srv, &eve, &room).await, 0);
    ada.client.redo(&room).await.unwrap();
    assert_eq!(total(&srv, &eve, &room).await, 5);

    // Another player's: refused without asking (as before); asked, a proposal everyone sees.
    let plain = bob.client.undo(&room).await.unwrap_err();
    assert_eq!(plain.code(), Some(ErrorCode::InvalidMove));
    let asked = bob.client.ask_undo(&room).await.unwrap();
    for m in [&mut ada, &mut bob, &mut eve] {
        assert_eq!(
            news(m).await,
            (asked, ProposalState::Open, vec![ada_id.clone()], asked)
        );
    }
    assert_eq!(total(&srv, &eve, &room).await, 5, "not before Ada agrees");
    let not_asked = bob.client.consent(&room, asked, true).await.unwrap_err();
    assert_eq!(not_asked.code(), Some(ErrorCode::InvalidMove));
    let done = ada.client.consent(&room, asked, true).await.unwrap();
    for m in [&mut ada, &mut bob, &mut eve] {
        let (id, state, _, v) = news(m).await;
        assert_eq!((id, state, v), (asked, ProposalState::Accepted, done));
    }
    assert_eq!(total(&srv, &eve, &room).await, 0);

    // Refused: nothing changes.
    ada.client.act(&room, add(3)).await.unwrap();
    let asked = bob.client.ask_undo(&room).await.unwrap();
    assert_eq!(news(&mut eve).await.1, ProposalState::Open);
    ada.client.consent(&room, asked, false).await.unwrap();
    assert_eq!(news(&mut eve).await.1, ProposalState::Refused);
    assert_eq!(news(&mut bob).await.1, ProposalState::Open);
    assert_eq!(news(&mut bob).await.1, ProposalState::Refused);
    assert_eq!(total(&srv, &eve, &room).await, 3);

    // Unanswered: it lapses after the room's 10 s (the default would be 30 s).
    let asked = bob.client.ask_undo(&room).await.unwrap();
    assert_eq!(news(&mut eve).await.1, ProposalState::Open);
    tokio::time::advance(Duration::from_millis(10_010)).await;
    let (id, state, _, v) = news(&mut eve).await;
    assert_eq!((id, state, v), (asked, ProposalState::Expired, asked + 1));
    let late = ada.client.consent(&room, asked, true).await.unwrap_err();
    assert_eq!(late.code(), Some(ErrorCode::InvalidMove));
    assert_eq!(total(&srv, &eve, &room).await, 3);

    // A reveal drops it, and nothing before the reveal can be undone any more.
    let asked = bob.client.ask_undo(&room).await.unwrap();
    assert_eq!(news(&mut eve).await.1, ProposalState::Open);
    ada.client
        .act(&room, json!({"type": "peek"}))
        .await
        .unwrap();
    let (id, state, _, _) = news(&mut eve).await;
    assert_eq!((id, state), (asked, ProposalState::Dropped));
    let e = ada.client.consent(&room, asked, true).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidMove));
    let e = ada.client.undo(&room).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidMove));
    assert_eq!(total(&srv, &eve, &room).await, 3);

    clock.thaw();
    srv.stop().await.unwrap();
}
