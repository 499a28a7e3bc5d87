//! No-limit Texas hold'em cash table, 2–9 seats.
//!
//! Rules (docs/games/poker.md): players sit down with the table's default buy-in and may
//! rebuy or top up between hands up to the maximum buy-in. Hands start by themselves, a short
//! delay after the previous one, whenever two players with chips are sitting in. The button
//! and blinds follow the dead-button rule; heads-up the button posts the small blind and acts
//! first pre-flop. Betting is no-limit with the minimum raise equal to the last full raise; an
//! all-in for less than a full raise does not reopen the betting. Uncalled bets go back,
//! pots are split into main and side pots and paid to the best hands (odd chips to the first
//! winner left of the button). Every action has a clock (the engine's turn clock) that checks or
//! folds for the player.
//! Each hand's deck is shuffled from a seed committed to (sha256) before the deal and
//! revealed in the hand record afterwards.
//!
//! Layout: [`cards`] (cards and the verifiable shuffle), [`eval`] (hand evaluator), `pots`
//! (side pots and payouts), `table` (one hand's betting state machine), [`history`] (hand
//! records), `bot` (the bots' strategy); this file holds the chips, clocks and views. Names come
//! from the engine's seats.

mod bot;
pub mod cards;
pub mod eval;
pub mod history;
mod pots;
mod table;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng, Seat, Seats, Status, Viewer,
};
use cards::card_names;
use history::{HandRecord, RecordSeat, Street};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use table::{Blinds, Deal, Hand, Legal, Move, Positions, next_positions};

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Poker;

/// Table options. Every field has a default, so `{}` or `null` is a valid config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Small blind in chips.
    pub small_blind: u64,
    /// Big blind in chips (at least the small blind).
    pub big_blind: u64,
    /// Ante every player posts each hand; 0 for none.
    pub ante: u64,
    /// Smallest stack a rebuy may bring a player to.
    pub min_buy_in: u64,
    /// Largest stack a rebuy or top-up may bring a player to.
    pub max_buy_in: u64,
    /// Chips a player sits down with (between the minimum and maximum buy-in).
    pub buy_in: u64,
    /// Seats at the table, 2–9.
    pub seats: u8,
    /// Time to act before the table checks or folds for the player; 0 for no clock.
    pub action_timeout_ms: u64,
    /// Extra time each player may use once, in total, when their clock runs out; 0 for none.
    pub time_bank_ms: u64,
    /// Pause between the end of a hand and the next deal.
    pub hand_delay_ms: u64,
    /// Finished hands kept in the state.
    pub history_len: usize,
    /// Shortest pause before a bot acts.
    pub bot_delay_min_ms: u64,
    /// Longest pause before a bot acts.
    pub bot_delay_max_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            small_blind: 5,
            big_blind: 10,
            ante: 0,
            min_buy_in: 400,
            max_buy_in: 2000,
            buy_in: 1000,
            seats: 9,
            action_timeout_ms: 30_000,
            time_bank_ms: 0,
            hand_delay_ms: 3_000,
            history_len: 50,
            bot_delay_min_ms: 600,
            bot_delay_max_ms: 1_500,
        }
    }
}

impl Config {
    fn validate(&self) -> Result<(), GameError> {
        let bad = |m: &str| Err(GameError::new(ErrorCode::InvalidConfig, m));
        if self.small_blind == 0 || self.big_blind < self.small_blind {
            return bad("blinds must satisfy 0 < small_blind <= big_blind");
        }
        if self.min_buy_in == 0
            || self.min_buy_in > self.max_buy_in
            || !(self.min_buy_in..=self.max_buy_in).contains(&self.buy_in)
        {
            return bad("buy-ins must satisfy 0 < min_buy_in <= buy_in <= max_buy_in");
        }
        if !(2..=9).contains(&self.seats) {
            return bad("seats must be between 2 and 9");
        }
        if self.history_len == 0 || self.history_len > 1_000 {
            return bad("history_len must be between 1 and 1000");
        }
        if self.bot_delay_min_ms > self.bot_delay_max_ms
            || self.bot_delay_max_ms - self.bot_delay_min_ms > u64::from(u32::MAX)
        {
            return bad("bot delays must satisfy bot_delay_min_ms <= bot_delay_max_ms");
        }
        Ok(())
    }

