//! Whole-table tests through [`Playtest`]: seating, blinds and the button, leavers, the
//! clock, chips, views, hand records, bots, and property tests over random legal play.
//! Players sit down by name (`a`) and are addressed by id (`p_a`).

#![allow(clippy::unwrap_used)]

use super::*;
use crate::poker::cards::{commitment, deck_from_seed, parse_card, parse_seed};
use arbiter_engine::Playtest;
use proptest::prelude::*;

/// A table driven through the engine's own entry path, with poker's shortcuts.
struct T {
    pt: Playtest<Poker>,
}

fn cfg() -> Config {
    Config {
        action_timeout_ms: 0,
        hand_delay_ms: 100,
        ..Config::default()
    }
}

impl T {
    fn new(config: Config, seed: u64) -> Self {
        let config = serde_json::to_value(config).unwrap();
        Self {
            pt: Playtest::with_config(Poker, config, seed).expect("setup"),
        }
    }

    fn state(&self) -> &State {
        self.pt.state()
    }

    fn now(&self) -> u64 {
        self.pt.now_ms()
    }

    /// Seat `name`, as player `p_<name>`.
    fn join(&mut self, name: &str) -> Result<(), GameError> {
        self.pt.seat(name).map(|_| ())
    }

    fn leave(&mut self, id: &str) {
        self.pt.leave(&id.into()).expect("seated");
    }

    fn act(&mut self, id: &str, a: Action) -> Result<(), GameError> {
        self.pt.act(&id.into(), a).map(|_| ())
    }

    /// Move time to the next deal or the end of the running clock, whichever is first;
    /// false when neither is pending.
    fn fire(&mut self) -> bool {
        let clock = self.pt.seats().clock().map(|c| c.due_ms);
        let Some(due) = [self.state().next_hand_ms, clock]
            .into_iter()
            .flatten()
            .min()
        else {
            return false;
        };
        self.pt.advance(due.saturating_sub(self.now()));
        true
    }

    fn hand(&self) -> &Hand {
        self.state().hand.as_ref().expect("a hand")
    }

    fn live(&self) -> bool {
        self.state().live_hand().is_some()
    }

    fn to_act(&self) -> Option<String> {
        let h = self.state().live_hand()?;
        h.to_act.map(|i| h.seats[i].player.0.clone())
    }

    fn view(&self, id: &str) -> Value {
        self.pt.view_of(&id.into())
    }

    fn conserved(&self) {
        let (at_table, bought, cashed) = chip_totals(self.state());
        assert_eq!(at_table + cashed, bought, "chips were created or lost");
    }

    /// Play the running hand out: the player to act checks or calls (folds if `fold`).
    fn play_out(&mut self, fold: bool) {
        while let Some(p) = self.to_act() {
            let a = if fold {
                Action::Fold {}
            } else {
                let l = self.state().legal(&p.as_str().into()).unwrap().0.unwrap();
                if l.check {
                    Action::Check {}
                } else {
                    Action::Call {}
                }
            };
            self.act(&p, a).expect("legal");
            self.conserved();
        }
    }
}

fn seat_of(t: &T, id: &str) -> u8 {
    t.state().players[&PlayerId::from(id)].seat
}

#[test]
fn hands_start_after_the_delay_once_two_players_sit() {
    let mut t = T::new(cfg(), 1);
    t.join("a").unwrap();
    assert_eq!(t.pt.status(), Status::Waiting);
    assert!(t.state().next_hand_ms.is_none());
    t.join("b").unwrap();
    assert_eq!(t.pt.status(), Status::Playing);
    let due = t.state().next_hand_ms.expect("a deal is scheduled");
    assert_eq!(due, t.now() + 100);
    assert_eq!(t.view("p_a")["next_hand_ms"], json!(due));
    t.pt.advance(99);
    assert!(!t.live(), "not before the delay");
    assert!(!t.live());
    t.pt.advance(1);
    assert!(t.live());
    assert_eq!(t.hand().number, 1);
    assert_eq!(
        t.view("p_a")["hand"]["commitment"],
        json!(t.hand().commitment)
    );
    t.conserved();
    t.pt.check_replay().unwrap();
}

#[test]
fn heads_up_the_button_posts_the_small_blind_and_acts_first() {
    for seed in 0..6 {
        let mut t = T::new(cfg(), seed);
        t.join("a").unwrap();
        t.join("b").unwrap();
        t.fire();
        let h = t.hand();
        let button = h.positions.button;
        let btn = h.seats.iter().find(|s| s.seat == button).unwrap();
        let other = h.seats.iter().find(|s| s.seat != button).unwrap();
        assert_eq!(h.sb_seat, Some(button));
        assert_eq!((btn.bet, other.bet), (5, 10));
        assert_eq!(t.to_act(), Some(btn.player.0.clone()));
        let (b, o) = (btn.player.0.clone(), other.player.0.clone());
        t.act(&b, Action::Call {}).unwrap();
        t.act(&o, Action::Check {}).unwrap();
        assert_eq!(
            t.to_act(),
            Some(o.clone()),
            "the big blind acts first on the flop"
        );
        t.play_out(true);
        t.fire();
        // The blinds swap for the next hand.
        let h = t.hand();
        assert_eq!(h.positions.button, seat_of(&t, &o));
        assert_eq!(t.to_act(), Some(o));
    }
}

