//! A trading-card-game table for MTG, Commander and Pokémon, with undo and redo.
//!
//! Rules (docs/games/tcg.md): rules-light, as at a real table — the players enforce the cards'
//! rules — but exact about zones, visibility, turns and history. Players sit down while the
//! table waits and each submits a deck list (`submit_deck`, checked against the format's size
//! limits); any player starts once enough are seated and every deck is in. The server builds
//! the cards, shuffles every library with the room's RNG, picks the first player at random
//! and deals the opening hands (and Pokémon prize cards). Then anyone may act at any time on
//! any card they can see; only the active player passes the turn or advances its steps.
//!
//! Losses are checked after every entry by the format: life ≤ 0, ten poison counters, 21
//! commander damage from one opponent's commander; in Pokémon a player who has taken their
//! last prize card wins.
//!
//! Layout: `format` (the adapters), `table` (cards and zones), `play` (the table actions),
//! `view` (what each viewer sees); this file holds seats, decks, the game's phases and the
//! dispatch.
//!
//! Undo and redo are the engine's (`undo`, `redo`, `consent`; docs/protocol.md): every table
//! action is undoable unless it revealed something — after it, some player can identify a
//! card they could not before (a draw, a look, a card played face up from a hand, a
//! mulligan) — or someone lost. Those close every undo window ([`Ctx::reveal`]). Coins, dice
//! and concessions are never undoable.

mod format;
mod play;
mod table;
#[cfg(test)]
mod tests;
mod view;

pub use format::{DeckEntry, FormatName};
pub use table::{Card, CardId, End, Loc, PlayerTable, Position, Table, Turn, ZoneKind};

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, GameRng, Seats, Status, Viewer};
use format::Format;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcg;

/// Events kept for the view.
const EVENTS_KEPT: usize = 30;

/// Room options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The format: `mtg` (default), `commander` or `pokemon`.
    pub format: FormatName,
    /// Most undoable actions remembered (1–100; the engine keeps at most 32).
    pub undo_depth: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            format: FormatName::Mtg,
            undo_depth: 20,
        }
    }
}

/// Where the game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Players sit down and submit decks.
    Waiting,
    /// The game is on.
    Playing,
    /// Decided; a restart goes back to waiting with the same decks.
    Over,
}

/// A player's place in the game (their name is in the engine's seats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// Left during the game, under this name: they stay listed (eliminated) though their
    /// engine seat is free.
    pub left: Option<String>,
    /// Join order (not the engine's seat number, which reuses a leaver's); the turn order
    /// follows it.
    pub order: u32,
    /// The submitted deck list.
    pub deck: Option<Vec<DeckEntry>>,
}

/// A zone named in an action: a player's zone (the actor's when `player` is left out) or
/// the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// The kind of zone.
    pub zone: ZoneKind,
    /// Whose zone; the actor's when absent. Ignored for the stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub player: Option<PlayerId>,
}

/// Something that happened, kept for every viewer (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Running number. Named `seq` on the wire: `n` is a field of some events' own data
    /// (`draw`), and the two would collide in the flattened object.
    #[serde(rename = "seq")]
    pub n: u64,
    /// Who did it (`None` for the table itself).
    pub by: Option<PlayerId>,
    /// What happened.
    #[serde(flatten)]
    pub what: What,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum What {
    /// The game started; `first` takes the first turn.
    Started {
        /// The first player.
        first: PlayerId,
    },
    /// Cards were drawn.
    Drew {
        /// How many.
        n: u32,
    },
    /// A mulligan.
    Mulligan {
        /// The new hand's size.
        hand: u32,
    },
    /// A zone was shuffled.
    Shuffled {
        /// Which one.
        zone: ZoneKind,
    },
    /// Someone looked at the top of a library.
    Looked {
        /// Whose library.
        player: PlayerId,
        /// How many cards.
        n: u32,
    },
    /// Cards were revealed.
    Revealed {
        /// Their ids.
        cards: Vec<CardId>,
        /// To one player, or to everyone when absent.
        to: Option<PlayerId>,
    },
    /// A coin flip.
    Coin {
        /// Heads or tails.
        heads: bool,
    },
    /// A die roll.
    Roll {
        /// Faces of the die.
        sides: u32,
        /// The result, 1..=sides.
        result: u32,
    },
    /// A player conceded.
    Conceded {},
    /// A player lost.
    Lost {
        /// Who.
        player: PlayerId,
        /// Why.
        reason: String,
    },
    /// A player won by the format's rules.
    Won {
        /// Who.
        player: PlayerId,
    },
}

