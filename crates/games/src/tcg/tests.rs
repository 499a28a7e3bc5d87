//! The table through [`Playtest`]: players sit down by name (`a`) as `p_a` (see [`id`]).

#![allow(clippy::unwrap_used)]

use super::*;
use arbiter_engine::Playtest;
use proptest::prelude::*;
use serde_json::json;
use std::collections::BTreeMap;

/// A room driven through the engine's own entry path.
#[derive(Clone)]
struct T {
    pt: Playtest<Tcg>,
}

/// The id [`Playtest::seat`] gives the player named `s`.
fn id(s: &str) -> PlayerId {
    PlayerId(format!("p_{s}"))
}

/// Who acts in a test: a name (`"a"`, seated as `p_a`) or an id read from the state.
trait Who {
    fn id(&self) -> PlayerId;
}

impl Who for &str {
    fn id(&self) -> PlayerId {
        id(self)
    }
}

impl Who for &PlayerId {
    fn id(&self) -> PlayerId {
        (*self).clone()
    }
}

fn a(v: Value) -> Action {
    serde_json::from_value(v).expect("a well-formed action")
}

/// A deck of uniquely named cards (`<who#i>`), so a name in a view pins down one card.
fn deck(format: &str, who: &str) -> Vec<DeckEntry> {
    let (n, commanders) = match format {
        "commander" => (100, 1),
        _ => (60, 0),
    };
    (0..n)
        .map(|i| DeckEntry {
            name: format!("<{who}#{i}>"),
            count: 1,
            commander: i < commanders,
        })
        .collect()
}

impl T {
    fn with(config: Value, players: &[&str], seed: u64) -> Self {
        let mut t = Self {
            pt: Playtest::with_config(Tcg, config, seed).expect("setup"),
        };
        for p in players {
            t.join(p).expect("seat");
        }
        t
    }

    fn seated(format: &str, players: &[&str], seed: u64) -> Self {
        Self::with(json!({ "format": format }), players, seed)
    }

    /// Seated, decks in, started.
    fn ready(format: &str, players: &[&str], seed: u64) -> Self {
        let mut t = Self::seated(format, players, seed);
        for p in players {
            t.ok(*p, json!({"type": "submit_deck", "list": deck(format, p)}));
        }
        t.ok(players[0], json!({"type": "start"}));
        t
    }

    fn state(&self) -> &State {
        self.pt.state()
    }

    fn join(&mut self, who: &str) -> Result<(), GameError> {
        self.pt.seat(who).map(|_| ())
    }

    fn leave(&mut self, who: &str) {
        self.pt.leave(&id(who)).expect("seated");
    }

    fn act(&mut self, who: impl Who, v: Value) -> Result<(), GameError> {
        self.pt.act(&who.id(), a(v)).map(|_| ())
    }

    fn ok(&mut self, who: impl Who, v: Value) {
        let (who, text) = (who.id(), v.to_string());
        if let Err(e) = self.act(&who, v) {
            panic!("{who} {text}: {e}");
        }
    }

    fn err(&mut self, who: impl Who, v: Value) -> GameError {
        let (before, version) = (self.state().clone(), self.pt.version());
        let e = self.act(who, v).expect_err("refused");
        assert_eq!(*self.state(), before, "a refusal changes nothing");
        assert_eq!(self.pt.version(), version, "a refusal makes no version");
        e
    }

    /// `who` takes back the latest undoable action (the engine's undo).
    fn undo(&mut self, who: impl Who) {
        let who = who.id();
        if let Err(e) = self.pt.undo(&who) {
            panic!("{who} undo: {e}");
        }
    }

    fn redo(&mut self, who: impl Who) {
        let who = who.id();
        if let Err(e) = self.pt.redo(&who) {
            panic!("{who} redo: {e}");
        }
    }

    /// An undo, redo or consent the engine refuses: it changes nothing.
    fn refused(
        &mut self,
        entry: impl FnOnce(&mut Playtest<Tcg>) -> Result<u64, GameError>,
    ) -> String {
        let (before, version) = (self.state().clone(), self.pt.version());
        let e = entry(&mut self.pt).expect_err("refused");
        assert_eq!(e.code, ErrorCode::InvalidMove, "{}", e.message);
        assert_eq!(*self.state(), before, "a refusal changes nothing");
        assert_eq!(self.pt.version(), version, "a refusal makes no version");
        e.message
    }

    /// Steps undo and redo could take now.
    fn stacks(&self) -> (usize, usize) {
        let (undo, redo, _) = self.pt.undo_depth();
        (undo, redo)
    }

    fn view(&self, who: Option<&str>) -> Value {
        let viewer = who.map_or(Viewer::Spectator, |w| Viewer::Player(id(w)));
        self.pt.view(&viewer)
    }

    fn zone(&self, who: &str, z: ZoneKind) -> Vec<CardId> {
        self.state().table.players[&id(who)].zone(z).to_vec()
    }

    fn card(&self, c: CardId) -> &Card {
        &self.state().table.cards[&c]
    }

    fn uids(&self, cards: &[CardId]) -> Vec<u32> {
        cards.iter().map(|c| self.card(*c).uid).collect()
    }

    /// The current id of the card with this internal identity.
    fn by_uid(&self, uid: u32) -> CardId {
        *self
            .state()
            .table
            .cards
            .iter()
            .find(|(_, c)| c.uid == uid)
            .expect("on the table")
            .0
    }

    /// Move cards to a zone; returns their ids afterwards (a card leaving a hand gets a new
    /// one).
    fn put(&mut self, who: &str, cards: &[CardId], to: Value) -> Vec<CardId> {
        let uids = self.uids(cards);
        self.ok(who, json!({"type": "move", "cards": cards, "to": to}));
        uids.into_iter().map(|u| self.by_uid(u)).collect()
    }

    fn life(&self, who: &str) -> i64 {
        self.state().table.players[&id(who)].life
    }

    fn turn(&self) -> &Turn {
        self.state().table.turn.as_ref().expect("a turn")
    }

    fn status(&self) -> Status {
        self.pt.status()
    }
}

fn code(e: GameError) -> ErrorCode {
    e.code
}

// ---- setup, decks and starting ----------------------------------------------------------

#[test]
fn config_and_join_limits() {
    let e = Playtest::with_config(Tcg, json!({"undo_depth": 0}), 1)
        .err()
        .expect("refused");
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(serde_json::from_value::<Config>(json!({"format": "yugioh"})).is_err());
    assert!(serde_json::from_value::<Config>(json!({"colour": 1})).is_err());

    let mut t = T::seated("pokemon", &["a", "b"], 1);
    assert_eq!(code(t.join("c").expect_err("full")), ErrorCode::JoinRefused);
    // Six is also the engine's limit (`max_players`): the room refuses the seventh.
    let mut t = T::seated("mtg", &["a", "b", "c", "d", "e", "f"], 1);
    assert_eq!(code(t.join("g").expect_err("full")), ErrorCode::RoomFull);
}

#[test]
fn deck_sizes_are_checked_per_format() {
    let mut t = T::seated("mtg", &["a", "b"], 1);
    let mut short = deck("mtg", "a");
    short.pop();
    let e = t.err("a", json!({"type": "submit_deck", "list": short}));
    assert!(e.message.contains("60 to 250"), "{}", e.message);
    let e = t.err(
        "a",
        json!({"type": "submit_deck", "list": deck("commander", "a")}),
    );
    assert!(e.message.contains("no commander"), "{}", e.message);
    let e = t.err(
        "a",
        json!({"type": "submit_deck", "list": [{"name": "Forest", "count": 0}]}),
    );
    assert_eq!(e.code, ErrorCode::InvalidMove);
    t.ok(
        "a",
        json!({"type": "submit_deck", "list": [{"name": "Forest", "count": 60}]}),
    );

    let mut t = T::seated("commander", &["a", "b"], 1);
    let mut d = deck("commander", "a");
    d[0].commander = false;
    let e = t.err("a", json!({"type": "submit_deck", "list": d}));
    assert!(e.message.contains("one or two commanders"), "{}", e.message);
    let e = t.err(
        "a",
        json!({"type": "submit_deck", "list": deck("mtg", "a")}),
    );
    assert!(e.message.contains("exactly 100"), "{}", e.message);

    let mut t = T::seated("pokemon", &["a", "b"], 1);
    let e = t.err(
        "a",
        json!({"type": "submit_deck", "list": [{"name": "Pikachu", "count": 61}]}),
    );
    assert!(e.message.contains("exactly 60"), "{}", e.message);

    // Unknown fields are refused at the wire.
    assert!(serde_json::from_value::<Action>(json!({"type": "start", "now": true})).is_err());
    assert!(
        serde_json::from_value::<Action>(
            json!({"type": "submit_deck", "list": [{"name": "X", "count": 1, "foil": true}]})
        )
        .is_err()
    );
}