#[test]
fn the_button_follows_the_dead_button_rule_when_players_leave() {
    let mut t = T::new(cfg(), 7);
    for p in ["a", "b", "c", "d", "e"] {
        t.join(p).unwrap();
    }
    t.fire();
    let first = t.hand().positions;
    t.play_out(true);
    // The last big blind leaves between hands.
    let bb_player = t
        .state()
        .players
        .iter()
        .find(|(_, p)| p.seat == first.bb)
        .map(|(id, _)| id.0.clone())
        .unwrap();
    t.leave(&bb_player);
    t.conserved();
    t.fire();
    let second = t.hand().positions;
    assert_eq!(
        second.sb, first.bb,
        "the small blind position is the old big blind"
    );
    assert_eq!(
        t.hand().sb_seat,
        None,
        "nobody is there: a dead small blind"
    );
    assert_eq!(second.button, first.sb);
    let seats: Vec<u8> = t.hand().seats.iter().map(|s| s.seat).collect();
    assert!(seats.contains(&second.bb) && second.bb != first.bb);
    assert_eq!(t.hand().pot(), 10, "only the big blind posted");
    t.play_out(true);
    // The next big blind moves on by one player; the old small blind has the button.
    t.fire();
    let third = t.hand().positions;
    assert_eq!(third.button, second.sb);
    assert_eq!(third.sb, second.bb);
    t.conserved();
}

#[test]
fn a_player_who_leaves_mid_hand_is_folded_and_removed_when_it_ends() {
    let mut t = T::new(cfg(), 3);
    for p in ["a", "b", "c"] {
        t.join(p).unwrap();
    }
    t.fire();
    let actor = t.to_act().unwrap();
    let bought = t.state().bought_in;
    t.leave(&actor);
    t.conserved();
    assert_eq!(
        t.state().players[&PlayerId::from(actor.as_str())].left,
        Some(actor[2..].to_owned()),
        "the leaver's name is kept until the hand ends"
    );
    assert!(!t.pt.seats().contains(&actor.as_str().into()));
    assert_ne!(t.to_act(), Some(actor.clone()), "the turn moved on");
    let i = t.hand().index_of_player(&actor.as_str().into()).unwrap();
    assert!(t.hand().seats[i].folded);
    let last = t.hand().actions.last().unwrap();
    assert!(last.auto && last.kind == history::ActionKind::Fold);
    // A leaver's chips stay in the pot; the rest of their stack is cashed out at hand end.
    t.play_out(false);
    assert!(
        !t.state()
            .players
            .contains_key(&PlayerId::from(actor.as_str()))
    );
    assert_eq!(t.state().cashed_out, 1_000 - t.hand().seats[i].total);
    assert_eq!(t.state().bought_in, bought);
    t.conserved();
    // Two players are left and the game goes on.
    assert!(t.fire());
    assert!(t.live());
    // A leave between hands cashes out at once; one player left means waiting.
    let h = t.hand().clone();
    t.play_out(true);
    let p = h.seats[0].player.0.clone();
    let stack = t.state().players[&PlayerId::from(p.as_str())].stack;
    let before = t.state().cashed_out;
    t.leave(&p);
    assert_eq!(t.state().cashed_out, before + stack);
    assert_eq!(t.pt.status(), Status::Waiting);
    t.conserved();
}

#[test]
fn the_last_opponent_leaving_ends_the_hand() {
    let mut t = T::new(cfg(), 5);
    t.join("a").unwrap();
    t.join("b").unwrap();
    t.fire();
    let waiting = t.to_act().unwrap();
    let other = if waiting == "p_a" { "p_b" } else { "p_a" };
    t.leave(other);
    assert!(t.hand().is_over());
    assert_eq!(t.state().hands_played, 1);
    let winner = &t.state().players[&PlayerId::from(waiting.as_str())];
    assert!(winner.stack > 1_000);
    t.conserved();
}

/// Every pot of the last finished hand has winners who took exactly its chips.
fn every_pot_was_paid(t: &T) {
    let record = t.state().history.last().expect("a finished hand");
    for pot in &record.pots {
        let paid: u64 = pot.winners.iter().map(|(_, a)| a).sum();
        assert_eq!(paid, pot.amount, "pot {pot:?} of hand {}", record.number);
    }
}

/// The player on `seat` in the running hand.
fn on_seat(t: &T, seat: u8) -> String {
    let h = t.hand();
    let s = h.seats.iter().find(|s| s.seat == seat);
    s.expect("someone on the seat").player.0.clone()
}

