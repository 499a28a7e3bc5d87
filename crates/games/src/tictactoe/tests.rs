use super::*;
use arbiter_engine::protocol::ErrorCode;
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{Game, Status, Viewer};
use arbiter_engine::{GameRng, Playtest};

/// Alice (seat 0, X) and Bob (seat 1, O), a game under way.
fn table(seed: u64, config: Value) -> (Playtest<TicTacToe>, PlayerId, PlayerId) {
    let mut t = Playtest::with_config(TicTacToe, config, seed).expect("setup");
    let alice = t.seat("alice").expect("seat");
    let bob = t.seat("bob").expect("seat");
    (t, alice, bob)
}

/// The move that marks `row`, `col`.
pub(super) fn mv(row: u8, col: u8) -> Action {
    Action::Play(Move::Move { row, col })
}

fn mover(t: &Playtest<TicTacToe>) -> PlayerId {
    t.state().turns.turn.clone().expect("someone to move")
}

fn play(t: &mut Playtest<TicTacToe>, cells: &[u8]) {
    for &c in cells {
        let who = mover(t);
        t.act(&who, mv(c / 3, c % 3)).expect("legal move");
    }
}

#[test]
fn names_and_marks_come_from_the_seats() {
    let (t, _, bob) = table(1, Value::Null);
    let view = t.view(&Viewer::Spectator);
    assert_eq!(
        view["players"]["p_alice"],
        json!({"mark": "X", "name": "alice"})
    );
    assert_eq!(view["players"][bob.as_str()]["mark"], "O");
    assert!(t.state().turns.turn.is_some());
    assert_eq!(t.status(), Status::Playing);
    t.check_replay().expect("replays");
}

#[test]
fn the_view_keeps_the_wire_format() {
    let (t, _, _) = table(2, json!({"turn_ms": 1_000}));
    let view = t.view(&Viewer::Spectator);
    let mut keys: Vec<&str> = view
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "board", "deadline", "draw", "forfeit", "line", "moves", "over", "players", "round",
            "turn", "turn_ms", "winner"
        ]
    );
    assert_eq!(view["deadline"], json!(t.now_ms() + 1_000));
    assert_eq!(view["round"], 1);
}

#[test]
fn every_line_wins_for_the_player_who_completes_it() {
    for line in LINES {
        let (mut t, alice, bob) = table(u64::from(line[0]) * 10 + u64::from(line[2]), Value::Null);
        let first = mover(&t);
        let second = if first == alice {
            bob.clone()
        } else {
            alice.clone()
        };
        // The first player takes the line; the second plays elsewhere, never blocking.
        let mut others = (0..9)
            .filter(|c| !line.contains(c))
            .filter(|&c| !(line == [0, 4, 8] && c == 2));
        for (i, &cell) in line.iter().enumerate() {
            play(&mut t, &[cell]);
            if i < 2 {
                play(&mut t, &[others.next().expect("a free cell")]);
            }
        }
        assert_eq!(
            t.state().turns.winner.as_ref(),
            Some(&first),
            "line {line:?}"
        );
        assert_eq!(t.state().game.line, Some(line));
        assert!(t.state().turns.over);
        assert_eq!(
            t.status(),
            Status::Finished {
                ranking: vec![vec![first], vec![second]]
            }
        );
        t.check_replay().expect("replays");
    }
}

#[test]
fn full_board_without_line_is_a_draw() {
    let (mut t, _, _) = table(3, Value::Null);
    // X O X / X O O / O X X — no line.
    play(&mut t, &[0, 1, 2, 4, 3, 5, 7, 6, 8]);
    assert!(t.state().turns.draw && t.state().turns.over);
    assert_eq!(t.state().turns.winner, None);
    assert!(
        matches!(t.status(), Status::Finished { ranking } if ranking.len() == 1 && ranking[0].len() == 2)
    );
}

