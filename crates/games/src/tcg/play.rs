//! The table actions: everything a player does to cards, zones, life and the turn. Rules-light:
//! anyone may act on any card they can see, as at a real table, but every action is exact
//! about zones and visibility, and refuses cleanly (naming where a card went) when the card
//! it names has moved.

use super::format::Format;
use super::table::{Card, CardId, Loc, Position, Table, ZoneKind};
use super::{Action, Place, What};
use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{GameError, GameRng};
use std::collections::BTreeSet;

/// Cards one action may name or take.
const MAX_BATCH: usize = 250;
/// Largest life change or counter value.
const MAX_AMOUNT: i64 = 1_000_000;
/// Most tokens one action makes.
const MAX_TOKENS: u32 = 20;

fn bad(message: impl Into<String>) -> GameError {
    GameError::invalid_move(message)
}

/// The actor and what the action may touch.
struct Act<'a> {
    table: &'a mut Table,
    f: &'static dyn Format,
    actor: &'a PlayerId,
    rng: &'a mut GameRng,
}

/// Apply a table action. Returns the public event it makes, if any.
pub(crate) fn apply(
    table: &mut Table,
    f: &'static dyn Format,
    actor: &PlayerId,
    action: Action,
    rng: &mut GameRng,
) -> Result<Option<What>, GameError> {
    let mut a = Act {
        table,
        f,
        actor,
        rng,
    };
    match action {
        Action::Draw { n } => a.draw(n),
        Action::Mulligan {} => a.mulligan(),
        Action::Shuffle { zone } => a.shuffle(zone),
        Action::Move {
            cards,
            from,
            count,
            to,
            position,
            face_down,
        } => a
            .moves(cards, from, count, to, position, face_down)
            .map(|()| None),
        Action::CreateToken { name, to, count } => a.create_token(&name, to, count).map(|()| None),
        Action::TurnFace { cards, face_down } => a.turn_face(&cards, face_down).map(|()| None),
        Action::Reveal { cards, top, to } => a.reveal(cards, top, to),
        Action::Look { n, player } => a.look(n, player),
        Action::Tap { cards } => a.tap(&cards, true).map(|()| None),
        Action::Untap { cards } => a.tap(&cards, false).map(|()| None),
        Action::UntapAll {} => {
            a.untap_all();
            Ok(None)
        }
        Action::Counter { card, name, delta } => a.counter(card, &name, delta).map(|()| None),
        Action::Attach { card, to } => a.attach(card, to).map(|()| None),
        Action::Detach { card } => a.detach(card).map(|()| None),
        Action::Life { player, delta } => a.life(player, delta).map(|()| None),
        Action::PlayerCounter {
            player,
            name,
            delta,
        } => a.player_counter(player, &name, delta).map(|()| None),
        Action::CommanderDamage {
            player,
            from,
            delta,
        } => a.commander_damage(player, &from, delta).map(|()| None),
        Action::PassTurn {} => a.pass_turn().map(|()| None),
        Action::AdvancePhase { to } => a.advance(to).map(|()| None),
        _ => Err(bad("not a table action")),
    }
}

fn amount(delta: i64) -> Result<i64, GameError> {
    if delta == 0 || delta.abs() > MAX_AMOUNT {
        return Err(bad(format!(
            "the change must be non-zero and at most {MAX_AMOUNT}"
        )));
    }
    Ok(delta)
}

/// `value + delta`, never below zero.
fn floored(value: u32, delta: i64) -> u32 {
    let v = (i64::from(value) + delta).clamp(0, MAX_AMOUNT);
    u32::try_from(v).unwrap_or(0)
}

fn counter_name(name: &str) -> Result<(), GameError> {
    if !(1..=40).contains(&name.chars().count()) {
        return Err(bad("counter names have 1 to 40 characters"));
    }
    Ok(())
}

