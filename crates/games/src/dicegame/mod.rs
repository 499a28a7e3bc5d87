//! The dice game: Kingdom-Come-style Farkle for 2–6 players.
//!
//! Rules (docs/games/dicegame.md): players sit down while the game waits; any seated player
//! starts it once two are seated, and a random player goes first, then the turn goes round in
//! seat order. On your turn you roll the dice that are not set aside, select scoring dice of
//! that roll and set them aside, either rolling on with the rest or banking the turn's points.
//! A roll without a scoring die is a bust: the turn's points are lost and, after a short pause
//! during which the busted player can no longer act, the turn passes. Setting aside all six
//! dice ("hot dice") gives all six back. The first to bank the target score wins; any seated
//! player may then restart.
//!
//! Everything is public, so every member shares one view. The view carries the legal actions
//! of whoever may act, so a client needs no rules of its own.

mod bot;
#[cfg(test)]
mod golden;
mod scoring;
#[cfg(test)]
mod tests;

pub use scoring::{Score, score};

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{
    Actor, BotMove, Ctx, Game, GameError, GameInfo, GameRng, Seat, Seats, Status, TimerId, Viewer,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Dice in a full throw.
pub const DICE: u8 = 6;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiceGame;

/// Room options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Banked points that win (the original code's 3000).
    pub target: u32,
    /// How long a bust is shown before the turn passes (ms); 0 passes it at once.
    pub bust_delay_ms: u64,
    /// How long the player on turn may take for each action before the turn ends by itself,
    /// banking what they have set aside (ms); 0 = no clock.
    pub turn_timeout_ms: u64,
    /// The shortest and longest pause of a bot before each action (ms).
    pub bot_delay_ms: [u32; 2],
}

impl Default for Config {
    fn default() -> Self {
        Self {
            target: 3000,
            bust_delay_ms: 2000,
            turn_timeout_ms: 0,
            bot_delay_ms: [700, 1500],
        }
    }
}

/// Where the game stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Players are sitting down; nobody has started yet.
    Waiting,
    /// Turns are being played.
    Playing,
    /// Someone won (or everyone else left); a restart plays again.
    Over,
}

/// A seated player's part of the game; their name and connection are in the room's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Banked points.
    pub score: u32,
    /// Points set aside during the current turn, lost on a bust.
    pub round_score: u32,
    /// Points of the dice currently selected (0 when none or not the player's turn).
    pub turn_score: u32,
    /// Join rank, shown as `order`: turns go round in this order. Unlike the engine's seat
    /// numbers, which reuse a leaver's seat, a newcomer always comes last.
    pub order: u32,
}

/// A player as the view shows them.
#[derive(Serialize)]
struct PlayerView<'a> {
    name: &'a str,
    score: u32,
    round_score: u32,
    turn_score: u32,
    connected: bool,
    order: u32,
}

/// The most recent roll, kept after the turn moves on so clients can show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRoll {
    /// Who rolled.
    pub player: PlayerId,
    /// The faces, ascending.
    pub faces: Vec<u8>,
    /// The best the roll could score; 0 is a bust.
    pub points: u32,
}

/// The whole game; everything in it is public except the timer ids, which no view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The room's options.
    pub config: Config,
    /// Where the game stands.
    pub phase: Phase,
    /// Seated players by id.
    pub players: BTreeMap<PlayerId, Player>,
    /// Whose turn it is while playing.
    pub turn: Option<PlayerId>,
    /// Turns begun since the room opened; the bust timer carries it so a late one is ignored.
    pub turn_no: u32,
    /// Games started in this room.
    pub round: u32,
    /// Faces of the current roll still on the table, ascending; the index of a die is its
    /// position here. Empty when the next move is a roll.
    pub dice: Vec<u8>,
    /// Selected indices into `dice`, ascending.
    pub selected: Vec<u8>,
    /// Faces set aside this turn since the last full throw.
    pub set_aside: Vec<u8>,
    /// How many dice the next roll throws.
    pub to_roll: u8,
    /// The player on turn rolled no scoring die and waits for the turn to pass.
    pub busted: bool,
    /// The player on turn set aside all six dice and throws all six again.
    pub hot_dice: bool,
    /// The latest roll.
    pub last_roll: Option<LastRoll>,
    /// The winner, once there is one.
    pub winner: Option<PlayerId>,
    /// The winner's name, kept should they leave.
    pub winner_name: Option<String>,
    /// The game ended because too few players stayed.
    pub forfeit: bool,
    /// Join rank of the next player to sit down.
    pub next_order: u32,
    /// The pending end of a bust.
    pub bust_timer: Option<TimerId>,
}

