//! Format adapters: everything that differs between MTG, Commander and Pokémon lives here, so
//! adding a format is one adapter plus one [`FormatName`] variant.

use super::table::{Table, ZoneKind};
use arbiter_engine::protocol::PlayerId;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// One entry of a submitted deck list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeckEntry {
    /// Card name (or any card reference the players agree on), 1–120 characters.
    pub name: String,
    /// Copies, at least 1.
    pub count: u32,
    /// Commander only: these copies start in the command zone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commander: bool,
}

/// Which format a room plays, chosen in the room config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatName {
    /// Magic: the Gathering, 1 v 1 or free-for-all, 20 life.
    #[default]
    Mtg,
    /// Magic: the Gathering Commander: 100-card decks, 40 life, commander damage.
    Commander,
    /// Pokémon TCG: two players, 60-card decks, six prize cards.
    Pokemon,
}

impl FormatName {
    /// The adapter implementing this format.
    pub(crate) fn adapter(self) -> &'static dyn Format {
        match self {
            Self::Mtg => &Mtg,
            Self::Commander => &Commander,
            Self::Pokemon => &Pokemon,
        }
    }
}

/// A step of a turn: the phase it belongs to and its own name (equal when a phase has no
/// steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TurnStep {
    pub(crate) phase: &'static str,
    pub(crate) step: &'static str,
}

const fn step(phase: &'static str, step: &'static str) -> TurnStep {
    TurnStep { phase, step }
}

/// MTG's turn: five phases, with the beginning, combat and ending phases split in steps.
const MTG_STEPS: [TurnStep; 12] = [
    step("beginning", "untap"),
    step("beginning", "upkeep"),
    step("beginning", "draw"),
    step("precombat_main", "precombat_main"),
    step("combat", "beginning_of_combat"),
    step("combat", "declare_attackers"),
    step("combat", "declare_blockers"),
    step("combat", "combat_damage"),
    step("combat", "end_of_combat"),
    step("postcombat_main", "postcombat_main"),
    step("ending", "end"),
    step("ending", "cleanup"),
];

/// A Pokémon turn: draw, the main part (energy, evolutions, trainers, retreat), attack, and
/// Pokémon Checkup between turns.
const POKEMON_STEPS: [TurnStep; 4] = [
    step("draw", "draw"),
    step("main", "main"),
    step("attack", "attack"),
    step("checkup", "pokemon_checkup"),
];

const MTG_ZONES: [ZoneKind; 6] = [
    ZoneKind::Library,
    ZoneKind::Hand,
    ZoneKind::Battlefield,
    ZoneKind::Graveyard,
    ZoneKind::Exile,
    ZoneKind::Command,
];

const POKEMON_ZONES: [ZoneKind; 7] = [
    ZoneKind::Deck,
    ZoneKind::Hand,
    ZoneKind::Active,
    ZoneKind::Bench,
    ZoneKind::Prizes,
    ZoneKind::Discard,
    ZoneKind::LostZone,
];

/// Poison counters that make an MTG player lose.
const LETHAL_POISON: u32 = 10;
/// Combat damage from one commander that makes a player lose.
const LETHAL_COMMANDER_DAMAGE: u32 = 21;
/// Prize cards each Pokémon player sets aside.
const PRIZES: usize = 6;

/// What a format decides. The table itself is the same for every format.
pub(crate) trait Format: Sync {
    /// Seats a game of this format takes.
    fn players(&self) -> RangeInclusive<usize>;
    /// Starting life, or `None` when the format has no life totals.
    fn starting_life(&self) -> Option<i64>;
    /// Cards in an opening hand.
    fn hand_size(&self) -> usize {
        7
    }
    /// Each player's zones.
    fn zones(&self) -> &'static [ZoneKind];
    /// The zone cards are drawn from.
    fn library(&self) -> ZoneKind {
        ZoneKind::Library
    }
    /// Whether the format has the shared stack.
    fn has_stack(&self) -> bool {
        true
    }
    /// Most cards a zone may hold, if limited; attached cards (energy, earlier stages) do not
    /// count.
    fn zone_limit(&self, _zone: ZoneKind) -> Option<usize> {
        None
    }
    /// Whether attached cards go along when their host changes zone (Pokémon energy does;
    /// MTG equipment stays, so there the players move auras themselves).
    fn attachments_follow(&self) -> bool {
        false
    }
    /// Whether commander damage is tracked.
    fn commander_damage(&self) -> bool {
        false
    }
    /// The turn's steps in order.
    fn steps(&self) -> &'static [TurnStep];
    /// Check a deck list against the format's size limits; `Err` says why not.
    fn validate(&self, deck: &[DeckEntry]) -> Result<(), String>;
    /// Put the cards that do not start in the library where they belong once the player's
    /// mulligans are over (prize cards).
    fn deal_extra(
        &self,
        _table: &mut Table,
        _player: &PlayerId,
        _rng: &mut arbiter_engine::GameRng,
    ) {
    }
    /// Why `player` has lost by the table's state, if they have.
    fn loss(&self, table: &Table, player: &PlayerId) -> Option<String>;
    /// Whether `player` has won by the table's state (Pokémon: took every prize card).
    fn won(&self, _table: &Table, _player: &PlayerId) -> bool {
        false
    }
}

