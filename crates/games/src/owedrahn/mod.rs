//! Owe Drahn: a dice game of nerve with a shared running total, lives and money.
//!
//! Rules (docs/games/owedrahn.md): players join between games and ready up; when every seated
//! player (at least two) is ready, a random player starts. The player whose turn it is rolls
//! one die: a 3 adds nothing, anything else adds its face to the shared total, and a total
//! over 15 costs the roller all their lives. After a roll the turn passes to the next living
//! player in seating order. Instead of rolling, a player facing a total of 10 or more who has
//! more than one life may "owe drahn" (turn the die down): they lose one life, the total goes
//! back to 0 and they choose who plays next. The last player alive wins the pot of main bets;
//! side bets between two players go to the one who outlives the other. Balances are integer
//! cents, zero-sum across everyone who ever sat at the table, and carried from game to game.
//! A few seconds after a game ends the table resets for the next one.

mod bot;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng, Seat, Seats, Status, Viewer,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct OweDrahn;

/// A total above this loses all lives.
pub const BUST_ABOVE: u8 = 15;
/// The total a player must face before they may owe drahn (the original client's rule).
pub const MIN_TOTAL_TO_OWE_DRAHN: u8 = 10;
/// Largest main bet or side bet, in cents (10 000.00).
pub const MAX_BET_CENTS: i64 = 1_000_000;
/// Most side bets a table keeps at once, so the state stays small.
pub const MAX_SIDE_BETS: usize = 64;

/// Room options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Lives each player starts a game with (2–20).
    pub lives: u8,
    /// The main bet a new table (and every reset) starts with, in cents.
    pub main_bet_cents: i64,
    /// How long a disconnected player's turn waits before it is skipped.
    pub turn_timeout_ms: u64,
    /// How long the result stays on the table before it resets for the next game.
    pub reset_delay_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            lives: 6,
            main_bet_cents: 100,
            turn_timeout_ms: 30_000,
            reset_delay_ms: 5_000,
        }
    }
}

/// Where the table stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Between games: join, ready up, place bets.
    Lobby,
    /// A game is being played.
    Playing,
    /// The game is over; the table resets at `reset_at_ms`.
    Over,
}

/// Counters kept per player across the games of a room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// How often each face came up: index 0 is a 1.
    pub rolled_dice: [u32; 6],
    /// Games played to the end.
    pub games: u32,
    /// Games won.
    pub wins: u32,
    /// A 6 that made exactly 15.
    pub perfect_rolls: u32,
    /// A 3 (which adds nothing) rolled at 15.
    pub luckiest_rolls: u32,
    /// A 6 that made 16: the narrowest bust.
    pub worst_rolls: u32,
    /// A bust at 21, the highest total there is.
    pub rolled_21: u32,
    /// A bust while still holding every life.
    pub max_life_losses: u32,
}

/// A seated player's part of the game; their name and connection are in the engine's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Lives left; 0 is out of the game.
    pub life: u8,
    /// Ready for the next game (lobby only).
    pub ready: bool,
    /// Owed drahn and now chooses who plays next.
    pub choosing: bool,
    /// Money won or lost in this room, in cents.
    pub balance_cents: i64,
    /// Counters across games.
    pub stats: Stats,
}

/// Someone who left the table; kept so the money stays zero-sum and comes back if they do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departed {
    /// Their name when they left.
    pub name: String,
    /// Their balance when they left, in cents.
    pub balance_cents: i64,
    /// Their counters.
    pub stats: Stats,
}

/// Where a side bet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BetStatus {
    /// Proposed, waiting for the opponent.
    Pending,
    /// Agreed; settled when one of the two dies.
    Accepted,
    /// Refused by the opponent.
    Declined,
    /// Paid to `winner`.
    Settled,
    /// Still pending when the game started, or never decided: no money moved.
    Lapsed,
}

