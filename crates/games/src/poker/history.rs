//! Hand records: what happened in a finished hand, kept in the state for the last hands and
//! shown to each viewer with the hole cards they may not see removed.

use super::cards::{Card, card_names};
use arbiter_engine::Viewer;
use arbiter_engine::protocol::PlayerId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A betting round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Street {
    /// Hole cards dealt, blinds posted.
    Preflop,
    /// Three board cards.
    Flop,
    /// The fourth board card.
    Turn,
    /// The fifth board card.
    River,
    /// The hand is over: won uncontested or shown down.
    Over,
}

/// What a player (or the table, for blinds and returns) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Posted an ante (dead money, not part of the bet to call).
    Ante,
    /// Posted the small blind.
    SmallBlind,
    /// Posted the big blind.
    BigBlind,
    /// Gave up the hand.
    Fold,
    /// Passed with nothing to call.
    Check,
    /// Matched the bet (possibly all-in for less).
    Call,
    /// Opened the betting on a street.
    Bet,
    /// Increased the bet.
    Raise,
    /// Got back the part of a bet nobody called.
    Return,
}

/// One entry of a hand's action list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The betting round it happened in.
    pub street: Street,
    /// Who.
    pub player: PlayerId,
    /// What.
    pub kind: ActionKind,
    /// Chips moved from the stack to the pot (to the stack for a return).
    pub amount: u64,
    /// The player's bet on this street afterwards.
    pub to: u64,
    /// The action put the player all-in.
    pub all_in: bool,
    /// The table acted for the player: their clock ran out or they left.
    pub auto: bool,
}

/// One pot and who won it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PotRecord {
    /// Chips in the pot.
    pub amount: u64,
    /// Players who could win it, clockwise from the button.
    pub eligible: Vec<PlayerId>,
    /// Winners and their shares (odd chips go to the first winners left of the button).
    pub winners: Vec<(PlayerId, u64)>,
}

/// A player dealt into a hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSeat {
    /// Who.
    pub player: PlayerId,
    /// Their name at the time.
    pub name: String,
    /// Seat number.
    pub seat: u8,
    /// Stack before the antes and blinds.
    pub stack_before: u64,
    /// Stack after the pots were paid.
    pub stack_after: u64,
    /// Hole cards (hidden from others in views unless `shown`).
    pub hole: [Card; 2],
    /// The cards were shown at showdown.
    pub shown: bool,
    /// Best hand, for shown cards.
    pub hand: Option<String>,
    /// Chips won from the pots.
    pub won: u64,
}

/// A finished hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandRecord {
    /// Hand number at this table, from 1.
    pub number: u64,
    /// Room time the hand was dealt.
    pub started_ms: u64,
    /// Room time it ended.
    pub ended_ms: u64,
    /// The hand seed, revealed: hex of 32 bytes.
    pub seed: String,
    /// `sha256(seed)` in hex, published when the hand was dealt.
    pub commitment: String,
    /// Small blind of the table.
    pub small_blind: u64,
    /// Big blind of the table.
    pub big_blind: u64,
    /// Ante of the table (0 for none).
    pub ante: u64,
    /// Seat of the button (possibly empty: a dead button).
    pub button: u8,
    /// Seat that posted the small blind, if anyone did.
    pub small_blind_seat: Option<u8>,
    /// Seat that posted the big blind.
    pub big_blind_seat: u8,
    /// Players dealt in, by seat.
    pub seats: Vec<RecordSeat>,
    /// Community cards.
    pub board: Vec<Card>,
    /// Every action, in order, with its street.
    pub actions: Vec<ActionRecord>,
    /// Pots, main first, and their winners.
    pub pots: Vec<PotRecord>,
}

impl HandRecord {
    /// The record as `viewer` may see it: hole cards only for hands shown at showdown and
    /// for the viewer's own seat.
    pub fn view(&self, viewer: &Viewer) -> Value {
        let seats: Vec<Value> = self
            .seats
            .iter()
            .map(|s| {
                let mine = matches!(viewer, Viewer::Player(p) if *p == s.player);
                let hole = (s.shown || mine).then(|| card_names(&s.hole));
                json!({
                    "player": s.player,
                    "name": s.name,
                    "seat": s.seat,
                    "stack_before": s.stack_before,
                    "stack_after": s.stack_after,
                    "hole": hole,
                    "shown": s.shown,
                    "hand": s.hand,
                    "won": s.won,
                })
            })
            .collect();
        json!({
            "number": self.number,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms,
            "seed": self.seed,
            "commitment": self.commitment,
            "small_blind": self.small_blind,
            "big_blind": self.big_blind,
            "ante": self.ante,
            "button": self.button,
            "small_blind_seat": self.small_blind_seat,
            "big_blind_seat": self.big_blind_seat,
            "seats": seats,
            "board": card_names(&self.board),
            "actions": self.actions,
            "pots": self.pots,
        })
    }
}
