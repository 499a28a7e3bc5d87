use super::*;
use arbiter_engine::Playtest;
use proptest::prelude::*;

type Room = Playtest<TellIt>;

/// The id `Playtest::seat` gives the writer named `name`.
fn id(name: &str) -> PlayerId {
    PlayerId(format!("p_{name}"))
}

/// A room with `config` (`null` for the defaults) and `writers` seated.
fn room_with(config: Value, writers: &[&str]) -> Room {
    let mut r = Playtest::with_config(TellIt, config, 1).expect("valid config");
    for w in writers {
        r.seat(w).expect("seat");
    }
    r
}

fn room(writers: &[&str]) -> Room {
    room_with(Value::Null, writers)
}

fn act(r: &mut Room, who: &str, action: Action) -> Result<u64, GameError> {
    r.act(&id(who), action)
}

/// The code of a refusal, which must change nothing.
fn code(r: &mut Room, who: &str, action: Action) -> ErrorCode {
    let (before, v) = (r.state().clone(), r.version());
    let code = act(r, who, action).expect_err("refused").code;
    assert_eq!(*r.state(), before, "a refusal changes nothing");
    assert_eq!(r.version(), v);
    code
}

fn submit(r: &mut Room, who: &str, text: &str) {
    act(r, who, submit_action(text)).expect("submit");
}

fn queue(r: &Room, who: &str) -> Vec<u32> {
    r.state().writers[&id(who)].queue.clone()
}

fn view(r: &Room, who: Option<&str>) -> Value {
    who.map_or_else(|| r.view(&Viewer::Spectator), |w| r.view_of(&id(w)))
}

fn submit_action(text: &str) -> Action {
    Action::Submit {
        text: text.to_owned(),
    }
}

#[test]
fn starting_needs_enough_writers_and_happens_once() {
    let mut r = room(&["ann"]);
    assert_eq!(code(&mut r, "ann", Action::Start), ErrorCode::InvalidMove);
    assert_eq!(
        code(&mut r, "ann", submit_action("Hi.")),
        ErrorCode::InvalidMove
    );
    r.seat("bob").expect("seat");
    act(&mut r, "bob", Action::Start).expect("start");
    assert_eq!((r.state().phase, r.state().round), (Phase::Writing, 1));
    assert_eq!(r.status(), Status::Playing);
    assert_eq!(
        code(&mut r, "ann", Action::Start),
        ErrorCode::GameInProgress
    );
    assert_eq!(code(&mut r, "eve", Action::Start), ErrorCode::NotAPlayer);

    let mut big = room_with(json!({"min_players": 3}), &["ann", "bob"]);
    assert_eq!(code(&mut big, "ann", Action::Start), ErrorCode::InvalidMove);
}

/// Everyone begins a story, then everyone continues the head of their queue `rounds` times,
/// in seating order.
fn circulate(n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut r = room(&refs);
    act(&mut r, "w0", Action::Start).expect("start");
    for (i, w) in refs.iter().enumerate() {
        submit(&mut r, w, &format!("{w} begins"));
        let story = r.state().writers[&id(w)].story.expect("began a story");
        let next = refs[(i + 1) % n];
        assert_eq!(
            queue(&r, next).last(),
            Some(&story),
            "the story goes to {next}"
        );
    }
    assert!(refs.iter().all(|w| queue(&r, w).len() == 1));
    // A writer with nothing queued waits.
    for round in 1..n {
        for w in &refs {
            submit(&mut r, w, &format!("{w} adds in round {round}"));
        }
        assert!(refs.iter().all(|w| queue(&r, w).len() == 1), "n={n}");
    }
    // After n - 1 rounds every story is back with its owner, written by everyone in turn.
    for (i, w) in refs.iter().enumerate() {
        let own = r.state().writers[&id(w)].story.expect("own");
        assert_eq!(queue(&r, w), vec![own], "n={n}: {w} holds their own story");
        let authors: Vec<PlayerId> = r.state().stories[&own]
            .parts
            .iter()
            .map(|p| p.author.clone())
            .collect();
        let expected: Vec<PlayerId> = (0..n).map(|k| id(refs[(i + k) % n])).collect();
        assert_eq!(authors, expected);
    }
}

