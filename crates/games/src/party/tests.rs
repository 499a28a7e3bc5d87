use super::*;
use arbiter_engine::Playtest;

fn party() -> Playtest<Party> {
    Playtest::new(Party::new(crate::registry()))
}

fn code(r: Result<u64, GameError>) -> ErrorCode {
    r.expect_err("refused").code
}

#[test]
fn the_first_member_hosts_and_a_leaving_host_hands_over_in_seat_order() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    let cy = t.seat("cy").expect("seat");
    assert_eq!(t.state().host.as_ref(), Some(&ada));
    t.leave(&ada).expect("leave");
    assert_eq!(
        t.state().host.as_ref(),
        Some(&bob),
        "the next seat after the host's"
    );
    // A newcomer takes the lowest free seat (ada's, 0); bob (1) leaving hands over to cy (2).
    let dee = t.seat("dee").expect("seat");
    t.leave(&bob).expect("leave");
    assert_eq!(t.state().host.as_ref(), Some(&cy));
    assert_eq!(
        t.view(&Viewer::Spectator)["members"][dee.as_str()]["host"],
        false
    );
    t.check_replay().expect("replays");
}

#[test]
fn a_disconnected_host_keeps_the_role_through_the_grace_period_only() {
    let mut t = Playtest::with_config(
        Party::new(crate::registry()),
        json!({"host_grace_ms": 10_000}),
        1,
    )
    .expect("setup");
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    t.connection(&ada, false).expect("drop");
    t.advance(9_999);
    assert_eq!(
        t.state().host.as_ref(),
        Some(&ada),
        "still within the grace"
    );
    t.connection(&ada, true).expect("back");
    t.advance(60_000);
    assert_eq!(
        t.state().host.as_ref(),
        Some(&ada),
        "coming back cancelled the hand-over"
    );
    t.connection(&ada, false).expect("drop again");
    t.advance(10_000);
    assert_eq!(t.state().host.as_ref(), Some(&bob), "the grace ran out");
    assert!(t.state().host_away.is_none());
    t.check_replay().expect("replays");
}

#[test]
fn only_the_host_renames_hands_over_kicks_or_picks_and_refusals_change_nothing() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    let (before, v) = (t.state().clone(), t.version());
    let rename = Action::Rename {
        name: "Bob's".into(),
    };
    assert_eq!(code(t.act(&bob, rename)), ErrorCode::Forbidden);
    assert_eq!(
        code(t.act(&bob, Action::Transfer { to: bob.clone() })),
        ErrorCode::Forbidden
    );
    let kick = Action::Kick {
        player: ada.clone(),
        ban: true,
    };
    assert_eq!(code(t.act(&bob, kick)), ErrorCode::Forbidden);
    let pick = Action::Pick {
        game: "race".into(),
        config: Value::Null,
        external: None,
    };
    assert_eq!(code(t.act(&bob, pick)), ErrorCode::Forbidden);
    let away = Action::HostAway { host: ada.clone() };
    assert_eq!(
        code(t.act(&bob, away)),
        ErrorCode::InvalidAction,
        "a timer's action"
    );
    assert_eq!(
        code(t.act(&ada, Action::Transfer { to: ada.clone() })),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(t.act(&ada, Action::Rename { name: " ".into() })),
        ErrorCode::InvalidField
    );
    let rtl = Action::Rename {
        name: "a\u{202e}b".into(),
    };
    assert_eq!(code(t.act(&ada, rtl)), ErrorCode::InvalidField);
    assert_eq!((t.state(), t.version()), (&before, v));

    t.act(
        &ada,
        Action::Rename {
            name: "  Friday  ".into(),
        },
    )
    .expect("rename");
    assert_eq!(t.state().name, "Friday");
    t.act(&ada, Action::Transfer { to: bob.clone() })
        .expect("hand over");
    assert_eq!(t.state().host.as_ref(), Some(&bob));
    assert_eq!(
        code(t.act(&ada, Action::Rename { name: "x".into() })),
        ErrorCode::Forbidden
    );
    t.check_replay().expect("replays");
}

#[test]
fn a_kicked_member_is_removed_and_may_return_a_banned_one_may_not() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    let cy = t.seat("cy").expect("seat");
    t.act(
        &ada,
        Action::Kick {
            player: bob.clone(),
            ban: false,
        },
    )
    .expect("kick");
    assert!(!t.seats().contains(&bob), "removed by the engine");
    assert!(t.state().kicked.is_empty(), "and forgotten once gone");
    assert_eq!(t.seat("bob").expect("back again"), bob);

    t.act(
        &ada,
        Action::Kick {
            player: cy.clone(),
            ban: true,
        },
    )
    .expect("ban");
    assert!(!t.seats().contains(&cy));
    let e = t.seat("cy").expect_err("banned");
    assert_eq!(e.code, ErrorCode::JoinRefused);
    assert_eq!(
        code(t.act(
            &ada,
            Action::Kick {
                player: ada.clone(),
                ban: false
            }
        )),
        ErrorCode::InvalidMove
    );
    let stranger = Action::Kick {
        player: "p_nobody".into(),
        ban: false,
    };
    assert_eq!(code(t.act(&ada, stranger)), ErrorCode::InvalidMove);
    // Banning someone not here keeps them out too.
    t.act(
        &ada,
        Action::Kick {
            player: "p_troll".into(),
            ban: true,
        },
    )
    .expect("ban ahead");
    assert_eq!(
        t.seat("troll").expect_err("banned").code,
        ErrorCode::JoinRefused
    );
    t.check_replay().expect("replays");
}

