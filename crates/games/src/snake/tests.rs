#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::Playtest;

/// Two players, a round started, the countdown run out: snakes are about to make their
/// first step.
fn running() -> (Playtest<Snake>, PlayerId, PlayerId) {
    let mut t = Playtest::new(Snake);
    let ada = t.seat("ada").unwrap();
    let bob = t.seat("bob").unwrap();
    t.act(&ada, Action::Start).unwrap();
    for _ in 0..COUNTDOWN_TICKS {
        t.tick().expect("the countdown ticks");
    }
    assert_eq!(t.state().phase, Phase::Running);
    (t, ada, bob)
}

fn snake<'a>(t: &'a Playtest<Snake>, p: &PlayerId) -> &'a Body {
    t.state().snakes.iter().find(|s| &s.player == p).unwrap()
}

#[test]
fn a_round_needs_two_players_and_only_ticks_while_it_runs() {
    let mut t = Playtest::new(Snake);
    let ada = t.seat("ada").unwrap();
    let refused = t.act(&ada, Action::Start).unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidMove);
    assert_eq!(t.timers().tick_due(), None, "no round, no ticks");
    let bob = t.seat("bob").unwrap();
    t.act(&bob, Action::Start).unwrap();
    assert_eq!(t.timers().tick_due(), Some(t.now_ms() + TICK_MS));
    assert_eq!(t.status(), Status::Playing);
    let again = t.act(&ada, Action::Start).unwrap_err();
    assert_eq!(again.code, ErrorCode::GameInProgress);
    // A turn is an input while the room ticks, and nothing else.
    let turn = Action::Turn { dir: Dir::Up };
    assert_eq!(
        t.act(&ada, turn.clone()).unwrap_err().code,
        ErrorCode::InvalidMove
    );
    t.input(&ada, turn).unwrap();
}

#[test]
fn a_snake_moves_one_cell_every_step_ticks_ticks() {
    let (mut t, ada, _) = running();
    let start = snake(&t, &ada).head_cell();
    let step = u64::from(t.state().step_ticks);
    let before = t.state().tick;
    // Ticks until the next step boundary: the head stays put until then.
    while !(t.state().tick + 1).is_multiple_of(step) {
        t.tick();
        assert_eq!(snake(&t, &ada).head_cell(), start);
    }
    t.tick();
    assert_eq!(snake(&t, &ada).head_cell(), [start[0] + 1, start[1]]);
    assert!(t.state().tick > before);
    t.check_replay().unwrap();
}

#[test]
fn turns_queued_between_steps_are_taken_one_per_step_and_reversals_are_ignored() {
    let (mut t, ada, _) = running();
    let [x, y] = snake(&t, &ada).head_cell();
    // Heading right: left is a reversal, then up and right are two quick turns.
    t.input(&ada, Action::Turn { dir: Dir::Left }).unwrap();
    t.input(&ada, Action::Turn { dir: Dir::Up }).unwrap();
    t.input(&ada, Action::Turn { dir: Dir::Right }).unwrap();
    let step = t.state().step_ticks;
    for _ in 0..step {
        t.tick();
    }
    assert_eq!(
        snake(&t, &ada).head_cell(),
        [x, y - 1],
        "the first step went up"
    );
    for _ in 0..step {
        t.tick();
    }
    assert_eq!(
        snake(&t, &ada).head_cell(),
        [x + 1, y - 1],
        "the second went right"
    );
    t.check_replay().unwrap();
}

#[test]
fn the_last_snake_alive_wins_and_the_room_stops_ticking() {
    let (mut t, ada, bob) = running();
    // Ada turns up into the top wall; Bob goes on along the row she left.
    t.input(&ada, Action::Turn { dir: Dir::Up }).unwrap();
    let mut ticks = 0;
    while t.state().phase == Phase::Running {
        t.tick().expect("ticks while the round runs");
        ticks += 1;
        assert!(ticks < 10_000, "the round never ended");
    }
    assert_eq!(t.state().winner, Some(bob.clone()));
    assert_eq!(t.state().deaths, vec![vec![ada.clone()]]);
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![bob.clone()], vec![ada]]
        }
    );
    assert_eq!(snake(&t, &bob).wins, 1);
    assert_eq!(t.timers().tick_due(), None, "an ended round does not tick");
    t.check_replay().unwrap();
}

#[test]
fn food_makes_a_snake_longer_and_is_put_back_elsewhere() {
    let (mut t, ada, _) = running();
    let [x, y] = snake(&t, &ada).head_cell();
    let foods = t.state().food.len();
    t.arrange(|s| s.food[0] = [x + 1, y]);
    let len = snake(&t, &ada).len;
    for _ in 0..t.state().step_ticks {
        t.tick();
    }
    let s = snake(&t, &ada);
    assert_eq!((s.score, s.grow), (1, GROWTH));
    assert_eq!(t.state().food.len(), foods);
    assert!(!t.state().food.contains(&[x + 1, y]));
    for _ in 0..t.state().step_ticks * 3 {
        t.tick();
    }
    assert_eq!(snake(&t, &ada).len, len + GROWTH);
}

#[test]
fn two_heads_on_one_cell_both_die_and_the_round_is_a_draw() {
    let (mut t, ada, bob) = running();
    // Both start in the middle row facing each other: going straight they meet.
    let mut ticks = 0;
    while t.state().phase == Phase::Running {
        t.tick();
        ticks += 1;
        assert!(ticks < 10_000);
    }
    assert_eq!(t.state().winner, None);
    let mut both = vec![ada, bob];
    both.sort();
    assert_eq!(t.state().deaths, vec![both.clone()]);
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![both]
        }
    );
    t.check_replay().unwrap();
}

#[test]
fn pausing_stops_the_ticks_and_resuming_takes_up_the_schedule_after_the_pause() {
    let (mut t, ada, _) = running();
    let due = t.timers().tick_due().unwrap();
    let tick = t.state().tick;
    t.pause(Some(&ada)).unwrap();
    assert_eq!(t.timers().tick_due(), None);
    assert_eq!(
        t.input(&ada, Action::Turn { dir: Dir::Up })
            .unwrap_err()
            .code,
        ErrorCode::InvalidMove
    );
    t.advance(10_000);
    assert_eq!(t.state().tick, tick, "no tick while paused");
    t.resume(Some(&ada)).unwrap();
    assert_eq!(t.timers().tick_due(), Some(due + 10_000));
    t.tick();
    assert_eq!(t.state().tick, tick + 1);
    t.check_replay().unwrap();
}

#[test]
fn bots_play_whole_rounds_and_the_log_replays_to_the_same_state() {
    let mut t =
        Playtest::with_config(Snake, serde_json::json!({"width": 24, "height": 16}), 7).unwrap();
    let ada = t.seat("ada").unwrap();
    for _ in 0..3 {
        t.add_bot().unwrap();
    }
    for round in 1..=3 {
        t.act(&ada, Action::Start).unwrap();
        let mut ticks = 0;
        while t.state().phase != Phase::Over {
            t.bot_inputs();
            t.tick().expect("the round ticks until it ends");
            ticks += 1;
            assert!(ticks < 100_000, "round {round} never ended");
        }
        assert_eq!(t.state().round, round);
    }
    let bots_alive_long: u32 = t.state().snakes.iter().map(|s| s.score).sum();
    assert!(
        bots_alive_long > 0,
        "in three rounds some bot ate something"
    );
    t.check_replay().unwrap();
}