/// The whole room, hidden information included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Room options.
    pub config: Config,
    /// Where the game stands.
    pub phase: Phase,
    /// Seated players.
    pub seats: BTreeMap<PlayerId, Seat>,
    /// Seat number of the next player to sit down.
    pub next_order: u32,
    /// The table.
    pub table: Table,
    /// Recent events, oldest first.
    pub events: Vec<Event>,
    /// Events so far.
    pub event_no: u64,
    /// Players who lost, in groups by the entry that eliminated them, first out first.
    pub eliminated: Vec<Vec<PlayerId>>,
    /// Places once the game is over, best first.
    pub ranking: Option<Vec<Vec<PlayerId>>>,
}

/// What players propose. Every variant is a struct (`{}` when empty) so unknown fields are
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Before the start: your deck list (replaces an earlier one).
    SubmitDeck {
        /// Names and counts.
        list: Vec<DeckEntry>,
    },
    /// Start once enough players are seated and every deck is in.
    Start {},
    /// After the game: back to waiting, decks kept.
    Restart {},
    /// Draw `n` cards (default 1).
    Draw {
        /// How many.
        #[serde(default = "one")]
        n: u32,
    },
    /// Shuffle your hand into your library and draw a new hand.
    Mulligan {},
    /// Shuffle one of your hidden zones (default: your library).
    Shuffle {
        /// Which zone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<ZoneKind>,
    },
    /// Move cards, by id or the top `count` of `from`, to a zone and position.
    Move {
        /// The cards, in the order they are placed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cards: Vec<CardId>,
        /// Where the cards must be (a precondition for `cards`, the source for `count`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<Place>,
        /// Take this many from the top of `from` instead of naming cards.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
        /// Destination.
        to: Place,
        /// Where in the destination (default: top).
        #[serde(default)]
        position: Position,
        /// Face down in a public zone (default: face up when changing zones).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        face_down: Option<bool>,
    },
    /// Make `count` tokens named `name` in play, owned and controlled by the player whose
    /// zone `to` is (default: your battlefield, or your bench in Pokémon). A token that
    /// leaves play is gone.
    CreateToken {
        /// What the token is ("Goblin 1/1", "Treasure").
        name: String,
        /// An in-play zone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Place>,
        /// How many (1–20, default 1).
        #[serde(default = "one")]
        count: u32,
    },
    /// Turn cards in public zones face down or up.
    TurnFace {
        /// The cards.
        cards: Vec<CardId>,
        /// Face down (true) or up.
        face_down: bool,
    },
    /// Reveal cards you can see, or the top `top` of your library, to one player or all.
    Reveal {
        /// The cards.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cards: Vec<CardId>,
        /// Instead: this many from the top of your library.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top: Option<u32>,
        /// One player; everyone when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PlayerId>,
    },
    /// Look privately at the top `n` cards of a library (yours by default).
    Look {
        /// How many.
        n: u32,
        /// Whose library.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        player: Option<PlayerId>,
    },
    /// Tap cards in play.
    Tap {
        /// The cards.
        cards: Vec<CardId>,
    },
    /// Untap cards in play.
    Untap {
        /// The cards.
        cards: Vec<CardId>,
    },
    /// Untap every card you control in play.
    UntapAll {},
    /// Add (positive) or remove (negative) counters on a card; never below zero.
    Counter {
        /// The card.
        card: CardId,
        /// Counter name (`+1/+1`, `damage`, …).
        name: String,
        /// Change.
        delta: i64,
    },
    /// Attach a card to a card in play (moving it there if needed).
    Attach {
        /// The attached card.
        card: CardId,
        /// The host.
        to: CardId,
    },
    /// Detach a card; it stays where it is.
    Detach {
        /// The card.
        card: CardId,
    },
    /// Change a life total (yours by default).
    Life {
        /// Whose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        player: Option<PlayerId>,
        /// Change.
        delta: i64,
    },
    /// Change a named player counter (poison, energy, …; yours by default); never below 0.
    PlayerCounter {
        /// Whose.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        player: Option<PlayerId>,
        /// Counter name.
        name: String,
        /// Change.
        delta: i64,
    },
    /// Commander damage dealt to `player` (you by default) by `from`'s commander; the life
    /// total changes by the same amount.
    CommanderDamage {
        /// Who takes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        player: Option<PlayerId>,
        /// Whose commander dealt it.
        from: PlayerId,
        /// Change.
        delta: i64,
    },
    /// Active player: end the turn.
    PassTurn {},
    /// Active player: go to the next step (or to step `to`, later in the turn); past the
    /// last step the turn passes.
    AdvancePhase {
        /// A later step's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
    },
    /// Flip a coin (room RNG).
    Coin {},
    /// Roll a die (room RNG) of `sides` faces (2–1000, default 6).
    Roll {
        /// Faces.
        #[serde(default = "six")]
        sides: u32,
    },
    /// Give up.
    Concede {},
}

