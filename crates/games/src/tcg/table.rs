//! The table: cards, zones, life and counters, the turn. Everything an undo restores.
//!
//! Cards are kept in one map keyed by id; zones are ordered lists of ids, top first. A card
//! keeps its identity (internal `uid`, name, owner) wherever it goes, but its public `id` is
//! replaced by a fresh random one whenever it enters or leaves a zone someone cannot see into
//! (library, deck, hand, prizes) or its zone is shuffled: at a real table nobody can follow a
//! card through a hand or a shuffled deck, and neither can a client that remembers ids.

use arbiter_engine::GameRng;
use arbiter_engine::protocol::PlayerId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A card's public handle. Random, so it says nothing about the deck list.
pub type CardId = u32;

/// Retired ids remembered to explain a refused action on a card that has moved.
const GONE_KEPT: usize = 128;

/// The kinds of zone. Which ones a player has depends on the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// MTG library: hidden, ordered.
    Library,
    /// Hand: its owner sees it.
    Hand,
    /// MTG battlefield.
    Battlefield,
    /// MTG graveyard.
    Graveyard,
    /// MTG exile.
    Exile,
    /// MTG command zone.
    Command,
    /// The shared stack (MTG formats).
    Stack,
    /// Pokémon deck: hidden, ordered.
    Deck,
    /// Pokémon active spot.
    Active,
    /// Pokémon bench (at most five Pokémon).
    Bench,
    /// Pokémon prize cards: hidden.
    Prizes,
    /// Pokémon discard pile.
    Discard,
    /// Pokémon Lost Zone.
    LostZone,
}

impl ZoneKind {
    /// Everyone sees the zone's cards (face-down ones only as cards).
    pub(crate) fn is_public(self) -> bool {
        !matches!(self, Self::Library | Self::Deck | Self::Hand | Self::Prizes)
    }

    /// Cards here are in play: they can be tapped and carry attachments.
    pub(crate) fn in_play(self) -> bool {
        matches!(self, Self::Battlefield | Self::Active | Self::Bench)
    }

    /// Wire name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Library => "library",
            Self::Hand => "hand",
            Self::Battlefield => "battlefield",
            Self::Graveyard => "graveyard",
            Self::Exile => "exile",
            Self::Command => "command",
            Self::Stack => "stack",
            Self::Deck => "deck",
            Self::Active => "active",
            Self::Bench => "bench",
            Self::Prizes => "prizes",
            Self::Discard => "discard",
            Self::LostZone => "lost_zone",
        }
    }
}

/// A resolved zone: a player's zone, or the shared stack (`player` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loc {
    /// The zone's player; `None` for the stack.
    pub player: Option<PlayerId>,
    /// The kind of zone.
    pub zone: ZoneKind,
}

impl Loc {
    /// A player's zone.
    pub(crate) fn of(player: &PlayerId, zone: ZoneKind) -> Self {
        Self {
            player: Some(player.clone()),
            zone,
        }
    }

    /// "p_1's graveyard" or "the stack", for messages.
    pub(crate) fn describe(&self) -> String {
        match &self.player {
            Some(p) => format!("{p}'s {}", self.zone.name()),
            None => "the stack".into(),
        }
    }
}

/// Where in a zone a card goes; index 0 is the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Position {
    /// `"top"` or `"bottom"`.
    End(End),
    /// An index from the top, clamped to the zone's size.
    Index(usize),
}

/// An end of a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Index 0.
    Top,
    /// After the last card.
    Bottom,
}

impl Default for Position {
    fn default() -> Self {
        Self::End(End::Top)
    }
}

impl Position {
    /// The index the `i`th of several cards goes to in a zone of `len` cards (after they were
    /// taken out), so several cards keep their given order, first nearest the top.
    fn index(self, i: usize, len: usize) -> usize {
        match self {
            Self::End(End::Top) => i.min(len),
            Self::End(End::Bottom) => len,
            Self::Index(k) => k.saturating_add(i).min(len),
        }
    }
}

/// A physical card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Internal identity, never shown: stable for the whole game even when `id` changes.
    pub uid: u32,
    /// Card name from the deck list.
    pub name: String,
    /// Whose deck it came from.
    pub owner: PlayerId,
    /// Who controls it: the player whose zone it is in (the mover for the stack).
    pub controller: PlayerId,
    /// Face down in a public zone: only its controller sees the face.
    pub face_down: bool,
    /// Tapped (turned sideways).
    pub tapped: bool,
    /// Named counters on the card, all above zero.
    pub counters: BTreeMap<String, u32>,
    /// The card this one is attached to (same zone, in play).
    pub attached_to: Option<CardId>,
    /// Shown to everyone until it moves.
    pub revealed: bool,
    /// Shown to these players (or looked at by them) until it moves.
    pub known_to: BTreeSet<PlayerId>,
    /// Made during the game rather than dealt from a deck: it exists only in play and is
    /// gone as soon as it leaves.
    #[serde(default)]
    pub token: bool,
}