#[test]
fn start_needs_players_and_decks() {
    let mut t = T::seated("mtg", &["a"], 1);
    t.ok(
        "a",
        json!({"type": "submit_deck", "list": deck("mtg", "a")}),
    );
    let e = t.err("a", json!({"type": "start"}));
    assert!(e.message.contains("2 to 6"), "{}", e.message);
    t.join("b").expect("seat");
    let e = t.err("b", json!({"type": "start"}));
    assert!(e.message.contains("b has not submitted"), "{}", e.message);
    assert_eq!(
        t.err("a", json!({"type": "draw"})).code,
        ErrorCode::InvalidMove
    );
    t.ok(
        "b",
        json!({"type": "submit_deck", "list": deck("mtg", "b")}),
    );
    t.ok("b", json!({"type": "start"}));
    assert_eq!(t.status(), Status::Playing);
    assert_eq!(
        t.err("a", json!({"type": "start"})).code,
        ErrorCode::GameInProgress
    );
    assert_eq!(
        t.err(
            "a",
            json!({"type": "submit_deck", "list": deck("mtg", "a")})
        )
        .code,
        ErrorCode::GameInProgress
    );
    assert_eq!(
        code(t.join("c").expect_err("started")),
        ErrorCode::JoinRefused
    );
}

#[test]
fn starting_deals_per_format() {
    let t = T::ready("mtg", &["a", "b"], 3);
    for p in ["a", "b"] {
        assert_eq!(t.zone(p, ZoneKind::Hand).len(), 7);
        assert_eq!(t.zone(p, ZoneKind::Library).len(), 53);
        assert_eq!(t.life(p), 20);
    }
    assert!(t.state().table.check().is_ok());
    // The library is shuffled: not in deck-list order.
    let names: Vec<String> = t
        .zone("a", ZoneKind::Library)
        .iter()
        .map(|c| t.card(*c).name.clone())
        .collect();
    let sorted: Vec<String> = (7..60).map(|i| format!("<a#{i}>")).collect();
    assert_ne!(names, sorted);
    // Same seed, same game.
    let again = T::ready("mtg", &["a", "b"], 3);
    assert_eq!(t.state(), again.state());
    let other = T::ready("mtg", &["a", "b"], 4);
    assert_ne!(t.state().table, other.state().table);

    let t = T::ready("commander", &["a", "b", "c"], 3);
    for p in ["a", "b", "c"] {
        assert_eq!(t.life(p), 40);
        let cmd = t.zone(p, ZoneKind::Command);
        assert_eq!(cmd.len(), 1);
        assert_eq!(t.card(cmd[0]).name, format!("<{p}#0>"));
        assert_eq!(t.zone(p, ZoneKind::Library).len(), 92);
    }

    let t = T::ready("pokemon", &["a", "b"], 3);
    for p in ["a", "b"] {
        assert_eq!(t.zone(p, ZoneKind::Hand).len(), 7);
        assert!(
            t.zone(p, ZoneKind::Prizes).is_empty(),
            "set aside after the mulligans"
        );
        assert_eq!(t.zone(p, ZoneKind::Deck).len(), 53);
    }
    let v = t.view(Some("a"));
    assert_eq!(v["life"], Value::Null);
    assert_eq!(v["stack"], Value::Null);
    assert_eq!(v["turn"]["step"], json!("draw"));
}

// ---- card actions ---------------------------------------------------------------------

#[test]
fn draw_and_mulligan() {
    let mut t = T::ready("mtg", &["a", "b"], 5);
    let top = t.zone("a", ZoneKind::Library)[..2].to_vec();
    let top_uids: Vec<u32> = top.iter().map(|c| t.card(*c).uid).collect();
    t.ok("a", json!({"type": "draw", "n": 2}));
    let hand = t.zone("a", ZoneKind::Hand);
    assert_eq!(hand.len(), 9);
    assert_eq!(t.zone("a", ZoneKind::Library).len(), 51);
    // The same cards, under fresh ids.
    let hand_uids: Vec<u32> = hand.iter().map(|c| t.card(*c).uid).collect();
    assert!(top_uids.iter().all(|u| hand_uids.contains(u)));
    assert!(top.iter().all(|c| !t.state().table.cards.contains_key(c)));
    t.ok("a", json!({"type": "draw"}));
    assert_eq!(t.zone("a", ZoneKind::Hand).len(), 10);
    let e = t.err("a", json!({"type": "draw", "n": 51}));
    assert!(e.message.contains("has 50 cards"), "{}", e.message);

    let old = t.zone("a", ZoneKind::Hand);
    t.ok("a", json!({"type": "mulligan"}));
    let new = t.zone("a", ZoneKind::Hand);
    assert_eq!(new.len(), 7);
    assert!(new.iter().all(|c| !old.contains(c)));
    assert_eq!(t.zone("a", ZoneKind::Library).len(), 53);
    assert_eq!(t.state().table.players[&id("a")].mulligans, 1);
    assert!(t.state().table.check().is_ok());
}

#[test]
fn shuffle_renames_and_forgets() {
    let mut t = T::ready("mtg", &["a", "b"], 5);
    t.ok("a", json!({"type": "look", "n": 3}));
    let top = t.zone("a", ZoneKind::Library)[..3].to_vec();
    assert!(top.iter().all(|c| t.card(*c).known_to.contains(&id("a"))));
    t.ok("a", json!({"type": "shuffle"}));
    let lib = t.zone("a", ZoneKind::Library);
    assert_eq!(lib.len(), 53);
    assert!(lib.iter().all(|c| !top.contains(c)));
    assert!(lib.iter().all(|c| t.card(*c).known_to.is_empty()));
    assert!(
        t.view(Some("a"))["players"]["p_a"]["zones"]["library"]["cards"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_null)
    );
    let e = t.err("a", json!({"type": "shuffle", "zone": "graveyard"}));
    assert_eq!(e.code, ErrorCode::InvalidMove);
    assert_eq!(
        t.state().events.last().map(|e| &e.what),
        Some(&What::Shuffled {
            zone: ZoneKind::Library
        })
    );
}

