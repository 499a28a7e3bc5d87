#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::Playtest;
use proptest::prelude::*;

type Table = Playtest<OweDrahn>;

/// The id [`Playtest::seat`] gives the player named `name`.
fn id(name: &str) -> PlayerId {
    PlayerId(format!("p_{name}"))
}

fn table_with(config: Config, players: &[&str]) -> Table {
    let config = serde_json::to_value(config).expect("json");
    let mut t = Playtest::with_config(OweDrahn, config, 7).expect("valid config");
    for p in players {
        t.seat(p).expect("seat");
    }
    t
}

fn table(players: &[&str]) -> Table {
    table_with(Config::default(), players)
}

/// Shortcuts by player name for the tests below.
trait Shortcuts {
    /// The refusal of `action` by `who`, checking that it changed nothing.
    fn code(&mut self, who: &str, action: Action) -> ErrorCode;
    /// Everyone readies up; the game starts.
    fn start(&mut self);
    /// Give the turn to `who` with the total at `total`.
    fn set(&mut self, who: &str, total: u8);
    /// `who` rolls `face`.
    fn roll(&mut self, who: &str, face: u8);
    /// The name of the player on turn.
    fn turn(&self) -> String;
    fn p(&self, who: &str) -> &Player;
    fn balance(&self, who: &str) -> i64;
}

impl Shortcuts for Table {
    fn code(&mut self, who: &str, action: Action) -> ErrorCode {
        let (state, version) = (self.state().clone(), self.version());
        let code = self.act(&id(who), action).expect_err("refused").code;
        assert_eq!(self.state(), &state, "a refusal changes nothing");
        assert_eq!(self.version(), version);
        code
    }

    fn start(&mut self) {
        for p in self.state().order.clone() {
            self.act(&p, Action::Ready { ready: true }).expect("ready");
        }
        assert_eq!(self.state().phase, Phase::Playing);
    }

    fn set(&mut self, who: &str, total: u8) {
        self.arrange(|s| {
            s.turn = Some(id(who));
            s.total = total;
        });
    }

    fn roll(&mut self, who: &str, face: u8) {
        let seed = (0..)
            .find(|&s| GameRng::from_seed(s).range_inclusive(1, 6) == u32::from(face))
            .expect("some seed");
        self.arrange_rng(GameRng::from_seed(seed));
        self.act(&id(who), Action::Roll).expect("roll");
    }

    fn turn(&self) -> String {
        let turn = self.state().turn.as_ref().expect("a turn");
        turn.as_str().trim_start_matches("p_").to_owned()
    }

    fn p(&self, who: &str) -> &Player {
        &self.state().players[&id(who)]
    }

    fn balance(&self, who: &str) -> i64 {
        let s = self.state();
        s.players
            .get(&id(who))
            .map_or_else(|| s.departed[&id(who)].balance_cents, |p| p.balance_cents)
    }
}

#[test]
fn a_game_starts_when_every_seated_player_and_at_least_two_are_ready() {
    let mut t = table(&["ann"]);
    t.act(&id("ann"), Action::Ready { ready: true })
        .expect("ready");
    assert_eq!(t.state().phase, Phase::Lobby, "one player is not a game");
    t.seat("bob").expect("seat");
    t.seat("cat").expect("seat");
    t.act(&id("bob"), Action::Ready { ready: true })
        .expect("ready");
    assert_eq!(t.state().phase, Phase::Lobby, "cat is not ready");
    t.act(&id("ann"), Action::Ready { ready: false })
        .expect("unready");
    t.act(&id("cat"), Action::Ready { ready: true })
        .expect("ready");
    assert_eq!(t.state().phase, Phase::Lobby, "ann took it back");
    t.act(&id("ann"), Action::Ready { ready: true })
        .expect("ready");
    assert_eq!(t.state().phase, Phase::Playing);
    assert_eq!(t.state().round, 1);
    assert!(t.state().players.values().all(|p| !p.ready && p.life == 6));
    let first = t.state().turn.clone().expect("someone starts");
    assert_eq!(t.state().event, Some(Event::Started { first }));
    assert_eq!(t.status(), Status::Playing);
}

#[test]
fn a_lobby_leaver_who_was_the_last_unready_player_lets_the_game_start() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.act(&id("ann"), Action::Ready { ready: true })
        .expect("ready");
    t.act(&id("bob"), Action::Ready { ready: true })
        .expect("ready");
    t.leave(&id("cat")).expect("leave");
    assert_eq!(t.state().phase, Phase::Playing);
}

#[test]
fn ready_is_for_seated_players_between_games() {
    let mut t = table(&["ann", "bob"]);
    // The original server crashed on a spectator's ready; here it is a plain refusal.
    assert_eq!(
        t.code("eve", Action::Ready { ready: true }),
        ErrorCode::NotAPlayer
    );
    t.start();
    assert_eq!(
        t.code("ann", Action::Ready { ready: true }),
        ErrorCode::GameInProgress,
        "re-readying mid-game does not restart it"
    );
}