fn one() -> u32 {
    1
}

fn six() -> u32 {
    6
}

impl State {
    fn format(&self) -> &'static dyn Format {
        self.config.format.adapter()
    }

    fn event(&mut self, by: Option<&PlayerId>, what: What) {
        self.event_no += 1;
        self.events.push(Event {
            n: self.event_no,
            by: by.cloned(),
            what,
        });
        if self.events.len() > EVENTS_KEPT {
            self.events.remove(0);
        }
    }

    /// Build the cards, shuffle, pick the first player and deal.
    fn start(&mut self, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let f = self.format();
        let n = self.seats.len();
        if !f.players().contains(&n) {
            return Err(GameError::invalid_move(format!(
                "{} needs {} to {} players, not {n}",
                self.config.format.name(),
                f.players().start(),
                f.players().end()
            )));
        }
        if let Some((p, _)) = self.seats.iter().find(|(_, s)| s.deck.is_none()) {
            return Err(GameError::invalid_move(format!(
                "{p} has not submitted a deck"
            )));
        }
        let mut order: Vec<(u32, PlayerId)> = self
            .seats
            .iter()
            .map(|(p, s)| (s.order, p.clone()))
            .collect();
        order.sort();
        let order: Vec<PlayerId> = order.into_iter().map(|(_, p)| p).collect();
        let mut table = Table {
            order: order.clone(),
            ..Table::default()
        };
        for p in &order {
            table.players.insert(
                p.clone(),
                PlayerTable {
                    life: f.starting_life().unwrap_or(0),
                    counters: BTreeMap::new(),
                    commander_damage: BTreeMap::new(),
                    zones: f.zones().iter().map(|z| (*z, Vec::new())).collect(),
                    mulligans: 0,
                    setting_up: true,
                    lost: None,
                },
            );
        }
        let mut uid = 0;
        for p in &order {
            for entry in self.seats[p].deck.iter().flatten() {
                let zone = if entry.commander {
                    ZoneKind::Command
                } else {
                    f.library()
                };
                for _ in 0..entry.count {
                    uid += 1;
                    let card = Card {
                        uid,
                        name: entry.name.clone(),
                        owner: p.clone(),
                        controller: p.clone(),
                        face_down: false,
                        tapped: false,
                        counters: BTreeMap::new(),
                        attached_to: None,
                        revealed: false,
                        known_to: Default::default(),
                        token: false,
                    };
                    table.add_card(card, &Loc::of(p, zone), cx.rng());
                }
            }
        }
        for p in &order {
            table.shuffle(&Loc::of(p, f.library()), cx.rng());
            table.deal_top(p, f.library(), ZoneKind::Hand, f.hand_size(), cx.rng());
        }
        let first = cx
            .rng()
            .pick(&order)
            .cloned()
            .unwrap_or_else(|| order[0].clone());
        table.turn = Some(Turn {
            player: first.clone(),
            number: 1,
            step: 0,
        });
        self.table = table;
        self.eliminated.clear();
        self.ranking = None;
        self.phase = Phase::Playing;
        self.event(None, What::Started { first });
        Ok(())
    }

    /// After every entry: losses and wins by the format, the end of the game, and the turn
    /// moving on from a player who is out.
    fn settle(&mut self) {
        if self.phase != Phase::Playing {
            return;
        }
        let f = self.format();
        let alive = self.table.alive();
        let winners: Vec<PlayerId> = alive
            .iter()
            .filter(|p| f.won(&self.table, p))
            .cloned()
            .collect();
        if !winners.is_empty() {
            for w in &winners {
                self.event(None, What::Won { player: w.clone() });
            }
            let rest: Vec<PlayerId> = alive.into_iter().filter(|p| !winners.contains(p)).collect();
            let mut ranking = vec![winners];
            if !rest.is_empty() {
                ranking.push(rest);
            }
            self.finish(ranking);
            return;
        }
        let lost: Vec<(PlayerId, String)> = alive
            .iter()
            .filter_map(|p| f.loss(&self.table, p).map(|r| (p.clone(), r)))
            .collect();
        if !lost.is_empty() {
            self.eliminate(lost);
        }
        let alive = self.table.alive();
        if alive.len() <= 1 {
            let ranking = if alive.is_empty() {
                vec![]
            } else {
                vec![alive]
            };
            self.finish(ranking);
            return;
        }
        let on_turn = self.table.turn.as_ref().map(|t| t.player.clone());
        if let Some(p) = on_turn
            && !alive.contains(&p)
        {
            self.pass_turn_from(&p);
        }
    }

    fn eliminate(&mut self, lost: Vec<(PlayerId, String)>) {
        let mut group = Vec::new();
        for (p, reason) in lost {
            if let Some(t) = self.table.players.get_mut(&p) {
                t.lost = Some(reason.clone());
            }
            self.event(
                None,
                What::Lost {
                    player: p.clone(),
                    reason,
                },
            );
            group.push(p);
        }
        self.eliminated.push(group);
    }

    fn finish(&mut self, mut ranking: Vec<Vec<PlayerId>>) {
        ranking.extend(self.eliminated.iter().rev().cloned());
        self.ranking = Some(ranking);
        self.phase = Phase::Over;
        self.table.turn = None;
    }

    fn pass_turn_from(&mut self, player: &PlayerId) {
        let next = self.table.next_alive(player);
        if let (Some(next), Some(turn)) = (next, self.table.turn.as_mut()) {
            turn.player = next;
            turn.number += 1;
            turn.step = 0;
        }
    }

    /// A table action. When it lets some player identify a card they could not before, it
    /// tells the engine ([`Ctx::reveal`]): it cannot be undone, and neither can anything
    /// before it.
    fn table_action(
        &mut self,
        actor: &PlayerId,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let known = self.table.knowledge();
        let f = self.format();
        let setup_over: Vec<PlayerId> = match action {
            Action::Mulligan {} => Vec::new(),
            Action::PassTurn {} | Action::AdvancePhase { .. } => self.table.order.clone(),
            _ => vec![actor.clone()],
        };
        for p in &setup_over {
            end_setup(&mut self.table, f, p, cx.rng());
        }
        let event = play::apply(&mut self.table, f, actor, action, cx.rng())?;
        if let Some(what) = event {
            self.event(Some(actor), what);
        }
        if !self.table.knowledge().is_subset(&known) {
            cx.reveal();
        }
        Ok(())
    }
}

