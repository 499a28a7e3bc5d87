import { Emitter } from './emitter.js';
import { ArbiterError } from './errors.js';
import { applyPatch, deepClone } from './patch.js';
import type {
  PausedMsg,
  ActMsg,
  ChatDeletedMsg,
  ChatHistoryRequestMsg,
  ChatLine,
  ChatMsg,
  ClientMsg,
  JoinRole,
  JoinedMsg,
  MediaState,
  Member,
  PatchMsg,
  PresenceMsg,
  RejectMsg,
  Role,
  RoomInfo,
  SeqMsg,
  SignalKind,
  SignalMsg,
  SnapshotMsg,
  UndoProposalMsg,
  UndoState,
  UndoStateMsg,
} from './protocol.js';

/**
 * Compute the view an action would produce, for optimistic display. Return the new view (or
 * mutate `view`, a private copy, and return nothing). Throw when the action would not apply
 * (not your turn, cell taken, …): that prediction is then simply not shown.
 */
export type Predictor<V, A> = (view: V, action: A, context: PredictContext) => V | void;

export interface PredictContext {
  /** The acting player's id (this client's). */
  player: string;
  /** The server version the prediction is stacked on. */
  version: number;
}

/** What changed the displayed view. */
export type ViewReason = 'snapshot' | 'patch' | 'predict' | 'ack' | 'reject';

export interface ViewInfo {
  /** The server version of {@link Room.serverView}. */
  version: number;
  reason: ViewReason;
  /** Actions predicted on top of the server view (0 when the view is the server's). */
  pending: number;
}

export interface ActOptions {
  /**
   * The version the action was chosen on, so the server refuses it with `STALE` if the room
   * has moved on (unless the game says order does not matter). `true` = the server version
   * held now ({@link Room.version}).
   */
  base?: true | number;
}

export interface UndoOptions {
  /**
   * When the latest undoable action is another player's, ask them to consent (an undo
   * proposal every member sees; the ack's version is its id) instead of being refused.
   */
  ask?: boolean;
}

/** Which page of the chat {@link Room.chatHistory} asks for. */
export interface ChatHistoryOptions {
  /** Only messages with an id below this one (the newest of all without it). */
  before?: number;
  /** At most this many, 1–100 (the server's default: 100). */
  limit?: number;
}

/** A page of a room's kept chat ({@link Room.chatHistory}). */
export interface ChatHistoryPage {
  /** Oldest first. */
  messages: ChatLine[];
  /** Older messages are kept: ask again with `before` the first one's id. */
  more: boolean;
}

/** The most chat lines a room holds in {@link Room.chatLines} (as many as the server keeps). */
export const CHAT_LINES_KEPT = 200;