#[test]
fn refusals_carry_stable_codes_and_change_nothing() {
    let (mut t, alice, bob) = table(4, Value::Null);
    let m = mover(&t);
    let other = if m == alice { bob } else { alice };
    let (before, v) = (t.state().clone(), t.version());
    let code = |r: Result<u64, GameError>| r.expect_err("refused").code;
    assert_eq!(code(t.act(&other, mv(0, 0))), ErrorCode::NotYourTurn);
    assert_eq!(code(t.act(&m, mv(3, 0))), ErrorCode::InvalidMove);
    assert_eq!(code(t.act(&m, Action::Restart)), ErrorCode::GameInProgress);
    assert_eq!(
        code(t.act(&"eve".into(), Action::Restart)),
        ErrorCode::NotAPlayer
    );
    assert_eq!(
        code(t.act_json(&m, json!({"type": "timeout", "mover": m, "at_move": 0}))),
        ErrorCode::InvalidAction,
        "only the room's clock times a player out"
    );
    assert_eq!(
        code(t.act_json(&m, json!({"type": "move", "row": 1}))),
        ErrorCode::InvalidAction
    );
    assert_eq!((t.state(), t.version()), (&before, v));
    play(&mut t, &[4]);
    assert_eq!(code(t.act(&mover(&t), mv(1, 1))), ErrorCode::InvalidMove);
}

#[test]
fn a_lone_player_can_neither_move_nor_restart() {
    let mut t = Playtest::new(TicTacToe);
    let alice = t.seat("alice").expect("seat");
    assert_eq!(t.status(), Status::Waiting);
    let e = t.act(&alice, mv(0, 0)).expect_err("alone");
    assert_eq!(e.message, "waiting for an opponent");
    let bob = t.seat("bob").expect("seat");
    t.leave(&bob).expect("leave");
    assert!(t.state().turns.forfeit);
    let e = t.act(&alice, Action::Restart).expect_err("alone");
    assert_eq!(e.message, "waiting for an opponent");
    assert_eq!(t.seat("carol").map(|_| ()), Ok(()));
    assert_eq!(t.seat("dave").expect_err("full").code, ErrorCode::RoomFull);
}

#[test]
fn finished_game_refuses_moves_and_restarts_clean() {
    let (mut t, _, _) = table(5, Value::Null);
    play(&mut t, &[0, 3, 1, 4, 2]);
    let winner = t.state().turns.winner.clone().expect("won");
    let e = t.act(&winner, mv(2, 2)).expect_err("over");
    assert_eq!(e.code, ErrorCode::GameOver);
    t.act(&winner, Action::Restart).expect("restart");
    assert!(!t.state().turns.over && t.state().game.board.iter().all(Option::is_none));
    assert_eq!(t.state().turns.round, 2);
    assert!(t.state().turns.turn.is_some());
}

#[test]
fn leaving_mid_game_forfeits_and_a_newcomer_takes_the_free_mark() {
    let (mut t, alice, bob) = table(6, Value::Null);
    play(&mut t, &[4]);
    t.leave(&alice).expect("leave");
    assert!(t.state().turns.over && t.state().turns.forfeit);
    assert_eq!(t.state().turns.winner, Some(bob));
    let carol = t.seat("carol").expect("free seat");
    assert_eq!(
        t.view(&Viewer::Spectator)["players"][carol.as_str()]["mark"],
        "X"
    );
    assert!(!t.state().turns.over && t.state().game.board.iter().all(Option::is_none));
    assert_eq!(t.state().turns.round, 2);
    t.check_replay().expect("replays");
}

#[test]
fn a_lone_player_cannot_restart_and_a_newcomer_after_x_left_plays_x() {
    // The Go original let the player left alone restart into a game nobody could move in,
    // and seated a newcomer after X left as a second "O".
    let (mut t, alice, bob) = table(8, Value::Null);
    play(&mut t, &[0, 3, 1, 4, 2]);
    t.leave(&alice).expect("leave");
    let (before, v) = (t.state().clone(), t.version());
    assert!(
        t.legal_actions(&bob).is_empty(),
        "no restart is offered to a lone player"
    );
    let e = t.act(&bob, Action::Restart).expect_err("alone");
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::InvalidMove, "waiting for an opponent")
    );
    assert_eq!(
        (t.state(), t.version()),
        (&before, v),
        "a refusal changes nothing"
    );
    let carol = t.seat("carol").expect("free seat");
    let players = &t.view(&Viewer::Spectator)["players"];
    assert_eq!(players[carol.as_str()]["mark"], "X");
    assert_eq!(players[bob.as_str()]["mark"], "O");
    assert!(t.state().turns.turn.is_some() && !t.state().turns.over);
}

