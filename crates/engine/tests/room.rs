//! The room engine without a network: hidden information, de-duplication, stale bases,
//! patches versus snapshots, atomic refusals, timers and deterministic replay.

#![allow(clippy::unwrap_used)]

mod common;

use arbiter_engine::protocol::{Encoding, ErrorCode, JoinRole, PresenceEvent, Role, ServerMsg};
use arbiter_engine::{Game, Room, RoomOptions, RoomSpec, Viewer};
use common::{Mirror, Peer, Secrets};
use serde_json::{Value, json};
use std::sync::Arc;

fn room(max_players: u32) -> Room<Secrets> {
    Room::new(
        Arc::new(Secrets),
        RoomSpec {
            id: "r_test".into(),
            code: "BCDFG".into(),
            config: Value::Null,
            seed: 99,
            created_ms: 1_000,
            options: RoomOptions {
                public: true,
                max_players,
                max_spectators: 4,
                seat_grace_ms: 1_000,
                lock: None,
                lang: None,
                tags: Vec::new(),
            },
        },
    )
    .unwrap()
}

fn acks(msgs: &[ServerMsg]) -> Vec<(u64, u64)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Ack { seq, v, .. } => Some((*seq, *v)),
            _ => None,
        })
        .collect()
}

fn rejects(msgs: &[ServerMsg]) -> Vec<(u64, ErrorCode)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::Reject { seq, code, .. } => Some((*seq, *code)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_viewer_never_receives_another_seats_secret() {
    let mut r = room(3);
    let (mut alice, mut bob, mut watcher) = (
        Peer::new(1, "alice"),
        Peer::new(2, "bob"),
        Peer::new(3, "watcher"),
    );
    r.join(&alice.caller, JoinRole::Player, None, None, 1_001);
    r.join(&bob.caller, JoinRole::Player, None, None, 1_002);
    r.join(&watcher.caller, JoinRole::Spectator, None, None, 1_003);
    for (seq, a) in [
        json!({"type": "bump"}),
        json!({"type": "roll"}),
        json!({"type": "say", "text": "hi"}),
    ]
    .into_iter()
    .enumerate()
    {
        r.act(&alice.caller, seq as u64 + 1, None, a.clone(), 1_010);
        r.act(&bob.caller, seq as u64 + 1, None, a, 1_011);
    }
    let secret = |id: &str| r.state().secrets[&id.into()].clone();
    let (sa, sb) = (secret("alice"), secret("bob"));
    assert_ne!(sa, sb);

    let alice_raw = alice.raw().join("\n");
    let bob_raw = bob.raw().join("\n");
    let watcher_raw = watcher.raw().join("\n");
    assert!(alice_raw.contains(&sa), "alice sees her own secret");
    assert!(!alice_raw.contains(&sb), "alice never sees bob's secret");
    assert!(bob_raw.contains(&sb) && !bob_raw.contains(&sa));
    assert!(
        !watcher_raw.contains("SECRET"),
        "spectators see no secret at all"
    );

    // Each mirror, kept only from what was sent, equals the viewer's own view.
    for (peer, viewer) in [
        (&mut alice, Viewer::Player("alice".into())),
        (&mut bob, Viewer::Player("bob".into())),
        (&mut watcher, Viewer::Spectator),
    ] {
        let mut m = Mirror::default();
        m.absorb(&peer.take());
        assert_eq!(m.view, Secrets.view(r.state(), r.seats(), &viewer));
        assert_eq!(m.v, r.version());
    }
}

#[test]
fn versions_arrive_gap_free_and_patches_rebuild_the_view() {
    let mut r = room(2);
    let (mut alice, mut bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    for seq in 1..=20 {
        r.act(&alice.caller, seq, None, json!({"type": "bump"}), 0);
    }
    let (mut ma, mut mb) = (Mirror::default(), Mirror::default());
    ma.absorb(&alice.take());
    mb.absorb(&bob.take());
    // Alice's seat made v1 and her snapshot; bob's seat v2; then twenty bumps.
    assert_eq!(ma.versions, (1..=22).collect::<Vec<u64>>());
    assert_eq!(mb.versions, (2..=22).collect::<Vec<u64>>());
    assert_eq!(
        ma.view,
        Secrets.view(r.state(), r.seats(), &Viewer::Player("alice".into()))
    );
    assert_eq!(
        mb.view,
        Secrets.view(r.state(), r.seats(), &Viewer::Player("bob".into()))
    );
    assert_eq!(ma.view["counter"], json!(20));
}

#[test]
fn a_duplicated_seq_is_applied_once_and_answered_again() {
    let mut r = room(2);
    let mut alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.act(&alice.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&alice.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&alice.caller, 2, None, json!({"type": "fly"}), 0);
    r.act(&alice.caller, 2, None, json!({"type": "bump"}), 0);
    let msgs = alice.take();
    assert_eq!(acks(&msgs), vec![(1, 2), (1, 2)]);
    assert_eq!(
        rejects(&msgs),
        vec![(2, ErrorCode::InvalidAction), (2, ErrorCode::InvalidAction)]
    );
    assert_eq!(r.state().counter, 1);
    assert_eq!(r.version(), 2);

    // A seq below the highest one seen, never sent before: its answer cannot be known.
    r.act(&alice.caller, 10, None, json!({"type": "bump"}), 0);
    r.act(&alice.caller, 5, None, json!({"type": "bump"}), 0);
    let msgs = alice.take();
    assert_eq!(acks(&msgs), vec![(10, 3)]);
    assert_eq!(rejects(&msgs), vec![(5, ErrorCode::SeqReused)]);
    assert_eq!(r.state().counter, 2);
}

/// One player in two tabs: each tab names its client instance.
fn tab(conn: u64, id: &str, instance: &str) -> Peer {
    let mut peer = Peer::new(conn, id);
    peer.caller.instance = Some(instance.into());
    peer
}

#[test]
fn two_instances_of_one_player_count_seqs_apart_and_restore_rebuilds_both_books() {
    let mut r = room(2);
    let (mut tab_a, mut tab_b) = (tab(1, "alice", "tab-a"), tab(2, "alice", "tab-b"));
    let mut legacy = Peer::new(3, "alice");
    r.join(&tab_a.caller, JoinRole::Player, None, None, 0);
    r.join(&tab_b.caller, JoinRole::Player, None, None, 0);
    r.join(&legacy.caller, JoinRole::Player, None, None, 0);
    // Overlapping seqs: each tab's 1 and 2 are its own actions, not each other's retries.
    r.act(&tab_a.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&tab_b.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&tab_b.caller, 2, None, json!({"type": "bump"}), 0);
    r.act(&tab_a.caller, 2, None, json!({"type": "bump"}), 0);
    // The connection without an instance has a count of its own, as before.
    r.act(&legacy.caller, 1, None, json!({"type": "bump"}), 0);
    assert_eq!(r.state().counter, 5);
    assert_eq!(acks(&tab_a.take()), vec![(1, 2), (2, 5)]);
    assert_eq!(acks(&tab_b.take()), vec![(1, 3), (2, 4)]);
    assert_eq!(acks(&legacy.take()), vec![(1, 6)]);
    // A retry is answered from its own instance's book.
    r.act(&tab_b.caller, 1, None, json!({"type": "bump"}), 0);
    assert_eq!(acks(&tab_b.take()), vec![(1, 3)]);
    assert_eq!(r.state().counter, 5);
    let log = r.log().unwrap();
    let logged = serde_json::to_value(&log[1]).unwrap();
    assert_eq!(logged["instance"], json!("tab-a"));
    let untagged = serde_json::to_value(&log[5]).unwrap();
    assert!(untagged.get("instance").is_none(), "{untagged}");

    // Rebuilt from the log alone, and from a snapshot plus the entries after it, the room
    // answers every instance's retries as the live one does, and counts new seqs apart.
    let snap = r.snapshot();
    assert!(
        snap.state["books"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["instance"] == json!("tab-b"))
    );
    r.act(&tab_a.caller, 3, None, json!({"type": "bump"}), 0);
    tab_a.take();
    let tail: Vec<_> = r
        .log()
        .unwrap()
        .into_iter()
        .filter(|e| e.v > snap.v)
        .collect();
    let spec = r.spec().clone();
    let from_log = Room::restore(Arc::new(Secrets), spec.clone(), &[], &r.log().unwrap(), 0);
    let from_snapshot = Room::restore(Arc::new(Secrets), spec, &[snap], &tail, 0);
    for mut back in [from_log.unwrap(), from_snapshot.unwrap()] {
        let (mut a, mut b) = (tab(11, "alice", "tab-a"), tab(12, "alice", "tab-b"));
        let mut old = Peer::new(13, "alice");
        back.join(&a.caller, JoinRole::Player, None, None, 0);
        back.join(&b.caller, JoinRole::Player, None, None, 0);
        back.join(&old.caller, JoinRole::Player, None, None, 0);
        let v = back.version();
        let joined_seq = |msgs: &[ServerMsg]| {
            msgs.iter().find_map(|m| match m {
                ServerMsg::Joined { seq, .. } => Some(*seq),
                _ => None,
            })
        };
        assert_eq!(joined_seq(&a.take()), Some(3));
        assert_eq!(joined_seq(&b.take()), Some(2));
        assert_eq!(joined_seq(&old.take()), Some(1));
        back.act(&a.caller, 3, None, json!({"type": "bump"}), 0);
        back.act(&b.caller, 2, None, json!({"type": "bump"}), 0);
        back.act(&old.caller, 1, None, json!({"type": "bump"}), 0);
        assert_eq!(acks(&a.take()), vec![(3, 7)]);
        assert_eq!(acks(&b.take()), vec![(2, 4)]);
        assert_eq!(acks(&old.take()), vec![(1, 6)]);
        assert_eq!(back.version(), v, "retries apply nothing");
        back.act(&b.caller, 3, None, json!({"type": "bump"}), 0);
        assert_eq!(acks(&b.take()), vec![(3, v + 1)]);
    }
}

#[test]
fn a_player_keeps_books_for_a_bounded_number_of_instances() {
    let mut r = room(2);
    let mut first = tab(1, "alice", "tab-0");
    r.join(&first.caller, JoinRole::Player, None, None, 0);
    r.act(&first.caller, 1, None, json!({"type": "bump"}), 0);
    for i in 1..=16 {
        let t = tab(1 + i, "alice", &format!("tab-{i}"));
        r.join(&t.caller, JoinRole::Player, None, None, 0);
        r.act(&t.caller, 1, None, json!({"type": "bump"}), 0);
    }
    // The seventeenth instance closed the book of the least recently applied one.
    let books = r.snapshot().state["books"].as_array().unwrap().len();
    assert_eq!(books, 16);
    first.take();
    r.act(&first.caller, 2, None, json!({"type": "bump"}), 0);
    assert_eq!(acks(&first.take()).len(), 1);
}

#[test]
fn a_stale_base_is_rejected_unless_the_action_is_order_independent() {
    let mut r = room(2);
    let (mut alice, mut bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    let v = r.version();
    r.act(&alice.caller, 1, Some(v), json!({"type": "bump"}), 0);
    r.act(&bob.caller, 1, Some(v), json!({"type": "bump"}), 0);
    r.act(
        &bob.caller,
        2,
        Some(v),
        json!({"type": "say", "text": "gg"}),
        0,
    );
    r.act(&bob.caller, 3, Some(v + 10), json!({"type": "bump"}), 0);
    assert_eq!(acks(&alice.take()), vec![(1, v + 1)]);
    let msgs = bob.take();
    assert_eq!(
        rejects(&msgs),
        vec![(1, ErrorCode::Stale), (3, ErrorCode::InvalidField)]
    );
    assert_eq!(acks(&msgs), vec![(2, v + 2)]);
    let stale = msgs.iter().find_map(|m| match m {
        ServerMsg::Reject {
            code: ErrorCode::Stale,
            details,
            ..
        } => details.clone(),
        _ => None,
    });
    assert_eq!(stale, Some(json!({"v": v + 1})));
    assert_eq!(r.state().counter, 1);
    assert_eq!(r.state().chat, vec!["gg".to_owned()]);
}

#[test]
fn a_refused_action_changes_nothing_not_even_the_rng() {
    let mut a = room(1);
    let mut b = room(1);
    let pa = Peer::new(1, "alice");
    let pb = Peer::new(1, "alice");
    a.join(&pa.caller, JoinRole::Player, None, None, 0);
    b.join(&pb.caller, JoinRole::Player, None, None, 0);
    a.act(&pa.caller, 1, None, json!({"type": "roll_then_fail"}), 0);
    a.act(&pa.caller, 2, None, json!({"type": "roll"}), 0);
    b.act(&pb.caller, 1, None, json!({"type": "roll"}), 0);
    assert_eq!(a.state().counter, 0);
    assert_eq!(a.state().rolls, b.state().rolls);
    assert_eq!(a.version(), b.version());
}

#[test]
fn a_patch_larger_than_the_view_is_sent_as_a_snapshot() {
    let mut r = room(1);
    let mut alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.act(&alice.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&alice.caller, 2, None, json!({"type": "scramble"}), 0);
    let msgs = alice.take();
    let kinds: Vec<&str> = msgs
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Snapshot { .. } => Some("snapshot"),
            ServerMsg::Patch { .. } => Some("patch"),
            _ => None,
        })
        .collect();
    // Join snapshot, a one-op patch for the bump, a snapshot for forty replaced numbers.
    assert_eq!(kinds, vec!["snapshot", "patch", "snapshot"]);
    let mut m = Mirror::default();
    m.absorb(&msgs);
    assert_eq!(
        m.view,
        Secrets.view(r.state(), r.seats(), &Viewer::Player("alice".into()))
    );
}

#[test]
fn joins_beyond_the_seats_become_spectators_and_are_told_why() {
    let mut r = room(1);
    let (alice, mut bob, mut carol) = (
        Peer::new(1, "alice"),
        Peer::new(2, "bob"),
        Peer::new(3, "carol"),
    );
    r.join(&alice.caller, JoinRole::Any, None, None, 0);
    r.join(&bob.caller, JoinRole::Any, Some(7), None, 0);
    r.join(&carol.caller, JoinRole::Player, Some(8), None, 0);
    match &bob.take()[0] {
        ServerMsg::Joined {
            rid,
            role,
            notice,
            members,
            ..
        } => {
            assert_eq!(*rid, Some(7));
            assert_eq!(*role, Role::Spectator);
            assert!(
                notice.as_deref().unwrap_or("").contains("spectator"),
                "{notice:?}"
            );
            assert_eq!(members.len(), 2);
        }
        other => panic!("expected joined, got {other:?}"),
    }
    match &carol.take()[0] {
        ServerMsg::Error { rid, code, .. } => {
            assert_eq!(*rid, Some(8));
            assert_eq!(*code, ErrorCode::RoomFull);
        }
        other => panic!("expected error, got {other:?}"),
    }
    r.act(&bob.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&carol.caller, 1, None, json!({"type": "bump"}), 0);
    assert_eq!(rejects(&bob.take()), vec![(1, ErrorCode::NotAPlayer)]);
    assert_eq!(rejects(&carol.take()), vec![(1, ErrorCode::NotInRoom)]);
    assert_eq!(r.state().counter, 0);
    let _ = alice;
}

#[test]
fn presence_follows_connections_and_seats_survive_a_disconnect() {
    let mut r = room(2);
    let (mut alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    r.disconnect(bob.caller.conn, 0);
    let bob_again = Peer::new(3, "bob");
    r.join(&bob_again.caller, JoinRole::Any, None, None, 0);
    r.leave(&bob_again.caller, Some(4), 0);
    let events: Vec<PresenceEvent> = alice
        .take()
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Presence { event, member, .. } if member.id.as_str() == "bob" => {
                Some(*event)
            }
            _ => None,
        })
        .collect();
    use PresenceEvent::*;
    assert_eq!(events, vec![Joined, Disconnected, Connected, Left]);
    assert!(!r.state().secrets.contains_key(&"bob".into()));
    assert!(r.state().secrets.contains_key(&"alice".into()));
}