/// A bet between two players on which of them outlives the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideBet {
    /// Who proposed it.
    pub challenger: PlayerId,
    /// Who was asked.
    pub opponent: PlayerId,
    /// The stake each side risks, in cents.
    pub amount_cents: i64,
    /// Where it stands.
    pub status: BetStatus,
    /// Who was paid, once settled.
    pub winner: Option<PlayerId>,
}

/// One roll of the current game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roll {
    /// Who rolled.
    pub player: PlayerId,
    /// The face, 1–6.
    pub die: u8,
    /// The total after the roll (before a bust resets it), e.g. 17.
    pub total: u8,
    /// The roller's lives before the roll.
    pub life_before: u8,
    /// The total went over 15.
    pub busted: bool,
}

/// The last thing that happened, for clients that animate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A game started with `first` to play.
    Started {
        /// First to roll.
        first: PlayerId,
    },
    /// A die was rolled.
    Rolled {
        /// The roll.
        roll: Roll,
    },
    /// A player owed drahn.
    LostLife {
        /// Who.
        player: PlayerId,
        /// Lives left.
        life: u8,
    },
    /// A player who owed drahn chose who plays next.
    Chose {
        /// The chooser.
        player: PlayerId,
        /// Who plays next.
        next: PlayerId,
    },
    /// A disconnected player's turn ran out and was skipped, costing them a life.
    Skipped {
        /// Whose turn it was.
        player: PlayerId,
    },
    /// A player left during the game and is out of it.
    Left {
        /// Who.
        player: PlayerId,
    },
    /// The game ended.
    GameOver {
        /// The last player alive.
        winner: Option<PlayerId>,
        /// What they collected, in cents.
        pot_cents: i64,
    },
    /// The table was reset for the next game.
    Reset,
}

/// The whole table. Everything in it is public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Options the room was created with.
    pub config: Config,
    /// Where the table stands.
    pub phase: Phase,
    /// Games started so far.
    pub round: u32,
    /// Seated players by id.
    pub players: BTreeMap<PlayerId, Player>,
    /// The turn order: the order in which players sat down. It is not the seat number (a
    /// newcomer takes the lowest free seat but plays after everyone already seated).
    pub order: Vec<PlayerId>,
    /// Whose turn it is while playing.
    pub turn: Option<PlayerId>,
    /// The shared running total.
    pub total: u8,
    /// What each loser pays into the pot, in cents.
    pub main_bet_cents: i64,
    /// Main bets paid by the players who died this game, collected by the winner.
    pub pot_cents: i64,
    /// Side bets by id.
    pub side_bets: BTreeMap<u32, SideBet>,
    /// Id of the next side bet.
    pub next_bet: u32,
    /// Rolls of the current game, in order.
    pub rolls: Vec<Roll>,
    /// Players out of the current game, first out first.
    pub deaths: Vec<PlayerId>,
    /// The winner of the game that just ended.
    pub winner: Option<PlayerId>,
    /// The last thing that happened.
    pub event: Option<Event>,
    /// Players who left, with their balances.
    pub departed: BTreeMap<PlayerId, Departed>,
    /// When the table resets after a game (room time, ms).
    pub reset_at_ms: Option<u64>,
}

/// What players propose (and, for the last one, what the room's timer does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Say whether you are ready for the next game (lobby only).
    Ready {
        /// Ready or not.
        ready: bool,
    },
    /// Roll the die on your turn.
    Roll,
    /// Turn the die down: lose a life, reset the total to 0, then choose who plays next.
    OweDrahn,
    /// After owing drahn, hand the turn to a living player (yourself included).
    ChooseNext {
        /// Who plays next.
        player: PlayerId,
    },
    /// Set the main bet for the next game (lobby only).
    SetMainBet {
        /// 1 to [`MAX_BET_CENTS`].
        amount_cents: i64,
    },
    /// Propose a side bet to another player (lobby only).
    ProposeBet {
        /// Who you bet against.
        opponent: PlayerId,
        /// 1 to [`MAX_BET_CENTS`].
        amount_cents: i64,
    },
    /// Accept a side bet proposed to you (lobby only).
    AcceptBet {
        /// Its id.
        bet: u32,
    },
    /// Decline a side bet proposed to you (lobby only).
    DeclineBet {
        /// Its id.
        bet: u32,
    },
    /// Withdraw a side bet you proposed that is still pending (lobby only).
    CancelBet {
        /// Its id.
        bet: u32,
    },
    /// System: reset the table after a game.
    Reset,
}

