/**
 * The wire messages of Arbiter protocol version 1 (docs/protocol.md). Field names are the
 * server's `snake_case` ones; the SDK does not rename anything on the wire.
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The protocol version this SDK speaks. */
export const PROTOCOL_VERSION = 1;
/** WebSocket subprotocol that selects MessagePack binary frames. */
export const SUBPROTOCOL_MSGPACK = 'arbiter.v1.msgpack';
/** WebSocket subprotocol that names the default JSON text frames. */
export const SUBPROTOCOL_JSON = 'arbiter.v1.json';

/** How a member takes part in a room. */
export type Role = 'player' | 'spectator';
/** The role a joiner asks for. */
export type JoinRole = 'any' | 'player' | 'spectator';
/** A room's lifecycle as the lobby shows it. */
export type RoomStatus = 'waiting' | 'playing' | 'finished';
/** What a `presence` message reports. */
export type PresenceEvent = 'joined' | 'left' | 'connected' | 'disconnected' | 'media' | 'muted';

/** Who a participant is. */
export interface PlayerInfo {
  id: string;
  name: string;
}

/** A member of a room, as `joined` and `presence` list it. */
export interface Member {
  id: string;
  name: string;
  role: Role;
  connected: boolean;
  /** Present (true) for bot seats played by the server. */
  bot?: boolean;
  /** The member's camera and microphone; absent while both are off. */
  media?: MediaState;
  /** Present (true) when the room's host muted the member's chat (see {@link ChatMuteMsg}). */
  muted?: boolean;
}

/** A member's camera and microphone, as they last said with `media`. */
export interface MediaState {
  camera: boolean;
  mic: boolean;
}

/** What a room's own chat message reports: who entered or left, a new host, a mute. */
export type ChatEventKind = 'joined' | 'left' | 'host' | 'muted' | 'unmuted';

/** What happened, to whom, in a room's own chat message ({@link ChatLine.event}). */
export interface ChatEvent {
  kind: ChatEventKind;
  player: PlayerInfo;
}

/** One message of a room's chat, as `chat` carries it and `chat_history` lists it. */
export interface ChatLine {
  /** Its number in the room: 1, 2, 3… in the order said (`chat_delete` names it). */
  id: number;
  /** Who said it; absent for the room's own messages (then {@link event} says what happened). */
  from?: PlayerInfo;
  /** What was said; for the room's own messages, a sentence in English. */
  text: string;
  /** Room time it was said, in ms since the Unix epoch. */
  at: number;
  /** For the room's own messages: what happened, to whom. */
  event?: ChatEvent;
}

/** What a WebRTC signalling message carries. */
export type SignalKind = 'offer' | 'answer' | 'ice' | 'bye';

/** Public facts about a room (`joined.room`, `GET /api/v1/rooms`). */
export interface RoomInfo {
  id: string;
  code: string;
  game: string;
  public: boolean;
  max_players: number;
  max_spectators: number;
  players: number;
  spectators: number;
  status: RoomStatus;
  v: number;
  /** Newcomers must give the room's password. */
  locked?: boolean;
  /** The room's name, when its game names it (a party's lobby name, which follows its `rename`). */
  name?: string;
  /** The language the room plays in (`create.lang`), in lower case. */
  lang?: string;
  /** The room's tags (`create.tags`), in lower case, each once. */
  tags?: string[];
  /** Room time stands still: the host paused the game, or every seated player is gone. */
  paused?: boolean;
}

/**
 * Which rooms of the public list to follow (`watch_rooms`): every condition given must hold.
 * Language and tags are compared without case.
 */
export interface RoomFilter {
  /** Rooms of this game (`party` for parties). */
  game?: string;
  /** Only rooms with a free seat (`players < max_players`). */
  space?: boolean;
  /** Rooms in this language. */
  lang?: string;
  /** Rooms that have every one of these tags. */
  tags?: string[];
}