export interface RoomEvents<V, A = unknown> {
  /** The displayed view changed (server state, a prediction, or a rollback). */
  view: (view: V, info: ViewInfo) => void;
  /** Someone joined, left, connected, disconnected or turned their camera or microphone on or off. */
  presence: (msg: PresenceMsg) => void;
  /** Another member sent this player a WebRTC signalling message (see {@link Room.signal}). */
  signal: (msg: SignalMsg) => void;
  /**
   * A chat message this room had not seen (a line replayed again after a resume is not
   * repeated); it is in {@link Room.chatLines} by now.
   */
  chat: (line: ChatLine) => void;
  /**
   * The host removed chat message `id` (also: the SDK found, resuming, that it was removed
   * while the connection was down). It is gone from {@link Room.chatLines} by now.
   */
  chatDeleted: (id: number) => void;
  /** The member list changed. */
  members: (members: readonly Member[]) => void;
  /** The server answered a `join` for this room: the first one, and again after each resume. */
  joined: (msg: JoinedMsg) => void;
  /**
   * The server lost versions this client held (relaxed durability and a crash): the room went
   * back to version `v`, below the `since` this client resumed from. Every action acknowledged
   * with a version above `v` did not happen (`act()`, `undo()`, `redo()` and `consent()`
   * promises that resolved with such a version included); `lost` lists the actions still
   * awaiting the view. A snapshot replaces the view next.
   */
  rewound: (info: RewoundInfo<A>) => void;
  /**
   * What `undo` and `redo` would take changed ({@link Room.undoState}): `undo_state` news, or
   * a (re-)join that cleared what was held — the server tells again when a stack is non-empty.
   */
  undo: (state: UndoState) => void;
  /**
   * An undo proposal opened, moved on or closed (`undo_proposal` news; {@link Room.proposal}
   * holds the open one). `null`: a (re-)join cleared the proposal held — the server tells
   * again when it is still open; otherwise it closed while the client was away.
   */
  proposal: (news: UndoProposalMsg | null) => void;
  /** The room paused (`paused: true`) or resumed: by its host, or by itself when every seated player was gone. {@link Room.paused} says where it stands. */
  paused: (msg: PausedMsg) => void;
  /**
   * A problem that concerns this room but no request: a refused `chat`, `chat_delete`,
   * `chat_mute` or `signal` (`FORBIDDEN`, `RATE_LIMITED`, `INVALID_FIELD`, …; the client's
   * `error` event has it too), a patch that did not apply, …
   */
  error: (err: ArbiterError) => void;
  /** The client is no longer in the room: it left (no error), or the room closed / the seat was lost (error). */
  left: (reason: ArbiterError | undefined) => void;
}

/** What the `rewound` event tells. */
export interface RewoundInfo<A> {
  /** The version the room went back to. */
  v: number;
  /** The version this client held. */
  since: number;
  /** Acknowledged actions (above `v`) whose effect was not yet in the view: they did not happen. */
  lost: A[];
}

/** An invite to a room (`ArbiterClient.invite`, {@link Room.invite}): give {@link invite} to `join`. */
export interface InviteInfo {
  /** The room's id. */
  room: string;
  /** The room's six-letter code. */
  code: string;
  /** The invite, for `join`'s `invite` option. */
  invite: string;
  /** When it stops admitting, in ms since the Unix epoch (7 days after it was made). */
  expires: number;
}

/** What a room needs from its client. Internal. */
export interface RoomHost {
  /** Send now if the connection is ready; false if not (the message is then not sent). */
  send(msg: ClientMsg): boolean;
  /** A request answered by rid (`add_bot`, `leave`, `chat_history`, `invite`, the resume `join`). */
  request<T>(msg: ClientMsg & { rid?: number }, kind: 'leave' | 'add_bot' | 'chat_history' | 'invite'): Promise<T>;
  /** Bytes the message takes on the wire, and the server's cap (0 if unknown). */
  frameSize(msg: ClientMsg): { size: number; max: number };
  playerId(): string;
  forget(room: Room<any, any>): void;
}

/** An `act`, `undo`, `redo` or `consent` awaiting its answer (or, for an action, its view). */
interface Pending<A> {
  seq: number;
  /** The action of an `act`, re-applied by {@link Room.predict}; none for the others, which are never predicted. */
  action: A | undefined;
  msg: SeqMsg;
  /** Sent on the current connection (re-sent on resume whatever this says). */
  sent: boolean;
  /** The version the ack named, once acked; the prediction stays until the view reaches it. */
  acked?: number;
  resolve: (v: number) => void;
  reject: (err: ArbiterError) => void;
}

/**
 * A room this client is in. The server is authoritative: {@link serverView} is exactly what
 * it sent; {@link view} is what to display — the server view with this client's pending
 * actions re-applied by {@link predict}, in seq order.
 */
