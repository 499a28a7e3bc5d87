//! Drift: the tick benchmark. Every seated player steers a dot across a field that wraps
//! around; the room ticks (30 Hz by default) and each tick moves every dot by its steering.
//! What a real-time game costs without its rules: inputs buffered between ticks (a player's
//! latest `steer` wins), one entry per tick, and one patch per tick to everyone — the
//! workload `arbiter bench --workload tick` measures beside the same room on Colyseus
//! (bench/colyseus/server.js).
//!
//! The view carries `tick` (ticks so far) and `at` (the room time the tick was due, ms since
//! the Unix epoch), so a client can time each patch against the tick that made it.

use arbiter_engine::protocol::{ErrorCode, PlayerId};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Input, InputMode, Seat};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drift;

/// The field is `FIELD` × `FIELD` units; a dot leaving one edge comes back at the other.
pub const FIELD: i32 = 1_000;
/// Units a steering dot moves per tick along each axis it steers on.
pub const SPEED: i32 = 4;

/// Room options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Milliseconds per tick (10..=1,000); 33 is 30 Hz.
    pub tick_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self { tick_ms: 33 }
    }
}

/// One player's dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dot {
    /// Position, 0..FIELD on each axis.
    pub x: i32,
    /// Position, 0..FIELD on each axis.
    pub y: i32,
    /// Steering, −1..=1 on each axis.
    pub dx: i8,
    /// Steering, −1..=1 on each axis.
    pub dy: i8,
}

/// The whole state; everyone sees all of it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// Milliseconds per tick.
    pub tick_ms: u64,
    /// Ticks so far.
    pub tick: u64,
    /// Room time the last tick was due (ms since the Unix epoch); 0 before the first.
    pub at: u64,
    /// Every seated player's dot.
    pub dots: BTreeMap<PlayerId, Dot>,
}

/// What players send: all of it is input for the next tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Steer: −1, 0 or 1 along each axis (0, 0 stops the dot).
    Steer {
        /// Along x.
        dx: i8,
        /// Along y.
        dy: i8,
    },
}

fn steering(dx: i8, dy: i8) -> Result<(i8, i8), GameError> {
    if (-1..=1).contains(&dx) && (-1..=1).contains(&dy) {
        Ok((dx, dy))
    } else {
        Err(GameError::invalid_move("dx and dy must each be -1, 0 or 1"))
    }
}

