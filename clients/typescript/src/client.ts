import { Emitter } from './emitter.js';
import { ArbiterError } from './errors.js';
import type { PartyAction, PartyView } from './games/party.js';
import type { TicTacToeAction, TicTacToeView } from './games/tictactoe.js';
import {
  PROTOCOL_VERSION,
  type ClientMsg,
  type ErrorMsg,
  type JoinRole,
  type JoinedMsg,
  type LeftMsg,
  type Member,
  type PlayerInfo,
  type RoomFilter,
  type RoomInfo,
  type ServerMsg,
  type UnknownMsg,
  type WelcomeMsg,
} from './protocol.js';
import { Room, type InviteInfo, type RoomHost } from './room.js';
import { RoomWatch, type RoomWatchHost } from './watch.js';
import {
  openLongPoll,
  openWebSocket,
  type CloseInfo,
  type Encoding,
  type FetchLike,
  type Transport,
  type TransportKind,
  type TransportSink,
  type WebSocketConstructor,
} from './transport.js';

/**
 * Views and actions of the built-in games, by game name. `create({ game: 'tictactoe' })`
 * returns a `Room<TicTacToeView, TicTacToeAction>`. Add your own games by declaration merging:
 * `declare module '@arbiter/client' { interface GameTypes { mygame: { view: V; action: A } } }`.
 */
export interface GameTypes {
  tictactoe: { view: TicTacToeView; action: TicTacToeAction };
  party: { view: PartyView; action: PartyAction };
}
export type ViewOf<G extends string> = G extends keyof GameTypes ? GameTypes[G]['view'] : unknown;
export type ActionOf<G extends string> = G extends keyof GameTypes ? GameTypes[G]['action'] : unknown;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ReconnectOptions {
  /** First retry delay cap, in ms (default 500). */
  initialDelayMs?: number;
  /** Largest delay between attempts, in ms (default 30,000). */
  maxDelayMs?: number;
  /**
   * How much of each delay is random: the delay is `cap × (1 − jitter × random())`, with the
   * cap doubling per attempt. 1 (or `true`, the default) is "full jitter"; 0 (or `false`) none.
   */
  jitter?: number | boolean;
  /** Give up (state `closed`) after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
}

export interface HeartbeatOptions {
  /** Send a `ping` this often, in ms (default 10,000). */
  intervalMs?: number;
  /** Count the connection as dead when a ping has gone unanswered (nothing at all arrived) for this long, in ms (default 25,000). */
  timeoutMs?: number;
}

export interface ClientOptions {
  /** WebSocket URL of the server, e.g. `ws://127.0.0.1:7878/ws` (relative URLs work in browsers). */
  url: string;
  /** Display name (1–32 characters). */
  name?: string;
  /** Token from an earlier `welcome`, to be the same player again. */
  token?: string;
  /** Wire encoding on WebSockets (long-poll is always JSON). Default `json`. */
  encoding?: Encoding;
  /**
   * `websocket`, `longpoll`, or `auto` (the default): a WebSocket, falling back to long-poll
   * when none is available or it cannot open (and staying on long-poll once that worked).
   */
  transport?: TransportKind | 'auto';
  /** Long-poll endpoint; by default derived from `url` (`ws://h/ws` → `http://h/lp`). */
  longPollUrl?: string;
  /** Reconnect policy; `false` turns automatic reconnection off. */
  reconnect?: ReconnectOptions | false;
  /** Application-level heartbeat that notices dead connections; `false` turns it off. */
  heartbeat?: HeartbeatOptions | false;
  /** Time allowed to open a connection and be welcomed, in ms (default 10,000). */
  connectTimeoutMs?: number;
  /** WebSocket implementation (default `globalThis.WebSocket`; in Node 20 pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** `fetch` for long-poll (default `globalThis.fetch`). */
  fetch?: FetchLike;
}

/** Details of a connection-state change. */
export interface StateInfo {
  /** Why the previous connection ended: its close code (1006 = lost without one). */
  code?: number;
  /** Why the previous connection ended, in words. */
  reason?: string;
  /** The error that closed the client (state `closed`), if one did. */
  error?: ArbiterError;
  /** `reconnecting`: the number of the attempt that comes next, from 1. */
  attempt?: number;
  /** `reconnecting`: the wait before that attempt, in ms. */
  delayMs?: number;
  /** `open`: the carriage and the encoding in use. */
  transport?: TransportKind;
  encoding?: Encoding;
  /** `open`: true when this is a reconnection (the rooms are being resumed). */
  resumed?: boolean;
}

