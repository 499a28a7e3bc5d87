//! Tell-It's old messages: no `game_state`, but `users_update`, `game_status`,
//! `story_update` (to writers who began their story), `finish_vote_update`,
//! `restart_vote_update`, `final_stories` and `user_kicked`, each sent when its part of the
//! view changes; `start`, `submit_text {text}`, the toggles `vote_finish`, `vote_restart`,
//! `vote_kick {kickUserID}`, and `request_update` / `request_stories`.

use super::{Mapping, unknown};
use crate::hub::wire::ok;
use arbiter_protocol::ErrorCode;
use serde_json::{Value, json};

pub(super) struct TellIt;

/// The old story stats: whitespace words, turns, and 200 words a minute in seconds.
fn stats(words: &Value, turns: &Value) -> Value {
    let words = words.as_u64().unwrap_or_default();
    json!({ "avgReadingTime": words as f64 / 200.0 * 60.0, "words": words, "turns": turns })
}

/// `story_update`: the latest part of the story the writer holds, or `null`.
fn story(view: &Value) -> Value {
    let current = &view["me"]["current"];
    if current.is_null() {
        return Value::Null;
    }
    json!({
        "text": current["last"]["text"],
        "author": current["last"]["author_name"],
        "stats": stats(&current["words"], &current["turns"]),
    })
}

fn status(view: &Value) -> &'static str {
    match view["phase"].as_str() {
        Some("writing") => "started",
        Some("ended") => "ended",
        _ => "waiting",
    }
}

fn finals(view: &Value) -> Value {
    let stories: Vec<Value> = view["final_stories"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            json!({ "text": s["text"], "author": s["owner_name"], "stats": stats(&s["words"], &s["turns"]) })
        })
        .collect();
    json!({ "stories": stories })
}

/// Whether `me` is among the ids of `votes`.
fn voted(votes: &Value, me: &str) -> bool {
    votes
        .as_array()
        .is_some_and(|v| v.iter().any(|id| id == me))
}

impl Mapping for TellIt {
    fn max_players(&self) -> Option<u32> {
        None
    }

    /// `users_update`'s data.
    fn state(&self, view: &Value) -> Value {
        let users: Vec<Value> = view["order"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| {
                let w = view["writers"].get(id.as_str()?)?;
                Some(json!({
                    "id": id, "name": w["name"], "disconnected": w["connected"] == false,
                    "afk": false, "kickVotes": w["kick_votes"], "queuedStories": w["queued"],
                }))
            })
            .collect();
        json!({ "users": users })
    }

    fn updates(&self, before: Option<&Value>, after: &Value) -> Vec<Value> {
        let changed = |f: &dyn Fn(&Value) -> Value| before.is_none_or(|b| f(b) != f(after));
        let mut out = Vec::new();
        if changed(&|v| self.state(v)) {
            out.push(ok("users_update", self.state(after)));
        }
        if changed(&|v| json!(status(v))) {
            out.push(ok("game_status", json!({ "status": status(after) })));
        }
        // Only writers who began their own story hear of the one they hold.
        let owner = |v: &Value| !v["me"].is_null() && v["me"]["next"] != "start";
        if owner(after) && (changed(&story) || !before.is_some_and(owner)) {
            out.push(ok("story_update", story(after)));
        }
        for (key, ty) in [
            ("finish_votes", "finish_vote_update"),
            ("restart_votes", "restart_vote_update"),
        ] {
            if changed(&|v| v[key].clone()) {
                out.push(ok(ty, json!({ "votes": after[key] })));
            }
        }
        if !after["final_stories"].is_null() && changed(&|v| v["final_stories"].clone()) {
            out.push(ok("final_stories", finals(after)));
        }
        let event = &after["event"];
        if event["type"] == "kicked" && before.is_some_and(|b| b["event"] != *event) {
            out.push(ok("user_kicked", json!({ "kickedUser": event["player"] })));
        }
        out
    }

    fn action(
        &self,
        ty: &str,
        data: &Value,
        view: &Value,
        me: &str,
    ) -> Result<Option<Value>, String> {
        let action = match ty {
            "start" => json!({ "type": "start" }),
            "submit_text" => match data["text"].as_str() {
                Some(text) => json!({ "type": "submit", "text": text }),
                None => return Err("invalid message format".to_owned()),
            },
            "vote_finish" => {
                json!({ "type": "vote_finish", "vote": !voted(&view["finish_votes"], me) })
            }
            "vote_restart" => {
                json!({ "type": "vote_restart", "vote": !voted(&view["restart_votes"], me) })
            }
            "vote_kick" => {
                let Some(target) = data["kickUserID"].as_str() else {
                    return Err("invalid message format".to_owned());
                };
                let vote = !voted(&view["writers"][target]["kick_votes"], me);
                json!({ "type": "vote_kick", "player": target, "vote": vote })
            }
            // Whole stories are shown once the game has ended (`final_stories`), not before.
            "request_update" | "request_stories" => return Ok(None),
            _ => return Err(unknown(ty)),
        };
        Ok(Some(action))
    }

    fn refusal(&self, ty: &str, code: ErrorCode, message: &str) -> String {
        let said = match (ty, code) {
            ("submit_text", ErrorCode::InvalidMove)
                if message.starts_with("no story to continue") =>
            {
                "can't wait - no story to continue"
            }
            _ => message,
        };
        said.to_owned()
    }

    fn reply_to(&self, ty: &str) -> &'static str {
        match ty {
            "submit_text" => "submit_text",
            _ => "error",
        }
    }
}