#[test]
fn a_connection_whose_queue_refuses_is_dropped_and_others_carry_on() {
    let mut r = room(2);
    let (mut alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    bob.inbox
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    r.act(&alice.caller, 1, None, json!({"type": "bump"}), 0);
    assert_eq!(r.connection_count(), 1);
    let msgs = alice.take();
    assert!(msgs.iter().any(|m| matches!(
        m,
        ServerMsg::Presence {
            event: PresenceEvent::Disconnected,
            ..
        }
    )));
    assert_eq!(acks(&msgs), vec![(1, 3)]);
}

#[test]
fn state_is_a_function_of_config_seed_and_log() {
    let mut r = room(3);
    let (alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 5);
    r.join(&bob.caller, JoinRole::Player, None, None, 6);
    for seq in 1..=5 {
        r.act(&alice.caller, seq, None, json!({"type": "roll"}), 10 + seq);
        r.act(
            &bob.caller,
            seq,
            None,
            json!({"type": "scramble"}),
            20 + seq,
        );
    }
    r.act(
        &alice.caller,
        6,
        None,
        json!({"type": "arm", "after_ms": 50}),
        100,
    );
    r.fire_due(149);
    assert!(!r.state().revealed);
    r.fire_due(150);
    assert!(r.state().revealed);
    r.leave(&bob.caller, None, 200);
    let replayed = r.replayed().unwrap();
    assert_eq!(
        serde_json::to_value(&replayed.state).unwrap(),
        serde_json::to_value(r.state()).unwrap()
    );
    assert!(replayed.timers.pending().is_empty());
    assert_eq!(r.log().unwrap().len() as u64, r.version());
    assert!(r.log().unwrap().windows(2).all(|w| w[1].v == w[0].v + 1));
}

#[test]
fn bots_act_through_the_action_path_only_while_a_human_is_connected() {
    let mut r = room(3);
    let mut alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.add_bot(&alice.caller, Some(9), 0);
    let added = alice.take().into_iter().find_map(|m| match m {
        ServerMsg::BotAdded { rid, bot, .. } => Some((rid, bot)),
        _ => None,
    });
    let (rid, bot) = added.expect("bot_added");
    assert_eq!(rid, Some(9));
    assert!(bot.bot && bot.connected && bot.role == Role::Player);
    assert_eq!(bot.name, "Robo 1");
    assert_eq!(r.next_due(), None, "the bot has nothing to do yet");

    r.act(
        &alice.caller,
        1,
        None,
        json!({"type": "target", "n": 3}),
        1_000,
    );
    let mut now = 1_000;
    while let Some(due) = r.next_due() {
        assert!(
            due >= now + 100 && due < now + 150,
            "bots pause before acting"
        );
        now = due;
        r.fire_due(now);
    }
    assert_eq!(r.state().counter, 3);
    let bot_entries: Vec<u64> = r
        .log()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            arbiter_engine::EntryKind::Act { player, seq, .. } if player.as_str() == "b_1" => {
                Some(*seq)
            }
            _ => None,
        })
        .collect();
    assert_eq!(bot_entries, vec![1, 2, 3]);
    let replayed = r.replayed().unwrap();
    assert_eq!(replayed.state.counter, 3);

    // With nobody watching, bots stop.
    r.act(
        &alice.caller,
        2,
        None,
        json!({"type": "target", "n": 10}),
        now,
    );
    assert!(r.next_due().is_some());
    r.disconnect(alice.caller.conn, now);
    assert_eq!(
        r.next_due().map(|d| d - now),
        Some(1_000),
        "only the seat deadline remains"
    );
}

