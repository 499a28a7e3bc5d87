//! One mapping per game whose old clients are served: the old `game_state` shape of a
//! room's view, the old messages as the game's actions, and the old error strings. A game
//! without a mapping is not offered on the hub.

mod dicegame;
mod owedrahn;
mod tellit;
mod tictactoe;

use super::wire::ok;
use arbiter_protocol::ErrorCode;
use serde_json::Value;

/// How one game's old messages and state map onto the game's own.
pub(super) trait Mapping: Send + Sync {
    /// Seats in a room an old client creates: the old game's cap.
    fn max_players(&self) -> Option<u32>;

    /// The old `game_state` data for this view.
    fn state(&self, view: &Value) -> Value;

    /// The old message `ty` with `data`, from client `me`, as an action given the client's
    /// view: `None` for a message the old game only answered with a `game_state` (nothing to
    /// apply); or the old error string, and nothing is sent.
    fn action(
        &self,
        ty: &str,
        data: &Value,
        view: &Value,
        me: &str,
    ) -> Result<Option<Value>, String>;

    /// The old error a joiner who only watches gets (past the seats, or mid-game).
    fn spectating(&self) -> &'static str {
        "Game is full"
    }

    /// The old error string for a refused action.
    fn refusal(&self, ty: &str, code: ErrorCode, message: &str) -> String;

    /// Events the old server sent before the `game_state` of a change from `before` to
    /// `after`.
    fn events(&self, before: Option<&Value>, after: &Value) -> Vec<Value> {
        let _ = (before, after);
        Vec::new()
    }

    /// The data of the `joined` (or `reconnected`) event a seated client gets after its
    /// first `game_state`, if the old game sent one.
    fn greeting(&self, view: &Value, me: &str, room: &str) -> Option<Value> {
        let _ = (view, me, room);
        None
    }

    /// The old messages for a change of the view from `before` (`None`: the first view the
    /// client gets) to `after`: the game's events, then `game_state`.
    fn updates(&self, before: Option<&Value>, after: &Value) -> Vec<Value> {
        let mut out = self.events(before, after);
        out.push(ok("game_state", self.state(after)));
        out
    }

    /// The old answer to message `ty` once its `action` was applied, given the view after
    /// it (the room sends a state before the acknowledgement), if the old game sent one.
    fn answer(&self, ty: &str, action: &Value, view: &Value) -> Option<Value> {
        let _ = (ty, action, view);
        None
    }

    /// The `type` the old game's refusal of message `ty` came as.
    fn reply_to(&self, ty: &str) -> &'static str {
        let _ = ty;
        "error"
    }

    /// An action the old server took by itself in this view, taken for client `me`.
    fn automatic(&self, view: &Value, me: &str) -> Option<Value> {
        let _ = (view, me);
        None
    }
}

/// The mapping for `game`, if its old clients are served.
pub(super) fn of(game: &str) -> Option<&'static dyn Mapping> {
    match game {
        "tictactoe" => Some(&tictactoe::TicTacToe),
        "dicegame" => Some(&dicegame::DiceGame),
        "owedrahn" => Some(&owedrahn::OweDrahn),
        "tellit" => Some(&tellit::TellIt),
        _ => None,
    }
}

/// `view[key]` as a string, `""` when absent or null (the old shapes' "nobody").
fn text(view: &Value, key: &str) -> Value {
    Value::String(view[key].as_str().unwrap_or_default().to_owned())
}

/// An old message's unknown type.
fn unknown(ty: &str) -> String {
    format!("Unknown message type: {ty}")
}