/// One player's part of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerTable {
    /// Life total (unused in formats without one).
    pub life: i64,
    /// Named player counters (poison, energy, …), all above zero.
    pub counters: BTreeMap<String, u32>,
    /// Commander damage taken, by the opponent whose commander dealt it.
    pub commander_damage: BTreeMap<PlayerId, u32>,
    /// The player's zones, each top first.
    pub zones: BTreeMap<ZoneKind, Vec<CardId>>,
    /// Mulligans taken.
    pub mulligans: u32,
    /// Still setting up: the format's extra cards (Pokémon prizes) are set aside with the
    /// player's first action other than a mulligan, or when the first turn moves on.
    #[serde(default)]
    pub setting_up: bool,
    /// Why the player lost, once they have.
    pub lost: Option<String>,
}

impl PlayerTable {
    /// The cards of a zone, top first (empty when the player has no such zone).
    pub(crate) fn zone(&self, zone: ZoneKind) -> &[CardId] {
        self.zones.get(&zone).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Whose turn, which one, and where in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// The active player.
    pub player: PlayerId,
    /// Turns begun, from 1.
    pub number: u32,
    /// Index into the format's steps.
    pub step: usize,
}

/// Everything on the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Every card, by id.
    pub cards: BTreeMap<CardId, Card>,
    /// Players' parts, by id.
    pub players: BTreeMap<PlayerId, PlayerTable>,
    /// Turn order.
    pub order: Vec<PlayerId>,
    /// The shared stack, top first.
    pub stack: Vec<CardId>,
    /// The turn, once the game has started.
    pub turn: Option<Turn>,
    /// Recently retired ids and the zone each card went to, newest last.
    pub gone: Vec<(CardId, Loc)>,
}

impl Table {
    /// The zone at `loc`, if it exists.
    pub(crate) fn zone(&self, loc: &Loc) -> Option<&Vec<CardId>> {
        match &loc.player {
            None => Some(&self.stack),
            Some(p) => self.players.get(p)?.zones.get(&loc.zone),
        }
    }

    fn zone_mut(&mut self, loc: &Loc) -> Option<&mut Vec<CardId>> {
        match &loc.player {
            None => Some(&mut self.stack),
            Some(p) => self.players.get_mut(p)?.zones.get_mut(&loc.zone),
        }
    }

    /// Every zone with its location.
    pub(crate) fn all_zones(&self) -> impl Iterator<Item = (Loc, &Vec<CardId>)> {
        let players = self.players.iter().flat_map(|(p, t)| {
            t.zones
                .iter()
                .map(move |(z, cards)| (Loc::of(p, *z), cards))
        });
        std::iter::once((
            Loc {
                player: None,
                zone: ZoneKind::Stack,
            },
            &self.stack,
        ))
        .chain(players)
    }

    /// Where a card is and at which index.
    pub(crate) fn locate(&self, id: CardId) -> Option<(Loc, usize)> {
        self.all_zones()
            .find_map(|(loc, cards)| cards.iter().position(|c| *c == id).map(|i| (loc, i)))
    }

    /// Where a retired id's card went.
    pub(crate) fn gone_to(&self, id: CardId) -> Option<&Loc> {
        self.gone
            .iter()
            .rev()
            .find(|(g, _)| *g == id)
            .map(|(_, l)| l)
    }

    /// Whether `viewer` may know the face of the card `id` lying at `loc`.
    pub(crate) fn identifies(&self, viewer: &PlayerId, id: CardId, loc: &Loc) -> bool {
        let Some(card) = self.cards.get(&id) else {
            return false;
        };
        if card.revealed || card.known_to.contains(viewer) {
            return true;
        }
        match loc.zone {
            ZoneKind::Hand => loc.player.as_ref() == Some(viewer),
            z if z.is_public() => !card.face_down || card.controller == *viewer,
            _ => false,
        }
    }

    /// Whether a spectator may know the face of the card `id` lying at `loc`.
    pub(crate) fn public_face(&self, id: CardId, loc: &Loc) -> bool {
        self.cards
            .get(&id)
            .is_some_and(|c| c.revealed || (loc.zone.is_public() && !c.face_down))
    }

    /// Whether `viewer` sees the card's id at all: every card of a public zone, and the
    /// cards of hidden zones they can identify.
    pub(crate) fn sees_id(&self, viewer: &PlayerId, id: CardId, loc: &Loc) -> bool {
        loc.zone.is_public() || self.identifies(viewer, id, loc)
    }

