use super::*;
use arbiter_engine::Timers;
use arbiter_engine::{Seat, Seats};
use proptest::prelude::*;

/// A room without the server: applies entries the way the engine does (to a copy, kept only on
/// success) and fires timers when told to.
#[derive(Clone)]
struct Table {
    state: State,
    rng: GameRng,
    timers: Timers<Action>,
    now: u64,
}

fn id(s: &str) -> PlayerId {
    s.into()
}

fn code(r: Result<(), GameError>) -> ErrorCode {
    r.expect_err("refused").code
}

impl Table {
    fn with(config: Config, players: &[&str], seed: u64) -> Self {
        let mut rng = GameRng::from_seed(seed);
        let mut timers = Timers::default();
        let state = DiceGame
            .setup(
                &config,
                &mut Ctx::new(&mut rng, 0, &mut timers, &mut Seats::default()),
            )
            .expect("config");
        let mut t = Self {
            state,
            rng,
            timers,
            now: 1_000,
        };
        for p in players {
            t.join(p).expect("seat");
        }
        t
    }

    fn new(players: &[&str]) -> Self {
        Self::with(Config::default(), players, 7)
    }

    /// Seated and started; the table is clear for the first roll.
    fn started(players: &[&str]) -> Self {
        let mut t = Self::new(players);
        t.act(players[0], Action::Start).expect("start");
        t
    }

