use super::*;
use arbiter_engine::{Playtest, Timers};
use proptest::prelude::*;

type Table = Playtest<DiceGame>;

fn code(r: Result<u64, GameError>) -> ErrorCode {
    r.expect_err("refused").code
}

/// A room with `config` and `seed`, `players` seated (ids `p_<name>`).
fn table(config: Config, players: &[&str], seed: u64) -> (Table, Vec<PlayerId>) {
    let config = serde_json::to_value(config).expect("config serialises");
    let mut t = Playtest::with_config(DiceGame, config, seed).expect("config");
    let ids = players.iter().map(|p| t.seat(p).expect("seat")).collect();
    (t, ids)
}

/// Seated and started; the table is clear for the first roll.
fn started(players: &[&str]) -> (Table, Vec<PlayerId>) {
    let (mut t, ids) = table(Config::default(), players, 7);
    t.act(&ids[0], Action::Start).expect("start");
    (t, ids)
}

fn mover(t: &Table) -> PlayerId {
    t.state().turn.clone().expect("a player on turn")
}

/// The seated player who is not `p`, at a table of two.
fn other(ids: &[PlayerId], p: &PlayerId) -> PlayerId {
    ids.iter().find(|x| *x != p).cloned().expect("two seated")
}

/// Pretend the player on turn rolled `faces`.
fn rolled(t: &mut Table, faces: &[u8]) {
    assert!(t.state().dice.is_empty(), "the table must be clear");
    let mut f = faces.to_vec();
    f.sort_unstable();
    t.arrange(|s| s.dice = f);
}

fn player<'a>(t: &'a Table, who: &PlayerId) -> &'a Player {
    &t.state().players[who]
}

fn view(t: &Table) -> Value {
    t.view(&Viewer::Spectator)
}

/// When the next timer or the turn clock fires.
fn next_due(t: &Table) -> Option<u64> {
    let clock = t.seats().clock().map(|c| c.due_ms);
    [t.timers().next_due(), clock].into_iter().flatten().min()
}

/// Let time run to the earliest pending timer or clock, which fires; false when none is set.
fn fire(t: &mut Table) -> bool {
    let Some(due) = next_due(t) else {
        return false;
    };
    t.advance(due.saturating_sub(t.now_ms()));
    true
}

#[test]
fn seating_start_and_late_joiners() {
    let (mut t, ids) = table(Config::default(), &["ann"], 7);
    let ann = ids[0].clone();
    assert_eq!(code(t.act(&ann, Action::Start)), ErrorCode::InvalidMove);
    assert!(t.legal_actions(&ann).is_empty());
    let ben = t.seat("ben").expect("second seat");
    assert_eq!(t.status(), Status::Waiting);
    assert_eq!(t.legal_actions(&ben), vec![Action::Start]);
    assert_eq!(
        code(t.act(&"eve".into(), Action::Start)),
        ErrorCode::NotAPlayer
    );
    assert_eq!(code(t.act(&ann, Action::Roll)), ErrorCode::InvalidMove);
    assert_eq!(code(t.act(&ann, Action::Restart)), ErrorCode::InvalidMove);
    t.act(&ben, Action::Start)
        .expect("any seated player starts");
    assert_eq!(t.state().phase, Phase::Playing);
    assert_eq!(t.status(), Status::Playing);
    assert!(t.state().turn.is_some());
    assert_eq!(t.state().round, 1);
    assert_eq!(code(t.act(&ann, Action::Start)), ErrorCode::GameInProgress);
    assert_eq!(
        code(t.act(&ann, Action::Restart)),
        ErrorCode::GameInProgress
    );
    let late = t.seat("cat").expect_err("refused");
    assert_eq!(late.code, ErrorCode::JoinRefused);
    assert!(late.message.contains("started"));
    assert_eq!(t.state().players.len(), 2);
    assert_eq!(t.seats().len(), 2, "the refused joiner holds no seat");

    let (mut full, ids) = table(Config::default(), &["a", "b", "c", "d", "e", "f"], 7);
    assert_eq!(full.seat("g").expect_err("seven").code, ErrorCode::RoomFull);
    assert_eq!(player(&full, &ids[5]).order, 5);
    // A newcomer sits after everyone, even in a leaver's seat.
    full.leave(&ids[1]).expect("leave");
    let h = full.seat("h").expect("seat");
    assert_eq!(full.seats().get(&h).map(|s| s.number), Some(1));
    assert_eq!(player(&full, &h).order, 6);
}