impl Game for Drift {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        let description = "Steer a dot that never stops: the real-time benchmark workload.";
        GameInfo::new("drift", "Drift", description, 1..=64)
    }

    fn setup(&self, config: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        if !(10..=1_000).contains(&config.tick_ms) {
            return Err(GameError::new(
                ErrorCode::InvalidConfig,
                "tick_ms must be between 10 and 1000",
            ));
        }
        Ok(State {
            tick_ms: config.tick_ms,
            ..State::default()
        })
    }

    /// A newcomer's dot starts on the diagonal, one step per seat apart, standing still.
    fn join(&self, s: &mut State, seat: &Seat, _: &mut Ctx<'_, Action>) -> Result<(), GameError> {
        let at = i32::try_from(seat.number).unwrap_or(0) * 37 % FIELD;
        let dot = Dot {
            x: at,
            y: at,
            dx: 0,
            dy: 0,
        };
        s.dots.insert(seat.id.clone(), dot);
        Ok(())
    }

    fn leave(&self, s: &mut State, seat: &Seat, _: &mut Ctx<'_, Action>) {
        s.dots.remove(&seat.id);
    }

    /// Only reached while the room does not tick (never, in a live room; in tests through
    /// `Playtest::act`): steering applies at once.
    fn apply(
        &self,
        s: &mut State,
        by: &Actor,
        action: Action,
        _: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let Action::Steer { dx, dy } = action;
        let (dx, dy) = steering(dx, dy)?;
        let player = by.player()?;
        let dot = s
            .dots
            .get_mut(player)
            .ok_or_else(|| GameError::new(ErrorCode::NotAPlayer, "you have no dot"))?;
        (dot.dx, dot.dy) = (dx, dy);
        Ok(())
    }

    fn tick_ms(&self, s: &State) -> Option<u64> {
        Some(s.tick_ms)
    }

    fn input(&self, action: &Action) -> Option<InputMode> {
        match action {
            Action::Steer { .. } => Some(InputMode::Latest("steer")),
        }
    }

    /// Take each player's latest steering (out-of-range steering is ignored), then move
    /// every dot.
    fn tick(&self, s: &mut State, inputs: Vec<Input<Action>>, cx: &mut Ctx<'_, Action>) {
        for input in inputs {
            let Action::Steer { dx, dy } = input.action;
            if let (Ok((dx, dy)), Some(dot)) = (steering(dx, dy), s.dots.get_mut(&input.player)) {
                (dot.dx, dot.dy) = (dx, dy);
            }
        }
        for dot in s.dots.values_mut() {
            dot.x = (dot.x + SPEED * i32::from(dot.dx)).rem_euclid(FIELD);
            dot.y = (dot.y + SPEED * i32::from(dot.dy)).rem_euclid(FIELD);
        }
        s.tick += 1;
        s.at = cx.now_ms();
    }

    fn legal_actions(&self, _: &State, _: &arbiter_engine::Seats, _: &PlayerId) -> Vec<Action> {
        let mut all = Vec::with_capacity(9);
        for dx in -1..=1 {
            for dy in -1..=1 {
                all.push(Action::Steer { dx, dy });
            }
        }
        all
    }

    fn public_view(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_engine::{Playtest, Viewer};
    use serde_json::json;

    #[test]
    fn dots_move_by_the_latest_steering_each_tick_and_wrap() {
        let mut t = Playtest::new(Drift);
        let ada = t.seat("Ada").expect("seat");
        let bob = t.seat("Bob").expect("seat");
        let start = t.state().dots[&ada];
        assert_eq!((start.dx, start.dy), (0, 0));
        // Two inputs before one tick: only Ada's latest counts.
        t.input(&ada, Action::Steer { dx: 1, dy: 0 })
            .expect("input");
        t.input(&ada, Action::Steer { dx: -1, dy: 1 })
            .expect("input");
        t.input(&bob, Action::Steer { dx: 0, dy: -1 })
            .expect("input");
        t.tick();
        let (a, b) = (t.state().dots[&ada], t.state().dots[&bob]);
        assert_eq!(
            (a.x, a.y),
            (
                (start.x - SPEED).rem_euclid(FIELD),
                (start.y + SPEED).rem_euclid(FIELD)
            )
        );
        let b0 = 37 % FIELD;
        assert_eq!((b.x, b.y), (b0, b0 - SPEED));
        assert_eq!(t.state().tick, 1);
        assert_eq!(t.state().at, t.now_ms());
        // No input: the dots keep going.
        for _ in 0..10 {
            t.tick();
        }
        // Bob went up past the edge and came back at the bottom.
        assert_eq!(t.state().dots[&bob].y, FIELD + b0 - 11 * SPEED);
        assert_eq!(t.state().tick, 11);
        t.check_replay().expect("replays");
    }

    #[test]
    fn bad_steering_is_refused_and_a_leaver_takes_the_dot_along() {
        let mut t = Playtest::new(Drift);
        let ada = t.seat("Ada").expect("seat");
        let e = t
            .act(&ada, Action::Steer { dx: 2, dy: 0 })
            .expect_err("range");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        let before = t.state().clone();
        t.input(&ada, Action::Steer { dx: 0, dy: 9 })
            .expect("buffered");
        t.tick();
        let dot = t.state().dots[&ada];
        assert_eq!(
            (dot.x, dot.y, dot.dx, dot.dy),
            (before.dots[&ada].x, before.dots[&ada].y, 0, 0),
            "ignored in the tick"
        );
        t.leave(&ada).expect("leave");
        assert!(t.state().dots.is_empty());
        let view = t.view(&Viewer::Spectator);
        assert_eq!(view["tick"], 1);
    }

    #[test]
    fn the_tick_rate_is_the_rooms_choice_within_bounds() {
        let t = Playtest::with_config(Drift, json!({"tick_ms": 50}), 1).expect("config");
        assert_eq!(t.state().tick_ms, 50);
        let Err(e) = Playtest::with_config(Drift, json!({"tick_ms": 5}), 1) else {
            panic!("5 ms is too fast");
        };
        assert_eq!(e.code, ErrorCode::InvalidConfig);
    }
}