#[test]
fn when_both_blinds_leave_before_the_button_acts_the_button_takes_the_blinds() {
    for seed in 0..4 {
        let mut t = T::new(cfg(), seed);
        for p in ["a", "b", "c"] {
            t.join(p).unwrap();
        }
        t.fire();
        let pos = t.hand().positions;
        let (button, sb, bb) = (
            on_seat(&t, pos.button),
            on_seat(&t, pos.sb),
            on_seat(&t, pos.bb),
        );
        assert_eq!(
            t.to_act(),
            Some(button.clone()),
            "three-handed the button acts first"
        );
        t.leave(&sb);
        t.conserved();
        t.leave(&bb);
        assert!(t.hand().is_over());
        t.conserved();
        every_pot_was_paid(&t);
        // Folding, by leaving too, forfeits what was put in: nothing goes back to the big
        // blind, the button wins both blinds.
        assert_eq!(
            t.state().players[&PlayerId::from(button.as_str())].stack,
            1_015
        );
        assert_eq!(t.state().cashed_out, 995 + 990);
    }
}

#[test]
fn when_the_blinds_leave_and_under_the_gun_folds_or_times_out_the_button_takes_the_blinds() {
    for timeout in [false, true] {
        let config = Config {
            action_timeout_ms: 1_000,
            ..cfg()
        };
        let mut t = T::new(config, 11);
        for p in ["a", "b", "c", "d"] {
            t.join(p).unwrap();
        }
        t.fire();
        let pos = t.hand().positions;
        let (button, sb, bb) = (
            on_seat(&t, pos.button),
            on_seat(&t, pos.sb),
            on_seat(&t, pos.bb),
        );
        let utg = t.to_act().unwrap();
        t.leave(&sb);
        t.leave(&bb);
        t.conserved();
        if timeout {
            assert!(t.fire(), "the clock of under the gun runs out");
        } else {
            t.act(&utg, Action::Fold {}).unwrap();
        }
        assert!(t.hand().is_over(), "timeout {timeout}");
        t.conserved();
        every_pot_was_paid(&t);
        assert_eq!(
            t.state().players[&PlayerId::from(button.as_str())].stack,
            1_015
        );
    }
}

#[test]
fn a_big_blind_all_in_for_less_than_the_small_blind_leaves_nothing_to_decide() {
    let config = Config {
        action_timeout_ms: 1_000,
        ..cfg()
    };
    let mut checked = 0;
    for seed in 0..8 {
        let mut t = T::new(config.clone(), seed);
        t.join("a").unwrap();
        t.join("b").unwrap();
        // Make "a" short: 3 chips, less than the small blind.
        t.pt.arrange(|s| {
            let a = s.players.get_mut(&PlayerId::from("p_a")).unwrap();
            a.stack = 3;
            a.bought_in = 3;
            s.bought_in -= 997;
        });
        t.fire();
        if t.hand().positions.bb != seat_of(&t, "p_a") {
            continue;
        }
        checked += 1;
        // b posted the small blind of 5 against an all-in of 3: the 2 nobody can call go
        // back and the board runs out, with no decision for b and no clock to fold it.
        assert!(t.hand().is_over(), "seed {seed}: {:?}", t.hand().actions);
        assert!(t.hand().runout);
        t.conserved();
        every_pot_was_paid(&t);
        let ret = t
            .hand()
            .actions
            .iter()
            .find(|a| a.kind == history::ActionKind::Return)
            .expect("the uncalled part goes back");
        assert_eq!((ret.player.0.as_str(), ret.amount), ("p_b", 2));
        assert!(
            t.hand().actions.iter().all(|a| !a.auto),
            "nobody was acted for"
        );
        assert_eq!(t.hand().pots[0].amount, 6);
        let b = t.hand().seats[t.hand().index_of_player(&"p_b".into()).unwrap()].stack;
        assert!(b == 997 || b == 1_003 || b == 1_000, "b ends with {b}");
    }
    assert!(checked > 0, "no seed made a the big blind");
}