    fn blinds(&self) -> Blinds {
        Blinds {
            small: self.small_blind,
            big: self.big_blind,
            ante: self.ante,
        }
    }
}

/// A player's chips and table status (their name is in the engine's seats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Seat at the table, `0..seats`: not the engine's seat number, since a leaver keeps
    /// theirs until the hand they left ends.
    pub seat: u8,
    /// Chips behind between hands. While the player is dealt into a hand the hand holds the
    /// live stack, which is written back when the hand ends.
    pub stack: u64,
    /// Chips bought in so far (the first buy-in plus rebuys and top-ups).
    pub bought_in: u64,
    /// Not dealt into hands until they sit in.
    pub sitting_out: bool,
    /// Left during a hand, under this name; removed when it ends. Their engine seat is free
    /// already, so the name is kept here for the view and the hand record.
    pub left: Option<String>,
    /// Time bank left.
    pub time_bank_ms: u64,
    /// The clock ran out on them this hand; they are sat out when it ends.
    pub timed_out: bool,
}

/// The turn the engine's clock runs for: a new turn restarts it, anything else leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnClock {
    /// Hand number.
    pub hand: u64,
    /// Turn within the hand.
    pub turn: u64,
    /// Who must act (still known after they leave, to charge their time bank).
    pub player: PlayerId,
    /// When the player started using their time bank, if they did.
    pub bank_from_ms: Option<u64>,
}

/// The whole table, hidden information included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    config: Config,
    players: BTreeMap<PlayerId, Player>,
    /// The current hand, or the last one until the next deal.
    hand: Option<Hand>,
    /// Button and blind positions of the last hand dealt.
    positions: Option<Positions>,
    /// Hands dealt and finished.
    hands_played: u64,
    /// When the timer that deals the next hand fires.
    next_hand_ms: Option<u64>,
    clock: Option<TurnClock>,
    history: Vec<HandRecord>,
    /// Chips bought in by everyone, ever.
    bought_in: u64,
    /// Chips taken away by players who left.
    cashed_out: u64,
}

/// The last finished hands, oldest first, with everything in them (hole cards included):
/// filter with [`HandRecord::view`] before showing them to anyone.
pub fn hand_history(state: &State) -> &[HandRecord] {
    &state.history
}

/// Chip accounting: `(chips at the table, chips bought in, chips cashed out)`. The first is
/// every stack plus the pot; it always equals the second minus the third.
pub fn chip_totals(state: &State) -> (u64, u64, u64) {
    let live = state.hand.as_ref().filter(|h| !h.is_over());
    let stacks: u64 = state
        .players
        .iter()
        .map(|(id, p)| effective_stack(live, id, p))
        .sum();
    let pot = live.map_or(0, Hand::pot);
    (stacks + pot, state.bought_in, state.cashed_out)
}

/// What players propose, and the table's own timed actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Give up the hand.
    Fold {},
    /// Pass when there is nothing to call.
    Check {},
    /// Match the bet (all-in for less if the stack is short).
    Call {},
    /// Open the betting on a street to `amount` chips.
    Bet {
        /// Your street total after the bet.
        amount: u64,
    },
    /// Raise the bet to `amount` chips.
    Raise {
        /// Your street total after the raise ("raise to").
        amount: u64,
    },
    /// Put in the whole stack: a call, bet or raise as the amount makes it.
    AllIn {},
    /// Add chips between hands; the stack must end between the minimum and maximum buy-in.
    Rebuy {
        /// Chips to add.
        amount: u64,
    },
    /// Add chips between hands up to the maximum buy-in.
    TopUp {},
    /// Stop being dealt in from the next hand.
    SitOut {},
    /// Be dealt in again from the next hand.
    SitIn {},
    /// Timer only: deal the next hand.
    NextHand {},
}

/// A player's display name: the seat's, or the one they left under.
fn name_of<'a>(seats: &'a Seats, id: &PlayerId, p: &'a Player) -> &'a str {
    p.left
        .as_deref()
        .or_else(|| seats.get(id).map(|s| s.name.as_str()))
        .unwrap_or_default()
}