#[test]
fn moves_between_zones_and_positions() {
    let mut t = T::ready("mtg", &["a", "b"], 6);
    let hand = t.zone("a", ZoneKind::Hand);
    let u = t.uids(&hand);
    // Hand to battlefield: public now, under fresh ids (nobody can tell which hand card it
    // was by its id).
    t.ok(
        "a",
        json!({"type": "move", "cards": [hand[0], hand[1]], "to": {"zone": "battlefield"}}),
    );
    let bf = t.zone("a", ZoneKind::Battlefield);
    assert_eq!(t.uids(&bf), vec![u[0], u[1]]);
    assert!(bf.iter().all(|c| !hand.contains(c)));
    // Bottom and index positions.
    t.ok(
        "a",
        json!({"type": "move", "cards": [hand[2]], "to": {"zone": "battlefield"}, "position": "bottom"}),
    );
    t.ok(
        "a",
        json!({"type": "move", "cards": [hand[3]], "to": {"zone": "battlefield"}, "position": 1}),
    );
    let bf = t.zone("a", ZoneKind::Battlefield);
    assert_eq!(t.uids(&bf), vec![u[0], u[3], u[1], u[2]]);
    // Reorder within a zone keeps the id.
    t.ok(
        "a",
        json!({"type": "move", "cards": [bf[3]], "to": {"zone": "battlefield"}, "position": "top"}),
    );
    assert_eq!(t.zone("a", ZoneKind::Battlefield)[0], bf[3]);
    // Control change to the opponent's battlefield, keeping the id.
    t.ok(
        "a",
        json!({"type": "move", "cards": [bf[0]], "to": {"zone": "battlefield", "player": "p_b"}}),
    );
    assert_eq!(t.card(bf[0]).controller, id("b"));
    assert_eq!(t.card(bf[0]).owner, id("a"));
    // Mill three by count, into the graveyard, top card first.
    let lib = t.zone("a", ZoneKind::Library)[..3].to_vec();
    let uids: Vec<u32> = lib.iter().map(|c| t.card(*c).uid).collect();
    t.ok(
        "a",
        json!({"type": "move", "from": {"zone": "library"}, "count": 3, "to": {"zone": "graveyard"}}),
    );
    let gy = t.zone("a", ZoneKind::Graveyard);
    assert!(
        gy.iter().all(|c| !lib.contains(c)),
        "out of the library under fresh ids"
    );
    assert_eq!(gy.iter().map(|c| t.card(*c).uid).collect::<Vec<_>>(), uids);
    // Public to public keeps the id.
    let kept = t.put("a", &gy[2..], json!({"zone": "exile"}));
    assert_eq!(kept, gy[2..].to_vec());
    // A card going into a hand gets a fresh id; the old one explains where it went.
    t.ok(
        "a",
        json!({"type": "move", "cards": [gy[0]], "to": {"zone": "hand"}}),
    );
    assert!(!t.state().table.cards.contains_key(&gy[0]));
    let e = t.err("b", json!({"type": "tap", "cards": [gy[0]]}));
    assert_eq!(e.code, ErrorCode::InvalidMove);
    assert!(e.message.contains("went to p_a's hand"), "{}", e.message);
    // The stack: controlled by whoever put it there.
    let h = t.zone("a", ZoneKind::Hand)[0];
    t.ok(
        "a",
        json!({"type": "move", "cards": [h], "to": {"zone": "stack"}}),
    );
    assert_eq!(t.state().table.stack.len(), 1);
    // Errors: bad shapes, unknown zones, unseen cards.
    let e = t.err("a", json!({"type": "move", "to": {"zone": "exile"}}));
    assert!(e.message.contains("either cards or a count"));
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [gy[1]], "to": {"zone": "bench"}}),
    );
    assert!(e.message.contains("no bench zone"), "{}", e.message);
    let b_hand = t.zone("b", ZoneKind::Hand);
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [b_hand[0]], "to": {"zone": "exile"}}),
    );
    assert!(e.message.contains("no card"), "{}", e.message);
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [gy[1], gy[1]], "to": {"zone": "exile"}}),
    );
    assert!(e.message.contains("twice"));
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [gy[1]], "to": {"zone": "hand"}, "face_down": true}),
    );
    assert_eq!(e.code, ErrorCode::InvalidMove);
    assert!(t.state().table.check().is_ok());
}

#[test]
fn conflicting_moves_first_wins() {
    let mut t = T::ready("mtg", &["a", "b"], 6);
    let h = t.zone("a", ZoneKind::Hand)[0];
    let c = t.put("a", &[h], json!({"zone": "battlefield"}))[0];
    let first = json!({"type": "move", "cards": [c], "from": {"zone": "battlefield", "player": "p_a"}, "to": {"zone": "graveyard", "player": "p_a"}});
    let second = json!({"type": "move", "cards": [c], "from": {"zone": "battlefield", "player": "p_a"}, "to": {"zone": "exile", "player": "p_a"}});
    assert!(Tcg.order_independent(&a(first.clone())));
    t.ok("b", first);
    let e = t.err("a", second);
    assert_eq!(e.code, ErrorCode::InvalidMove);
    assert_eq!(
        e.message,
        format!("card {c} is no longer in p_a's battlefield: it is now in p_a's graveyard")
    );
}

#[test]
fn face_down_cards_hide_their_face() {
    let mut t = T::ready("mtg", &["a", "b"], 7);
    let h = t.zone("a", ZoneKind::Hand)[0];
    let name = t.card(h).name.clone();
    let uid = t.card(h).uid;
    t.ok(
        "a",
        json!({"type": "move", "cards": [h], "to": {"zone": "battlefield"}, "face_down": true}),
    );
    let c = t.by_uid(uid);
    assert_ne!(
        c, h,
        "a face-down card cannot be told from the hand it left"
    );
    let mine = t.view(Some("a"));
    let theirs = t.view(Some("b"));
    let spec = t.view(None);
    let key = c.to_string();
    assert_eq!(mine["cards"][&key]["name"], json!(name));
    assert!(theirs["cards"][&key].get("name").is_none());
    assert_eq!(theirs["cards"][&key]["face_down"], json!(true));
    assert!(!spec.to_string().contains(&name));
    assert!(!theirs.to_string().contains(&name));
    t.ok(
        "a",
        json!({"type": "turn_face", "cards": [c], "face_down": false}),
    );
    assert_eq!(t.view(Some("b"))["cards"][&key]["name"], json!(name));
    let e = t.err(
        "a",
        json!({"type": "turn_face", "cards": [c], "face_down": false}),
    );
    assert!(e.message.contains("already face up"));
}

#[test]
fn reveal_to_one_or_all_and_look() {
    let mut t = T::ready("mtg", &["a", "b", "c"], 8);
    let h = t.zone("a", ZoneKind::Hand);
    let name = t.card(h[0]).name.clone();
    t.ok("a", json!({"type": "reveal", "cards": [h[0]], "to": "p_b"}));
    assert!(t.view(Some("b")).to_string().contains(&name));
    assert!(!t.view(Some("c")).to_string().contains(&name));
    assert!(!t.view(None).to_string().contains(&name));
    t.ok("a", json!({"type": "reveal", "cards": [h[0]]}));
    assert!(t.view(Some("c")).to_string().contains(&name));
    assert!(t.view(None).to_string().contains(&name));
    // Moving the card ends what the reveal showed.
    t.ok(
        "a",
        json!({"type": "move", "cards": [h[0]], "to": {"zone": "library"}}),
    );
    assert!(!t.view(Some("c")).to_string().contains(&name));
    assert!(!t.view(Some("a")).to_string().contains(&name));
    // You cannot reveal what you cannot see, nor to yourself.
    let bh = t.zone("b", ZoneKind::Hand);
    assert_eq!(
        t.err("a", json!({"type": "reveal", "cards": [bh[0]]})).code,
        ErrorCode::InvalidMove
    );
    assert_eq!(
        t.err("a", json!({"type": "reveal", "cards": [h[1]], "to": "p_a"}))
            .code,
        ErrorCode::InvalidMove
    );
    // Reveal the top two of the library to everyone.
    t.ok("a", json!({"type": "reveal", "top": 2}));
    let top = t.zone("a", ZoneKind::Library)[..2].to_vec();
    for c in &top {
        let n = t.card(*c).name.clone();
        assert!(t.view(None).to_string().contains(&n));
    }
    let lib = &t.view(Some("b"))["players"]["p_a"]["zones"]["library"];
    assert_eq!(lib["count"], json!(t.zone("a", ZoneKind::Library).len()));
    assert_eq!(lib["cards"][0], json!(top[0]));
    assert_eq!(lib["cards"][2], Value::Null);

    // Look: private to the looker, also at someone else's library.
    t.ok("c", json!({"type": "look", "n": 3, "player": "p_b"}));
    let btop = t.zone("b", ZoneKind::Library)[..3].to_vec();
    for c in &btop {
        let n = t.card(*c).name.clone();
        assert!(t.view(Some("c")).to_string().contains(&n));
        assert!(!t.view(Some("b")).to_string().contains(&n));
        assert!(!t.view(None).to_string().contains(&n));
    }
    assert_eq!(
        t.state().events.last().map(|e| &e.what),
        Some(&What::Looked {
            player: id("b"),
            n: 3
        })
    );
    assert_eq!(
        t.err("c", json!({"type": "look", "n": 0})).code,
        ErrorCode::InvalidMove
    );
}

