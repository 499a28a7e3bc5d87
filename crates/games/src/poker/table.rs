//! One hand of no-limit hold'em as a state machine: deal, antes and blinds, betting rounds,
//! street transitions, uncalled bets, showdown and payout. It knows nothing of rooms, timers
//! or names; `mod.rs` drives it.

use super::cards::{Card, commitment, deck_from_seed};
use super::eval::{HandValue, evaluate};
use super::history::{ActionKind, ActionRecord, PotRecord, Street};
use super::pots::{Contribution, Pot, award, build_pots};
use arbiter_engine::GameError;
use arbiter_engine::protocol::PlayerId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Forced bets of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Blinds {
    pub(crate) small: u64,
    pub(crate) big: u64,
    pub(crate) ante: u64,
}

/// The button and blind positions of a hand, as seat numbers. Positions may be empty seats:
/// under the dead-button rule the button and the small blind follow the big blind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Positions {
    pub(crate) button: u8,
    pub(crate) sb: u8,
    pub(crate) bb: u8,
}

/// The first active seat clockwise after `seat`.
fn next_after(active: &[u8], seat: u8) -> u8 {
    active
        .iter()
        .copied()
        .find(|&a| a > seat)
        .unwrap_or(active[0])
}

/// Positions for a fresh start with the button on `button`.
fn fresh(active: &[u8], button: u8) -> Positions {
    if active.len() == 2 {
        // Heads-up: the button posts the small blind.
        return Positions {
            button,
            sb: button,
            bb: next_after(active, button),
        };
    }
    let sb = next_after(active, button);
    Positions {
        button,
        sb,
        bb: next_after(active, sb),
    }
}

/// Where the button and blinds go for the next hand. `active` are the seats dealt in
/// (sorted, at least two), `seats` the table size, `first_button` the button when there is
/// no previous hand.
///
/// Dead-button rule: the big blind moves to the next active seat after the last big blind;
/// the small blind position is the last big blind's seat and the button the last small
/// blind's seat, whether or not anyone still sits there (an empty or inactive small blind
/// seat means nobody posts a small blind). Heads-up, the button posts the small blind and
/// the big blind alternates. When seating changes break the button → small blind → big blind
/// order, the button simply moves to the next active seat.
pub(crate) fn next_positions(
    active: &[u8],
    seats: u8,
    last: Option<Positions>,
    first_button: u8,
) -> Positions {
    let Some(last) = last else {
        return fresh(active, first_button);
    };
    let bb = next_after(active, last.bb);
    if active.len() == 2 {
        let other = if active[0] == bb {
            active[1]
        } else {
            active[0]
        };
        return Positions {
            button: other,
            sb: other,
            bb,
        };
    }
    let (button, sb) = (last.sb, last.bb);
    let n = u16::from(seats.max(bb + 1).max(button + 1).max(sb + 1));
    let dist = |from: u8, to: u8| (u16::from(to) + n - u16::from(from)) % n;
    if dist(button, sb) > 0 && dist(button, bb) > dist(button, sb) {
        Positions { button, sb, bb }
    } else {
        fresh(active, next_after(active, last.button))
    }
}

/// A player dealt into the hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InHand {
    pub(crate) player: PlayerId,
    pub(crate) seat: u8,
    pub(crate) hole: [Card; 2],
    /// Chips behind, live during the hand.
    pub(crate) stack: u64,
    pub(crate) stack_before: u64,
    /// Chips bet on the current street.
    pub(crate) bet: u64,
    /// Chips put in over the whole hand.
    pub(crate) total: u64,
    pub(crate) folded: bool,
    pub(crate) all_in: bool,
    /// The bet to match when the player last acted on this street; `None` before they act.
    /// A player who has acted may raise again only if the bet grew by a full raise since.
    pub(crate) acted_at: Option<u64>,
    pub(crate) shown: bool,
    pub(crate) value: Option<HandValue>,
    pub(crate) won: u64,
}

/// A move by the player to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Move {
    Fold,
    Check,
    Call,
    /// Open the betting to this street total.
    Bet(u64),
    /// Raise to this street total.
    Raise(u64),
    AllIn,
}

/// An inclusive range of street totals a bet or raise may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Range {
    pub(crate) min: u64,
    pub(crate) max: u64,
}

/// What the player to act may do. Amounts: `call` and `all_in` are chips added; `bet` and
/// `raise` are street totals ("raise to").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Legal {
    pub(crate) fold: bool,
    pub(crate) check: bool,
    pub(crate) call: Option<u64>,
    pub(crate) bet: Option<Range>,
    pub(crate) raise: Option<Range>,
    pub(crate) all_in: Option<u64>,
}

/// Everything needed to deal a hand.
pub(crate) struct Deal {
    pub(crate) number: u64,
    pub(crate) seed: [u8; 32],
    pub(crate) blinds: Blinds,
    pub(crate) positions: Positions,
    /// `(player, seat, stack)` of everyone dealt in, sorted by seat.
    pub(crate) players: Vec<(PlayerId, u8, u64)>,
    pub(crate) now_ms: u64,
}

