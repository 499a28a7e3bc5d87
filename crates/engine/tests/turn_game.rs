//! `TurnGame`: the rules the engine supplies to a game that writes only its board and moves,
//! shown on a small take-away game for two or three players that tic-tac-toe (two players,
//! no `Next::Again`, its own bot) does not reach.

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{
    GameError, GameInfo, Next, Playtest, Seat, Status, TurnAction, TurnGame, Viewer,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Take 1 or 2 from a pile of 7; whoever takes the last wins. Taking 1 from an even pile
/// earns another move.
struct Pile;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Board {
    pile: u32,
}

impl Default for Board {
    fn default() -> Self {
        Self { pile: 7 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Move {
    Take { n: u32 },
}

type Action = TurnAction<Move>;

fn take(n: u32) -> Action {
    TurnAction::Play(Move::Take { n })
}

impl TurnGame for Pile {
    type Board = Board;
    type Move = Move;

    fn info(&self) -> GameInfo {
        GameInfo::new("pile", "Pile", "Take the last one.", 2..=3)
    }

    fn play(&self, b: &mut Board, _: &Seat, mv: Move) -> Result<Next, GameError> {
        let Move::Take { n } = mv;
        if !(1..=2).contains(&n) || n > b.pile {
            return Err(GameError::invalid_move("take 1 or 2, at most the pile"));
        }
        let even = b.pile.is_multiple_of(2);
        b.pile -= n;
        Ok(match (b.pile, n, even) {
            (0, _, _) => Next::Win,
            (_, 1, true) => Next::Again,
            _ => Next::Pass,
        })
    }

    fn moves(&self, b: &Board, _: &Seat) -> Vec<Move> {
        (1..=b.pile.min(2)).map(|n| Move::Take { n }).collect()
    }
}

fn mover(t: &Playtest<Pile>) -> PlayerId {
    t.state().turns.turn.clone().expect("someone moves")
}

fn code(r: Result<u64, GameError>) -> ErrorCode {
    r.expect_err("refused").code
}

#[test]
fn moves_keep_the_games_wire_shape_and_restart_takes_no_fields() {
    let wire = |a: &Action| serde_json::to_value(a).expect("serialises");
    assert_eq!(wire(&take(2)), json!({"type": "take", "n": 2}));
    assert_eq!(wire(&TurnAction::Restart), json!({"type": "restart"}));
    let parse = |v: Value| serde_json::from_value::<Action>(v);
    assert_eq!(parse(json!({"type": "take", "n": 1})).ok(), Some(take(1)));
    assert_eq!(
        parse(json!({"type": "restart"})).ok(),
        Some(TurnAction::Restart)
    );
    assert!(parse(json!({"type": "restart", "n": 1})).is_err());
    assert!(parse(json!({"type": "take"})).is_err());
    assert!(parse(json!({"type": "fly"})).is_err());
    assert!(parse(json!("restart")).is_err());
}

#[test]
fn a_round_begins_once_enough_sit_and_moves_are_checked_before_the_game_sees_them() {
    let mut t = Playtest::new(Pile);
    let a = t.seat("a").expect("seat");
    assert_eq!(t.status(), Status::Waiting);
    let e = t.act(&a, take(1)).expect_err("alone");
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::InvalidMove, "waiting for an opponent")
    );
    let b = t.seat("b").expect("seat");
    assert_eq!(t.status(), Status::Playing);
    assert_eq!(t.state().turns.round, 1);
    let m = mover(&t);
    let other = if m == a { b.clone() } else { a.clone() };
    assert_eq!(code(t.act(&other, take(1))), ErrorCode::NotYourTurn);
    assert_eq!(code(t.act(&m, take(3))), ErrorCode::InvalidMove);
    assert_eq!(code(t.act(&"eve".into(), take(1))), ErrorCode::NotAPlayer);
    assert_eq!(
        code(t.act(&m, TurnAction::Restart)),
        ErrorCode::GameInProgress
    );
    assert_eq!(t.state().game.pile, 7, "refusals change nothing");
    assert_eq!(t.legal_actions(&m), vec![take(1), take(2)]);
    assert!(t.legal_actions(&other).is_empty());
    t.check_replay().expect("replays");
}

#[test]
fn again_keeps_the_mover_on_a_fresh_clock_and_pass_hands_the_turn_on() {
    let mut t = Playtest::with_config(Pile, json!({"turn_ms": 5_000}), 3).expect("setup");
    t.seat("a").expect("seat");
    t.seat("b").expect("seat");
    let m = mover(&t);
    t.act(&m, take(1)).expect("7 → 6, odd pile: pass");
    let n = mover(&t);
    assert_ne!(n, m);
    t.advance(4_000);
    t.act(&n, take(1)).expect("6 → 5, even pile: again");
    assert_eq!(mover(&t), n);
    let due = t.seats().clock().map(|c| (c.player.clone(), c.due_ms));
    assert_eq!(due, Some((n.clone(), t.now_ms() + 5_000)), "a fresh clock");
    let view = t.view(&Viewer::Spectator);
    assert_eq!(view["deadline"], json!(t.now_ms() + 5_000));
    assert_eq!(view["pile"], 5);
    assert_eq!(
        view["players"][n.as_str()]["name"],
        json!(t.seats().get(&n).map(|s| &s.name))
    );
    t.check_replay().expect("replays");
}

#[test]
fn the_last_take_wins_and_restart_plays_again_with_a_full_pile() {
    let mut t = Playtest::new(Pile);
    t.seat("a").expect("seat");
    t.seat("b").expect("seat");
    while !t.state().turns.over {
        let m = mover(&t);
        let first = t.legal_actions(&m).into_iter().next().expect("a move");
        t.act(&m, first).expect("legal");
    }
    let winner = t
        .state()
        .turns
        .winner
        .clone()
        .expect("someone took the last");
    match t.status() {
        Status::Finished { ranking } => assert_eq!(ranking[0], vec![winner.clone()]),
        other => panic!("not finished: {other:?}"),
    }
    assert_eq!(code(t.act(&winner, take(1))), ErrorCode::GameOver);
    assert_eq!(t.legal_actions(&winner), vec![TurnAction::Restart]);
    t.act(&winner, TurnAction::Restart).expect("restart");
    assert_eq!((t.state().game.pile, t.state().turns.round), (7, 2));
    assert!(t.state().turns.winner.is_none() && !t.state().turns.over);
    t.check_replay().expect("replays");
}

#[test]
fn a_leavers_turn_passes_on_and_a_round_left_to_one_is_forfeited_to_them() {
    let mut t = Playtest::new(Pile);
    let ids: Vec<PlayerId> = ["a", "b", "c"].map(|n| t.seat(n).expect("seat")).into();
    let m = mover(&t);
    t.leave(&m).expect("leave");
    let next = mover(&t);
    assert!(
        next != m && ids.contains(&next),
        "the turn passed to someone seated"
    );
    assert!(!t.state().turns.over, "two still play");
    t.leave(&next).expect("leave");
    let last = t.seats().ids().next().cloned().expect("one left");
    assert!(t.state().turns.over && t.state().turns.forfeit);
    assert_eq!(t.state().turns.winner, Some(last.clone()));
    assert!(!t.state().turns.draw);
    assert_eq!(
        code(t.act(&last, TurnAction::Restart)),
        ErrorCode::InvalidMove
    );
    t.seat("d").expect("a newcomer");
    assert_eq!(
        t.state().turns.round,
        2,
        "a newcomer after a forfeit starts a round"
    );
    t.check_replay().expect("replays");
}

#[test]
fn the_default_bot_plays_a_legal_move_on_its_turn_only() {
    let mut t = Playtest::new(Pile);
    let human = t.seat("human").expect("seat");
    let bot = t.add_bot().expect("bots are on for every TurnGame");
    for _ in 0..20 {
        if t.state().turns.over {
            break;
        }
        if mover(&t) == human {
            assert!(t.bot_step().is_none(), "not the bot's turn");
            let first = t.legal_actions(&human).into_iter().next().expect("a move");
            t.act(&human, first).expect("legal");
        } else {
            let (who, result) = t.bot_step().expect("the bot moves");
            assert_eq!(who, bot);
            result.expect("the bot's move is legal");
        }
    }
    assert!(t.state().turns.over, "a game of 7 ends within 20 moves");
    t.check_replay().expect("replays");
}