#[test]
fn taps_and_counters() {
    let mut t = T::ready("mtg", &["a", "b"], 9);
    let hand = t.zone("a", ZoneKind::Hand);
    let played = t.put("a", &hand[..2], json!({"zone": "battlefield"}));
    let h = [played[0], played[1], hand[2], hand[3]];
    t.ok("b", json!({"type": "tap", "cards": [h[0]]}));
    assert!(t.card(h[0]).tapped);
    let e = t.err("a", json!({"type": "tap", "cards": [h[0], h[1]]}));
    assert!(e.message.contains("already tapped"));
    let e = t.err("a", json!({"type": "tap", "cards": [h[2]]}));
    assert!(e.message.contains("not in play"));
    t.ok("a", json!({"type": "tap", "cards": [h[1]]}));
    t.ok("a", json!({"type": "untap", "cards": [h[1]]}));
    assert!(!t.card(h[1]).tapped);
    assert!(
        t.err("a", json!({"type": "untap", "cards": [h[1]]}))
            .message
            .contains("already untapped")
    );
    t.ok("a", json!({"type": "tap", "cards": [h[1]]}));
    t.ok("a", json!({"type": "untap_all"}));
    assert!(!t.card(h[0]).tapped && !t.card(h[1]).tapped);

    t.ok(
        "a",
        json!({"type": "counter", "card": h[0], "name": "+1/+1", "delta": 2}),
    );
    t.ok(
        "b",
        json!({"type": "counter", "card": h[0], "name": "+1/+1", "delta": -1}),
    );
    assert_eq!(t.card(h[0]).counters["+1/+1"], 1);
    t.ok(
        "a",
        json!({"type": "counter", "card": h[0], "name": "+1/+1", "delta": -5}),
    );
    assert!(
        t.card(h[0]).counters.is_empty(),
        "floored at zero and removed"
    );
    assert_eq!(
        t.err(
            "a",
            json!({"type": "counter", "card": h[0], "name": "x", "delta": 0})
        )
        .code,
        ErrorCode::InvalidMove
    );
    assert!(
        t.err(
            "a",
            json!({"type": "counter", "card": h[3], "name": "x", "delta": 1})
        )
        .message
        .contains("public zones")
    );
    // Leaving the battlefield resets taps and counters.
    t.ok("a", json!({"type": "tap", "cards": [h[0]]}));
    t.ok(
        "a",
        json!({"type": "counter", "card": h[0], "name": "x", "delta": 3}),
    );
    t.ok(
        "a",
        json!({"type": "move", "cards": [h[0]], "to": {"zone": "graveyard"}}),
    );
    assert!(!t.card(h[0]).tapped && t.card(h[0]).counters.is_empty());
}

#[test]
fn attachments_in_mtg_stay_behind() {
    let mut t = T::ready("mtg", &["a", "b"], 10);
    let hand = t.zone("a", ZoneKind::Hand);
    let aura_uid = t.card(hand[1]).uid;
    let h = t.put("a", &hand[..1], json!({"zone": "battlefield"}));
    // Attaching from the hand puts the card onto the host's zone, right after it.
    t.ok("a", json!({"type": "attach", "card": hand[1], "to": h[0]}));
    let bf = t.zone("a", ZoneKind::Battlefield);
    assert_eq!(bf.len(), 2);
    let aura = bf[1];
    assert_eq!(t.card(aura).uid, aura_uid);
    assert_eq!(t.card(aura).attached_to, Some(h[0]));
    assert_eq!(
        t.err("a", json!({"type": "attach", "card": h[0], "to": aura}))
            .code,
        ErrorCode::InvalidMove
    );
    t.ok(
        "a",
        json!({"type": "move", "cards": [h[0]], "to": {"zone": "graveyard"}}),
    );
    assert_eq!(t.card(aura).attached_to, None);
    assert_eq!(t.zone("a", ZoneKind::Battlefield), vec![aura]);
    assert!(
        t.err("a", json!({"type": "detach", "card": aura}))
            .message
            .contains("not attached")
    );
    assert!(t.state().table.check().is_ok());
}

#[test]
fn pokemon_energy_follows_and_bench_is_limited() {
    let mut t = T::ready("pokemon", &["a", "b"], 11);
    let hand = t.zone("a", ZoneKind::Hand);
    let active = t.put("a", &hand[..1], json!({"zone": "active"}))[0];
    let h = [active, hand[1], hand[2]];
    t.ok("a", json!({"type": "attach", "card": h[1], "to": h[0]}));
    t.ok(
        "a",
        json!({"type": "counter", "card": h[0], "name": "damage", "delta": 30}),
    );
    // An attached energy does not take the active spot's one place.
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [h[2]], "to": {"zone": "active"}}),
    );
    assert!(e.message.contains("holds at most 1"), "{}", e.message);
    // Retreat: to the bench with its energy and damage.
    t.ok(
        "a",
        json!({"type": "move", "cards": [h[0]], "to": {"zone": "bench"}}),
    );
    let bench = t.zone("a", ZoneKind::Bench);
    assert_eq!(bench.len(), 2);
    let energy = bench[1];
    assert_eq!(t.card(energy).attached_to, Some(h[0]));
    assert_eq!(t.card(h[0]).counters["damage"], 30);
    // Knocked out: to the discard pile, energy too, detached.
    t.ok(
        "a",
        json!({"type": "move", "cards": [h[0]], "to": {"zone": "discard"}}),
    );
    assert_eq!(t.zone("a", ZoneKind::Discard).len(), 2);
    assert!(t.zone("a", ZoneKind::Bench).is_empty());
    assert_eq!(t.card(energy).attached_to, None);
    // Five on the bench at most.
    t.ok("a", json!({"type": "draw", "n": 2}));
    let h = t.zone("a", ZoneKind::Hand);
    t.ok(
        "a",
        json!({"type": "move", "cards": h[..5].to_vec(), "to": {"zone": "bench"}}),
    );
    let e = t.err(
        "a",
        json!({"type": "move", "cards": [h[5]], "to": {"zone": "bench"}}),
    );
    assert!(e.message.contains("holds at most 5"), "{}", e.message);
    // No stack, no life, no commander damage in Pokémon.
    assert!(
        t.err(
            "a",
            json!({"type": "move", "cards": [h[5]], "to": {"zone": "stack"}})
        )
        .message
        .contains("no stack")
    );
    assert!(
        t.err("a", json!({"type": "life", "delta": -1}))
            .message
            .contains("no life")
    );
    assert!(t.state().table.check().is_ok());
}

#[test]
fn life_and_player_counters() {
    let mut t = T::ready("commander", &["a", "b", "c"], 12);
    t.ok("a", json!({"type": "life", "delta": -3}));
    t.ok("b", json!({"type": "life", "player": "p_a", "delta": 1}));
    assert_eq!(t.life("a"), 38);
    t.ok(
        "a",
        json!({"type": "player_counter", "name": "energy", "delta": 2}),
    );
    t.ok(
        "a",
        json!({"type": "player_counter", "name": "energy", "delta": -5}),
    );
    assert!(t.state().table.players[&id("a")].counters.is_empty());
    t.ok(
        "b",
        json!({"type": "commander_damage", "player": "p_a", "from": "p_b", "delta": 5}),
    );
    assert_eq!(
        t.state().table.players[&id("a")].commander_damage[&id("b")],
        5
    );
    assert_eq!(t.life("a"), 33, "commander damage is life lost too");
    t.ok(
        "b",
        json!({"type": "commander_damage", "player": "p_a", "from": "p_b", "delta": -9}),
    );
    assert_eq!(
        t.life("a"),
        38,
        "a correction gives back only what was counted"
    );
    let e = t.err(
        "a",
        json!({"type": "commander_damage", "from": "p_a", "delta": 1}),
    );
    assert!(e.message.contains("not an opponent"));
    let mut m = T::ready("mtg", &["a", "b"], 12);
    assert!(
        m.err(
            "a",
            json!({"type": "commander_damage", "from": "p_b", "delta": 1})
        )
        .message
        .contains("no commander damage")
    );
    assert!(
        m.err("a", json!({"type": "life", "player": "z", "delta": 1}))
            .message
            .contains("not playing")
    );
}

#[test]
fn turns_and_steps() {
    let mut t = T::ready("mtg", &["a", "b", "c"], 13);
    let first = t.turn().player.clone();
    let other = t.state().table.next_alive(&first).unwrap();
    assert_eq!(t.view(None)["turn"]["step"], json!("untap"));
    assert_eq!(
        t.err(&other, json!({"type": "pass_turn"})).code,
        ErrorCode::NotYourTurn
    );
    t.ok(&first, json!({"type": "advance_phase"}));
    assert_eq!(t.view(None)["turn"]["step"], json!("upkeep"));
    t.ok(
        &first,
        json!({"type": "advance_phase", "to": "declare_attackers"}),
    );
    let v = t.view(None);
    assert_eq!(v["turn"]["phase"], json!("combat"));
    assert_eq!(v["turn"]["step"], json!("declare_attackers"));
    assert!(
        t.err(&first, json!({"type": "advance_phase", "to": "upkeep"}))
            .message
            .contains("not later")
    );
    t.ok(&first, json!({"type": "advance_phase", "to": "cleanup"}));
    t.ok(&first, json!({"type": "advance_phase"}));
    assert_eq!(t.turn().player, other, "past cleanup the turn passes");
    assert_eq!(t.turn().number, 2);
    assert_eq!(t.turn().step, 0);
    t.ok(&other, json!({"type": "pass_turn"}));
    assert_eq!(t.turn().number, 3);
    assert_ne!(t.turn().player, other);

    let mut p = T::ready("pokemon", &["a", "b"], 13);
    let first = p.turn().player.clone();
    for step in ["main", "attack", "pokemon_checkup"] {
        p.ok(&first, json!({"type": "advance_phase"}));
        assert_eq!(p.view(None)["turn"]["step"], json!(step));
    }
    p.ok(&first, json!({"type": "advance_phase"}));
    assert_ne!(p.turn().player, first);
    assert_eq!(
        p.view(None)["steps"],
        json!(["draw", "main", "attack", "pokemon_checkup"])
    );
}

