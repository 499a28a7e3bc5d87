//! The card table end to end over real sockets: two players submit decks and play turns at a
//! seeded MTG table while two spectators watch and Ada has a second connection open. Both
//! players fire life, counter and tap changes at the same time on a stale `base` (accepted:
//! they are order-independent), a stale draw is refused as `STALE`, two moves of the same
//! card are settled first-come, and the engine's undo, redo and a consented undo go through. Every client
//! of the same viewer class ends with the same view, and hands stay hidden.

#![allow(clippy::unwrap_used)]

mod support;

use arbiter_client::{ActOptions, Client, CreateRoom, Events, Hello, RoomView};
use arbiter_protocol::{ErrorCode, JoinRole, Role, ServerMsg, UndoTop};
use futures_util::future::join_all;
use serde_json::{Value, json};
use support::{PATIENCE, server_with, ws_url};

async fn connect(addr: std::net::SocketAddr, hello: Hello) -> Client {
    let (client, events) = Client::connect(&ws_url(addr), hello).await.unwrap();
    drop(events);
    client
}

/// The next `undo_state` news at version `v` or later: the tops of the undo and redo stacks.
async fn undo_news(events: &mut Events, v: u64) -> (Option<UndoTop>, Option<UndoTop>) {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match events.next().await {
                Some(ServerMsg::UndoState {
                    v: at, undo, redo, ..
                }) if at >= v => return (undo, redo),
                Some(_) => {}
                None => panic!("the connection closed"),
            }
        }
    })
    .await
    .expect("undo news")
}

/// Wait until the client's view of `room` is at version `from` or later and satisfies `pred`.
async fn until(client: &Client, room: &str, from: u64, pred: impl Fn(&Value) -> bool) -> RoomView {
    let mut watch = client.watch(room);
    tokio::time::timeout(
        PATIENCE,
        watch.wait_for(|rv| rv.as_ref().is_some_and(|rv| rv.v >= from && pred(&rv.view))),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the view did not get there in time: {:?}",
            client.view(room)
        )
    })
    .unwrap()
    .clone()
    .unwrap()
}

/// 60 cards in three names, prefixed so each player's cards are recognisable.
fn deck(who: &str) -> Value {
    json!({"type": "submit_deck", "list": [
        {"name": format!("{who} Forest"), "count": 24},
        {"name": format!("{who} Bear"), "count": 20},
        {"name": format!("{who} Growth"), "count": 16},
    ]})
}

fn hand(view: &Value, of: &str) -> Vec<Value> {
    view["players"][of]["zones"]["hand"]["cards"]
        .as_array()
        .unwrap()
        .clone()
}