export class Room<V = unknown, A = unknown> extends Emitter<RoomEvents<V, A>> {
  /** The room id (`r_…`). */
  readonly id: string;
  /** Public facts from the latest `joined`. */
  info: RoomInfo;
  role: Role;
  /** Why the role differs from the one asked for, if it does. */
  notice: string | undefined;
  members: Member[];
  /** The view as the server last sent it (at {@link version}); undefined before the first snapshot. */
  serverView: V | undefined = undefined;
  /** The displayed view: {@link serverView} plus pending predicted actions. */
  view: V | undefined = undefined;
  /** The server version held ({@link serverView}'s). */
  version = 0;
  /** Optional local model of the game for optimistic updates. */
  predict: Predictor<V, A> | undefined;
  /** What `undo` and `redo` would take now (the latest `undo_state`; both stacks empty until one comes). */
  undoState: UndoState;
  /** The open undo proposal, or null. */
  proposal: UndoProposalMsg | null = null;
  /**
   * The latest chat messages this room has received (at most {@link CHAT_LINES_KEPT}), oldest
   * first, each once: the ones the server replays after a resume are not added twice, and
   * deleted ones are taken out. Replaced, never edited in place. Older pages:
   * {@link chatHistory}.
   */
  chatLines: readonly ChatLine[] = [];

  #host: RoomHost;
  #as: JoinRole;
  #seq = 0;
  #pending: Pending<A>[] = [];
  #syncRequested = false;
  #syncWaiters: Array<{ resolve: () => void; reject: (e: ArbiterError) => void }> = [];
  #gone = false;
  #dirty: ViewReason | null = null;
  /**
   * Since the latest `joined`: the first chat id received and every id received. The server
   * replays after `joined` the newest kept messages in order, so a line held with an id
   * between the first one replayed and one received now that did not come again was deleted
   * while this client was away.
   */
  #replayFirst: number | undefined;
  #replaySeen = new Set<number>();

  /** @internal */
  constructor(host: RoomHost, joined: JoinedMsg, as: JoinRole) {
    super();
    this.#host = host;
    this.#as = as;
    this.id = joined.room.id;
    this.info = joined.room;
    this.role = joined.role;
    this.notice = joined.notice;
    this.members = joined.members;
    this.#seq = joined.seq;
    this.undoState = { v: joined.room.v };
  }