#[test]
fn a_roll_adds_its_face_except_a_three_and_passes_the_turn() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.start();
    t.set("ann", 4);
    t.roll("ann", 3);
    assert_eq!(t.state().total, 4, "a 3 adds nothing");
    assert_eq!(t.turn(), "bob");
    t.roll("bob", 5);
    assert_eq!(t.state().total, 9);
    assert_eq!(t.turn(), "cat");
    t.roll("cat", 1);
    assert_eq!((t.state().total, t.turn().as_str()), (10, "ann"), "wraps");
    assert_eq!(t.state().rolls.len(), 3);
    assert_eq!(
        t.state().rolls[1],
        Roll {
            player: id("bob"),
            die: 5,
            total: 9,
            life_before: 6,
            busted: false
        }
    );
    assert_eq!(t.p("bob").stats.rolled_dice, [0, 0, 0, 0, 1, 0]);
}

#[test]
fn a_total_over_fifteen_costs_every_life_and_dead_players_are_skipped() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.start();
    t.set("bob", 15);
    t.roll("bob", 6);
    let last = t.state().rolls.last().expect("a roll").clone();
    assert_eq!((last.total, last.busted, last.life_before), (21, true, 6));
    assert_eq!(t.p("bob").life, 0);
    assert_eq!(t.state().total, 0, "the next player starts from 0");
    assert_eq!(t.balance("bob"), -100);
    assert_eq!(t.state().pot_cents, 100);
    assert_eq!(t.state().money_total(), 0);
    assert_eq!(t.turn(), "cat");
    t.roll("cat", 2);
    assert_eq!(t.turn(), "ann");
    t.roll("ann", 2);
    assert_eq!(t.turn(), "cat", "bob is dead and skipped");
    assert_eq!(t.code("bob", Action::Roll), ErrorCode::NotYourTurn);
    let s = &t.p("bob").stats;
    assert_eq!((s.rolled_21, s.max_life_losses, s.worst_rolls), (1, 1, 0));
}

#[test]
fn owing_drahn_follows_the_original_clients_rule() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    t.set("ann", 9);
    assert_eq!(t.code("bob", Action::OweDrahn), ErrorCode::NotYourTurn);
    assert_eq!(
        t.code("ann", Action::OweDrahn),
        ErrorCode::InvalidMove,
        "below 10"
    );
    t.arrange(|s| s.total = 10);
    t.arrange(|s| s.players.get_mut(&id("ann")).expect("ann").life = 1);
    assert_eq!(
        t.code("ann", Action::OweDrahn),
        ErrorCode::InvalidMove,
        "last life"
    );
    t.arrange(|s| s.players.get_mut(&id("ann")).expect("ann").life = 6);
    t.act(&id("ann"), Action::OweDrahn).expect("owe drahn");
    assert_eq!(t.p("ann").life, 5);
    assert!(t.p("ann").choosing);
    assert_eq!(t.state().total, 0);
    assert_eq!(t.turn(), "ann", "the turn does not pass");
    t.arrange(|s| s.total = 12);
    assert_eq!(
        t.code("ann", Action::OweDrahn),
        ErrorCode::InvalidMove,
        "already choosing"
    );
    assert_eq!(
        t.state().event,
        Some(Event::LostLife {
            player: id("ann"),
            life: 5
        })
    );
}

#[test]
fn the_chooser_hands_the_turn_to_a_living_player_or_rolls() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.start();
    t.set("ann", 12);
    assert_eq!(
        t.code("ann", Action::ChooseNext { player: id("cat") }),
        ErrorCode::InvalidMove,
        "only after owing drahn"
    );
    t.act(&id("ann"), Action::OweDrahn).expect("owe");
    t.arrange(|s| s.players.get_mut(&id("bob")).expect("bob").life = 0);
    assert_eq!(
        t.code("ann", Action::ChooseNext { player: id("bob") }),
        ErrorCode::InvalidMove,
        "dead"
    );
    assert_eq!(
        t.code("ann", Action::ChooseNext { player: id("eve") }),
        ErrorCode::InvalidMove,
        "unknown"
    );
    assert_eq!(
        t.code("cat", Action::ChooseNext { player: id("cat") }),
        ErrorCode::NotYourTurn
    );
    t.act(&id("ann"), Action::ChooseNext { player: id("cat") })
        .expect("choose");
    assert_eq!(t.turn(), "cat");
    assert!(!t.p("ann").choosing);

    // Choosing yourself, and rolling instead of choosing, are both allowed.
    t.set("cat", 11);
    t.act(&id("cat"), Action::OweDrahn).expect("owe");
    t.act(&id("cat"), Action::ChooseNext { player: id("cat") })
        .expect("self");
    assert_eq!(t.turn(), "cat");
    t.arrange(|s| s.total = 10);
    t.act(&id("cat"), Action::OweDrahn).expect("owe");
    t.roll("cat", 4);
    assert!(!t.p("cat").choosing);
    assert_eq!((t.state().total, t.turn().as_str()), (4, "ann"));
}

