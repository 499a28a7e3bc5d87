//! Chat: relayed to every member, the latest kept for newcomers, rate limited per member.

use super::*;

/// Chat messages kept to show newcomers.
pub(super) const CHAT_MEMORY: usize = 50;

/// At most this many chat messages per member in any `CHAT_WINDOW_MS`.
pub(super) const CHAT_BURST: usize = 5;
pub(super) const CHAT_WINDOW_MS: u64 = 5_000;

/// Longest chat message, in characters.
pub(super) const CHAT_MAX_CHARS: usize = 500;

impl<G: Game> Room<G> {
    /// A chat message from a member, relayed to everyone in the room.
    pub fn chat(&mut self, caller: &Caller, text: &str, now_ms: u64) {
        self.now_ms = now_ms;
        let Some(idx) = self.member_index_of_conn(caller.conn) else {
            return self.send_error(caller, None, ErrorCode::NotInRoom, "not in this room");
        };
        let text = text.trim();
        let problem = if text.is_empty() {
            Some("a chat message must not be empty")
        } else if text.chars().count() > CHAT_MAX_CHARS {
            Some("a chat message is at most 500 characters")
        } else if text.chars().any(|c| c.is_control() && c != '\n') {
            Some("a chat message must not contain control characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            return self.send_error(caller, None, ErrorCode::InvalidField, problem);
        }
        let from = self.members[idx].info.clone();
        let times = self.chat_times.entry(from.id.clone()).or_default();
        while times.front().is_some_and(|t| t + CHAT_WINDOW_MS <= now_ms) {
            times.pop_front();
        }
        if times.len() >= CHAT_BURST {
            metrics::counter!(crate::metrics::RATE_LIMITED, "what" => "chat").increment(1);
            return self.send_error(
                caller,
                None,
                ErrorCode::RateLimited,
                "too many chat messages; wait a few seconds",
            );
        }
        times.push_back(now_ms);
        let msg = Arc::new(ServerMsg::Chat {
            room: self.spec.id.clone(),
            from,
            text: text.to_owned(),
            at: now_ms,
        });
        if self.chat.len() == CHAT_MEMORY {
            self.chat.pop_front();
        }
        self.chat.push_back(msg.clone());
        self.broadcast_control(&msg);
        self.settle();
    }
}