export interface ClientEvents {
  /** The connection state changed (`reconnecting` repeats once per scheduled attempt). */
  state: (state: ConnectionState, info: StateInfo) => void;
  /** The server welcomed this connection (first connect and every reconnect). */
  welcome: (msg: WelcomeMsg) => void;
  /** Every message received, before the SDK handles it (also ones of unknown types). */
  message: (msg: ServerMsg | UnknownMsg) => void;
  /**
   * An error that answers no request and does not end a room: one that concerns no room the
   * client knows, or a refusal naming one (`err.room`: a `chat`, `chat_delete`, `chat_mute` or
   * `signal` refused), which that room's `error` event has too.
   */
  error: (err: ArbiterError) => void;
}

export interface CreateOptions<G extends string = string> {
  game: G;
  config?: unknown;
  public?: boolean;
  maxPlayers?: number;
  maxSpectators?: number;
  as?: JoinRole;
  /** Fixed RNG seed (servers started with `--allow-seeded-rooms` only). */
  seed?: number;
  /** A password newcomers must give to `join`. */
  password?: string;
  /**
   * The language the room plays in, for the room list's filter: a language tag of 2–12
   * letters, digits and dashes (`en`, `pt-br`), kept in lower case (`INVALID_FIELD` otherwise).
   */
  lang?: string;
  /**
   * Up to 5 tags for the room list's filter, each 1–24 letters, digits and dashes, kept in
   * lower case and once each (`INVALID_FIELD` otherwise).
   */
  tags?: string[];
}

export interface QuickJoinOptions<G extends string = string> {
  game: G;
  /** The options a room must have been made with (a new room gets them). */
  config?: unknown;
  /** The seats a room must have. */
  maxPlayers?: number;
  /** The language a room must play in (as {@link CreateOptions.lang}); a new room gets it. */
  lang?: string;
  /** The tags a room must have, exactly (as {@link CreateOptions.tags}); a new room gets them. */
  tags?: string[];
}

export interface JoinOptions {
  as?: JoinRole;
  /** The room's password, when it is `locked` (not needed to come back to a room you are in). */
  password?: string;
  /**
   * An invite a member of the room asked for ({@link ArbiterClient.invite}): admits to its own
   * room instead of the password, for 7 days. A forged, expired or other room's invite is
   * refused with `JOIN_REFUSED`.
   */
  invite?: string;
}

type RequestKind = 'create' | 'join' | 'join_or_create' | 'launch' | 'leave' | 'add_bot' | 'chat_history' | 'invite' | 'resume';

interface Request {
  rid: number;
  kind: RequestKind;
  msg: ClientMsg & { rid?: number };
  sent: boolean;
  resolve: (value: any) => void;
  reject: (err: ArbiterError) => void;
  as?: JoinRole;
  room?: Room<any, any>;
}

const DEFAULT_RECONNECT = { initialDelayMs: 500, maxDelayMs: 30_000, jitter: 1, maxAttempts: Infinity };
const DEFAULT_HEARTBEAT = { intervalMs: 10_000, timeoutMs: 25_000 };

/** 128 random bits as 32 hex digits: a client instance id or a request key. */
function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The long-poll endpoint next to a WebSocket URL. */
export function longPollUrlFor(wsUrl: string): string {
  const u = new URL(wsUrl);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  u.pathname = u.pathname.replace(/\/ws\/?$/, '').replace(/\/+$/, '') + '/lp';
  u.search = '';
  u.hash = '';
  return u.toString();
}