#[test]
fn stories_circulate_round_the_table() {
    for n in [2, 3, 5] {
        circulate(n);
    }
}

#[test]
fn a_writer_with_nothing_to_continue_waits() {
    let mut r = room(&["ann", "bob", "cat"]);
    act(&mut r, "ann", Action::Start).expect("start");
    submit(&mut r, "ann", "Once.");
    assert_eq!(
        code(&mut r, "ann", submit_action("Again.")),
        ErrorCode::InvalidMove
    );
    // Bob holds ann's story but begins his own first, as in the original.
    submit(&mut r, "bob", "Bob's start.");
    assert_eq!(queue(&r, "bob").len(), 1);
    submit(&mut r, "bob", "Bob continues ann's.");
    assert_eq!(queue(&r, "bob").len(), 0);
    assert_eq!(queue(&r, "cat").len(), 2);
    assert_eq!(r.state().stories[&1].parts.len(), 2);
}

#[test]
fn submissions_are_validated() {
    let mut r = room(&["ann", "bob"]);
    act(&mut r, "ann", Action::Start).expect("start");
    for bad in [
        String::new(),
        "   ".to_owned(),
        "a".repeat(501),
        "two\nlines".to_owned(),
        "bell\u{7}".to_owned(),
    ] {
        assert_eq!(
            code(&mut r, "ann", submit_action(&bad)),
            ErrorCode::InvalidMove
        );
    }
    submit(&mut r, "ann", &format!("  {}  ", "é".repeat(500)));
    assert_eq!(r.state().stories[&1].parts[0].text, "é".repeat(500));
}

#[test]
fn a_seat_sees_only_the_latest_part_at_the_head_of_its_own_queue() {
    let mut r = room(&["ann", "bob", "cat"]);
    act(&mut r, "ann", Action::Start).expect("start");
    let mut texts: Vec<String> = Vec::new();
    let order = ["ann", "bob", "cat"];
    for round in 0..4 {
        for w in order {
            let text = format!("secret-{w}-{round}");
            submit(&mut r, w, &text);
            texts.push(text);
            for viewer in order {
                let view = view(&r, Some(viewer)).to_string();
                let head_last = r.state().writers[&id(viewer)]
                    .queue
                    .first()
                    .and_then(|s| r.state().stories[s].parts.last())
                    .map(|p| p.text.clone());
                for t in &texts {
                    assert_eq!(
                        view.contains(t.as_str()),
                        Some(t) == head_last.as_ref(),
                        "{viewer} and {t}"
                    );
                }
            }
            let spectator = view(&r, None).to_string();
            assert!(texts.iter().all(|t| !spectator.contains(t.as_str())));
        }
    }
    let v = view(&r, Some("bob"));
    assert_eq!(v["me"]["next"], "continue");
    assert_eq!(v["me"]["current"]["last"]["author"], "p_ann");
    assert_eq!(v["me"]["current"]["last"]["author_name"], "ann");
    assert_eq!(v["writers"]["p_cat"]["queued"], 1);
    assert_eq!(v["writers"]["p_cat"]["name"], "cat");
    assert_eq!(v["final_stories"], Value::Null);
    for w in order {
        act(&mut r, w, Action::VoteFinish { vote: true }).expect("vote");
    }
    assert_eq!(r.state().phase, Phase::Ended);
    for viewer in [Some("ann"), None] {
        let view = view(&r, viewer).to_string();
        assert!(texts.iter().all(|t| view.contains(t.as_str())), "all shown");
    }
    let v = view(&r, None);
    let first = &v["final_stories"][0];
    assert_eq!(first["owner_name"], "ann");
    assert_eq!(first["turns"], 4);
    assert_eq!(
        first["text"],
        "secret-ann-0 secret-bob-1 secret-cat-2 secret-ann-3"
    );
    assert_eq!(first["words"], 4);
    assert_eq!(first["reading_ms"], 1200);
}