#[test]
fn a_game_without_bots_says_so() {
    struct NoBots;
    impl arbiter_engine::Game for NoBots {
        type State = ();
        type Action = ();
        type Config = ();
        fn info(&self) -> arbiter_engine::GameInfo {
            arbiter_engine::GameInfo::new("nobots", "No bots", "", 1..=2)
        }
        fn setup(
            &self,
            _: &(),
            _: &mut arbiter_engine::Ctx<'_, ()>,
        ) -> Result<(), arbiter_engine::GameError> {
            Ok(())
        }
        fn apply(
            &self,
            _: &mut (),
            _: &arbiter_engine::Actor,
            _: (),
            _: &mut arbiter_engine::Ctx<'_, ()>,
        ) -> Result<(), arbiter_engine::GameError> {
            Ok(())
        }
    }
    let mut r = Room::new(
        Arc::new(NoBots),
        RoomSpec {
            id: "r".into(),
            code: "C".into(),
            config: Value::Null,
            seed: 1,
            created_ms: 0,
            options: RoomOptions {
                public: true,
                max_players: 2,
                max_spectators: 1,
                seat_grace_ms: 0,
                lock: None,
                lang: None,
                tags: Vec::new(),
            },
        },
    )
    .unwrap();
    let mut alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.add_bot(&alice.caller, Some(1), 0);
    let errors: Vec<ErrorCode> = alice
        .take()
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Error { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![ErrorCode::Unsupported]);
    assert_eq!(r.member_count(), 1);
}