/// `player`'s mulligans are over: set the format's extra cards aside (Pokémon prizes, from
/// the deck as the last mulligan left it), as the rules order the setup.
fn end_setup(table: &mut Table, f: &dyn Format, player: &PlayerId, rng: &mut GameRng) {
    if let Some(p) = table.players.get_mut(player)
        && p.setting_up
    {
        p.setting_up = false;
        f.deal_extra(table, player, rng);
    }
}

impl FormatName {
    /// Wire name.
    fn name(self) -> &'static str {
        match self {
            Self::Mtg => "mtg",
            Self::Commander => "commander",
            Self::Pokemon => "pokemon",
        }
    }
}

/// Check a deck list's entries, then the format's size limits.
fn validate_deck(f: &dyn Format, list: &[DeckEntry]) -> Result<(), GameError> {
    if list.len() > 250 {
        return Err(GameError::invalid_move(
            "a deck list has at most 250 entries",
        ));
    }
    for e in list {
        let len = e.name.chars().count();
        if !(1..=120).contains(&len) {
            return Err(GameError::invalid_move(
                "card names have 1 to 120 characters",
            ));
        }
        if e.count == 0 {
            return Err(GameError::invalid_move(format!(
                "{}: count must be at least 1",
                e.name
            )));
        }
    }
    f.validate(list).map_err(GameError::invalid_move)
}