#[test]
fn a_pick_is_checked_by_the_games_own_setup_and_clears_ready_flags() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    t.act(&bob, Action::Ready { ready: true }).expect("ready");
    assert!(t.state().ready.contains(&bob));
    let pick = |game: &str, config: Value| Action::Pick {
        game: game.into(),
        config,
        external: None,
    };
    assert_eq!(
        code(t.act(&ada, pick("chess", Value::Null))),
        ErrorCode::UnknownGame
    );
    assert_eq!(
        code(t.act(&ada, pick("party", Value::Null))),
        ErrorCode::UnknownGame
    );
    assert_eq!(
        code(t.act(&ada, pick("race", json!({"target": 0})))),
        ErrorCode::InvalidConfig
    );
    assert_eq!(
        code(t.act(&ada, pick("race", json!({"speed": 1})))),
        ErrorCode::InvalidConfig
    );
    assert!(t.state().ready.contains(&bob), "refusals change nothing");

    t.act(&ada, pick("race", json!({"target": 30})))
        .expect("pick");
    let chosen = t.state().pick.clone().expect("picked");
    assert_eq!(
        (chosen.game.as_str(), chosen.title.as_str()),
        ("race", "Race")
    );
    assert_eq!((chosen.min_players, chosen.max_players), (2, 4));
    assert!(t.state().ready.is_empty(), "a new pick asks everyone again");
    let view = t.view(&Viewer::Spectator);
    assert_eq!(view["pick"]["config"]["target"], 30);
    assert!(view.get("kicked").is_none());
    t.check_replay().expect("replays");
}

#[test]
fn an_external_game_is_picked_with_the_facts_the_server_adds() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let facts = ExternalPick {
        title: "Quiz".into(),
        min_players: 2,
        max_players: 8,
    };
    let pick = |game: &str, config: Value, external: Option<ExternalPick>| Action::Pick {
        game: game.into(),
        config,
        external,
    };
    assert_eq!(
        code(t.act(&ada, pick("ext:quiz", Value::Null, None))),
        ErrorCode::UnknownGame,
        "not registered: the server added nothing"
    );
    assert_eq!(
        code(t.act(&ada, pick("race", Value::Null, Some(facts.clone())))),
        ErrorCode::InvalidAction,
        "facts only come with an external game"
    );
    assert_eq!(
        code(t.act(&ada, pick("ext:quiz", json!([1]), Some(facts.clone())))),
        ErrorCode::InvalidConfig
    );
    assert!(t.state().pick.is_none(), "refusals change nothing");
    t.act(&ada, pick("ext:quiz", json!({"rounds": 3}), Some(facts)))
        .expect("pick");
    let chosen = t.state().pick.clone().expect("picked");
    assert_eq!(
        (
            chosen.game.as_str(),
            chosen.title.as_str(),
            chosen.max_players
        ),
        ("ext:quiz", "Quiz", 8)
    );
    t.check_replay().expect("replays");
}

fn launched(by: &PlayerId, game: &str, room: &str) -> Action {
    Action::Launched {
        by: by.clone(),
        game: game.into(),
        config: Value::Null,
        players: vec![by.clone()],
        room: room.into(),
        code: "ABCDE".into(),
    }
}

#[test]
fn the_servers_news_is_checked_against_the_party_as_it_is_now() {
    let mut t = party();
    let ada = t.seat("ada").expect("seat");
    let bob = t.seat("bob").expect("seat");
    assert_eq!(
        code(t.notice(launched(&ada, "race", "r_1"))),
        ErrorCode::InvalidMove,
        "nothing picked"
    );
    t.act(
        &ada,
        Action::Pick {
            game: "race".into(),
            config: Value::Null,
            external: None,
        },
    )
    .expect("pick");
    assert_eq!(
        code(t.notice(launched(&bob, "race", "r_1"))),
        ErrorCode::Forbidden,
        "bob is not the host"
    );
    assert_eq!(
        code(t.notice(launched(&ada, "tictactoe", "r_1"))),
        ErrorCode::InvalidMove,
        "another pick"
    );
    // Members cannot pass off news as the server's.
    assert_eq!(
        code(t.act(&ada, launched(&ada, "race", "r_1"))),
        ErrorCode::InvalidAction
    );

    t.notice(launched(&ada, "race", "r_1")).expect("launched");
    assert_eq!(
        t.state()
            .playing
            .as_ref()
            .map(|p| (p.round, p.room.as_str())),
        Some((1, "r_1"))
    );
    assert_eq!(
        code(t.notice(launched(&ada, "race", "r_2"))),
        ErrorCode::GameInProgress
    );
    let stray = Action::Finished {
        room: "r_9".into(),
        ranking: None,
    };
    assert_eq!(
        code(t.notice(stray)),
        ErrorCode::InvalidMove,
        "not the party's game"
    );
    assert!(t.state().playing.is_some());

    let ranking = Some(vec![vec![bob.clone()], vec![ada.clone()]]);
    t.notice(Action::Finished {
        room: "r_1".into(),
        ranking: ranking.clone(),
    })
    .expect("finished");
    assert!(t.state().playing.is_none());
    assert_eq!(t.state().history.len(), 1);
    assert_eq!(t.state().history[0].ranking, ranking);

    // The host may also give up on a game whose end never came (a restart lost the watch).
    t.notice(launched(&ada, "race", "r_2")).expect("round 2");
    assert_eq!(code(t.act(&bob, Action::Back)), ErrorCode::Forbidden);
    t.act(&ada, Action::Back).expect("back");
    let last = t.state().history.last().cloned().expect("recorded");
    assert_eq!((last.round, last.ranking), (2, None));
    assert_eq!(
        code(t.act(&ada, Action::Back)),
        ErrorCode::InvalidMove,
        "not playing"
    );
    t.check_replay().expect("replays");
}
