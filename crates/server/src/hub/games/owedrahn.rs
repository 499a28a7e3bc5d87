//! Owe Drahn's old shapes: the DTO (`players` in seating order with `username`, `life`,
//! `ready`, `choosing`, `connected`, `balance`; `started`, `over`, `currentTurn`,
//! `currentValue`, `mainBet`, `sideBets`) as `game_state`, and its events from the view's
//! `event`: `gameStarted`, `rolledDice`, `lostLife`, `gameOver`, `gameInit`, `playerLeft`.
//! Money is in units on the old wire and in cents in the game.

use super::Mapping;
use crate::hub::wire::{done, ok};
use arbiter_protocol::ErrorCode;
use serde_json::{Value, json};

pub(super) struct OweDrahn;

/// Cents as the old float amount.
fn units(cents: &Value) -> Value {
    json!(cents.as_i64().unwrap_or_default() as f64 / 100.0)
}

/// An old float amount as cents: `None` unless a number.
fn cents(amount: &Value) -> Option<i64> {
    amount.as_f64().map(|a| (a * 100.0).round() as i64)
}

/// The old `player` of `rolledDice` and `lostLife`.
fn short(view: &Value, id: &Value) -> Value {
    let p = &view["players"][id.as_str().unwrap_or_default()];
    json!({ "life": p["life"], "uid": "", "username": p["name"], "rank": 0 })
}

fn name(view: &Value, id: &Value) -> Value {
    view["players"][id.as_str().unwrap_or_default()]["name"].clone()
}

/// The old stats, from the game's.
fn stats(s: &Value) -> Value {
    json!({
        "rolledDice": s["rolled_dice"],
        "wins": s["wins"],
        "totalGames": s["games"],
        "perfectRoll": s["perfect_rolls"],
        "luckiestRoll": s["luckiest_rolls"],
        "worstRoll": s["worst_rolls"],
        "rolled21": s["rolled_21"],
        "maxLifeLoss": s["max_life_losses"],
    })
}

/// The old `sideBets`.
fn bets(view: &Value) -> Value {
    let bets: Vec<Value> = view["side_bets"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, b)| {
            json!({
                "id": id,
                "challengerId": b["challenger"], "challengerName": name(view, &b["challenger"]),
                "opponentId": b["opponent"], "opponentName": name(view, &b["opponent"]),
                "amount": units(&b["amount_cents"]), "status": status(&b["status"]),
            })
        })
        .collect();
    Value::Array(bets)
}

/// A side bet's status number: 0 pending, 1 accepted, 2 declined (and lapsed), 3 resolved.
fn status(s: &Value) -> u8 {
    match s.as_str() {
        Some("accepted") => 1,
        Some("declined" | "lapsed") => 2,
        Some("settled") => 3,
        _ => 0,
    }
}

/// `betId`: the old ids were strings; the game's are numbers, sent as strings.
fn bet_id(data: &Value) -> Option<u32> {
    match &data["betId"] {
        Value::String(s) => s.parse().ok(),
        n => n.as_u64().and_then(|n| u32::try_from(n).ok()),
    }
}

impl Mapping for OweDrahn {
    fn max_players(&self) -> Option<u32> {
        None
    }