/// One hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Hand {
    pub(crate) number: u64,
    pub(crate) seed: [u8; 32],
    pub(crate) commitment: String,
    /// The shuffled deck; never leaves the server.
    pub(crate) deck: Vec<Card>,
    pub(crate) dealt: usize,
    pub(crate) blinds: Blinds,
    pub(crate) positions: Positions,
    /// Seat that posted the small blind, if anyone.
    pub(crate) sb_seat: Option<u8>,
    /// Players dealt in, by seat.
    pub(crate) seats: Vec<InHand>,
    pub(crate) board: Vec<Card>,
    pub(crate) street: Street,
    /// The street total to match.
    pub(crate) current_bet: u64,
    /// Size of the last full bet or raise on this street (at least the big blind).
    pub(crate) min_raise: u64,
    /// Index of the last player to bet or raise on this street.
    pub(crate) aggressor: Option<usize>,
    /// Index of the player to act.
    pub(crate) to_act: Option<usize>,
    /// Counts turns, so a timer set for one turn cannot act on another.
    pub(crate) turn: u64,
    pub(crate) actions: Vec<ActionRecord>,
    /// Paid pots, once the hand is over.
    pub(crate) pots: Vec<PotRecord>,
    /// Betting closed with cards to come; every live hand is tabled.
    pub(crate) runout: bool,
    pub(crate) started_ms: u64,
}

fn invalid(msg: &str) -> GameError {
    GameError::invalid_move(msg)
}

impl Hand {
    /// Shuffle, deal two cards each from the left of the button, post antes and blinds and
    /// find the first player to act.
    pub(crate) fn deal(d: Deal) -> Hand {
        let deck = deck_from_seed(&d.seed).to_vec();
        let seats: Vec<InHand> = d
            .players
            .into_iter()
            .map(|(player, seat, stack)| InHand {
                player,
                seat,
                hole: [0, 0],
                stack,
                stack_before: stack,
                bet: 0,
                total: 0,
                folded: false,
                all_in: false,
                acted_at: None,
                shown: false,
                value: None,
                won: 0,
            })
            .collect();
        let mut h = Hand {
            number: d.number,
            seed: d.seed,
            commitment: commitment(&d.seed),
            deck,
            dealt: 0,
            blinds: d.blinds,
            positions: d.positions,
            sb_seat: None,
            seats,
            board: Vec::new(),
            street: Street::Preflop,
            current_bet: d.blinds.big,
            min_raise: d.blinds.big,
            aggressor: None,
            to_act: None,
            turn: 0,
            actions: Vec::new(),
            pots: Vec::new(),
            runout: false,
            started_ms: d.now_ms,
        };
        let order = h.order_after(h.positions.button);
        for round in 0..2 {
            for &i in &order {
                h.seats[i].hole[round] = h.draw();
            }
        }
        if h.blinds.ante > 0 {
            for &i in &order {
                h.post(i, h.blinds.ante, ActionKind::Ante, false);
            }
        }
        if let Some(i) = h.index_of(h.positions.sb) {
            h.sb_seat = Some(h.positions.sb);
            h.post(i, h.blinds.small, ActionKind::SmallBlind, true);
        }
        let bb = h.index_of(h.positions.bb).unwrap_or(0);
        h.post(bb, h.blinds.big, ActionKind::BigBlind, true);
        h.advance(bb);
        h
    }

    fn draw(&mut self) -> Card {
        let c = self.deck[self.dealt % self.deck.len()];
        self.dealt += 1;
        c
    }

    fn index_of(&self, seat: u8) -> Option<usize> {
        self.seats.iter().position(|s| s.seat == seat)
    }

    /// Indices clockwise starting with the first seat after `seat`.
    pub(crate) fn order_after(&self, seat: u8) -> Vec<usize> {
        let n = self.seats.len();
        let start = self.seats.iter().position(|s| s.seat > seat).unwrap_or(0);
        (0..n).map(|k| (start + k) % n).collect()
    }

    /// Index of a player dealt in.
    pub(crate) fn index_of_player(&self, p: &PlayerId) -> Option<usize> {
        self.seats.iter().position(|s| &s.player == p)
    }

    /// The hand is finished and paid.
    pub(crate) fn is_over(&self) -> bool {
        self.street == Street::Over
    }

    /// Chips in the middle (0 once paid out).
    pub(crate) fn pot(&self) -> u64 {
        if self.is_over() {
            0
        } else {
            self.seats.iter().map(|s| s.total).sum()
        }
    }

    /// The pots as they stand (main first), from what everyone has put in so far.
    pub(crate) fn live_pots(&self) -> Vec<Pot> {
        build_pots(&self.contributions())
    }

    fn contributions(&self) -> Vec<Contribution> {
        self.order_after(self.positions.button)
            .into_iter()
            .map(|i| Contribution {
                player: self.seats[i].player.clone(),
                total: self.seats[i].total,
                live: !self.seats[i].folded,
                all_in: self.seats[i].all_in,
            })
            .collect()
    }

    fn live_count(&self) -> usize {
        self.seats.iter().filter(|s| !s.folded).count()
    }