function absoluteWsUrl(url: string): string {
  const location = (globalThis as { location?: { href: string } }).location;
  const u = new URL(url, location?.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.toString();
}

/**
 * A connection to an Arbiter server: identity, rooms, automatic reconnection and resume.
 *
 * ```ts
 * const client = new ArbiterClient({ url: 'ws://127.0.0.1:7878/ws', name: 'Ada' });
 * await client.connect();
 * const room = await client.create({ game: 'tictactoe' });
 * await room.act({ type: 'move', row: 1, col: 1 });
 * ```
 */
export class ArbiterClient extends Emitter<ClientEvents> {
  /** The player, once welcomed. */
  player: PlayerInfo | undefined;
  /** The latest token (each `welcome` issues a fresh one); keep it to be the same player later. */
  token: string | undefined;
  /** Round-trip time of the latest `ping`, in ms. */
  latencyMs: number | undefined;

  readonly #options: ClientOptions;
  readonly #url: string;
  readonly #reconnect: Required<ReconnectOptions> & { jitter: number } | null;
  readonly #heartbeat: Required<HeartbeatOptions> | null;
  #state: ConnectionState = 'closed';
  #conn: Transport | undefined;
  #gen = 0;
  #authed = false;
  #everOpened = false;
  #attempt = 0;
  #preferLongPoll = false;
  #maxFrame = 0;
  #rid = 0;
  #pingN = 0;
  #pings = new Map<number, { at: number; resolve?: (rtt: number) => void; reject?: (e: ArbiterError) => void }>();
  /** When the oldest ping not followed by any message was sent. */
  #probeAt: number | undefined;
  #requests = new Map<number, Request>();
  #rooms = new Map<string, Room<any, any>>();
  /** create/join answered by `joined`, waiting for the first snapshot. */
  #awaitingView = new Map<string, Request>();
  #connectWaiter: { promise: Promise<PlayerInfo>; resolve: (p: PlayerInfo) => void; reject: (e: ArbiterError) => void } | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  readonly #host: RoomHost;
  readonly #watchHost: RoomWatchHost;
  /** The room list followed (one per connection on the server: a newer watch replaces it). */
  #watch: RoomWatch | undefined;
  /** The rid of the `watch_rooms` whose answer is awaited: lists without a rid until then are the replaced watch's. */
  #watchRid: number | undefined;

  /**
   * This client instance's id, sent in every `hello` and kept across reconnects: the server
   * counts seqs per (player, instance), so two tabs of one player never take each other's
   * actions for retries.
   */
  readonly instance: string = randomId();

  constructor(options: ClientOptions) {
    super();
    this.#options = { ...options };
    this.#url = absoluteWsUrl(options.url);
    this.token = options.token;
    if (options.reconnect === false) {
      this.#reconnect = null;
    } else {
      const r = { ...DEFAULT_RECONNECT, ...options.reconnect };
      const jitter = r.jitter === true ? 1 : r.jitter === false ? 0 : Math.min(1, Math.max(0, r.jitter));
      this.#reconnect = { ...r, jitter };
    }
    this.#heartbeat = options.heartbeat === false ? null : { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    this.#host = {
      send: (msg) => this.#send(msg),
      request: (msg, kind) => this.#request(msg, kind),
      frameSize: (msg) => ({
        size: this.#conn ? this.#conn.size(msg) : new TextEncoder().encode(JSON.stringify(msg)).length,
        max: this.#maxFrame,
      }),
      playerId: () => this.player?.id ?? '',
      forget: (room) => {
        if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id);
      },
    };
    this.#watchHost = {
      stop: (watch) => {
        if (this.#watch === watch) {
          this.#watch = undefined;
          this.#watchRid = undefined;
          this.#send({ t: 'unwatch_rooms' });
        }
        watch._end(undefined);
      },
    };
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.#state;
  }
  /** The carriage in use while connected. */
  get transport(): TransportKind | undefined {
    return this.#conn?.kind;
  }
  /** The encoding in use while connected (the server may decline MessagePack). */
  get encoding(): Encoding | undefined {
    return this.#conn?.encoding;
  }
  /** The rooms this client is in, by room id. */
  get rooms(): ReadonlyMap<string, Room<any, any>> {
    return this.#rooms;
  }
  /** The room list this client follows ({@link watchRooms}), while it does. */
  get roomWatch(): RoomWatch | undefined {
    return this.#watch;
  }
  /** A room this client is in, by id or code. */
  room<V = unknown, A = unknown>(idOrCode: string): Room<V, A> | undefined {
    const room = this.#rooms.get(idOrCode);
    if (room) return room;
    const code = idOrCode.toUpperCase();
    for (const r of this.#rooms.values()) if (r.code === code) return r;
    return undefined;
  }

  /**
   * Connect and say hello. Resolves with the player when welcomed; rejects (state `closed`)
   * if the first connection cannot be made (`CONNECT_FAILED`) or the hello is refused
   * (`BAD_TOKEN`, `INVALID_FIELD` for a bad name). Once welcomed, lost connections are
   * re-established automatically.
   */
  connect(): Promise<PlayerInfo> {
    if (this.#connectWaiter) return this.#connectWaiter.promise;
    if (this.#state !== 'closed' && this.player) return Promise.resolve(this.player);
    let resolve!: (p: PlayerInfo) => void;
    let reject!: (e: ArbiterError) => void;
    const promise = new Promise<PlayerInfo>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#connectWaiter = { promise, resolve, reject };
    this.#everOpened = false;
    this.#attempt = 0;
    this.#setState('connecting', {});
    void this.#open();
    return promise;
  }

  /**
   * Close the connection for good. Rooms are not left (the server holds seats for its grace
   * period); pending requests and actions are rejected with `CLOSED`.
   */
  close(): void {
    if (this.#state === 'closed') return;
    this.#shutdown(new ArbiterError('CLOSED', 'the client was closed'), { code: 1000, reason: 'closed by the client' });
  }

  /** Create a room and enter it; resolves once its first view has arrived. */
  create<G extends string>(options: CreateOptions<G>): Promise<Room<ViewOf<G>, ActionOf<G>>> {
    // The key makes the request safe to send again after a lost answer: one room, not two.
    const msg: ClientMsg = { t: 'create', game: options.game, key: randomId() };
    if (options.config !== undefined) msg.config = options.config;
    if (options.public !== undefined) msg.public = options.public;
    if (options.maxPlayers !== undefined) msg.max_players = options.maxPlayers;
    if (options.maxSpectators !== undefined) msg.max_spectators = options.maxSpectators;
    if (options.as !== undefined) msg.as = options.as;
    if (options.seed !== undefined) msg.seed = options.seed;
    if (options.password !== undefined) msg.password = options.password;
    if (options.lang !== undefined) msg.lang = options.lang;
    if (options.tags !== undefined) msg.tags = [...options.tags];
    return this.#request(msg, 'create', { as: options.as ?? 'any' });
  }

  /**
   * Quick play: a seat in a public room of `game` with these options that has one free, or in
   * a new one; resolves once its first view has arrived. A request cut off by a dropped
   * connection is rejected with `DISCONNECTED`, not sent again (it may have taken a seat).
   */
  joinOrCreate<G extends string>(options: QuickJoinOptions<G>): Promise<Room<ViewOf<G>, ActionOf<G>>> {
    const msg: ClientMsg = { t: 'join_or_create', game: options.game };
    if (options.config !== undefined) msg.config = options.config;
    if (options.maxPlayers !== undefined) msg.max_players = options.maxPlayers;
    if (options.lang !== undefined) msg.lang = options.lang;
    if (options.tags !== undefined) msg.tags = [...options.tags];
    return this.#request(msg, 'join_or_create', { as: 'player' });
  }

  /**
   * As the host of the party `party` (a room id), start the game it picked: resolves with the
   * new game room, which the party's view names too (`playing`); its players then `join` it.
   */
  launch(party: string): Promise<RoomInfo> {
    return this.#request({ t: 'launch', room: party }, 'launch');
  }

  /** Enter a room by id (`r_…`) or six-letter code; resolves once its first view has arrived. */
  join<V = unknown, A = unknown>(room: string, options: JoinOptions = {}): Promise<Room<V, A>> {
    const msg: ClientMsg = { t: 'join', room };
    if (options.as !== undefined) msg.as = options.as;
    if (options.password !== undefined) msg.password = options.password;
    if (options.invite !== undefined) msg.invite = options.invite;
    return this.#request(msg, 'join', { as: options.as ?? 'any' });
  }

  /**
   * Ask for an invite to a room this client is in (by id or code): a signed token that lets
   * its holder {@link join} without the room's password for 7 days (`join(code, { invite })`).
   * Rejects with `NOT_IN_ROOM` when this connection is not in the room.
   */
  invite(room: string): Promise<InviteInfo> {
    return this.#request({ t: 'invite', room }, 'invite');
  }

  /**
   * Follow the public room list (of the whole cluster, in a cluster): the rooms that pass
   * every condition of `filter` — `game`; `space`, a free seat; `lang`; `tags`, all of them —
   * at most 200, by id. The returned {@link RoomWatch} resolves {@link RoomWatch.ready} with
   * the first list and emits `rooms` with it and again each time the filtered list changes
   * (the server checks at most every 500 ms); `onList`, if given, listens to `rooms`.
   *
   * The server keeps one watch per connection, so a client follows one list: a new
   * `watchRooms` replaces (ends) the previous watch. After a reconnection the client asks for
   * the current watch again, and its fresh list comes as a `rooms` event. Stop it with
   * {@link RoomWatch.stop}. Needs no room: a lobby can watch before joining anything.
   */
  watchRooms(filter: RoomFilter = {}, onList?: (rooms: readonly RoomInfo[]) => void): RoomWatch {
    const watch = new RoomWatch(this.#watchHost, filter);
    if (onList) watch.on('rooms', onList);
    if (this.#state === 'closed') {
      watch._end(new ArbiterError('CLOSED', 'the client is not connected: call connect() first'));
      return watch;
    }
    const previous = this.#watch;
    this.#watch = watch;
    this.#sendWatch();
    previous?._end(undefined);
    return watch;
  }

  /** Measure the round trip to the server, in ms. */
  ping(): Promise<number> {
    if (!this.#authed) return Promise.reject(new ArbiterError('DISCONNECTED', 'not connected'));
    return new Promise((resolve, reject) => this.#sendPing(resolve, reject));
  }

  // ---- connection lifecycle -------------------------------------------------------------

  #setState(state: ConnectionState, info: StateInfo): void {
    this.#state = state;
    this.emit('state', state, info);
  }

  async #open(): Promise<void> {
    const gen = ++this.#gen;
    const sink: TransportSink = {
      messages: (msgs) => this.#onMessages(gen, msgs),
      closed: (info) => {
        if (gen === this.#gen) this.#lost(info);
      },
    };
    let transport: Transport;
    try {
      transport = await this.#openTransport(sink);
    } catch (err) {
      if (gen === this.#gen) this.#lost({ code: 1006, reason: (err as Error).message ?? String(err) });
      return;
    }
    if (gen !== this.#gen || this.#state === 'closed') {
      transport.close(1000, 'superseded');
      return;
    }
    this.#conn = transport;
    const timeout = this.#options.connectTimeoutMs ?? 10_000;
    this.#welcomeTimer = setTimeout(() => this.#drop(gen, { code: 4003, reason: `no welcome within ${timeout} ms` }), timeout);
    const hello: ClientMsg = { t: 'hello', v: PROTOCOL_VERSION };
    if (this.#options.name !== undefined) hello.name = this.#options.name;
    if (this.token !== undefined) hello.token = this.token;
    hello.instance = this.instance;
    transport.send(hello);
    this.#startHeartbeat(gen);
  }

  async #openTransport(sink: TransportSink): Promise<Transport> {
    const kind = this.#options.transport ?? 'auto';
    const WS = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const longPoll = () => {
      const fetchFn = this.#options.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchLike | undefined);
      if (!fetchFn) throw new Error('no fetch implementation for long-poll: pass options.fetch');
      return openLongPoll({ url: this.#options.longPollUrl ?? longPollUrlFor(this.#url), fetch: fetchFn, timeoutMs }, sink);
    };
    if (kind === 'longpoll' || (kind === 'auto' && (!WS || this.#preferLongPoll))) return longPoll();
    if (!WS) {
      throw new Error('no WebSocket implementation: pass options.WebSocket (e.g. from the "ws" package) or use transport "longpoll"');
    }
    const ws = { url: this.#url, encoding: this.#options.encoding ?? 'json', WebSocket: WS, timeoutMs } as const;
    if (kind === 'websocket') return openWebSocket(ws, sink);
    try {
      return await openWebSocket(ws, sink);
    } catch (wsErr) {
      let transport: Transport;
      try {
        transport = await longPoll();
      } catch (lpErr) {
        throw new Error(`${(wsErr as Error).message}; long-poll: ${(lpErr as Error).message}`);
      }
      this.#preferLongPoll = true;
      return transport;
    }
  }

  /** Drop the current connection on our side (dead, or not welcomed in time) and recover. */
  #drop(gen: number, info: CloseInfo): void {
    if (gen !== this.#gen) return;
    this.#conn?.close(4000, 'connection lost');
    this.#lost(info);
  }

  #clearConnection(): void {
    this.#gen++;
    clearTimeout(this.#welcomeTimer);
    clearInterval(this.#heartbeatTimer);
    this.#welcomeTimer = this.#heartbeatTimer = undefined;
    this.#conn = undefined;
    this.#authed = false;
    const gone = new ArbiterError('DISCONNECTED', 'the connection dropped before the pong');
    for (const p of this.#pings.values()) p.reject?.(gone);
    this.#pings.clear();
  }

  /** The connection ended without our asking. */
  #lost(info: CloseInfo): void {
    this.#conn?.close(4000, 'lost');
    this.#clearConnection();
    if (this.#state === 'closed') return;
    if (!this.#everOpened) {
      const why = `could not connect to ${this.#url}: ${info.reason || `close code ${info.code}`}`;
      this.#shutdown(new ArbiterError('CONNECT_FAILED', why, info), info);
      return;
    }
    if (info.code === 4002) {
      this.#shutdown(new ArbiterError('UNSUPPORTED_VERSION', info.reason || 'unsupported protocol version', info), info);
      return;
    }
    if (!this.#reconnect) {
      this.#shutdown(new ArbiterError('CLOSED', `the connection closed (${info.code} ${info.reason})`, info), info);
      return;
    }
    for (const room of this.#rooms.values()) room._disconnected();
    const dropped = new ArbiterError('DISCONNECTED', 'the connection dropped before the answer; the request may or may not have been carried out');
    for (const req of [...this.#requests.values()]) {
      if (!req.sent) continue;
      req.sent = false;
      if (req.kind === 'resume') {
        this.#requests.delete(req.rid);
      } else if (req.kind === 'add_bot' || req.kind === 'join_or_create' || req.kind === 'launch') {
        // Neither is safe to send twice: a second quick-join could take a second seat.
        this.#requests.delete(req.rid);
        req.reject(dropped);
      } else if (req.kind === 'leave') {
        // Sent again after the reconnection, without re-joining the room (re-joining could
        // take a seat the leave already gave up): a player may leave from any connection,
        // and a leave that did arrive is answered NOT_IN_ROOM, which counts as left.
        const id = (req.msg as { room: string }).room;
        req.room ??= this.#rooms.get(id);
        if (req.room && this.#rooms.get(id) === req.room) this.#rooms.delete(id);
      }
      // A create carries its key and a join is answered with the same place: both are safe
      // to send again, after the resume. A leave asked while offline goes out after the
      // room's re-join.
    }
    this.#scheduleReconnect(info);
  }

  #scheduleReconnect(info: CloseInfo): void {
    const policy = this.#reconnect!;
    this.#attempt++;
    if (this.#attempt > policy.maxAttempts) {
      this.#shutdown(new ArbiterError('CLOSED', `gave up after ${policy.maxAttempts} reconnection attempts`, info), info);
      return;
    }
    const cap = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (this.#attempt - 1));
    const delayMs = Math.round(cap * (1 - policy.jitter * Math.random()));
    this.#setState('reconnecting', { code: info.code, reason: info.reason, attempt: this.#attempt, delayMs });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#state === 'reconnecting') void this.#open();
    }, delayMs);
  }

  /** Closed for good: fail everything pending. */
  #shutdown(error: ArbiterError, info: CloseInfo): void {
    const conn = this.#conn;
    this.#clearConnection();
    conn?.close(1000, 'closing');
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#state = 'closed';
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    const requests = [...this.#requests.values(), ...this.#awaitingView.values()];
    this.#requests.clear();
    this.#awaitingView.clear();
    const rooms = [...this.#rooms.values()];
    this.#rooms.clear();
    const watch = this.#watch;
    this.#watch = undefined;
    this.#watchRid = undefined;
    waiter?.reject(error);
    for (const req of requests) req.reject(error);
    for (const room of rooms) room._gone(error);
    watch?._end(error);
    this.#setState('closed', { code: info.code, reason: info.reason, error });
  }

  /**
   * Every interval, send a `ping`; the connection is dead when a ping has gone unanswered —
   * nothing at all arrived since it was sent — for the timeout. Judging from the oldest
   * unanswered ping (not from the last message) keeps throttled timers in background tabs
   * from declaring a quiet but healthy connection dead.
   */
  #startHeartbeat(gen: number): void {
    const hb = this.#heartbeat;
    if (!hb) return;
    this.#probeAt = undefined;
    this.#heartbeatTimer = setInterval(() => {
      if (gen !== this.#gen || !this.#authed) return;
      const now = Date.now();
      if (this.#probeAt !== undefined && now - this.#probeAt >= hb.timeoutMs) {
        this.#drop(gen, { code: 4004, reason: `no answer from the server for ${now - this.#probeAt} ms` });
        return;
      }
      this.#probeAt ??= now;
      this.#sendPing();
    }, Math.min(hb.intervalMs, hb.timeoutMs));
  }

  #sendPing(resolve?: (rtt: number) => void, reject?: (e: ArbiterError) => void): void {
    const n = ++this.#pingN;
    this.#pings.set(n, { at: Date.now(), resolve, reject });
    if (!this.#send({ t: 'ping', n })) {
      this.#pings.delete(n);
      reject?.(new ArbiterError('DISCONNECTED', 'not connected'));
    }
  }

  // ---- sending ---------------------------------------------------------------------------

  /** Ask for the current room watch (again, on a new connection); its answer's rid is awaited. */
  #sendWatch(): void {
    const watch = this.#watch;
    if (!watch) return;
    const rid = ++this.#rid;
    this.#watchRid = rid;
    this.#send({ t: 'watch_rooms', rid, filter: watch.filter as RoomFilter });
  }

  /** Send on the current connection if it is welcomed. */
  #send(msg: ClientMsg): boolean {
    if (!this.#authed || !this.#conn) return false;
    return this.#conn.send(msg);
  }

  #request<T>(msg: ClientMsg & { rid?: number }, kind: RequestKind, extra: Partial<Request> = {}): Promise<T> {
    if (this.#state === 'closed') {
      return Promise.reject(new ArbiterError('CLOSED', 'the client is not connected: call connect() first'));
    }
    const rid = ++this.#rid;
    msg.rid = rid;
    return new Promise<T>((resolve, reject) => {
      const req: Request = { rid, kind, msg, sent: false, resolve, reject, ...extra };
      this.#requests.set(rid, req);
      req.sent = this.#send(msg);
    });
  }

  // ---- receiving -------------------------------------------------------------------------

  #onMessages(gen: number, msgs: unknown[]): void {
    if (gen !== this.#gen) return;
    this.#probeAt = undefined;
    const touched = new Set<Room<any, any>>();
    for (const raw of msgs) {
      if (typeof raw !== 'object' || raw === null || typeof (raw as { t?: unknown }).t !== 'string') continue;
      const msg = raw as ServerMsg;
      this.emit('message', msg);
      this.#handle(msg, touched);
      if (gen !== this.#gen) break; // a listener closed the client
    }
    for (const room of touched) room._flush();
  }

  #handle(msg: ServerMsg, touched: Set<Room<any, any>>): void {
    const room = 'room' in msg && typeof msg.room === 'string' ? this.#rooms.get(msg.room) : undefined;
    if (room) touched.add(room);
    switch (msg.t) {
      case 'welcome':
        return this.#onWelcome(msg);
      case 'joined':
        return this.#onJoined(msg, touched);
      case 'snapshot': {
        room?._snapshot(msg);
        const req = this.#awaitingView.get(msg.room);
        if (req && room) {
          this.#awaitingView.delete(msg.room);
          req.resolve(room);
        }
        return;
      }
      case 'patch':
        return room?._patch(msg);
      case 'ack':
        return room?._ack(msg.seq, msg.v);
      case 'reject':
        return room?._reject(msg);
      case 'presence':
        return room?._presence(msg);
      case 'signal':
        return room?._signal(msg);
      case 'chat':
        return room?._chat(msg);
      case 'chat_deleted':
        return room?._chatDeleted(msg);
      case 'chat_history': {
        const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
        if (req?.kind === 'chat_history') {
          this.#requests.delete(req.rid);
          req.resolve({ messages: msg.messages, more: msg.more });
        }
        return;
      }
      case 'undo_state':
        return room?._undoState(msg);
      case 'paused':
        return room?._paused(msg);
      case 'undo_proposal':
        return room?._undoProposal(msg);
      case 'left':
        return this.#onLeft(msg);
      case 'bot_added': {
        const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
        if (req) {
          this.#requests.delete(req.rid);
          req.resolve(msg.bot);
        }
        return;
      }
      case 'invited': {
        const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
        if (req?.kind === 'invite') {
          this.#requests.delete(req.rid);
          req.resolve({ room: msg.room, code: msg.code, invite: msg.invite, expires: msg.expires } satisfies InviteInfo);
        }
        return;
      }
      case 'rooms': {
        const watch = this.#watch;
        if (!watch) return; // stopped: lists still on their way are dropped
        if (msg.rid !== undefined) {
          if (msg.rid !== this.#watchRid) return; // the answer to a watch since replaced
          this.#watchRid = undefined;
        } else if (this.#watchRid !== undefined) {
          return; // an update of the replaced watch, ahead of the current one's answer
        }
        watch._list(msg.rooms);
        return;
      }
      case 'launched': {
        const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
        if (req) {
          this.#requests.delete(req.rid);
          req.resolve(msg.room);
        }
        return;
      }
      case 'error':
        return this.#onError(msg);
      case 'pong': {
        const ping = msg.n === undefined ? undefined : this.#pings.get(msg.n);
        if (ping && msg.n !== undefined) {
          this.#pings.delete(msg.n);
          this.latencyMs = Date.now() - ping.at;
          ping.resolve?.(this.latencyMs);
        }
        return;
      }
      default:
        return; // a newer server's message: already passed on through the `message` event
    }
  }

  #onWelcome(msg: WelcomeMsg): void {
    if (this.#authed) return;
    clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = undefined;
    this.#authed = true;
    this.player = msg.player;
    this.token = msg.token;
    this.#maxFrame = msg.max_frame;
    this.#attempt = 0;
    const resumed = this.#everOpened;
    this.#everOpened = true;
    this.#setState('open', { transport: this.#conn?.kind, encoding: this.#conn?.encoding, resumed });
    this.emit('welcome', msg);
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    waiter?.resolve(msg.player);
    if (!this.#authed) return; // a listener closed the client
    // Resume every room: join with `since`, then the unanswered actions with their seqs.
    for (const room of this.#rooms.values()) {
      const rid = ++this.#rid;
      this.#requests.set(rid, {
        rid,
        kind: 'resume',
        msg: { t: 'join', rid, room: room.id },
        sent: true,
        resolve: () => {},
        reject: () => {},
        room,
      });
      room._resume(rid);
    }
    // Then whatever was asked while offline (and joins/leaves whose answer was lost).
    for (const req of this.#requests.values()) {
      if (!req.sent) req.sent = this.#send(req.msg);
    }
    // And the room list followed: the watch ended with the previous connection.
    if (this.#watch) this.#sendWatch();
  }

  #onJoined(msg: JoinedMsg, touched: Set<Room<any, any>>): void {
    const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
    if (req) this.#requests.delete(req.rid);
    if (req?.kind === 'resume') {
      if (req.room?.active) req.room._joined(msg, true);
      return;
    }
    let room = this.#rooms.get(msg.room.id);
    if (room) {
      room._joined(msg, true);
      req?.reject(new ArbiterError('ALREADY_IN_ROOM', 'this client is already in that room', undefined, { room: room.id }));
      return;
    }
    room = new Room(this.#host, msg, req?.as ?? 'any');
    this.#rooms.set(room.id, room);
    touched.add(room);
    if (req) this.#awaitingView.set(room.id, req);
  }

  #onLeft(msg: LeftMsg): void {
    const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
    if (req) {
      this.#requests.delete(req.rid);
      req.resolve(undefined);
      req.room?._gone(undefined);
    }
    this.#rooms.get(msg.room)?._gone(undefined);
  }

  #onError(msg: ErrorMsg): void {
    const details = msg.details as { room?: unknown } | undefined;
    const roomId = typeof details?.room === 'string' ? details.room : undefined;
    const req = msg.rid === undefined ? undefined : this.#requests.get(msg.rid);
    const err = new ArbiterError(msg.code, msg.message, msg.details, { room: roomId ?? (req?.msg as { room?: string } | undefined)?.room });
    if (msg.rid !== undefined && msg.rid === this.#watchRid && this.#watch) {
      // The server refused the room watch.
      const watch = this.#watch;
      this.#watch = undefined;
      this.#watchRid = undefined;
      watch._end(err);
      return;
    }
    if (req) {
      this.#requests.delete(req.rid);
      switch (req.kind) {
        case 'resume':
          // The room closed, or the seat went while we were away.
          req.room?._gone(err);
          return;
        case 'leave': {
          const room = req.room ?? this.#rooms.get((req.msg as { room: string }).room);
          if (msg.code === 'NOT_IN_ROOM' || msg.code === 'ROOM_NOT_FOUND' || msg.code === 'ROOM_CLOSED') {
            req.resolve(undefined);
            room?._gone(undefined);
          } else {
            req.reject(err);
          }
          return;
        }
        default:
          req.reject(err);
          return;
      }
    }
    if (!this.#authed) {
      // The hello was refused (a bad token or name): retrying would be refused again.
      this.#shutdown(err, { code: 1000, reason: `hello refused: ${msg.code}` });
      return;
    }
    // Only these say the client is no longer in the room; any other refusal naming it (a bad
    // signal, a chat over the limit) leaves the room as it is.
    const room = roomId === undefined ? undefined : this.#rooms.get(roomId);
    if (room && (msg.code === 'ROOM_CLOSED' || msg.code === 'ROOM_NOT_FOUND' || msg.code === 'NOT_IN_ROOM')) {
      room._gone(err);
      return;
    }
    room?._error(err);
    if (!this.#authed) return; // a room listener closed the client
    this.emit('error', err);
  }
}

export type { Member };