impl Game for Tcg {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "A shared table for MTG, Commander and Pokémon, with undo and redo.";
        GameInfo::new("tcg", "Card table", description, 2..=6)
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if !(1..=100).contains(&config.undo_depth) {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "undo_depth must be 1 to 100",
            ));
        }
        Ok(State {
            config: config.clone(),
            phase: Phase::Waiting,
            seats: BTreeMap::new(),
            next_order: 0,
            table: Table::default(),
            events: Vec::new(),
            event_no: 0,
            eliminated: Vec::new(),
            ranking: None,
        })
    }

    fn join(
        &self,
        state: &mut State,
        player: &arbiter_engine::Seat,
        _cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.phase == Phase::Playing {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "the game has started",
            ));
        }
        let max = *state.format().players().end();
        if state.seats.len() >= max {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                format!("{} seats at most {max}", state.config.format.name()),
            ));
        }
        state.seats.insert(
            player.id.clone(),
            Seat {
                left: None,
                order: state.next_order,
                deck: None,
            },
        );
        state.next_order += 1;
        Ok(())
    }

    fn leave(&self, state: &mut State, seat: &arbiter_engine::Seat, _cx: &mut Ctx<'_, Action>) {
        let player = &seat.id;
        if state.phase != Phase::Playing {
            state.seats.remove(player);
            return;
        }
        if let Some(listed) = state.seats.get_mut(player) {
            listed.left = Some(seat.name.clone());
        }
        let out = state
            .table
            .players
            .get(player)
            .is_some_and(|t| t.lost.is_none());
        if out {
            state.eliminate(vec![(player.clone(), "left the game".into())]);
            state.settle();
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let Actor::Player(actor) = by else {
            return Err(GameError::invalid_move("the table sets no timers"));
        };
        if !state.seats.contains_key(actor) {
            return Err(GameError::new(ErrorCode::NotAPlayer, "you are not seated"));
        }
        match (state.phase, &action) {
            (Phase::Waiting, Action::SubmitDeck { list }) => {
                validate_deck(state.format(), list)?;
                if let Some(seat) = state.seats.get_mut(actor) {
                    seat.deck = Some(list.clone());
                }
                return Ok(());
            }
            (Phase::Waiting, Action::Start {}) => return state.start(cx),
            (Phase::Waiting, _) => {
                return Err(GameError::invalid_move("the game has not started"));
            }
            (Phase::Over, Action::Restart {}) => {
                state.phase = Phase::Waiting;
                state.table = Table::default();
                state.eliminated.clear();
                state.ranking = None;
                return Ok(());
            }
            (Phase::Over, _) => return Err(GameError::game_over()),
            (Phase::Playing, Action::SubmitDeck { .. } | Action::Start {} | Action::Restart {}) => {
                return Err(GameError::in_progress("the game is in progress"));
            }
            (Phase::Playing, _) => {}
        }
        if let Some(reason) = state.table.players.get(actor).and_then(|t| t.lost.clone()) {
            return Err(GameError::invalid_move(format!("you have lost ({reason})")));
        }
        let out = state.eliminated.len();
        match action {
            Action::Coin {} => {
                let heads = cx.rng().below(2) == 0;
                state.event(Some(actor), What::Coin { heads });
            }
            Action::Roll { sides } => {
                if !(2..=1000).contains(&sides) {
                    return Err(GameError::invalid_move("a die has 2 to 1000 sides"));
                }
                let result = cx.rng().range_inclusive(1, sides);
                state.event(Some(actor), What::Roll { sides, result });
            }
            Action::Concede {} => {
                state.event(Some(actor), What::Conceded {});
                state.eliminate(vec![(actor.clone(), "conceded".into())]);
            }
            action => state.table_action(actor, action, cx)?,
        }
        state.settle();
        if state.eliminated.len() != out {
            // A loss is decided: no undo takes it back.
            cx.reveal();
        }
        Ok(())
    }

    fn view(&self, state: &State, seats: &Seats, viewer: &Viewer) -> Value {
        view::view(state, seats, viewer)
    }

    fn status(&self, state: &State, _seats: &Seats) -> Status {
        match state.phase {
            Phase::Waiting => Status::Waiting,
            Phase::Playing => Status::Playing,
            Phase::Over => Status::Finished {
                ranking: state.ranking.clone().unwrap_or_default(),
            },
        }
    }

    /// Table actions, once the game is on; whether one revealed something shows only once it
    /// is applied ([`Ctx::reveal`]). Coins, dice and concessions never are.
    fn undoable(&self, state: &State, action: &Action) -> bool {
        state.phase == Phase::Playing
            && !matches!(
                action,
                Action::SubmitDeck { .. }
                    | Action::Start {}
                    | Action::Restart {}
                    | Action::Coin {}
                    | Action::Roll { .. }
                    | Action::Concede {}
            )
    }

    fn undo_depth(&self, state: &State) -> usize {
        state.config.undo_depth
    }

    /// Life, counters and taps commute (counters floor at zero, taps refuse a card already in
    /// that state), and a move of named cards that states `from` checks its own precondition,
    /// so none of them needs the client to have seen the latest version.
    fn order_independent(&self, action: &Action) -> bool {
        match action {
            Action::Life { .. }
            | Action::PlayerCounter { .. }
            | Action::CommanderDamage { .. }
            | Action::Counter { .. }
            | Action::Tap { .. }
            | Action::Untap { .. }
            | Action::UntapAll {} => true,
            Action::Move {
                cards, from, count, ..
            } => !cards.is_empty() && from.is_some() && count.is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod golden;