    /// Which player knows which card (by `uid`): grows exactly when hidden information is
    /// revealed to someone. Tokens hide nothing (they are named in public when made), so
    /// they are left out and making one keeps the undo window open.
    pub(crate) fn knowledge(&self) -> BTreeSet<(PlayerId, u32)> {
        let mut out = BTreeSet::new();
        for (loc, cards) in self.all_zones() {
            for id in cards.iter().filter(|c| !self.cards[c].token) {
                for p in self.players.keys() {
                    if self.identifies(p, *id, &loc) {
                        out.insert((p.clone(), self.cards[id].uid));
                    }
                }
            }
        }
        out
    }

    /// A random id no card has or recently had.
    fn fresh_id(&self, rng: &mut GameRng) -> CardId {
        loop {
            let id = rng.range_inclusive(100_000, 999_999);
            if !self.cards.contains_key(&id) && self.gone_to(id).is_none() {
                return id;
            }
        }
    }

    /// Put a new card on top of a zone under a fresh id.
    pub(crate) fn add_card(&mut self, card: Card, loc: &Loc, rng: &mut GameRng) -> CardId {
        let id = self.fresh_id(rng);
        self.cards.insert(id, card);
        if let Some(z) = self.zone_mut(loc) {
            z.insert(0, id);
        }
        id
    }

    /// Give a card a fresh id, remembering where the old one went.
    fn rekey(&mut self, id: CardId, loc: &Loc, rng: &mut GameRng) -> CardId {
        let new = self.fresh_id(rng);
        let Some(card) = self.cards.remove(&id) else {
            return id;
        };
        self.cards.insert(new, card);
        for c in self.zone_mut(loc).into_iter().flatten() {
            if *c == id {
                *c = new;
            }
        }
        self.gone.push((id, loc.clone()));
        if self.gone.len() > GONE_KEPT {
            self.gone.remove(0);
        }
        new
    }