#[test]
fn the_bot_never_loses_and_takes_a_win_when_offered() {
    // Against every sequence of human moves, the bot never loses, whoever starts.
    fn explore(t: &Playtest<TicTacToe>, bot: &PlayerId, human: &PlayerId) -> u32 {
        if t.state().turns.over {
            assert_ne!(
                t.state().turns.winner.as_ref(),
                Some(human),
                "the bot lost: {:?}",
                t.state().game.board
            );
            return 1;
        }
        let mut games = 0;
        let movers: Vec<(PlayerId, Action)> = if t.state().turns.turn.as_ref() == Some(bot) {
            let mut rng = GameRng::from_seed(9);
            let m = TicTacToe
                .bot_move(t.state(), t.seats().get(bot).expect("seated"), &mut rng)
                .expect("bot moves on its turn");
            vec![(bot.clone(), m.action)]
        } else {
            t.legal_actions(human)
                .into_iter()
                .map(|a| (human.clone(), a))
                .collect()
        };
        for (who, action) in movers {
            let mut next = t.clone();
            next.act(&who, action).expect("legal");
            games += explore(&next, bot, human);
        }
        games
    }
    for seed in [0, 1, 2, 3] {
        let mut t = Playtest::with_config(TicTacToe, Value::Null, seed).expect("setup");
        let human = t.seat("human").expect("seat");
        let bot = t.add_bot().expect("bot");
        assert!(explore(&t, &bot, &human) > 1);
    }
    let mut t = Playtest::new(TicTacToe);
    let human = t.seat("human").expect("seat");
    let bot = t.add_bot().expect("bot");
    assert_eq!(t.seats().get(&bot).expect("seated").name, "Bot");
    let mut rng = GameRng::from_seed(1);
    let waiting = t.state().turns.turn.as_ref() != Some(&human);
    let not_mover = if waiting { &human } else { &bot };
    assert!(
        TicTacToe
            .bot_move(
                t.state(),
                t.seats().get(not_mover).expect("seated"),
                &mut rng
            )
            .is_none(),
        "not its turn"
    );

    // X X . / O O . / . . .  with O to move: O completes its row.
    let o = Some(Mark::O);
    let x = Some(Mark::X);
    let mut state = State::default();
    state.game.board = [x, x, None, o, o, None, None, None, None];
    state.turns.turn = Some(bot.clone());
    let m = bot::decide(&state, Mark::O, &bot, &mut rng).expect("move");
    assert_eq!(Action::Play(m.action), mv(1, 2));
}

#[test]
fn the_move_clock_plays_a_random_cell_for_a_player_who_runs_out_of_time() {
    let (mut t, _, _) = table(11, json!({"turn_ms": 1_000}));
    let start = t.now_ms();
    let m = mover(&t);
    assert_eq!(
        t.seats().clock().map(|c| (&c.player, c.due_ms)),
        Some((&m, start + 1_000))
    );
    t.advance(999);
    assert_eq!(t.state().game.moves, 0, "not yet");
    t.advance(1);
    assert_eq!(
        t.state().game.board.iter().filter(|c| c.is_some()).count(),
        1
    );
    assert_ne!(t.state().turns.turn.as_ref(), Some(&m), "the turn passed");
    assert_eq!(
        t.view(&Viewer::Spectator)["deadline"],
        json!(start + 2_000),
        "the next clock runs"
    );
    let last = serde_json::to_value(t.log().last().expect("entry")).expect("json");
    assert_eq!(
        (last["kind"].as_str(), last["player"].as_str()),
        (Some("clock"), Some(m.as_str()))
    );

    // A move in time stops the mover's clock and starts the other's.
    let next = mover(&t);
    let free = (0..9u8)
        .find(|&c| t.state().game.board[usize::from(c)].is_none())
        .expect("free");
    t.advance(500);
    t.act(&next, mv(free / 3, free % 3)).expect("move");
    assert_eq!(t.seats().clock().map(|c| c.due_ms), Some(start + 2_500));
    // A finished game has no clock; the clock never fires twice.
    let moves = t.state().game.moves;
    t.advance(1_000);
    assert_eq!(t.state().game.moves, moves + 1);
    t.check_replay().expect("replays");
}

#[test]
fn actions_parse_strictly() {
    let ok: Action = serde_json::from_str(r#"{"type":"move","row":1,"col":2}"#).expect("parses");
    assert_eq!(ok, mv(1, 2));
    assert!(serde_json::from_str::<Action>(r#"{"type":"move","row":1}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"type":"move","row":-1,"col":0}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"type":"fly"}"#).is_err());
}
