//! The envelopes, one enum per direction, tagged by `t`.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A stable player identity, issued by the server in `welcome` and carried in the signed token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlayerId(pub String);

impl PlayerId {
    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PlayerId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Who a participant is, as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerInfo {
    /// Stable id.
    pub id: PlayerId,
    /// Display name chosen by the player (trimmed, 1–32 characters).
    pub name: String,
}

/// How a member takes part in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds a seat and may act.
    Player,
    /// Watches the public view and may not act.
    Spectator,
}

/// The role a joiner asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRole {
    /// A seat if one is free, otherwise a spectator place; `joined.role` tells which.
    #[default]
    Any,
    /// A seat or nothing (`ROOM_FULL` / `JOIN_REFUSED`).
    Player,
    /// A spectator place.
    Spectator,
}

/// A member of a room as listed in `joined` and `presence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Player id.
    pub id: PlayerId,
    /// Display name.
    pub name: String,
    /// Seat holder or spectator.
    pub role: Role,
    /// Whether at least one of the member's connections is open (always true for bots).
    pub connected: bool,
    /// A bot seat, played by the server.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bot: bool,
    /// The member's camera and microphone, as they last said with `media`; absent while both
    /// are off.
    #[serde(default, skip_serializing_if = "Media::is_off")]
    pub media: Media,
    /// The host muted the member's chat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

/// A member's camera and microphone state (`media`), shown to everyone in the room. Both go
/// off when the member's last connection to the room closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// Their camera is on.
    pub camera: bool,
    /// Their microphone is on.
    pub mic: bool,
}

impl Media {
    /// Camera and microphone both off.
    pub fn is_off(&self) -> bool {
        !self.camera && !self.mic
    }
}

/// A room's chat message, as `chat` carries it and `chat_history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatLine {
    /// Its number in the room: 1, 2, 3… in the order said (`chat_delete` names it).
    pub id: u64,
    /// Who said it; absent for the room's own messages (`event` says what happened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PlayerInfo>,
    /// What was said (for the room's own messages, a sentence in English).
    pub text: String,
    /// Room time it was said (ms since the Unix epoch).
    pub at: u64,
    /// For the room's own messages: what happened, to whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ChatEvent>,
}

/// What a room's own chat message reports (`chat.event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEvent {
    /// What happened.
    pub kind: ChatEventKind,
    /// To whom.
    pub player: PlayerInfo,
}

/// The kinds of [`ChatEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatEventKind {
    /// They entered the room.
    Joined,
    /// They left it.
    Left,
    /// They are the room's host now.
    Host,
    /// The host muted them: their chat messages are refused.
    Muted,
    /// The host let them speak again.
    Unmuted,
}

/// What a WebRTC signalling message carries (`signal.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A session description offering a connection.
    Offer,
    /// The session description answering an offer.
    Answer,
    /// An ICE candidate.
    Ice,
    /// The sender hangs up the connection to the target.
    Bye,
}

/// Lifecycle of a room as the lobby shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomStatus {
    /// Waiting for enough players.
    Waiting,
    /// A game is running.
    Playing,
    /// The game has ended (it may be restarted).
    Finished,
}

/// Public facts about a room, as `joined` and the REST API give them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// Opaque room id (`r_…`).
    pub id: String,
    /// Short human code for joining by voice or chat (6 letters, no vowels or look-alikes).
    pub code: String,
    /// Registered game name.
    pub game: String,
    /// Listed in the public room list.
    pub public: bool,
    /// Seats in the room.
    pub max_players: u32,
    /// Spectator places in the room.
    pub max_spectators: u32,
    /// Seated players now.
    pub players: u32,
    /// Spectators now.
    pub spectators: u32,
    /// Lifecycle.
    pub status: RoomStatus,
    /// Current state version.
    pub v: u64,
    /// Newcomers must give the room's password (`join.password`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
    /// The name its game gives the room (a party's lobby name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The language the room plays in (`create.lang`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The room's tags (`create.tags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Room time stands still: the host paused the game, or every seated player is gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

