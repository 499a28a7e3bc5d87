//! The wire format, pinned: every viewer's view at every version of several seeded games
//! (scripted, and random play with leaves, disconnects, bots, skipped turns and resets) is
//! hashed and compared with `tests/golden/owedrahn.txt`. A line holds one hash when every
//! viewer sees the same JSON, one per viewer otherwise. See `crate::golden`.

use super::{Action, OweDrahn};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{GameRng, Playtest, Viewer};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A playtest that writes down every viewer's view at every version it reaches.
struct Recorder {
    t: Playtest<OweDrahn>,
    scenario: String,
    /// Everyone who ever sat down: they keep watching after they leave.
    viewers: Vec<PlayerId>,
    lines: Vec<String>,
    /// Kinds of `event` the views showed, to check what the scenarios cover.
    events: BTreeSet<String>,
}

/// FNV-1a: a hash that is the same on every platform and Rust version.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Recorder {
    fn new(scenario: &str, config: Value, seed: u64) -> Self {
        let t = Playtest::with_config(OweDrahn, config, seed).expect("setup");
        Self {
            t,
            scenario: scenario.to_owned(),
            viewers: Vec::new(),
            lines: Vec::new(),
            events: BTreeSet::new(),
        }
    }

    /// Note the version the last step made, if it made one.
    fn record(&mut self) {
        let v = self.t.version();
        let recorded = self.lines.len() as u64;
        if v == recorded {
            return;
        }
        assert_eq!(v, recorded + 1, "{}: a version went unseen", self.scenario);
        for id in self.t.seats().ids() {
            if !self.viewers.contains(id) {
                self.viewers.push(id.clone());
            }
        }
        let hash = |viewer: &Viewer| {
            let text = serde_json::to_string(&self.t.view(viewer)).expect("json");
            fnv(&text)
        };
        let spectator = hash(&Viewer::Spectator);
        let view = self.t.view(&Viewer::Spectator);
        if let Some(kind) = view["event"]["type"].as_str() {
            self.events.insert(kind.to_owned());
        }
        let players: Vec<(&PlayerId, u64)> = self
            .viewers
            .iter()
            .map(|p| (p, hash(&Viewer::Player(p.clone()))))
            .collect();
        let line = if players.iter().all(|(_, h)| *h == spectator) {
            format!("{} v{v} {spectator:016x}", self.scenario)
        } else {
            let each: Vec<String> = players
                .iter()
                .map(|(p, h)| format!("{p}={h:016x}"))
                .collect();
            format!(
                "{} v{v} spectator={spectator:016x} {}",
                self.scenario,
                each.join(" ")
            )
        };
        self.lines.push(line);
    }

    fn seat(&mut self, name: &str) -> Option<PlayerId> {
        let id = self.t.seat(name).ok();
        self.record();
        id
    }

    fn act(&mut self, who: &PlayerId, action: Action) {
        let _ = self.t.act(who, action);
        self.record();
    }

    fn leave(&mut self, who: &PlayerId) {
        let _ = self.t.leave(who);
        self.record();
    }

    fn connection(&mut self, who: &PlayerId, connected: bool) {
        let _ = self.t.connection(who, connected);
        self.record();
    }

    /// Let time pass a second at a time (every duration here is whole seconds), so that
    /// each timer and clock that fires is seen on its own.
    fn wait(&mut self, ms: u64) {
        for _ in 0..ms / 1_000 {
            self.t.advance(1_000);
            self.record();
        }
    }

    fn turn(&self) -> Option<PlayerId> {
        let view = self.t.view(&Viewer::Spectator);
        view["turn"].as_str().map(PlayerId::from)
    }

    fn seated(&self) -> Vec<PlayerId> {
        self.t.seats().ids().cloned().collect()
    }

    /// The player on turn plays the first of their legal actions that is `wanted`, or rolls.
    fn play(&mut self, wanted: impl Fn(&Action) -> bool) {
        let Some(who) = self.turn() else { return };
        let legal = self.t.legal_actions(&who);
        let action = legal.into_iter().find(wanted).unwrap_or(Action::Roll);
        self.act(&who, action);
    }

    fn all_ready(&mut self) {
        for p in self.seated() {
            self.act(&p, Action::Ready { ready: true });
        }
    }
}