#[test]
fn seats_go_round_in_join_order_from_a_random_first_player() {
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let (mut t, order) = table(Config::default(), &["a", "b", "c"], seed);
        t.act(&order[0], Action::Start).expect("start");
        let first = mover(&t);
        firsts.insert(first.clone());
        // Bank a single 1 each turn: the turn goes a → b → c → a from wherever it began.
        let mut at = order.iter().position(|p| *p == first).expect("seated");
        for _ in 0..4 {
            assert_eq!(mover(&t), order[at]);
            rolled(&mut t, &[1, 2, 3, 3, 4, 6]);
            let who = mover(&t);
            t.act(&who, Action::Select { index: 0 }).expect("select");
            t.act(&who, Action::SetAside { end_turn: true })
                .expect("bank");
            at = (at + 1) % 3;
        }
    }
    assert_eq!(firsts.len(), 3, "each seat starts some game");
}

#[test]
fn select_set_aside_and_roll_on() {
    let (mut t, ids) = started(&["ann", "ben"]);
    let p = mover(&t);
    let other = other(&ids, &p);
    assert_eq!(t.legal_actions(&p), vec![Action::Roll]);
    assert!(t.legal_actions(&other).is_empty());
    assert_eq!(code(t.act(&other, Action::Roll)), ErrorCode::NotYourTurn);
    assert_eq!(
        code(t.act(&p, Action::Select { index: 0 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&p, Action::SetAside { end_turn: false })),
        ErrorCode::InvalidMove
    );

    rolled(&mut t, &[1, 1, 3, 3, 5, 5]);
    let (before, v) = (t.state().clone(), t.version());
    assert_eq!(code(t.act(&p, Action::Roll)), ErrorCode::InvalidMove);
    assert_eq!(
        code(t.act(&p, Action::SetAside { end_turn: false })),
        ErrorCode::InvalidMove,
        "nothing selected"
    );
    assert_eq!(
        code(t.act(&p, Action::Select { index: 6 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&p, Action::Deselect { index: 0 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act_json(&p, json!({"type": "select", "index": "one"}))),
        ErrorCode::InvalidAction
    );
    assert_eq!(*t.state(), before, "refusals change nothing");
    assert_eq!(t.version(), v);

    // A 3 does not score: the selection cannot be set aside.
    t.act(&p, Action::Select { index: 2 }).expect("select a 3");
    assert_eq!(player(&t, &p).turn_score, 0);
    assert_eq!(
        code(t.act(&p, Action::SetAside { end_turn: false })),
        ErrorCode::InvalidMove
    );
    t.act(&p, Action::Select { index: 0 }).expect("select a 1");
    assert_eq!(
        code(t.act(&p, Action::Select { index: 0 })),
        ErrorCode::InvalidMove,
        "already selected"
    );
    assert_eq!(player(&t, &p).turn_score, 100);
    assert_eq!(
        view(&t)["selection"],
        json!({"points": 100, "valid": false})
    );
    t.act(&p, Action::Deselect { index: 2 })
        .expect("deselect the 3");
    assert_eq!(view(&t)["selection"], json!({"points": 100, "valid": true}));
    assert_eq!(
        t.legal_actions(&p),
        vec![
            Action::Deselect { index: 0 },
            Action::Select { index: 1 },
            Action::Select { index: 2 },
            Action::Select { index: 3 },
            Action::Select { index: 4 },
            Action::Select { index: 5 },
            Action::SetAside { end_turn: false },
            Action::SetAside { end_turn: true },
        ]
    );
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("set aside a 1");
    assert_eq!(t.state().set_aside, vec![1]);
    assert_eq!((t.state().to_roll, t.state().dice.len()), (5, 0));
    assert_eq!(player(&t, &p).round_score, 100);
    assert_eq!(player(&t, &p).turn_score, 0);
    assert_eq!(mover(&t), p);

    t.act(&p, Action::Roll).expect("roll the other five");
    let s = t.state();
    assert_eq!(s.dice.len(), 5);
    assert!(s.dice.windows(2).all(|w| w[0] <= w[1]), "ascending");
    assert_eq!(
        s.last_roll.as_ref().map(|r| r.faces.clone()),
        Some(s.dice.clone())
    );
}

#[test]
fn banking_ends_the_turn_and_keeps_the_points() {
    let (mut t, _) = started(&["ann", "ben"]);
    let p = mover(&t);
    rolled(&mut t, &[1, 1, 3, 3, 5, 5]);
    for index in [0, 1, 4] {
        t.act(&p, Action::Select { index }).expect("select");
    }
    t.act(&p, Action::SetAside { end_turn: true })
        .expect("bank");
    assert_eq!(player(&t, &p).score, 250);
    assert_eq!(player(&t, &p).round_score, 0);
    assert_ne!(mover(&t), p);
    assert!(t.state().dice.is_empty() && t.state().set_aside.is_empty());
    assert_eq!(t.state().to_roll, DICE);
    assert_eq!(t.state().turn_no, 2);
}

#[test]
fn hot_dice_give_all_six_back() {
    let (mut t, _) = started(&["ann", "ben"]);
    let p = mover(&t);
    rolled(&mut t, &[1, 5, 2, 2, 2, 5]);
    for index in [0, 1, 2, 3] {
        t.act(&p, Action::Select { index }).expect("select");
    }
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("set aside 1 + 2 2 2");
    assert_eq!(t.state().to_roll, 2);
    rolled(&mut t, &[5, 1]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.act(&p, Action::Select { index: 1 }).expect("select");
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("hot dice");
    assert!(t.state().hot_dice);
    assert!(t.state().set_aside.is_empty());
    assert_eq!(t.state().to_roll, 6);
    assert_eq!(player(&t, &p).round_score, 450);
    t.act(&p, Action::Roll).expect("all six again");
    assert_eq!(t.state().dice.len(), 6);
    assert!(!t.state().hot_dice);
}

/// A table whose player on turn has one die left and 1150 points at stake, seeded so that
/// rolling that die busts.
fn about_to_bust(config: Config) -> (Table, Vec<PlayerId>) {
    for seed in 0..100 {
        let (mut t, ids) = table(config.clone(), &["ann", "ben"], seed);
        t.act(&ids[0], Action::Start).expect("start");
        let p = mover(&t);
        rolled(&mut t, &[1, 1, 1, 2, 3, 5]);
        for index in [0, 1, 2, 5] {
            t.act(&p, Action::Select { index }).expect("select");
        }
        t.act(&p, Action::SetAside { end_turn: false })
            .expect("set aside");
        rolled(&mut t, &[1, 4]);
        t.act(&p, Action::Select { index: 0 }).expect("select");
        t.act(&p, Action::SetAside { end_turn: false })
            .expect("set aside");
        assert_eq!(t.state().to_roll, 1);
        let mut probe = t.clone();
        probe.act(&p, Action::Roll).expect("roll");
        if probe
            .state()
            .last_roll
            .as_ref()
            .is_some_and(|r| r.points == 0)
        {
            return (t, ids);
        }
    }
    panic!("no seed busts");
}

#[test]
fn a_bust_locks_the_player_and_passes_the_turn_after_the_delay() {
    let (mut t, ids) = about_to_bust(Config::default());
    let p = mover(&t);
    let other = other(&ids, &p);
    assert_eq!(player(&t, &p).round_score, 1150);
    t.act(&p, Action::Roll).expect("roll");
    assert!(t.state().busted);
    assert_eq!(t.state().last_roll.as_ref().map(|r| r.points), Some(0));
    assert_eq!(mover(&t), p, "the turn stays while the bust is shown");
    assert_eq!(
        player(&t, &p).round_score,
        1150,
        "shown until the turn passes"
    );
    assert!(view(&t)["legal"].as_array().is_some_and(Vec::is_empty));
    for action in [
        Action::Roll,
        Action::Select { index: 0 },
        Action::SetAside { end_turn: true },
    ] {
        let e = t.act(&p, action.clone()).expect_err("busted");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        assert!(e.message.contains("busted"), "{}", e.message);
        assert_eq!(code(t.act(&other, action)), ErrorCode::NotYourTurn);
    }
    let turn_no = t.state().turn_no;
    assert_eq!(
        code(t.act(&p, Action::BustOver { turn_no })),
        ErrorCode::InvalidAction,
        "players cannot end a bust"
    );
    assert_eq!(t.timers().pending().len(), 1);
    assert_eq!(t.timers().pending()[0].action, Action::BustOver { turn_no });
    t.advance(1999);
    assert!(t.state().busted, "the bust is shown for 2 s");
    t.advance(1);
    assert!(!t.state().busted);
    assert_eq!(mover(&t), other);
    assert_eq!(player(&t, &p).round_score, 0);
    assert_eq!(player(&t, &p).score, 0, "nothing was banked");
    assert!(t.timers().pending().is_empty());
    // A late timer for that turn is refused and changes nothing. The engine cancels a bust's
    // timer whenever the turn moves on, so only a direct call reaches this.
    let mut state = t.state().clone();
    let (mut rng, mut timers, mut seats) =
        (GameRng::from_seed(1), Timers::default(), t.seats().clone());
    let mut cx = Ctx::new(&mut rng, t.now_ms(), &mut timers, &mut seats);
    let late = DiceGame.apply(
        &mut state,
        &Actor::System,
        Action::BustOver { turn_no },
        &mut cx,
    );
    assert_eq!(late.expect_err("stale").code, ErrorCode::InvalidMove);
    assert_eq!(state, *t.state());
}

#[test]
fn a_zero_bust_delay_passes_the_turn_at_once() {
    let config = Config {
        bust_delay_ms: 0,
        ..Config::default()
    };
    let (mut t, _) = about_to_bust(config);
    let p = mover(&t);
    t.act(&p, Action::Roll).expect("roll");
    assert_ne!(mover(&t), p);
    assert!(!t.state().busted);
    assert_eq!(t.state().last_roll.as_ref().map(|r| r.points), Some(0));
    assert!(t.timers().pending().is_empty());
}

#[test]
fn banking_the_target_wins_and_a_restart_plays_again() {
    let config = Config {
        target: 500,
        ..Config::default()
    };
    let (mut t, ids) = table(config, &["ann", "ben", "cat"], 3);
    t.act(&ids[2], Action::Start).expect("start");
    let p = mover(&t);
    t.arrange(|s| s.players.get_mut(&p).expect("seated").score = 400);
    rolled(&mut t, &[1, 2, 3, 3, 4, 6]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.act(&p, Action::SetAside { end_turn: true })
        .expect("bank");
    assert_eq!(t.state().phase, Phase::Over);
    assert_eq!(t.state().winner, Some(p.clone()));
    let name = p.as_str().trim_start_matches("p_");
    assert_eq!(t.state().winner_name.as_deref(), Some(name));
    assert_eq!(t.state().turn, None);
    let Status::Finished { ranking } = t.status() else {
        panic!("finished");
    };
    assert_eq!(ranking[0], vec![p.clone()]);
    assert_eq!(ranking.len(), 2, "the two others tie at 0");
    assert_eq!(code(t.act(&p, Action::Roll)), ErrorCode::GameOver);
    assert_eq!(code(t.act(&p, Action::Start)), ErrorCode::GameOver);
    assert_eq!(t.legal_actions(&ids[0]), vec![Action::Restart]);
    let dan = t.seat("dan").expect("a finished game takes newcomers");
    t.act(&dan, Action::Restart).expect("restart");
    assert_eq!(t.state().phase, Phase::Playing);
    assert_eq!(t.state().round, 2);
    assert!(t.state().players.values().all(|pl| pl.score == 0));
    assert_eq!(t.state().winner, None);
}

#[test]
fn leaving_passes_the_turn_and_too_few_players_end_the_game() {
    let (mut t, order) = started(&["ann", "ben", "cat"]);
    let p = mover(&t);
    let at = order.iter().position(|x| *x == p).expect("seated");
    rolled(&mut t, &[1, 2, 2, 3, 4, 6]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.leave(&p).expect("leave");
    assert_eq!(mover(&t), order[(at + 1) % 3]);
    assert!(t.state().dice.is_empty() && t.state().selected.is_empty());
    assert_eq!(t.state().phase, Phase::Playing);
    // Someone not on turn leaves: only two were left, so the stayer wins by forfeit.
    let stayer = mover(&t);
    let leaver = other(&t.seats().ids().cloned().collect::<Vec<_>>(), &stayer);
    t.leave(&leaver).expect("leave");
    assert_eq!(t.state().phase, Phase::Over);
    assert!(t.state().forfeit);
    assert_eq!(t.state().winner, Some(stayer.clone()));
    assert!(t.legal_actions(&stayer).is_empty());

    let (mut w, ids) = table(Config::default(), &["ann", "ben"], 7);
    w.leave(&ids[0]).expect("leave");
    assert_eq!(w.state().phase, Phase::Waiting);
    assert_eq!(w.state().players.len(), 1);
}

#[test]
fn leaving_while_busted_passes_the_turn_and_drops_the_bust_timer() {
    let (mut t, order) = about_to_bust_of_three();
    let p = mover(&t);
    let at = order.iter().position(|x| *x == p).expect("seated");
    t.act(&p, Action::Roll).expect("roll");
    assert!(t.state().busted);
    assert_eq!(t.timers().pending().len(), 1);
    t.leave(&p).expect("leave");
    assert_eq!(mover(&t), order[(at + 1) % 3]);
    assert!(!t.state().busted);
    assert!(t.timers().pending().is_empty());
}

/// Like [`about_to_bust`], at a table of three.
fn about_to_bust_of_three() -> (Table, Vec<PlayerId>) {
    for seed in 0..100 {
        let (mut t, ids) = table(Config::default(), &["ann", "ben", "cat"], seed);
        t.act(&ids[0], Action::Start).expect("start");
        let p = mover(&t);
        t.arrange(|s| {
            s.set_aside = vec![1, 1, 1, 5, 5];
            s.to_roll = 1;
        });
        let mut probe = t.clone();
        probe.act(&p, Action::Roll).expect("roll");
        if probe.state().busted {
            return (t, ids);
        }
    }
    panic!("no seed busts");
}

#[test]
fn the_turn_clock_banks_what_was_set_aside_and_skips_absent_players() {
    let config = Config {
        turn_timeout_ms: 5000,
        ..Config::default()
    };
    let (mut t, ids) = table(config, &["ann", "ben"], 11);
    t.act(&ids[0], Action::Start).expect("start");
    let p = mover(&t);
    let other = other(&ids, &p);
    let deadline = |t: &Table| view(t)["turn_deadline_ms"].as_u64();
    assert_eq!(deadline(&t), Some(t.now_ms() + 5000));
    assert_eq!(t.seats().clock().map(|c| &c.player), Some(&p));
    rolled(&mut t, &[1, 1, 3, 3, 4, 6]);
    t.advance(1000);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    assert_eq!(
        deadline(&t),
        Some(t.now_ms() + 5000),
        "each action restarts the clock"
    );
    assert!(t.timers().pending().is_empty(), "the clock is no timer");
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("set aside");
    // The player goes quiet: the clock banks the 100 set aside and passes the turn.
    t.advance(4999);
    assert_eq!(mover(&t), p);
    t.advance(1);
    assert_eq!(player(&t, &p).score, 100);
    assert_eq!(mover(&t), other);
    assert_eq!(deadline(&t), Some(t.now_ms() + 5000));

    // The next player has disconnected: the view says so, and the turn is skipped.
    t.connection(&other, false).expect("connection");
    assert_eq!(
        view(&t)["players"][other.as_str()]["connected"],
        json!(false)
    );
    t.advance(5000);
    assert_eq!(mover(&t), p);
    assert_eq!(player(&t, &other).score, 0);
    t.connection(&other, true).expect("connection");
    assert_eq!(
        view(&t)["players"][other.as_str()]["connected"],
        json!(true)
    );
    let turn_no = t.state().turn_no;
    assert_eq!(
        code(t.act_json(&p, json!({"type": "turn_timeout", "turn_no": turn_no}))),
        ErrorCode::InvalidAction,
        "no player can end a turn by the clock"
    );
}

#[test]
fn without_a_clock_no_turn_clock_runs() {
    let (mut t, _) = started(&["ann", "ben"]);
    let p = mover(&t);
    t.act(&p, Action::Roll).expect("roll");
    assert!(view(&t)["turn_deadline_ms"].is_null());
    assert!(t.seats().clock().is_none());
    assert!(
        t.timers()
            .pending()
            .iter()
            .all(|x| matches!(x.action, Action::BustOver { .. }))
    );
}

#[test]
fn the_view_is_public_and_complete() {
    let (mut t, ids) = started(&["ann", "ben"]);
    let p = mover(&t);
    rolled(&mut t, &[1, 2, 3, 3, 4, 6]);
    let v = view(&t);
    assert!(DiceGame.public_view());
    assert_eq!(v, t.view_of(&ids[0]));
    for key in [
        "phase",
        "target",
        "players",
        "turn",
        "turn_no",
        "round",
        "dice",
        "selected",
        "selection",
        "set_aside",
        "to_roll",
        "busted",
        "hot_dice",
        "last_roll",
        "winner",
        "winner_name",
        "forfeit",
        "turn_deadline_ms",
        "legal",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["phase"], json!("playing"));
    assert_eq!(v["turn"], json!(p));
    assert_eq!(v["target"], json!(3000));
    assert_eq!(
        v["players"]["p_ann"],
        json!({"name": "ann", "score": 0, "round_score": 0, "turn_score": 0,
               "connected": true, "order": 0})
    );
    assert_eq!(v["legal"][0], json!({"type": "select", "index": 0}));
    assert!(v.get("bust_timer").is_none(), "timer ids stay inside");
}

#[test]
fn actions_parse_strictly_and_configs_are_checked() {
    let ok: Action =
        serde_json::from_str(r#"{"type":"set_aside","end_turn":true}"#).expect("parses");
    assert_eq!(ok, Action::SetAside { end_turn: true });
    assert_eq!(
        serde_json::from_str::<Action>(r#"{"type":"select","index":3}"#).expect("parses"),
        Action::Select { index: 3 }
    );
    for bad in [
        r#"{"type":"set_aside"}"#,
        r#"{"type":"select","index":-1}"#,
        r#"{"type":"select","diceIndex":1}"#,
        r#"{"type":"end_turn"}"#,
    ] {
        assert!(serde_json::from_str::<Action>(bad).is_err(), "{bad}");
    }
    let c: Config = serde_json::from_str(r#"{"target":500}"#).expect("partial config");
    assert_eq!((c.target, c.bust_delay_ms), (500, 2000));
    assert!(serde_json::from_str::<Config>(r#"{"targetScore":500}"#).is_err());
    for bad in [
        json!({"target": 0}),
        json!({"bot_delay_ms": [900, 100]}),
        json!({"targetScore": 500}),
    ] {
        let refused = Playtest::with_config(DiceGame, bad, 1).err();
        assert_eq!(refused.map(|e| e.code), Some(ErrorCode::InvalidConfig));
    }
}

#[test]
fn bot_names_are_distinct() {
    let names: Vec<String> = (1..=30).map(|n| DiceGame.bot_name(n)).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    assert_eq!(names[0], "Ctibor the Tanner");
    let mut t = Playtest::new(DiceGame);
    let bot = t.add_bot().expect("bots sit down");
    assert_eq!(
        view(&t)["players"][bot.as_str()]["name"],
        "Ctibor the Tanner"
    );
}

#[test]
fn the_odds_match_the_scoring() {
    let odds = bot::odds();
    assert!((odds[1].0 - 4.0 / 6.0).abs() < 1e-12);
    assert!((odds[1].1 - 75.0).abs() < 1e-9, "a 1 or a 5");
    assert!((odds[2].0 - 16.0 / 36.0).abs() < 1e-12);
    assert!(odds[6].0 < 0.04 && odds[6].0 > 0.01, "{}", odds[6].0);
    assert!(
        odds.windows(2).skip(1).all(|w| w[0].0 > w[1].0),
        "more dice, fewer busts"
    );
}

#[test]
fn the_bot_takes_wins_hot_dice_and_keeps_few_dice_early() {
    let (mut t, ids) = table(Config::default(), &["ann"], 7);
    let bot = t.add_bot().expect("bot");
    t.act(&ids[0], Action::Start).expect("start");
    t.arrange(|s| s.turn = Some(bot.clone()));
    let mut rng = GameRng::from_seed(1);
    let decide = |t: &Table| bot::decide(t.state(), &bot);
    assert_eq!(decide(&t), Some(Action::Roll));
    assert!(
        DiceGame
            .bot_move(t.state(), t.seats().get(&ids[0]).expect("seated"), &mut rng)
            .is_none()
    );
    let m = DiceGame
        .bot_move(t.state(), t.seats().get(&bot).expect("seated"), &mut rng)
        .expect("moves");
    assert!((700..=1500).contains(&m.delay_ms));

    // A full run: keep all six (hot dice) and roll on.
    rolled(&mut t, &[1, 2, 3, 4, 5, 6]);
    assert_eq!(bot::plan(t.state(), &bot), Some((0b11_1111, false)));
    // Early in a turn, a lone 1 is kept and the 5 rerolled with the other four.
    t.arrange(|s| s.dice = vec![1, 2, 3, 3, 5, 6]);
    assert_eq!(bot::plan(t.state(), &bot), Some((0b1, false)));
    assert_eq!(decide(&t), Some(Action::Select { index: 0 }));
    t.act(&bot, Action::Select { index: 4 }).expect("select");
    assert_eq!(decide(&t), Some(Action::Select { index: 0 }));
    let (played, _) = t.bot_step().expect("the bot acts");
    assert_eq!(played, bot);
    assert_eq!(t.state().selected, vec![0, 4]);
    assert_eq!(decide(&t), Some(Action::Deselect { index: 4 }));
    t.act(&bot, Action::Deselect { index: 4 })
        .expect("deselect");
    assert_eq!(decide(&t), Some(Action::SetAside { end_turn: false }));
    // Near the target, everything that scores is taken and banked.
    t.arrange(|s| {
        s.selected.clear();
        s.players.get_mut(&bot).expect("seated").score = 2900;
    });
    assert_eq!(bot::plan(t.state(), &bot), Some((0b1_0001, true)));
    // A big turn total with few dice left is banked.
    t.arrange(|s| {
        let me = s.players.get_mut(&bot).expect("seated");
        me.score = 0;
        me.round_score = 600;
        s.dice = vec![1, 3, 4];
    });
    assert_eq!(bot::plan(t.state(), &bot), Some((0b1, true)));
    // Busted: nothing to do.
    t.arrange(|s| s.busted = true);
    assert_eq!(decide(&t), None);
    assert!(t.bot_step().is_none());
}

/// Every action of the discrete action space a client could send, for `turn_no`.
fn action_space(turn_no: u32) -> Vec<Action> {
    let mut all = vec![Action::Start, Action::Roll, Action::Restart];
    for index in 0..=DICE {
        all.push(Action::Select { index });
        all.push(Action::Deselect { index });
    }
    all.push(Action::SetAside { end_turn: false });
    all.push(Action::SetAside { end_turn: true });
    all.push(Action::BustOver { turn_no });
    all
}

/// Rules that hold in every reachable state.
fn check_invariants(t: &Table, scores_before: &BTreeMap<PlayerId, u32>) {
    let s = t.state();
    match s.phase {
        Phase::Playing => {
            let turn = s.turn.as_ref().expect("someone is on turn");
            assert!(s.players.contains_key(turn));
            assert!(s.players.len() >= 2);
            assert!(s.players.values().all(|p| p.score < s.config.target));
        }
        Phase::Waiting | Phase::Over => {
            assert!(s.turn.is_none());
            assert!(s.dice.is_empty() && s.set_aside.is_empty());
        }
    }
    let seated: Vec<&PlayerId> = t.seats().ids().collect();
    assert_eq!(
        seated,
        s.players.keys().collect::<Vec<_>>(),
        "one player per seat"
    );
    if s.phase == Phase::Over
        && !s.forfeit
        && let Some(w) = &s.winner
        && let Some(p) = s.players.get(w)
    {
        assert!(p.score >= s.config.target);
    }
    assert!(s.selected.windows(2).all(|w| w[0] < w[1]));
    assert!(s.selected.iter().all(|&i| usize::from(i) < s.dice.len()));
    if s.dice.is_empty() {
        assert_eq!(
            usize::from(s.to_roll) + s.set_aside.len(),
            usize::from(DICE)
        );
    } else {
        assert_eq!(s.dice.len() + s.set_aside.len(), usize::from(DICE));
    }
    for (id, p) in &s.players {
        if s.turn.as_ref() != Some(id) {
            assert_eq!((p.round_score, p.turn_score), (0, 0), "{id} is not on turn");
        } else {
            assert_eq!(p.turn_score, score(&s.selected_faces()).points);
        }
        if let Some(before) = scores_before.get(id) {
            assert!(p.score >= *before, "scores never go down within a game");
        }
    }
    let bust_timers = t.timers().pending().len();
    assert_eq!(
        bust_timers,
        usize::from(s.busted && s.config.bust_delay_ms > 0)
    );
    let clock = t.seats().clock();
    assert_eq!(
        clock.is_some(),
        s.phase == Phase::Playing && !s.busted && s.config.turn_timeout_ms > 0
    );
    assert_eq!(
        clock.map(|c| &c.player),
        s.turn.as_ref().filter(|_| clock.is_some())
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random legal play, with leaves, disconnects and clocks: every legal action is accepted,
    /// every other action of the discrete space (by any seated player or an outsider) is
    /// refused without changing anything, and the invariants hold throughout.
    #[test]
    fn acceptance_is_exactly_membership_in_legal_actions(
        seed in any::<u64>(),
        seats in 2usize..=6,
        clock in prop::bool::ANY,
        bust_delay in prop::sample::select(vec![0u64, 2000]),
        choices in prop::collection::vec(any::<u32>(), 150),
    ) {
        let names = ["p0", "p1", "p2", "p3", "p4", "p5"];
        let config = Config {
            target: 1000,
            bust_delay_ms: bust_delay,
            turn_timeout_ms: if clock { 4000 } else { 0 },
            ..Config::default()
        };
        let (mut t, mut everyone) = table(config, &names[..seats], seed);
        everyone.push("outsider".into());
        let mut scores: BTreeMap<PlayerId, u32> = BTreeMap::new();
        for c in choices {
            // Every (player, action) pair: accepted exactly when legal.
            let space = action_space(t.state().turn_no);
            let mut legal_pairs = Vec::new();
            for who in &everyone {
                let legal = t.legal_actions(who);
                for a in &space {
                    let mut probe = t.clone();
                    let accepted = probe.act(who, a.clone());
                    prop_assert_eq!(accepted.is_ok(), legal.contains(a), "{} {:?} in {:?}", who, a, t.state());
                    if accepted.is_err() {
                        prop_assert_eq!(probe.state(), t.state(), "a refusal changes nothing");
                        prop_assert_eq!(probe.version(), t.version());
                    }
                }
                for a in legal {
                    prop_assert!(space.contains(&a));
                    legal_pairs.push((who.clone(), a));
                }
            }
            if t.state().phase == Phase::Playing {
                let turn = mover(&t);
                let legal = serde_json::to_value(t.legal_actions(&turn)).expect("serialise");
                prop_assert_eq!(&view(&t)["legal"], &legal);
            }
            let before_restart = t.state().round;
            let seated: Vec<PlayerId> = t.seats().ids().cloned().collect();
            let who = seated.get((c as usize / 40) % seated.len().max(1)).cloned();
            match (c % 40, who) {
                // Now and then someone leaves, drops or the clock runs on.
                (0, Some(who)) if seated.len() > 2 => {
                    t.leave(&who).expect("leave");
                }
                (1, Some(who)) => {
                    let up = t.seats().get(&who).is_some_and(|s| s.connected);
                    t.connection(&who, !up).expect("connection");
                }
                (2, _) => {
                    fire(&mut t);
                }
                _ if legal_pairs.is_empty() => {
                    prop_assert!(fire(&mut t) || seated.len() < 2, "stuck: {:?}", t.state());
                }
                _ => {
                    let (who, a) = legal_pairs[c as usize % legal_pairs.len()].clone();
                    t.act(&who, a).expect("legal actions are accepted");
                }
            }
            t.advance(250);
            if t.state().round != before_restart {
                scores.clear();
            }
            check_invariants(&t, &scores);
            scores = t.state().players.iter().map(|(k, p)| (k.clone(), p.score)).collect();
        }
        t.check_replay().expect("replays");
    }

    /// Bots alone always finish a game, and only ever propose legal actions.
    #[test]
    fn bots_always_finish(seed in any::<u64>(), seats in 2usize..=6) {
        let config = json!({"target": 2000});
        let mut t = Playtest::with_config(DiceGame, config, seed).expect("config");
        let bots: Vec<PlayerId> = (0..seats).map(|_| t.add_bot().expect("bot")).collect();
        t.act(&bots[0], Action::Start).expect("start");
        let mut bot_rng = GameRng::from_seed(seed ^ 1);
        let mut steps = 0;
        while t.state().phase == Phase::Playing {
            steps += 1;
            prop_assert!(steps < 5000, "a bot game took too long");
            let turn = mover(&t);
            match DiceGame.bot_move(t.state(), t.seats().get(&turn).expect("seated"), &mut bot_rng) {
                Some(m) => {
                    let legal = t.legal_actions(&turn);
                    prop_assert!(legal.contains(&m.action), "{:?} not in {:?}", m.action, legal);
                    t.act(&turn, m.action).expect("bot moves are legal");
                }
                None => prop_assert!(fire(&mut t), "nobody can act"),
            }
            check_invariants(&t, &BTreeMap::new());
        }
        let winner = t.state().winner.clone().expect("a winner");
        prop_assert!(t.state().players[&winner].score >= 2000);
    }
}