#[test]
fn a_disconnected_seat_is_held_for_the_grace_period_and_the_game_is_told() {
    let mut r = room(3);
    let (mut alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    r.disconnect(bob.caller.conn, 5_000);
    assert_eq!(r.state().away, vec!["bob".into()]);
    r.fire_due(5_999);
    assert!(
        r.state().secrets.contains_key(&"bob".into()),
        "held during the grace period"
    );

    // Back in time: the seat is his and the game hears it.
    let bob2 = Peer::new(3, "bob");
    r.join(&bob2.caller, JoinRole::Spectator, None, None, 5_500);
    assert!(r.state().away.is_empty());
    assert_eq!(r.next_due(), None);

    // Gone for longer than the grace period: the seat is released through the game.
    r.disconnect(bob2.caller.conn, 7_000);
    r.fire_due(8_000);
    assert!(!r.state().secrets.contains_key(&"bob".into()));
    let events: Vec<(PresenceEvent, String)> = alice
        .take()
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Presence { event, member, .. } => Some((*event, member.id.to_string())),
            _ => None,
        })
        .collect();
    use PresenceEvent::*;
    let bob_events: Vec<PresenceEvent> = events
        .iter()
        .filter(|(_, id)| id == "bob")
        .map(|(e, _)| *e)
        .collect();
    assert_eq!(
        bob_events,
        vec![Joined, Disconnected, Connected, Disconnected, Left]
    );
    let replayed = r.replayed().unwrap();
    assert_eq!(
        serde_json::to_value(&replayed.state).unwrap(),
        serde_json::to_value(r.state()).unwrap()
    );
}