#[test]
fn the_clock_checks_or_folds_uses_the_time_bank_and_sits_the_player_out() {
    let config = Config {
        action_timeout_ms: 1_000,
        time_bank_ms: 500,
        ..cfg()
    };
    let mut t = T::new(config, 2);
    t.join("a").unwrap();
    t.join("b").unwrap();
    t.fire();
    let dealt_at = t.now();
    let first = t.to_act().unwrap();
    assert_eq!(
        t.view("p_a")["hand"]["deadline_ms"],
        json!(dealt_at + 1_000)
    );
    // The player acts in time: the clock moves to the next player.
    t.pt.advance(200);
    t.act(&first, Action::Call {}).unwrap();
    let second = t.to_act().unwrap();
    assert_eq!(t.view("p_a")["hand"]["deadline_ms"], json!(t.now() + 1_000));
    let clock = t.pt.seats().clock().unwrap();
    assert_eq!(clock.player.as_str(), second, "the first clock was stopped");
    // The second player lets the clock run: first the time bank, then a check for them.
    t.pt.advance(999);
    assert_eq!(
        t.hand().actions.len(),
        3,
        "nothing happens before the deadline"
    );
    t.pt.advance(1);
    assert_eq!(t.to_act(), Some(second.clone()));
    assert_eq!(t.view("p_a")["hand"]["deadline_ms"], json!(t.now() + 500));
    t.pt.advance(500);
    let last = t.hand().actions.last().unwrap().clone();
    assert_eq!(last.kind, history::ActionKind::Check);
    assert!(last.auto);
    let p = &t.state().players[&PlayerId::from(second.as_str())];
    assert_eq!(p.time_bank_ms, 0);
    assert!(p.timed_out);
    // On the flop the first to act is `second` again; with no bank left the clock folds.
    assert_eq!(t.to_act(), Some(second.clone()));
    t.act(&second, Action::Bet { amount: 20 }).unwrap();
    assert!(!t.state().players[&PlayerId::from(second.as_str())].timed_out);
    assert!(t.fire(), "first's clock runs out: the time bank starts");
    assert!(!t.hand().is_over());
    assert!(t.fire(), "the time bank runs out: the clock folds");
    assert!(t.hand().is_over());
    let folded = t
        .hand()
        .actions
        .iter()
        .rev()
        .find(|a| a.kind == history::ActionKind::Fold)
        .unwrap();
    assert!(folded.auto && folded.player.0 == first);
    // Timed out players sit out from the next hand.
    assert!(t.state().players[&PlayerId::from(first.as_str())].sitting_out);
    assert_eq!(t.pt.status(), Status::Waiting);
    assert!(t.state().next_hand_ms.is_none());
    t.act(&first, Action::SitIn {}).unwrap();
    assert!(t.state().next_hand_ms.is_some());
    t.conserved();
    t.pt.check_replay().unwrap();
}

#[test]
fn rebuys_and_top_ups_respect_the_buy_in_limits_between_hands() {
    let mut t = T::new(cfg(), 4);
    t.join("a").unwrap();
    t.join("b").unwrap();
    let code = |r: Result<(), GameError>| r.expect_err("refused").code;
    assert_eq!(
        code(t.act("p_a", Action::Rebuy { amount: 1_001 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act("p_a", Action::Rebuy { amount: 0 })),
        ErrorCode::InvalidMove
    );
    t.act("p_a", Action::Rebuy { amount: 500 }).unwrap();
    assert_eq!(t.state().players[&PlayerId::from("p_a")].stack, 1_500);
    t.act("p_a", Action::TopUp {}).unwrap();
    assert_eq!(t.state().players[&PlayerId::from("p_a")].stack, 2_000);
    assert_eq!(t.state().players[&PlayerId::from("p_a")].bought_in, 2_000);
    assert_eq!(code(t.act("p_a", Action::TopUp {})), ErrorCode::InvalidMove);
    assert_eq!(t.view("p_a")["legal"]["rebuy"], Value::Null);
    assert_eq!(
        t.view("p_b")["legal"]["rebuy"],
        json!({"min": 1, "max": 1_000})
    );
    t.fire();
    assert_eq!(
        code(t.act("p_b", Action::Rebuy { amount: 10 })),
        ErrorCode::GameInProgress
    );
    assert_eq!(t.view("p_b")["legal"]["rebuy"], Value::Null);
    // A player who busts must come back to at least the minimum buy-in.
    t.pt.arrange(|s| {
        s.players.get_mut(&PlayerId::from("p_b")).unwrap().stack = 0;
        s.hand = None;
    });
    assert_eq!(
        t.view("p_b")["legal"]["rebuy"],
        json!({"min": 400, "max": 2_000})
    );
    assert_eq!(
        code(t.act("p_b", Action::Rebuy { amount: 300 })),
        ErrorCode::InvalidMove
    );
    t.act("p_b", Action::Rebuy { amount: 400 }).unwrap();
}

#[test]
fn refusals_carry_stable_codes() {
    let mut t = T::new(cfg(), 9);
    t.join("a").unwrap();
    let code = |r: Result<(), GameError>| r.expect_err("refused").code;
    assert_eq!(code(t.act("p_a", Action::Check {})), ErrorCode::InvalidMove);
    assert_eq!(code(t.act("p_z", Action::Check {})), ErrorCode::NotAPlayer);
    assert_eq!(
        code(t.act("p_a", Action::NextHand {})),
        ErrorCode::InvalidAction
    );
    assert_eq!(
        code(
            t.pt.act_json(
                &"p_a".into(),
                json!({"type": "timeout", "hand": 1, "turn": 1})
            )
            .map(|_| ())
        ),
        ErrorCode::InvalidAction,
        "the clock is the engine's: there is no timeout action"
    );
    assert_eq!(code(t.act("p_a", Action::SitIn {})), ErrorCode::InvalidMove);
    t.join("b").unwrap();
    t.fire();
    let waiting = if t.to_act().unwrap() == "p_a" {
        "p_b"
    } else {
        "p_a"
    };
    assert_eq!(
        code(t.act(waiting, Action::Fold {})),
        ErrorCode::NotYourTurn
    );
    let mover = t.to_act().unwrap();
    assert_eq!(
        code(t.act(&mover, Action::Check {})),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&mover, Action::Bet { amount: 50 })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&mover, Action::Raise { amount: 15 })),
        ErrorCode::InvalidMove
    );
    for i in 0..9 {
        let id = format!("p{i}");
        let r = t.join(&id);
        if i < 7 {
            r.unwrap();
        } else {
            assert_eq!(code(r), ErrorCode::RoomFull);
        }
    }
    // A table with fewer seats than the engine's nine refuses the next player itself.
    let mut small = T::new(Config { seats: 2, ..cfg() }, 9);
    small.join("a").unwrap();
    small.join("b").unwrap();
    let before = small.pt.version();
    assert_eq!(code(small.join("c")), ErrorCode::RoomFull);
    assert_eq!(small.pt.version(), before, "a refused join changes nothing");
    assert!(!small.pt.seats().contains(&"p_c".into()));
    let bad = |v: Value| {
        assert!(
            serde_json::from_value::<Config>(v.clone()).is_ok(),
            "parses"
        );
        Playtest::with_config(Poker, v, 0)
            .err()
            .expect("invalid")
            .code
    };
    assert_eq!(bad(json!({"small_blind": 20})), ErrorCode::InvalidConfig);
    assert_eq!(bad(json!({"seats": 10})), ErrorCode::InvalidConfig);
    assert_eq!(bad(json!({"buy_in": 100})), ErrorCode::InvalidConfig);
    assert!(serde_json::from_value::<Config>(json!({"blinds": 1})).is_err());
}