impl State {
    fn new(config: Config) -> Self {
        Self {
            main_bet_cents: config.main_bet_cents,
            config,
            phase: Phase::Lobby,
            round: 0,
            players: BTreeMap::new(),
            order: Vec::new(),
            turn: None,
            total: 0,
            pot_cents: 0,
            side_bets: BTreeMap::new(),
            next_bet: 1,
            rolls: Vec::new(),
            deaths: Vec::new(),
            winner: None,
            event: None,
            departed: BTreeMap::new(),
            reset_at_ms: None,
        }
    }

    /// Sum of every balance, departed players' and the pot included: always 0.
    pub fn money_total(&self) -> i64 {
        self.players.values().map(|p| p.balance_cents).sum::<i64>()
            + self.departed.values().map(|d| d.balance_cents).sum::<i64>()
            + self.pot_cents
    }

    /// Living players in seating order.
    pub fn alive(&self) -> Vec<PlayerId> {
        self.order
            .iter()
            .filter(|id| self.players.get(*id).is_some_and(|p| p.life > 0))
            .cloned()
            .collect()
    }

    /// The next living player after `id` in seating order, never `id` itself.
    fn next_alive_after(&self, id: &PlayerId) -> Option<PlayerId> {
        let start = self.order.iter().position(|p| p == id)?;
        let n = self.order.len();
        (1..n)
            .map(|k| &self.order[(start + k) % n])
            .find(|p| self.players.get(*p).is_some_and(|pl| pl.life > 0))
            .cloned()
    }

    /// Pass the turn. The previous turn's clock, if it ran, stops: [`State::sync_clock`]
    /// starts the new one.
    fn set_turn(&mut self, next: Option<PlayerId>, cx: &mut Ctx<'_, Action>) {
        self.turn = next;
        cx.stop_clock();
    }

    /// Whether `player` may owe drahn now: their turn, more than one life, a total of at
    /// least 10, and not already choosing.
    fn may_owe_drahn(&self, player: &PlayerId) -> Result<(), GameError> {
        let p = self.playing_turn(player)?;
        if p.choosing {
            return Err(GameError::invalid_move(
                "you already owed drahn: choose the next player or roll",
            ));
        }
        if p.life <= 1 {
            return Err(GameError::invalid_move(
                "you cannot owe drahn with your last life",
            ));
        }
        if self.total < MIN_TOTAL_TO_OWE_DRAHN {
            return Err(GameError::invalid_move(format!(
                "you may owe drahn only at a total of {MIN_TOTAL_TO_OWE_DRAHN} or more (it is {})",
                self.total
            )));
        }
        Ok(())
    }

    /// The player, if the game is being played and it is their turn.
    fn playing_turn(&self, player: &PlayerId) -> Result<&Player, GameError> {
        match self.phase {
            Phase::Lobby => return Err(GameError::invalid_move("the game has not started")),
            Phase::Over => return Err(GameError::game_over()),
            Phase::Playing => {}
        }
        if self.turn.as_ref() != Some(player) {
            return Err(GameError::not_your_turn());
        }
        self.players.get(player).ok_or_else(not_a_player)
    }

    /// Refuse lobby-only actions outside the lobby.
    fn in_lobby(&self) -> Result<(), GameError> {
        match self.phase {
            Phase::Lobby => Ok(()),
            Phase::Playing => Err(GameError::in_progress("only between games")),
            Phase::Over => Err(GameError::new(
                ErrorCode::GameOver,
                "the game is over; the table resets in a moment",
            )),
        }
    }