/// Which rooms of the public list a client wants (`watch_rooms`, and `GET /api/v1/rooms`'s
/// query): every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomFilter {
    /// Rooms of this game (`party` for parties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<String>,
    /// Rooms with a free seat.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub space: bool,
    /// Rooms in this language (compared without case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Rooms with every one of these tags (compared without case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl RoomFilter {
    /// Whether `room` passes.
    pub fn admits(&self, room: &RoomInfo) -> bool {
        self.game.as_ref().is_none_or(|g| *g == room.game)
            && (!self.space || room.players < room.max_players)
            && self.lang.as_ref().is_none_or(|l| {
                room.lang
                    .as_ref()
                    .is_some_and(|have| have.eq_ignore_ascii_case(l))
            })
            && self
                .tags
                .iter()
                .all(|t| room.tags.iter().any(|have| have.eq_ignore_ascii_case(t)))
    }
}

/// A presence change in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceEvent {
    /// A member entered the room.
    Joined,
    /// A member left the room (explicitly, or its seat was released).
    Left,
    /// A member's connection came back.
    Connected,
    /// A member's last connection dropped; its seat is kept.
    Disconnected,
    /// A member turned their camera or microphone on or off (`member.media`).
    Media,
    /// The host muted the member's chat or let them speak again (`member.muted`).
    Muted,
}

/// Where an undo proposal stands (`undo_proposal.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for the players in `waiting`.
    Open,
    /// Everyone accepted: the action was taken back at `v`.
    Accepted,
    /// A player it waited for refused.
    Refused,
    /// Its proposer withdrew it.
    Withdrawn,
    /// Its time ran out.
    Expired,
    /// The room moved on before it was decided (a new action, an undo or redo, something
    /// revealed, a seat taken or left): there is no longer that action to take back.
    Dropped,
}

/// The top of an undo or redo stack (`undo_state.undo`, `undo_state.redo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndoTop {
    /// Whose action it is: they may `undo` (or `redo`) it; anyone else may `undo` with `ask`.
    pub author: PlayerId,
    /// On the redo stack: who took it back. They may `redo` it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undone_by: Option<PlayerId>,
    /// How many steps the stack holds.
    pub steps: u32,
}

/// Longest client instance id or request key, in bytes.
pub const MAX_CLIENT_ID: usize = 64;

