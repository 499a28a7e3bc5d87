//! Race, made by `arbiter new-game` (rules: docs/games/race.md).
//!
//! Players take turns, in seat order, adding 1, 2 or 3 to a shared total; whoever brings it
//! to the target wins. Change the rules to make it your game; keep the tests passing.
#[cfg(test)]
mod tests;

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Seat, Seats, Status};
use serde::{Deserialize, Serialize};

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Race;

/// Everything about a game. Nothing is secret, so the default `view` shows all of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// The running total.
    pub total: u32,
    /// The total to reach.
    pub target: u32,
    /// Whose turn it is: nobody's until two players sit down, nor once someone has won.
    pub turn: Option<PlayerId>,
    /// Who reached the target.
    pub winner: Option<PlayerId>,
    /// Milliseconds per turn; 0 means no clock.
    pub turn_ms: u64,
}

/// What players propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Add `n` (1, 2 or 3) to the total, which may not pass the target.
    Add {
        /// The amount.
        n: u32,
    },
}

/// Room options, chosen at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The total to reach: 1 to 1,000 (default 21).
    pub target: u32,
    /// Milliseconds per turn, after which 1 is added for the player; 0 (the default) means
    /// no clock.
    pub turn_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            target: 21,
            turn_ms: 0,
        }
    }
}

impl State {
    /// `seat` adds `n`: they win on reaching the target, else the next seat plays.
    fn add(&mut self, seat: &Seat, n: u32, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        if !(1..=3).contains(&n) {
            return Err(GameError::invalid_move(format!("add 1, 2 or 3 (got {n})")));
        }
        if self.total + n > self.target {
            return Err(GameError::invalid_move(format!(
                "the total may not pass {}",
                self.target
            )));
        }
        self.total += n;
        if self.total == self.target {
            (self.winner, self.turn) = (Some(seat.id.clone()), None);
            cx.stop_clock();
        } else {
            self.turn = cx.pass_turn(seat.number, self.turn_ms);
        }
        Ok(())
    }
}

impl Game for Race {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Take turns adding 1 to 3 to a shared total; reach the target to win.";
        GameInfo::new("race", "Race", description, 2..=4)
    }

    fn setup(&self, config: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if !(1..=1_000).contains(&config.target) {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "target must be between 1 and 1000",
            ));
        }
        Ok(State {
            target: config.target,
            turn_ms: config.turn_ms,
            ..State::default()
        })
    }

    /// The game starts when the second player sits down; seat 0 plays first.
    fn join(&self, state: &mut State, _: &Seat, cx: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        if state.turn.is_none() && state.winner.is_none() && cx.seats().len() >= 2 {
            let first = cx.seats().ids().next().cloned();
            state.turn = cx.give_turn(first, state.turn_ms);
        }
        Ok(())
    }

    /// A leaver's turn passes on; with fewer than two players left the game waits.
    fn leave(&self, state: &mut State, seat: &Seat, cx: &mut Ctx<'_, Action>) {
        if cx.seats().len() < 2 {
            state.turn = None;
            cx.stop_clock();
        } else if state.turn.as_ref() == Some(&seat.id) {
            state.turn = cx.pass_turn(seat.number, state.turn_ms);
        }
    }

    fn apply(
        &self,
        state: &mut State,
        by: &Actor,
        action: Action,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let seat = cx.seat_of(by.player()?)?;
        let Action::Add { n } = action;
        if state.winner.is_some() {
            return Err(GameError::game_over());
        }
        match &state.turn {
            None => Err(GameError::invalid_move("waiting for players")),
            Some(p) if *p != seat.id => Err(GameError::not_your_turn()),
            Some(_) => state.add(&seat, n, cx),
        }
    }

    /// A player out of time has 1 added for them.
    fn out_of_time(
        &self,
        state: &mut State,
        player: &PlayerId,
        cx: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let seat = cx.seat_of(player)?;
        state.add(&seat, 1, cx)
    }

    fn status(&self, state: &State, seats: &Seats) -> Status {
        match (&state.winner, &state.turn) {
            (Some(winner), _) => Status::decided(Some(winner), seats.ids()),
            (None, Some(_)) => Status::Playing,
            (None, None) => Status::Waiting,
        }
    }

    fn legal_actions(&self, state: &State, _: &Seats, player: &PlayerId) -> Vec<Action> {
        if state.turn.as_ref() != Some(player) {
            return Vec::new();
        }
        let room = state.target - state.total;
        (1..=room.min(3)).map(|n| Action::Add { n }).collect()
    }

    fn public_view(&self) -> bool {
        // Everyone sees the same (default) view: one view and one patch per change.
        true
    }
}
