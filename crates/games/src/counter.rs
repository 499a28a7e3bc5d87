//! Counter: the benchmark game. Every action changes shared state that every member sees, so
//! each action costs one entry, one diff and one frame to everyone — the workload
//! `arbiter bench` measures. Also the smallest complete example of a game.

use arbiter_engine::protocol::{ErrorCode, PlayerId, PlayerInfo};
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Status, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

/// Shared, public state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// The running total.
    pub count: i64,
    /// Actions applied so far.
    pub actions: u64,
    /// Who acted last.
    pub last: Option<PlayerId>,
    /// Seated players and their names.
    pub players: BTreeMap<PlayerId, String>,
}

/// What players propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Add `n` (−1,000..=1,000) to the count.
    Add {
        /// The amount.
        n: i64,
    },
}

/// Counter has no options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl Game for Counter {
    type State = State;
    type Action = Action;
    type Config = Config;

    fn info(&self) -> GameInfo {
        GameInfo {
            name: "counter",
            title: "Counter",
            description: "A shared counter everyone can change: the benchmark workload.",
            min_players: 1,
            max_players: 64,
        }
    }

    fn setup(&self, _: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State::default())
    }

    fn join(
        &self,
        s: &mut State,
        p: &PlayerInfo,
        _: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        s.players.insert(p.id.clone(), p.name.clone());
        Ok(())
    }

    fn leave(&self, s: &mut State, p: &PlayerId, _: &mut Ctx<'_, Action>) {
        s.players.remove(p);
    }

    fn apply(
        &self,
        s: &mut State,
        by: &Actor,
        action: Action,
        _: &mut Ctx<'_, Action>,
    ) -> Result<(), GameError> {
        let Action::Add { n } = action;
        if !(-1_000..=1_000).contains(&n) {
            return Err(GameError::invalid_move("n must be between -1000 and 1000"));
        }
        let Actor::Player(p) = by else {
            return Err(GameError::new(
                ErrorCode::InvalidAction,
                "counter has no timers",
            ));
        };
        s.count = s
            .count
            .checked_add(n)
            .ok_or_else(|| GameError::invalid_move("the count would overflow"))?;
        s.actions += 1;
        s.last = Some(p.clone());
        Ok(())
    }

    fn view(&self, s: &State, _: &Viewer) -> Value {
        serde_json::to_value(s).unwrap_or(Value::Null)
    }

    fn status(&self, _: &State) -> Status {
        Status::Playing
    }

    fn legal_actions(&self, _: &State, _: &PlayerId) -> Vec<Action> {
        vec![Action::Add { n: 1 }, Action::Add { n: -1 }]
    }

    fn order_independent(&self, _: &Action) -> bool {
        // Addition commutes: a stale base changes nothing about the result.
        true
    }

    fn public_view(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbiter_engine::{GameRng, Timers};

    #[test]
    fn adds_within_bounds_and_refuses_the_rest() {
        let mut s = State::default();
        let (mut rng, mut timers) = (GameRng::from_seed(1), Timers::default());
        let mut cx = Ctx::new(&mut rng, 0, &mut timers);
        let ada = Actor::Player("ada".into());
        Counter
            .apply(&mut s, &ada, Action::Add { n: 5 }, &mut cx)
            .expect("ok");
        Counter
            .apply(&mut s, &ada, Action::Add { n: -7 }, &mut cx)
            .expect("ok");
        assert_eq!((s.count, s.actions), (-2, 2));
        let e = Counter
            .apply(&mut s, &ada, Action::Add { n: 1_001 }, &mut cx)
            .expect_err("bound");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        s.count = i64::MAX;
        assert!(
            Counter
                .apply(&mut s, &ada, Action::Add { n: 1 }, &mut cx)
                .is_err()
        );
    }
}