    fn spectating(&self) -> &'static str {
        "game has started"
    }

    fn state(&self, view: &Value) -> Value {
        let order = view["order"].as_array().cloned().unwrap_or_default();
        let players: Vec<Value> = order
            .iter()
            .map(|id| {
                let p = &view["players"][id.as_str().unwrap_or_default()];
                json!({
                    "id": id, "uid": "", "username": p["name"], "rank": 0,
                    "stats": stats(&p["stats"]), "life": p["life"], "ready": p["ready"],
                    "choosing": p["choosing"], "connected": p["connected"],
                    "balance": units(&p["balance_cents"]),
                })
            })
            .collect();
        json!({
            "players": players,
            "started": view["phase"] != "lobby",
            "currentTurn": super::text(view, "turn"),
            "over": view["phase"] == "over",
            "currentValue": view["total"],
            "mainBet": units(&view["main_bet_cents"]),
            "sideBets": bets(view),
        })
    }

    /// The old `sidebet_*_result` answers: the bets, and the bet concerned.
    fn answer(&self, ty: &str, action: &Value, view: &Value) -> Option<Value> {
        let bet = match ty {
            // The game numbers bets in order: a new one has the highest number.
            "sidebet_propose" => view["side_bets"]
                .as_object()?
                .keys()
                .filter_map(|id| id.parse::<u32>().ok())
                .max()
                .map(|id| id.to_string()),
            "sidebet_accept" | "sidebet_decline" => Some(action["bet"].to_string()),
            "sidebet_cancel" => return Some(ok("sidebet_cancel_result", bets(view))),
            _ => return None,
        };
        let data = json!({ "bets": bets(view), "betId": bet });
        Some(ok(&format!("{ty}_result"), data))
    }

    fn action(
        &self,
        ty: &str,
        data: &Value,
        view: &Value,
        me: &str,
    ) -> Result<Option<Value>, String> {
        let seated = |id: &str| view["players"].get(id).is_some();
        let action = match ty {
            // Stats came from an outside database keyed by the uid; here they are the room's.
            "handshake" if seated(me) => return Ok(None),
            "handshake" => return Err("client is not a player".to_owned()),
            "ready" => match data.as_bool() {
                Some(ready) => json!({ "type": "ready", "ready": ready }),
                None => return Err("invalid message format".to_owned()),
            },
            "roll" => json!({ "type": "roll" }),
            "loseLife" => json!({ "type": "owe_drahn" }),
            "chooseNextPlayer" => match data["nextPlayerId"].as_str().filter(|id| seated(id)) {
                Some(next) => json!({ "type": "choose_next", "player": next }),
                None => return Err("next player is invalid".to_owned()),
            },
            "set_main_bet" => match cents(&data["amount"]) {
                Some(amount) if amount > 0 => {
                    json!({ "type": "set_main_bet", "amount_cents": amount })
                }
                Some(_) => return Err("main bet must be greater than 0".to_owned()),
                None => return Err("invalid main bet format".to_owned()),
            },
            "sidebet_propose" => {
                let opponent = data["opponentId"].as_str().unwrap_or_default();
                let amount = cents(&data["amount"]).unwrap_or_default();
                if opponent == me {
                    return Err("player can not propose bet to oneself".to_owned());
                }
                if amount <= 0 {
                    return Err("amount must be greater than 0".to_owned());
                }
                if !seated(me) {
                    return Err("challenger not found".to_owned());
                }
                if !seated(opponent) {
                    return Err("opponent not found".to_owned());
                }
                json!({ "type": "propose_bet", "opponent": opponent, "amount_cents": amount })
            }
            "sidebet_accept" | "sidebet_decline" | "sidebet_cancel" => {
                let Some(bet) =
                    bet_id(data).filter(|b| view["side_bets"].get(b.to_string()).is_some())
                else {
                    return Err("side bet not found".to_owned());
                };
                let verb = match ty {
                    "sidebet_accept" => "accept_bet",
                    "sidebet_decline" => "decline_bet",
                    _ => "cancel_bet",
                };
                json!({ "type": verb, "bet": bet })
            }
            // This game's own wording, in lower case.
            _ => return Err(format!("unknown message type: {ty}")),
        };
        Ok(Some(action))
    }

    fn refusal(&self, ty: &str, code: ErrorCode, message: &str) -> String {
        let said = match (ty, code) {
            (_, ErrorCode::NotYourTurn) => "not your turn",
            ("set_main_bet", ErrorCode::GameInProgress) => {
                "cannot change main bet after game has started"
            }
            ("sidebet_propose", ErrorCode::GameInProgress) => {
                "can not propose bet. game already started"
            }
            ("sidebet_accept" | "sidebet_decline" | "sidebet_cancel", ErrorCode::InvalidMove)
                if message.starts_with("only the player") =>
            {
                "player can not manage bets from other players"
            }
            ("chooseNextPlayer", ErrorCode::InvalidMove) => "next player is invalid",
            _ => message,
        };
        said.to_owned()
    }

    /// The old events, from what the view says happened last (and the roll that led to it:
    /// a fatal roll ends the game in the same step).
    fn events(&self, before: Option<&Value>, after: &Value) -> Vec<Value> {
        let Some(before) = before else {
            return Vec::new();
        };
        let event = &after["event"];
        let rolls = |v: &Value| v["rolls"].as_array().map_or(0, Vec::len);
        let mut out = Vec::new();
        if rolls(after) > rolls(before) {
            let roll = &after["rolls"][rolls(after) - 1];
            let data = json!({
                "dice": roll["die"],
                "player": short(after, &roll["player"]),
                "total": roll["total"],
            });
            out.push(ok("rolledDice", data));
        }
        if before["event"] == *event {
            return out;
        }
        match event["type"].as_str() {
            Some("started") => out.push(done("gameStarted")),
            Some("lost_life") => {
                out.push(ok(
                    "lostLife",
                    json!({ "player": short(after, &event["player"]) }),
                ));
            }
            Some("left") => {
                let who = name(before, &event["player"]);
                out.push(ok("playerLeft", json!({ "username": who })));
            }
            Some("game_over") => {
                out.push(ok(
                    "gameOver",
                    json!({ "winner": name(after, &event["winner"]) }),
                ));
            }
            Some("reset") => out.push(ok("gameInit", self.state(after))),
            _ => {}
        }
        out
    }
}