    fn entry(
        &mut self,
        f: impl FnOnce(&mut State, &mut Ctx<'_, Action>) -> Result<(), GameError>,
    ) -> Result<(), GameError> {
        let mut copy = self.clone();
        let mut seats = Seats::default();
        let mut cx = Ctx::new(&mut copy.rng, self.now, &mut copy.timers, &mut seats);
        f(&mut copy.state, &mut cx)?;
        *self = copy;
        Ok(())
    }

    fn join(&mut self, who: &str) -> Result<(), GameError> {
        let p = Seat {
            number: 0,
            bot: false,
            connected: true,
            id: id(who),
            name: who.to_uppercase(),
        };
        self.entry(|s, cx| DiceGame.join(s, &p, cx))
    }

    fn leave(&mut self, who: &str) {
        self.entry(|s, cx| {
            DiceGame.leave(s, &Seat::stub(id(who)), cx);
            Ok(())
        })
        .expect("leave cannot fail");
    }

    fn connection(&mut self, who: &str, connected: bool) {
        self.entry(|s, cx| {
            DiceGame.connection(s, &id(who), connected, cx);
            Ok(())
        })
        .expect("connection cannot fail");
    }

    fn act(&mut self, who: &str, action: Action) -> Result<(), GameError> {
        self.act_as(&Actor::Player(id(who)), action)
    }

    fn act_as(&mut self, by: &Actor, action: Action) -> Result<(), GameError> {
        self.entry(|s, cx| DiceGame.apply(s, by, action, cx))
    }

    /// Fire the earliest pending timer, advancing the clock to it, the way the engine does:
    /// the timer is consumed even when the game refuses its action.
    fn fire(&mut self) -> bool {
        let Some(due) = self.timers.next_due() else {
            return false;
        };
        self.now = self.now.max(due);
        let timer = self.timers.pop_due(self.now).expect("due");
        let _ = self.act_as(&Actor::System, timer.action);
        true
    }

    fn mover(&self) -> String {
        self.state
            .turn
            .as_ref()
            .expect("a player on turn")
            .0
            .clone()
    }

    /// Pretend the player on turn rolled `faces`.
    fn rolled(&mut self, faces: &[u8]) {
        assert!(self.state.dice.is_empty(), "the table must be clear");
        let mut f = faces.to_vec();
        f.sort_unstable();
        self.state.dice = f;
    }

    fn player(&self, who: &str) -> &Player {
        &self.state.players[&id(who)]
    }

    fn view(&self) -> Value {
        DiceGame.view(&self.state, &Seats::default(), &Viewer::Spectator)
    }
}

#[test]
fn seating_start_and_late_joiners() {
    let mut t = Table::new(&["ann"]);
    assert_eq!(code(t.act("ann", Action::Start)), ErrorCode::InvalidMove);
    assert!(
        DiceGame
            .legal_actions(&t.state, &Seats::default(), &id("ann"))
            .is_empty()
    );
    t.join("ben").expect("second seat");
    assert_eq!(
        DiceGame.status(&t.state, &Seats::default()),
        Status::Waiting
    );
    assert_eq!(
        DiceGame.legal_actions(&t.state, &Seats::default(), &id("ben")),
        vec![Action::Start]
    );
    assert_eq!(code(t.act("eve", Action::Start)), ErrorCode::NotAPlayer);
    assert_eq!(code(t.act("ann", Action::Roll)), ErrorCode::InvalidMove);
    assert_eq!(code(t.act("ann", Action::Restart)), ErrorCode::InvalidMove);
    t.act("ben", Action::Start)
        .expect("any seated player starts");
    assert_eq!(t.state.phase, Phase::Playing);
    assert_eq!(
        DiceGame.status(&t.state, &Seats::default()),
        Status::Playing
    );
    assert!(t.state.turn.is_some());
    assert_eq!(t.state.round, 1);
    assert_eq!(code(t.act("ann", Action::Start)), ErrorCode::GameInProgress);
    assert_eq!(
        code(t.act("ann", Action::Restart)),
        ErrorCode::GameInProgress
    );
    let late = t.join("cat").expect_err("refused");
    assert_eq!(late.code, ErrorCode::JoinRefused);
    assert!(late.message.contains("started"));
    assert_eq!(t.state.players.len(), 2);

    let mut full = Table::new(&["a", "b", "c", "d", "e", "f"]);
    assert_eq!(full.join("g").expect_err("seven").code, ErrorCode::RoomFull);
    assert_eq!(full.player("f").order, 5);
}

#[test]
fn seats_go_round_in_join_order_from_a_random_first_player() {
    let mut firsts = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut t = Table::with(Config::default(), &["a", "b", "c"], seed);
        t.act("a", Action::Start).expect("start");
        let first = t.mover();
        firsts.insert(first.clone());
        // Bank a single 1 each turn: the turn goes a → b → c → a from wherever it began.
        let order = ["a", "b", "c"];
        let mut at = order.iter().position(|p| *p == first).expect("seated");
        for _ in 0..4 {
            assert_eq!(t.mover(), order[at]);
            t.rolled(&[1, 2, 3, 3, 4, 6]);
            let who = t.mover();
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
    let mut t = Table::started(&["ann", "ben"]);
    let p = t.mover();
    let other = if p == "ann" { "ben" } else { "ann" };
    assert_eq!(
        DiceGame.legal_actions(&t.state, &Seats::default(), &id(&p)),
        vec![Action::Roll]
    );
    assert!(
        DiceGame
            .legal_actions(&t.state, &Seats::default(), &id(other))
            .is_empty()
    );
    assert_eq!(code(t.act(other, Action::Roll)), ErrorCode::NotYourTurn);
    assert_eq!(
        code(t.act(&p, Action::Select { index: 0 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&p, Action::SetAside { end_turn: false })),
        ErrorCode::InvalidMove
    );

    t.rolled(&[1, 1, 3, 3, 5, 5]);
    let before = t.state.clone();
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
    assert_eq!(t.state, before, "refusals change nothing");

    // A 3 does not score: the selection cannot be set aside.
    t.act(&p, Action::Select { index: 2 }).expect("select a 3");
    assert_eq!(t.player(&p).turn_score, 0);
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
    assert_eq!(t.player(&p).turn_score, 100);
    assert_eq!(
        t.view()["selection"],
        json!({"points": 100, "valid": false})
    );
    t.act(&p, Action::Deselect { index: 2 })
        .expect("deselect the 3");
    assert_eq!(t.view()["selection"], json!({"points": 100, "valid": true}));
    assert_eq!(
        DiceGame.legal_actions(&t.state, &Seats::default(), &id(&p)),
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
    assert_eq!(t.state.set_aside, vec![1]);
    assert_eq!((t.state.to_roll, t.state.dice.len()), (5, 0));
    assert_eq!(t.player(&p).round_score, 100);
    assert_eq!(t.player(&p).turn_score, 0);
    assert_eq!(t.mover(), p);

    t.act(&p, Action::Roll).expect("roll the other five");
    assert_eq!(t.state.dice.len(), 5);
    assert!(t.state.dice.windows(2).all(|w| w[0] <= w[1]), "ascending");
    assert_eq!(
        t.state.last_roll.as_ref().map(|r| r.faces.clone()),
        Some(t.state.dice.clone())
    );
}

#[test]
fn banking_ends_the_turn_and_keeps_the_points() {
    let mut t = Table::started(&["ann", "ben"]);
    let p = t.mover();
    t.rolled(&[1, 1, 3, 3, 5, 5]);
    for index in [0, 1, 4] {
        t.act(&p, Action::Select { index }).expect("select");
    }
    t.act(&p, Action::SetAside { end_turn: true })
        .expect("bank");
    assert_eq!(t.player(&p).score, 250);
    assert_eq!(t.player(&p).round_score, 0);
    assert_ne!(t.mover(), p);
    assert!(t.state.dice.is_empty() && t.state.set_aside.is_empty());
    assert_eq!(t.state.to_roll, DICE);
    assert_eq!(t.state.turn_no, 2);
}

#[test]
fn hot_dice_give_all_six_back() {
    let mut t = Table::started(&["ann", "ben"]);
    let p = t.mover();
    t.rolled(&[1, 5, 2, 2, 2, 5]);
    for index in [0, 1, 2, 3] {
        t.act(&p, Action::Select { index }).expect("select");
    }
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("set aside 1 + 2 2 2");
    assert_eq!(t.state.to_roll, 2);
    t.rolled(&[5, 1]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.act(&p, Action::Select { index: 1 }).expect("select");
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("hot dice");
    assert!(t.state.hot_dice);
    assert!(t.state.set_aside.is_empty());
    assert_eq!(t.state.to_roll, 6);
    assert_eq!(t.player(&p).round_score, 450);
    t.act(&p, Action::Roll).expect("all six again");
    assert_eq!(t.state.dice.len(), 6);
    assert!(!t.state.hot_dice);
}

/// A table whose player on turn has one die left and 1150 points at stake, seeded so that
/// rolling that die busts.
fn about_to_bust(config: Config) -> Table {
    for seed in 0..100 {
        let mut t = Table::with(config.clone(), &["ann", "ben"], seed);
        t.act("ann", Action::Start).expect("start");
        let p = t.mover();
        t.rolled(&[1, 1, 1, 2, 3, 5]);
        for index in [0, 1, 2, 5] {
            t.act(&p, Action::Select { index }).expect("select");
        }
        t.act(&p, Action::SetAside { end_turn: false })
            .expect("set aside");
        t.rolled(&[1, 4]);
        t.act(&p, Action::Select { index: 0 }).expect("select");
        t.act(&p, Action::SetAside { end_turn: false })
            .expect("set aside");
        assert_eq!(t.state.to_roll, 1);
        let mut probe = t.clone();
        probe.act(&p, Action::Roll).expect("roll");
        if probe
            .state
            .last_roll
            .as_ref()
            .is_some_and(|r| r.points == 0)
        {
            return t;
        }
    }
    panic!("no seed busts");
}

#[test]
fn a_bust_locks_the_player_and_passes_the_turn_after_the_delay() {
    let mut t = about_to_bust(Config::default());
    let p = t.mover();
    let other = if p == "ann" { "ben" } else { "ann" };
    assert_eq!(t.player(&p).round_score, 1150);
    t.act(&p, Action::Roll).expect("roll");
    assert!(t.state.busted);
    assert_eq!(t.state.last_roll.as_ref().map(|r| r.points), Some(0));
    assert_eq!(t.mover(), p, "the turn stays while the bust is shown");
    assert_eq!(
        t.player(&p).round_score,
        1150,
        "shown until the turn passes"
    );
    assert!(t.view()["legal"].as_array().is_some_and(Vec::is_empty));
    for action in [
        Action::Roll,
        Action::Select { index: 0 },
        Action::SetAside { end_turn: true },
    ] {
        let e = t.act(&p, action.clone()).expect_err("busted");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        assert!(e.message.contains("busted"), "{}", e.message);
        assert_eq!(code(t.act(other, action)), ErrorCode::NotYourTurn);
    }
    let turn_no = t.state.turn_no;
    assert_eq!(
        code(t.act(&p, Action::BustOver { turn_no })),
        ErrorCode::InvalidAction,
        "players cannot end a bust"
    );
    let timer = t.timers.pending()[0].clone();
    assert_eq!(timer.due_ms, t.now + 2000);
    assert_eq!(timer.action, Action::BustOver { turn_no });
    assert!(t.fire());
    assert!(!t.state.busted);
    assert_eq!(t.mover(), other);
    assert_eq!(t.player(&p).round_score, 0);
    assert_eq!(t.player(&p).score, 0, "nothing was banked");
    assert!(t.timers.pending().is_empty());
    // A late timer for that turn is refused and changes nothing.
    let before = t.state.clone();
    assert_eq!(
        code(t.act_as(&Actor::System, Action::BustOver { turn_no })),
        ErrorCode::InvalidMove
    );
    assert_eq!(t.state, before);
}

#[test]
fn a_zero_bust_delay_passes_the_turn_at_once() {
    let config = Config {
        bust_delay_ms: 0,
        ..Config::default()
    };
    let mut t = about_to_bust(config);
    let p = t.mover();
    t.act(&p, Action::Roll).expect("roll");
    assert_ne!(t.mover(), p);
    assert!(!t.state.busted);
    assert_eq!(t.state.last_roll.as_ref().map(|r| r.points), Some(0));
    assert!(t.timers.pending().is_empty());
}

#[test]
fn banking_the_target_wins_and_a_restart_plays_again() {
    let config = Config {
        target: 500,
        ..Config::default()
    };
    let mut t = Table::with(config, &["ann", "ben", "cat"], 3);
    t.act("cat", Action::Start).expect("start");
    let p = t.mover();
    t.state.players.get_mut(&id(&p)).expect("seated").score = 400;
    t.rolled(&[1, 2, 3, 3, 4, 6]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.act(&p, Action::SetAside { end_turn: true })
        .expect("bank");
    assert_eq!(t.state.phase, Phase::Over);
    assert_eq!(t.state.winner, Some(id(&p)));
    assert_eq!(t.state.winner_name, Some(p.to_uppercase()));
    assert_eq!(t.state.turn, None);
    let Status::Finished { ranking } = DiceGame.status(&t.state, &Seats::default()) else {
        panic!("finished");
    };
    assert_eq!(ranking[0], vec![id(&p)]);
    assert_eq!(ranking.len(), 2, "the two others tie at 0");
    assert_eq!(code(t.act(&p, Action::Roll)), ErrorCode::GameOver);
    assert_eq!(code(t.act(&p, Action::Start)), ErrorCode::GameOver);
    assert_eq!(
        DiceGame.legal_actions(&t.state, &Seats::default(), &id("ann")),
        vec![Action::Restart]
    );
    t.join("dan").expect("a finished game takes newcomers");
    t.act("dan", Action::Restart).expect("restart");
    assert_eq!(t.state.phase, Phase::Playing);
    assert_eq!(t.state.round, 2);
    assert!(t.state.players.values().all(|pl| pl.score == 0));
    assert_eq!(t.state.winner, None);
}

#[test]
fn leaving_passes_the_turn_and_too_few_players_end_the_game() {
    let mut t = Table::started(&["ann", "ben", "cat"]);
    let p = t.mover();
    let order = ["ann", "ben", "cat"];
    let at = order.iter().position(|x| *x == p).expect("seated");
    t.rolled(&[1, 2, 2, 3, 4, 6]);
    t.act(&p, Action::Select { index: 0 }).expect("select");
    t.leave(&p);
    assert_eq!(t.mover(), order[(at + 1) % 3]);
    assert!(t.state.dice.is_empty() && t.state.selected.is_empty());
    assert_eq!(t.state.phase, Phase::Playing);
    // Someone not on turn leaves: only two were left, so the stayer wins by forfeit.
    let stayer = t.mover();
    let leaver = t
        .state
        .players
        .keys()
        .find(|k| k.0 != stayer)
        .cloned()
        .expect("two left");
    t.leave(&leaver.0);
    assert_eq!(t.state.phase, Phase::Over);
    assert!(t.state.forfeit);
    assert_eq!(t.state.winner, Some(id(&stayer)));
    assert!(
        DiceGame
            .legal_actions(&t.state, &Seats::default(), &id(&stayer))
            .is_empty()
    );

    let mut w = Table::new(&["ann", "ben"]);
    w.leave("ann");
    assert_eq!(w.state.phase, Phase::Waiting);
    assert_eq!(w.state.players.len(), 1);
}

#[test]
fn leaving_while_busted_passes_the_turn_and_drops_the_bust_timer() {
    let mut t = Table::started(&["ann", "ben", "cat"]);
    let p = t.mover();
    let order = ["ann", "ben", "cat"];
    let at = order.iter().position(|x| *x == p).expect("seated");
    // Force a bust by hand: the roll has been made and scored nothing.
    t.state.dice = vec![2, 2, 3, 4, 6, 6];
    t.state.busted = true;
    t.leave(&p);
    assert_eq!(t.mover(), order[(at + 1) % 3]);
    assert!(!t.state.busted);
}

#[test]
fn the_turn_clock_banks_what_was_set_aside_and_skips_absent_players() {
    let config = Config {
        turn_timeout_ms: 5000,
        ..Config::default()
    };
    let mut t = Table::with(config, &["ann", "ben"], 11);
    t.act("ann", Action::Start).expect("start");
    let p = t.mover();
    let other = if p == "ann" { "ben" } else { "ann" };
    assert_eq!(t.state.turn_deadline_ms, Some(t.now + 5000));
    t.rolled(&[1, 1, 3, 3, 4, 6]);
    t.now += 1000;
    t.act(&p, Action::Select { index: 0 }).expect("select");
    assert_eq!(
        t.state.turn_deadline_ms,
        Some(t.now + 5000),
        "each action restarts the clock"
    );
    assert_eq!(t.timers.pending().len(), 1);
    t.act(&p, Action::SetAside { end_turn: false })
        .expect("set aside");
    // The player goes quiet: the clock banks the 100 set aside and passes the turn.
    assert!(t.fire());
    assert_eq!(t.player(&p).score, 100);
    assert_eq!(t.mover(), other);
    assert_eq!(t.state.turn_deadline_ms, Some(t.now + 5000));

    // The next player has disconnected: the view says so, and the turn is skipped.
    t.connection(other, false);
    assert_eq!(t.view()["players"][other]["connected"], json!(false));
    assert!(t.fire());
    assert_eq!(t.mover(), p);
    assert_eq!(t.player(other).score, 0);
    t.connection(other, true);
    assert_eq!(t.view()["players"][other]["connected"], json!(true));
    let turn_no = t.state.turn_no;
    assert_eq!(
        code(t.act(&p, Action::TurnTimeout { turn_no })),
        ErrorCode::InvalidAction
    );
}

#[test]
fn without_a_clock_no_turn_timer_is_set() {
    let mut t = Table::started(&["ann", "ben"]);
    let p = t.mover();
    t.act(&p, Action::Roll).expect("roll");
    assert!(t.state.turn_deadline_ms.is_none());
    assert!(
        t.timers
            .pending()
            .iter()
            .all(|x| matches!(x.action, Action::BustOver { .. }))
    );
}

#[test]
fn the_view_is_public_and_complete() {
    let mut t = Table::started(&["ann", "ben"]);
    let p = t.mover();
    t.rolled(&[1, 2, 3, 3, 4, 6]);
    let v = t.view();
    assert!(DiceGame.public_view());
    assert_eq!(
        v,
        DiceGame.view(&t.state, &Seats::default(), &Viewer::Player(id("ann")))
    );
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
        v["players"]["ann"],
        json!({"name": "ANN", "score": 0, "round_score": 0, "turn_score": 0,
               "connected": true, "order": 0})
    );
    assert_eq!(v["legal"][0], json!({"type": "select", "index": 0}));
    assert!(v.get("turn_timer").is_none(), "timer ids stay inside");
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
    let mut rng = GameRng::from_seed(1);
    let mut timers = Timers::default();
    let mut seats = Seats::default();
    let mut cx = Ctx::new(&mut rng, 0, &mut timers, &mut seats);
    for bad in [
        Config {
            target: 0,
            ..Config::default()
        },
        Config {
            bot_delay_ms: [900, 100],
            ..Config::default()
        },
    ] {
        assert_eq!(
            DiceGame.setup(&bad, &mut cx).expect_err("bad").code,
            ErrorCode::InvalidConfig
        );
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
    let mut t = Table::started(&["ann", "b_1"]);
    t.state.turn = Some(id("b_1"));
    let bot = id("b_1");
    let mut rng = GameRng::from_seed(1);
    let decide = |t: &Table| bot::decide(&t.state, &bot);
    assert_eq!(decide(&t), Some(Action::Roll));
    assert!(
        DiceGame
            .bot_move(&t.state, &Seats::default(), &id("ann"), &mut rng)
            .is_none()
    );
    let m = DiceGame
        .bot_move(&t.state, &Seats::default(), &bot, &mut rng)
        .expect("moves");
    assert!((700..=1500).contains(&m.delay_ms));

    // A full run: keep all six (hot dice) and roll on.
    t.rolled(&[1, 2, 3, 4, 5, 6]);
    assert_eq!(bot::plan(&t.state, &bot), Some((0b11_1111, false)));
    // Early in a turn, a lone 1 is kept and the 5 rerolled with the other four.
    t.state.dice = vec![1, 2, 3, 3, 5, 6];
    assert_eq!(bot::plan(&t.state, &bot), Some((0b1, false)));
    assert_eq!(decide(&t), Some(Action::Select { index: 0 }));
    t.act("b_1", Action::Select { index: 4 }).expect("select");
    assert_eq!(decide(&t), Some(Action::Select { index: 0 }));
    t.act("b_1", Action::Select { index: 0 }).expect("select");
    assert_eq!(decide(&t), Some(Action::Deselect { index: 4 }));
    t.act("b_1", Action::Deselect { index: 4 })
        .expect("deselect");
    assert_eq!(decide(&t), Some(Action::SetAside { end_turn: false }));
    // Near the target, everything that scores is taken and banked.
    t.state.selected.clear();
    t.state.players.get_mut(&bot).expect("seated").score = 2900;
    assert_eq!(bot::plan(&t.state, &bot), Some((0b1_0001, true)));
    // A big turn total with few dice left is banked.
    t.state.players.get_mut(&bot).expect("seated").score = 0;
    t.state.players.get_mut(&bot).expect("seated").round_score = 600;
    t.state.dice = vec![1, 3, 4];
    assert_eq!(bot::plan(&t.state, &bot), Some((0b1, true)));
    // Busted: nothing to do.
    t.state.busted = true;
    assert_eq!(decide(&t), None);
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
    all.push(Action::TurnTimeout { turn_no });
    all
}

/// Rules that hold in every reachable state.
fn check_invariants(t: &Table, scores_before: &BTreeMap<PlayerId, u32>) {
    let s = &t.state;
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
    let bust_timers = t
        .timers
        .pending()
        .iter()
        .filter(|x| matches!(x.action, Action::BustOver { .. }))
        .count();
    let turn_timers = t.timers.pending().len() - bust_timers;
    assert_eq!(
        bust_timers,
        usize::from(s.busted && s.config.bust_delay_ms > 0)
    );
    assert_eq!(
        turn_timers,
        usize::from(s.phase == Phase::Playing && !s.busted && s.config.turn_timeout_ms > 0)
    );
    assert_eq!(s.turn_deadline_ms.is_some(), turn_timers == 1);
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
        let mut t = Table::with(config, &names[..seats], seed);
        let mut everyone: Vec<&str> = names[..seats].to_vec();
        everyone.push("outsider");
        let mut scores: BTreeMap<PlayerId, u32> = BTreeMap::new();
        for c in choices {
            // Every (player, action) pair: accepted exactly when legal.
            let space = action_space(t.state.turn_no);
            let mut legal_pairs = Vec::new();
            for who in &everyone {
                let legal = DiceGame.legal_actions(&t.state, &Seats::default(), &id(who));
                for a in &space {
                    let mut probe = t.clone();
                    let accepted = probe.act(who, a.clone()).is_ok();
                    prop_assert_eq!(accepted, legal.contains(a), "{} {:?} in {:?}", who, a, t.state);
                }
                for a in legal {
                    prop_assert!(space.contains(&a));
                    legal_pairs.push((*who, a));
                }
            }
            if t.state.phase == Phase::Playing {
                let view = t.view();
                let turn = t.mover();
                let legal = serde_json::to_value(DiceGame.legal_actions(&t.state, &Seats::default(), &id(&turn)))
                    .expect("serialise");
                prop_assert_eq!(&view["legal"], &legal);
            }
            let before_restart = t.state.round;
            match c % 40 {
                // Now and then someone leaves, drops or the clock runs on.
                0 if t.state.players.len() > 2 => {
                    let seated: Vec<String> = t.state.players.keys().map(|k| k.0.clone()).collect();
                    let who = seated[(c as usize / 40) % seated.len()].clone();
                    t.leave(&who);
                }
                1 => {
                    let seated: Vec<String> = t.state.players.keys().map(|k| k.0.clone()).collect();
                    if let Some(who) = seated.get((c as usize / 40) % seated.len().max(1)) {
                        let now = t.state.players[&id(who)].connected;
                        t.connection(who, !now);
                    }
                }
                2 => {
                    t.fire();
                }
                _ if legal_pairs.is_empty() => {
                    prop_assert!(t.fire() || t.state.players.len() < 2, "stuck: {:?}", t.state);
                }
                _ => {
                    let (who, a) = legal_pairs[c as usize % legal_pairs.len()].clone();
                    t.act(who, a).expect("legal actions are accepted");
                }
            }
            t.now += 250;
            if t.state.round != before_restart {
                scores.clear();
            }
            check_invariants(&t, &scores);
            scores = t.state.players.iter().map(|(k, p)| (k.clone(), p.score)).collect();
        }
    }

    /// Bots alone always finish a game, and only ever propose legal actions.
    #[test]
    fn bots_always_finish(seed in any::<u64>(), seats in 2usize..=6) {
        let names = ["b_1", "b_2", "b_3", "b_4", "b_5", "b_6"];
        let config = Config { target: 2000, ..Config::default() };
        let mut t = Table::with(config, &names[..seats], seed);
        t.act("b_1", Action::Start).expect("start");
        let mut bot_rng = GameRng::from_seed(seed ^ 1);
        let mut steps = 0;
        while t.state.phase == Phase::Playing {
            steps += 1;
            prop_assert!(steps < 5000, "a bot game took too long");
            let turn = id(&t.mover());
            match DiceGame.bot_move(&t.state, &Seats::default(), &turn, &mut bot_rng) {
                Some(m) => {
                    let legal = DiceGame.legal_actions(&t.state, &Seats::default(), &turn);
                    prop_assert!(legal.contains(&m.action), "{:?} not in {:?}", m.action, legal);
                    t.act(&turn.0, m.action).expect("bot moves are legal");
                }
                None => prop_assert!(t.fire(), "nobody can act"),
            }
            check_invariants(&t, &BTreeMap::new());
        }
        let winner = t.state.winner.clone().expect("a winner");
        prop_assert!(t.state.players[&winner].score >= 2000);
    }
}