/// What players propose, plus the action only the room's bust timer applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Start the game (any seated player, two or more seated).
    Start,
    /// Throw the dice that are not set aside.
    Roll,
    /// Select a die of the current roll.
    Select {
        /// Index into `dice`.
        index: u8,
    },
    /// Put a selected die back.
    Deselect {
        /// Index into `dice`.
        index: u8,
    },
    /// Set the selected dice aside (every one must score), then roll on or bank.
    SetAside {
        /// Bank the turn's points and end the turn.
        end_turn: bool,
    },
    /// Play again once the game is over; scores reset.
    Restart,
    /// Timer only: the bust has been shown; the turn passes.
    BustOver {
        /// The turn the bust happened in.
        turn_no: u32,
    },
}

/// Bot names, inspired by medieval Bohemia.
const BOT_NAMES: [&str; 12] = [
    "Ctibor the Tanner",
    "Ludmila of Sázava",
    "Jaroš the Ferryman",
    "Dobromila the Brewer",
    "Bořivoj the Smith",
    "Milota of Kouřim",
    "Zdislava the Herbwife",
    "Hroznata the Miller",
    "Kunhuta of Kolín",
    "Přibyslav the Bailiff",
    "Radslav the Carter",
    "Vojslava the Weaver",
];

fn refuse(message: impl Into<String>) -> GameError {
    GameError::invalid_move(message)
}

impl State {
    fn new(config: Config) -> Self {
        Self {
            config,
            phase: Phase::Waiting,
            players: BTreeMap::new(),
            turn: None,
            turn_no: 0,
            round: 0,
            dice: Vec::new(),
            selected: Vec::new(),
            set_aside: Vec::new(),
            to_roll: DICE,
            busted: false,
            hot_dice: false,
            last_roll: None,
            winner: None,
            winner_name: None,
            forfeit: false,
            next_order: 0,
            bust_timer: None,
        }
    }

    /// Faces of the selected dice.
    pub fn selected_faces(&self) -> Vec<u8> {
        self.selected
            .iter()
            .filter_map(|&i| self.dice.get(usize::from(i)).copied())
            .collect()
    }

    /// The player on turn. Only called while playing, when there always is one.
    fn current(&mut self) -> Result<&mut Player, GameError> {
        let turn = self.turn.as_ref();
        turn.and_then(|t| self.players.get_mut(t))
            .ok_or_else(|| GameError::new(ErrorCode::Internal, "no player on turn"))
    }