#[test]
fn actions_parse_strictly() {
    let ok: Action = serde_json::from_value(json!({"type": "raise", "amount": 60})).unwrap();
    assert_eq!(ok, Action::Raise { amount: 60 });
    let ok: Action = serde_json::from_value(json!({"type": "all_in"})).unwrap();
    assert_eq!(ok, Action::AllIn {});
    assert!(serde_json::from_value::<Action>(json!({"type": "raise"})).is_err());
    assert!(serde_json::from_value::<Action>(json!({"type": "bet", "amount": -5})).is_err());
    assert!(serde_json::from_value::<Action>(json!({"type": "call", "amount": 5})).is_err());
}

/// Hole cards in a view that belong to someone other than `me`, outside `last_hand`.
fn foreign_cards(view: &Value, me: Option<&str>, hand: &Hand) -> Vec<String> {
    let mut v = view.clone();
    v["last_hand"] = Value::Null;
    let text = v.to_string();
    let mut leaks = Vec::new();
    for s in &hand.seats {
        if Some(s.player.0.as_str()) == me || s.shown {
            continue;
        }
        for c in card_names(&s.hole) {
            if text.contains(&format!("\"{c}\"")) {
                leaks.push(format!("{}:{c}", s.player.0));
            }
        }
        if view["players"][&s.player.0]["cards"] != Value::Null {
            leaks.push(format!("{}: cards field", s.player.0));
        }
    }
    leaks
}

#[test]
fn views_hide_other_hole_cards_and_showdown_reveals_only_shown_hands() {
    let mut t = T::new(cfg(), 21);
    for p in ["a", "b", "c"] {
        t.join(p).unwrap();
    }
    t.fire();
    let spectator = t.pt.view(&Viewer::Spectator);
    assert!(foreign_cards(&spectator, None, t.hand()).is_empty());
    assert_eq!(spectator["legal"], Value::Null);
    assert_eq!(spectator["you"], Value::Null);
    for p in ["p_a", "p_b", "p_c"] {
        let v = t.view(p);
        assert!(foreign_cards(&v, Some(p), t.hand()).is_empty());
        assert_eq!(v["players"][p]["cards"].as_array().unwrap().len(), 2);
        assert_eq!(v["you"], json!(p));
    }
    t.play_out(false);
    let h = t.hand().clone();
    assert!(h.is_over());
    assert!(h.seats.iter().any(|s| s.shown), "someone shows at showdown");
    for p in ["p_a", "p_b", "p_c"] {
        let v = t.view(p);
        assert!(foreign_cards(&v, Some(p), &h).is_empty());
        for s in &h.seats {
            let shown = v["players"][&s.player.0]["cards"] != Value::Null;
            assert_eq!(shown, s.shown || s.player.0 == p);
        }
        // The record shows the same: own and shown cards only.
        let rec = &v["last_hand"];
        for (k, s) in h.seats.iter().enumerate() {
            let hole = &rec["seats"][k]["hole"];
            assert_eq!(*hole != Value::Null, s.shown || s.player.0 == p);
        }
    }
}