#[test]
fn coin_and_die_use_the_room_rng() {
    let mut t = T::ready("mtg", &["a", "b"], 14);
    t.ok("a", json!({"type": "coin"}));
    t.ok("b", json!({"type": "roll", "sides": 20}));
    let mut u = T::ready("mtg", &["a", "b"], 14);
    u.ok("a", json!({"type": "coin"}));
    u.ok("b", json!({"type": "roll", "sides": 20}));
    assert_eq!(
        t.state().events,
        u.state().events,
        "same seed, same results"
    );
    let Some(What::Roll { sides, result }) = t.state().events.last().map(|e| e.what.clone()) else {
        panic!("no roll event");
    };
    assert_eq!(sides, 20);
    assert!((1..=20).contains(&result));
    assert!(
        t.state()
            .events
            .iter()
            .any(|e| matches!(e.what, What::Coin { .. }))
    );
    assert!(
        t.err("a", json!({"type": "roll", "sides": 1}))
            .message
            .contains("2 to 1000")
    );
    // Many rolls cover the faces.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        t.ok("a", json!({"type": "roll"}));
        if let Some(What::Roll { result, .. }) = t.state().events.last().map(|e| e.what.clone()) {
            seen.insert(result);
        }
    }
    assert_eq!(seen.len(), 6);
}

// ---- win checks -------------------------------------------------------------------------

#[test]
fn mtg_life_and_poison_losses() {
    let mut t = T::ready("mtg", &["a", "b"], 15);
    t.ok("b", json!({"type": "life", "player": "p_a", "delta": -20}));
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![id("b")], vec![id("a")]]
        }
    );
    assert_eq!(
        t.err("b", json!({"type": "draw"})).code,
        ErrorCode::GameOver
    );
    assert!(
        t.view(None)["players"]["p_a"]["lost"]
            .as_str()
            .unwrap()
            .contains("life total")
    );

    let mut t = T::ready("mtg", &["a", "b"], 15);
    t.ok(
        "b",
        json!({"type": "player_counter", "player": "p_a", "name": "poison", "delta": 9}),
    );
    assert_eq!(t.status(), Status::Playing);
    t.ok(
        "b",
        json!({"type": "player_counter", "player": "p_a", "name": "poison", "delta": 1}),
    );
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![id("b")], vec![id("a")]]
        }
    );
    // Restart: back to waiting with the decks kept.
    t.ok("a", json!({"type": "restart"}));
    assert_eq!(t.status(), Status::Waiting);
    t.ok("a", json!({"type": "start"}));
    assert_eq!(t.life("a"), 20);
}

#[test]
fn multiplayer_eliminations_rank_and_skip_turns() {
    let mut t = T::ready("mtg", &["a", "b", "c"], 16);
    let first = t.turn().player.clone();
    let next = t.state().table.next_alive(&first).unwrap();
    t.ok(
        &next,
        json!({"type": "life", "player": first.as_str(), "delta": -25}),
    );
    assert_eq!(t.status(), Status::Playing);
    assert_eq!(
        t.turn().player,
        next,
        "the turn leaves an eliminated player"
    );
    assert!(
        t.err(&first, json!({"type": "coin"}))
            .message
            .contains("you have lost")
    );
    assert!(
        t.err(
            &next,
            json!({"type": "life", "player": first.as_str(), "delta": 1})
        )
        .message
        .contains("has lost")
    );
    let third = t.state().table.next_alive(&next).unwrap();
    t.ok(&third, json!({"type": "concede"}));
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![next], vec![third], vec![first]]
        }
    );
}

#[test]
fn commander_damage_kills_at_21_from_one_commander() {
    let mut t = T::ready("commander", &["a", "b", "c"], 17);
    t.ok(
        "b",
        json!({"type": "commander_damage", "player": "p_a", "from": "p_b", "delta": 20}),
    );
    t.ok(
        "c",
        json!({"type": "commander_damage", "player": "p_a", "from": "p_c", "delta": 15}),
    );
    assert_eq!(t.life("a"), 5);
    assert!(
        t.state().table.players[&id("a")].lost.is_none(),
        "20 + 15 from two is not lethal"
    );
    t.ok(
        "b",
        json!({"type": "commander_damage", "player": "p_a", "from": "p_b", "delta": 1}),
    );
    let lost = t.state().table.players[&id("a")].lost.clone().unwrap();
    assert!(lost.contains("21 commander damage from p_b"), "{lost}");
    assert_eq!(t.status(), Status::Playing);
}

#[test]
fn pokemon_prize_cards_are_set_aside_after_the_mulligans() {
    let mut t = T::ready("pokemon", &["a", "b"], 19);
    for p in ["a", "b"] {
        assert_eq!(t.zone(p, ZoneKind::Hand).len(), 7);
        assert!(
            t.zone(p, ZoneKind::Prizes).is_empty(),
            "no prizes before the mulligans"
        );
        assert_eq!(t.zone(p, ZoneKind::Deck).len(), 53);
    }
    t.ok("a", json!({"type": "mulligan"}));
    t.ok("a", json!({"type": "mulligan"}));
    assert!(t.zone("a", ZoneKind::Prizes).is_empty());
    assert_eq!(t.zone("a", ZoneKind::Deck).len(), 53);
    // p_a's first other action ends p_a's mulligans: the top six of the deck as it now stands
    // become the prize cards, face down, and the action itself goes through.
    let prizes = |t: &T| {
        let mut uids = t.uids(&t.zone("a", ZoneKind::Prizes));
        uids.sort_unstable();
        uids
    };
    let mut top: Vec<u32> = t.uids(&t.zone("a", ZoneKind::Deck)[..6]);
    top.sort_unstable();
    let basic = t.zone("a", ZoneKind::Hand)[0];
    t.ok(
        "a",
        json!({"type": "move", "cards": [basic], "to": {"zone": "active"}, "face_down": true}),
    );
    assert_eq!(prizes(&t), top);
    assert_eq!(t.zone("a", ZoneKind::Deck).len(), 47);
    assert_eq!(t.zone("a", ZoneKind::Active).len(), 1);
    assert!(
        t.zone("b", ZoneKind::Prizes).is_empty(),
        "b is still setting up"
    );
    // Undo takes the prizes back with the action that set them aside; redo sets the same.
    t.undo("a");
    assert!(t.zone("a", ZoneKind::Prizes).is_empty());
    assert_eq!(t.zone("a", ZoneKind::Deck).len(), 53);
    t.redo("a");
    assert_eq!(prizes(&t), top);
    // A mulligan afterwards is a reshuffle of the hand only: the prizes stay.
    t.ok("a", json!({"type": "mulligan"}));
    assert_eq!(prizes(&t), top);
    // Once the first turn moves on, everyone's setup is over.
    let first = t.state().table.turn.as_ref().unwrap().player.clone();
    t.ok(&first, json!({"type": "advance_phase"}));
    for p in ["a", "b"] {
        assert_eq!(t.zone(p, ZoneKind::Prizes).len(), 6, "{p}");
    }
    assert_eq!(t.status(), Status::Playing, "nobody has taken a prize yet");
}

#[test]
fn pokemon_taking_the_last_prize_wins() {
    let mut t = T::ready("pokemon", &["a", "b"], 18);
    for i in 0..5 {
        t.ok(
            "a",
            json!({"type": "move", "from": {"zone": "prizes"}, "count": 1, "to": {"zone": "hand"}}),
        );
        assert_eq!(t.zone("a", ZoneKind::Prizes).len(), 5 - i);
        assert_eq!(t.status(), Status::Playing);
    }
    // b having prizes left does not make a lose (the reference's inverted rule would).
    t.ok(
        "a",
        json!({"type": "move", "from": {"zone": "prizes"}, "count": 1, "to": {"zone": "hand"}}),
    );
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![id("a")], vec![id("b")]]
        }
    );
    assert!(
        t.state()
            .events
            .iter()
            .any(|e| e.what == What::Won { player: id("a") })
    );
}