    fn credit(&mut self, id: &PlayerId, cents: i64) {
        if let Some(p) = self.players.get_mut(id) {
            p.balance_cents += cents;
        } else if let Some(d) = self.departed.get_mut(id) {
            d.balance_cents += cents;
        }
    }

    /// Start a game when every seated player (at least two) is ready.
    fn try_start(&mut self, cx: &mut Ctx<'_, Action>) {
        if self.phase != Phase::Lobby
            || self.players.len() < 2
            || !self.players.values().all(|p| p.ready)
        {
            return;
        }
        self.phase = Phase::Playing;
        self.round += 1;
        self.pot_cents = 0;
        self.winner = None;
        self.clear_game();
        for bet in self.side_bets.values_mut() {
            if bet.status == BetStatus::Pending {
                bet.status = BetStatus::Lapsed;
            }
        }
        let first = cx.rng().pick(&self.order).cloned();
        self.event = first.clone().map(|first| Event::Started { first });
        self.set_turn(first, cx);
    }

    /// `id` is out of the game: pay the main bet into the pot and settle their side bets
    /// (the first of a pair to die pays the other).
    fn kill(&mut self, id: &PlayerId) {
        if let Some(p) = self.players.get_mut(id) {
            p.life = 0;
            p.choosing = false;
        }
        self.deaths.push(id.clone());
        let stake = self.main_bet_cents;
        self.credit(id, -stake);
        self.pot_cents += stake;
        let mut payments = Vec::new();
        for bet in self.side_bets.values_mut() {
            if bet.status != BetStatus::Accepted {
                continue;
            }
            let winner = if bet.challenger == *id {
                bet.opponent.clone()
            } else if bet.opponent == *id {
                bet.challenger.clone()
            } else {
                continue;
            };
            bet.status = BetStatus::Settled;
            bet.winner = Some(winner.clone());
            payments.push((winner, bet.amount_cents));
        }
        for (winner, amount) in payments {
            self.credit(id, -amount);
            self.credit(&winner, amount);
        }
    }

    /// The turn after a roll or a skip: the next living player, or the end of the game.
    fn pass_turn_from(&mut self, from: &PlayerId, cx: &mut Ctx<'_, Action>) {
        if self.alive().len() <= 1 {
            return self.game_over(cx);
        }
        let next = self.next_alive_after(from);
        self.set_turn(next, cx);
    }

    fn game_over(&mut self, cx: &mut Ctx<'_, Action>) {
        let alive = self.alive();
        // Deaths come one at a time and the game ends as soon as one player is left, so
        // there is always a winner; should there not be, the last to die takes the pot back
        // and the money still adds up.
        let winner = alive
            .first()
            .cloned()
            .or_else(|| self.deaths.last().cloned());
        let pot = self.pot_cents;
        if let Some(w) = &winner {
            self.credit(w, pot);
            self.pot_cents = 0;
        }
        self.winner = alive.first().cloned();
        for (id, p) in self.players.iter_mut() {
            p.choosing = false;
            p.stats.games += 1;
            if Some(id) == self.winner.as_ref() {
                p.stats.wins += 1;
            }
        }
        self.phase = Phase::Over;
        self.set_turn(None, cx);
        self.event = Some(Event::GameOver {
            winner: self.winner.clone(),
            pot_cents: pot,
        });
        let delay = self.config.reset_delay_ms;
        cx.schedule(delay, Action::Reset);
        self.reset_at_ms = Some(cx.now_ms().saturating_add(delay));
    }

    /// The total, rolls and deaths cleared; everyone at full lives, neither ready nor choosing.
    fn clear_game(&mut self) {
        self.total = 0;
        self.rolls.clear();
        self.deaths.clear();
        let lives = self.config.lives;
        for p in self.players.values_mut() {
            p.life = lives;
            p.ready = false;
            p.choosing = false;
        }
    }

    /// Back to the lobby: lives restored, ready flags and the main bet reset, decided bets
    /// cleared. Balances and stats stay.
    fn reset(&mut self) {
        self.phase = Phase::Lobby;
        self.main_bet_cents = self.config.main_bet_cents;
        self.reset_at_ms = None;
        self.clear_game();
        self.side_bets
            .retain(|_, b| matches!(b.status, BetStatus::Pending | BetStatus::Accepted));
        self.event = Some(Event::Reset);
    }