#[test]
fn the_hand_record_lets_anyone_verify_the_deck() {
    let config = Config { ante: 1, ..cfg() };
    let mut t = T::new(config, 33);
    for p in ["a", "b", "c", "d"] {
        t.join(p).unwrap();
    }
    t.fire();
    let committed = t.view("p_a")["hand"]["commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(t.view("p_a")["last_hand"].is_null());
    t.play_out(false);
    let history = hand_history(t.state());
    assert_eq!(history.len(), 1);
    let rec = &history[0];
    assert_eq!(rec.commitment, committed);
    let seed = parse_seed(&rec.seed).expect("hex seed");
    assert_eq!(commitment(&seed), committed);
    let deck = deck_from_seed(&seed);
    // Dealing: one card at a time from the left of the button, twice round; then burn and
    // turn 3, burn and turn 1, burn and turn 1.
    let n = rec.seats.len();
    let start = rec
        .seats
        .iter()
        .position(|s| s.seat > rec.button)
        .unwrap_or(0);
    for k in 0..n {
        let s = &rec.seats[(start + k) % n];
        assert_eq!(s.hole, [deck[k], deck[n + k]]);
    }
    let b = 2 * n;
    assert_eq!(
        rec.board,
        vec![
            deck[b + 1],
            deck[b + 2],
            deck[b + 3],
            deck[b + 5],
            deck[b + 7]
        ]
    );
    let v = t.view("p_a")["last_hand"].clone();
    assert_eq!(v["seed"], json!(rec.seed));
    assert_eq!(v["board"].as_array().unwrap().len(), 5);
    assert_eq!(
        rec.actions
            .iter()
            .filter(|a| a.kind == history::ActionKind::Ante)
            .count(),
        4
    );
    let won: u64 = rec.seats.iter().map(|s| s.won).sum();
    let paid: u64 = rec.pots.iter().map(|p| p.amount).sum();
    assert_eq!(won, paid);
    let before: u64 = rec.seats.iter().map(|s| s.stack_before).sum();
    let after: u64 = rec.seats.iter().map(|s| s.stack_after).sum();
    assert_eq!(before, after);
    // History is bounded.
    let config = Config {
        history_len: 3,
        ..cfg()
    };
    let mut t = T::new(config, 1);
    t.join("a").unwrap();
    t.join("b").unwrap();
    for _ in 0..5 {
        t.fire();
        t.play_out(true);
    }
    let numbers: Vec<u64> = hand_history(t.state()).iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![3, 4, 5]);
}

#[test]
fn bots_play_legal_varied_poker_and_rebuy_when_busted() {
    let mut t = T::new(cfg(), 77);
    let bots: Vec<PlayerId> = (0..4).map(|_| t.pt.add_bot().unwrap()).collect();
    let names: Vec<&str> = t.pt.seats().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Bot", "Bot 2", "Bot 3", "Bot 4"],
        "the engine names bots"
    );
    let mut bot_rng = GameRng::from_seed(5);
    let mut steps = 0;
    while t.state().hands_played < 40 {
        steps += 1;
        assert!(steps < 20_000, "the table stalled");
        let mut acted = false;
        for b in &bots {
            if let Some(m) = Poker.bot_move(
                t.state(),
                t.pt.seats().get(b).expect("seated"),
                &mut bot_rng,
            ) {
                assert!((600..=1_500).contains(&m.delay_ms));
                t.act(b.as_str(), m.action.clone())
                    .unwrap_or_else(|e| panic!("bot {b} proposed {:?}: {e}", m.action));
                t.conserved();
                acted = true;
                break;
            }
        }
        if !acted {
            assert!(t.fire(), "nothing to do and no timer");
        }
    }
    let kinds: Vec<history::ActionKind> = hand_history(t.state())
        .iter()
        .flat_map(|r| r.actions.iter().map(|a| a.kind))
        .collect();
    use history::ActionKind as K;
    for k in [K::Fold, K::Check, K::Call, K::Bet, K::Raise] {
        assert!(kinds.contains(&k), "bots never chose {k:?}");
    }
}

#[test]
fn bots_raise_premium_hands_and_fold_trash_to_a_raise() {
    let mut t = T::new(cfg(), 8);
    for p in ["a", "b", "c"] {
        t.join(p).unwrap();
    }
    t.fire();
    let mut rng = GameRng::from_seed(1);
    let actor = t.to_act().unwrap();
    let i = t.hand().index_of_player(&actor.as_str().into()).unwrap();
    let set = |t: &mut T, i: usize, cards: [&str; 2]| {
        t.pt.arrange(|s| {
            let h = s.hand.as_mut().unwrap();
            h.seats[i].hole = cards.map(|c| parse_card(c).unwrap());
        });
    };
    set(&mut t, i, ["As", "Ad"]);
    for _ in 0..20 {
        let m = bot::decide(t.state(), &actor.as_str().into(), &mut rng).unwrap();
        assert!(
            matches!(m, Action::Raise { .. } | Action::AllIn {}),
            "aces: {m:?}"
        );
    }
    set(&mut t, i, ["7s", "2d"]);
    t.act(&actor, Action::Raise { amount: 40 })
        .expect("a raises first");
    let next = t.to_act().unwrap();
    let j = t.hand().index_of_player(&next.as_str().into()).unwrap();
    set(&mut t, j, ["7h", "2c"]);
    for _ in 0..20 {
        let m = bot::decide(t.state(), &next.as_str().into(), &mut rng).unwrap();
        assert_eq!(m, Action::Fold {});
    }
}

