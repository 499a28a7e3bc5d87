//! Tic-tac-toe's old shapes: a 3×3 `board` of `"X"`, `"O"` or `""`, players by client id
//! with their `symbol`, `make_move {row, col}` and `restart_game`.

use super::{Mapping, text, unknown};
use arbiter_protocol::ErrorCode;
use serde_json::{Value, json};

pub(super) struct TicTacToe;

impl Mapping for TicTacToe {
    fn max_players(&self) -> Option<u32> {
        Some(2)
    }

    fn state(&self, view: &Value) -> Value {
        let cell = |i: usize| Value::String(view["board"][i].as_str().unwrap_or_default().into());
        let board: Vec<Vec<Value>> = (0..3)
            .map(|row| (0..3).map(|col| cell(row * 3 + col)).collect())
            .collect();
        let players: serde_json::Map<String, Value> = view["players"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, p)| {
                (
                    id.clone(),
                    json!({ "symbol": p["mark"], "name": p["name"] }),
                )
            })
            .collect();
        json!({
            "board": board,
            "players": players,
            "currentTurn": text(view, "turn"),
            "winner": text(view, "winner"),
            "gameOver": view["over"].as_bool().unwrap_or(false),
            "drawGame": view["draw"].as_bool().unwrap_or(false),
        })
    }

    fn action(&self, ty: &str, data: &Value, _: &Value, _: &str) -> Result<Option<Value>, String> {
        match ty {
            "make_move" => {
                let (Some(row), Some(col)) = (data["row"].as_i64(), data["col"].as_i64()) else {
                    return Err("Invalid move format".to_owned());
                };
                if !(0..3).contains(&row) || !(0..3).contains(&col) {
                    return Err("Invalid move coordinates".to_owned());
                }
                Ok(Some(json!({ "type": "move", "row": row, "col": col })))
            }
            "restart_game" => Ok(Some(json!({ "type": "restart" }))),
            _ => Err(unknown(ty)),
        }
    }

    fn refusal(&self, ty: &str, code: ErrorCode, message: &str) -> String {
        let said = match (ty, code) {
            (_, ErrorCode::NotYourTurn) => "Not your turn",
            (_, ErrorCode::GameOver) => "Game is over",
            // Before the second player sits, the old game had nobody on turn.
            (_, ErrorCode::InvalidMove) if message.contains("waiting for an opponent") => {
                "Not your turn"
            }
            ("make_move", ErrorCode::InvalidMove) => "Cell already occupied",
            ("restart_game", ErrorCode::GameInProgress) => "Cannot restart a game in progress",
            _ => message,
        };
        said.to_owned()
    }

    fn greeting(&self, view: &Value, me: &str, room: &str) -> Option<Value> {
        let symbol = view["players"].get(me)?["mark"].clone();
        Some(json!({ "clientId": me, "symbol": symbol, "roomId": room }))
    }
}
