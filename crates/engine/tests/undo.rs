//! Undo, redo and consent through the engine: your own action is taken back at once, another
//! player's only once they consent (a proposal every member sees, refused, withdrawn, lapsed
//! or dropped when something is revealed), the bounds on what undo keeps, and replay and
//! restore reproducing the stacks and an open proposal.

#![allow(clippy::unwrap_used)]

mod common;

use arbiter_engine::protocol::{ErrorCode, JoinRole, PlayerId, ProposalState, ServerMsg};
use arbiter_engine::{EntryKind, GameError, Playtest, Room, RoomOptions, RoomSpec};
use common::{Action, Peer, Secrets};
use serde_json::{Value, json};
use std::sync::Arc;

/// The bytes undo may keep per room (docs/architecture.md).
const UNDO_BYTES: usize = 256 * 1024;

fn table() -> (Playtest<Secrets>, PlayerId, PlayerId) {
    let mut t = Playtest::new(Secrets);
    let ada = t.seat("ada").unwrap();
    let bob = t.seat("bob").unwrap();
    (t, ada, bob)
}

/// The state as its hash sees it.
fn text(t: &Playtest<Secrets>) -> String {
    serde_json::to_string(t.state()).unwrap()
}

fn refused(result: Result<u64, GameError>) -> ErrorCode {
    result.expect_err("refused").code
}

#[test]
fn your_own_action_is_undone_at_once_and_redone_exactly() {
    let (mut t, ada, _) = table();
    let start = text(&t);
    t.act(&ada, Action::Bump).unwrap();
    let one = text(&t);
    t.act(&ada, Action::Say { text: "hi".into() }).unwrap();
    let two = text(&t);
    t.undo(&ada).unwrap();
    assert_eq!(text(&t), one);
    t.undo(&ada).unwrap();
    assert_eq!(text(&t), start, "the state is back to the byte");
    assert_eq!(refused(t.undo(&ada)), ErrorCode::InvalidMove);
    t.redo(&ada).unwrap();
    assert_eq!(text(&t), one);
    t.redo(&ada).unwrap();
    assert_eq!(text(&t), two);
    assert_eq!(refused(t.redo(&ada)), ErrorCode::InvalidMove);
    assert_eq!(t.undo_depth().0, 2);
    t.check_replay().unwrap();
}

#[test]
fn another_players_action_is_undone_only_once_they_consent() {
    let (mut t, ada, bob) = table();
    t.act(&ada, Action::Bump).unwrap();
    assert_eq!(
        refused(t.undo(&bob)),
        ErrorCode::InvalidMove,
        "without ask, as before"
    );
    let v = t.ask_undo(&bob).unwrap();
    let p = t.proposal().cloned().unwrap();
    assert_eq!((p.id, &p.by, &p.of), (v, &bob, &ada));
    assert_eq!(p.waiting, vec![ada.clone()]);
    assert_eq!(p.until_ms, t.now_ms() + 30_000, "the default 30 s");
    assert_eq!(t.state().counter, 1, "nothing is undone yet");
    // Only the author's answer counts, one request at a time, for the open proposal only.
    assert_eq!(refused(t.consent(&bob, v, true)), ErrorCode::InvalidMove);
    assert_eq!(refused(t.ask_undo(&bob)), ErrorCode::InvalidMove);
    assert_eq!(
        refused(t.consent(&ada, v + 1, true)),
        ErrorCode::InvalidMove
    );
    assert_eq!(t.proposal(), Some(&p), "refusals change nothing");
    t.consent(&ada, v, true).unwrap();
    assert_eq!(t.state().counter, 0);
    assert_eq!(t.proposal(), None);
    // Whoever asked may redo it, as may its author.
    t.redo(&bob).unwrap();
    assert_eq!(t.state().counter, 1);
    t.check_replay().unwrap();
}