#[test]
fn a_spectator_who_disconnects_frees_the_place() {
    let mut r = room(1);
    let alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    for i in 0..4 {
        let s = Peer::new(10 + i, &format!("s{i}"));
        r.join(&s.caller, JoinRole::Spectator, None, None, 0);
    }
    let mut late = Peer::new(20, "late");
    r.join(&late.caller, JoinRole::Spectator, Some(1), None, 0);
    assert!(matches!(
        late.take()[0],
        ServerMsg::Error {
            code: ErrorCode::RoomFull,
            ..
        }
    ));
    r.disconnect(10, 0);
    r.join(&late.caller, JoinRole::Spectator, Some(2), None, 0);
    assert!(matches!(
        late.take()[0],
        ServerMsg::Joined {
            role: Role::Spectator,
            ..
        }
    ));
    assert_eq!(r.member_count(), 5);
}

#[test]
fn a_returning_client_gets_exactly_the_frames_it_missed() {
    let mut r = room(2);
    let (alice, mut bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    r.act(&bob.caller, 1, None, json!({"type": "bump"}), 0);
    let mut mirror = Mirror::default();
    mirror.absorb(&bob.take());
    let held = mirror.v;
    r.disconnect(bob.caller.conn, 0);
    for seq in 1..=5 {
        r.act(&alice.caller, seq, None, json!({"type": "roll"}), 0);
    }
    let mut back = Peer::new(3, "bob");
    r.join(&back.caller, JoinRole::Any, None, Some(held), 10);
    let msgs = back.take();
    let states: Vec<(u64, u64)> = msgs
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Patch { from, v, .. } => Some((*from, *v)),
            ServerMsg::Snapshot { v, .. } => Some((u64::MAX, *v)),
            _ => None,
        })
        .collect();
    // The disconnect, five rolls and the return (the game tracks connections): seven
    // patches, no snapshot.
    assert_eq!(
        states,
        (held..held + 7).map(|v| (v, v + 1)).collect::<Vec<_>>()
    );
    mirror.absorb(&msgs);
    assert_eq!(
        mirror.view,
        Secrets.view(r.state(), r.seats(), &Viewer::Player("bob".into()))
    );

    // Already current: no state, only `joined` (and the chat kept).
    let mut again = Peer::new(4, "bob");
    r.join(&again.caller, JoinRole::Any, None, Some(r.version()), 10);
    assert!(
        again
            .take()
            .iter()
            .all(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Chat { .. }))
    );

    // Too far behind for the history: a snapshot.
    for seq in 6..=200 {
        r.act(&alice.caller, seq, None, json!({"type": "bump"}), 0);
    }
    let mut late = Peer::new(5, "bob");
    r.join(&late.caller, JoinRole::Any, None, Some(held), 10);
    let kinds: Vec<bool> = late
        .take()
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Snapshot { v, .. } => Some(*v == r.version()),
            ServerMsg::Patch { .. } => Some(false),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec![true]);
}