/// The live stack of a player: the hand's copy while they are dealt into a running hand.
fn effective_stack(live: Option<&Hand>, id: &PlayerId, p: &Player) -> u64 {
    live.and_then(|h| h.index_of_player(id).map(|i| h.seats[i].stack))
        .unwrap_or(p.stack)
}

impl State {
    fn new(config: Config) -> Self {
        Self {
            config,
            players: BTreeMap::new(),
            hand: None,
            positions: None,
            hands_played: 0,
            next_hand_ms: None,
            clock: None,
            history: Vec::new(),
            bought_in: 0,
            cashed_out: 0,
        }
    }

    fn live_hand(&self) -> Option<&Hand> {
        self.hand.as_ref().filter(|h| !h.is_over())
    }

    /// Dealt into the running hand (folded or not).
    fn dealt_in(&self, p: &PlayerId) -> bool {
        self.live_hand()
            .is_some_and(|h| h.index_of_player(p).is_some())
    }

    /// `(player, seat, stack)` of everyone who would be dealt in now, by seat.
    fn active(&self) -> Vec<(PlayerId, u8, u64)> {
        let mut v: Vec<(PlayerId, u8, u64)> = self
            .players
            .iter()
            .filter(|(_, p)| !p.sitting_out && p.left.is_none() && p.stack > 0)
            .map(|(id, p)| (id.clone(), p.seat, p.stack))
            .collect();
        v.sort_by_key(|x| x.1);
        v
    }

    /// What `p` may do now, between hands included.
    fn legal(&self, p: &PlayerId) -> Option<(Option<Legal>, PlayerLegal)> {
        let pl = self.players.get(p)?;
        let betting = self
            .live_hand()
            .and_then(|h| h.index_of_player(p).and_then(|i| h.legal(i)));
        let dealt = self.dealt_in(p);
        let c = &self.config;
        let rebuy = (!dealt && pl.left.is_none() && pl.stack < c.max_buy_in).then(|| {
            (
                c.min_buy_in.saturating_sub(pl.stack).max(1),
                c.max_buy_in - pl.stack,
            )
        });
        Some((
            betting,
            PlayerLegal {
                rebuy,
                top_up: rebuy.map(|(_, max)| max),
                sit_out: !pl.sitting_out && pl.left.is_none(),
                sit_in: pl.sitting_out && pl.left.is_none(),
            },
        ))
    }
}

/// Between-hands options of a player.
struct PlayerLegal {
    /// `(min, max)` chips a rebuy may add.
    rebuy: Option<(u64, u64)>,
    /// Chips a top-up would add.
    top_up: Option<u64>,
    sit_out: bool,
    sit_in: bool,
}

fn legal_json(betting: Option<Legal>, other: &PlayerLegal) -> Value {
    let b = betting.unwrap_or(Legal {
        fold: false,
        check: false,
        call: None,
        bet: None,
        raise: None,
        all_in: None,
    });
    json!({
        "fold": b.fold,
        "check": b.check,
        "call": b.call,
        "bet": b.bet,
        "raise": b.raise,
        "all_in": b.all_in,
        "rebuy": other.rebuy.map(|(min, max)| json!({"min": min, "max": max})),
        "top_up": other.top_up,
        "sit_out": other.sit_out,
        "sit_in": other.sit_in,
    })
}

fn street_name(s: Street) -> &'static str {
    match s {
        Street::Preflop => "preflop",
        Street::Flop => "flop",
        Street::Turn => "turn",
        Street::River => "river",
        Street::Over => "over",
    }
}

impl Poker {
    /// Schedule the next deal if none is pending, no hand is running and two players could
    /// be dealt in.
    fn maybe_schedule(&self, state: &mut State, cx: &mut Ctx<'_, Action>) {
        if state.next_hand_ms.is_none() && state.live_hand().is_none() && state.active().len() >= 2
        {
            cx.schedule(state.config.hand_delay_ms, Action::NextHand {});
            state.next_hand_ms = Some(cx.now_ms() + state.config.hand_delay_ms);
        }
    }

