//! The dice game's old shapes: players by client id with camel-case scores, `dice` as zeros
//! while unrolled, `selectedDice`, `setAside`, `targetScore`; `roll`, `select {diceIndex}`
//! (a toggle), `set_aside {endTurn}`; `busted` once a bust has been shown. The old game
//! started by itself when its second player sat down.

use super::{Mapping, text, unknown};
use arbiter_protocol::ErrorCode;
use serde_json::{Value, json};

pub(super) struct DiceGame;

impl Mapping for DiceGame {
    fn max_players(&self) -> Option<u32> {
        Some(2)
    }

    fn state(&self, view: &Value) -> Value {
        let players: serde_json::Map<String, Value> = view["players"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, p)| {
                let player = json!({
                    "id": id,
                    "name": p["name"],
                    "score": p["score"],
                    "turnScore": p["turn_score"],
                    "roundScore": p["round_score"],
                });
                (id.clone(), player)
            })
            .collect();
        let playing = view["phase"] == "playing";
        let dice = match view["dice"].as_array() {
            Some(dice) if !dice.is_empty() => Value::Array(dice.clone()),
            // Unrolled dice were zeros in the old game.
            _ if playing => json!(vec![0; view["to_roll"].as_u64().unwrap_or(6) as usize]),
            _ => json!([]),
        };
        json!({
            "players": players,
            "started": view["phase"] != "waiting",
            "currentTurn": text(view, "turn"),
            "winner": text(view, "winner_name"),
            "dice": dice,
            "selectedDice": view["selected"],
            "setAside": view["set_aside"],
            "targetScore": view["target"],
        })
    }

    fn action(
        &self,
        ty: &str,
        data: &Value,
        view: &Value,
        _: &str,
    ) -> Result<Option<Value>, String> {
        match ty {
            "roll" => Ok(Some(json!({ "type": "roll" }))),
            "select" => {
                let Some(index) = data["diceIndex"].as_i64() else {
                    return Err("select payload invalid".to_owned());
                };
                let rolled = view["dice"].as_array().map_or(0, Vec::len);
                let Some(index) = u8::try_from(index)
                    .ok()
                    .filter(|&i| usize::from(i) < rolled)
                else {
                    return Err("select invalid".to_owned());
                };
                let selected = view["selected"]
                    .as_array()
                    .is_some_and(|s| s.contains(&json!(index)));
                let verb = if selected { "deselect" } else { "select" };
                Ok(Some(json!({ "type": verb, "index": index })))
            }
            "set_aside" => match data["endTurn"].as_bool() {
                Some(end_turn) => Ok(Some(json!({ "type": "set_aside", "end_turn": end_turn }))),
                None => Err("set aside payload invalid ".to_owned()),
            },
            _ => Err(unknown(ty)),
        }
    }

    fn refusal(&self, ty: &str, code: ErrorCode, message: &str) -> String {
        let said = match (ty, code) {
            (_, ErrorCode::NotYourTurn) => "not your turn",
            ("select", ErrorCode::InvalidMove) => "select invalid",
            ("set_aside", ErrorCode::InvalidMove) => "set aside invalid",
            _ => message,
        };
        said.to_owned()
    }

    /// `busted {clientId, name}` when a shown bust ends and the turn passes on.
    fn events(&self, before: Option<&Value>, after: &Value) -> Vec<Value> {
        let Some(before) = before.filter(|b| b["busted"] == true) else {
            return Vec::new();
        };
        if after["busted"] == true && after["turn_no"] == before["turn_no"] {
            return Vec::new();
        }
        let who = before["turn"].as_str().unwrap_or_default();
        let name = &before["players"][who]["name"];
        vec![super::super::wire::ok(
            "busted",
            json!({ "clientId": who, "name": name }),
        )]
    }

    /// The old game started as soon as its second player sat down.
    fn automatic(&self, view: &Value, me: &str) -> Option<Value> {
        let start = json!({ "type": "start" });
        let seated = view["players"].get(me).is_some();
        let startable = view["phase"] == "waiting"
            && view["legal"].as_array().is_some_and(|l| l.contains(&start));
        (seated && startable).then_some(start)
    }
}
