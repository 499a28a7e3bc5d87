//! Counter: the benchmark game. Every action changes shared state that every member sees, so
//! each action costs one entry, one diff and one frame to everyone — the workload
//! `arbiter bench` measures. Also the smallest complete example of a game.

use arbiter_engine::protocol::PlayerId;
use arbiter_engine::{Actor, Ctx, Game, GameError, GameInfo, Seats, Viewer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The game.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

/// Shared, public state. The seated players' names are the engine's (see `view`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct State {
    /// The running total.
    pub count: i64,
    /// Actions applied so far.
    pub actions: u64,
    /// Who acted last.
    pub last: Option<PlayerId>,
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
        let description = "A shared counter everyone can change: the benchmark workload.";
        GameInfo::new("counter", "Counter", description, 1..=64)
    }

    fn setup(&self, _: &Config, _: &mut Ctx<'_, Action>) -> Result<State, GameError> {
        Ok(State::default())
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
        let player = by.player()?;
        s.count = s
            .count
            .checked_add(n)
            .ok_or_else(|| GameError::invalid_move("the count would overflow"))?;
        s.actions += 1;
        s.last = Some(player.clone());
        Ok(())
    }

    /// The state plus `players`: each seated player's name by id.
    fn view(&self, s: &State, seats: &Seats, _: &Viewer) -> Value {
        let mut view = serde_json::to_value(s).unwrap_or_default();
        let names = seats
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone().into()));
        view["players"] = Value::Object(names.collect());
        view
    }

    fn legal_actions(&self, _: &State, _: &Seats, _: &PlayerId) -> Vec<Action> {
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
    use arbiter_engine::Playtest;
    use arbiter_engine::protocol::ErrorCode;
    use serde_json::json;

    #[test]
    fn adds_within_bounds_and_refuses_the_rest() {
        let mut t = Playtest::new(Counter);
        let ada = t.seat("Ada").expect("seat");
        t.act(&ada, Action::Add { n: 5 }).expect("ok");
        t.act(&ada, Action::Add { n: -7 }).expect("ok");
        assert_eq!((t.state().count, t.state().actions), (-2, 2));
        let e = t.act(&ada, Action::Add { n: 1_001 }).expect_err("bound");
        assert_eq!(e.code, ErrorCode::InvalidMove);
        for _ in 0..3 {
            t.act(&ada, Action::Add { n: -1_000 }).expect("ok");
        }
        assert_eq!(t.state().count, -3_002);
        let view = t.view(&Viewer::Spectator);
        assert_eq!(view["players"], json!({"p_Ada": "Ada"}));
        assert_eq!(view["last"], "p_Ada");
        t.check_replay().expect("replays");
    }
}