    fn start_hand(&self, state: &mut State, cx: &mut Ctx<'_, Action>) {
        let active = state.active();
        if active.len() < 2 {
            return;
        }
        let seats: Vec<u8> = active.iter().map(|a| a.1).collect();
        let first_button = if state.positions.is_none() {
            seats[cx.rng().below(seats.len() as u32) as usize]
        } else {
            seats[0]
        };
        let positions = next_positions(&seats, state.config.seats, state.positions, first_button);
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&cx.rng().next_u64().to_be_bytes());
        }
        let hand = Hand::deal(Deal {
            number: state.hands_played + 1,
            seed,
            blinds: state.config.blinds(),
            positions,
            players: active,
            now_ms: cx.now_ms(),
        });
        state.positions = Some(positions);
        state.hand = Some(hand);
        self.sync(state, cx);
    }

    /// After anything that touched the hand: settle a hand that just ended, and keep the
    /// action clock on the player to act.
    fn sync(&self, state: &mut State, cx: &mut Ctx<'_, Action>) {
        if let Some(h) = &state.hand
            && h.is_over()
            && h.number > state.hands_played
        {
            self.settle(state, cx);
        }
        let want = state.live_hand().and_then(|h| {
            h.to_act
                .map(|i| (h.number, h.turn, h.seats[i].player.clone()))
        });
        let have = state.clock.as_ref().map(|c| (c.hand, c.turn));
        if have == want.as_ref().map(|w| (w.0, w.1)) {
            return;
        }
        if let Some(old) = state.clock.take() {
            cx.stop_clock();
            if let (Some(from), Some(p)) = (old.bank_from_ms, state.players.get_mut(&old.player)) {
                let used = cx.now_ms().saturating_sub(from);
                p.time_bank_ms = p.time_bank_ms.saturating_sub(used);
            }
        }
        let timeout = state.config.action_timeout_ms;
        if let Some((hand, turn, player)) = want
            && timeout > 0
        {
            cx.start_clock(&player, timeout);
            state.clock = Some(TurnClock {
                hand,
                turn,
                player,
                bank_from_ms: None,
            });
        }
    }

    /// A hand ended: write stacks back, record it, release leavers, sit out players who
    /// timed out, and schedule the next deal.
    fn settle(&self, state: &mut State, cx: &mut Ctx<'_, Action>) {
        let Some(h) = &state.hand else {
            return;
        };
        let mut seats = Vec::with_capacity(h.seats.len());
        for s in &h.seats {
            let name = match state.players.get_mut(&s.player) {
                Some(p) => {
                    p.stack = s.stack;
                    name_of(cx.seats(), &s.player, p).to_owned()
                }
                None => String::new(),
            };
            seats.push(RecordSeat {
                player: s.player.clone(),
                name,
                seat: s.seat,
                stack_before: s.stack_before,
                stack_after: s.stack,
                hole: s.hole,
                shown: s.shown,
                hand: s.shown.then(|| s.value.map(|v| v.to_string())).flatten(),
                won: s.won,
            });
        }
        let record = HandRecord {
            number: h.number,
            started_ms: h.started_ms,
            ended_ms: cx.now_ms(),
            seed: cards::hex(&h.seed),
            commitment: h.commitment.clone(),
            small_blind: h.blinds.small,
            big_blind: h.blinds.big,
            ante: h.blinds.ante,
            button: h.positions.button,
            small_blind_seat: h.sb_seat,
            big_blind_seat: h.positions.bb,
            seats,
            board: h.board.clone(),
            actions: h.actions.clone(),
            pots: h.pots.clone(),
        };
        state.hands_played = h.number;
        state.history.push(record);
        let excess = state.history.len().saturating_sub(state.config.history_len);
        state.history.drain(..excess);
        let gone: Vec<PlayerId> = state
            .players
            .iter()
            .filter(|(_, p)| p.left.is_some())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            if let Some(p) = state.players.remove(&id) {
                state.cashed_out += p.stack;
            }
        }
        for p in state.players.values_mut() {
            if p.timed_out {
                p.timed_out = false;
                p.sitting_out = true;
            }
        }
        self.maybe_schedule(state, cx);
    }

    fn bet(
        &self,
        state: &mut State,
        p: &PlayerId,
        mv: Move,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let h = state
            .hand
            .as_mut()
            .filter(|h| !h.is_over())
            .ok_or_else(|| GameError::invalid_move("no hand is being played"))?;
        let i = h
            .index_of_player(p)
            .ok_or_else(|| GameError::invalid_move("you are not dealt into this hand"))?;
        h.act(i, mv, false)?;
        if let Some(pl) = state.players.get_mut(p) {
            pl.timed_out = false;
        }
        self.sync(state, cx);
        Ok(())
    }

    fn add_chips(
        &self,
        state: &mut State,
        p: &PlayerId,
        amount: u64,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.dealt_in(p) {
            return Err(GameError::in_progress(
                "chips can be added between hands, not while you are dealt in",
            ));
        }
        let c = &state.config;
        let pl = state
            .players
            .get_mut(p)
            .ok_or_else(|| GameError::new(ErrorCode::NotAPlayer, "you have no seat"))?;
        let to = pl.stack.saturating_add(amount);
        if amount == 0 || to > c.max_buy_in || to < c.min_buy_in {
            return Err(GameError::invalid_move(format!(
                "your stack must end between {} and {} chips (it is {}; you added {amount})",
                c.min_buy_in, c.max_buy_in, pl.stack
            )));
        }
        pl.stack = to;
        pl.bought_in += amount;
        state.bought_in += amount;
        self.maybe_schedule(state, cx);
        Ok(())
    }

    fn player_view(
        &self,
        state: &State,
        seats: &Seats,
        id: &PlayerId,
        p: &Player,
        me: Option<&PlayerId>,
    ) -> Value {
        let live = state.live_hand();
        let seat = state
            .hand
            .as_ref()
            .and_then(|h| h.index_of_player(id).map(|i| &h.seats[i]));
        let cards = seat
            .filter(|s| s.shown || me == Some(id))
            .map(|s| card_names(&s.hole));
        let in_live = seat.filter(|_| live.is_some());
        json!({
            "name": name_of(seats, id, p),
            "seat": p.seat,
            "stack": effective_stack(live, id, p),
            "bought_in": p.bought_in,
            "sitting_out": p.sitting_out,
            "left": p.left.is_some(),
            "time_bank_ms": p.time_bank_ms,
            "in_hand": in_live.is_some_and(|s| !s.folded),
            "folded": seat.is_some_and(|s| s.folded),
            "all_in": in_live.is_some_and(|s| s.all_in),
            "bet": in_live.map_or(0, |s| s.bet),
            "put_in": seat.map_or(0, |s| s.total),
            "cards": cards,
            "best_hand": seat.filter(|s| s.shown).and_then(|s| s.value).map(|v| v.to_string()),
            "won": seat.map_or(0, |s| s.won),
        })
    }

    fn hand_view(&self, seats: &Seats, h: &Hand) -> Value {
        let pots: Value = if h.is_over() {
            json!(h.pots)
        } else {
            Value::Array(
                h.live_pots()
                    .into_iter()
                    .map(|p| json!({"amount": p.amount, "eligible": p.eligible}))
                    .collect(),
            )
        };
        json!({
            "number": h.number,
            "street": street_name(h.street),
            "board": card_names(&h.board),
            "pot": h.pot(),
            "pots": pots,
            "current_bet": h.current_bet,
            "min_raise": h.min_raise,
            "to_act": h.to_act.map(|i| h.seats[i].player.clone()),
            "deadline_ms": seats.clock().map(|c| c.due_ms),
            "commitment": h.commitment,
            "button": h.positions.button,
            "small_blind_seat": h.sb_seat,
            "big_blind_seat": h.positions.bb,
            "dealt": h.seats.iter().map(|s| s.player.clone()).collect::<Vec<_>>(),
            "actions": h.actions,
        })
    }
}