#[test]
fn finish_and_restart_need_every_connected_writer() {
    let mut r = room(&["ann", "bob", "cat"]);
    assert_eq!(
        code(&mut r, "ann", Action::VoteFinish { vote: true }),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(&mut r, "ann", Action::VoteRestart { vote: true }),
        ErrorCode::InvalidMove
    );
    act(&mut r, "ann", Action::Start).expect("start");
    submit(&mut r, "ann", "A story.");
    act(&mut r, "ann", Action::VoteFinish { vote: true }).expect("vote");
    act(&mut r, "bob", Action::VoteFinish { vote: true }).expect("vote");
    act(&mut r, "bob", Action::VoteFinish { vote: false }).expect("take back");
    act(&mut r, "bob", Action::VoteFinish { vote: true }).expect("vote");
    assert_eq!(r.state().phase, Phase::Writing, "cat has not voted");
    // Cat drops out: the connected writers are unanimous.
    r.connection(&id("cat"), false).expect("connection");
    assert_eq!(view(&r, None)["writers"]["p_cat"]["connected"], false);
    assert_eq!(r.state().phase, Phase::Ended);
    assert_eq!(r.state().event, Some(Event::Ended));
    assert_eq!(
        r.status(),
        Status::Finished {
            ranking: vec![vec![id("ann"), id("bob"), id("cat")]]
        }
    );
    assert_eq!(
        code(&mut r, "ann", submit_action("More.")),
        ErrorCode::GameOver
    );
    assert_eq!(
        code(&mut r, "ann", Action::VoteFinish { vote: true }),
        ErrorCode::GameOver
    );
    assert_eq!(code(&mut r, "ann", Action::Start), ErrorCode::GameOver);
    r.connection(&id("cat"), true).expect("connection");
    act(&mut r, "ann", Action::VoteRestart { vote: true }).expect("vote");
    act(&mut r, "bob", Action::VoteRestart { vote: true }).expect("vote");
    assert_eq!(r.state().phase, Phase::Ended);
    act(&mut r, "cat", Action::VoteRestart { vote: true }).expect("vote");
    assert_eq!(r.state().phase, Phase::Waiting);
    assert!(r.state().stories.is_empty() && r.state().restart_votes.is_empty());
    assert!(
        r.state()
            .writers
            .values()
            .all(|w| w.queue.is_empty() && w.story.is_none())
    );
    act(&mut r, "cat", Action::Start).expect("again");
    assert_eq!(r.state().round, 2);
}

#[test]
fn a_majority_of_the_others_votes_a_writer_out_and_their_stories_move_on() {
    let mut r = room(&["ann", "bob", "cat", "dan"]);
    let kick = |p: &str, vote| Action::VoteKick {
        player: id(p),
        vote,
    };
    assert_eq!(
        code(&mut r, "ann", kick("ann", true)),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        code(&mut r, "ann", kick("eve", true)),
        ErrorCode::InvalidMove
    );
    act(&mut r, "ann", Action::Start).expect("start");
    for w in ["ann", "bob", "cat", "dan"] {
        submit(&mut r, w, &format!("{w} begins."));
    }
    submit(&mut r, "ann", "ann continues dan's.");
    // Bob now holds ann's story and dan's.
    assert_eq!(queue(&r, "bob"), vec![1, 4]);
    act(&mut r, "ann", kick("bob", true)).expect("vote");
    act(&mut r, "ann", kick("bob", false)).expect("take back");
    act(&mut r, "cat", kick("bob", true)).expect("vote");
    assert!(
        r.state().writers.contains_key(&id("bob")),
        "1 of 3 is no majority"
    );
    assert_eq!(
        view(&r, None)["writers"]["p_bob"]["kick_votes"],
        json!(["p_cat"])
    );
    act(&mut r, "dan", kick("bob", true)).expect("vote");
    assert!(
        !r.state().writers.contains_key(&id("bob")),
        "2 of 3 is a majority"
    );
    assert_eq!(
        r.state().event,
        Some(Event::Kicked {
            player: id("bob"),
            name: "bob".into()
        })
    );
    assert_eq!(queue(&r, "cat"), vec![2, 1, 4], "bob's queue went to cat");
    assert_eq!(r.state().order, vec![id("ann"), id("cat"), id("dan")]);
    assert_eq!(
        code(&mut r, "bob", submit_action("Hi.")),
        ErrorCode::NotAPlayer
    );
    // Bob keeps his seat in the room, writing nothing, until he leaves; then he cannot
    // sit down again.
    assert!(r.seats().contains(&id("bob")));
    assert!(r.legal_actions(&id("bob")).is_empty());
    r.leave(&id("bob")).expect("leave");
    assert_eq!(
        r.seat("bob").expect_err("banned").code,
        ErrorCode::JoinRefused
    );
    assert!(!r.seats().contains(&id("bob")));
    // Bob's own story survives under his name.
    assert_eq!(r.state().stories[&2].owner_name, "bob");
}

