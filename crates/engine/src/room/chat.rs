//! Chat: relayed to every member, rate limited per member, kept (the latest [`CHAT_KEPT`]) and
//! durable like the log, paged with `chat_history`. The room announces who joins and leaves
//! and each new host; the host deletes messages and mutes members.

use super::*;
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Chat messages a room keeps (in memory, and loads from storage): `chat_history` pages
/// through them.
pub const CHAT_KEPT: usize = 200;

/// The latest messages sent after `joined`.
const CHAT_REPLAY: usize = 50;

/// Most messages one `chat_history` answer lists.
const CHAT_PAGE: u32 = 100;

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
pub(super) const CHAT_MAX_CHARS: usize = 1_000;

/// A room's chat.
#[derive(Default)]
pub(super) struct Chat {
    /// The newest messages not deleted, oldest first.
    lines: VecDeque<ChatLine>,
    /// The highest id given.
    last_id: u64,
    muted: BTreeSet<PlayerId>,
    /// What storage does not have yet.
    unsaved: ChatChange,
    /// The host the chat last announced (or found on restore).
    host: Option<PlayerId>,
    limits: ChatLimits,
}

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
            Some("a chat message is at most 1000 characters")
        } else if text.chars().any(|c| c.is_control() && c != '\n') {
            Some("a chat message must not contain control characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            return self.send_error(caller, None, ErrorCode::InvalidField, problem);
        }
        let from = self.members[idx].info.clone();
        if self.chat.muted.contains(&from.id) {
            let why = "the host muted you in this room";
            return self.send_error(caller, None, ErrorCode::Forbidden, why);
        }
        if let Err(wait) = self.chat.limits.take(&from.id, now_ms) {
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
        self.say(Some(from), text.to_owned(), None);
        self.settle();
    }

    /// A page of the chat kept: the newest `limit` messages before `before`, oldest first.
    pub(super) fn chat_history(
        &mut self,
        caller: &Caller,
        rid: Option<u64>,
        before: Option<u64>,
        limit: Option<u32>,
    ) {
        if self.member_index_of_conn(caller.conn).is_none() {
            return self.send_error(caller, rid, ErrorCode::NotInRoom, "not in this room");
        }
        let limit = limit.unwrap_or(CHAT_PAGE);
        if !(1..=CHAT_PAGE).contains(&limit) {
            let why = format!("limit is 1 to {CHAT_PAGE}");
            return self.send_error(caller, rid, ErrorCode::InvalidField, why);
        }
        let older = self
            .chat
            .lines
            .partition_point(|l| before.is_none_or(|b| l.id < b));
        let first = older.saturating_sub(limit as usize);
        let answer = ServerMsg::ChatHistory {
            rid,
            room: self.spec.id.clone(),
            messages: self.chat.lines.range(first..older).cloned().collect(),
            more: first > 0,
        };
        self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &answer);
    }

    /// The host removes a message for everyone.
    pub(super) fn chat_delete(&mut self, caller: &Caller, rid: Option<u64>, id: u64, now_ms: u64) {
        self.now_ms = now_ms;
        if let Err(e) = self.check_moderator(caller) {
            return self.send_error(caller, rid, e.code, e.message);
        }
        let Ok(at) = self.chat.lines.binary_search_by_key(&id, |l| l.id) else {
            let why = format!("no chat message {id} is kept in this room");
            return self.send_error(caller, rid, ErrorCode::InvalidField, why);
        };
        self.chat.lines.remove(at);
        self.chat.unsaved.deleted.push(id);
        let deleted = ServerMsg::ChatDeleted {
            room: self.spec.id.clone(),
            id,
        };
        self.broadcast_control(&deleted);
        self.settle();
    }

    /// The host mutes a member, or lets them speak again.
    pub(super) fn chat_mute(
        &mut self,
        caller: &Caller,
        rid: Option<u64>,
        player: &PlayerId,
        muted: bool,
        now_ms: u64,
    ) {
        self.now_ms = now_ms;
        if let Err(e) = self.check_moderator(caller) {
            return self.send_error(caller, rid, e.code, e.message);
        }
        if *player == caller.player.id {
            let why = "the host cannot mute themselves";
            return self.send_error(caller, rid, ErrorCode::InvalidField, why);
        }
        let Some(idx) = self.member_index(player) else {
            let why = format!("{player} is not in this room");
            return self.send_error(caller, rid, ErrorCode::NotInRoom, why);
        };
        let changed = if muted {
            self.chat.muted.insert(player.clone())
        } else {
            self.chat.muted.remove(player)
        };
        if !changed {
            return;
        }
        self.members[idx].muted = muted;
        self.chat.unsaved.muted = Some(self.chat.muted.iter().cloned().collect());
        let member = self.members[idx].to_member();
        self.presence(PresenceEvent::Muted, member);
        let info = self.members[idx].info.clone();
        let kind = if muted {
            ChatEventKind::Muted
        } else {
            ChatEventKind::Unmuted
        };
        self.announce(kind, info);
        self.settle();
    }

    /// Who moderates the chat: the game's host, or else the human member who has been here
    /// longest.
    pub(super) fn moderator(&self) -> Option<&PlayerId> {
        match self.game.host(&self.current.state) {
            Some(host) => self.member_index(&host).map(|i| &self.members[i].info.id),
            None => self.members.iter().find(|m| !m.bot).map(|m| &m.info.id),
        }
    }

    fn check_moderator(&self, caller: &Caller) -> Result<(), GameError> {
        if self.member_index_of_conn(caller.conn).is_none() {
            return Err(GameError::new(ErrorCode::NotInRoom, "not in this room"));
        }
        if self.moderator() != Some(&caller.player.id) {
            let why = "only the host moderates this room's chat";
            return Err(GameError::new(ErrorCode::Forbidden, why));
        }
        Ok(())
    }

    /// Add a message to the chat and send it to everyone.
    fn say(&mut self, from: Option<PlayerInfo>, text: String, event: Option<ChatEvent>) {
        self.chat.last_id += 1;
        let line = ChatLine {
            id: self.chat.last_id,
            from,
            text,
            at: self.now_ms,
            event,
        };
        let msg = line_msg(&self.spec.id, &line);
        if self.chat.lines.len() == CHAT_KEPT {
            self.chat.lines.pop_front();
        }
        self.chat.lines.push_back(line.clone());
        self.chat.unsaved.said.push(line);
        self.broadcast_control(&msg);
    }

    /// The room's own message about `player`.
    pub(super) fn announce(&mut self, kind: ChatEventKind, player: PlayerInfo) {
        let name = &player.name;
        let text = match kind {
            ChatEventKind::Joined => format!("{name} joined"),
            ChatEventKind::Left => format!("{name} left"),
            ChatEventKind::Host => format!("{name} is the host now"),
            ChatEventKind::Muted => format!("the host muted {name}"),
            ChatEventKind::Unmuted => format!("{name} may chat again"),
        };
        self.say(None, text, Some(ChatEvent { kind, player }));
    }

    /// Announce a new host, if the game names one and it changed.
    pub(super) fn announce_host(&mut self) {
        let host = self.game.host(&self.current.state);
        if host == self.chat.host {
            return;
        }
        self.chat.host.clone_from(&host);
        if let Some(info) = host
            .and_then(|h| self.member_index(&h))
            .map(|i| self.members[i].info.clone())
        {
            self.announce(ChatEventKind::Host, info);
        }
    }

    /// Send a newcomer's connection the latest messages.
    pub(super) fn replay_chat(&mut self, caller: &Caller) {
        let from = self.chat.lines.len().saturating_sub(CHAT_REPLAY);
        let recent: Vec<ServerMsg> = self
            .chat
            .lines
            .range(from..)
            .map(|l| line_msg(&self.spec.id, l))
            .collect();
        for msg in recent {
            self.send_to(caller.conn, &caller.outbox, FrameKind::Control, &msg);
        }
    }

    /// Whether the host muted `player`.
    pub(super) fn is_muted(&self, player: &PlayerId) -> bool {
        self.chat.muted.contains(player)
    }

    /// The chat changes storage does not have yet; the actor writes them.
    pub fn take_chat_change(&mut self) -> ChatChange {
        std::mem::take(&mut self.chat.unsaved)
    }

    /// Take the chat storage kept (a restored room).
    pub fn restore_chat(&mut self, stored: &StoredChat) {
        self.chat.lines = stored.lines.iter().cloned().collect();
        self.chat.last_id = stored.last_id;
        self.chat.muted = stored.muted.iter().cloned().collect();
        for m in &mut self.members {
            m.muted = self.chat.muted.contains(&m.info.id);
        }
        self.chat.host = self.game.host(&self.current.state);
    }
}

fn line_msg(room: &str, line: &ChatLine) -> ServerMsg {
    ServerMsg::Chat {
        room: room.to_owned(),
        id: line.id,
        from: line.from.clone(),
        text: line.text.clone(),
        at: line.at,
        event: line.event.clone(),
    }
}