impl Game for Poker {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "No-limit Texas hold'em cash table for 2 to 9 players.";
        GameInfo::new("poker", "Texas Hold'em", description, 2..=9)
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        config.validate()?;
        Ok(State::new(config.clone()))
    }

    fn join(
        &self,
        state: &mut State,
        player: &Seat,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.players.contains_key(&player.id) {
            // Only a player who left during the running hand is still listed.
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "your seat is released when the current hand ends; join again then",
            ));
        }
        let seat = (0..state.config.seats)
            .find(|s| state.players.values().all(|p| p.seat != *s))
            .ok_or_else(|| GameError::new(ErrorCode::RoomFull, "every seat is taken"))?;
        let buy_in = state.config.buy_in;
        state.players.insert(
            player.id.clone(),
            Player {
                seat,
                stack: buy_in,
                bought_in: buy_in,
                sitting_out: false,
                left: None,
                time_bank_ms: state.config.time_bank_ms,
                timed_out: false,
            },
        );
        state.bought_in += buy_in;
        self.maybe_schedule(state, cx);
        Ok(())
    }

    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        let player = &seat.id;
        let index = state.live_hand().and_then(|h| h.index_of_player(player));
        match (index, state.hand.as_mut()) {
            (Some(i), Some(h)) => {
                if let Some(p) = state.players.get_mut(player) {
                    p.left = Some(seat.name.clone());
                }
                h.leave(i);
                self.sync(state, cx);
            }
            _ => {
                if let Some(p) = state.players.remove(player) {
                    state.cashed_out += p.stack;
                }
            }
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let player = match by {
            Actor::System => {
                return match action {
                    Action::NextHand {} => {
                        state.next_hand_ms = None;
                        if state.live_hand().is_none() {
                            self.start_hand(state, cx);
                        }
                        Ok(())
                    }
                    _ => Err(GameError::new(
                        ErrorCode::InvalidAction,
                        "only timed actions come from the table",
                    )),
                };
            }
            Actor::Player(p) => p,
        };
        let Some(pl) = state.players.get(player) else {
            return Err(GameError::new(ErrorCode::NotAPlayer, "you have no seat"));
        };
        match action {
            Action::Fold {} => self.bet(state, player, Move::Fold, cx),
            Action::Check {} => self.bet(state, player, Move::Check, cx),
            Action::Call {} => self.bet(state, player, Move::Call, cx),
            Action::Bet { amount } => self.bet(state, player, Move::Bet(amount), cx),
            Action::Raise { amount } => self.bet(state, player, Move::Raise(amount), cx),
            Action::AllIn {} => self.bet(state, player, Move::AllIn, cx),
            Action::Rebuy { amount } => self.add_chips(state, player, amount, cx),
            Action::TopUp {} => {
                let amount = state.config.max_buy_in.saturating_sub(pl.stack);
                self.add_chips(state, player, amount, cx)
            }
            Action::SitOut {} => {
                if pl.sitting_out {
                    return Err(GameError::invalid_move("you are already sitting out"));
                }
                if let Some(p) = state.players.get_mut(player) {
                    p.sitting_out = true;
                }
                Ok(())
            }
            Action::SitIn {} => {
                if !pl.sitting_out {
                    return Err(GameError::invalid_move("you are already sitting in"));
                }
                if let Some(p) = state.players.get_mut(player) {
                    p.sitting_out = false;
                    p.timed_out = false;
                }
                self.maybe_schedule(state, cx);
                Ok(())
            }
            Action::NextHand {} => Err(GameError::new(
                ErrorCode::InvalidAction,
                "only the table sends timed actions",
            )),
        }
    }

    /// The player to act ran out of time: their time bank starts if they have one, else the
    /// table checks or folds for them and they sit out from the next hand.
    fn out_of_time(
        &self,
        state: &mut State,
        player: &PlayerId,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let clock = state
            .clock
            .clone()
            .filter(|c| &c.player == player)
            .ok_or_else(|| GameError::invalid_move("no clock runs for that player"))?;
        let bank = state.players.get(player).map_or(0, |p| p.time_bank_ms);
        if clock.bank_from_ms.is_none() && bank > 0 {
            cx.start_clock(player, bank);
            state.clock = Some(TurnClock {
                bank_from_ms: Some(cx.now_ms()),
                ..clock
            });
            return Ok(());
        }
        state.clock = None;
        if let Some(p) = state.players.get_mut(player) {
            if clock.bank_from_ms.is_some() {
                p.time_bank_ms = 0;
            }
            p.timed_out = true;
        }
        let h = state
            .hand
            .as_mut()
            .filter(|h| !h.is_over())
            .ok_or_else(|| GameError::invalid_move("no hand is being played"))?;
        let i = h
            .index_of_player(player)
            .ok_or_else(|| GameError::invalid_move("the player is not in the hand"))?;
        let legal = h
            .legal(i)
            .ok_or_else(|| GameError::invalid_move("not the player's turn"))?;
        let mv = if legal.check { Move::Check } else { Move::Fold };
        h.act(i, mv, true)?;
        self.sync(state, cx);
        Ok(())
    }

    fn view(&self, state: &State, seats: &Seats, viewer: &Viewer) -> Value {
        let me = match viewer {
            Viewer::Player(p) if state.players.contains_key(p) => Some(p),
            _ => None,
        };
        let players: serde_json::Map<String, Value> = state
            .players
            .iter()
            .map(|(id, p)| (id.0.clone(), self.player_view(state, seats, id, p, me)))
            .collect();
        let legal = me
            .and_then(|p| state.legal(p))
            .map(|(b, o)| legal_json(b, &o));
        let c = &state.config;
        json!({
            "config": {
                "small_blind": c.small_blind,
                "big_blind": c.big_blind,
                "ante": c.ante,
                "min_buy_in": c.min_buy_in,
                "max_buy_in": c.max_buy_in,
                "buy_in": c.buy_in,
                "seats": c.seats,
                "action_timeout_ms": c.action_timeout_ms,
                "time_bank_ms": c.time_bank_ms,
                "hand_delay_ms": c.hand_delay_ms,
            },
            "players": players,
            "hand": state.hand.as_ref().map(|h| self.hand_view(seats, h)),
            "you": me,
            "legal": legal,
            "next_hand_ms": state.next_hand_ms,
            "hands_played": state.hands_played,
            "bought_in": state.bought_in,
            "cashed_out": state.cashed_out,
            "last_hand": state.history.last().map(|r| r.view(viewer)),
        })
    }

    fn status(&self, state: &State, _seats: &Seats) -> Status {
        if state.live_hand().is_some() || state.active().len() >= 2 {
            Status::Playing
        } else {
            Status::Waiting
        }
    }

    fn legal_actions(&self, state: &State, _seats: &Seats, player: &PlayerId) -> Vec<Action> {
        let Some((betting, other)) = state.legal(player) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(b) = betting {
            if b.check {
                out.push(Action::Check {});
            }
            if b.fold {
                out.push(Action::Fold {});
            }
            if b.call.is_some() {
                out.push(Action::Call {});
            }
            if let Some(r) = b.bet {
                out.push(Action::Bet { amount: r.min });
            }
            if let Some(r) = b.raise {
                out.push(Action::Raise { amount: r.min });
            }
            if b.all_in.is_some() {
                out.push(Action::AllIn {});
            }
        }
        if let Some((min, _)) = other.rebuy {
            out.push(Action::Rebuy { amount: min });
        }
        if other.top_up.is_some() {
            out.push(Action::TopUp {});
        }
        if other.sit_out {
            out.push(Action::SitOut {});
        }
        if other.sit_in {
            out.push(Action::SitIn {});
        }
        out
    }

    /// Seating changes do not depend on what the client saw; betting does.
    fn order_independent(&self, action: &Action) -> bool {
        matches!(
            action,
            Action::SitOut {} | Action::SitIn {} | Action::Rebuy { .. } | Action::TopUp {}
        )
    }

    /// Every recorded hand, oldest first, with the cards `viewer` may see.
    fn history(&self, state: &State, viewer: &Viewer) -> Value {
        Value::Array(hand_history(state).iter().map(|h| h.view(viewer)).collect())
    }

    fn has_bots(&self) -> bool {
        true
    }

    /// Hand-strength play on its turn (see `bot.rs`); between hands a busted bot rebuys and
    /// a sat-out bot sits back in.
    fn bot_move(&self, state: &State, bot: &Seat, rng: &mut GameRng) -> Option<BotMove<Action>> {
        let action = bot::decide(state, &bot.id, rng)?;
        let c = &state.config;
        let spread = (c.bot_delay_max_ms - c.bot_delay_min_ms).min(u64::from(u32::MAX - 1)) as u32;
        Some(BotMove {
            action,
            delay_ms: c.bot_delay_min_ms + u64::from(rng.below(spread + 1)),
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod golden;