    fn roll(&mut self, player: &PlayerId, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        self.playing_turn(player)?;
        let die = cx.rng().range_inclusive(1, 6) as u8;
        // The rule of three: a 3 does not count.
        if die != 3 {
            self.total += die;
        }
        let total = self.total;
        let busted = total > BUST_ABOVE;
        let lives = self.config.lives;
        let p = self.players.get_mut(player).ok_or_else(not_a_player)?;
        p.choosing = false;
        let life_before = p.life;
        let stats = &mut p.stats;
        stats.rolled_dice[usize::from(die - 1)] += 1;
        if die == 6 && total == BUST_ABOVE {
            stats.perfect_rolls += 1;
        }
        if die == 3 && total == BUST_ABOVE {
            stats.luckiest_rolls += 1;
        }
        if busted {
            if die == 6 && total == BUST_ABOVE + 1 {
                stats.worst_rolls += 1;
            }
            if total == 21 {
                stats.rolled_21 += 1;
            }
            if life_before == lives {
                stats.max_life_losses += 1;
            }
        }
        let roll = Roll {
            player: player.clone(),
            die,
            total,
            life_before,
            busted,
        };
        self.rolls.push(roll.clone());
        self.event = Some(Event::Rolled { roll });
        if busted {
            self.total = 0;
            self.kill(player);
        }
        self.pass_turn_from(player, cx);
        Ok(())
    }

    /// Run the clock of the player on turn while they are away (from where it stands, if it
    /// already runs for this turn), and stop it once they are back or the game is over.
    fn sync_clock(&self, cx: &mut Ctx<'_, Action>) {
        let away = self
            .turn
            .as_ref()
            .and_then(|t| cx.seats().get(t))
            .filter(|seat| self.phase == Phase::Playing && !seat.connected)
            .map(|seat| seat.id.clone());
        match (away, cx.seats().clock().is_some()) {
            (Some(player), false) => cx.start_clock(&player, self.config.turn_timeout_ms),
            (None, true) => cx.stop_clock(),
            _ => {}
        }
    }
}

fn not_a_player() -> GameError {
    GameError::new(ErrorCode::NotAPlayer, "you have no seat at this table")
}

fn check_amount(amount_cents: i64) -> Result<(), GameError> {
    if amount_cents <= 0 {
        return Err(GameError::invalid_move("the amount must be greater than 0"));
    }
    if amount_cents > MAX_BET_CENTS {
        return Err(GameError::invalid_move(format!(
            "the amount must be at most {MAX_BET_CENTS} cents"
        )));
    }
    Ok(())
}

/// The JSON every member sees: the state, the names and connections from the seats, and the
/// turn clock's deadline.
#[derive(Serialize)]
struct View<'a> {
    phase: Phase,
    round: u32,
    lives: u8,
    players: BTreeMap<&'a PlayerId, SeatedPlayer<'a>>,
    order: &'a [PlayerId],
    turn: &'a Option<PlayerId>,
    total: u8,
    main_bet_cents: i64,
    pot_cents: i64,
    side_bets: &'a BTreeMap<u32, SideBet>,
    rolls: &'a [Roll],
    deaths: &'a [PlayerId],
    winner: &'a Option<PlayerId>,
    event: &'a Option<Event>,
    departed: &'a BTreeMap<PlayerId, Departed>,
    turn_deadline_ms: Option<u64>,
    reset_at_ms: Option<u64>,
}

/// A player as the view shows them: their seat's name and connection, and their game.
#[derive(Serialize)]
struct SeatedPlayer<'a> {
    name: &'a str,
    connected: bool,
    #[serde(flatten)]
    game: &'a Player,
}