/** One RFC 6902 operation. */
export type PatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'move'; path: string; from: string }
  | { op: 'copy'; path: string; from: string }
  | { op: 'test'; path: string; value: unknown };

// ---- client → server ----------------------------------------------------------------------

export interface HelloMsg {
  t: 'hello';
  v: number;
  name?: string;
  token?: string;
  /** This client instance (tab, process): seqs are counted per (player, instance). */
  instance?: string;
}
export interface CreateMsg {
  t: 'create';
  rid?: number;
  game: string;
  config?: unknown;
  public?: boolean;
  max_players?: number;
  max_spectators?: number;
  as?: JoinRole;
  seed?: number;
  /** The request's key: a retry with the same key enters the room the first one made. */
  key?: string;
  /** A password newcomers must give (kept by the server only as a hash). */
  password?: string;
  /** The language the room plays in, for the room list's filter: 2–12 letters, digits and dashes (`en`, `pt-br`). */
  lang?: string;
  /** Up to 5 tags for the room list's filter, each 1–24 letters, digits and dashes. */
  tags?: string[];
}
/** Quick play: a seat in a public room of `game` with these options, or in a new one. */
export interface JoinOrCreateMsg {
  t: 'join_or_create';
  rid?: number;
  game: string;
  config?: unknown;
  max_players?: number;
  /** The language a room must play in; a new room gets it. */
  lang?: string;
  /** The tags a room must have, exactly; a new room gets them. */
  tags?: string[];
}
/** A party's host starts the picked game. */
export interface LaunchMsg {
  t: 'launch';
  rid?: number;
  room: string;
}
export interface JoinMsg {
  t: 'join';
  rid?: number;
  room: string;
  as?: JoinRole;
  since?: number;
  /** The room's password, for a newcomer to a `locked` room. */
  password?: string;
  /** An invite a member asked for (`invite`): admits to its own room instead of the password. */
  invite?: string;
}
/** A member asks for an invite to a room this connection is in (by id or code). */
export interface InviteMsg {
  t: 'invite';
  rid?: number;
  room: string;
}
/** Follow the public room list: answered by `rooms`, then `rooms` again whenever the filtered list changes. */
export interface WatchRoomsMsg {
  t: 'watch_rooms';
  rid?: number;
  filter?: RoomFilter;
}
/** Stop the room list's updates. */
export interface UnwatchRoomsMsg {
  t: 'unwatch_rooms';
}
export interface LeaveMsg {
  t: 'leave';
  rid?: number;
  room: string;
}
export interface AddBotMsg {
  t: 'add_bot';
  rid?: number;
  room: string;
}
export interface ActMsg {
  t: 'act';
  room: string;
  seq: number;
  base?: number;
  action: unknown;
}
/** Take back your latest undoable action, or with `ask` ask another player to consent. */
export interface UndoMsg {
  t: 'undo';
  room: string;
  seq: number;
  /** When the latest undoable action is another player's: open an undo proposal. */
  ask?: boolean;
}
/** Re-apply the action you last undid (or that was undone at your request). */
export interface RedoMsg {
  t: 'redo';
  room: string;
  seq: number;
}
/** Accept or refuse the open undo proposal `proposal` (its proposer withdraws it by refusing). */
export interface ConsentMsg {
  t: 'consent';
  room: string;
  seq: number;
  proposal: number;
  accept: boolean;
}
/** Relay a WebRTC signalling message to the member `to` of the room. */
export interface SendSignalMsg {
  t: 'signal';
  room: string;
  to: string;
  kind: SignalKind;
  data?: unknown;
}
/** Say something to everyone in a room (1–1,000 characters after trimming). */
export interface SendChatMsg {
  t: 'chat';
  room: string;
  text: string;
}
/** Ask for a page of a room's kept chat: the newest `limit` messages below `before`, oldest first. */
export interface ChatHistoryRequestMsg {
  t: 'chat_history';
  rid?: number;
  room: string;
  /** Only messages with a smaller id (the newest of all without it). */
  before?: number;
  /** At most this many, 1–100 (default 100). */
  limit?: number;
}
/** The room's host removes chat message `id` for everyone. */
export interface ChatDeleteMsg {
  t: 'chat_delete';
  rid?: number;
  room: string;
  id: number;
}
/** The room's host mutes a member's chat (`muted: true`) or lets them speak again. */
export interface ChatMuteMsg {
  t: 'chat_mute';
  rid?: number;
  room: string;
  player: string;
  muted: boolean;
}
/** Say whether this player's camera and microphone are on. */
export interface MediaMsg extends MediaState {
  t: 'media';
  room: string;
}
export interface SyncMsg {
  t: 'sync';
  room: string;
}
/** The host stops room time (timers, turn clocks, ticks); game actions get `PAUSED` until `resume`. */
export interface PauseMsg {
  t: 'pause';
  rid?: number;
  room: string;
}
/** The host starts room time again. */
export interface ResumeMsg {
  t: 'resume';
  rid?: number;
  room: string;
}
export interface PingMsg {
  t: 'ping';
  n?: number;
}