#[test]
fn with_two_writers_one_vote_kicks() {
    let mut r = room(&["ann", "bob"]);
    act(
        &mut r,
        "ann",
        Action::VoteKick {
            player: id("bob"),
            vote: true,
        },
    )
    .expect("vote");
    assert_eq!(r.state().order, vec![id("ann")]);
}

#[test]
fn a_leaver_hands_their_queue_on_and_a_newcomer_picks_up_orphans() {
    let mut r = room(&["ann", "bob", "cat"]);
    act(&mut r, "ann", Action::Start).expect("start");
    submit(&mut r, "ann", "A.");
    submit(&mut r, "bob", "B.");
    submit(&mut r, "bob", "B continues A.");
    assert_eq!(queue(&r, "cat"), vec![2, 1]);
    act(&mut r, "cat", Action::VoteFinish { vote: true }).expect("vote");
    r.leave(&id("cat")).expect("leave");
    assert_eq!(queue(&r, "ann"), vec![2, 1], "cat's queue wraps to ann");
    assert!(r.state().finish_votes.is_empty());
    act(&mut r, "ann", Action::VoteFinish { vote: true }).expect("vote");
    // Bob leaving completes the vote: ann is the only writer left.
    r.leave(&id("bob")).expect("leave");
    assert_eq!(r.state().phase, Phase::Ended);

    let mut r = room(&["ann", "bob"]);
    act(&mut r, "ann", Action::Start).expect("start");
    submit(&mut r, "ann", "A.");
    r.leave(&id("ann")).expect("leave");
    r.leave(&id("bob")).expect("leave");
    assert!(r.state().writers.is_empty());
    r.seat("cy").expect("seat");
    assert_eq!(
        queue(&r, "cy"),
        vec![1],
        "the orphaned story finds a writer"
    );
    submit(&mut r, "cy", "Cy's own.");
    submit(&mut r, "cy", "Cy continues A.");
    assert_eq!(
        queue(&r, "cy"),
        vec![2, 1],
        "alone, stories come back to you"
    );
}