#[test]
fn the_last_player_alive_takes_the_pot_and_the_table_resets_after_a_while() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.act(&id("ann"), Action::SetMainBet { amount_cents: 250 })
        .expect("bet");
    t.start();
    t.set("ann", 15);
    t.roll("ann", 6);
    t.set("bob", 15);
    t.roll("bob", 1);
    assert_eq!(t.state().phase, Phase::Over);
    assert_eq!(t.state().winner, Some(id("cat")));
    assert_eq!(
        (t.balance("ann"), t.balance("bob"), t.balance("cat")),
        (-250, -250, 500)
    );
    assert_eq!((t.state().pot_cents, t.state().money_total()), (0, 0));
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![id("cat")], vec![id("bob")], vec![id("ann")]]
        }
    );
    assert_eq!(t.code("cat", Action::Roll), ErrorCode::GameOver);
    assert_eq!(t.state().reset_at_ms, Some(t.now_ms() + 5_000));
    assert_eq!(t.p("cat").stats.wins, 1);
    assert!(t.state().players.values().all(|p| p.stats.games == 1));

    t.advance(4_999);
    assert_eq!(t.state().phase, Phase::Over);
    t.advance(1);
    assert_eq!(t.state().phase, Phase::Lobby);
    assert_eq!(t.state().event, Some(Event::Reset));
    assert!(t.state().players.values().all(|p| p.life == 6 && !p.ready));
    assert_eq!(
        t.state().main_bet_cents,
        100,
        "the main bet goes back to 1.00"
    );
    assert_eq!(t.balance("cat"), 500, "balances carry over");
    assert!(t.state().rolls.is_empty() && t.state().turn.is_none());
    t.start();
    assert_eq!(t.state().round, 2);
}

#[test]
fn the_main_bet_is_set_between_games_within_bounds() {
    let mut t = table(&["ann", "bob"]);
    assert_eq!(t.state().main_bet_cents, 100);
    t.act(&id("bob"), Action::SetMainBet { amount_cents: 1050 })
        .expect("set");
    assert_eq!(t.state().main_bet_cents, 1050);
    for bad in [0, -500, MAX_BET_CENTS + 1] {
        assert_eq!(
            t.code("ann", Action::SetMainBet { amount_cents: bad }),
            ErrorCode::InvalidMove
        );
    }
    t.start();
    assert_eq!(
        t.code("ann", Action::SetMainBet { amount_cents: 200 }),
        ErrorCode::GameInProgress
    );
}

#[test]
fn side_bets_are_proposed_answered_and_cancelled_by_the_right_players() {
    let mut t = table(&["ann", "bob", "cat"]);
    let propose = |opponent: &str, amount_cents| Action::ProposeBet {
        opponent: id(opponent),
        amount_cents,
    };
    assert_eq!(t.code("ann", propose("ann", 100)), ErrorCode::InvalidMove);
    assert_eq!(t.code("ann", propose("eve", 100)), ErrorCode::InvalidMove);
    for bad in [0, -5, -1, MAX_BET_CENTS + 1] {
        assert_eq!(t.code("ann", propose("bob", bad)), ErrorCode::InvalidMove);
    }
    assert!(t.state().side_bets.is_empty());
    t.act(&id("ann"), propose("bob", 250)).expect("propose");
    assert_eq!(
        t.state().side_bets[&1],
        SideBet {
            challenger: id("ann"),
            opponent: id("bob"),
            amount_cents: 250,
            status: BetStatus::Pending,
            winner: None
        }
    );
    assert_eq!(
        t.code("cat", Action::AcceptBet { bet: 1 }),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        t.code("ann", Action::AcceptBet { bet: 1 }),
        ErrorCode::InvalidMove,
        "not your own"
    );
    assert_eq!(
        t.code("bob", Action::AcceptBet { bet: 9 }),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        t.code("bob", Action::CancelBet { bet: 1 }),
        ErrorCode::InvalidMove,
        "only the challenger cancels"
    );
    t.act(&id("bob"), Action::AcceptBet { bet: 1 })
        .expect("accept");
    assert_eq!(t.state().side_bets[&1].status, BetStatus::Accepted);
    assert_eq!(
        t.code("bob", Action::DeclineBet { bet: 1 }),
        ErrorCode::InvalidMove,
        "already answered"
    );
    assert_eq!(
        t.code("ann", Action::CancelBet { bet: 1 }),
        ErrorCode::InvalidMove,
        "an accepted bet stands"
    );
    t.act(&id("cat"), propose("ann", 100)).expect("propose");
    t.act(&id("ann"), Action::DeclineBet { bet: 2 })
        .expect("decline");
    assert_eq!(t.state().side_bets[&2].status, BetStatus::Declined);
    t.act(&id("cat"), propose("bob", 100)).expect("propose");
    t.act(&id("cat"), propose("ann", 300)).expect("propose");
    t.act(&id("cat"), Action::CancelBet { bet: 3 })
        .expect("cancel");
    assert_eq!(
        t.state().side_bets.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 4]
    );
    assert_eq!(
        t.code("cat", Action::CancelBet { bet: 3 }),
        ErrorCode::InvalidMove
    );
    t.start();
    assert_eq!(
        t.state().side_bets[&4].status,
        BetStatus::Lapsed,
        "unanswered bets lapse when the game starts"
    );
    assert_eq!(
        t.code("cat", propose("bob", 100)),
        ErrorCode::GameInProgress
    );
    assert_eq!(
        t.code("ann", Action::AcceptBet { bet: 4 }),
        ErrorCode::GameInProgress
    );
}