/** Every message a client sends. */
export type ClientMsg =
  | HelloMsg
  | CreateMsg
  | JoinOrCreateMsg
  | LaunchMsg
  | JoinMsg
  | InviteMsg
  | LeaveMsg
  | AddBotMsg
  | ActMsg
  | UndoMsg
  | RedoMsg
  | ConsentMsg
  | SendChatMsg
  | ChatHistoryRequestMsg
  | ChatDeleteMsg
  | ChatMuteMsg
  | SendSignalMsg
  | MediaMsg
  | WatchRoomsMsg
  | UnwatchRoomsMsg
  | SyncMsg
  | PauseMsg
  | ResumeMsg
  | PingMsg;
/** The messages that use a room's seq counter and are answered by `ack` or `reject`. */
export type SeqMsg = ActMsg | UndoMsg | RedoMsg | ConsentMsg;

// ---- server → client ----------------------------------------------------------------------

export interface WelcomeMsg {
  t: 'welcome';
  v: number;
  player: PlayerInfo;
  token: string;
  max_frame: number;
}
export interface JoinedMsg {
  t: 'joined';
  rid?: number;
  room: RoomInfo;
  role: Role;
  notice?: string;
  members: Member[];
  /** The highest action seq this player has used in this room (0 if none). */
  seq: number;
  /**
   * Set when a resuming join's `since` lies beyond the room's history (relaxed durability
   * lost it in a crash): the version the room went back to. Acks above it are void.
   */
  rewound?: number;
}
export interface LeftMsg {
  t: 'left';
  rid?: number;
  room: string;
  /** Why this client was removed without asking: `kicked` (an operator), `removed` (the game, e.g. a party host). */
  reason?: string;
}
/** Answer to `invite`: the invite for `join`'s `invite`, and when it stops admitting. */
export interface InvitedMsg {
  t: 'invited';
  rid?: number;
  /** The room's id. */
  room: string;
  /** The room's six-letter code. */
  code: string;
  /** The invite, for `join.invite`. */
  invite: string;
  /** When it stops admitting, in ms since the Unix epoch (7 days after it was made). */
  expires: number;
}
/**
 * The public room list `watch_rooms` asked for (at most 200 rooms, by id): its answer carries
 * the `rid`; each later update (without `rid`) is the whole list again.
 */