impl Act<'_> {
    /// A player still in the game; the actor when `None`.
    fn player(&self, p: Option<PlayerId>) -> Result<PlayerId, GameError> {
        let p = p.unwrap_or_else(|| self.actor.clone());
        match self.table.players.get(&p) {
            None => Err(bad(format!("{p} is not playing"))),
            Some(t) if t.lost.is_some() => Err(bad(format!("{p} has lost"))),
            Some(_) => Ok(p),
        }
    }

    /// Resolve a zone named in an action.
    fn place(&self, place: Place) -> Result<Loc, GameError> {
        if place.zone == ZoneKind::Stack {
            if !self.f.has_stack() {
                return Err(bad("this format has no stack"));
            }
            return Ok(Loc {
                player: None,
                zone: ZoneKind::Stack,
            });
        }
        let p = place.player.unwrap_or_else(|| self.actor.clone());
        if !self.table.players.contains_key(&p) {
            return Err(bad(format!("{p} is not playing")));
        }
        if !self.f.zones().contains(&place.zone) {
            return Err(bad(format!(
                "this format has no {} zone",
                place.zone.name()
            )));
        }
        Ok(Loc::of(&p, place.zone))
    }

    /// A card the actor can see, and where it is; otherwise a refusal that says where it
    /// went if it moved.
    fn card(&self, id: CardId) -> Result<Loc, GameError> {
        if let Some((loc, _)) = self.table.locate(id)
            && self.table.sees_id(self.actor, id, &loc)
        {
            return Ok(loc);
        }
        match self.table.gone_to(id) {
            Some(loc) => Err(bad(format!(
                "card {id} is no longer there: it went to {}",
                loc.describe()
            ))),
            None => Err(bad(format!("there is no card {id} that you can see"))),
        }
    }

    /// Several distinct cards the actor can see.
    fn cards(&self, ids: &[CardId]) -> Result<Vec<Loc>, GameError> {
        if ids.is_empty() {
            return Err(bad("name at least one card"));
        }
        if ids.len() > MAX_BATCH {
            return Err(bad(format!("at most {MAX_BATCH} cards at once")));
        }
        let distinct: BTreeSet<_> = ids.iter().collect();
        if distinct.len() != ids.len() {
            return Err(bad("a card is named twice"));
        }
        ids.iter().map(|id| self.card(*id)).collect()
    }

    fn library(&self, player: &PlayerId) -> Loc {
        Loc::of(player, self.f.library())
    }

    fn zone_len(&self, loc: &Loc) -> usize {
        self.table.zone(loc).map_or(0, Vec::len)
    }

    fn draw(&mut self, n: u32) -> Result<Option<What>, GameError> {
        let lib = self.library(self.actor);
        let have = self.zone_len(&lib);
        let want = n as usize;
        if n == 0 || want > have {
            return Err(bad(format!(
                "cannot draw {n}: your {} has {have} cards",
                lib.zone.name()
            )));
        }
        let f = self.f;
        self.table
            .deal_top(self.actor, f.library(), ZoneKind::Hand, want, self.rng);
        Ok(Some(What::Drew { n }))
    }

    fn mulligan(&mut self) -> Result<Option<What>, GameError> {
        let lib = self.library(self.actor);
        let hand = Loc::of(self.actor, ZoneKind::Hand);
        let cards = self.table.zone(&hand).cloned().unwrap_or_default();
        self.table
            .move_cards(&cards, &lib, Position::default(), None, false, self.rng);
        self.table.shuffle(&lib, self.rng);
        let n = self.f.hand_size().min(self.zone_len(&lib));
        let f = self.f;
        self.table
            .deal_top(self.actor, f.library(), ZoneKind::Hand, n, self.rng);
        if let Some(t) = self.table.players.get_mut(self.actor) {
            t.mulligans += 1;
        }
        Ok(Some(What::Mulligan { hand: n as u32 }))
    }

    fn shuffle(&mut self, zone: Option<ZoneKind>) -> Result<Option<What>, GameError> {
        let zone = zone.unwrap_or(self.f.library());
        if zone.is_public() || zone == ZoneKind::Hand || !self.f.zones().contains(&zone) {
            return Err(bad(format!("cannot shuffle a {} zone", zone.name())));
        }
        let loc = Loc::of(self.actor, zone);
        self.table.shuffle(&loc, self.rng);
        Ok(Some(What::Shuffled { zone }))
    }

    fn moves(
        &mut self,
        cards: Vec<CardId>,
        from: Option<Place>,
        count: Option<u32>,
        to: Place,
        position: Position,
        face_down: Option<bool>,
    ) -> Result<(), GameError> {
        let to = self.place(to)?;
        let from = from.map(|p| self.place(p)).transpose()?;
        let ids = match (cards.is_empty(), count) {
            (false, None) => {
                let locs = self.cards(&cards)?;
                if let Some(from) = &from {
                    for (id, loc) in cards.iter().zip(&locs) {
                        if loc != from {
                            return Err(bad(format!(
                                "card {id} is no longer in {}: it is now in {}",
                                from.describe(),
                                loc.describe()
                            )));
                        }
                    }
                }
                cards
            }
            (true, Some(n)) => {
                let Some(from) = &from else {
                    return Err(bad("a move by count needs from"));
                };
                let have = self.zone_len(from);
                if n == 0 || n as usize > have || n as usize > MAX_BATCH {
                    return Err(bad(format!(
                        "cannot take {n} cards: {} has {have}",
                        from.describe()
                    )));
                }
                self.table
                    .zone(from)
                    .map(|z| z[..n as usize].to_vec())
                    .unwrap_or_default()
            }
            _ => return Err(bad("name either cards or a count")),
        };
        if face_down == Some(true) && !to.zone.is_public() {
            return Err(bad(format!(
                "cards in a {} are not face down",
                to.zone.name()
            )));
        }
        let arriving = ids
            .iter()
            .filter(|id| self.table.locate(**id).is_none_or(|(l, _)| l != to))
            .filter(|id| self.table.cards[id].attached_to.is_none())
            .count();
        self.room_for(&to, arriving)?;
        if to.player.is_none() {
            for id in &ids {
                if let Some(c) = self.table.cards.get_mut(id) {
                    c.controller = self.actor.clone();
                }
            }
        }
        let follow = self.f.attachments_follow();
        self.table
            .move_cards(&ids, &to, position, face_down, follow, self.rng);
        Ok(())
    }

    /// Whether `arriving` more cards (not attached to another) fit in the zone's limit.
    fn room_for(&self, to: &Loc, arriving: usize) -> Result<(), GameError> {
        let Some(limit) = self.f.zone_limit(to.zone) else {
            return Ok(());
        };
        let hosts = self.table.zone(to).map_or(0, |z| {
            z.iter()
                .filter(|c| self.table.cards[c].attached_to.is_none())
                .count()
        });
        if hosts + arriving > limit {
            return Err(bad(format!("{} holds at most {limit}", to.describe())));
        }
        Ok(())
    }

    fn create_token(&mut self, name: &str, to: Option<Place>, count: u32) -> Result<(), GameError> {
        let name = name.trim();
        if !(1..=120).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            return Err(bad(
                "a token's name has 1 to 120 characters and no control characters",
            ));
        }
        if !(1..=MAX_TOKENS).contains(&count) {
            return Err(bad(format!("make 1 to {MAX_TOKENS} tokens at once")));
        }
        let f = self.f;
        let to = match to {
            Some(place) => self.place(place)?,
            None => {
                // The roomiest zone in play: the battlefield, or the Pokémon bench.
                let zone = f
                    .zones()
                    .iter()
                    .copied()
                    .filter(|z| z.in_play())
                    .max_by_key(|z| f.zone_limit(*z).unwrap_or(usize::MAX))
                    .ok_or_else(|| bad("this format has no zone in play"))?;
                Loc::of(self.actor, zone)
            }
        };
        let Some(owner) = to.player.clone().filter(|_| to.zone.in_play()) else {
            return Err(bad(format!(
                "tokens are made in play, not in {}",
                to.describe()
            )));
        };
        self.player(Some(owner.clone()))?;
        self.room_for(&to, count as usize)?;
        let last_uid = self.table.cards.values().map(|c| c.uid).max().unwrap_or(0);
        for k in 1..=count {
            let card = Card {
                uid: last_uid + k,
                name: name.to_owned(),
                owner: owner.clone(),
                controller: owner.clone(),
                face_down: false,
                tapped: false,
                counters: Default::default(),
                attached_to: None,
                revealed: false,
                known_to: Default::default(),
                token: true,
            };
            self.table.add_card(card, &to, self.rng);
        }
        Ok(())
    }

    fn turn_face(&mut self, ids: &[CardId], face_down: bool) -> Result<(), GameError> {
        let locs = self.cards(ids)?;
        for (id, loc) in ids.iter().zip(&locs) {
            if !loc.zone.is_public() {
                return Err(bad(format!(
                    "card {id} is in {}, not in a public zone",
                    loc.describe()
                )));
            }
            if self.table.cards[id].face_down == face_down {
                return Err(bad(format!(
                    "card {id} is already face {}",
                    if face_down { "down" } else { "up" }
                )));
            }
        }
        for id in ids {
            if let Some(c) = self.table.cards.get_mut(id) {
                c.face_down = face_down;
            }
        }
        Ok(())
    }

    fn reveal(
        &mut self,
        cards: Vec<CardId>,
        top: Option<u32>,
        to: Option<PlayerId>,
    ) -> Result<Option<What>, GameError> {
        if let Some(p) = &to
            && (p == self.actor || !self.table.players.contains_key(p))
        {
            return Err(bad(format!("cannot reveal to {p}")));
        }
        let ids = match (cards.is_empty(), top) {
            (false, None) => {
                let locs = self.cards(&cards)?;
                for (id, loc) in cards.iter().zip(&locs) {
                    if !self.table.identifies(self.actor, *id, loc) {
                        return Err(bad(format!("you cannot see card {id}")));
                    }
                }
                cards
            }
            (true, Some(n)) => {
                let lib = self.library(self.actor);
                let have = self.zone_len(&lib);
                if n == 0 || n as usize > have {
                    return Err(bad(format!("cannot reveal {n}: your library has {have}")));
                }
                self.table
                    .zone(&lib)
                    .map(|z| z[..n as usize].to_vec())
                    .unwrap_or_default()
            }
            _ => return Err(bad("name either cards or top")),
        };
        for id in &ids {
            if let Some(c) = self.table.cards.get_mut(id) {
                match &to {
                    Some(p) => {
                        c.known_to.insert(p.clone());
                    }
                    None => c.revealed = true,
                }
                if top.is_some() {
                    c.known_to.insert(self.actor.clone());
                }
            }
        }
        Ok(Some(What::Revealed { cards: ids, to }))
    }

    fn look(&mut self, n: u32, player: Option<PlayerId>) -> Result<Option<What>, GameError> {
        let owner = self.player(player)?;
        let lib = self.library(&owner);
        let have = self.zone_len(&lib);
        if n == 0 || n as usize > have {
            return Err(bad(format!("cannot look at {n}: the library has {have}")));
        }
        let ids = self.table.zone(&lib).map(|z| z[..n as usize].to_vec());
        for id in ids.into_iter().flatten() {
            if let Some(c) = self.table.cards.get_mut(&id) {
                c.known_to.insert(self.actor.clone());
            }
        }
        Ok(Some(What::Looked { player: owner, n }))
    }

    fn tap(&mut self, ids: &[CardId], tapped: bool) -> Result<(), GameError> {
        let locs = self.cards(ids)?;
        for (id, loc) in ids.iter().zip(&locs) {
            if !loc.zone.in_play() {
                return Err(bad(format!(
                    "card {id} is in {}, not in play",
                    loc.describe()
                )));
            }
            if self.table.cards[id].tapped == tapped {
                return Err(bad(format!(
                    "card {id} is already {}",
                    if tapped { "tapped" } else { "untapped" }
                )));
            }
        }
        for id in ids {
            if let Some(c) = self.table.cards.get_mut(id) {
                c.tapped = tapped;
            }
        }
        Ok(())
    }

    fn untap_all(&mut self) {
        let mine: Vec<CardId> = self
            .f
            .zones()
            .iter()
            .filter(|z| z.in_play())
            .flat_map(|z| {
                self.table
                    .players
                    .get(self.actor)
                    .map(|p| p.zone(*z).to_vec())
                    .unwrap_or_default()
            })
            .collect();
        for id in mine {
            if let Some(c) = self.table.cards.get_mut(&id) {
                c.tapped = false;
            }
        }
    }

    fn counter(&mut self, id: CardId, name: &str, delta: i64) -> Result<(), GameError> {
        counter_name(name)?;
        let delta = amount(delta)?;
        let loc = self.card(id)?;
        if !loc.zone.is_public() {
            return Err(bad(format!(
                "card {id} is in {}: counters go on cards in public zones",
                loc.describe()
            )));
        }
        if let Some(c) = self.table.cards.get_mut(&id) {
            let v = floored(c.counters.get(name).copied().unwrap_or(0), delta);
            if v == 0 {
                c.counters.remove(name);
            } else {
                c.counters.insert(name.to_owned(), v);
            }
        }
        Ok(())
    }

    fn attach(&mut self, id: CardId, host: CardId) -> Result<(), GameError> {
        if id == host {
            return Err(bad("a card cannot be attached to itself"));
        }
        let loc = self.card(id)?;
        let host_loc = self.card(host)?;
        if !host_loc.zone.in_play() {
            return Err(bad(format!(
                "card {host} is in {}, not in play",
                host_loc.describe()
            )));
        }
        if self.table.cards[&host].attached_to.is_some() {
            return Err(bad(format!("card {host} is itself attached")));
        }
        if self.table.cards.values().any(|c| c.attached_to == Some(id)) {
            return Err(bad(format!("card {id} has cards attached to it")));
        }
        let mut id = id;
        if loc != host_loc {
            let at = self.table.locate(host).map_or(0, |(_, i)| i + 1);
            let moved =
                self.table
                    .move_cards(&[id], &host_loc, Position::Index(at), None, false, self.rng);
            id = moved.first().copied().unwrap_or(id);
        }
        if let Some(c) = self.table.cards.get_mut(&id) {
            c.attached_to = Some(host);
        }
        Ok(())
    }

    fn detach(&mut self, id: CardId) -> Result<(), GameError> {
        self.card(id)?;
        let Some(c) = self.table.cards.get_mut(&id) else {
            return Err(bad(format!("there is no card {id}")));
        };
        if c.attached_to.take().is_none() {
            return Err(bad(format!("card {id} is not attached")));
        }
        Ok(())
    }

    fn life(&mut self, player: Option<PlayerId>, delta: i64) -> Result<(), GameError> {
        if self.f.starting_life().is_none() {
            return Err(bad("this format has no life totals"));
        }
        let delta = amount(delta)?;
        let p = self.player(player)?;
        if let Some(t) = self.table.players.get_mut(&p) {
            t.life = (t.life + delta).clamp(-MAX_AMOUNT, MAX_AMOUNT);
        }
        Ok(())
    }

    fn player_counter(
        &mut self,
        player: Option<PlayerId>,
        name: &str,
        delta: i64,
    ) -> Result<(), GameError> {
        counter_name(name)?;
        let delta = amount(delta)?;
        let p = self.player(player)?;
        if let Some(t) = self.table.players.get_mut(&p) {
            let v = floored(t.counters.get(name).copied().unwrap_or(0), delta);
            if v == 0 {
                t.counters.remove(name);
            } else {
                t.counters.insert(name.to_owned(), v);
            }
        }
        Ok(())
    }

    fn commander_damage(
        &mut self,
        player: Option<PlayerId>,
        from: &PlayerId,
        delta: i64,
    ) -> Result<(), GameError> {
        if !self.f.commander_damage() {
            return Err(bad("this format has no commander damage"));
        }
        let delta = amount(delta)?;
        let p = self.player(player)?;
        if *from == p || !self.table.players.contains_key(from) {
            return Err(bad(format!("{from} is not an opponent of {p}")));
        }
        if let Some(t) = self.table.players.get_mut(&p) {
            let old = t.commander_damage.get(from).copied().unwrap_or(0);
            let new = floored(old, delta);
            if new == 0 {
                t.commander_damage.remove(from);
            } else {
                t.commander_damage.insert(from.clone(), new);
            }
            t.life -= i64::from(new) - i64::from(old);
        }
        Ok(())
    }

    fn on_turn(&self) -> Result<(), GameError> {
        match &self.table.turn {
            Some(t) if t.player == *self.actor => Ok(()),
            _ => Err(GameError::not_your_turn()),
        }
    }

    fn pass_turn(&mut self) -> Result<(), GameError> {
        self.on_turn()?;
        let next = self
            .table
            .next_alive(self.actor)
            .unwrap_or_else(|| self.actor.clone());
        if let Some(t) = self.table.turn.as_mut() {
            t.player = next;
            t.number += 1;
            t.step = 0;
        }
        Ok(())
    }

    fn advance(&mut self, to: Option<String>) -> Result<(), GameError> {
        self.on_turn()?;
        let steps = self.f.steps();
        let at = self.table.turn.as_ref().map_or(0, |t| t.step);
        let next = match to {
            None => at + 1,
            Some(name) => match steps.iter().position(|s| s.step == name) {
                Some(i) if i > at => i,
                Some(_) => return Err(bad(format!("{name} is not later in this turn"))),
                None => return Err(bad(format!("this format has no step {name}"))),
            },
        };
        if next >= steps.len() {
            return self.pass_turn();
        }
        if let Some(t) = self.table.turn.as_mut() {
            t.step = next;
        }
        Ok(())
    }
}
