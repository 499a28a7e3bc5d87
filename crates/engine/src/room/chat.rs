//! Chat: relayed to every member, the latest kept for newcomers, rate limited per member.

use super::*;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Chat messages kept to show newcomers.
pub(super) const CHAT_MEMORY: usize = 50;

/// At most this many chat messages per member at once, refilled over `CHAT_WINDOW_MS`.
pub(super) const CHAT_BURST: NonZeroU32 = match NonZeroU32::new(5) {
    Some(burst) => burst,
    None => NonZeroU32::MIN,
};
pub(super) const CHAT_WINDOW_MS: u64 = 5_000;

/// Room time for governor: set to the command's time before each check, so the buckets
/// follow the room clock (and tokio's paused time in tests) and replay nothing.
#[derive(Debug, Clone, Default)]
struct RoomClock(Arc<AtomicU64>);

impl Clock for RoomClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Duration::from_millis(self.0.load(Ordering::Relaxed)))
    }
}

type ChatBucket = RateLimiter<NotKeyed, InMemoryState, RoomClock, NoOpMiddleware<Nanos>>;

/// One token bucket per member who has spoken.
#[derive(Default)]
pub(super) struct ChatLimits {
    clock: RoomClock,
    members: HashMap<PlayerId, ChatBucket>,
}

impl ChatLimits {
    /// Take a token for `player` at room time `now_ms`; when their bucket is empty, how long
    /// until it holds one again.
    fn take(&mut self, player: &PlayerId, now_ms: u64) -> Result<(), Duration> {
        self.clock.0.fetch_max(now_ms, Ordering::Relaxed);
        let clock = &self.clock;
        self.members
            .entry(player.clone())
            .or_insert_with(|| {
                let every = Duration::from_millis(CHAT_WINDOW_MS / u64::from(CHAT_BURST.get()));
                let quota = Quota::with_period(every)
                    .unwrap_or_else(|| Quota::per_second(CHAT_BURST))
                    .allow_burst(CHAT_BURST);
                RateLimiter::direct_with_clock(quota, clock.clone())
            })
            .check()
            .map_err(|not_until| not_until.wait_time_from(clock.now()))
    }
}

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
        if let Err(wait) = self.chat_limits.take(&from.id, now_ms) {
            metrics::counter!(crate::metrics::RATE_LIMITED, "what" => "chat").increment(1);
            let ms = u64::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
            let details = json!({ "room": self.spec.id, "retry_after_ms": ms });
            return self.send_error_with(
                caller,
                None,
                ErrorCode::RateLimited,
                format!("too many chat messages; retry in {ms} ms"),
                details,
            );
        }
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