    /// Seated ids in seat order.
    fn seat_order(&self) -> Vec<PlayerId> {
        let mut ids: Vec<(&u32, &PlayerId)> =
            self.players.iter().map(|(id, p)| (&p.order, id)).collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id.clone()).collect()
    }

    /// The seated player after seat number `order`, wrapping round.
    fn after(&self, order: u32) -> Option<PlayerId> {
        let by_order = |(_, p): &(&PlayerId, &Player)| p.order;
        self.players
            .iter()
            .filter(|(_, p)| p.order > order)
            .min_by_key(by_order)
            .or_else(|| self.players.iter().min_by_key(by_order))
            .map(|(id, _)| id.clone())
    }

    /// Stop the turn clock and drop a pending bust.
    fn cancel_timers(&mut self, cx: &mut Ctx<'_, Action>) {
        cx.stop_clock();
        if let Some(timer) = self.bust_timer.take() {
            cx.cancel(timer);
        }
    }

    /// (Re)start the turn clock: the player on turn has `turn_timeout_ms` for their next
    /// action.
    fn touch(&self, cx: &mut Ctx<'_, Action>) {
        let after = self.config.turn_timeout_ms;
        if let Some(player) = self.turn.as_ref().filter(|_| after > 0) {
            cx.start_clock(player, after);
        }
    }

    /// Clear the table for a new turn.
    fn clear_table(&mut self) {
        self.dice.clear();
        self.selected.clear();
        self.set_aside.clear();
        self.to_roll = DICE;
        self.busted = false;
        self.hot_dice = false;
        for p in self.players.values_mut() {
            p.round_score = 0;
            p.turn_score = 0;
        }
    }

    /// Give the turn to `next` (or end the game when nobody is left).
    fn begin_turn(&mut self, next: Option<PlayerId>, cx: &mut Ctx<'_, Action>) {
        self.cancel_timers(cx);
        self.clear_table();
        self.turn_no += 1;
        self.turn = next;
        if self.turn.is_some() {
            self.touch(cx);
        }
    }

    /// Pass the turn on from the player in seat `order`.
    fn pass_from(&mut self, order: u32, cx: &mut Ctx<'_, Action>) {
        let next = self.after(order);
        self.begin_turn(next, cx);
    }

    fn pass_turn(&mut self, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let order = self.current()?.order;
        self.pass_from(order, cx);
        Ok(())
    }

    /// Start a game (or the next one): scores reset, a random player begins.
    fn begin_game(&mut self, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        if self.players.len() < 2 {
            return Err(refuse("at least two players must be seated"));
        }
        self.phase = Phase::Playing;
        self.round += 1;
        self.winner = None;
        self.winner_name = None;
        self.forfeit = false;
        self.last_roll = None;
        for p in self.players.values_mut() {
            p.score = 0;
        }
        let seats = self.seat_order();
        let first = cx.rng().pick(&seats).cloned();
        self.begin_turn(first, cx);
        Ok(())
    }

    fn finish(&mut self, winner: Option<PlayerId>, forfeit: bool, cx: &mut Ctx<'_, Action>) {
        self.cancel_timers(cx);
        self.clear_table();
        self.phase = Phase::Over;
        self.turn = None;
        self.winner_name = winner
            .as_ref()
            .and_then(|w| cx.seats().get(w))
            .map(|s| s.name.clone());
        self.winner = winner;
        self.forfeit = forfeit;
    }

    /// Bank the turn's set-aside points; the game ends if they reach the target.
    fn bank(&mut self, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let target = self.config.target;
        let p = self.current()?;
        p.score += p.round_score;
        p.round_score = 0;
        p.turn_score = 0;
        if p.score >= target {
            let winner = self.turn.clone();
            self.finish(winner, false, cx);
            Ok(())
        } else {
            self.pass_turn(cx)
        }
    }

    fn roll(&mut self, who: &PlayerId, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        if !self.dice.is_empty() {
            return Err(refuse(
                "set aside at least one scoring die before rolling again",
            ));
        }
        let mut faces: Vec<u8> = (0..self.to_roll)
            .map(|_| cx.rng().range_inclusive(1, 6) as u8)
            .collect();
        faces.sort_unstable();
        let points = score(&faces).points;
        self.last_roll = Some(LastRoll {
            player: who.clone(),
            faces: faces.clone(),
            points,
        });
        self.dice = faces;
        self.hot_dice = false;
        if points > 0 {
            self.touch(cx);
            return Ok(());
        }
        self.busted = true;
        self.cancel_timers(cx);
        if self.config.bust_delay_ms == 0 {
            return self.pass_turn(cx);
        }
        let turn_no = self.turn_no;
        self.bust_timer =
            Some(cx.schedule(self.config.bust_delay_ms, Action::BustOver { turn_no }));
        Ok(())
    }

    fn check_index(&self, index: u8) -> Result<(), GameError> {
        if self.dice.is_empty() {
            return Err(refuse("roll first: there are no dice to select"));
        }
        if usize::from(index) >= self.dice.len() {
            return Err(refuse(format!(
                "no die at index {index}: the roll has {} dice (0–{})",
                self.dice.len(),
                self.dice.len() - 1
            )));
        }
        Ok(())
    }

    fn update_turn_score(&mut self) -> Result<(), GameError> {
        let points = score(&self.selected_faces()).points;
        self.current()?.turn_score = points;
        Ok(())
    }

    fn select(&mut self, index: u8, on: bool) -> Result<(), GameError> {
        self.check_index(index)?;
        match (self.selected.binary_search(&index), on) {
            (Ok(_), true) => return Err(refuse(format!("die {index} is already selected"))),
            (Err(_), false) => return Err(refuse(format!("die {index} is not selected"))),
            (Err(at), true) => self.selected.insert(at, index),
            (Ok(at), false) => {
                self.selected.remove(at);
            }
        }
        self.update_turn_score()
    }

    fn set_aside(&mut self, end_turn: bool, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        if self.dice.is_empty() {
            return Err(refuse("roll first: there are no dice to set aside"));
        }
        if self.selected.is_empty() {
            return Err(refuse("select the dice to set aside first"));
        }
        let faces = self.selected_faces();
        let s = score(&faces);
        if !s.valid {
            return Err(refuse(format!(
                "every selected die must score, and {faces:?} do not all score"
            )));
        }
        let p = self.current()?;
        p.round_score += s.points;
        p.turn_score = 0;
        self.to_roll = (self.dice.len() - self.selected.len()) as u8;
        self.set_aside.extend(faces);
        self.dice.clear();
        self.selected.clear();
        if self.to_roll == 0 {
            self.hot_dice = true;
            self.set_aside.clear();
            self.to_roll = DICE;
        }
        if end_turn {
            self.bank(cx)
        } else {
            self.touch(cx);
            Ok(())
        }
    }

    fn player_action(
        &mut self,
        who: &PlayerId,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if !self.players.contains_key(who) {
            return Err(GameError::new(ErrorCode::NotAPlayer, "you have no seat"));
        }
        match action {
            Action::BustOver { .. } => Err(GameError::new(
                ErrorCode::InvalidAction,
                "only the room's timers take that action",
            )),
            Action::Start | Action::Restart => {
                let restart = action == Action::Restart;
                match (self.phase, restart) {
                    (Phase::Waiting, false) | (Phase::Over, true) => self.begin_game(cx),
                    (Phase::Playing, _) => Err(GameError::in_progress("a game is in progress")),
                    (Phase::Waiting, true) => {
                        Err(refuse("the game has not started yet: use start"))
                    }
                    (Phase::Over, false) => Err(GameError::game_over()),
                }
            }
            Action::Roll => {
                self.check_turn(who)?;
                self.roll(who, cx)
            }
            Action::Select { index } | Action::Deselect { index } => {
                self.check_turn(who)?;
                self.select(index, matches!(action, Action::Select { .. }))?;
                self.touch(cx);
                Ok(())
            }
            Action::SetAside { end_turn } => {
                self.check_turn(who)?;
                self.set_aside(end_turn, cx)
            }
        }
    }

    /// Refuse a turn action unless `who` may take one now.
    fn check_turn(&self, who: &PlayerId) -> Result<(), GameError> {
        match self.phase {
            Phase::Waiting => Err(refuse("the game has not started yet")),
            Phase::Over => Err(GameError::game_over()),
            Phase::Playing if self.turn.as_ref() != Some(who) => Err(GameError::not_your_turn()),
            Phase::Playing if self.busted => Err(refuse(
                "you are busted: the turn passes to the next player in a moment",
            )),
            Phase::Playing => Ok(()),
        }
    }

    fn system_action(&mut self, action: Action, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let Action::BustOver { turn_no } = action else {
            return Err(GameError::new(
                ErrorCode::InvalidAction,
                "timers only end busts",
            ));
        };
        if self.phase != Phase::Playing || !self.busted || turn_no != self.turn_no {
            return Err(refuse("the timer's turn is over"));
        }
        self.bust_timer = None;
        self.pass_turn(cx)
    }

    /// The actions of whoever may act now: the player on turn while playing, otherwise any
    /// seated player.
    fn legal_now(&self) -> Vec<Action> {
        match self.phase {
            Phase::Waiting if self.players.len() >= 2 => vec![Action::Start],
            Phase::Over if self.players.len() >= 2 => vec![Action::Restart],
            Phase::Waiting | Phase::Over => Vec::new(),
            Phase::Playing if self.busted => Vec::new(),
            Phase::Playing if self.dice.is_empty() => vec![Action::Roll],
            Phase::Playing => {
                let mut out: Vec<Action> = (0..self.dice.len() as u8)
                    .map(|index| {
                        if self.selected.binary_search(&index).is_ok() {
                            Action::Deselect { index }
                        } else {
                            Action::Select { index }
                        }
                    })
                    .collect();
                if score(&self.selected_faces()).valid {
                    out.push(Action::SetAside { end_turn: false });
                    out.push(Action::SetAside { end_turn: true });
                }
                out
            }
        }
    }
}