/// Whether `s` may serve as a client instance id (`hello.instance`) or a request key
/// (`create.key`): 1–64 ASCII letters, digits, `-` or `_` — enough for a UUID or 128 random
/// bits, and nothing that needs escaping in a log line or a URL.
pub fn is_client_id(s: &str) -> bool {
    (1..=MAX_CLIENT_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Messages a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        /// Protocol version the client speaks; must be 1.
        v: u32,
        /// A token from an earlier `welcome`, to keep the same identity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// Display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// The client instance (a tab, a process) this connection belongs to, kept by the
        /// client across reconnects: seqs are de-duplicated per (player, instance), so two
        /// tabs of one player never mistake each other's actions for retries. See
        /// [`is_client_id`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// Create a room and enter it.
    Create {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Registered game name.
        game: String,
        /// Game configuration; the game's defaults when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Value>,
        /// Listed in the public room list (default true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public: Option<bool>,
        /// Seats; the game's maximum when absent, never above it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_players: Option<u32>,
        /// Spectator places (default 64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_spectators: Option<u32>,
        /// The creator's role (default `any`).
        #[serde(default, rename = "as")]
        role: JoinRole,
        /// Fix the room's RNG seed (servers started with `--allow-seeded-rooms` only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        /// The client's key for this request: a retry with the same key by the same player
        /// enters the room the first one created instead of creating another. See
        /// [`is_client_id`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// A password newcomers must give (1–128 characters); stored only as an argon2id
        /// hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// The language the room plays in, for the room list's filter (a BCP 47 tag such as
        /// `en` or `pt-br`: 2–12 letters, digits and dashes; kept in lower case).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
        /// Up to 5 tags for the room list's filter (each 1–24 lower-case letters, digits and
        /// dashes, e.g. `casual`, `beginners`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
    },
    /// Take a seat in a public room of `game` with these options that has one free, or in a
    /// new one when none has: quick play. Answered like `create`.
    JoinOrCreate {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Registered game name.
        game: String,
        /// Game configuration a room must have been made with (the game's defaults when
        /// absent); a new room gets it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<Value>,
        /// Seats a room must have (the game's maximum when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_players: Option<u32>,
        /// The language a room must play in (as `create.lang`); a new room gets it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
        /// Tags a room must have, exactly (as `create.tags`); a new room gets them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
    },
    /// A party's host starts the picked game: a private room for it, with as many seats as
    /// members are ready. Answered with `launched`.
    Launch {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// The party's room id.
        room: String,
    },
    /// Enter a room by id or code.
    Join {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id (`r_…`) or its 5-letter code.
        room: String,
        /// Requested role (default `any`).
        #[serde(default, rename = "as")]
        role: JoinRole,
        /// The room's password, for a newcomer to a room that has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// An invite to this room (from `invite`): admits a newcomer to a room with a
        /// password without it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invite: Option<String>,
        /// The version of this room's view the client already holds (resuming after a
        /// reconnect): the server then sends only the state frames it missed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Leave a room; a seat is released.
    Leave {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
    },
    /// Seat a bot played by the server (games that have bots).
    AddBot {
        /// Request id echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
    },
    /// Propose a game action.
    Act {
        /// Room id.
        room: String,
        /// Client sequence number, increasing per (player, room); a repeat is answered again.
        seq: u64,
        /// The version the client saw; `STALE` if older, unless order does not matter.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<u64>,
        /// The game-defined action.
        action: Value,
    },
    /// Take back your latest undoable action (games that allow it). Answered like `act`.
    Undo {
        /// Room id.
        room: String,
        /// Client sequence number, from the same counter as `act`.
        seq: u64,
        /// When the latest undoable action is another player's, ask them to consent (an
        /// `undo_proposal` every member sees) instead of being refused.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ask: bool,
    },
    /// Re-apply the action you last undid, if nothing happened since. Answered like `act`.
    Redo {
        /// Room id.
        room: String,
        /// Client sequence number, from the same counter as `act`.
        seq: u64,
    },
    /// Accept or refuse the open undo proposal that waits for you (or, as its proposer,
    /// withdraw it with `accept: false`). Answered like `act`.
    Consent {
        /// Room id.
        room: String,
        /// Client sequence number, from the same counter as `act`.
        seq: u64,
        /// The proposal's id, from `undo_proposal`.
        proposal: u64,
        /// Accept (the action is taken back once everyone asked accepts) or refuse.
        accept: bool,
    },
    /// Say something to everyone in a room (1–1,000 characters).
    Chat {
        /// Room id.
        room: String,
        /// The message.
        text: String,
    },
    /// Read a page of a room's chat: the newest messages before `before` (all kept ones
    /// without it), oldest first. Answer: `chat_history`.
    ChatHistory {
        /// Request id, echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// Only messages with a smaller id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// At most this many (default and most: 100).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// The host removes a chat message for everyone (and from the stored history).
    ChatDelete {
        /// Request id, echoed by an error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// The message's id.
        id: u64,
    },
    /// The host mutes a member's chat, or lets them speak again.
    ChatMute {
        /// Request id, echoed by an error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// The member.
        player: PlayerId,
        /// Mute (true) or unmute (false).
        muted: bool,
    },
    /// Relay a WebRTC signalling message to one other connected member of a room (a video
    /// call at the table). Only the target's connections to the room receive it.
    Signal {
        /// Room id.
        room: String,
        /// The member it is for.
        to: PlayerId,
        /// What it carries.
        kind: SignalKind,
        /// The session description or candidate, as the browser made it (at most 16 KiB of
        /// JSON); relayed unread.
        #[serde(default)]
        data: Value,
    },
    /// Say whether your camera and microphone are on, for everyone in a room to see.
    Media {
        /// Room id.
        room: String,
        /// Camera on.
        camera: bool,
        /// Microphone on.
        mic: bool,
    },
    /// Follow the public room list: answered by `rooms` with the rooms that pass `filter`,
    /// then another `rooms` (without `rid`) whenever that list changes. A second
    /// `watch_rooms` replaces the first.
    WatchRooms {
        /// Request id, echoed in the first answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Which rooms.
        #[serde(default)]
        filter: RoomFilter,
    },
    /// Stop following the room list.
    UnwatchRooms {},
    /// Ask for an invite to a room this connection is in: a signed token that lets its
    /// holder join without the room's password for 7 days. Answer: `invited`.
    Invite {
        /// Request id, echoed in the answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id or code.
        room: String,
    },
    /// Ask for a fresh snapshot of a room the client is in.
    Sync {
        /// Room id.
        room: String,
    },
    /// The host stops room time: no timer, turn clock or tick runs and game actions are
    /// refused with `PAUSED` until `resume`. Every member gets `paused`.
    Pause {
        /// Request id, echoed by an `error`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
    },
    /// The host starts room time again after `pause` (or after the room paused itself
    /// because every seated player had gone). Every member gets `paused` with `paused: false`.
    Resume {
        /// Request id, echoed by an `error`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
    },
    /// Liveness probe; answered with `pong`.
    Ping {
        /// Echoed in `pong`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n: Option<u64>,
    },
}

/// Messages the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Answer to `hello`.
    Welcome {
        /// Protocol version.
        v: u32,
        /// The identity of this connection.
        player: PlayerInfo,
        /// Signed token to present in a later `hello` to keep the identity.
        token: String,
        /// Largest frame the server accepts, in bytes.
        max_frame: usize,
    },
    /// Answer to `create` and `join`: the client is now a member.
    Joined {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// The room.
        room: RoomInfo,
        /// The role the client got.
        role: Role,
        /// Why the role differs from the one asked for (`any` that found the seats full).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
        /// Everyone in the room, the client included.
        members: Vec<Member>,
        /// The highest action `seq` this player has used in this room (0 if none). A client
        /// that lost its counter (a reload, a new process) continues above it.
        seq: u64,
        /// Set when the `since` of this resuming `join` is a version the room's history no
        /// longer has — it was acknowledged under relaxed durability and lost with a crash:
        /// the room went back to this version. Every version (and every `ack`) the client
        /// holds above it is void; a `snapshot` of the present follows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rewound: Option<u64>,
    },
    /// Answer to `leave`, or news that the client was removed from the room.
    Left {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// Why the client was removed without asking (`"kicked"` by an operator, `"removed"`
        /// by the game, such as a party's host); absent for an answer to `leave`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Answer to `launch`: the party's game room is open; the party's view names it too.
    Launched {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// The party's room id.
        party: String,
        /// The game room.
        room: RoomInfo,
    },
    /// Answer to `add_bot`: the bot now holds a seat.
    BotAdded {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// The bot.
        bot: Member,
    },
    /// The whole view of a room for this viewer.
    Snapshot {
        /// Room id.
        room: String,
        /// State version the view belongs to.
        v: u64,
        /// The viewer's view.
        view: Value,
    },
    /// RFC 6902 operations turning the view at `from` into the view at `v`.
    Patch {
        /// Room id.
        room: String,
        /// Version the operations apply to.
        from: u64,
        /// Version after applying them.
        v: u64,
        /// The operations (possibly empty: the state moved on, this view did not change).
        ops: json_patch::Patch,
    },
    /// The action with this `seq` was applied and produced version `v`.
    Ack {
        /// Room id.
        room: String,
        /// Echo of the action's seq.
        seq: u64,
        /// Version the action produced.
        v: u64,
    },
    /// The action with this `seq` was refused; nothing changed.
    Reject {
        /// Room id.
        room: String,
        /// Echo of the action's seq.
        seq: u64,
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Extra structured facts (for `STALE`: the current version).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Value>,
    },
    /// Someone joined, left, connected or disconnected.
    Presence {
        /// Room id.
        room: String,
        /// What happened.
        event: PresenceEvent,
        /// The member it happened to, as it is after the event.
        member: Member,
    },
    /// A request that is not an action failed, or a frame could not be understood.
    Error {
        /// Echo of the request id, when the failing request had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Extra structured facts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Value>,
    },
    /// A chat message in a room (also replayed, the latest ones, after `joined`); the fields
    /// of [`ChatLine`].
    Chat {
        /// Room id.
        room: String,
        /// Its number in the room.
        id: u64,
        /// Who said it; absent for the room's own messages.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<PlayerInfo>,
        /// What was said.
        text: String,
        /// Room time it was said (ms since the Unix epoch).
        at: u64,
        /// For the room's own messages: what happened, to whom.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<ChatEvent>,
    },
    /// Answer to `invite`.
    Invited {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// The room's code.
        code: String,
        /// The invite, for `join.invite`.
        invite: String,
        /// When it stops admitting (ms since the Unix epoch).
        expires: u64,
    },
    /// The public room list as `watch_rooms` filtered it: its answer (with `rid`), then the
    /// whole list again each time it changes.
    Rooms {
        /// Echo of the request id, on the answer only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// At most 200 rooms, by id.
        rooms: Vec<RoomInfo>,
    },
    /// Answer to `chat_history`.
    ChatHistory {
        /// Echo of the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rid: Option<u64>,
        /// Room id.
        room: String,
        /// Oldest first.
        messages: Vec<ChatLine>,
        /// Older messages are kept: ask again with `before` the first one's id.
        more: bool,
    },
    /// The host removed a chat message.
    ChatDeleted {
        /// Room id.
        room: String,
        /// The message's id.
        id: u64,
    },
    /// A WebRTC signalling message another member of the room sent to this player.
    Signal {
        /// Room id.
        room: String,
        /// Who sent it.
        from: PlayerId,
        /// What it carries.
        kind: SignalKind,
        /// The sender's session description or candidate, as they sent it.
        data: Value,
    },
    /// A request to undo another player's action opened, moved on or closed. Every member
    /// of the room gets each change; a member entering while one is open gets it after
    /// `joined` and the state frames.
    UndoProposal {
        /// Room id.
        room: String,
        /// The proposal's id: the version of the entry that opened it (`consent` names it).
        id: u64,
        /// The version of the entry this news belongs to.
        v: u64,
        /// Who asked.
        by: PlayerId,
        /// The author of the action to take back.
        of: PlayerId,
        /// Who has yet to accept.
        waiting: Vec<PlayerId>,
        /// Room time (ms since the Unix epoch) at which an open proposal lapses.
        until: u64,
        /// Where it stands.
        state: ProposalState,
    },
    /// What `undo` and `redo` would take back or re-apply now changed. Every member of the
    /// room gets each change; a member entering while either stack holds a step gets it after
    /// `joined`, the state frames and the chat. Games without undoable actions never send it.
    UndoState {
        /// Room id.
        room: String,
        /// The version of the entry this news belongs to.
        v: u64,
        /// The latest undoable action, or none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<UndoTop>,
        /// The latest undone action that `redo` would re-apply, or none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redo: Option<UndoTop>,
    },
    /// The room paused (`paused: true`) or resumed. Sent to every member; a member entering
    /// a paused room sees `room.paused` in `joined`.
    Paused {
        /// Room id.
        room: String,
        /// The version of the entry that paused or resumed it.
        v: u64,
        /// Paused now, or running again.
        paused: bool,
        /// The host who did it; absent when the room paused itself because every seated
        /// player had disconnected, or resumed because one came back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<PlayerId>,
    },
    /// Answer to `ping`.
    Pong {
        /// Echo of `ping.n`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        n: Option<u64>,
    },
}

impl ServerMsg {
    /// Encode as a JSON text frame.
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"t":"error","code":"INTERNAL","message":"encode failed: {e}"}}"#)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_messages_round_trip_with_documented_spelling() {
        let m: ClientMsg = serde_json::from_value(json!({
            "t": "act", "room": "r_1", "seq": 3, "base": 7, "action": {"type": "place", "cell": 4}
        }))
        .expect("act parses");
        assert_eq!(
            m,
            ClientMsg::Act {
                room: "r_1".into(),
                seq: 3,
                base: Some(7),
                action: json!({"type": "place", "cell": 4})
            }
        );
        let j: ClientMsg =
            serde_json::from_value(json!({"t": "join", "room": "KXQTP", "as": "spectator"}))
                .expect("join parses");
        assert!(matches!(
            j,
            ClientMsg::Join {
                role: JoinRole::Spectator,
                ..
            }
        ));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused() {
        assert!(serde_json::from_value::<ClientMsg>(json!({"t": "ping", "x": 1})).is_err());
        assert!(
            serde_json::from_value::<ClientMsg>(
                json!({"t": "act", "room": "r", "seq": "1", "action": {}})
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_error_codes_decode_as_unknown() {
        let m: ServerMsg = serde_json::from_value(json!({
            "t": "error", "code": "SOMETHING_NEW", "message": "x"
        }))
        .expect("decodes");
        assert!(matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::Unknown,
                ..
            }
        ));
        assert_eq!(
            serde_json::to_value(ErrorCode::NotYourTurn).expect("encodes"),
            json!(ErrorCode::NotYourTurn.as_str())
        );
    }
}