fn total(deck: &[DeckEntry]) -> u64 {
    deck.iter().map(|e| u64::from(e.count)).sum()
}

fn commanders(deck: &[DeckEntry]) -> u64 {
    deck.iter()
        .filter(|e| e.commander)
        .map(|e| u64::from(e.count))
        .sum()
}

fn no_commanders(deck: &[DeckEntry], format: &str) -> Result<(), String> {
    if commanders(deck) > 0 {
        return Err(format!("{format} decks have no commander"));
    }
    Ok(())
}

fn mtg_loss(table: &Table, player: &PlayerId) -> Option<String> {
    let p = table.players.get(player)?;
    if p.life <= 0 {
        return Some(format!("life total reached {}", p.life));
    }
    if p.counters.get("poison").copied().unwrap_or(0) >= LETHAL_POISON {
        return Some(format!("{LETHAL_POISON} or more poison counters"));
    }
    None
}

/// Magic: the Gathering, constructed: at least 60 cards.
struct Mtg;

impl Format for Mtg {
    fn players(&self) -> RangeInclusive<usize> {
        2..=6
    }
    fn starting_life(&self) -> Option<i64> {
        Some(20)
    }
    fn zones(&self) -> &'static [ZoneKind] {
        &MTG_ZONES
    }
    fn steps(&self) -> &'static [TurnStep] {
        &MTG_STEPS
    }
    fn validate(&self, deck: &[DeckEntry]) -> Result<(), String> {
        no_commanders(deck, "mtg")?;
        let n = total(deck);
        if !(60..=250).contains(&n) {
            return Err(format!("an mtg deck has 60 to 250 cards, not {n}"));
        }
        Ok(())
    }
    fn loss(&self, table: &Table, player: &PlayerId) -> Option<String> {
        mtg_loss(table, player)
    }
}

/// Commander: exactly 100 cards, one or two of them commanders; 40 life.
struct Commander;

impl Format for Commander {
    fn players(&self) -> RangeInclusive<usize> {
        2..=6
    }
    fn starting_life(&self) -> Option<i64> {
        Some(40)
    }
    fn zones(&self) -> &'static [ZoneKind] {
        &MTG_ZONES
    }
    fn steps(&self) -> &'static [TurnStep] {
        &MTG_STEPS
    }
    fn commander_damage(&self) -> bool {
        true
    }
    fn validate(&self, deck: &[DeckEntry]) -> Result<(), String> {
        let n = total(deck);
        if n != 100 {
            return Err(format!("a commander deck has exactly 100 cards, not {n}"));
        }
        let c = commanders(deck);
        if !(1..=2).contains(&c) {
            return Err(format!(
                "a commander deck has one or two commanders, not {c}"
            ));
        }
        Ok(())
    }
    fn loss(&self, table: &Table, player: &PlayerId) -> Option<String> {
        if let Some(reason) = mtg_loss(table, player) {
            return Some(reason);
        }
        let p = table.players.get(player)?;
        p.commander_damage
            .iter()
            .find(|(_, d)| **d >= LETHAL_COMMANDER_DAMAGE)
            .map(|(from, d)| format!("{d} commander damage from {from}'s commander"))
    }
}

/// Pokémon TCG: exactly 60 cards, two players, a bench of five, six prize cards.
struct Pokemon;

impl Format for Pokemon {
    fn players(&self) -> RangeInclusive<usize> {
        2..=2
    }
    fn starting_life(&self) -> Option<i64> {
        None
    }
    fn zones(&self) -> &'static [ZoneKind] {
        &POKEMON_ZONES
    }
    fn library(&self) -> ZoneKind {
        ZoneKind::Deck
    }
    fn has_stack(&self) -> bool {
        false
    }
    fn zone_limit(&self, zone: ZoneKind) -> Option<usize> {
        match zone {
            ZoneKind::Bench => Some(5),
            ZoneKind::Active => Some(1),
            _ => None,
        }
    }
    fn attachments_follow(&self) -> bool {
        true
    }
    fn steps(&self) -> &'static [TurnStep] {
        &POKEMON_STEPS
    }
    fn validate(&self, deck: &[DeckEntry]) -> Result<(), String> {
        no_commanders(deck, "pokemon")?;
        let n = total(deck);
        if n != 60 {
            return Err(format!("a pokemon deck has exactly 60 cards, not {n}"));
        }
        Ok(())
    }
    fn deal_extra(&self, table: &mut Table, player: &PlayerId, rng: &mut arbiter_engine::GameRng) {
        table.deal_top(player, ZoneKind::Deck, ZoneKind::Prizes, PRIZES, rng);
    }
    fn loss(&self, _table: &Table, _player: &PlayerId) -> Option<String> {
        None
    }
    /// The correct rule: you win when you have taken your own last prize card (the reference
    /// had it inverted, checking the opponent's prizes).
    fn won(&self, table: &Table, player: &PlayerId) -> bool {
        table
            .players
            .get(player)
            .is_some_and(|p| !p.setting_up && p.zone(ZoneKind::Prizes).is_empty())
    }
}