#[test]
fn msgpack_and_json_connections_receive_the_same_messages() {
    let mut r = room(2);
    let mut alice = Peer::new(1, "alice");
    let mut bob = Peer::with_encoding(2, "alice", Encoding::MsgPack);
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    let _ = alice.take();
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    for seq in 1..=3 {
        r.act(&alice.caller, seq, None, json!({"type": "roll"}), 0);
    }
    let json_states: Vec<ServerMsg> = alice
        .take()
        .into_iter()
        .filter(|m| matches!(m, ServerMsg::Patch { .. }))
        .collect();
    let msgpack_states: Vec<ServerMsg> = bob
        .take()
        .into_iter()
        .filter(|m| matches!(m, ServerMsg::Patch { .. }))
        .collect();
    assert_eq!(json_states.len(), 3);
    assert_eq!(json_states, msgpack_states);
    assert!(
        bob.raw_bytes().iter().all(|b| b.first() != Some(&b'{')),
        "binary frames, not JSON"
    );
}

#[test]
fn undo_takes_back_your_own_latest_actions_until_something_is_revealed() {
    let mut r = room(2);
    let (mut alice, mut bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    r.act(&alice.caller, 1, None, json!({"type": "bump"}), 0);
    r.act(&alice.caller, 2, None, json!({"type": "bump"}), 0);
    let before_undo = r.version();
    // Bob cannot take back Alice's action.
    r.undo(&bob.caller, 1, false, 0);
    assert_eq!(rejects(&bob.take()), vec![(1, ErrorCode::InvalidMove)]);
    r.undo(&alice.caller, 3, false, 0);
    r.undo(&alice.caller, 4, false, 0);
    assert_eq!(r.state().counter, 0);
    assert_eq!(
        r.version(),
        before_undo + 2,
        "undo appends entries; versions only grow"
    );
    r.redo(&alice.caller, 5, 0);
    assert_eq!(r.state().counter, 1, "redo re-applies");
    // A retried undo is answered again, not applied twice.
    r.redo(&alice.caller, 5, 0);
    assert_eq!(r.state().counter, 1);
    let msgs = alice.take();
    assert_eq!(acks(&msgs).iter().filter(|(s, _)| *s == 5).count(), 2);

    // A roll reveals a number: nothing before it can be undone any more.
    r.act(&alice.caller, 6, None, json!({"type": "roll"}), 0);
    r.undo(&alice.caller, 7, false, 0);
    assert_eq!(rejects(&alice.take()), vec![(7, ErrorCode::InvalidMove)]);
    assert_eq!(r.state().rolls.len(), 1);

    // Replay and restore reproduce undo and redo exactly.
    r.act(&alice.caller, 8, None, json!({"type": "bump"}), 0);
    let snap = r.snapshot();
    r.undo(&alice.caller, 9, false, 0);
    let spec = r.spec().clone();
    let replayed = r.replayed().unwrap();
    assert_eq!(
        serde_json::to_value(&replayed.state).unwrap(),
        serde_json::to_value(r.state()).unwrap()
    );
    let tail: Vec<_> = r
        .log()
        .unwrap()
        .iter()
        .filter(|e| e.v > snap.v)
        .cloned()
        .collect();
    let restored = Room::restore(Arc::new(Secrets), spec, &[snap], &tail, 0).unwrap();
    assert_eq!(restored.state().counter, r.state().counter);
}

#[test]
fn a_player_can_give_up_a_held_seat_from_a_connection_that_never_joined() {
    let mut r = room(2);
    let (mut alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    r.join(&bob.caller, JoinRole::Player, None, None, 0);
    r.disconnect(bob.caller.conn, 0);
    alice.take();
    // Bob again, on a connection that never entered the room: his seat is still held.
    let mut elsewhere = Peer::new(3, "bob");
    r.leave(&elsewhere.caller, Some(9), 0);
    let answer = elsewhere.take();
    assert!(
        answer
            .iter()
            .any(|m| matches!(m, ServerMsg::Left { rid: Some(9), .. })),
        "{answer:?}"
    );
    assert!(!r.state().secrets.contains_key(&"bob".into()));
    assert!(alice.take().iter().any(|m| matches!(
        m,
        ServerMsg::Presence { event: PresenceEvent::Left, member, .. } if member.id.as_str() == "bob"
    )));
    // Somebody without a place in the room is refused, and nothing changes.
    let v = r.version();
    let mut stranger = Peer::new(4, "carol");
    r.leave(&stranger.caller, Some(1), 0);
    assert!(stranger.take().iter().any(|m| matches!(
        m,
        ServerMsg::Error {
            rid: Some(1),
            code: ErrorCode::NotInRoom,
            ..
        }
    )));
    assert_eq!(r.version(), v);
}

#[test]
fn a_turn_clock_runs_out_once_through_the_log_and_stops_when_its_player_leaves() {
    let mut r = room(3);
    let (alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 1_001);
    r.join(&bob.caller, JoinRole::Player, None, None, 1_002);
    r.act(
        &alice.caller,
        1,
        None,
        json!({"type": "clock", "ms": 500}),
        1_010,
    );
    assert_eq!(r.next_due(), Some(1_510));
    // Bob's clock replaces Alice's: hers can no longer run out.
    r.act(
        &bob.caller,
        1,
        None,
        json!({"type": "clock", "ms": 1_000}),
        1_100,
    );
    assert_eq!(r.next_due(), Some(2_100));
    r.fire_due(2_099);
    assert!(r.state().timeouts.is_empty());
    r.fire_due(2_100);
    assert_eq!(r.state().timeouts, vec!["bob".into()]);
    assert_eq!(r.next_due(), None, "a clock runs out once");
    let log = r.log().unwrap();
    let last = serde_json::to_value(log.last().unwrap()).unwrap();
    assert_eq!(last["kind"], "clock");
    assert_eq!(last["player"], "bob");

    // A leaver's clock stops with their seat.
    r.act(
        &alice.caller,
        2,
        None,
        json!({"type": "clock", "ms": 100}),
        2_200,
    );
    r.leave(&alice.caller, None, 2_250);
    assert_eq!(r.next_due(), None);
    r.fire_due(10_000);
    assert_eq!(r.state().timeouts, vec!["bob".into()]);
    assert!(r.seats().get(&"alice".into()).is_none());

    let replayed = r.replayed().unwrap();
    assert_eq!(&replayed.seats, r.seats());
    assert_eq!(replayed.state.timeouts, r.state().timeouts);
}

#[test]
fn the_engine_keeps_seats_in_order_with_names_bots_and_connections() {
    let mut r = room(3);
    let (alice, bob) = (Peer::new(1, "alice"), Peer::new(2, "bob"));
    r.join(&alice.caller, JoinRole::Player, None, None, 1_001);
    r.join(&bob.caller, JoinRole::Player, None, None, 1_002);
    r.add_bot(&alice.caller, None, 1_003);
    let seats: Vec<(usize, String, bool)> = r
        .seats()
        .iter()
        .map(|s| (s.number, s.name.clone(), s.bot))
        .collect();
    assert_eq!(
        seats,
        [
            (0, "ALICE".to_owned(), false),
            (1, "BOB".to_owned(), false),
            (2, "Robo 1".to_owned(), true)
        ]
    );
    r.disconnect(bob.caller.conn, 1_004);
    assert!(!r.seats().get(&"bob".into()).unwrap().connected);
    r.leave(&alice.caller, None, 1_005);
    let carol = Peer::new(3, "carol");
    r.join(&carol.caller, JoinRole::Player, None, None, 1_006);
    assert_eq!(
        r.seats().get(&"carol".into()).unwrap().number,
        0,
        "the lowest free seat"
    );
}

#[test]
fn a_log_page_from_before_the_stored_snapshot_is_storage_s_to_answer() {
    use arbiter_engine::Query;
    let mut r = room(2);
    let ada = Peer::new(1, "ada");
    r.join(&ada.caller, JoinRole::Player, None, None, 0);
    for seq in 1..=3 {
        r.act(&ada.caller, seq, None, json!({"type": "bump"}), 0);
    }
    let log =
        |r: &Room<Secrets>, after| r.query(&Viewer::Spectator, &Query::Log { after, limit: 100 });
    assert_eq!(log(&r, 0).unwrap()["entries"].as_array().unwrap().len(), 4);
    // Storage holds every entry and a snapshot at the room's version: the journal empties.
    r.take_unpersisted();
    let at = r.version();
    r.stored_snapshot(r.snapshot());
    let e = log(&r, 0).expect_err("the entries are in storage");
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert_eq!(log(&r, at - 1).unwrap_err().code, ErrorCode::Unavailable);
    assert_eq!(log(&r, at).unwrap()["entries"], json!([]));
    // What follows is the journal's again.
    r.act(&ada.caller, 4, None, json!({"type": "bump"}), 0);
    let page = log(&r, at).unwrap();
    assert_eq!(page["entries"][0]["v"], json!(at + 1));
}

#[test]
fn a_room_without_storage_keeps_its_log_within_a_budget_and_answers_from_its_snapshot() {
    use arbiter_engine::Query;
    let mut r = room(2);
    let ada = Peer::new(1, "ada");
    r.join(&ada.caller, JoinRole::Player, None, None, 0);
    for seq in 1..=20 {
        r.act(&ada.caller, seq, None, json!({"type": "bump"}), seq);
    }
    r.compact_log();
    let log =
        |r: &Room<Secrets>, after| r.query(&Viewer::Spectator, &Query::Log { after, limit: 100 });
    let state_at = |r: &Room<Secrets>, v| r.query(&Viewer::Spectator, &Query::StateAt { v });
    // Within budget: nothing changes.
    r.keep_log_within(1 << 20);
    assert_eq!(log(&r, 0).unwrap()["entries"].as_array().unwrap().len(), 21);
    let at_10 = state_at(&r, Some(10)).unwrap();
    // Over it: the journal starts again from a snapshot of now.
    let cut = r.version();
    r.keep_log_within(16);
    assert_eq!(log(&r, 0).unwrap_err().code, ErrorCode::Unavailable, "gone");
    assert_eq!(
        state_at(&r, Some(10)).unwrap_err().code,
        ErrorCode::Unavailable
    );
    assert_eq!(log(&r, cut).unwrap()["entries"], json!([]));
    let mut live = Vec::new();
    for seq in 21..=23 {
        r.act(&ada.caller, seq, None, json!({"type": "bump"}), seq);
        live.push(state_at(&r, None).unwrap());
    }
    let page = log(&r, cut).unwrap();
    let vs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["v"].as_u64().unwrap())
        .collect();
    assert_eq!(vs, vec![cut + 1, cut + 2, cut + 3]);
    // A past state after the cut is rebuilt from the snapshot, as the room showed it then.
    assert_eq!(state_at(&r, Some(cut + 1)).unwrap(), live[0]);
    assert_eq!(state_at(&r, Some(cut + 2)).unwrap(), live[1]);
    assert_ne!(at_10["view"], live[2]["view"], "the room moved on");
}

#[test]
fn a_late_tick_runs_at_its_due_time_for_the_game_and_a_room_far_behind_skips_ahead() {
    /// Ticks every 100 ms and notes the room time each tick shows it.
    struct Metronome;
    impl Game for Metronome {
        type State = Vec<u64>;
        type Action = ();
        type Config = ();
        fn info(&self) -> arbiter_engine::GameInfo {
            arbiter_engine::GameInfo::new("metronome", "Metronome", "ticks", 1..=2)
        }
        fn setup(
            &self,
            _: &(),
            _: &mut arbiter_engine::Ctx<'_, ()>,
        ) -> Result<Vec<u64>, arbiter_engine::GameError> {
            Ok(Vec::new())
        }
        fn apply(
            &self,
            _: &mut Vec<u64>,
            _: &arbiter_engine::Actor,
            _: (),
            _: &mut arbiter_engine::Ctx<'_, ()>,
        ) -> Result<(), arbiter_engine::GameError> {
            Ok(())
        }
        fn tick_ms(&self, _: &Vec<u64>) -> Option<u64> {
            Some(100)
        }
        fn tick(
            &self,
            seen: &mut Vec<u64>,
            _: Vec<arbiter_engine::Input<()>>,
            cx: &mut arbiter_engine::Ctx<'_, ()>,
        ) {
            seen.push(cx.now_ms());
        }
    }
    let mut spec = room(2).spec().clone();
    spec.created_ms = 0;
    let mut r = Room::new(Arc::new(Metronome), spec).unwrap();
    let alice = Peer::new(1, "alice");
    r.join(&alice.caller, JoinRole::Player, None, None, 0);
    assert_eq!(r.next_due(), Some(100));
    // 30 ms late: the game still sees 100, and the next tick stays on the schedule.
    r.fire_due(130);
    assert_eq!(r.next_due(), Some(200));
    r.fire_due(200);
    // 150 ms behind: one tick (its due time, 300), then the schedule starts again from now
    // instead of firing the tick due at 400 at once.
    r.fire_due(450);
    assert_eq!(r.state(), &vec![100, 200, 300]);
    assert_eq!(r.next_due(), Some(550));
    r.fire_due(550);
    assert_eq!(r.state(), &vec![100, 200, 300, 550]);
    let ticks: Vec<u64> = r
        .log()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, arbiter_engine::EntryKind::Tick { .. }))
        .map(|e| e.at_ms)
        .collect();
    assert_eq!(
        ticks,
        vec![130, 200, 450, 550],
        "the log says when each ran"
    );
    assert_eq!(r.replayed().unwrap().state, *r.state());
}