#[test]
fn leaving_a_game_in_progress_loses_it() {
    let mut t = T::ready("mtg", &["a", "b"], 19);
    t.leave("a");
    assert_eq!(
        t.status(),
        Status::Finished {
            ranking: vec![vec![id("b")], vec![id("a")]]
        }
    );
    assert!(
        t.state().table.check().is_ok(),
        "their cards stay on the table"
    );
    assert!(
        !t.pt.seats().contains(&id("a")),
        "the engine freed the seat"
    );
    let listed = &t.view(Some("b"))["players"]["p_a"];
    assert_eq!(listed["name"], "a", "the leaver is still listed by name");
    assert_eq!(t.view(Some("b"))["players"]["p_b"]["name"], "b");
    t.pt.check_replay().unwrap();
    let mut w = T::seated("mtg", &["a", "b"], 19);
    w.leave("a");
    assert_eq!(w.state().seats.len(), 1);
}

// ---- tokens -----------------------------------------------------------------------------

/// The tokens on the table, as (name, owner, zone).
fn tokens(t: &T) -> Vec<(String, PlayerId, ZoneKind)> {
    let table = &t.state().table;
    let mut out: Vec<(String, PlayerId, ZoneKind)> = table
        .all_zones()
        .flat_map(|(loc, ids)| {
            ids.iter()
                .filter(|c| table.cards[c].token)
                .map(|c| {
                    (
                        table.cards[c].name.clone(),
                        table.cards[c].owner.clone(),
                        loc.zone,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_token_is_created_in_play_for_a_player_and_undone_like_any_action() {
    let mut t = T::ready("mtg", &["a", "b"], 31);
    let cards = t.state().table.cards.len();
    t.ok(
        "a",
        json!({"type": "create_token", "name": "Goblin 1/1", "count": 2}),
    );
    t.ok(
        "a",
        json!({"type": "create_token", "name": "Treasure", "to": {"zone": "battlefield", "player": "p_b"}}),
    );
    assert_eq!(
        tokens(&t),
        vec![
            ("Goblin 1/1".into(), id("a"), ZoneKind::Battlefield),
            ("Goblin 1/1".into(), id("a"), ZoneKind::Battlefield),
            ("Treasure".into(), id("b"), ZoneKind::Battlefield),
        ]
    );
    assert_eq!(t.state().table.cards.len(), cards + 3);
    t.state().table.check().expect("consistent");
    // Everyone sees a token, marked as one.
    let treasure = t.zone("b", ZoneKind::Battlefield)[0];
    let spec = t.view(None);
    assert_eq!(
        spec["cards"][treasure.to_string()]["name"],
        json!("Treasure")
    );
    assert_eq!(spec["cards"][treasure.to_string()]["token"], json!(true));
    assert_eq!(spec["cards"][treasure.to_string()]["owner"], json!("p_b"));
    // A token is a card in play: it taps and carries counters.
    t.ok("b", json!({"type": "tap", "cards": [treasure]}));
    // Undo takes the creation back, redo makes it again.
    let before_undo = t.state().clone();
    t.undo("b");
    t.undo("a");
    assert_eq!(tokens(&t).len(), 2);
    t.redo("a");
    t.redo("b");
    assert_eq!(*t.state(), before_undo);
    // Leaving play, a token is gone: to the graveyard, a hand or the library alike.
    t.ok(
        "b",
        json!({"type": "move", "cards": [treasure], "to": {"zone": "graveyard"}}),
    );
    assert_eq!(tokens(&t).len(), 2);
    assert!(t.zone("b", ZoneKind::Graveyard).is_empty());
    assert_eq!(t.state().table.cards.len(), cards + 2);
    let e = t.err("b", json!({"type": "tap", "cards": [treasure]}));
    assert!(e.message.contains("no longer there"), "{}", e.message);
    let goblin = t.zone("a", ZoneKind::Battlefield)[0];
    t.ok(
        "a",
        json!({"type": "move", "cards": [goblin], "to": {"zone": "hand"}}),
    );
    assert_eq!(tokens(&t).len(), 1);
    assert_eq!(t.zone("a", ZoneKind::Hand).len(), 7);
    // ... and undoing that move brings it back into play.
    t.undo("a");
    assert_eq!(tokens(&t).len(), 2);
    t.state().table.check().expect("consistent");
}

#[test]
fn bad_tokens_are_refused_and_change_nothing() {
    let mut t = T::ready("pokemon", &["a", "b"], 32);
    let long = "x".repeat(121);
    for v in [
        json!({"type": "create_token", "name": ""}),
        json!({"type": "create_token", "name": "   "}),
        json!({"type": "create_token", "name": long}),
        json!({"type": "create_token", "name": "a\nb"}),
        json!({"type": "create_token", "name": "Pikachu", "count": 0}),
        json!({"type": "create_token", "name": "Pikachu", "count": 21}),
        json!({"type": "create_token", "name": "Pikachu", "to": {"zone": "hand"}}),
        json!({"type": "create_token", "name": "Pikachu", "to": {"zone": "battlefield"}}),
        json!({"type": "create_token", "name": "Pikachu", "to": {"zone": "bench", "player": "zed"}}),
        json!({"type": "create_token", "name": "Pikachu", "to": {"zone": "bench"}, "count": 6}),
        json!({"type": "create_token", "name": "Pikachu", "to": {"zone": "active"}, "count": 2}),
    ] {
        let e = t.err("a", v.clone());
        assert_eq!(e.code, ErrorCode::InvalidMove, "{v}");
    }
    assert!(serde_json::from_value::<Action>(json!({"type": "create_token"})).is_err());
    assert!(
        serde_json::from_value::<Action>(
            json!({"type": "create_token", "name": "x", "tapped": true})
        )
        .is_err()
    );
    // The default place in Pokémon is your bench, which holds five.
    t.ok(
        "a",
        json!({"type": "create_token", "name": "Pikachu", "count": 5}),
    );
    assert_eq!(t.zone("a", ZoneKind::Bench).len(), 5);
    let e = t.err("a", json!({"type": "create_token", "name": "Pikachu"}));
    assert!(e.message.contains("at most 5"), "{}", e.message);
}

// ---- undo and redo ----------------------------------------------------------------------

fn battlefield_pair(t: &mut T) -> (CardId, CardId) {
    let ha = t.zone("a", ZoneKind::Hand)[0];
    let hb = t.zone("b", ZoneKind::Hand)[0];
    let ca = t.put("a", &[ha], json!({"zone": "battlefield"}))[0];
    let cb = t.put("b", &[hb], json!({"zone": "battlefield"}))[0];
    (ca, cb)
}

#[test]
fn undo_and_redo_own_actions() {
    let mut t = T::ready("mtg", &["a", "b"], 20);
    let (ca, _) = battlefield_pair(&mut t);
    assert_eq!(t.stacks(), (0, 0), "playing from a hand reveals: sealed");
    let views = |t: &T| (t.view(Some("a")), t.view(Some("b")), t.view(None));
    let before = views(&t);
    t.ok("a", json!({"type": "tap", "cards": [ca]}));
    t.ok("a", json!({"type": "life", "delta": -2}));
    let after = views(&t);
    assert_eq!(t.stacks(), (2, 0));
    t.undo("a");
    assert_eq!(t.life("a"), 20);
    t.undo("a");
    assert!(!t.card(ca).tapped);
    // Every viewer's table is exactly as before, its events included.
    assert_eq!(views(&t), before);
    let no_undo = t.refused(|pt| pt.undo(&id("a")));
    assert!(no_undo.contains("no action to undo"), "{no_undo}");
    // Redo both, in order.
    t.redo("a");
    assert!(t.card(ca).tapped);
    t.redo("a");
    assert_eq!(t.life("a"), 18);
    assert_eq!(views(&t), after);
    let no_redo = t.refused(|pt| pt.redo(&id("a")));
    assert!(no_redo.contains("nothing to redo"), "{no_redo}");
    // Undo, then a new action: no more redo.
    t.undo("a");
    t.ok("b", json!({"type": "life", "delta": -1}));
    assert_eq!(t.stacks().1, 0);
    t.refused(|pt| pt.redo(&id("a")));
    t.pt.check_replay().expect("replay reproduces the stacks");
}

#[test]
fn hidden_information_ends_the_undo_window() {
    let mut t = T::ready("mtg", &["a", "b"], 21);
    let (ca, _) = battlefield_pair(&mut t);
    for (action, reveals) in [
        (json!({"type": "draw"}), true),
        (json!({"type": "look", "n": 1}), true),
        (json!({"type": "reveal", "top": 1}), true),
        (json!({"type": "coin"}), true),
        (json!({"type": "roll"}), true),
        (json!({"type": "mulligan"}), true),
        (json!({"type": "shuffle"}), false),
        (
            json!({"type": "move", "from": {"zone": "library"}, "count": 1, "to": {"zone": "library"}, "position": "bottom"}),
            false,
        ),
        (
            json!({"type": "move", "from": {"zone": "library"}, "count": 1, "to": {"zone": "graveyard"}}),
            true,
        ),
    ] {
        t.ok("a", json!({"type": "tap", "cards": [ca]}));
        assert_eq!(t.stacks(), (1, 0));
        t.ok("a", action.clone());
        if reveals {
            assert_eq!(t.stacks(), (0, 0), "{action} seals");
            t.refused(|pt| pt.undo(&id("a")));
            t.ok("a", json!({"type": "untap", "cards": [ca]}));
        } else {
            assert_eq!(t.stacks(), (2, 0), "{action} reveals nothing");
            t.undo("a");
            t.undo("a");
            assert!(!t.card(ca).tapped);
        }
        // A die roll closes every window before the next round.
        t.ok("b", json!({"type": "roll"}));
        assert_eq!(t.stacks(), (0, 0));
    }
    // Playing a card face down from the hand reveals nothing to the others: undoable, and the
    // card comes back to the hand with its id of before.
    let h = t.zone("a", ZoneKind::Hand)[0];
    t.ok(
        "a",
        json!({"type": "move", "cards": [h], "to": {"zone": "battlefield"}, "face_down": true}),
    );
    t.undo("a");
    assert!(t.zone("a", ZoneKind::Hand).contains(&h));
    // Face up, it does.
    t.ok(
        "a",
        json!({"type": "move", "cards": [h], "to": {"zone": "battlefield"}}),
    );
    assert_eq!(t.stacks(), (0, 0));
}

#[test]
fn a_loss_cannot_be_undone() {
    let mut t = T::ready("mtg", &["a", "b", "c"], 25);
    t.ok("a", json!({"type": "life", "delta": -5}));
    assert_eq!(t.stacks(), (1, 0));
    t.ok("b", json!({"type": "life", "delta": -20}));
    assert!(t.state().table.players[&id("b")].lost.is_some());
    assert_eq!(t.stacks(), (0, 0), "the loss closed every window");
    t.refused(|pt| pt.undo(&id("b")));
    t.refused(|pt| pt.ask_undo(&id("a")));
}

#[test]
fn undoing_someone_elses_action_needs_consent() {
    let mut t = T::ready("mtg", &["a", "b", "c"], 22);
    let (ca, _) = battlefield_pair(&mut t);
    t.ok("b", json!({"type": "tap", "cards": [ca]}));
    let e = t.refused(|pt| pt.undo(&id("a")));
    assert!(e.contains("p_b's"), "{e}");
    // Asked: a proposal waiting for b.
    let v = t.pt.ask_undo(&id("a")).expect("asked");
    let open = t.pt.proposal().cloned().expect("open");
    assert_eq!((open.id, &open.by, &open.of), (v, &id("a"), &id("b")));
    assert_eq!(open.waiting, vec![id("b")]);
    let e = t.refused(|pt| pt.ask_undo(&id("c")));
    assert!(e.contains("already asked"), "{e}");
    let e = t.refused(|pt| pt.consent(&id("c"), v, true));
    assert!(e.contains("does not wait for your consent"), "{e}");
    // b refuses: nothing changes on the table.
    t.pt.consent(&id("b"), v, false).expect("refused");
    assert!(t.card(ca).tapped);
    assert!(t.pt.proposal().is_none());
    t.refused(|pt| pt.consent(&id("b"), v, true));
    // Asked again and accepted: undone, and the asker may redo it; a bystander may not.
    let v = t.pt.ask_undo(&id("a")).expect("asked");
    t.pt.consent(&id("b"), v, true).expect("accepted");
    assert!(!t.card(ca).tapped);
    t.refused(|pt| pt.redo(&id("c")));
    t.redo("a");
    assert!(t.card(ca).tapped);
    // The asker withdraws; a new action also drops an open proposal.
    let v = t.pt.ask_undo(&id("c")).expect("asked");
    t.pt.consent(&id("c"), v, false).expect("withdrawn");
    t.pt.ask_undo(&id("c")).expect("asked");
    t.ok("a", json!({"type": "life", "delta": -1}));
    assert!(t.pt.proposal().is_none());
    // Unanswered, a proposal lapses after the room's time for consent.
    t.pt.ask_undo(&id("c")).expect("asked");
    t.pt.advance(30_000);
    assert!(t.pt.proposal().is_none());
    assert_eq!(t.life("a"), 19);
    t.pt.check_replay()
        .expect("replay reproduces the proposals");
}

#[test]
fn the_undo_stack_is_bounded_and_never_shown() {
    let mut t = T::with(json!({"undo_depth": 3}), &["a", "b"], 23);
    for p in ["a", "b"] {
        t.ok(p, json!({"type": "submit_deck", "list": deck("mtg", p)}));
    }
    t.ok("a", json!({"type": "start"}));
    for _ in 0..5 {
        t.ok("a", json!({"type": "life", "delta": -1}));
    }
    assert_eq!(t.stacks(), (3, 0), "the room keeps its undo_depth");
    for _ in 0..3 {
        t.undo("a");
    }
    assert_eq!(t.life("a"), 18);
    t.refused(|pt| pt.undo(&id("a")));
    // Put a hand card into the library, undo it: the stored steps hold the card, the views do
    // not.
    let h = t.zone("a", ZoneKind::Hand)[0];
    let name = t.card(h).name.clone();
    t.ok(
        "a",
        json!({"type": "move", "cards": [h], "to": {"zone": "library"}}),
    );
    t.undo("a");
    assert_eq!(t.stacks().1, 1);
    assert!(!t.view(Some("b")).to_string().contains(&name));
    assert!(!t.view(None).to_string().contains(&name));
}

#[test]
fn order_independence() {
    for v in [
        json!({"type": "life", "delta": 1}),
        json!({"type": "player_counter", "name": "poison", "delta": 1}),
        json!({"type": "commander_damage", "from": "p_b", "delta": 1}),
        json!({"type": "counter", "card": 1, "name": "x", "delta": 1}),
        json!({"type": "tap", "cards": [1]}),
        json!({"type": "untap", "cards": [1]}),
        json!({"type": "untap_all"}),
        json!({"type": "move", "cards": [1], "from": {"zone": "battlefield"}, "to": {"zone": "graveyard"}}),
    ] {
        assert!(Tcg.order_independent(&a(v.clone())), "{v}");
    }
    for v in [
        json!({"type": "move", "cards": [1], "to": {"zone": "graveyard"}}),
        json!({"type": "move", "from": {"zone": "library"}, "count": 1, "to": {"zone": "graveyard"}}),
        json!({"type": "draw"}),
        json!({"type": "pass_turn"}),
        json!({"type": "shuffle"}),
    ] {
        assert!(!Tcg.order_independent(&a(v.clone())), "{v}");
    }
}

#[test]
fn views_show_counts_of_hidden_zones() {
    let t = T::ready("mtg", &["a", "b"], 24);
    let a_view = t.view(Some("a"));
    let b_view = t.view(Some("b"));
    let spec = t.view(None);
    let hand = t.zone("a", ZoneKind::Hand);
    assert_eq!(a_view["you"], json!("p_a"));
    assert_eq!(spec["you"], Value::Null);
    assert_eq!(
        a_view["players"]["p_a"]["zones"]["hand"]["cards"],
        json!(hand)
    );
    assert_eq!(b_view["players"]["p_a"]["zones"]["hand"]["count"], json!(7));
    assert!(
        b_view["players"]["p_a"]["zones"]["hand"]["cards"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_null)
    );
    assert_eq!(
        spec["players"]["p_b"]["zones"]["library"]["count"],
        json!(53)
    );
    assert_eq!(spec["cards"], json!({}), "nothing public yet");
    assert_eq!(a_view["cards"].as_object().unwrap().len(), 7);
    assert_eq!(
        a_view["players"]["p_b"]["deck"],
        json!({"submitted": true, "size": 60})
    );
}

// ---- properties -------------------------------------------------------------------------

/// A random action, decided against the current state so it names cards that exist.
#[derive(Debug, Clone)]
struct Pick {
    actor: usize,
    kind: u8,
    x: usize,
    y: usize,
    n: u32,
}

fn pick() -> impl Strategy<Value = Pick> {
    (0usize..3, 0u8..24, 0usize..64, 0usize..64, 1u32..4).prop_map(|(actor, kind, x, y, n)| Pick {
        actor,
        kind,
        x,
        y,
        n,
    })
}

/// Cards `who` sees the id of, in a stable order.
fn visible(t: &T, who: &PlayerId) -> Vec<CardId> {
    let table = &t.state().table;
    let mut out: Vec<CardId> = table
        .all_zones()
        .flat_map(|(loc, ids)| {
            ids.iter()
                .filter(|c| table.sees_id(who, **c, &loc))
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_unstable();
    out
}

fn concrete(t: &T, players: &[&str], p: &Pick, format: &str) -> (String, Value) {
    let who = players[p.actor % players.len()].to_owned();
    let me = id(&who);
    let other = players[(p.actor + 1 + p.y % (players.len() - 1)) % players.len()];
    let vis = visible(t, &me);
    let card = |k: usize| vis.get(k % vis.len().max(1)).copied().unwrap_or(0);
    // Cards in public zones, where taps, counters and attachments apply.
    let table = &t.state().table;
    let public: Vec<CardId> = vis
        .iter()
        .filter(|c| table.locate(**c).is_some_and(|(l, _)| l.zone.is_public()))
        .copied()
        .collect();
    let played = |k: usize| {
        public
            .get(k % public.len().max(1))
            .copied()
            .unwrap_or_else(|| card(k))
    };
    let zones: &[&str] = if format == "pokemon" {
        &[
            "deck",
            "hand",
            "active",
            "bench",
            "bench",
            "prizes",
            "discard",
            "lost_zone",
        ]
    } else {
        &[
            "library",
            "hand",
            "battlefield",
            "battlefield",
            "graveyard",
            "exile",
            "command",
            "stack",
        ]
    };
    let zone = zones[p.y % zones.len()];
    let owner = if p.y.is_multiple_of(3) {
        other
    } else {
        who.as_str()
    };
    let pos = match p.n {
        1 => json!("top"),
        2 => json!("bottom"),
        _ => json!(p.x % 5),
    };
    let v = match p.kind {
        0 => json!({"type": "draw", "n": p.n}),
        1 => {
            json!({"type": "move", "cards": [card(p.x)], "to": {"zone": zone, "player": owner}, "position": pos})
        }
        2 => {
            json!({"type": "move", "cards": [card(p.x), card(p.x + 1)], "to": {"zone": zone, "player": owner}, "face_down": p.n == 3})
        }
        3 => {
            json!({"type": "move", "from": {"zone": zones[p.x % zones.len()], "player": owner}, "count": p.n, "to": {"zone": zone}})
        }
        4 => json!({"type": "tap", "cards": [played(p.x)]}),
        5 => json!({"type": "untap", "cards": [played(p.x)]}),
        6 => {
            json!({"type": "counter", "card": played(p.x), "name": "c", "delta": (p.n as i64) - 2})
        }
        7 => json!({"type": "attach", "card": card(p.x), "to": played(p.y)}),
        8 => json!({"type": "detach", "card": played(p.x)}),
        9 => json!({"type": "reveal", "cards": [card(p.x)], "to": other}),
        10 => json!({"type": "reveal", "top": p.n}),
        11 => json!({"type": "look", "n": p.n, "player": owner}),
        12 => json!({"type": "shuffle"}),
        13 => json!({"type": "mulligan"}),
        14 => {
            json!({"type": "turn_face", "cards": [played(p.x)], "face_down": p.n.is_multiple_of(2)})
        }
        // Not game actions: the engine's undo, redo, ask and consent (see `run`).
        15 => json!({"type": "undo"}),
        16 => json!({"type": "redo"}),
        17 => json!({"type": "ask_undo"}),
        18 => json!({"type": "consent"}),
        19 => json!({"type": "advance_phase"}),
        20 => json!({"type": "untap_all"}),
        21 => {
            // One at a time, named after the uid it gets, so a name pins down one card.
            let uid = table.cards.values().map(|c| c.uid).max().unwrap_or(0) + 1;
            json!({"type": "create_token", "name": format!("<token {uid}>"), "to": {"zone": zone, "player": owner}})
        }
        _ => json!({"type": "life", "player": owner, "delta": 1}),
    };
    (who, v)
}

/// May `viewer` (a player, or a spectator when `None`) know the face of `c`? The rule, stated
/// independently of the view code.
fn may_know(t: &T, viewer: Option<&PlayerId>, c: CardId, loc: &Loc) -> bool {
    let card = t.card(c);
    if card.revealed {
        return true;
    }
    let Some(v) = viewer else {
        return loc.zone.is_public() && !card.face_down;
    };
    if card.known_to.contains(v) {
        return true;
    }
    match loc.zone {
        ZoneKind::Hand => loc.player.as_ref() == Some(v),
        ZoneKind::Library | ZoneKind::Deck | ZoneKind::Prizes => false,
        _ => !card.face_down || &card.controller == v,
    }
}

fn check_everything(t: &T, players: &[&str], per_player: usize) {
    let table = &t.state().table;
    table.check().expect("every card in exactly one zone");
    for (owner, n) in table.cards_by_owner() {
        assert_eq!(n, per_player, "{owner} keeps all their cards");
    }
    for (loc, ids) in table.all_zones() {
        for c in ids {
            assert!(
                !table.cards[c].token || loc.zone.in_play(),
                "a token outside play, in {loc:?}"
            );
        }
    }
    let viewers: Vec<Option<PlayerId>> = players
        .iter()
        .map(|p| Some(id(p)))
        .chain(std::iter::once(None))
        .collect();
    let locs: BTreeMap<CardId, Loc> = table
        .all_zones()
        .flat_map(|(loc, ids)| {
            ids.iter()
                .map(move |c| (*c, loc.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    for viewer in &viewers {
        let v =
            t.pt.view(&viewer.clone().map_or(Viewer::Spectator, Viewer::Player));
        let text = v.to_string();
        for (c, card) in &table.cards {
            let loc = &locs[c];
            let known = may_know(t, viewer.as_ref(), *c, loc);
            assert_eq!(
                text.contains(&card.name),
                known,
                "{viewer:?} and {} ({c}) in {loc:?}",
                card.name,
            );
            let listed = v["cards"].get(c.to_string()).is_some();
            assert_eq!(
                listed,
                known || loc.zone.is_public(),
                "{viewer:?} sees id {c}"
            );
        }
    }
}

fn run(format: &str, players: &[&str], picks: &[Pick], seed: u64) {
    let mut t = T::ready(format, players, seed);
    let per = if format == "commander" { 100 } else { 60 };
    check_everything(&t, players, per);
    for p in picks {
        let (who, v) = concrete(&t, players, p, format);
        // Refusals are expected (random picks); the state must hold either way.
        let before = t.state().clone();
        let player = id(&who);
        let pt = &mut t.pt;
        let acted = match v["type"].as_str() {
            Some("undo") => pt.undo(&player).map(|_| false),
            Some("redo") => pt.redo(&player).map(|_| false),
            Some("ask_undo") => pt.ask_undo(&player).map(|_| false),
            Some("consent") => {
                let open = pt.proposal().map_or(0, |p| p.id);
                pt.consent(&player, open, true).map(|_| false)
            }
            _ => t.act(who.as_str(), v).map(|()| true),
        };
        // An action that was not kept for undo emptied both stacks.
        if acted.unwrap_or(false) && t.stacks().0 > 0 {
            // An undoable action: undo gives back exactly the room before, redo the after.
            let mut u = t.clone();
            u.undo(&player);
            assert_eq!(*u.state(), before);
            u.redo(&player);
            assert_eq!(u.state(), t.state());
        }
        check_everything(&t, players, per);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn mtg_random_tables_keep_cards_and_secrets(
        picks in proptest::collection::vec(pick(), 1..36),
        seed in 0u64..1000,
    ) {
        run("mtg", &["a", "b", "c"], &picks, seed);
    }

    #[test]
    fn pokemon_random_tables_keep_cards_and_secrets(
        picks in proptest::collection::vec(pick(), 1..36),
        seed in 0u64..1000,
    ) {
        run("pokemon", &["a", "b"], &picks, seed);
    }
}