#[test]
fn a_refusal_or_a_withdrawal_closes_the_proposal_and_nothing_else() {
    let (mut t, ada, bob) = table();
    t.act(&ada, Action::Bump).unwrap();
    let before = text(&t);
    let v = t.ask_undo(&bob).unwrap();
    t.consent(&ada, v, false).unwrap();
    assert_eq!(t.proposal(), None);
    assert_eq!(text(&t), before);
    assert_eq!(refused(t.consent(&ada, v, true)), ErrorCode::InvalidMove);
    let again = t.ask_undo(&bob).unwrap();
    assert_ne!(again, v, "a new proposal, a new id");
    t.consent(&bob, again, false).unwrap();
    assert_eq!(t.proposal(), None, "the proposer withdrew it");
    // The step is still there for its author.
    t.undo(&ada).unwrap();
    assert_eq!(t.state().counter, 0);
    t.check_replay().unwrap();
}

#[test]
fn an_unanswered_proposal_lapses_after_its_time() {
    let (mut t, ada, bob) = table();
    t.act(&ada, Action::Bump).unwrap();
    let v = t.ask_undo(&bob).unwrap();
    t.advance(29_999);
    assert!(t.proposal().is_some());
    let version = t.version();
    t.advance(1);
    assert_eq!(t.proposal(), None);
    assert_eq!(t.version(), version + 1, "lapsing is an entry");
    assert_eq!(
        t.log().last().unwrap().kind,
        EntryKind::UndoExpired { proposal: v }
    );
    assert_eq!(t.state().counter, 1);
    assert_eq!(refused(t.consent(&ada, v, true)), ErrorCode::InvalidMove);
    t.check_replay().unwrap();
}

#[test]
fn nothing_is_undone_across_a_reveal_and_a_new_action_drops_the_proposal() {
    let (mut t, ada, bob) = table();
    t.act(&ada, Action::Bump).unwrap();
    let v = t.ask_undo(&bob).unwrap();
    t.act(&ada, Action::Roll).unwrap();
    assert_eq!(t.proposal(), None, "the roll showed a number");
    assert_eq!(refused(t.consent(&ada, v, true)), ErrorCode::InvalidMove);
    assert_eq!(refused(t.undo(&ada)), ErrorCode::InvalidMove);
    assert_eq!(refused(t.ask_undo(&bob)), ErrorCode::InvalidMove);
    assert_eq!(t.state().counter, 1);

    t.act(&ada, Action::Bump).unwrap();
    t.ask_undo(&bob).unwrap();
    t.act(&ada, Action::Bump).unwrap();
    assert_eq!(
        t.proposal(),
        None,
        "the action it named is no longer the latest"
    );
    assert_eq!(t.state().counter, 3);
    t.check_replay().unwrap();
}

#[test]
fn a_bots_action_is_undone_without_asking() {
    let (mut t, _, bob) = table();
    let bot = t.add_bot().unwrap();
    t.act(&bot, Action::Bump).unwrap();
    t.ask_undo(&bob).unwrap();
    assert_eq!(t.proposal(), None);
    assert_eq!(t.state().counter, 0);
    t.check_replay().unwrap();
}

#[test]
fn undo_keeps_at_most_32_steps_and_256_kib() {
    let (mut t, ada, _) = table();
    for _ in 0..40 {
        t.act(&ada, Action::Bump).unwrap();
    }
    assert_eq!(t.undo_depth().0, 32);
    // Taking a long message back leaves a redo step that holds it: 10 of them are more than
    // the room keeps, so the furthest redo steps go.
    let long = "x".repeat(40_000);
    for _ in 0..10 {
        t.act(&ada, Action::Say { text: long.clone() }).unwrap();
    }
    let mut undone = 0;
    while t.undo(&ada).is_ok() {
        undone += 1;
        assert!(t.undo_depth().2 <= UNDO_BYTES, "{:?}", t.undo_depth());
    }
    assert_eq!(undone, 32, "every kept step could be undone");
    let (_, redo, bytes) = t.undo_depth();
    assert!(
        redo < 32 && bytes <= UNDO_BYTES,
        "{redo} steps, {bytes} bytes"
    );
    while t.redo(&ada).is_ok() {}
    assert_eq!(t.undo_depth().1, 0);
    // A step larger than the whole bound is not kept.
    t.act(
        &ada,
        Action::Say {
            text: "y".repeat(UNDO_BYTES + 1),
        },
    )
    .unwrap();
    t.undo(&ada).unwrap();
    assert_eq!(refused(t.redo(&ada)), ErrorCode::InvalidMove);
    t.check_replay().unwrap();
}