    /// Move `ids` (each currently somewhere on the table) to `to` at `pos`, in order.
    /// Returns their ids afterwards (fresh ones for cards that entered a hidden zone).
    pub(crate) fn move_cards(
        &mut self,
        ids: &[CardId],
        to: &Loc,
        pos: Position,
        face_down: Option<bool>,
        follow: bool,
        rng: &mut GameRng,
    ) -> Vec<CardId> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| self.move_one(*id, to, pos, i, face_down, follow, ids, rng))
            .collect()
    }

    /// One card of a move; `i` is its place among the moved cards, `batch` all of them.
    #[allow(clippy::too_many_arguments)]
    fn move_one(
        &mut self,
        id: CardId,
        to: &Loc,
        pos: Position,
        i: usize,
        face_down: Option<bool>,
        follow: bool,
        batch: &[CardId],
        rng: &mut GameRng,
    ) -> CardId {
        let Some((from, at)) = self.locate(id) else {
            return id;
        };
        if let Some(z) = self.zone_mut(&from) {
            z.remove(at);
        }
        let same = from == *to;
        let keep_state = same
            || (matches!(from.zone, ZoneKind::Active | ZoneKind::Bench)
                && matches!(to.zone, ZoneKind::Active | ZoneKind::Bench));
        if let Some(card) = self.cards.get_mut(&id) {
            if !same {
                card.attached_to = None;
                card.revealed = false;
                card.known_to.clear();
            }
            if !keep_state {
                card.tapped = false;
                card.counters.clear();
            }
            card.face_down = if to.zone.is_public() {
                face_down.unwrap_or(same && card.face_down)
            } else {
                false
            };
            if let Some(p) = &to.player {
                card.controller = p.clone();
            }
        }
        let len = self.zone(to).map_or(0, Vec::len);
        let index = pos.index(i, len);
        if let Some(z) = self.zone_mut(to) {
            z.insert(index, id);
        }
        // Cards attached to this one: they follow it into public zones when the format says
        // so (still attached only if it stays in play), otherwise they fall off in place.
        if !same {
            let attached: Vec<CardId> = self
                .cards
                .iter()
                .filter(|(c, card)| card.attached_to == Some(id) && !batch.contains(c))
                .map(|(c, _)| *c)
                .collect();
            for (k, a) in attached.into_iter().enumerate() {
                if follow && to.zone.is_public() {
                    self.move_one(
                        a,
                        to,
                        Position::Index(index + 1 + k),
                        0,
                        None,
                        false,
                        &[],
                        rng,
                    );
                    if to.zone.in_play()
                        && let Some(card) = self.cards.get_mut(&a)
                    {
                        card.attached_to = Some(id);
                    }
                } else if let Some(card) = self.cards.get_mut(&a) {
                    card.attached_to = None;
                }
            }
        }
        if !to.zone.in_play() && self.cards.get(&id).is_some_and(|c| c.token) {
            // A token that leaves play ceases to exist.
            if let Some(z) = self.zone_mut(to) {
                z.retain(|c| *c != id);
            }
            self.cards.remove(&id);
            self.gone.push((id, to.clone()));
            if self.gone.len() > GONE_KEPT {
                self.gone.remove(0);
            }
            return id;
        }
        let seen_through = from.zone.is_public() && to.zone.is_public();
        if !(same || seen_through) {
            return self.rekey(id, to, rng);
        }
        id
    }

    /// Move the top `n` cards of `player`'s `from` zone to the top of their `to` zone, the
    /// first one taken ending deepest (as when drawing one by one).
    pub(crate) fn deal_top(
        &mut self,
        player: &PlayerId,
        from: ZoneKind,
        to: ZoneKind,
        n: usize,
        rng: &mut GameRng,
    ) {
        let top: Vec<CardId> = self
            .players
            .get(player)
            .map(|p| p.zone(from).iter().take(n).copied().collect())
            .unwrap_or_default();
        for id in top {
            self.move_cards(
                &[id],
                &Loc::of(player, to),
                Position::default(),
                None,
                false,
                rng,
            );
        }
    }

    /// Shuffle a zone: every card in it gets a fresh id and is known to nobody any more.
    pub(crate) fn shuffle(&mut self, loc: &Loc, rng: &mut GameRng) {
        let ids = self.zone(loc).cloned().unwrap_or_default();
        for id in ids {
            let new = self.rekey(id, loc, rng);
            if let Some(card) = self.cards.get_mut(&new) {
                card.revealed = false;
                card.known_to.clear();
                card.face_down = false;
            }
        }
        let mut ids = self.zone(loc).cloned().unwrap_or_default();
        rng.shuffle(&mut ids);
        if let Some(z) = self.zone_mut(loc) {
            *z = ids;
        }
    }

    /// Players still in the game, in turn order.
    pub(crate) fn alive(&self) -> Vec<PlayerId> {
        self.order
            .iter()
            .filter(|p| self.players.get(*p).is_some_and(|t| t.lost.is_none()))
            .cloned()
            .collect()
    }

    /// The next player still in the game after `player` in turn order.
    pub(crate) fn next_alive(&self, player: &PlayerId) -> Option<PlayerId> {
        let at = self.order.iter().position(|p| p == player)?;
        (1..=self.order.len())
            .map(|k| &self.order[(at + k) % self.order.len()])
            .find(|p| self.players.get(*p).is_some_and(|t| t.lost.is_none()))
            .cloned()
    }

    /// Counts of dealt cards (tokens left out) by owner: what conservation checks compare.
    #[cfg(test)]
    pub(crate) fn cards_by_owner(&self) -> BTreeMap<PlayerId, usize> {
        let mut out = BTreeMap::new();
        for card in self.cards.values().filter(|c| !c.token) {
            *out.entry(card.owner.clone()).or_default() += 1;
        }
        out
    }

    /// Structural invariants: every card in exactly one zone, every listed id a card,
    /// attachments in their host's zone. `Err` names the first violation.
    #[cfg(test)]
    pub(crate) fn check(&self) -> Result<(), String> {
        let mut seen: BTreeMap<CardId, Loc> = BTreeMap::new();
        for (loc, cards) in self.all_zones() {
            for id in cards {
                if !self.cards.contains_key(id) {
                    return Err(format!("{} lists unknown card {id}", loc.describe()));
                }
                if let Some(prev) = seen.insert(*id, loc.clone()) {
                    return Err(format!(
                        "card {id} is in {} and {}",
                        prev.describe(),
                        loc.describe()
                    ));
                }
            }
        }
        if seen.len() != self.cards.len() {
            return Err(format!(
                "{} cards but {} in zones",
                self.cards.len(),
                seen.len()
            ));
        }
        let uids: BTreeSet<u32> = self.cards.values().map(|c| c.uid).collect();
        if uids.len() != self.cards.len() {
            return Err("two cards share a uid".into());
        }
        for (id, card) in &self.cards {
            if let Some(host) = card.attached_to {
                let (Some(l), Some(h)) = (seen.get(id), seen.get(&host)) else {
                    return Err(format!("card {id} is attached to missing {host}"));
                };
                if l != h || !l.zone.in_play() {
                    return Err(format!("card {id} is attached across zones"));
                }
            }
        }
        Ok(())
    }
}