#[test]
fn side_bets_settle_on_each_death_and_the_money_stays_zero_sum() {
    // p1 and p2 both bet against p3; p1 also bets against p2.
    let mut t = table(&["p1", "p2", "p3"]);
    for (challenger, opponent, amount_cents) in
        [("p1", "p3", 250), ("p2", "p3", 400), ("p1", "p2", 100)]
    {
        t.act(
            &id(challenger),
            Action::ProposeBet {
                opponent: id(opponent),
                amount_cents,
            },
        )
        .expect("propose");
    }
    for (who, bet) in [("p3", 1), ("p3", 2), ("p2", 3)] {
        t.act(&id(who), Action::AcceptBet { bet }).expect("accept");
    }
    t.start();
    t.set("p3", 14);
    t.roll("p3", 4);
    assert_eq!(
        (t.balance("p1"), t.balance("p2"), t.balance("p3")),
        (250, 400, -750),
        "p3 pays both bets and the main bet"
    );
    assert_eq!(t.state().pot_cents, 100);
    assert_eq!(t.state().money_total(), 0);
    assert_eq!(t.state().side_bets[&3].status, BetStatus::Accepted);
    assert_eq!(t.state().side_bets[&1].winner, Some(id("p1")));
    t.set("p2", 15);
    t.roll("p2", 5);
    assert_eq!(t.state().phase, Phase::Over);
    assert_eq!(
        (t.balance("p1"), t.balance("p2"), t.balance("p3")),
        (250 + 100 + 200, 400 - 100 - 100, -750)
    );
    assert_eq!(t.state().money_total(), 0);
    assert!(
        t.state()
            .side_bets
            .values()
            .all(|b| b.status == BetStatus::Settled)
    );
    t.advance(5_000);
    assert!(t.state().side_bets.is_empty(), "decided bets are cleared");
}

#[test]
fn leaving_mid_game_counts_as_dying_and_the_balance_is_kept() {
    let mut t = table(&["ann", "bob", "cat"]);
    t.act(
        &id("cat"),
        Action::ProposeBet {
            opponent: id("ann"),
            amount_cents: 300,
        },
    )
    .expect("propose");
    t.act(&id("ann"), Action::AcceptBet { bet: 1 })
        .expect("accept");
    t.start();
    t.set("ann", 7);
    t.leave(&id("ann")).expect("leave");
    assert!(!t.state().players.contains_key(&id("ann")));
    assert_eq!(t.turn(), "bob", "the leaver's turn passes on");
    assert_eq!(t.balance("ann"), -400);
    assert_eq!(t.balance("cat"), 300);
    assert_eq!(t.state().money_total(), 0);
    assert_eq!(t.state().phase, Phase::Playing);
    t.leave(&id("cat")).expect("leave");
    assert_eq!(t.state().phase, Phase::Over);
    assert_eq!(t.state().winner, Some(id("bob")));
    assert_eq!(t.balance("bob"), 200);
    assert_eq!(t.state().money_total(), 0);
    // Coming back restores the balance.
    t.seat("ann").expect("a seat during the result");
    assert_eq!(t.balance("ann"), -400);
    assert!(!t.state().departed.contains_key(&id("ann")));
    assert_eq!(t.state().money_total(), 0);
}

#[test]
fn a_table_seats_twelve_and_holds_at_most_sixty_four_side_bets() {
    assert_eq!(OweDrahn.info().max_players, 12);
    let mut t = table(&["ann", "bob"]);
    let bet = |n: i64| Action::ProposeBet {
        opponent: id("bob"),
        amount_cents: 10 + n,
    };
    for n in 0..64 {
        t.act(&id("ann"), bet(n)).expect("room for the bet");
    }
    assert_eq!(t.state().side_bets.len(), MAX_SIDE_BETS);
    assert_eq!(t.code("ann", bet(64)), ErrorCode::InvalidMove);
    assert!(
        t.legal_actions(&id("ann"))
            .iter()
            .all(|a| !matches!(a, Action::ProposeBet { .. })),
        "a full table offers no new bet"
    );
    // A withdrawn bet makes room again.
    t.act(&id("ann"), Action::CancelBet { bet: 1 })
        .expect("cancel");
    t.act(&id("ann"), bet(64)).expect("room again");
}

#[test]
fn joining_is_refused_during_a_game_with_join_refused() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    let before = t.state().clone();
    let err = t.seat("cat").expect_err("refused");
    assert_eq!(err.code, ErrorCode::JoinRefused);
    assert_eq!(t.state(), &before);
    assert_eq!(
        t.seat("ann").expect_err("refused").code,
        ErrorCode::AlreadyInRoom,
        "one seat each (the engine's rule)"
    );
    assert_eq!(t.seats().len(), 2);
}