#[test]
fn an_undoable_action_that_turned_out_to_reveal_closes_every_undo_window() {
    let (mut t, ada, bob) = table();
    t.act(&ada, Action::Bump).unwrap();
    // Hiding what is hidden shows nothing: kept like any undoable action.
    t.act(&bob, Action::Flip { up: false }).unwrap();
    assert_eq!(t.undo_depth().0, 2);
    // Showing the secrets is the same action type, but this one revealed something.
    t.act(&bob, Action::Flip { up: true }).unwrap();
    assert_eq!(
        t.undo_depth(),
        (0, 0, 0),
        "nothing before a reveal can be undone"
    );
    assert_eq!(refused(t.undo(&bob)), ErrorCode::InvalidMove);
    assert_eq!(refused(t.undo(&ada)), ErrorCode::InvalidMove);
    assert!(t.state().revealed, "what was seen stays seen");
    // Hiding them again reveals nothing, so it can be taken back (to shown).
    t.act(&bob, Action::Flip { up: false }).unwrap();
    t.undo(&bob).unwrap();
    assert!(t.state().revealed);
    assert_eq!(t.undo_depth().1, 1);
    t.check_replay().unwrap();
}

/// The `undo_state` news in `msgs`: (v, undo author and steps, redo author, undoer, steps).
type Tops = (u64, Option<(String, u32)>, Option<(String, String, u32)>);