#[test]
fn config_and_actions_parse_strictly() {
    for bad in [
        json!({"min_players": 1}),
        json!({"max_chars": 0}),
        json!({"minUsers": 3}),
    ] {
        let refused = Playtest::with_config(TellIt, bad, 1).err();
        assert_eq!(refused.map(|e| e.code), Some(ErrorCode::InvalidConfig));
    }
    let a: Action = serde_json::from_str(r#"{"type":"submit","text":"Hi"}"#).expect("parses");
    assert_eq!(a, submit_action("Hi"));
    let mut r = room(&["ann"]);
    for bad in [
        json!({"type": "submit_text", "text": "Hi"}),
        json!({"type": "vote_finish"}),
        json!({"type": "submit", "text": 7}),
    ] {
        let before = r.state().clone();
        let e = r.act_json(&id("ann"), bad).expect_err("refused");
        assert_eq!(e.code, ErrorCode::InvalidAction);
        assert_eq!(*r.state(), before);
    }
}

/// Every (player, action) pair worth trying: the seated (writers or not) and an outsider.
fn universe(r: &Room) -> Vec<(PlayerId, Action)> {
    let mut ids: Vec<PlayerId> = r.seats().ids().cloned().collect();
    ids.push(id("ghost"));
    let mut acts = vec![
        Action::Start,
        submit_action(SAMPLE_TEXT),
        submit_action(""),
        submit_action("bad\ttab"),
    ];
    for vote in [true, false] {
        acts.push(Action::VoteFinish { vote });
        acts.push(Action::VoteRestart { vote });
        for p in &ids {
            acts.push(Action::VoteKick {
                player: p.clone(),
                vote,
            });
        }
    }
    ids.iter()
        .flat_map(|p| acts.iter().map(move |a| (p.clone(), a.clone())))
        .collect()
}

#[derive(Debug, Clone)]
enum Step {
    Act(usize, bool),
    Join(u8),
    Leave(usize),
    Connection(usize, bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        14 => (any::<usize>(), any::<bool>()).prop_map(|(n, l)| Step::Act(n, l)),
        2 => (0u8..7).prop_map(Step::Join),
        1 => any::<usize>().prop_map(Step::Leave),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(n, c)| Step::Connection(n, c)),
    ]
}

fn check_consistent(r: &Room) {
    let s = r.state();
    assert_eq!(s.order.len(), s.writers.len());
    assert!(s.order.iter().all(|w| s.writers.contains_key(w)));
    assert!(
        s.writers.keys().all(|w| r.seats().contains(w)),
        "writers are seated"
    );
    let mut held = BTreeSet::new();
    for w in s.writers.values() {
        for story in &w.queue {
            assert!(held.insert(*story), "story {story} is in two queues");
            assert!(s.stories.contains_key(story));
        }
    }
    if s.phase == Phase::Writing && !s.writers.is_empty() {
        assert_eq!(held.len(), s.stories.len(), "every story has a holder");
    }
    if s.phase == Phase::Waiting {
        assert!(s.stories.is_empty());
    }
    assert!(s.stories.values().all(|st| !st.parts.is_empty()));
    assert!(s.kicked.keys().all(|k| !s.writers.contains_key(k)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_play_keeps_every_story_in_one_queue_and_accepts_only_legal_actions(
        steps in proptest::collection::vec(step(), 1..200)
    ) {
        let mut r = room(&["w0", "w1", "w2"]);
        let mut parts = 0usize;
        for s in steps {
            match s {
                Step::Act(n, prefer_legal) => {
                    let all = universe(&r);
                    let legal: Vec<(PlayerId, Action)> = all
                        .iter()
                        .filter(|(p, a)| r.legal_actions(p).contains(a))
                        .cloned()
                        .collect();
                    let pool = if prefer_legal && !legal.is_empty() { &legal } else { &all };
                    let (p, a) = pool[n % pool.len()].clone();
                    let was_legal = r.legal_actions(&p).contains(&a);
                    let before = r.state().clone();
                    let ok = r.act(&p, a.clone()).is_ok();
                    prop_assert_eq!(ok, was_legal, "{:?} by {}", a, p);
                    if ok && matches!(a, Action::Submit { .. }) {
                        parts += 1;
                    }
                    if !ok {
                        prop_assert_eq!(r.state(), &before, "a refusal changes nothing");
                    }
                }
                Step::Join(k) => {
                    let _ = r.seat(&format!("w{k}"));
                }
                Step::Leave(n) => {
                    if !r.state().order.is_empty() {
                        let p = r.state().order[n % r.state().order.len()].clone();
                        r.leave(&p).expect("leave");
                    }
                }
                Step::Connection(n, c) => {
                    if !r.state().order.is_empty() {
                        let p = r.state().order[n % r.state().order.len()].clone();
                        r.connection(&p, c).expect("connection");
                    }
                }
            }
            if r.state().phase == Phase::Waiting {
                parts = 0;
            }
            check_consistent(&r);
            let total: usize = r.state().stories.values().map(|s| s.parts.len()).sum();
            prop_assert_eq!(total, parts, "no part is lost");
        }
        r.check_replay().expect("replays");
    }
}