/// One step of random play chosen by `c`.
fn random_step(t: &mut T, c: u32, joined: &mut u32) {
    let ids: Vec<String> = t.pt.seats().ids().map(|p| p.0.clone()).collect();
    let pick = |n: usize| (c as usize / 64) % n.max(1);
    match c % 64 {
        0 if !ids.is_empty() => t.leave(&ids[pick(ids.len())]),
        1 | 2 => {
            *joined += 1;
            let _ = t.join(&format!("n{joined}"));
        }
        3 | 4 if !ids.is_empty() => {
            let p = &ids[pick(ids.len())];
            let options = t.pt.legal_actions(&p.as_str().into());
            let between: Vec<Action> = options
                .into_iter()
                .filter(|a| {
                    matches!(
                        a,
                        Action::Rebuy { .. }
                            | Action::TopUp {}
                            | Action::SitIn {}
                            | Action::SitOut {}
                    )
                })
                .collect();
            if !between.is_empty() {
                let a = between[(c as usize / 7) % between.len()].clone();
                t.act(p, a).expect("a listed action is legal");
            }
        }
        5 => {
            t.fire();
        }
        _ => match t.to_act() {
            Some(p) => {
                let (legal, _) = t.state().legal(&p.as_str().into()).unwrap();
                let l = legal.expect("the player to act has options");
                let mut options = vec![Action::Fold {}];
                if l.check {
                    options.extend([Action::Check {}, Action::Check {}]);
                }
                if l.call.is_some() {
                    options.extend([Action::Call {}, Action::Call {}, Action::Call {}]);
                }
                let span = |r: table::Range| r.min + u64::from(c / 3) % (r.max - r.min + 1);
                if let Some(r) = l.bet {
                    options.push(Action::Bet { amount: span(r) });
                }
                if let Some(r) = l.raise {
                    options.push(Action::Raise { amount: span(r) });
                }
                if l.all_in.is_some() {
                    options.push(Action::AllIn {});
                }
                let a = options[(c as usize / 5) % options.len()].clone();
                t.act(&p, a.clone())
                    .unwrap_or_else(|e| panic!("{p} {a:?} was listed as legal: {e}"));
            }
            None => {
                t.fire();
            }
        },
    }
}

fn check_invariants(t: &T) {
    t.conserved();
    for (id, p) in &t.state().players {
        assert!(
            p.stack <= t.state().bought_in,
            "{id}: more chips than were ever bought"
        );
    }
    let Some(h) = t.state().hand.as_ref() else {
        return;
    };
    let live: u64 = h.seats.iter().map(|s| s.total).sum();
    if !h.is_over() {
        assert_eq!(h.pot(), live);
    }
    let spectator = t.pt.view(&Viewer::Spectator);
    assert_eq!(foreign_cards(&spectator, None, h), Vec::<String>::new());
    for id in t.state().players.keys() {
        let v = t.pt.view_of(id);
        assert_eq!(
            foreign_cards(&v, Some(&id.0), h),
            Vec::<String>::new(),
            "{id}"
        );
        if !h.is_over() {
            assert!(
                h.seats.iter().all(|s| !s.shown),
                "nothing is shown before the end"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, ..ProptestConfig::default() })]

    #[test]
    fn random_legal_play_conserves_chips_and_hides_hole_cards(
        seed in any::<u64>(),
        players in 2u32..=6,
        ante in 0u64..=3,
        clock in any::<bool>(),
        choices in prop::collection::vec(any::<u32>(), 50..200),
    ) {
        let config = Config {
            ante,
            min_buy_in: 20,
            max_buy_in: 400,
            buy_in: 200,
            action_timeout_ms: if clock { 5_000 } else { 0 },
            time_bank_ms: if clock { 1_000 } else { 0 },
            ..cfg()
        };
        let mut t = T::new(config, seed);
        let mut joined = 0;
        for _ in 0..players {
            joined += 1;
            t.join(&format!("n{joined}")).unwrap();
        }
        for c in choices {
            random_step(&mut t, c, &mut joined);
            check_invariants(&t);
        }
    }
}

/// What happens to a poker room between two versions, in the property test below.
#[derive(Debug, Clone)]
enum Event {
    /// The player to act makes the `n`th of their legal moves.
    Bet(usize),
    /// The `n`th seated player leaves.
    Leave(usize),
    /// The `n`th seated player's connection drops: the room holds the seat for the grace
    /// period and then makes them leave.
    Disconnect(usize),
    /// The `n`th disconnected player is back within the grace period.
    Reconnect(usize),
    /// Someone new sits down.
    Join,
    /// The `n`th seated player rebuys, tops up, sits out or in, if they may.
    BetweenHands(usize, usize),
    /// Room time passes: action clocks, time banks, deals and grace periods run out.
    Wait(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        10 => any::<usize>().prop_map(Event::Bet),
        2 => any::<usize>().prop_map(Event::Leave),
        2 => any::<usize>().prop_map(Event::Disconnect),
        1 => any::<usize>().prop_map(Event::Reconnect),
        2 => Just(Event::Join),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(p, a)| Event::BetweenHands(p, a)),
        4 => prop_oneof![Just(300u64), Just(1_000), Just(2_500), Just(6_000)].prop_map(Event::Wait),
    ]
}

