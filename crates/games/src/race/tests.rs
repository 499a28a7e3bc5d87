use super::*;
use arbiter_engine::{Playtest, Viewer};
use serde_json::{Value, json};

/// The game under test.
const GAME: Race = Race;

/// Ann (seat 0, who plays first) and Ben, with `config` (`null` for the defaults).
fn table(config: Value) -> (Playtest<Race>, PlayerId, PlayerId) {
    let mut t = Playtest::with_config(GAME, config, 1).expect("setup");
    let ann = t.seat("ann").expect("seat");
    let ben = t.seat("ben").expect("seat");
    (t, ann, ben)
}

#[test]
fn players_take_turns_and_reaching_the_target_wins() {
    let (mut t, ann, ben) = table(json!({"target": 7}));
    assert_eq!(t.status(), Status::Playing);
    assert_eq!(t.state().turn.as_ref(), Some(&ann));
    t.act(&ann, Action::Add { n: 3 }).expect("ann adds 3");
    t.act(&ben, Action::Add { n: 2 }).expect("ben adds 2");
    assert_eq!(t.legal_actions(&ben), [], "not ben's turn");
    assert_eq!(
        t.legal_actions(&ann),
        [Action::Add { n: 1 }, Action::Add { n: 2 }],
        "2 short of the target"
    );
    t.act(&ann, Action::Add { n: 2 }).expect("ann reaches 7");
    assert_eq!(t.state().winner.as_ref(), Some(&ann));
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![ann.clone()], vec![ben.clone()]]
        }
    );
    assert_eq!(t.legal_actions(&ann), []);
    assert_eq!(t.view(&Viewer::Spectator)["total"], 7);
    t.check_replay().expect("replays");
}

#[test]
fn refusals_carry_stable_codes_and_change_nothing() {
    let (mut t, ann, ben) = table(json!({"target": 4}));
    let (before, v) = (t.state().clone(), t.version());
    let code = |r: Result<u64, GameError>| r.expect_err("refused").code;
    assert_eq!(
        code(t.act(&ben, Action::Add { n: 1 })),
        ErrorCode::NotYourTurn
    );
    assert_eq!(
        code(t.act(&ann, Action::Add { n: 4 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&ann, Action::Add { n: 0 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&"eve".into(), Action::Add { n: 1 })),
        ErrorCode::NotAPlayer
    );
    assert_eq!(
        code(t.act_json(&ann, json!({"type": "add"}))),
        ErrorCode::InvalidAction
    );
    assert_eq!((t.state(), t.version()), (&before, v));
    t.act(&ann, Action::Add { n: 3 }).expect("3 of 4");
    assert_eq!(
        code(t.act(&ben, Action::Add { n: 2 })),
        ErrorCode::InvalidMove
    );
    t.act(&ben, Action::Add { n: 1 }).expect("ben wins");
    assert_eq!(code(t.act(&ann, Action::Add { n: 1 })), ErrorCode::GameOver);
}

#[test]
fn the_game_waits_for_two_players_and_bad_configs_are_refused() {
    let mut t = Playtest::new(GAME);
    let ann = t.seat("ann").expect("seat");
    assert_eq!(t.status(), Status::Waiting);
    let e = t.act(&ann, Action::Add { n: 1 }).expect_err("alone");
    assert_eq!(e.message, "waiting for players");
    t.seat("ben").expect("seat");
    assert_eq!(t.state().target, 21);
    assert_eq!(t.status(), Status::Playing);
    for config in [
        json!({"target": 0}),
        json!({"target": 1_001}),
        json!({"goal": 5}),
    ] {
        let e = Playtest::with_config(GAME, config, 1)
            .err()
            .expect("refused");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
    }
}

#[test]
fn a_leavers_turn_passes_on() {
    let (mut t, ann, ben) = table(Value::Null);
    let cy = t.seat("cy").expect("seat");
    t.leave(&ann).expect("ann leaves on her turn");
    assert_eq!(t.state().turn.as_ref(), Some(&ben));
    t.leave(&cy).expect("cy leaves");
    assert_eq!(t.status(), Status::Waiting, "one player left");
    t.check_replay().expect("replays");
}

#[test]
fn a_player_out_of_time_has_one_added_for_them() {
    let (mut t, ann, ben) = table(json!({"turn_ms": 1_000}));
    let start = t.now_ms();
    assert_eq!(
        t.seats().clock().map(|c| (&c.player, c.due_ms)),
        Some((&ann, start + 1_000))
    );
    t.advance(999);
    assert_eq!(t.state().total, 0, "not yet");
    t.advance(1);
    assert_eq!(t.state().total, 1);
    assert_eq!(t.state().turn.as_ref(), Some(&ben));
    t.advance(400);
    t.act(&ben, Action::Add { n: 3 }).expect("in time");
    assert_eq!(
        t.seats().clock().map(|c| (&c.player, c.due_ms)),
        Some((&ann, start + 2_400))
    );
    t.check_replay().expect("replays");
}
