#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::{GameRng, Timers};
use arbiter_engine::{Seat, Seats};
use proptest::prelude::*;

fn id(s: &str) -> PlayerId {
    s.into()
}

/// A room driven the way the engine drives it: every entry on a copy, kept only on success.
struct Room {
    state: State,
    rng: GameRng,
    timers: Timers<Action>,
}

impl Room {
    fn with(config: Config, writers: &[&str]) -> Self {
        let mut rng = GameRng::from_seed(1);
        let mut timers = Timers::default();
        let state = TellIt
            .setup(
                &config,
                &mut Ctx::new(&mut rng, 0, &mut timers, &mut Seats::default()),
            )
            .expect("valid config");
        let mut r = Self { state, rng, timers };
        for w in writers {
            r.join(w).expect("seat");
        }
        r
    }

    fn new(writers: &[&str]) -> Self {
        Self::with(Config::default(), writers)
    }

    fn entry(
        &mut self,
        f: impl FnOnce(&mut State, &mut Ctx<'_, Action>) -> Result<(), GameError>,
    ) -> Result<(), GameError> {
        let mut state = self.state.clone();
        f(
            &mut state,
            &mut Ctx::new(&mut self.rng, 0, &mut self.timers, &mut Seats::default()),
        )?;
        self.state = state;
        Ok(())
    }

    fn join(&mut self, who: &str) -> Result<(), GameError> {
        let info = Seat {
            number: 0,
            bot: false,
            connected: true,
            id: id(who),
            name: who.to_uppercase(),
        };
        self.entry(|s, cx| TellIt.join(s, &info, cx))
    }

    fn leave(&mut self, who: &str) {
        self.entry(|s, cx| {
            TellIt.leave(s, &Seat::stub(id(who)), cx);
            Ok(())
        })
        .expect("leave");
    }

    fn connection(&mut self, who: &str, connected: bool) {
        self.entry(|s, cx| {
            TellIt.connection(s, &id(who), connected, cx);
            Ok(())
        })
        .expect("connection");
    }

    fn act(&mut self, who: &str, action: Action) -> Result<(), GameError> {
        self.entry(|s, cx| TellIt.apply(s, &Actor::Player(id(who)), action, cx))
    }

    fn code(&mut self, who: &str, action: Action) -> ErrorCode {
        let before = self.state.clone();
        let code = self.act(who, action).expect_err("refused").code;
        assert_eq!(self.state, before, "a refusal changes nothing");
        code
    }

    fn submit(&mut self, who: &str, text: &str) {
        self.act(
            who,
            Action::Submit {
                text: text.to_owned(),
            },
        )
        .expect("submit");
    }

    fn queue(&self, who: &str) -> Vec<u32> {
        self.state.writers[&id(who)].queue.clone()
    }

    fn view(&self, who: Option<&str>) -> Value {
        let viewer = who.map_or(Viewer::Spectator, |w| Viewer::Player(id(w)));
        TellIt.view(&self.state, &Seats::default(), &viewer)
    }
}

fn submit_action(text: &str) -> Action {
    Action::Submit {
        text: text.to_owned(),
    }
}

#[test]
fn starting_needs_enough_writers_and_happens_once() {
    let mut r = Room::new(&["ann"]);
    assert_eq!(r.code("ann", Action::Start), ErrorCode::InvalidMove);
    assert_eq!(r.code("ann", submit_action("Hi.")), ErrorCode::InvalidMove);
    r.join("bob").expect("seat");
    r.act("bob", Action::Start).expect("start");
    assert_eq!((r.state.phase, r.state.round), (Phase::Writing, 1));
    assert_eq!(TellIt.status(&r.state, &Seats::default()), Status::Playing);
    assert_eq!(r.code("ann", Action::Start), ErrorCode::GameInProgress);
    assert_eq!(r.code("eve", Action::Start), ErrorCode::NotAPlayer);

    let mut big = Room::with(
        Config {
            min_players: 3,
            ..Config::default()
        },
        &["ann", "bob"],
    );
    assert_eq!(big.code("ann", Action::Start), ErrorCode::InvalidMove);
}

/// Everyone begins a story, then everyone continues the head of their queue `rounds` times,
/// in seating order.
fn circulate(n: usize) {
    let names: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut r = Room::new(&refs);
    r.act("w0", Action::Start).expect("start");
    for (i, w) in refs.iter().enumerate() {
        r.submit(w, &format!("{w} begins"));
        let story = r.state.writers[&id(w)].story.expect("began a story");
        let next = refs[(i + 1) % n];
        assert_eq!(
            r.queue(next).last(),
            Some(&story),
            "the story goes to {next}"
        );
    }
    assert!(refs.iter().all(|w| r.queue(w).len() == 1));
    // A writer with nothing queued waits.
    for round in 1..n {
        for w in &refs {
            r.submit(w, &format!("{w} adds in round {round}"));
        }
        assert!(refs.iter().all(|w| r.queue(w).len() == 1), "n={n}");
    }
    // After n - 1 rounds every story is back with its owner, written by everyone in turn.
    for (i, w) in refs.iter().enumerate() {
        let own = r.state.writers[&id(w)].story.expect("own");
        assert_eq!(r.queue(w), vec![own], "n={n}: {w} holds their own story");
        let authors: Vec<String> = r.state.stories[&own]
            .parts
            .iter()
            .map(|p| p.author.0.clone())
            .collect();
        let expected: Vec<String> = (0..n).map(|k| refs[(i + k) % n].to_owned()).collect();
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
    let mut r = Room::new(&["ann", "bob", "cat"]);
    r.act("ann", Action::Start).expect("start");
    r.submit("ann", "Once.");
    assert_eq!(
        r.code("ann", submit_action("Again.")),
        ErrorCode::InvalidMove
    );
    // Bob holds ann's story but begins his own first, as in the original.
    r.submit("bob", "Bob's start.");
    assert_eq!(r.queue("bob").len(), 1);
    r.submit("bob", "Bob continues ann's.");
    assert_eq!(r.queue("bob").len(), 0);
    assert_eq!(r.queue("cat").len(), 2);
    assert_eq!(r.state.stories[&1].parts.len(), 2);
}

#[test]
fn submissions_are_validated() {
    let mut r = Room::new(&["ann", "bob"]);
    r.act("ann", Action::Start).expect("start");
    for bad in [
        String::new(),
        "   ".to_owned(),
        "a".repeat(501),
        "two\nlines".to_owned(),
        "bell\u{7}".to_owned(),
    ] {
        assert_eq!(r.code("ann", submit_action(&bad)), ErrorCode::InvalidMove);
    }
    r.submit("ann", &format!("  {}  ", "é".repeat(500)));
    assert_eq!(r.state.stories[&1].parts[0].text, "é".repeat(500));
}

#[test]
fn a_seat_sees_only_the_latest_part_at_the_head_of_its_own_queue() {
    let mut r = Room::new(&["ann", "bob", "cat"]);
    r.act("ann", Action::Start).expect("start");
    let mut texts: Vec<String> = Vec::new();
    let order = ["ann", "bob", "cat"];
    for round in 0..4 {
        for w in order {
            let text = format!("secret-{w}-{round}");
            r.submit(w, &text);
            texts.push(text);
            for viewer in order {
                let view = r.view(Some(viewer)).to_string();
                let head_last = r.state.writers[&id(viewer)]
                    .queue
                    .first()
                    .and_then(|s| r.state.stories[s].parts.last())
                    .map(|p| p.text.clone());
                for t in &texts {
                    assert_eq!(
                        view.contains(t.as_str()),
                        Some(t) == head_last.as_ref(),
                        "{viewer} and {t}"
                    );
                }
            }
            let spectator = r.view(None).to_string();
            assert!(texts.iter().all(|t| !spectator.contains(t.as_str())));
        }
    }
    let v = r.view(Some("bob"));
    assert_eq!(v["me"]["next"], "continue");
    assert_eq!(v["me"]["current"]["last"]["author"], "ann");
    assert_eq!(v["writers"]["cat"]["queued"], 1);
    assert_eq!(v["final_stories"], Value::Null);
    for w in order {
        r.act(w, Action::VoteFinish { vote: true }).expect("vote");
    }
    assert_eq!(r.state.phase, Phase::Ended);
    for viewer in [Some("ann"), None] {
        let view = r.view(viewer).to_string();
        assert!(texts.iter().all(|t| view.contains(t.as_str())), "all shown");
    }
    let v = r.view(None);
    let first = &v["final_stories"][0];
    assert_eq!(first["owner_name"], "ANN");
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
    let mut r = Room::new(&["ann", "bob", "cat"]);
    assert_eq!(
        r.code("ann", Action::VoteFinish { vote: true }),
        ErrorCode::InvalidMove
    );
    assert_eq!(
        r.code("ann", Action::VoteRestart { vote: true }),
        ErrorCode::InvalidMove
    );
    r.act("ann", Action::Start).expect("start");
    r.submit("ann", "A story.");
    r.act("ann", Action::VoteFinish { vote: true })
        .expect("vote");
    r.act("bob", Action::VoteFinish { vote: true })
        .expect("vote");
    r.act("bob", Action::VoteFinish { vote: false })
        .expect("take back");
    r.act("bob", Action::VoteFinish { vote: true })
        .expect("vote");
    assert_eq!(r.state.phase, Phase::Writing, "cat has not voted");
    // Cat drops out: the connected writers are unanimous.
    r.connection("cat", false);
    assert_eq!(r.state.phase, Phase::Ended);
    assert_eq!(r.state.event, Some(Event::Ended));
    assert_eq!(
        TellIt.status(&r.state, &Seats::default()),
        Status::Finished {
            ranking: vec![vec![id("ann"), id("bob"), id("cat")]]
        }
    );
    assert_eq!(r.code("ann", submit_action("More.")), ErrorCode::GameOver);
    assert_eq!(
        r.code("ann", Action::VoteFinish { vote: true }),
        ErrorCode::GameOver
    );
    assert_eq!(r.code("ann", Action::Start), ErrorCode::GameOver);
    r.connection("cat", true);
    r.act("ann", Action::VoteRestart { vote: true })
        .expect("vote");
    r.act("bob", Action::VoteRestart { vote: true })
        .expect("vote");
    assert_eq!(r.state.phase, Phase::Ended);
    r.act("cat", Action::VoteRestart { vote: true })
        .expect("vote");
    assert_eq!(r.state.phase, Phase::Waiting);
    assert!(r.state.stories.is_empty() && r.state.restart_votes.is_empty());
    assert!(
        r.state
            .writers
            .values()
            .all(|w| w.queue.is_empty() && w.story.is_none())
    );
    r.act("cat", Action::Start).expect("again");
    assert_eq!(r.state.round, 2);
}

#[test]
fn a_majority_of_the_others_votes_a_writer_out_and_their_stories_move_on() {
    let mut r = Room::new(&["ann", "bob", "cat", "dan"]);
    let kick = |p: &str, vote| Action::VoteKick {
        player: id(p),
        vote,
    };
    assert_eq!(r.code("ann", kick("ann", true)), ErrorCode::InvalidMove);
    assert_eq!(r.code("ann", kick("eve", true)), ErrorCode::InvalidMove);
    r.act("ann", Action::Start).expect("start");
    for w in ["ann", "bob", "cat", "dan"] {
        r.submit(w, &format!("{w} begins."));
    }
    r.submit("ann", "ann continues dan's.");
    // Bob now holds ann's story and dan's.
    assert_eq!(r.queue("bob"), vec![1, 4]);
    r.act("ann", kick("bob", true)).expect("vote");
    r.act("ann", kick("bob", false)).expect("take back");
    r.act("cat", kick("bob", true)).expect("vote");
    assert!(
        r.state.writers.contains_key(&id("bob")),
        "1 of 3 is no majority"
    );
    assert_eq!(r.view(None)["writers"]["bob"]["kick_votes"], json!(["cat"]));
    r.act("dan", kick("bob", true)).expect("vote");
    assert!(
        !r.state.writers.contains_key(&id("bob")),
        "2 of 3 is a majority"
    );
    assert_eq!(
        r.state.event,
        Some(Event::Kicked {
            player: id("bob"),
            name: "BOB".into()
        })
    );
    assert_eq!(r.queue("cat"), vec![2, 1, 4], "bob's queue went to cat");
    assert_eq!(r.state.order, vec![id("ann"), id("cat"), id("dan")]);
    assert_eq!(r.code("bob", submit_action("Hi.")), ErrorCode::NotAPlayer);
    assert_eq!(
        r.join("bob").expect_err("banned").code,
        ErrorCode::JoinRefused
    );
    // Bob's own story survives under his name.
    assert_eq!(r.state.stories[&2].owner_name, "BOB");
}

#[test]
fn with_two_writers_one_vote_kicks() {
    let mut r = Room::new(&["ann", "bob"]);
    r.act(
        "ann",
        Action::VoteKick {
            player: id("bob"),
            vote: true,
        },
    )
    .expect("vote");
    assert_eq!(r.state.order, vec![id("ann")]);
}

#[test]
fn a_leaver_hands_their_queue_on_and_a_newcomer_picks_up_orphans() {
    let mut r = Room::new(&["ann", "bob", "cat"]);
    r.act("ann", Action::Start).expect("start");
    r.submit("ann", "A.");
    r.submit("bob", "B.");
    r.submit("bob", "B continues A.");
    assert_eq!(r.queue("cat"), vec![2, 1]);
    r.act("cat", Action::VoteFinish { vote: true })
        .expect("vote");
    r.leave("cat");
    assert_eq!(r.queue("ann"), vec![2, 1], "cat's queue wraps to ann");
    assert!(r.state.finish_votes.is_empty());
    r.act("ann", Action::VoteFinish { vote: true })
        .expect("vote");
    // Bob leaving completes the vote: ann is the only writer left.
    r.leave("bob");
    assert_eq!(r.state.phase, Phase::Ended);

    let mut r = Room::new(&["ann", "bob"]);
    r.act("ann", Action::Start).expect("start");
    r.submit("ann", "A.");
    r.leave("ann");
    r.leave("bob");
    assert!(r.state.writers.is_empty());
    r.join("cy").expect("seat");
    assert_eq!(r.queue("cy"), vec![1], "the orphaned story finds a writer");
    r.submit("cy", "Cy's own.");
    r.submit("cy", "Cy continues A.");
    assert_eq!(r.queue("cy"), vec![2, 1], "alone, stories come back to you");
}

#[test]
fn config_and_actions_parse_strictly() {
    let mut rng = GameRng::from_seed(1);
    let mut timers = Timers::default();
    let mut seats = Seats::default();
    let mut cx = Ctx::new(&mut rng, 0, &mut timers, &mut seats);
    for bad in [
        Config {
            min_players: 1,
            ..Config::default()
        },
        Config {
            max_chars: 0,
            ..Config::default()
        },
    ] {
        assert_eq!(
            TellIt.setup(&bad, &mut cx).expect_err("bad").code,
            ErrorCode::InvalidConfig
        );
    }
    assert!(serde_json::from_str::<Config>(r#"{"minUsers": 3}"#).is_err());
    let a: Action = serde_json::from_str(r#"{"type":"submit","text":"Hi"}"#).expect("parses");
    assert_eq!(a, submit_action("Hi"));
    assert!(serde_json::from_str::<Action>(r#"{"type":"submit_text","text":"Hi"}"#).is_err());
    assert!(serde_json::from_str::<Action>(r#"{"type":"vote_finish"}"#).is_err());
    assert!(
        TellIt
            .apply(
                &mut Room::new(&[]).state,
                &Actor::System,
                Action::Start,
                &mut cx
            )
            .is_err()
    );
}

fn universe(state: &State) -> Vec<(PlayerId, Action)> {
    let mut ids = state.order.clone();
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

fn check_consistent(s: &State) {
    assert_eq!(s.order.len(), s.writers.len());
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
        let mut r = Room::new(&["w0", "w1", "w2"]);
        let mut parts = 0usize;
        for s in steps {
            match s {
                Step::Act(n, prefer_legal) => {
                    let all = universe(&r.state);
                    let legal: Vec<(PlayerId, Action)> = all
                        .iter()
                        .filter(|(p, a)| TellIt.legal_actions(&r.state, &Seats::default(), p).contains(a))
                        .cloned()
                        .collect();
                    let pool = if prefer_legal && !legal.is_empty() { &legal } else { &all };
                    let (p, a) = pool[n % pool.len()].clone();
                    let was_legal = TellIt.legal_actions(&r.state, &Seats::default(), &p).contains(&a);
                    let ok = r.act(p.as_str(), a.clone()).is_ok();
                    prop_assert_eq!(ok, was_legal, "{:?} by {}", a, p);
                    if ok && matches!(a, Action::Submit { .. }) {
                        parts += 1;
                    }
                }
                Step::Join(k) => {
                    let _ = r.join(&format!("w{k}"));
                }
                Step::Leave(n) => {
                    if !r.state.order.is_empty() {
                        let p = r.state.order[n % r.state.order.len()].clone();
                        r.leave(p.as_str());
                    }
                }
                Step::Connection(n, c) => {
                    if !r.state.order.is_empty() {
                        let p = r.state.order[n % r.state.order.len()].clone();
                        r.connection(p.as_str(), c);
                    }
                }
            }
            if r.state.phase == Phase::Waiting {
                parts = 0;
            }
            check_consistent(&r.state);
            let total: usize = r.state.stories.values().map(|s| s.parts.len()).sum();
            prop_assert_eq!(total, parts, "no part is lost");
        }
    }
}