#[test]
fn a_disconnected_players_turn_is_skipped_after_the_timeout() {
    let config = Config {
        turn_timeout_ms: 10_000,
        ..Config::default()
    };
    let mut t = table_with(config, &["ann", "bob", "cat"]);
    t.start();
    t.set("bob", 5);
    t.connection(&id("ann"), false).expect("connection");
    assert!(t.seats().clock().is_none(), "not ann's turn");
    assert_eq!(
        t.view(&Viewer::Spectator)["players"]["p_ann"]["connected"],
        false
    );
    t.connection(&id("bob"), false).expect("connection");
    let deadline = t.now_ms() + 10_000;
    assert_eq!(t.view(&Viewer::Spectator)["turn_deadline_ms"], deadline);
    assert_eq!(
        t.seats().clock().map(|c| (&c.player, c.due_ms)),
        Some((&id("bob"), deadline))
    );
    t.advance(9_999);
    assert_eq!(t.turn(), "bob");
    t.advance(1);
    assert_eq!(t.state().event, Some(Event::Skipped { player: id("bob") }));
    assert_eq!(t.turn(), "cat");
    assert_eq!(t.state().total, 5, "a skip leaves the total alone");
    assert_eq!(t.p("bob").life, 5, "a skip costs a life");
    assert!(t.seats().clock().is_none());
    // Cat rolls; ann is away too, so her turn gets its own clock.
    t.roll("cat", 1);
    assert_eq!(t.turn(), "ann");
    assert_eq!(t.seats().clock().map(|c| &c.player), Some(&id("ann")));
    // She comes back in time: no skip.
    t.connection(&id("ann"), true).expect("connection");
    assert!(t.seats().clock().is_none());
    assert_eq!(t.view(&Viewer::Spectator)["turn_deadline_ms"], Value::Null);
    t.advance(20_000);
    assert_eq!(t.turn(), "ann");
    assert_eq!(t.p("ann").life, 6);
}

#[test]
fn an_absent_players_clock_runs_on_across_their_own_moves_and_restarts_with_a_new_turn() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    t.set("ann", 12);
    t.connection(&id("ann"), false).expect("connection");
    let due = t.seats().clock().map(|c| c.due_ms);
    t.advance(10_000);
    // An action that keeps the turn keeps the clock where it stands...
    t.act(&id("ann"), Action::OweDrahn).expect("owe");
    assert_eq!(t.seats().clock().map(|c| c.due_ms), due);
    // ...and handing the turn to yourself is a new turn with a full clock.
    t.act(&id("ann"), Action::ChooseNext { player: id("ann") })
        .expect("choose");
    assert_eq!(
        t.seats().clock().map(|c| c.due_ms),
        Some(t.now_ms() + 30_000)
    );
}

#[test]
fn a_skip_on_the_last_life_puts_the_absent_player_out() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    t.set("bob", 12);
    t.arrange(|s| s.players.get_mut(&id("bob")).expect("bob").life = 1);
    t.connection(&id("bob"), false).expect("connection");
    t.advance(30_000);
    assert_eq!(t.state().phase, Phase::Over);
    assert_eq!(t.state().winner, Some(id("ann")));
    assert_eq!((t.balance("ann"), t.balance("bob")), (100, -100));
    assert_eq!(t.state().deaths, vec![id("bob")]);
}

#[test]
fn timed_actions_cannot_be_sent_by_players() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    assert_eq!(t.code("ann", Action::Reset), ErrorCode::InvalidAction);
    let before = t.state().clone();
    let skip = serde_json::json!({"type": "skip_turn", "turn_no": 1});
    let err = t.act_json(&id("ann"), skip).expect_err("not an action");
    assert_eq!(err.code, ErrorCode::InvalidAction);
    assert_eq!(t.state(), &before);
}

#[test]
fn stats_count_faces_and_the_memorable_rolls() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    t.set("ann", 9);
    t.roll("ann", 6);
    assert_eq!(t.p("ann").stats.perfect_rolls, 1);
    t.set("ann", 15);
    t.roll("ann", 3);
    assert_eq!(t.p("ann").stats.luckiest_rolls, 1);
    t.set("ann", 10);
    t.roll("ann", 6);
    let s = t.p("ann").stats.clone();
    assert_eq!(s.worst_rolls, 1);
    assert_eq!(s.max_life_losses, 1);
    assert_eq!(s.rolled_21, 0);
    assert_eq!(s.rolled_dice, [0, 0, 1, 0, 0, 2]);
    assert_eq!((s.games, s.wins), (1, 0));
    assert_eq!(t.p("bob").stats.wins, 1);
}