fn tops(msgs: &[ServerMsg]) -> Vec<Tops> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::UndoState { v, undo, redo, .. } => Some((
                *v,
                undo.as_ref().map(|u| (u.author.0.clone(), u.steps)),
                redo.as_ref().map(|r| {
                    let by = r.undone_by.as_ref().map(|p| p.0.clone());
                    (r.author.0.clone(), by.unwrap_or_default(), r.steps)
                }),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn every_member_hears_what_undo_and_redo_would_take() {
    let (mut r, [mut ada, mut bob, mut eve]) = two_players_and_a_spectator();
    for peer in [&mut ada, &mut bob, &mut eve] {
        assert_eq!(tops(&peer.take()), vec![], "nothing to undo, nothing said");
    }
    let ada_id = || "ada".to_owned();
    r.act(&ada.caller, 1, None, json!({"type": "bump"}), 2_000);
    r.act(&bob.caller, 1, None, json!({"type": "bump"}), 2_000);
    let v = r.version();
    let after_bob = vec![
        (v - 1, Some((ada_id(), 1)), None),
        (v, Some(("bob".to_owned(), 2)), None),
    ];
    for peer in [&mut ada, &mut bob, &mut eve] {
        assert_eq!(tops(&peer.take()), after_bob);
    }
    r.undo(&bob.caller, 2, false, 3_000);
    let undone = vec![(
        v + 1,
        Some((ada_id(), 1)),
        Some(("bob".to_owned(), "bob".to_owned(), 1)),
    )];
    assert_eq!(tops(&eve.take()), undone);
    // Someone entering learns it after `joined` and the snapshot.
    let mut late = Peer::new(4, "late");
    r.join(&late.caller, JoinRole::Spectator, None, None, 4_000);
    let msgs = late.take();
    assert!(matches!(msgs.first(), Some(ServerMsg::Joined { .. })));
    assert!(matches!(msgs.last(), Some(ServerMsg::UndoState { .. })));
    assert_eq!(tops(&msgs)[0].1, undone[0].1);
    // A chat message changes nothing undo would take: no news.
    r.chat(&ada.caller, "hello", 4_500);
    assert_eq!(tops(&eve.take()), vec![]);
    // A roll closes every window: both stacks empty, said once.
    r.act(&ada.caller, 2, None, json!({"type": "roll"}), 5_000);
    assert_eq!(tops(&eve.take()), vec![(r.version(), None, None)]);
    r.act(&ada.caller, 3, None, json!({"type": "roll"}), 5_000);
    assert_eq!(tops(&eve.take()), vec![], "still nothing to undo: no news");
    let mut later = Peer::new(5, "later");
    r.join(&later.caller, JoinRole::Spectator, None, None, 6_000);
    assert_eq!(tops(&later.take()), vec![]);
}

/// A room where ada and bob sit and eve watches, all entered at room time 1,000.
fn two_players_and_a_spectator() -> (Room<Secrets>, [Peer; 3]) {
    let mut r = room();
    let peers = [
        Peer::new(1, "ada"),
        Peer::new(2, "bob"),
        Peer::new(3, "eve"),
    ];
    let roles = [JoinRole::Player, JoinRole::Player, JoinRole::Spectator];
    for (peer, role) in peers.iter().zip(roles) {
        r.join(&peer.caller, role, None, None, 1_000);
    }
    (r, peers)
}

fn room() -> Room<Secrets> {
    Room::new(
        Arc::new(Secrets),
        RoomSpec {
            id: "r_undo".into(),
            code: "BCDFG".into(),
            config: Value::Null,
            seed: 7,
            created_ms: 1_000,
            options: RoomOptions {
                public: true,
                max_players: 3,
                max_spectators: 4,
                seat_grace_ms: 60_000,
                lock: None,
                lang: None,
                tags: Vec::new(),
            },
        },
    )
    .unwrap()
}

/// The `undo_proposal` news in `msgs`: (id, state, waiting, v).
fn news(msgs: &[ServerMsg]) -> Vec<(u64, ProposalState, Vec<String>, u64)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMsg::UndoProposal {
                id,
                state,
                waiting,
                v,
                ..
            } => Some((
                *id,
                *state,
                waiting.iter().map(|p| p.0.clone()).collect(),
                *v,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn every_member_sees_a_proposal_open_and_close() {
    let (mut r, [mut ada, mut bob, mut eve]) = two_players_and_a_spectator();
    r.act(&ada.caller, 1, None, json!({"type": "bump"}), 1_000);
    r.undo(&bob.caller, 1, true, 2_000);
    let v = r.version();
    let open = (v, ProposalState::Open, vec!["ada".to_owned()], v);
    for peer in [&mut ada, &mut bob, &mut eve] {
        assert_eq!(news(&peer.take()), vec![open.clone()]);
    }
    match &r.proposal() {
        Some(p) => assert_eq!(p.until_ms, 32_000),
        None => panic!("no proposal"),
    }
    assert_eq!(r.next_due(), Some(32_000));
    // Someone entering now learns of it after `joined` and the snapshot.
    let mut late = Peer::new(4, "late");
    r.join(&late.caller, JoinRole::Spectator, None, None, 3_000);
    let msgs = late.take();
    assert!(matches!(msgs.first(), Some(ServerMsg::Joined { .. })));
    assert!(matches!(
        msgs.last(),
        Some(ServerMsg::UndoProposal {
            state: ProposalState::Open,
            ..
        })
    ));
    r.consent(&ada.caller, 2, v, true, 4_000);
    let done = r.version();
    for peer in [&mut ada, &mut bob, &mut eve, &mut late] {
        assert_eq!(
            news(&peer.take()),
            vec![(v, ProposalState::Accepted, vec!["ada".to_owned()], done)]
        );
    }
    assert_eq!(r.state().counter, 0);

    // Unanswered, it lapses when its time comes.
    r.redo(&ada.caller, 3, 5_000);
    r.undo(&bob.caller, 2, true, 6_000);
    let v = r.version();
    r.fire_due(35_999);
    assert!(r.proposal().is_some());
    r.fire_due(36_000);
    assert_eq!(r.proposal(), None);
    let lapsed = news(&eve.take());
    assert_eq!(
        lapsed.last(),
        Some(&(v, ProposalState::Expired, vec!["ada".to_owned()], v + 1))
    );
    assert_eq!(r.state().counter, 1);
}

#[test]
fn replay_and_restore_reproduce_the_stacks_and_an_open_proposal() {
    let mut r = room();
    let (ada, bob) = (Peer::new(1, "ada"), Peer::new(2, "bob"));
    r.join(&ada.caller, JoinRole::Player, None, None, 1_000);
    r.join(&bob.caller, JoinRole::Player, None, None, 1_000);
    r.act(&ada.caller, 1, None, json!({"type": "bump"}), 1_000);
    r.act(&ada.caller, 2, None, json!({"type": "bump"}), 1_000);
    r.act(
        &ada.caller,
        3,
        None,
        json!({"type": "say", "text": "gg"}),
        1_000,
    );
    r.undo(&ada.caller, 4, false, 1_000);
    r.undo(&bob.caller, 1, true, 2_000);
    let open = r.proposal().cloned().unwrap();
    let snap = r.snapshot();
    assert_eq!(snap.state["undo"].as_array().map(Vec::len), Some(2));
    assert_eq!(snap.state["redo"].as_array().map(Vec::len), Some(1));

    let same = |a: &Room<Secrets>, b: &Room<Secrets>| {
        let (a, b) = (a.snapshot(), b.snapshot());
        assert_eq!(a.hash, b.hash);
        for part in ["undo", "redo", "proposal"] {
            assert_eq!(a.state[part], b.state[part], "{part}");
        }
    };
    let spec = r.spec().clone();
    let from_snapshot = Room::restore(
        Arc::new(Secrets),
        spec.clone(),
        std::slice::from_ref(&snap),
        &[],
        3_000,
    )
    .unwrap();
    same(&from_snapshot, &r);
    assert_eq!(from_snapshot.proposal(), Some(&open));
    assert_eq!(from_snapshot.next_due(), Some(open.until_ms));
    let replayed = r.replayed().unwrap();
    assert_eq!(replayed.proposal.as_ref(), Some(&open));

    // Consent after the snapshot, then a redo: the snapshot and the entries after it agree.
    r.consent(&ada.caller, 5, open.id, true, 3_000);
    r.redo(&ada.caller, 6, 3_000);
    assert_eq!(r.state().counter, 2);
    let tail: Vec<_> = r
        .log()
        .unwrap()
        .into_iter()
        .filter(|e| e.v > snap.v)
        .collect();
    let restored = Room::restore(Arc::new(Secrets), spec, &[snap], &tail, 4_000).unwrap();
    same(&restored, &r);
    assert_eq!(restored.state().counter, 2);
    assert_eq!(r.replayed().unwrap().proposal, None);
}

#[test]
fn a_snapshot_with_whole_state_undo_steps_still_restores_them() {
    let mut r = room();
    let ada = Peer::new(1, "ada");
    r.join(&ada.caller, JoinRole::Player, None, None, 1_000);
    let before = r.snapshot().state;
    r.act(&ada.caller, 1, None, json!({"type": "bump"}), 1_000);
    // The format snapshots had before undo steps were patches: whole rooms either side.
    let mut snap = r.snapshot();
    let side = |s: &Value| json!({"state": s["state"], "rng": s["rng"], "timers": s["timers"]});
    snap.state["undo"] =
        json!([{"author": "ada", "before": side(&before), "after": side(&snap.state)}]);
    snap.state["redo"] = json!([]);
    snap.state.as_object_mut().unwrap().remove("proposal");
    let mut restored =
        Room::restore(Arc::new(Secrets), r.spec().clone(), &[snap], &[], 2_000).unwrap();
    let back = Peer::new(9, "ada");
    restored.join(&back.caller, JoinRole::Player, None, None, 2_000);
    restored.undo(&back.caller, 2, false, 2_000);
    assert_eq!(restored.state().counter, 0);
    restored.redo(&back.caller, 3, 2_000);
    assert_eq!(restored.state().counter, 1);
}