  /** The room's six-letter code. */
  get code(): string {
    return this.info.code;
  }
  /** The game's registered name. */
  get game(): string {
    return this.info.game;
  }
  /** False once the client left the room (or lost it). */
  get active(): boolean {
    return !this.#gone;
  }
  /** Actions (and undo, redo, consent requests) sent or queued and not yet answered. */
  get pendingActions(): number {
    return this.#pending.filter((p) => p.acked === undefined).length;
  }
  /** The last seq used in this room. */
  get seq(): number {
    return this.#seq;
  }
  /** The latest undoable action is this player's: {@link undo} takes it back. */
  get canUndo(): boolean {
    return this.role === 'player' && this.undoState.undo?.author === this.#host.playerId();
  }
  /**
   * The latest undoable action is another player's and no proposal is open:
   * `undo({ ask: true })` asks them to consent.
   */
  get canAskUndo(): boolean {
    const top = this.undoState.undo;
    return this.role === 'player' && top !== undefined && top.author !== this.#host.playerId() && this.proposal === null;
  }
  /** This player wrote or undid the latest undone action: {@link redo} re-applies it. */
  get canRedo(): boolean {
    const me = this.#host.playerId();
    const top = this.undoState.redo;
    return this.role === 'player' && top !== undefined && (top.author === me || top.undone_by === me);
  }
  /** The open proposal waits for this player's {@link consent}. */
  get mustConsent(): boolean {
    return this.proposal?.waiting.includes(this.#host.playerId()) ?? false;
  }

  /**
   * Propose an action. Resolves with the version it produced when the server acks it, or
   * rejects with an {@link ArbiterError} carrying the server's code (`NOT_YOUR_TURN`,
   * `STALE`, …). While the connection is down the action is queued and sent on resume with
   * the same seq, so it applies exactly once. With {@link predict} set, {@link view} shows
   * its effect at once and rolls back if it is refused.
   */
  act(action: A, options: ActOptions = {}): Promise<number> {
    return this.#submit((seq) => {
      const msg: ActMsg = { t: 'act', room: this.id, seq, action };
      if (options.base === true) msg.base = this.version;
      else if (typeof options.base === 'number') msg.base = options.base;
      return msg;
    }, action);
  }

  /**
   * Take back this player's latest undoable action (see {@link canUndo}); with `ask`, ask the
   * author of another player's latest one to consent (see {@link canAskUndo}): the promise
   * then resolves with the version that opened the proposal, which is its id. Sent, answered
   * and resent like {@link act} (same seq counter, applied exactly once), but never predicted:
   * the view changes with the server's patch. Refused with `INVALID_MOVE` when there is
   * nothing of this player's to undo (or a proposal is already open).
   */
  undo(options: UndoOptions = {}): Promise<number> {
    return this.#submit((seq) => (options.ask ? { t: 'undo', room: this.id, seq, ask: true } : { t: 'undo', room: this.id, seq }), undefined);
  }

  /** Re-apply the action this player last undid or had undone (see {@link canRedo}); like {@link undo}. */
  redo(): Promise<number> {
    return this.#submit((seq) => ({ t: 'redo', room: this.id, seq }), undefined);
  }

  /**
   * Answer the open undo proposal `proposal` (its id, {@link proposal}`.id`): accept, or
   * refuse — its proposer withdraws it by refusing. Like {@link undo}; refused with
   * `INVALID_MOVE` when that proposal is not open or does not wait for this player.
   */
  consent(proposal: number, accept: boolean): Promise<number> {
    return this.#submit((seq) => ({ t: 'consent', room: this.id, seq, proposal, accept }), undefined);
  }

  /**
   * Relay a WebRTC signalling message (an offer, an answer, an ICE candidate, or `bye` to hang
   * up) to the member `to`: only their connections to this room receive it, as a `signal`
   * event. Nothing is stored or queued; a refusal (`to` not connected, `data` over 16 KiB)
   * arrives as the client's `error` event. Returns false when the connection is not ready.
   */
  signal(to: string, kind: SignalKind, data: unknown = null): boolean {
    return this.#host.send({ t: 'signal', room: this.id, to, kind, data });
  }

  /** Tell everyone in the room whether this player's camera and microphone are on. */
  setMedia(media: MediaState): boolean {
    return this.#host.send({ t: 'media', room: this.id, camera: media.camera, mic: media.mic });
  }

  /**
   * Say something to everyone in the room (1–1,000 characters after trimming; line breaks
   * allowed). Everyone, this client too, receives it as a `chat` event. Chat has no version
   * and is not queued: returns false when the connection is not ready. A refusal —
   * `FORBIDDEN` when the host muted this player, `RATE_LIMITED` past 5 messages per 5 s
   * (`details.retry_after_ms`), `INVALID_FIELD` for an empty or too long text — arrives as
   * the room's `error` event (and the client's). Throws `FRAME_TOO_LARGE` for a text above
   * the server's frame size, which would otherwise cost the connection.
   */
  chat(text: string): boolean {
    const msg: ClientMsg = { t: 'chat', room: this.id, text };
    const { size, max } = this.#host.frameSize(msg);
    if (max > 0 && size > max) {
      throw new ArbiterError('FRAME_TOO_LARGE', `the chat message takes ${size} bytes; the server accepts ${max}`, { size, max }, { room: this.id });
    }
    return this.#host.send(msg);
  }

  /**
   * A page of the chat the room keeps (its latest 200 messages): the newest `limit` below
   * `before`, oldest first, and whether older ones are kept. Rejects with an
   * {@link ArbiterError} (`INVALID_FIELD` for a `limit` outside 1–100, `NOT_IN_ROOM`).
   * Asked while offline, it is sent after the room's resume.
   */
  chatHistory(options: ChatHistoryOptions = {}): Promise<ChatHistoryPage> {
    if (this.#gone) return Promise.reject(new ArbiterError('NOT_IN_ROOM', 'this client is no longer in the room', undefined, { room: this.id }));
    const msg: ChatHistoryRequestMsg = { t: 'chat_history', room: this.id };
    if (options.before !== undefined) msg.before = options.before;
    if (options.limit !== undefined) msg.limit = options.limit;
    return this.#host.request<ChatHistoryPage>(msg, 'chat_history');
  }

  /**
   * As the room's host (a party's host; elsewhere the human member here longest), remove chat
   * message `id` for everyone: each member gets a `chatDeleted` event. Returns false when the
   * connection is not ready. A refusal (`FORBIDDEN` for anyone but the host, `INVALID_FIELD`
   * when no message `id` is kept) arrives as the room's `error` event (and the client's).
   */
  deleteChat(id: number): boolean {
    return this.#host.send({ t: 'chat_delete', room: this.id, id });
  }

  /**
   * As the room's host, mute a member's chat (their `chat` is then refused with `FORBIDDEN`),
   * or with `muted` false let them speak again. The room says so in its chat (a line with
   * `event.kind` `muted` / `unmuted`), and {@link members} shows it (`muted: true`). Muting
   * twice changes nothing. Returns false when the connection is not ready. A refusal
   * (`FORBIDDEN` for anyone but the host, `NOT_IN_ROOM` for a player who is not here,
   * `INVALID_FIELD` for oneself) arrives as the room's `error` event (and the client's).
   */
  mute(player: string, muted = true): boolean {
    return this.#host.send({ t: 'chat_mute', room: this.id, player, muted });
  }

  /** Whether the room's host muted `player`'s chat (this player's by default). */
  isMuted(player: string = this.#host.playerId()): boolean {
    return this.members.some((m) => m.id === player && m.muted === true);
  }

  /** Room time stands still (the host paused, or every seated player is gone): game actions are refused with `PAUSED`. */
  get paused(): boolean {
    return this.info.paused === true;
  }

  /**
   * The host stops room time: no timer, turn clock or tick runs until {@link resume}. Every
   * member gets the `paused` event; anyone but the host gets an `error` (`FORBIDDEN`).
   * False when there is no connection to send it on.
   */
  pause(): boolean {
    return this.#host.send({ t: 'pause', room: this.id });
  }

  /** The host starts room time again; every member gets the `paused` event with `paused: false`. */
  resume(): boolean {
    return this.#host.send({ t: 'resume', room: this.id });
  }

  /** @internal */
  _paused(msg: PausedMsg): void {
    this.info = { ...this.info, paused: msg.paused };
    this.emit('paused', msg);
  }

  /** Ask for a fresh snapshot; resolves when it has arrived. */
  sync(): Promise<void> {
    if (this.#gone) return Promise.reject(new ArbiterError('NOT_IN_ROOM', 'this client is no longer in the room'));
    return new Promise((resolve, reject) => {
      this.#syncWaiters.push({ resolve, reject });
      this.#requestSync(true);
    });
  }

  /** Seat a bot in a free seat (games that have bots). Resolves with the bot's member entry. */
  addBot(): Promise<Member> {
    if (this.#gone) return Promise.reject(new ArbiterError('NOT_IN_ROOM', 'this client is no longer in the room'));
    return this.#host.request<Member>({ t: 'add_bot', room: this.id }, 'add_bot');
  }

  /**
   * Ask for an invite to this room: a signed token that lets its holder join without the
   * room's password for 7 days (`client.join(code, { invite })`). Same as `client.invite(room.id)`.
   */
  invite(): Promise<InviteInfo> {
    if (this.#gone) return Promise.reject(new ArbiterError('NOT_IN_ROOM', 'this client is no longer in the room'));
    return this.#host.request<InviteInfo>({ t: 'invite', room: this.id }, 'invite');
  }

  /** Leave the room (a seat is released: the game decides what that means). */
  async leave(): Promise<void> {
    if (this.#gone) return;
    await this.#host.request<void>({ t: 'leave', room: this.id }, 'leave');
  }

  // ---- called by the client ------------------------------------------------------------

  /** @internal The seq counter continues above what the server has seen. */
  _joined(msg: JoinedMsg, resumed: boolean): void {
    this.info = msg.room;
    this.role = msg.role;
    this.notice = msg.notice;
    this.members = msg.members;
    this.#seq = Math.max(this.#seq, msg.seq);
    // The server tells an entering member about the stacks and the proposal only when there
    // is something to tell, in the messages that follow: what was held may be over.
    const undoHeld = this.undoState.undo !== undefined || this.undoState.redo !== undefined;
    const proposalHeld = this.proposal !== null;
    this.undoState = { v: msg.room.v };
    this.proposal = null;
    // The chat replay follows; it starts the count of what came again.
    this.#replayFirst = undefined;
    this.#replaySeen = new Set();
    const rewound = resumed ? msg.rewound : undefined;
    if (rewound !== undefined) {
      // Acked above the version the room went back to: those actions did not happen, and
      // their predictions must not wait for a version that now means something else.
      const lost = this.#pending.filter((p) => p.acked !== undefined && p.acked > rewound);
      this.#pending = this.#pending.filter((p) => !lost.includes(p));
      if (lost.length > 0 && this.predict) this.#markDirty('reject');
      this.emit('rewound', { v: rewound, since: this.version, lost: lost.flatMap((p) => (p.action === undefined ? [] : [p.action])) });
    }
    this.emit('joined', msg);
    if (resumed) this.emit('members', this.members);
    if (undoHeld) this.emit('undo', this.undoState);
    if (proposalHeld) this.emit('proposal', null);
  }

  /** @internal */
  _snapshot(msg: SnapshotMsg): void {
    this.serverView = msg.view as V;
    this.version = msg.v;
    this.#syncRequested = false;
    this.#settle();
    this.#markDirty('snapshot');
    for (const w of this.#syncWaiters.splice(0)) w.resolve();
  }

  /** @internal Apply a patch only on the version it starts from; anything else re-syncs. */
  _patch(msg: PatchMsg): void {
    if (this.serverView === undefined) {
      this.#requestSync(false);
      return;
    }
    if (msg.v <= this.version) return; // older than what is held
    if (msg.from !== this.version) {
      this.#requestSync(false);
      return;
    }
    let next: V;
    try {
      next = applyPatch(this.serverView, msg.ops);
    } catch (err) {
      this.emit('error', new ArbiterError('PATCH_FAILED', `patch ${msg.from}→${msg.v} did not apply: ${(err as Error).message}`, undefined, { room: this.id, cause: err }));
      this.#requestSync(false);
      return;
    }
    this.serverView = next;
    this.version = msg.v;
    this.#settle();
    this.#markDirty('patch');
  }

  /** @internal */
  _ack(seq: number, v: number): void {
    const p = this.#pending.find((x) => x.seq === seq);
    if (!p || p.acked !== undefined) return;
    p.acked = v;
    p.resolve(v);
    if (p.action === undefined) {
      // Nothing predicted waits for the view to reach it.
      this.#pending.splice(this.#pending.indexOf(p), 1);
      return;
    }
    if (this.#settle()) this.#markDirty('ack');
  }

  /** @internal */
  _reject(msg: RejectMsg): void {
    const i = this.#pending.findIndex((x) => x.seq === msg.seq);
    if (i < 0) return;
    const [p] = this.#pending.splice(i, 1);
    if (p!.acked !== undefined) return;
    p!.reject(new ArbiterError(msg.code, msg.message, msg.details, { seq: msg.seq, room: this.id }));
    if (this.predict && p!.action !== undefined) this.#markDirty('reject');
  }

  /** @internal */
  _undoState(msg: UndoStateMsg): void {
    const state: UndoState = { v: msg.v };
    if (msg.undo) state.undo = msg.undo;
    if (msg.redo) state.redo = msg.redo;
    this.undoState = state;
    this.emit('undo', state);
  }

  /** @internal One proposal is open at a time: any news that is not `open` closes it. */
  _undoProposal(msg: UndoProposalMsg): void {
    this.proposal = msg.state === 'open' ? msg : null;
    this.emit('proposal', msg);
  }

  /** @internal A chat line: added once, in id order; a mute or unmute shows in the members. */
  _chat(msg: ChatMsg): void {
    const line: ChatLine = { id: msg.id, text: msg.text, at: msg.at };
    if (msg.from !== undefined) line.from = msg.from;
    if (msg.event !== undefined) line.event = msg.event;
    this.#replayFirst ??= line.id;
    this.#replaySeen.add(line.id);
    // Held lines between the first replayed and this one that did not come again were
    // deleted while the chat_deleted could not reach this client.
    const first = this.#replayFirst;
    const gone = this.chatLines.filter((l) => l.id > first && l.id < line.id && !this.#replaySeen.has(l.id));
    const known = this.chatLines.some((l) => l.id === line.id);
    if (gone.length === 0 && known) return;
    let lines = gone.length === 0 ? [...this.chatLines] : this.chatLines.filter((l) => !gone.includes(l));
    if (!known) {
      let i = lines.length;
      while (i > 0 && lines[i - 1]!.id > line.id) i--;
      lines.splice(i, 0, line);
      if (lines.length > CHAT_LINES_KEPT) lines = lines.slice(lines.length - CHAT_LINES_KEPT);
    }
    this.chatLines = lines;
    for (const l of gone) this.emit('chatDeleted', l.id);
    if (known) return;
    // A member's `muted` comes from `joined` and `presence` (event `muted`), never from these
    // lines: a replayed old line must not undo a later change whose line was deleted.
    this.emit('chat', line);
  }

  /** @internal */
  _chatDeleted(msg: ChatDeletedMsg): void {
    if (this.chatLines.some((l) => l.id === msg.id)) this.chatLines = this.chatLines.filter((l) => l.id !== msg.id);
    this.emit('chatDeleted', msg.id);
  }

  /** @internal A refusal that names this room and answers no request. */
  _error(err: ArbiterError): void {
    this.emit('error', err);
  }

  /** @internal */
  _signal(msg: SignalMsg): void {
    this.emit('signal', msg);
  }

  /** @internal */
  _presence(msg: PresenceMsg): void {
    const i = this.members.findIndex((m) => m.id === msg.member.id);
    if (msg.event === 'left') {
      if (i >= 0) this.members.splice(i, 1);
    } else if (i >= 0) {
      this.members[i] = msg.member;
    } else {
      this.members.push(msg.member);
    }
    this.members = [...this.members];
    this.info = {
      ...this.info,
      players: this.members.filter((m) => m.role === 'player').length,
      spectators: this.members.filter((m) => m.role === 'spectator').length,
    };
    this.emit('presence', msg);
    this.emit('members', this.members);
  }

  /** @internal The connection dropped: nothing is in flight on it any more. */
  _disconnected(): void {
    this.#syncRequested = false;
    for (const p of this.#pending) p.sent = false;
  }

  /**
   * @internal The resume: `join` with `since` = the version held, then every unanswered
   * action with its original seq. Both go on the same connection, so they arrive in order.
   */
  _resume(rid: number): void {
    const join: ClientMsg = { t: 'join', rid, room: this.id, as: this.role === 'spectator' ? 'spectator' : this.#as };
    if (this.serverView !== undefined) join.since = this.version;
    this.#host.send(join);
    for (const p of this.#pending) {
      if (p.acked === undefined) p.sent = this.#host.send(p.msg);
    }
    if (this.#syncWaiters.length > 0) this.#requestSync(true);
  }

  /** @internal The room is gone for this client. */
  _gone(reason: ArbiterError | undefined): void {
    if (this.#gone) return;
    this.#gone = true;
    const err = reason ?? new ArbiterError('NOT_IN_ROOM', 'left the room', undefined, { room: this.id });
    for (const p of this.#pending.splice(0)) if (p.acked === undefined) p.reject(err);
    for (const w of this.#syncWaiters.splice(0)) w.reject(err);
    this.#host.forget(this);
    if (this.predict) this.#recompute('reject');
    this.emit('left', reason);
  }

  /** @internal Emit the view change gathered while handling one frame. */
  _flush(): void {
    const reason = this.#dirty;
    if (reason === null) return;
    this.#dirty = null;
    this.#recompute(reason);
  }

  // ---- internals -----------------------------------------------------------------------

  /**
   * Send a message that takes the next seq and is answered by `ack` or `reject`; it stays
   * pending (and is resent with its seq on resume) until answered. `action` is what
   * {@link predict} re-applies meanwhile, for an `act`.
   */
  #submit(build: (seq: number) => SeqMsg, action: A | undefined): Promise<number> {
    if (this.#gone) {
      return Promise.reject(new ArbiterError('NOT_IN_ROOM', 'this client is no longer in the room', undefined, { room: this.id }));
    }
    const seq = ++this.#seq;
    const msg = build(seq);
    const { size, max } = this.#host.frameSize(msg);
    if (max > 0 && size > max) {
      return Promise.reject(
        new ArbiterError('FRAME_TOO_LARGE', `the ${msg.t} message takes ${size} bytes; the server accepts ${max}`, { size, max }, { seq, room: this.id }),
      );
    }
    return new Promise<number>((resolve, reject) => {
      const p: Pending<A> = { seq, action, msg, sent: false, resolve, reject };
      this.#pending.push(p);
      p.sent = this.#host.send(msg);
      if (this.predict && action !== undefined) this.#recompute('predict');
    });
  }

  #markDirty(reason: ViewReason): void {
    // A frame's last state message names the change; `patch`/`snapshot` win over the rest.
    if (this.#dirty === 'snapshot' || this.#dirty === 'patch') {
      if (reason === 'snapshot') this.#dirty = reason;
      return;
    }
    this.#dirty = reason;
  }

  /** Drop acked predictions the server view now includes. True if any was dropped. */
  #settle(): boolean {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((p) => p.acked === undefined || p.acked > this.version);
    return this.#pending.length !== before;
  }

  #requestSync(force: boolean): void {
    if (this.#syncRequested && !force) return;
    if (this.#host.send({ t: 'sync', room: this.id })) this.#syncRequested = true;
  }

  /** The displayed view: the server view with pending actions re-applied in seq order. */
  #recompute(reason: ViewReason): void {
    let view = this.serverView;
    let predicted = 0;
    const predict = this.predict;
    if (predict && view !== undefined && this.#pending.length > 0) {
      const context: PredictContext = { player: this.#host.playerId(), version: this.version };
      for (const p of this.#pending) {
        if (p.action === undefined) continue; // undo, redo, consent: the server's patch shows them
        // Each prediction gets its own copy, so one that throws half-way leaves no trace.
        const draft = deepClone(view) as V;
        try {
          const out = predict(draft, p.action, context);
          view = out === undefined ? draft : out;
          predicted++;
        } catch {
          // The action would not apply to the view as it is now: show nothing for it.
        }
      }
    }
    this.view = view;
    if (view !== undefined) this.emit('view', view, { version: this.version, reason, pending: predicted });
  }
}