impl Game for OweDrahn {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Roll the shared total up without passing 15; owe drahn to save your \
                           skin. Last player alive takes the pot.";
        GameInfo::new("owedrahn", "Owe Drahn", description, 2..=12)
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if !(2..=20).contains(&config.lives) {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "lives must be between 2 and 20",
            ));
        }
        check_amount(config.main_bet_cents)
            .map_err(|e| GameError::new(ErrorCode::InvalidConfig, e.message))?;
        if config.turn_timeout_ms == 0 || config.reset_delay_ms == 0 {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "turn_timeout_ms and reset_delay_ms must be positive",
            ));
        }
        Ok(State::new(config.clone()))
    }

    /// Seats are taken between games; during a game the joiner is refused (and a joiner who
    /// asked for any role watches instead). A player who left and comes back gets their
    /// balance and stats back.
    fn join(
        &self,
        state: &mut State,
        player: &Seat,
        _cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.phase == Phase::Playing {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "a game is in progress; seats open when it is over",
            ));
        }
        let (balance_cents, stats) = state
            .departed
            .remove(&player.id)
            .map(|d| (d.balance_cents, d.stats))
            .unwrap_or_default();
        state.players.insert(
            player.id.clone(),
            Player {
                life: state.config.lives,
                ready: false,
                choosing: false,
                balance_cents,
                stats,
            },
        );
        state.order.push(player.id.clone());
        Ok(())
    }

    /// Leaving during a game counts as dying: the main bet is paid and the leaver's side bets
    /// are lost. Between games the leaver's open bets are dropped. The balance is kept in
    /// `departed` either way.
    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        let player = &seat.id;
        match state.phase {
            Phase::Playing => {
                let alive = state.players.get(player).is_some_and(|p| p.life > 0);
                let next = state.next_alive_after(player);
                if alive {
                    state.kill(player);
                    state.event = Some(Event::Left {
                        player: player.clone(),
                    });
                }
                if state.alive().iter().filter(|p| *p != player).count() <= 1 {
                    remove_seat(state, seat);
                    state.game_over(cx);
                } else {
                    if state.turn.as_ref() == Some(player) {
                        state.set_turn(next, cx);
                    }
                    remove_seat(state, seat);
                }
            }
            Phase::Lobby | Phase::Over => {
                state.side_bets.retain(|_, b| {
                    !(matches!(b.status, BetStatus::Pending | BetStatus::Accepted)
                        && (b.challenger == *player || b.opponent == *player))
                });
                remove_seat(state, seat);
                state.try_start(cx);
            }
        }
        state.sync_clock(cx);
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let player = match (by, &action) {
            (Actor::System, Action::Reset) => {
                if state.phase != Phase::Over {
                    return Err(GameError::invalid_move("nothing to reset"));
                }
                state.reset();
                return Ok(());
            }
            (Actor::System, _) => {
                return Err(GameError::invalid_move("not a timed action"));
            }
            (Actor::Player(p), _) => p.clone(),
        };
        if !state.players.contains_key(&player) {
            return Err(not_a_player());
        }
        match action {
            Action::Ready { ready } => {
                state.in_lobby()?;
                if let Some(p) = state.players.get_mut(&player) {
                    p.ready = ready;
                }
                state.try_start(cx);
            }
            Action::Roll => state.roll(&player, cx)?,
            Action::OweDrahn => {
                state.may_owe_drahn(&player)?;
                let p = state.players.get_mut(&player).ok_or_else(not_a_player)?;
                p.life -= 1;
                p.choosing = true;
                let life = p.life;
                state.total = 0;
                state.event = Some(Event::LostLife {
                    player: player.clone(),
                    life,
                });
            }
            Action::ChooseNext { player: next } => {
                let me = state.playing_turn(&player)?;
                if !me.choosing {
                    return Err(GameError::invalid_move(
                        "only a player who just owed drahn chooses the next player",
                    ));
                }
                if state.players.get(&next).is_none_or(|p| p.life == 0) {
                    return Err(GameError::invalid_move(
                        "the next player must be a living player at this table",
                    ));
                }
                if let Some(p) = state.players.get_mut(&player) {
                    p.choosing = false;
                }
                state.event = Some(Event::Chose {
                    player: player.clone(),
                    next: next.clone(),
                });
                state.set_turn(Some(next), cx);
            }
            Action::SetMainBet { amount_cents } => {
                state.in_lobby()?;
                check_amount(amount_cents)?;
                state.main_bet_cents = amount_cents;
            }
            Action::ProposeBet {
                opponent,
                amount_cents,
            } => {
                state.in_lobby()?;
                if opponent == player {
                    return Err(GameError::invalid_move("you cannot bet against yourself"));
                }
                if !state.players.contains_key(&opponent) {
                    return Err(GameError::invalid_move(
                        "the opponent must be seated at this table",
                    ));
                }
                check_amount(amount_cents)?;
                if state.side_bets.len() >= MAX_SIDE_BETS {
                    return Err(GameError::invalid_move("too many side bets on the table"));
                }
                let id = state.next_bet;
                state.next_bet += 1;
                state.side_bets.insert(
                    id,
                    SideBet {
                        challenger: player.clone(),
                        opponent,
                        amount_cents,
                        status: BetStatus::Pending,
                        winner: None,
                    },
                );
            }
            Action::AcceptBet { bet } | Action::DeclineBet { bet } => {
                state.in_lobby()?;
                let accept = matches!(action, Action::AcceptBet { .. });
                let b = pending_bet(state, bet)?;
                if b.opponent != player {
                    return Err(GameError::invalid_move(
                        "only the player a bet was proposed to may answer it",
                    ));
                }
                b.status = if accept {
                    BetStatus::Accepted
                } else {
                    BetStatus::Declined
                };
            }
            Action::CancelBet { bet } => {
                state.in_lobby()?;
                let b = pending_bet(state, bet)?;
                if b.challenger != player {
                    return Err(GameError::invalid_move(
                        "only the player who proposed a bet may cancel it",
                    ));
                }
                state.side_bets.remove(&bet);
            }
            Action::Reset => {
                return Err(GameError::new(
                    ErrorCode::InvalidAction,
                    "only the room's timer resets the table",
                ));
            }
        }
        state.sync_clock(cx);
        Ok(())
    }

    /// The clock runs only on an absent player's turn. Running out of time costs a life, and
    /// the last life puts them out, so that disconnecting never shields anyone from the dice.
    fn out_of_time(
        &self,
        state: &mut State,
        player: &PlayerId,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.playing_turn(player)?.life <= 1 {
            state.kill(player);
        } else if let Some(p) = state.players.get_mut(player) {
            p.life -= 1;
            p.choosing = false;
        }
        state.event = Some(Event::Skipped {
            player: player.clone(),
        });
        state.pass_turn_from(player, cx);
        state.sync_clock(cx);
        Ok(())
    }

    fn view(&self, state: &State, seats: &Seats, _viewer: &Viewer) -> Value {
        let players = seats.iter().filter_map(|seat| {
            let game = state.players.get(&seat.id)?;
            let (name, connected) = (seat.name.as_str(), seat.connected);
            Some((
                &seat.id,
                SeatedPlayer {
                    name,
                    connected,
                    game,
                },
            ))
        });
        let view = View {
            phase: state.phase,
            round: state.round,
            lives: state.config.lives,
            players: players.collect(),
            order: &state.order,
            turn: &state.turn,
            total: state.total,
            main_bet_cents: state.main_bet_cents,
            pot_cents: state.pot_cents,
            side_bets: &state.side_bets,
            rolls: &state.rolls,
            deaths: &state.deaths,
            winner: &state.winner,
            event: &state.event,
            departed: &state.departed,
            turn_deadline_ms: seats.clock().map(|c| c.due_ms),
            reset_at_ms: state.reset_at_ms,
        };
        serde_json::to_value(view).unwrap_or(Value::Null)
    }

    fn status(&self, state: &State, _seats: &Seats) -> Status {
        match state.phase {
            Phase::Lobby => Status::Waiting,
            Phase::Playing => Status::Playing,
            Phase::Over => {
                // The winner, then the others from the last to die to the first.
                let mut ranking: Vec<Vec<PlayerId>> = Vec::new();
                if let Some(w) = &state.winner {
                    ranking.push(vec![w.clone()]);
                }
                ranking.extend(state.deaths.iter().rev().map(|d| vec![d.clone()]));
                Status::Finished { ranking }
            }
        }
    }

    fn legal_actions(&self, state: &State, _seats: &Seats, player: &PlayerId) -> Vec<Action> {
        let Some(me) = state.players.get(player) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match state.phase {
            Phase::Over => {}
            Phase::Lobby => {
                out.push(Action::Ready { ready: true });
                out.push(Action::Ready { ready: false });
                // Representative amounts: any amount from 1 to MAX_BET_CENTS is accepted.
                for amount_cents in SAMPLE_AMOUNTS {
                    out.push(Action::SetMainBet { amount_cents });
                    for opponent in state.order.iter().filter(|o| *o != player) {
                        out.push(Action::ProposeBet {
                            opponent: opponent.clone(),
                            amount_cents,
                        });
                    }
                }
                if state.side_bets.len() >= MAX_SIDE_BETS {
                    out.retain(|a| !matches!(a, Action::ProposeBet { .. }));
                }
                for (&bet, b) in &state.side_bets {
                    if b.status != BetStatus::Pending {
                        continue;
                    }
                    if b.opponent == *player {
                        out.push(Action::AcceptBet { bet });
                        out.push(Action::DeclineBet { bet });
                    }
                    if b.challenger == *player {
                        out.push(Action::CancelBet { bet });
                    }
                }
            }
            Phase::Playing => {
                if state.turn.as_ref() != Some(player) {
                    return out;
                }
                out.push(Action::Roll);
                if state.may_owe_drahn(player).is_ok() {
                    out.push(Action::OweDrahn);
                }
                if me.choosing {
                    out.extend(
                        state
                            .alive()
                            .into_iter()
                            .map(|p| Action::ChooseNext { player: p }),
                    );
                }
            }
        }
        out
    }

    fn order_independent(&self, action: &Action) -> bool {
        matches!(
            action,
            Action::Ready { .. } | Action::AcceptBet { .. } | Action::DeclineBet { .. }
        )
    }

    fn public_view(&self) -> bool {
        true
    }

    fn tracks_connections(&self) -> bool {
        true
    }

    fn connection(
        &self,
        state: &mut State,
        _player: &PlayerId,
        _connected: bool,
        cx: &mut Ctx<'_, Action>,
    ) {
        state.sync_clock(cx);
    }

    fn has_bots(&self) -> bool {
        true
    }

    fn bot_move(&self, state: &State, me: &Seat, rng: &mut GameRng) -> Option<BotMove<Action>> {
        bot::decide(state, &me.id, rng)
    }
}

/// Amounts `legal_actions` offers for bets; any amount from 1 to [`MAX_BET_CENTS`] is legal.
pub const SAMPLE_AMOUNTS: [i64; 3] = [50, 100, 500];

fn pending_bet(state: &mut State, bet: u32) -> Result<&mut SideBet, GameError> {
    let b = state
        .side_bets
        .get_mut(&bet)
        .ok_or_else(|| GameError::invalid_move(format!("no side bet {bet}")))?;
    if b.status != BetStatus::Pending {
        return Err(GameError::invalid_move(format!(
            "side bet {bet} is no longer pending"
        )));
    }
    Ok(b)
}

/// Take a player off the table, keeping their name, balance and stats in `departed`.
fn remove_seat(state: &mut State, seat: &Seat) {
    let player = &seat.id;
    if let Some(p) = state.players.remove(player) {
        state.departed.insert(
            player.clone(),
            Departed {
                name: seat.name.clone(),
                balance_cents: p.balance_cents,
                stats: p.stats,
            },
        );
    }
    state.order.retain(|p| p != player);
}