impl Game for DiceGame {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Roll six dice, set aside scoring ones, bank before you bust.";
        GameInfo::new("dicegame", "Dice (Farkle)", description, 2..=6)
    }

    fn setup(&self, config: &Config, _cx: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        let bad = |m: &str| Err(GameError::new(ErrorCode::InvalidConfig, m));
        if config.target == 0 {
            return bad("target must be at least 1");
        }
        if config.bust_delay_ms > 60_000 {
            return bad("bust_delay_ms must be at most 60000");
        }
        let [lo, hi] = config.bot_delay_ms;
        if lo > hi || hi > 60_000 {
            return bad("bot_delay_ms must be [min, max] with min ≤ max ≤ 60000");
        }
        Ok(State::new(config.clone()))
    }

    fn join(
        &self,
        state: &mut State,
        player: &Seat,
        _cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.phase == Phase::Playing {
            return Err(GameError::new(
                ErrorCode::JoinRefused,
                "the game has started",
            ));
        }
        state.players.insert(
            player.id.clone(),
            Player {
                score: 0,
                round_score: 0,
                turn_score: 0,
                order: state.next_order,
            },
        );
        state.next_order += 1;
        Ok(())
    }

    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        let player = &seat.id;
        let Some(gone) = state.players.remove(player) else {
            return;
        };
        if state.phase != Phase::Playing {
            return;
        }
        if state.players.len() < 2 {
            let stayer = state.players.keys().next().cloned();
            state.finish(stayer, true, cx);
        } else if state.turn.as_ref() == Some(player) {
            state.pass_from(gone.order, cx);
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        match by {
            Actor::Player(who) => state.player_action(who, action, cx),
            Actor::System => state.system_action(action, cx),
        }
    }

    /// The player on turn took too long: what they set aside is banked and the turn passes.
    fn out_of_time(
        &self,
        state: &mut State,
        player: &PlayerId,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        if state.phase != Phase::Playing || state.busted || state.turn.as_ref() != Some(player) {
            return Err(refuse("the clock's turn is over"));
        }
        state.bank(cx)
    }

    fn view(&self, state: &State, seats: &Seats, _viewer: &Viewer) -> Value {
        let selection = score(&state.selected_faces());
        let players: BTreeMap<&PlayerId, PlayerView> = state
            .players
            .iter()
            .filter_map(|(id, p)| {
                let seat = seats.get(id)?;
                Some((
                    id,
                    PlayerView {
                        name: &seat.name,
                        score: p.score,
                        round_score: p.round_score,
                        turn_score: p.turn_score,
                        connected: seat.connected,
                        order: p.order,
                    },
                ))
            })
            .collect();
        json!({
            "phase": state.phase,
            "target": state.config.target,
            "players": players,
            "turn": state.turn,
            "turn_no": state.turn_no,
            "round": state.round,
            "dice": state.dice,
            "selected": state.selected,
            "selection": selection,
            "set_aside": state.set_aside,
            "to_roll": state.to_roll,
            "busted": state.busted,
            "hot_dice": state.hot_dice,
            "last_roll": state.last_roll,
            "winner": state.winner,
            "winner_name": state.winner_name,
            "forfeit": state.forfeit,
            "turn_deadline_ms": seats.clock().map(|c| c.due_ms),
            "legal": state.legal_now(),
        })
    }

    fn status(&self, state: &State, _seats: &Seats) -> Status {
        match state.phase {
            Phase::Waiting => Status::Waiting,
            Phase::Playing => Status::Playing,
            Phase::Over => {
                // The winner alone first (if still seated), then everyone else by score, equal
                // scores sharing a place.
                let winner = state
                    .winner
                    .as_ref()
                    .filter(|w| state.players.contains_key(*w));
                let mut ranking: Vec<Vec<PlayerId>> =
                    winner.map(|w| vec![w.clone()]).into_iter().collect();
                let mut rest: Vec<(u32, &PlayerId)> = state
                    .players
                    .iter()
                    .filter(|(id, _)| Some(*id) != winner)
                    .map(|(id, p)| (p.score, id))
                    .collect();
                rest.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
                let mut last = None;
                for (points, id) in rest {
                    match ranking.last_mut() {
                        Some(group) if last == Some(points) => group.push(id.clone()),
                        _ => ranking.push(vec![id.clone()]),
                    }
                    last = Some(points);
                }
                Status::Finished { ranking }
            }
        }
    }

    fn legal_actions(&self, state: &State, _seats: &Seats, player: &PlayerId) -> Vec<Action> {
        let may_act = state.players.contains_key(player)
            && (state.phase != Phase::Playing || state.turn.as_ref() == Some(player));
        if may_act {
            state.legal_now()
        } else {
            Vec::new()
        }
    }

    fn public_view(&self) -> bool {
        true
    }

    fn tracks_connections(&self) -> bool {
        true
    }

    fn has_bots(&self) -> bool {
        true
    }

    fn bot_name(&self, n: u32) -> String {
        let i = (n.max(1) - 1) as usize;
        let name = BOT_NAMES[i % BOT_NAMES.len()];
        match i / BOT_NAMES.len() {
            0 => name.to_owned(),
            k => format!("{name} {}", k + 1),
        }
    }

    /// See [`bot`]: roll when the table is clear, otherwise select the dice of the best keep
    /// one at a time, then set them aside, banking when the risk policy says so.
    fn bot_move(&self, state: &State, bot: &Seat, rng: &mut GameRng) -> Option<BotMove<Action>> {
        let action = bot::decide(state, &bot.id)?;
        let [lo, hi] = state.config.bot_delay_ms;
        Some(BotMove {
            action,
            delay_ms: u64::from(rng.range_inclusive(lo, hi)),
        })
    }
}