    fn record(&mut self, i: usize, kind: ActionKind, amount: u64, auto: bool) {
        let s = &self.seats[i];
        self.actions.push(ActionRecord {
            street: self.street,
            player: s.player.clone(),
            kind,
            amount,
            to: s.bet,
            all_in: s.all_in,
            auto,
        });
    }

    /// Move up to `amount` chips from the stack into the pot; blinds count towards the bet,
    /// antes do not.
    fn post(&mut self, i: usize, amount: u64, kind: ActionKind, counts: bool) {
        let s = &mut self.seats[i];
        let a = amount.min(s.stack);
        s.stack -= a;
        s.total += a;
        if counts {
            s.bet += a;
        }
        s.all_in = s.stack == 0;
        self.record(i, kind, a, false);
    }

    /// Whether player `i` still has a decision to make on this street. Nobody has one when
    /// every opponent still in is all-in for no more than their bet (a big blind all-in for
    /// less than the small blind): the uncalled part goes back and the board runs out.
    fn needs_action(&self, i: usize) -> bool {
        let s = &self.seats[i];
        if s.folded || s.all_in {
            return false;
        }
        let mut opponents = self
            .seats
            .iter()
            .enumerate()
            .filter(|&(j, o)| j != i && !o.folded);
        if opponents.all(|(_, o)| o.all_in && o.bet <= s.bet) {
            return false;
        }
        if s.bet < self.current_bet {
            return true;
        }
        s.acted_at.is_none()
            && self
                .seats
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && !o.folded && !o.all_in)
    }

    /// What player `i` may do now; `None` when it is not their turn.
    pub(crate) fn legal(&self, i: usize) -> Option<Legal> {
        if self.to_act != Some(i) || self.is_over() {
            return None;
        }
        let s = &self.seats[i];
        let to_call = self.current_bet.saturating_sub(s.bet);
        let max_to = s.bet + s.stack;
        let reopened = s
            .acted_at
            .is_none_or(|at| self.current_bet >= at + self.min_raise);
        let (bet, raise) = if self.current_bet == 0 {
            let min = self.blinds.big.max(1);
            ((max_to >= min).then_some(Range { min, max: max_to }), None)
        } else {
            let min = self.current_bet + self.min_raise;
            (
                None,
                (reopened && max_to >= min).then_some(Range { min, max: max_to }),
            )
        };
        let all_in = (s.stack > 0 && (max_to <= self.current_bet || reopened)).then_some(s.stack);
        Some(Legal {
            fold: true,
            check: to_call == 0,
            call: (to_call > 0).then_some(to_call.min(s.stack)),
            bet,
            raise,
            all_in,
        })
    }

    /// Apply a move by player `i`. `auto` marks moves the table made for the player.
    pub(crate) fn act(&mut self, i: usize, mv: Move, auto: bool) -> Result<(), GameError> {
        let legal = self.legal(i).ok_or_else(GameError::not_your_turn)?;
        match mv {
            Move::Fold => {
                self.seats[i].folded = true;
                self.record(i, ActionKind::Fold, 0, auto);
            }
            Move::Check => {
                if !legal.check {
                    return Err(invalid("there is a bet to you: call, raise or fold"));
                }
                self.record(i, ActionKind::Check, 0, auto);
            }
            Move::Call => {
                let amount = legal
                    .call
                    .ok_or_else(|| invalid("there is nothing to call: check or bet"))?;
                self.put(i, amount, ActionKind::Call, auto);
            }
            Move::Bet(to) => {
                let r = legal.bet.ok_or_else(|| {
                    if self.current_bet > 0 {
                        invalid("there is already a bet: raise instead")
                    } else {
                        invalid("your stack is below the minimum bet: go all-in instead")
                    }
                })?;
                check_range(to, r, "bet")?;
                self.raise_to(i, to, ActionKind::Bet, auto);
            }
            Move::Raise(to) => {
                let r = legal.raise.ok_or_else(|| {
                    if self.current_bet == 0 {
                        invalid("there is no bet to raise: bet instead")
                    } else {
                        invalid("you may not raise now (betting was not reopened, or your stack is short: call or go all-in)")
                    }
                })?;
                check_range(to, r, "raise")?;
                self.raise_to(i, to, ActionKind::Raise, auto);
            }
            Move::AllIn => {
                legal.all_in.ok_or_else(|| {
                    invalid("betting was not reopened: you may only call or fold")
                })?;
                let to = self.seats[i].bet + self.seats[i].stack;
                if to > self.current_bet {
                    let kind = if self.current_bet == 0 {
                        ActionKind::Bet
                    } else {
                        ActionKind::Raise
                    };
                    self.raise_to(i, to, kind, auto);
                } else {
                    let amount = self.seats[i].stack;
                    self.put(i, amount, ActionKind::Call, auto);
                }
            }
        }
        self.seats[i].acted_at = Some(self.current_bet);
        self.advance(i);
        Ok(())
    }

    fn put(&mut self, i: usize, amount: u64, kind: ActionKind, auto: bool) {
        let s = &mut self.seats[i];
        let a = amount.min(s.stack);
        s.stack -= a;
        s.bet += a;
        s.total += a;
        s.all_in = s.stack == 0;
        self.record(i, kind, a, auto);
    }

    /// Bet or raise to `to`. An increase of at least the last full raise becomes the new
    /// minimum raise; a smaller one (only possible all-in) leaves it, and so does not reopen
    /// the betting for players who already acted.
    fn raise_to(&mut self, i: usize, to: u64, kind: ActionKind, auto: bool) {
        let increase = to - self.current_bet;
        if increase >= self.min_raise {
            self.min_raise = increase;
        }
        self.current_bet = to;
        self.aggressor = Some(i);
        let amount = to - self.seats[i].bet;
        self.put(i, amount, kind, auto);
    }

    /// A player leaves mid-hand: folded unless all-in (an all-in hand has no decisions left
    /// and plays on). Returns whether they were folded.
    pub(crate) fn leave(&mut self, i: usize) -> bool {
        if self.is_over() || self.seats[i].folded || self.seats[i].all_in {
            return false;
        }
        self.seats[i].folded = true;
        self.record(i, ActionKind::Fold, 0, true);
        match self.to_act {
            Some(t) if t == i => self.advance(i),
            _ if self.live_count() <= 1 => self.finish(),
            Some(t) if !self.needs_action(t) => self.advance(t),
            _ => {}
        }
        true
    }

    /// After player `from` acted: the next player to act, or the end of the street.
    fn advance(&mut self, from: usize) {
        if self.live_count() <= 1 {
            return self.finish();
        }
        let n = self.seats.len();
        if let Some(next) = (1..=n)
            .map(|k| (from + k) % n)
            .find(|&i| self.needs_action(i))
        {
            self.to_act = Some(next);
            self.turn += 1;
            return;
        }
        self.to_act = None;
        self.end_street();
    }

    fn end_street(&mut self) {
        self.return_uncalled();
        for s in &mut self.seats {
            s.bet = 0;
            s.acted_at = None;
        }
        self.current_bet = 0;
        self.min_raise = self.blinds.big;
        if self.street == Street::River {
            return self.showdown();
        }
        let can_act = self.seats.iter().filter(|s| !s.folded && !s.all_in).count();
        if can_act <= 1 {
            self.runout = true;
            while self.board.len() < 5 {
                self.deal_street();
            }
            return self.showdown();
        }
        self.deal_street();
        self.aggressor = None;
        let first = self.order_after(self.positions.button)[0];
        let n = self.seats.len();
        // `advance` looks after its argument, so start from the seat before `first`.
        self.advance((first + n - 1) % n);
    }

    /// Burn one card and turn the next street's cards.
    fn deal_street(&mut self) {
        self.draw();
        let (n, street) = match self.board.len() {
            0 => (3, Street::Flop),
            3 => (1, Street::Turn),
            _ => (1, Street::River),
        };
        for _ in 0..n {
            let c = self.draw();
            self.board.push(c);
        }
        self.street = street;
    }

    /// Give back chips nobody still in the hand can win. The part of the largest
    /// contribution that nobody matched goes back to its owner if they are still in; a
    /// player who folded (or left) forfeits theirs to the players still in. But when every
    /// player still in is all-in, nobody can win more from anyone than the largest of their
    /// totals: what folded players put in above it goes back to them (a side pot whose
    /// players all left, while a short all-in player remains).
    fn return_uncalled(&mut self) {
        let Some(max) = self.seats.iter().map(|s| s.total).max() else {
            return;
        };
        let holders: Vec<usize> = (0..self.seats.len())
            .filter(|&i| self.seats[i].total == max)
            .collect();
        if let [i] = holders[..]
            && !self.seats[i].folded
        {
            let second = (0..self.seats.len())
                .filter(|&j| j != i)
                .map(|j| self.seats[j].total)
                .max()
                .unwrap_or(0);
            self.give_back(i, max - second);
        }
        if self.seats.iter().any(|s| !s.folded && !s.all_in) {
            return;
        }
        let covered = self
            .seats
            .iter()
            .filter(|s| !s.folded)
            .map(|s| s.total)
            .max()
            .unwrap_or(0);
        for i in 0..self.seats.len() {
            if self.seats[i].folded {
                let extra = self.seats[i].total.saturating_sub(covered);
                self.give_back(i, extra);
            }
        }
    }

    /// Move `extra` chips of player `i`'s contribution back to their stack.
    fn give_back(&mut self, i: usize, extra: u64) {
        if extra == 0 {
            return;
        }
        let s = &mut self.seats[i];
        s.total -= extra;
        s.bet = s.bet.saturating_sub(extra);
        s.stack += extra;
        s.all_in = s.stack == 0;
        self.record(i, ActionKind::Return, extra, false);
    }

    /// Everyone else folded: the last player takes the pots unseen.
    fn finish(&mut self) {
        self.to_act = None;
        self.return_uncalled();
        for s in &mut self.seats {
            s.bet = 0;
        }
        self.pay(&BTreeMap::new());
    }

    /// Evaluate live hands, decide which are shown, pay the pots.
    fn showdown(&mut self) {
        let board = self.board.clone();
        let mut values = BTreeMap::new();
        for s in self.seats.iter_mut().filter(|s| !s.folded) {
            let mut seven = board.clone();
            seven.extend_from_slice(&s.hole);
            let v = evaluate(&seven);
            s.value = Some(v);
            values.insert(s.player.clone(), v);
        }
        self.pay(&values);
        if self.runout {
            for s in self.seats.iter_mut().filter(|s| !s.folded) {
                s.shown = true;
            }
        } else {
            // Showdown order: the last river aggressor first, else the first live player
            // left of the button; a hand is shown when it wins chips or is at least as good
            // as every hand shown before it, and mucked otherwise.
            let start = match self.aggressor {
                Some(a) if !self.seats[a].folded => a,
                _ => self.order_after(self.positions.button)[0],
            };
            let n = self.seats.len();
            let mut best: Option<HandValue> = None;
            for k in 0..n {
                let i = (start + k) % n;
                let s = &mut self.seats[i];
                if s.folded {
                    continue;
                }
                if best.is_none_or(|b| s.value >= Some(b)) || s.won > 0 {
                    s.shown = true;
                    best = best.max(s.value);
                }
            }
        }
    }

    fn pay(&mut self, values: &BTreeMap<PlayerId, HandValue>) {
        let pots = award(&build_pots(&self.contributions()), values);
        for pot in &pots {
            for (p, amount) in &pot.winners {
                if let Some(i) = self.index_of_player(p) {
                    self.seats[i].stack += amount;
                    self.seats[i].won += amount;
                }
            }
        }
        self.pots = pots;
        self.street = Street::Over;
        self.to_act = None;
    }
}