export interface RoomsMsg {
  t: 'rooms';
  rid?: number;
  rooms: RoomInfo[];
}
/** The party's game room is open (answer to `launch`). */
export interface LaunchedMsg {
  t: 'launched';
  rid?: number;
  party: string;
  room: RoomInfo;
}
export interface BotAddedMsg {
  t: 'bot_added';
  rid?: number;
  room: string;
  bot: Member;
}
export interface SnapshotMsg<V = unknown> {
  t: 'snapshot';
  room: string;
  v: number;
  view: V;
}
export interface PatchMsg {
  t: 'patch';
  room: string;
  from: number;
  v: number;
  ops: PatchOperation[];
}
export interface AckMsg {
  t: 'ack';
  room: string;
  seq: number;
  v: number;
}
export interface RejectMsg {
  t: 'reject';
  room: string;
  seq: number;
  code: string;
  message: string;
  details?: unknown;
}
export interface PresenceMsg {
  t: 'presence';
  room: string;
  event: PresenceEvent;
  member: Member;
}
/** A WebRTC signalling message another member (`from`) sent this player. */
export interface SignalMsg {
  t: 'signal';
  room: string;
  from: string;
  kind: SignalKind;
  data: unknown;
}
/** A chat message in a room (also the latest 50, replayed after each `joined`). */
export interface ChatMsg extends ChatLine {
  t: 'chat';
  room: string;
}
/** Answer to `chat_history`: a page of the chat kept, oldest first. */
export interface ChatHistoryMsg {
  t: 'chat_history';
  rid?: number;
  room: string;
  messages: ChatLine[];
  /** Older messages are kept: ask again with `before` the first one's id. */
  more: boolean;
}
/** The room's host removed chat message `id`. */
export interface ChatDeletedMsg {
  t: 'chat_deleted';
  room: string;
  id: number;
}
export interface ErrorMsg {
  t: 'error';
  rid?: number;
  code: string;
  message: string;
  details?: unknown;
}
/** The top of an undo or redo stack (`undo_state.undo`, `undo_state.redo`). */
export interface UndoTop {
  /** Whose action it is: they may `undo` (or `redo`) it; anyone else may `undo` with `ask`. */
  author: string;
  /** On the redo stack: who took it back. They may `redo` it too. */
  undone_by?: string;
  /** How many steps the stack holds. */
  steps: number;
}
/** What `undo` and `redo` would take as of version `v`; a stack left out is empty. */
export interface UndoState {
  v: number;
  /** The latest undoable action. */
  undo?: UndoTop;
  /** The latest undone action, which `redo` would re-apply. */
  redo?: UndoTop;
}
/** What `undo` and `redo` would take now changed (news after the state frames of version `v`). */
export interface UndoStateMsg extends UndoState {
  t: 'undo_state';
  room: string;
}
/** Where an undo proposal stands. */
export type ProposalState = 'open' | 'accepted' | 'refused' | 'withdrawn' | 'expired' | 'dropped';
/** A request to undo another player's action opened, moved on or closed. */
export interface UndoProposalMsg {
  t: 'undo_proposal';
  room: string;
  /** The proposal's id (the version of the entry that opened it): `consent` names it. */
  id: number;
  /** The version of the entry this news belongs to. */
  v: number;
  /** Who asked. */
  by: string;
  /** The author of the action to take back. */
  of: string;
  /** Who has yet to accept. */
  waiting: string[];
  /** Room time (ms since the Unix epoch) at which an open proposal lapses. */
  until: number;
  state: ProposalState;
}
export interface PongMsg {
  t: 'pong';
  n?: number;
}
/** The room paused or resumed at version `v`; `by` is the host, absent when the room did it by itself. */
export interface PausedMsg {
  t: 'paused';
  room: string;
  v: number;
  paused: boolean;
  by?: string;
}
/** A message of a type this SDK does not know (a newer server); passed on as is. */
export interface UnknownMsg {
  t: string;
  [field: string]: unknown;
}

/** Every message a server sends (that this SDK knows). */
export type ServerMsg =
  | WelcomeMsg
  | JoinedMsg
  | LeftMsg
  | InvitedMsg
  | RoomsMsg
  | LaunchedMsg
  | BotAddedMsg
  | SnapshotMsg
  | PatchMsg
  | AckMsg
  | RejectMsg
  | PresenceMsg
  | SignalMsg
  | ChatMsg
  | ChatHistoryMsg
  | ChatDeletedMsg
  | ErrorMsg
  | UndoStateMsg
  | UndoProposalMsg
  | PausedMsg
  | PongMsg;