/// The books and the turn, checked at every version: no chip is created or lost, every pot
/// of every finished hand went to someone in full, and nobody is asked to act with nothing
/// to decide.
fn check_books(t: &T) {
    check_invariants(t);
    for record in &t.state().history {
        for pot in &record.pots {
            let paid: u64 = pot.winners.iter().map(|(_, a)| a).sum();
            assert_eq!(paid, pot.amount, "hand {}: pot {pot:?}", record.number);
        }
        let before: u64 = record.seats.iter().map(|s| s.stack_before).sum();
        let after: u64 = record.seats.iter().map(|s| s.stack_after).sum();
        assert_eq!(before, after, "hand {} lost or made chips", record.number);
    }
    if let Some(h) = t.state().live_hand()
        && let Some(i) = h.to_act
    {
        let me = &h.seats[i];
        let decision = h
            .seats
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && !o.folded && (!o.all_in || o.bet > me.bet));
        assert!(decision, "{} is asked with nothing to decide", me.player);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn leaves_disconnects_and_clocks_at_any_point_keep_the_books(
        seed in any::<u64>(),
        players in 2u32..=5,
        ante in 0u64..=2,
        short in any::<bool>(),
        grace_ms in prop_oneof![Just(500u64), Just(3_000)],
        events in prop::collection::vec(event(), 20..160),
    ) {
        let config = Config {
            ante,
            // Short stacks make all-ins for less than a blind common.
            min_buy_in: if short { 3 } else { 20 },
            buy_in: if short { 12 } else { 200 },
            max_buy_in: 400,
            action_timeout_ms: 1_000,
            time_bank_ms: 500,
            ..cfg()
        };
        let mut t = T::new(config, seed);
        let mut joined = 0;
        for _ in 0..players {
            joined += 1;
            t.join(&format!("n{joined}")).unwrap();
        }
        // Seats held for a dropped connection: (player, when the grace period ends).
        let mut grace: Vec<(String, u64)> = Vec::new();
        let seated = |t: &T| -> Vec<String> { t.pt.seats().ids().map(|p| p.0.clone()).collect() };
        for e in events {
            match e {
                Event::Bet(n) => {
                    if let Some(p) = t.to_act() {
                        let options: Vec<Action> = t.pt
                            .legal_actions(&p.as_str().into())
                            .into_iter()
                            .filter(|a| !matches!(a, Action::SitOut {} | Action::SitIn {} | Action::Rebuy { .. } | Action::TopUp {}))
                            .collect();
                        prop_assert!(!options.is_empty(), "{} to act without options", p);
                        let a = options[n % options.len()].clone();
                        t.act(&p, a.clone()).unwrap_or_else(|e| panic!("{p} {a:?}: {e}"));
                    }
                }
                Event::Leave(n) => {
                    let ids = seated(&t);
                    if !ids.is_empty() {
                        let p = ids[n % ids.len()].clone();
                        grace.retain(|(g, _)| *g != p);
                        t.leave(&p);
                    }
                }
                Event::Disconnect(n) => {
                    let ids = seated(&t);
                    if !ids.is_empty() {
                        let p = ids[n % ids.len()].clone();
                        if grace.iter().all(|(g, _)| *g != p) {
                            grace.push((p, t.now() + grace_ms));
                        }
                    }
                }
                Event::Reconnect(n) => {
                    if !grace.is_empty() {
                        grace.remove(n % grace.len());
                    }
                }
                Event::Join => {
                    joined += 1;
                    let _ = t.join(&format!("n{joined}"));
                }
                Event::BetweenHands(n, k) => {
                    let ids = seated(&t);
                    if !ids.is_empty() {
                        let p = ids[n % ids.len()].clone();
                        let options: Vec<Action> = t.pt
                            .legal_actions(&p.as_str().into())
                            .into_iter()
                            .filter(|a| matches!(a, Action::SitOut {} | Action::SitIn {} | Action::Rebuy { .. } | Action::TopUp {}))
                            .collect();
                        if !options.is_empty() {
                            let a = options[k % options.len()].clone();
                            t.act(&p, a).expect("a listed action is legal");
                        }
                    }
                }
                Event::Wait(ms) => {
                    let until = t.now() + ms;
                    // Timers and grace periods run out in time order, each a version.
                    loop {
                        let clock = t.pt.seats().clock().map(|c| c.due_ms);
                        let timer = [t.state().next_hand_ms, clock].into_iter().flatten().min().filter(|&d| d <= until);
                        let released = grace
                            .iter()
                            .enumerate()
                            .filter(|(_, (_, due))| *due <= until)
                            .min_by_key(|(_, (_, due))| *due)
                            .map(|(i, (_, due))| (i, *due));
                        match (timer, released) {
                            (Some(d), Some((_, g))) if d <= g => { t.fire(); }
                            (Some(_), None) => { t.fire(); }
                            (_, Some((i, g))) => {
                                let (p, _) = grace.remove(i);
                                t.pt.advance(g.saturating_sub(t.now()));
                                t.leave(&p);
                            }
                            (None, None) => break,
                        }
                        check_books(&t);
                    }
                    t.pt.advance(until - t.now());
                }
            }
            check_books(&t);
        }
    }
}