#[test]
fn config_is_validated() {
    for bad in [
        Config {
            lives: 1,
            ..Config::default()
        },
        Config {
            main_bet_cents: 0,
            ..Config::default()
        },
        Config {
            turn_timeout_ms: 0,
            ..Config::default()
        },
    ] {
        let bad = serde_json::to_value(bad).expect("json");
        let refused = Playtest::with_config(OweDrahn, bad, 1).err().expect("bad");
        assert_eq!(refused.code, ErrorCode::InvalidConfig);
    }
    let c: Config = serde_json::from_str(r#"{"turn_timeout_ms": 500}"#).expect("partial");
    assert_eq!((c.turn_timeout_ms, c.lives), (500, 6));
    assert!(serde_json::from_str::<Config>(r#"{"speed": 1}"#).is_err());
}

#[test]
fn actions_parse_strictly() {
    let a: Action =
        serde_json::from_str(r#"{"type":"choose_next","player":"p_1"}"#).expect("parses");
    assert_eq!(a, Action::ChooseNext { player: id("1") });
    let a: Action = serde_json::from_str(r#"{"type":"owe_drahn"}"#).expect("parses");
    assert_eq!(a, Action::OweDrahn);
    assert!(serde_json::from_str::<Action>(r#"{"type":"ready"}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"type":"set_main_bet","amount":1}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"type":"accept_bet","bet":-1}"#).is_err());
}

#[test]
fn the_view_is_public_and_hides_timer_bookkeeping() {
    let mut t = table(&["ann", "bob"]);
    t.start();
    let v = t.view(&Viewer::Spectator);
    assert_eq!(v, t.view(&Viewer::Player(id("ann"))));
    assert_eq!(v["phase"], "playing");
    assert_eq!(v["players"]["p_ann"]["life"], 6);
    assert_eq!(v["players"]["p_ann"]["balance_cents"], 0);
    assert_eq!(v["players"]["p_ann"]["name"], "ann");
    assert_eq!(v["players"]["p_ann"]["connected"], true);
    assert!(v.get("turn_timer").is_none() && v.get("next_bet").is_none());
    assert!(OweDrahn.public_view() && OweDrahn.tracks_connections());
}

#[test]
fn the_bot_readies_answers_bets_and_weighs_the_risk() {
    let mut rng = GameRng::from_seed(3);
    let mut t = table(&["ann", "bot"]);
    let mv = |t: &Table, rng: &mut GameRng| {
        OweDrahn.bot_move(t.state(), t.seats().get(&id("bot")).expect("seated"), rng)
    };
    t.act(
        &id("ann"),
        Action::ProposeBet {
            opponent: id("bot"),
            amount_cents: 200,
        },
    )
    .expect("propose");
    t.act(
        &id("ann"),
        Action::ProposeBet {
            opponent: id("bot"),
            amount_cents: 201,
        },
    )
    .expect("propose");
    let m = mv(&t, &mut rng).expect("answers");
    assert_eq!(m.action, Action::AcceptBet { bet: 1 });
    assert!((700..=1500).contains(&m.delay_ms));
    t.act(&id("bot"), m.action).expect("legal");
    assert_eq!(
        mv(&t, &mut rng).expect("answers").action,
        Action::DeclineBet { bet: 2 }
    );
    t.act(&id("bot"), Action::DeclineBet { bet: 2 })
        .expect("legal");
    assert_eq!(
        mv(&t, &mut rng).expect("readies").action,
        Action::Ready { ready: true }
    );
    t.act(&id("bot"), Action::Ready { ready: true })
        .expect("legal");
    assert_eq!(mv(&t, &mut rng), None, "waits for the human");
    t.act(&id("ann"), Action::Ready { ready: true })
        .expect("ready");
    t.set("ann", 5);
    assert_eq!(mv(&t, &mut rng), None, "not its turn");
    t.set("bot", 9);
    assert_eq!(mv(&t, &mut rng).expect("plays").action, Action::Roll);
    t.set("bot", 13);
    assert_eq!(mv(&t, &mut rng).expect("plays").action, Action::OweDrahn);
    t.arrange(|s| s.players.get_mut(&id("bot")).expect("bot").life = 1);
    assert_eq!(
        mv(&t, &mut rng).expect("plays").action,
        Action::Roll,
        "no life to spare"
    );
    t.arrange(|s| s.players.get_mut(&id("bot")).expect("bot").life = 6);
    t.act(&id("bot"), Action::OweDrahn).expect("owe");
    assert_eq!(
        mv(&t, &mut rng).expect("chooses").action,
        Action::ChooseNext { player: id("ann") }
    );
    assert_eq!(bot::busting_faces(10), 1);
    assert_eq!(bot::busting_faces(15), 5);
}

#[test]
fn bots_alone_always_finish_their_games() {
    for seed in 0..40 {
        let mut t = Playtest::with_config(OweDrahn, Value::Null, seed).expect("setup");
        for _ in 0..4 {
            t.add_bot().expect("a seat");
        }
        let mut moves = 0;
        while t.state().round < 3 || t.state().phase != Phase::Over {
            match t.bot_step() {
                Some((_, played)) => {
                    played.expect("bots play legally");
                }
                None => t.advance(t.state().config.reset_delay_ms),
            }
            assert_eq!(t.state().money_total(), 0);
            moves += 1;
            assert!(moves < 2_000, "seed {seed}: no end in sight");
        }
        t.check_replay().expect("replays");
    }
}

/// Every action worth trying at this table, legal or not.
fn universe(state: &State) -> Vec<(PlayerId, Action)> {
    let mut ids: Vec<PlayerId> = state.order.clone();
    ids.push(id("ghost"));
    let mut acts = vec![
        Action::Roll,
        Action::OweDrahn,
        Action::Ready { ready: true },
        Action::Ready { ready: false },
        Action::SetMainBet { amount_cents: 0 },
        Action::SetMainBet {
            amount_cents: MAX_BET_CENTS + 1,
        },
    ];
    for amount_cents in SAMPLE_AMOUNTS {
        acts.push(Action::SetMainBet { amount_cents });
        for o in &ids {
            acts.push(Action::ProposeBet {
                opponent: o.clone(),
                amount_cents,
            });
        }
    }
    for o in &ids {
        acts.push(Action::ChooseNext { player: o.clone() });
        acts.push(Action::ProposeBet {
            opponent: o.clone(),
            amount_cents: -5,
        });
    }
    for bet in 0..state.next_bet + 1 {
        acts.extend([
            Action::AcceptBet { bet },
            Action::DeclineBet { bet },
            Action::CancelBet { bet },
        ]);
    }
    ids.iter()
        .flat_map(|p| acts.iter().map(move |a| (p.clone(), a.clone())))
        .collect()
}

#[derive(Debug, Clone)]
enum Step {
    /// Try the `n`th action of the universe (mostly legal ones, see below).
    Act(usize, bool),
    /// A seated player readies up (the game starts once all have).
    Ready(usize),
    Leave(usize),
    Join(u8),
    Connection(usize, bool),
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (any::<usize>(), any::<bool>()).prop_map(|(n, legal)| Step::Act(n, legal)),
        3 => any::<usize>().prop_map(Step::Ready),
        1 => any::<usize>().prop_map(Step::Leave),
        2 => (0u8..6).prop_map(Step::Join),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(n, c)| Step::Connection(n, c)),
        2 => prop_oneof![Just(1_000u64), Just(5_000), Just(30_000)].prop_map(Step::Wait),
    ]
}

/// The rules' invariants, and the game's players being exactly the engine's seats.
fn check_consistent(t: &Table) {
    let s = t.state();
    assert_eq!(s.money_total(), 0, "money is conserved");
    assert_eq!(s.order.len(), s.players.len());
    assert!(s.order.iter().all(|p| s.players.contains_key(p)));
    assert_eq!(t.seats().len(), s.players.len());
    assert!(t.seats().ids().all(|p| s.players.contains_key(p)));
    match s.phase {
        Phase::Playing => {
            let turn = s.turn.as_ref().expect("a turn while playing");
            assert!(s.players[turn].life > 0, "the player on turn is alive");
            assert!(s.alive().len() >= 2, "a game with one player left is over");
            assert!(s.total <= BUST_ABOVE);
            assert!(
                s.players
                    .iter()
                    .all(|(p, pl)| !pl.choosing || Some(p) == s.turn.as_ref())
            );
        }
        Phase::Lobby => {
            assert!(s.turn.is_none() && s.pot_cents == 0);
            assert!(s.players.values().all(|p| p.life == s.config.lives));
        }
        Phase::Over => {
            assert!(s.turn.is_none() && s.pot_cents == 0);
            assert!(s.reset_at_ms.is_some());
        }
    }
}

/// The `n`th seated player in turn order, if anyone is seated.
fn nth(t: &Table, n: usize) -> Option<PlayerId> {
    let order = &t.state().order;
    (!order.is_empty()).then(|| order[n % order.len()].clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_play_conserves_money_and_accepts_only_legal_actions(
        steps in proptest::collection::vec(step(), 1..250)
    ) {
        let mut t = table(&["p0", "p1", "p2"]);
        for s in steps {
            match s {
                Step::Act(n, prefer_legal) => {
                    let all = universe(t.state());
                    let legal: Vec<(PlayerId, Action)> = all
                        .iter()
                        .filter(|(p, a)| t.legal_actions(p).contains(a))
                        .cloned()
                        .collect();
                    let pool = if prefer_legal && !legal.is_empty() { &legal } else { &all };
                    let (p, a) = pool[n % pool.len()].clone();
                    let was_legal = t.legal_actions(&p).contains(&a);
                    let ok = t.act(&p, a.clone()).is_ok();
                    prop_assert_eq!(ok, was_legal, "{:?} by {} (legal: {})", a, p, was_legal);
                }
                Step::Ready(n) => {
                    if let Some(p) = nth(&t, n) {
                        let a = Action::Ready { ready: true };
                        let legal = t.legal_actions(&p).contains(&a);
                        prop_assert_eq!(t.act(&p, a).is_ok(), legal);
                    }
                }
                Step::Leave(n) => {
                    if let Some(p) = nth(&t, n) {
                        t.leave(&p).expect("seated");
                    }
                }
                Step::Join(k) => {
                    let _ = t.seat(&format!("p{k}"));
                }
                Step::Connection(n, c) => {
                    if let Some(p) = nth(&t, n) {
                        t.connection(&p, c).expect("seated");
                    }
                }
                Step::Wait(ms) => t.advance(ms),
            }
            check_consistent(&t);
        }
        prop_assert!(t.check_replay().is_ok());
    }
}

/// Who was dealt into which game, as the property test saw it start.
#[derive(Default)]
struct Games {
    round: u32,
    players: Vec<PlayerId>,
}

/// The books and the clock, checked at every version: the money adds up to zero, everyone
/// out of the running game (dead or gone) paid one main bet into the pot, and a
/// disconnected player's turn has a clock that will skip it.
fn check_books(t: &Table, games: &mut Games) {
    check_consistent(t);
    let s = t.state();
    match s.phase {
        Phase::Playing => {
            if games.round != s.round {
                assert!(s.deaths.is_empty());
                games.round = s.round;
                games.players = s.order.clone();
            }
            let out: Vec<&PlayerId> = games
                .players
                .iter()
                .filter(|p| s.players.get(*p).is_none_or(|pl| pl.life == 0))
                .collect();
            for p in &out {
                assert!(
                    s.deaths.contains(p),
                    "{p} is out of the game but never paid"
                );
            }
            assert_eq!(out.len(), s.deaths.len());
            let dead = i64::try_from(s.deaths.len()).unwrap();
            assert_eq!(
                s.pot_cents,
                s.main_bet_cents * dead,
                "one main bet per death"
            );
            let turn = s.turn.as_ref().expect("a turn");
            let away = t.seats().get(turn).is_some_and(|seat| !seat.connected);
            let clock = t.seats().clock().map(|c| &c.player);
            assert_eq!(
                clock,
                away.then_some(turn),
                "an absent player's turn, and only theirs, has a clock"
            );
        }
        Phase::Lobby | Phase::Over => assert!(t.seats().clock().is_none()),
    }
    for bet in s.side_bets.values() {
        assert_eq!(
            bet.status == BetStatus::Settled,
            bet.winner.is_some(),
            "a bet has a winner exactly when it is settled: {bet:?}"
        );
    }
}

#[derive(Debug, Clone)]
enum Happening {
    /// The `n`th legal action of anyone at the table.
    Act(usize),
    /// Every seated player readies up.
    AllReady,
    Leave(usize),
    /// The `n`th seated player's connection drops; the room releases the seat after the
    /// grace period unless they come back.
    Disconnect(usize),
    Reconnect(usize),
    Join(u8),
    /// Room time passes: skipped turns, resets and grace periods run out in time order.
    Wait(u64),
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        10 => any::<usize>().prop_map(Happening::Act),
        2 => Just(Happening::AllReady),
        2 => any::<usize>().prop_map(Happening::Leave),
        3 => any::<usize>().prop_map(Happening::Disconnect),
        1 => any::<usize>().prop_map(Happening::Reconnect),
        2 => (0u8..8).prop_map(Happening::Join),
        4 => prop_oneof![Just(1_000u64), Just(10_000), Just(30_000), Just(60_000)].prop_map(Happening::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn leaves_disconnects_grace_and_skipped_turns_at_any_point_keep_the_books(
        grace_ms in prop_oneof![Just(20_000u64), Just(45_000)],
        events in proptest::collection::vec(happening(), 1..250)
    ) {
        let mut t = table(&["p0", "p1", "p2"]);
        // Seats held for a dropped connection: (player, when the grace period ends).
        let mut grace: Vec<(PlayerId, u64)> = Vec::new();
        let mut games = Games::default();
        for e in events {
            match e {
                Happening::Act(n) => {
                    let legal: Vec<(PlayerId, Action)> = universe(t.state())
                        .into_iter()
                        .filter(|(p, a)| t.legal_actions(p).contains(a))
                        .collect();
                    if !legal.is_empty() {
                        let (p, a) = legal[n % legal.len()].clone();
                        prop_assert!(t.act(&p, a.clone()).is_ok(), "{:?} by {}", a, p);
                    }
                }
                Happening::AllReady => {
                    for p in t.state().order.clone() {
                        let _ = t.act(&p, Action::Ready { ready: true });
                        check_books(&t, &mut games);
                    }
                }
                Happening::Leave(n) => {
                    if let Some(p) = nth(&t, n) {
                        grace.retain(|(g, _)| *g != p);
                        t.leave(&p).expect("seated");
                    }
                }
                Happening::Disconnect(n) => {
                    if let Some(p) = nth(&t, n)
                        && grace.iter().all(|(g, _)| *g != p)
                    {
                        t.connection(&p, false).expect("seated");
                        grace.push((p, t.now_ms() + grace_ms));
                    }
                }
                Happening::Reconnect(n) => {
                    if !grace.is_empty() {
                        let (p, _) = grace.remove(n % grace.len());
                        t.connection(&p, true).expect("seated");
                    }
                }
                Happening::Join(k) => {
                    if let Ok(p) = t.seat(&format!("p{k}")) {
                        grace.retain(|(g, _)| *g != p);
                    }
                }
                Happening::Wait(ms) => {
                    // Every time here is in whole seconds: a second at a time, each timer,
                    // clock and end of a grace period comes on its own, in time order.
                    for _ in 0..ms / 1_000 {
                        t.advance(1_000);
                        check_books(&t, &mut games);
                        while let Some(i) = grace.iter().position(|(_, due)| *due <= t.now_ms()) {
                            let (p, _) = grace.remove(i);
                            t.leave(&p).expect("seated");
                            check_books(&t, &mut games);
                        }
                    }
                }
            }
            check_books(&t, &mut games);
        }
        prop_assert!(t.check_replay().is_ok());
    }
}