fn scripted() -> Recorder {
    let config = json!({"lives": 3, "turn_timeout_ms": 4_000, "reset_delay_ms": 3_000});
    let mut r = Recorder::new("scripted", config, 11);
    let ann = r.seat("ann").expect("seat");
    let bob = r.seat("bob").expect("seat");
    let cat = r.seat("cat").expect("seat");
    r.act(&ann, Action::SetMainBet { amount_cents: 250 });
    let propose = |opponent: &PlayerId, amount_cents| Action::ProposeBet {
        opponent: opponent.clone(),
        amount_cents,
    };
    r.act(&cat, propose(&ann, 300));
    r.act(&ann, Action::AcceptBet { bet: 1 });
    r.act(&bob, propose(&cat, 100));
    r.act(&cat, Action::DeclineBet { bet: 2 });
    r.act(&bob, propose(&ann, 50));
    r.act(&ann, Action::Roll); // refused: no version
    r.all_ready();
    for _ in 0..3 {
        r.play(|a| *a == Action::Roll);
    }
    // The player on turn drops out: their clock runs, a skip costs a life.
    let away = r.turn().expect("a turn");
    r.connection(&away, false);
    r.wait(5_000);
    r.connection(&away, true);
    // Someone else drops out and comes back before their turn matters.
    let other = r
        .seated()
        .into_iter()
        .find(|p| Some(p) != r.turn().as_ref());
    if let Some(other) = other {
        r.connection(&other, false);
        r.wait(1_000);
        r.connection(&other, true);
    }
    for _ in 0..6 {
        r.play(|a| matches!(a, Action::OweDrahn | Action::ChooseNext { .. }));
    }
    r.leave(&bob);
    for _ in 0..40 {
        r.play(|a| *a == Action::Roll);
    }
    r.wait(4_000);
    r.seat("bob");
    let dan = r.seat("dan").expect("seat");
    r.act(&dan, propose(&bob, 500));
    let bot = r.t.add_bot().expect("bot");
    r.record();
    r.all_ready();
    r.act(&bot, Action::Ready { ready: true });
    for _ in 0..60 {
        if r.t.bot_step().is_none() {
            r.play(|a| *a == Action::Roll);
        }
        r.record();
    }
    r.wait(4_000);
    r
}

fn random(seed: u64) -> Recorder {
    let config = json!({"turn_timeout_ms": 7_000, "reset_delay_ms": 2_000});
    let mut r = Recorder::new(&format!("random{seed}"), config, seed);
    let mut dice = GameRng::from_seed(seed ^ 0x5eed);
    let names = ["ann", "bob", "cat", "dan", "eve"];
    for name in &names[..3] {
        r.seat(name);
    }
    for _ in 0..400 {
        let seated = r.seated();
        let someone = dice.pick(&seated).cloned();
        match (dice.below(100), someone) {
            (0..55, Some(p)) => {
                let legal = r.t.legal_actions(&p);
                match dice.pick(&legal).cloned() {
                    Some(a) => r.act(&p, a),
                    None => r.play(|_| true),
                }
            }
            (55..62, _) => r.all_ready(),
            (62..66, Some(p)) => r.leave(&p),
            (66..74, _) => {
                let name = dice.pick(&names).copied().unwrap_or("ann");
                r.seat(name);
            }
            (74..81, Some(p)) => r.connection(&p, false),
            (81..86, Some(p)) => r.connection(&p, true),
            (86..88, _) => {
                let _ = r.t.add_bot();
                r.record();
            }
            (88..93, _) => {
                let _ = r.t.bot_step();
                r.record();
            }
            _ => {
                let waits = [1_000, 2_000, 3_000, 7_000, 10_000];
                let ms = dice.pick(&waits).copied().unwrap_or(1_000);
                r.wait(ms);
            }
        }
    }
    r.wait(20_000);
    r.t.check_replay().expect("replays");
    r
}

#[test]
fn every_view_at_every_version_matches_the_golden_file() {
    let runs: Vec<Recorder> = std::iter::once(scripted())
        .chain((1..=6).map(random))
        .collect();
    let events: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.events.iter().map(String::as_str))
        .collect();
    let every = [
        "chose",
        "game_over",
        "left",
        "lost_life",
        "reset",
        "rolled",
        "skipped",
        "started",
    ];
    assert_eq!(
        events,
        every.into_iter().collect(),
        "what the games covered"
    );
    let lines: Vec<String> = runs.into_iter().flat_map(|r| r.lines).collect();
    let text = lines.join("\n") + "\n";
    crate::golden::assert_matches("owedrahn.txt", &text);
}