fn check_range(to: u64, r: Range, what: &str) -> Result<(), GameError> {
    if to < r.min || to > r.max {
        return Err(invalid(&format!(
            "a {what} must be to between {} and {} (got {to})",
            r.min, r.max
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poker::cards::parse_card;

    const BLINDS: Blinds = Blinds {
        small: 5,
        big: 10,
        ante: 0,
    };

    /// A hand with the given `(name, seat, stack)` players and positions, the deck arranged
    /// so that hole cards and board are as given (hole cards listed in dealing order's
    /// player order, by player).
    fn hand(players: &[(&str, u8, u64)], pos: Positions, blinds: Blinds) -> Hand {
        Hand::deal(Deal {
            number: 1,
            seed: [3; 32],
            blinds,
            positions: pos,
            players: players
                .iter()
                .map(|&(p, s, st)| (PlayerId::from(p), s, st))
                .collect(),
            now_ms: 0,
        })
    }

    /// Replace the deck so that `holes` (per player index) and `board` come out.
    fn rig(h: &mut Hand, holes: &[&str], board: &str) {
        let order = h.order_after(h.positions.button);
        let mut deck: Vec<Card> = vec![255; 52];
        let n = h.seats.len();
        for (k, &i) in order.iter().enumerate() {
            let cards: Vec<Card> = holes[i]
                .split_whitespace()
                .map(|c| parse_card(c).expect("card"))
                .collect();
            deck[k] = cards[0];
            deck[n + k] = cards[1];
            h.seats[i].hole = [cards[0], cards[1]];
        }
        let b: Vec<Card> = board
            .split_whitespace()
            .map(|c| parse_card(c).expect("card"))
            .collect();
        // burn, flop, burn, turn, burn, river
        let at = 2 * n;
        let slots = [at + 1, at + 2, at + 3, at + 5, at + 7];
        for (slot, c) in slots.iter().zip(b) {
            deck[*slot] = c;
        }
        let unused: Vec<Card> = (0..52u8).filter(|c| !deck.contains(c)).collect();
        let mut rest = unused.into_iter();
        for d in deck.iter_mut().filter(|d| **d == 255) {
            *d = rest.next().expect("card left");
        }
        h.deck = deck;
    }

    fn who(h: &Hand) -> &str {
        &h.seats[h.to_act.expect("someone to act")].player.0
    }

    fn play(h: &mut Hand, moves: &[(&str, Move)]) {
        for (p, m) in moves {
            assert_eq!(who(h), *p, "turn before {m:?}; actions {:?}", h.actions);
            let i = h.index_of_player(&PlayerId::from(*p)).expect("seated");
            h.act(i, *m, false).expect("legal move");
        }
    }

    fn stack(h: &Hand, p: &str) -> u64 {
        h.seats[h.index_of_player(&PlayerId::from(p)).expect("seated")].stack
    }

    fn total_chips(h: &Hand) -> u64 {
        h.seats.iter().map(|s| s.stack).sum::<u64>() + h.pot()
    }

    #[test]
    fn heads_up_the_button_posts_the_small_blind_and_acts_first_preflop_last_after() {
        let active = [2, 6];
        let pos = next_positions(&active, 9, None, 6);
        assert_eq!(
            pos,
            Positions {
                button: 6,
                sb: 6,
                bb: 2
            }
        );
        let mut h = hand(&[("a", 2, 1000), ("b", 6, 1000)], pos, BLINDS);
        assert_eq!((stack(&h, "b"), stack(&h, "a")), (995, 990));
        assert_eq!(who(&h), "b", "the button acts first pre-flop");
        play(&mut h, &[("b", Move::Call), ("a", Move::Check)]);
        assert_eq!(h.street, Street::Flop);
        assert_eq!(who(&h), "a", "the big blind acts first after the flop");
        // The next hand the blinds swap.
        let next = next_positions(&active, 9, Some(pos), 0);
        assert_eq!(
            next,
            Positions {
                button: 2,
                sb: 2,
                bb: 6
            }
        );
    }

    #[test]
    fn blinds_and_first_to_act_with_three_or_more() {
        let pos = next_positions(&[0, 3, 5, 8], 9, None, 3);
        assert_eq!(
            pos,
            Positions {
                button: 3,
                sb: 5,
                bb: 8
            }
        );
        let h = hand(
            &[("a", 0, 100), ("b", 3, 100), ("c", 5, 100), ("d", 8, 100)],
            pos,
            BLINDS,
        );
        assert_eq!(who(&h), "a", "under the gun is left of the big blind");
        assert_eq!((stack(&h, "c"), stack(&h, "d")), (95, 90));
    }

    #[test]
    fn the_button_moves_under_the_dead_button_rule_when_players_leave() {
        struct Case {
            name: &'static str,
            active: Vec<u8>,
            last: Positions,
            want: Positions,
        }
        let p = |button, sb, bb| Positions { button, sb, bb };
        let cases = vec![
            Case {
                name: "nobody left: everything moves one seat",
                active: vec![1, 3, 5, 7],
                last: p(1, 3, 5),
                want: p(3, 5, 7),
            },
            Case {
                name: "the last big blind left: dead small blind",
                active: vec![1, 3, 7],
                last: p(1, 3, 5),
                want: p(3, 5, 7),
            },
            Case {
                name: "the last small blind left: dead button",
                active: vec![1, 5, 7],
                last: p(1, 3, 5),
                want: p(3, 5, 7),
            },
            Case {
                name: "the next big blind left: the blind skips to the next player",
                active: vec![1, 3, 5, 8],
                last: p(1, 3, 5),
                want: p(3, 5, 8),
            },
            Case {
                name: "down to heads-up: the other player has the button and small blind",
                active: vec![3, 7],
                last: p(1, 3, 5),
                want: p(3, 3, 7),
            },
            Case {
                name: "from heads-up to three players",
                active: vec![1, 4, 6],
                last: p(1, 1, 4),
                want: p(1, 4, 6),
            },
            Case {
                name: "a newcomer between the blinds: the big blind would land on the button",
                active: vec![3, 4, 5],
                last: p(1, 3, 5),
                want: p(3, 4, 5),
            },
        ];
        for c in cases {
            assert_eq!(
                next_positions(&c.active, 9, Some(c.last), 0),
                c.want,
                "{}",
                c.name
            );
        }
        // A dead small blind posts nothing; action still starts left of the big blind.
        let h = hand(
            &[("a", 1, 100), ("c", 3, 100), ("d", 7, 100)],
            p(3, 5, 7),
            BLINDS,
        );
        assert_eq!(h.sb_seat, None);
        assert_eq!(h.pot(), 10);
        assert_eq!(who(&h), "a");
    }

    #[test]
    fn a_short_all_in_raise_does_not_reopen_the_betting() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        // a: button, b: SB, c: BB, d: UTG with a short stack.
        let mut h = hand(
            &[
                ("a", 0, 1000),
                ("b", 1, 1000),
                ("c", 2, 1000),
                ("d", 3, 1000),
            ],
            pos,
            BLINDS,
        );
        play(
            &mut h,
            &[("d", Move::Fold), ("a", Move::Call), ("b", Move::Call)],
        );
        play(&mut h, &[("c", Move::Check)]);
        assert_eq!(h.street, Street::Flop);
        // Flop: b bets 100, c shoves for 140 total (a raise of 40 < 100), a calls.
        h.seats[2].stack = 140;
        play(&mut h, &[("b", Move::Bet(100)), ("c", Move::AllIn)]);
        assert_eq!(h.current_bet, 140);
        assert_eq!(
            h.min_raise, 100,
            "a short raise does not change the minimum"
        );
        // a has not acted yet on this street: a may raise, to at least 140 + 100.
        let l = h.legal(0).expect("a to act");
        assert_eq!(l.raise, Some(Range { min: 240, max: 990 }));
        play(&mut h, &[("a", Move::Call)]);
        // Back to b, who bet and faces only the short raise: call or fold, no raise.
        let l = h.legal(1).expect("b to act");
        assert_eq!(l.raise, None);
        assert_eq!(l.all_in, None);
        assert_eq!(l.call, Some(40));
        let i = 1;
        assert_eq!(
            h.act(i, Move::Raise(300), false)
                .expect_err("not reopened")
                .code,
            arbiter_engine::protocol::ErrorCode::InvalidMove
        );
        assert!(h.act(i, Move::AllIn, false).is_err());
        play(&mut h, &[("b", Move::Call)]);
        assert_eq!(h.street, Street::Turn);
        assert_eq!(total_chips(&h), 3150);
    }

    #[test]
    fn a_full_raise_reopens_and_sets_the_minimum_raise() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let mut h = hand(
            &[("a", 0, 1000), ("b", 1, 1000), ("c", 2, 1000)],
            pos,
            BLINDS,
        );
        play(&mut h, &[("a", Move::Raise(30))]);
        assert_eq!(h.min_raise, 20);
        let l = h.legal(1).expect("b");
        assert_eq!(l.raise, Some(Range { min: 50, max: 1000 }));
        play(&mut h, &[("b", Move::Raise(100)), ("c", Move::Fold)]);
        assert_eq!(h.min_raise, 70);
        let l = h.legal(0).expect("a");
        assert_eq!(l.call, Some(70));
        assert_eq!(
            l.raise,
            Some(Range {
                min: 170,
                max: 1000
            })
        );
        let i = 0;
        assert!(h.act(i, Move::Raise(169), false).is_err());
        assert!(h.act(i, Move::Bet(200), false).is_err());
        assert!(h.act(i, Move::Check, false).is_err());
    }

    #[test]
    fn uncalled_bets_are_returned_and_a_lone_player_wins_unseen() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let mut h = hand(
            &[("a", 0, 1000), ("b", 1, 1000), ("c", 2, 1000)],
            pos,
            BLINDS,
        );
        play(
            &mut h,
            &[
                ("a", Move::Raise(300)),
                ("b", Move::Fold),
                ("c", Move::Fold),
            ],
        );
        assert!(h.is_over());
        assert_eq!(
            stack(&h, "a"),
            1015,
            "a gets its 290 back and wins the blinds"
        );
        assert_eq!(stack(&h, "b"), 995);
        assert_eq!(stack(&h, "c"), 990);
        assert!(h.seats.iter().all(|s| !s.shown));
        let ret = h
            .actions
            .iter()
            .find(|a| a.kind == ActionKind::Return)
            .expect("a return");
        assert_eq!((ret.player.0.as_str(), ret.amount), ("a", 290));
        assert_eq!(h.pots.len(), 1);
        assert_eq!(h.pots[0].amount, 25);
    }

    #[test]
    fn side_pots_from_four_all_ins_of_different_sizes() {
        struct Case {
            name: &'static str,
            stacks: [u64; 5],
            holes: [&'static str; 5],
            board: &'static str,
            end: [u64; 5],
        }
        let cases = [
            Case {
                name: "shortest best: main to a, each side pot to the next best",
                stacks: [50, 120, 300, 700, 1000],
                holes: ["As Ad", "Ks Kd", "Qs Qd", "Js Jd", "2c 7h"],
                board: "3c 4d 8h 9s Th",
                // main 250 → a; 280 → b; 540 → c; 800 (d 400 + e 400) → d; e gets 300 back.
                end: [250, 280, 540, 800, 300],
            },
            Case {
                name: "biggest stack best: it scoops every pot",
                stacks: [50, 120, 300, 700, 1000],
                holes: ["Ks Kd", "Qs Qd", "Js Jd", "Ts Td", "As Ad"],
                board: "3c 4d 8h 9s 2h",
                end: [0, 0, 0, 0, 2170],
            },
            Case {
                name: "a split main pot with an odd chip, side pots to the next best",
                stacks: [51, 120, 300, 700, 1000],
                holes: ["Ac Kd", "Ah Kc", "Qs Qd", "Js Jd", "2c 7h"],
                board: "As Ks 8h 4s 3h",
                // main 255: a and b split, the odd chip to a (first left of the button).
                end: [128, 127 + 276, 540, 800, 300],
            },
        ];
        for c in cases {
            let names = ["a", "b", "c", "d", "e"];
            let players: Vec<(&str, u8, u64)> = (0..5)
                .map(|i| (names[i], i as u8 + 1, c.stacks[i]))
                .collect();
            // Button on seat 5 (e): a is the small blind, b the big blind.
            let pos = Positions {
                button: 5,
                sb: 1,
                bb: 2,
            };
            let mut h = hand(&players, pos, BLINDS);
            rig(&mut h, &c.holes, c.board);
            play(
                &mut h,
                &[
                    ("c", Move::AllIn),
                    ("d", Move::AllIn),
                    ("e", Move::Call),
                    ("a", Move::AllIn),
                    ("b", Move::AllIn),
                ],
            );
            assert!(h.is_over(), "{}", c.name);
            assert!(h.runout);
            let got: Vec<u64> = h.seats.iter().map(|s| s.stack).collect();
            assert_eq!(got, c.end.to_vec(), "{}: {:?}", c.name, h.pots);
            assert_eq!(
                got.iter().sum::<u64>(),
                c.stacks.iter().sum::<u64>(),
                "{}",
                c.name
            );
            assert!(h.seats.iter().all(|s| s.shown), "all-in hands are tabled");
        }
    }

    #[test]
    fn showdown_order_mucks_beaten_hands_and_splits_ties() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let mut h = hand(
            &[("a", 0, 1000), ("b", 1, 1000), ("c", 2, 1000)],
            pos,
            BLINDS,
        );
        // a and c hold the same straight; b has a pair.
        rig(&mut h, &["9c Tc", "Ah Ad", "9d Td"], "Js Qh Kd 2c 3h");
        play(
            &mut h,
            &[("a", Move::Call), ("b", Move::Call), ("c", Move::Check)],
        );
        for _ in 0..2 {
            play(
                &mut h,
                &[("b", Move::Check), ("c", Move::Check), ("a", Move::Check)],
            );
        }
        // River: c bets, both call. c shows first (last aggressor), then a ties and shows,
        // b cannot beat them and mucks.
        play(
            &mut h,
            &[
                ("b", Move::Check),
                ("c", Move::Bet(100)),
                ("a", Move::Call),
                ("b", Move::Call),
            ],
        );
        assert!(h.is_over());
        let shown: Vec<bool> = h.seats.iter().map(|s| s.shown).collect();
        assert_eq!(shown, vec![true, false, true]);
        // Pot 330: 165 each.
        assert_eq!(stack(&h, "a"), 890 + 165);
        assert_eq!(stack(&h, "c"), 890 + 165);
        assert_eq!(stack(&h, "b"), 890);
    }

    #[test]
    fn antes_are_dead_money_and_short_blinds_go_all_in() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let blinds = Blinds {
            small: 5,
            big: 10,
            ante: 2,
        };
        let mut h = hand(&[("a", 0, 100), ("b", 1, 4), ("c", 2, 100)], pos, blinds);
        // b: ante 2, small blind only 2 more, all-in.
        assert!(h.seats[1].all_in);
        assert_eq!(h.seats[1].total, 4);
        assert_eq!(h.current_bet, 10);
        assert_eq!(h.pot(), 2 + 4 + 12);
        let l = h.legal(0).expect("a to act");
        assert_eq!(l.call, Some(10));
        play(&mut h, &[("a", Move::Call), ("c", Move::Check)]);
        assert_eq!(h.street, Street::Flop);
        assert_eq!(total_chips(&h), 204);
    }

    #[test]
    fn with_every_opponent_all_in_for_no_more_than_your_bet_there_is_nothing_to_decide() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        // c, the big blind, is all-in for 3: less than b's small blind.
        let mut h = hand(&[("a", 0, 1000), ("b", 1, 1000), ("c", 2, 3)], pos, BLINDS);
        assert!(h.seats[2].all_in);
        // a still has to call the full big blind, or fold.
        assert_eq!(h.legal(0).expect("a to act").call, Some(10));
        play(&mut h, &[("a", Move::Fold)]);
        // b has nothing to decide: 2 go back, the board runs out.
        assert!(h.is_over(), "{:?}", h.actions);
        assert!(h.runout);
        let ret = h.actions.iter().find(|a| a.kind == ActionKind::Return);
        assert_eq!(ret.map(|r| (r.player.0.as_str(), r.amount)), Some(("b", 2)));
        assert_eq!(h.pots.len(), 1);
        assert_eq!(h.pots[0].amount, 6);
        assert_eq!(total_chips(&h), 2003);
    }

    #[test]
    fn a_side_pot_whose_players_all_left_goes_back_to_them_not_to_the_short_all_in() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let mut h = hand(&[("a", 0, 50), ("b", 1, 1000), ("c", 2, 1000)], pos, BLINDS);
        // a is all-in for 50, b raises to 300; then b leaves, and c leaves facing the raise.
        play(&mut h, &[("a", Move::AllIn), ("b", Move::Raise(300))]);
        assert!(h.leave(1));
        assert_eq!(who(&h), "c", "c can still call a's all-in");
        assert!(h.leave(2));
        assert!(h.is_over());
        // a covered 50 from each: 50 + 50 from b + c's 10. b's other 250 go back to b.
        assert_eq!(stack(&h, "a"), 110);
        assert_eq!(stack(&h, "b"), 950);
        assert_eq!(stack(&h, "c"), 990);
        let ret = h.actions.iter().find(|a| a.kind == ActionKind::Return);
        assert_eq!(
            ret.map(|r| (r.player.0.as_str(), r.amount)),
            Some(("b", 250))
        );
        assert_eq!(total_chips(&h), 2050);
    }

    #[test]
    fn a_lone_player_who_can_still_bet_takes_every_chip_the_leavers_put_in() {
        let pos = Positions {
            button: 0,
            sb: 1,
            bb: 2,
        };
        let mut h = hand(
            &[("a", 0, 1000), ("b", 1, 1000), ("c", 2, 1000)],
            pos,
            BLINDS,
        );
        assert!(h.leave(1));
        assert!(h.leave(2));
        assert!(h.is_over());
        assert!(h.actions.iter().all(|a| a.kind != ActionKind::Return));
        assert_eq!(h.pots.len(), 1);
        assert_eq!(h.pots[0].winners, vec![(PlayerId::from("a"), 15)]);
        assert_eq!(stack(&h, "a"), 1015);
    }
}