fn zone(view: &Value, of: &str, z: &str) -> Vec<u64> {
    view["players"][of]["zones"][z]["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

/// Nobody but the owner sees a hand's cards (no reveals happen in this game).
fn hands_hidden(view: &Value, me: Option<&str>, players: [&str; 2]) {
    for p in players {
        if Some(p) == me {
            continue;
        }
        let h = hand(view, p);
        assert!(
            h.iter().all(Value::is_null),
            "{me:?} sees {p}'s hand: {h:?}"
        );
        assert_eq!(view["players"][p]["zones"]["hand"]["count"], json!(h.len()));
    }
}

/// The active player plays the top card of their hand onto the battlefield and passes.
async fn play_turn(players: [(&Client, &str); 2], room: &str, from: u64) -> u64 {
    let rv = until(players[0].0, room, from, |v| v["phase"] == json!("playing")).await;
    let active = rv.view["turn"]["player"].as_str().unwrap().to_owned();
    let (client, me) = players.into_iter().find(|(_, id)| *id == active).unwrap();
    let rv = until(client, room, rv.v, |_| true).await;
    let card = hand(&rv.view, me)[0].as_u64().unwrap();
    client
        .act(
            room,
            json!({"type": "move", "cards": [card], "from": {"zone": "hand"}, "to": {"zone": "battlefield"}}),
        )
        .await
        .unwrap();
    client
        .act(room, json!({"type": "advance_phase", "to": "cleanup"}))
        .await
        .unwrap();
    client
        .act(room, json!({"type": "pass_turn"}))
        .await
        .unwrap()
}

#[tokio::test]
async fn two_players_play_undo_and_converge() {
    let mut settings = arbiter_server::Settings::default();
    settings.rooms.allow_seeded_rooms = true;
    let srv = server_with(
        arbiter_games::registry().with(arbiter_games::tcg::Tcg),
        settings,
    )
    .await;
    let addr = srv.addr();
    let ada = connect(addr, Hello::named("Ada")).await;
    let bob = connect(addr, Hello::named("Bob")).await;
    let cy = connect(addr, Hello::named("Cy")).await;
    let dee = connect(addr, Hello::named("Dee")).await;

    let created = ada
        .create(CreateRoom {
            seed: Some(2024),
            config: Some(json!({"format": "mtg"})),
            ..CreateRoom::new("tcg")
        })
        .await
        .unwrap();
    let room = created.room.id.clone();
    assert_eq!(
        bob.join(&created.room.code, JoinRole::Any)
            .await
            .unwrap()
            .role,
        Role::Player
    );
    for s in [&cy, &dee] {
        let j = s.join(&room, JoinRole::Spectator).await.unwrap();
        assert_eq!(j.role, Role::Spectator);
    }
    let a = ada.player().id.as_str().to_owned();
    let b = bob.player().id.as_str().to_owned();

    // Decks are checked against the format; then submitted and the game started.
    let err = ada
        .act(
            &room,
            json!({"type": "submit_deck", "list": [{"name": "Forest", "count": 59}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
    ada.act(&room, deck("Ada")).await.unwrap();
    bob.act(&room, deck("Bob")).await.unwrap();
    let v = bob.act(&room, json!({"type": "start"})).await.unwrap();
    let err = cy.act(&room, json!({"type": "draw"})).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotAPlayer));

    // Ada's second connection (a second tab: her token, its own instance): the same player,
    // the same view. Its events are read for the undo news.
    let (ada2, mut ada2_news) = Client::connect(
        &ws_url(addr),
        Hello {
            name: Some("Ada".into()),
            token: Some(ada.token().to_owned()),
            instance: Some("ada-second-tab".into()),
            ..Hello::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        ada2.join(&room, JoinRole::Any).await.unwrap().role,
        Role::Player
    );

    let started = until(&cy, &room, v, |_| true).await;
    assert_eq!(
        started.view["players"][&a]["zones"]["hand"]["count"],
        json!(7)
    );
    assert_eq!(
        started.view["players"][&b]["zones"]["library"]["count"],
        json!(53)
    );
    assert!(
        !started.view.to_string().contains("Bear"),
        "nothing public yet"
    );

    // Two turns each.
    let mut v = v;
    for _ in 0..4 {
        v = play_turn([(&ada, &a), (&bob, &b)], &room, v).await;
    }
    let rv = until(&ada, &room, v, |_| true).await;
    let ada_bf = zone(&rv.view, &a, "battlefield");
    let bob_bf = zone(&rv.view, &b, "battlefield");
    assert_eq!((ada_bf.len(), bob_bf.len()), (2, 2));

    // Concurrent order-independent changes, every one on the same (soon stale) base.
    let base = ActOptions {
        base: Some(rv.v),
        ..ActOptions::default()
    };
    let ada_acts = [
        json!({"type": "life", "player": &b, "delta": -3}),
        json!({"type": "tap", "cards": [ada_bf[0]]}),
        json!({"type": "counter", "card": bob_bf[0], "name": "-1/-1", "delta": 1}),
        json!({"type": "player_counter", "player": &b, "name": "poison", "delta": 2}),
    ];
    let bob_acts = [
        json!({"type": "life", "player": &a, "delta": -2}),
        json!({"type": "tap", "cards": [bob_bf[0], bob_bf[1]]}),
        json!({"type": "counter", "card": bob_bf[0], "name": "-1/-1", "delta": 1}),
        json!({"type": "life", "delta": 1}),
    ];
    let (ra, rb) = tokio::join!(
        join_all(
            ada_acts
                .iter()
                .map(|x| ada.act_with(&room, base, x.clone()))
        ),
        join_all(
            bob_acts
                .iter()
                .map(|x| bob.act_with(&room, base, x.clone()))
        ),
    );
    let mut v = 0;
    for r in ra.into_iter().chain(rb) {
        v = v.max(r.expect("order-independent actions are not stale"));
    }
    // An order-dependent action on the stale base is refused.
    let err = ada
        .act_with(&room, base, json!({"type": "draw"}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Stale));

    // Both move Ada's second permanent at once: the first applied wins, the second is told
    // where the card went.
    let moves = [
        (
            &ada,
            json!({"type": "move", "cards": [ada_bf[1]], "from": {"zone": "battlefield", "player": &a}, "to": {"zone": "graveyard", "player": &a}}),
        ),
        (
            &bob,
            json!({"type": "move", "cards": [ada_bf[1]], "from": {"zone": "battlefield", "player": &a}, "to": {"zone": "exile", "player": &a}}),
        ),
    ];
    let results = join_all(
        moves
            .iter()
            .map(|(c, x)| c.act_with(&room, base, x.clone())),
    )
    .await;
    let won: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(lost.code(), Some(ErrorCode::InvalidMove));
    assert!(lost.to_string().contains("it is now in"), "{lost}");
    v = v.max(*won[0].as_ref().unwrap());

    let rv = until(&cy, &room, v, |_| true).await;
    assert_eq!(rv.view["players"][&a]["life"], json!(18));
    assert_eq!(rv.view["players"][&b]["life"], json!(18));
    assert_eq!(rv.view["players"][&b]["counters"], json!({"poison": 2}));
    let key = bob_bf[0].to_string();
    assert_eq!(rv.view["cards"][&key]["counters"], json!({"-1/-1": 2}));
    assert_eq!(rv.view["cards"][&key]["tapped"], json!(true));

    // Undo and redo of Ada's own action (the engine's); every member hears whose it is.
    let before_untap = until(&cy, &room, v, |_| true).await.view;
    let v1 = ada
        .act(&room, json!({"type": "untap", "cards": [ada_bf[0]]}))
        .await
        .unwrap();
    let (undo, redo) = undo_news(&mut ada2_news, v1).await;
    assert_eq!(undo.map(|u| u.author.0), Some(a.clone()));
    assert_eq!(redo, None);
    let err = bob.undo(&room).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidMove));
    let undone = ada.undo(&room).await.unwrap();
    let (_, redo) = undo_news(&mut ada2_news, undone).await;
    assert_eq!(redo.and_then(|r| r.undone_by).map(|p| p.0), Some(a.clone()));
    let v2 = ada.redo(&room).await.unwrap();
    let rv = until(&dee, &room, v2, |_| true).await;
    assert_eq!(
        rv.view["cards"][ada_bf[0].to_string()]["tapped"],
        json!(false)
    );
    // Bob asks to undo it; Ada agrees from her second tab.
    let proposal = bob.ask_undo(&room).await.unwrap();
    let open = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(ServerMsg::UndoProposal { id, waiting, .. }) = ada2_news.next().await {
                return (id, waiting);
            }
        }
    })
    .await
    .expect("the proposal reaches Ada");
    assert_eq!(open.0, proposal);
    assert_eq!(
        open.1.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        [&a]
    );
    let last = ada2.consent(&room, proposal, true).await.unwrap();

    // Every client converges on the last version; views agree within each viewer class.
    let views: Vec<Value> = join_all(
        [&ada, &ada2, &bob, &cy, &dee]
            .into_iter()
            .map(|c| until(c, &room, last, |_| true)),
    )
    .await
    .into_iter()
    .map(|rv| {
        assert_eq!(rv.v, last, "nobody acted after the accept");
        rv.view
    })
    .collect();
    let [ada_v, ada2_v, bob_v, cy_v, dee_v] = &views[..] else {
        unreachable!()
    };
    assert_eq!(ada_v, ada2_v);
    assert_eq!(cy_v, dee_v);
    assert_eq!(ada_v["cards"][ada_bf[0].to_string()]["tapped"], json!(true));
    assert_eq!(
        *cy_v, before_untap,
        "the consented undo took the untap back whole"
    );
    // Public facts agree across classes; hands stay with their owners.
    for view in [ada_v, bob_v, cy_v] {
        for p in [&a, &b] {
            for z in ["battlefield", "graveyard", "exile"] {
                assert_eq!(
                    view["players"][p]["zones"][z],
                    cy_v["players"][p]["zones"][z]
                );
            }
            assert_eq!(view["players"][p]["life"], cy_v["players"][p]["life"]);
        }
    }
    hands_hidden(ada_v, Some(&a), [&a, &b]);
    hands_hidden(bob_v, Some(&b), [&a, &b]);
    hands_hidden(cy_v, None, [&a, &b]);
    assert!(hand(ada_v, &a).iter().all(Value::is_u64));
    srv.stop().await.unwrap();
}
