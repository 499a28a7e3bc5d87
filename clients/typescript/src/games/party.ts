/**
 * The built-in party lobby (docs/games/party.md): its view, its actions, and {@link Party}, a
 * typed wrapper around a party's room for the host's and the members' moves.
 */
import type { ArbiterClient, JoinOptions } from '../client.js';
import { ArbiterError } from '../errors.js';
import type { RoomInfo } from '../protocol.js';
import type { Room } from '../room.js';

/** The game the host picked for the party's next round, with settings its setup accepted. */
export interface PartyPick {
  /** The game's registered name. */
  game: string;
  /** The game's human title. */
  title: string;
  /** Its settings, as picked (`null` for the game's defaults). */
  config: unknown;
  /** Fewest players it starts with: at least this many members must be ready to launch. */
  min_players: number;
  /** Most players it seats. */
  max_players: number;
}

/** The game the party is playing now, in a room of its own. */
export interface PartyPlaying {
  /** The party's round (1 for its first game). */
  round: number;
  /** The game's registered name. */
  game: string;
  /** The game room's id. */
  room: string;
  /** The game room's code. */
  code: string;
  /** The members seated there, in seat order: they join it as players. */
  players: string[];
}

/** A game the party played, as its room ended. */
export interface PartyPlayed {
  /** The party's round. */
  round: number;
  /** The game's registered name. */
  game: string;
  /** The game room's id. */
  room: string;
  /** Places, best first (a group is a tie); null when the room closed unfinished or the host went `back`. */
  ranking: string[][] | null;
}

/** A member as the party's view shows them (`members`, by player id). */
export interface PartyMemberView {
  name: string;
  /** Their seat number: the order in which the host role is handed on. */
  seat: number;
  /** They said they are ready for the picked game. */
  ready: boolean;
  connected: boolean;
  /** They are the party's host. */
  host: boolean;
}

/** A member of the party, with their id ({@link Party.members}). */
export interface PartyMember extends PartyMemberView {
  id: string;
}

/** The party's view; every member sees the same one. */
export interface PartyView {
  /** The lobby's name. */
  name: string;
  /** The host's player id; null while nobody is (a party of bots only). */
  host: string | null;
  /** Who said they are ready, by player id. */
  ready: string[];
  /** Players the host banned: they cannot enter again, not even to watch. */
  banned: string[];
  /** The next game; null until the host picks one. */
  pick: PartyPick | null;
  /** How long a disconnected host keeps the role, in ms. */
  host_grace_ms: number;
  /** Games started from the party so far. */
  round: number;
  /** The game being played now; absent in the lobby. */
  playing?: PartyPlaying;
  /** The latest 50 games played, newest last. */
  history: PartyPlayed[];
  /** Every member, by player id. */
  members: Record<string, PartyMemberView>;
}

/** What a party member proposes with `act` (the host's actions are refused with `FORBIDDEN` from anyone else). */
export type PartyAction =
  /** Anyone: ready or not for the picked game (accepted whatever version was seen). */
  | { type: 'ready'; ready: boolean }
  /** Host: name the lobby (1–40 characters). */
  | { type: 'rename'; name: string }
  /** Host: hand the role to another human member. */
  | { type: 'transfer'; to: string }
  /** Host: remove a member; with `ban`, for good (a ban may name someone not present). */
  | { type: 'kick'; player: string; ban?: boolean }
  /** Host: pick the next game and its settings; every ready flag is cleared. */
  | { type: 'pick'; game: string; config?: unknown }
  /** Host, while playing: record the game unranked and return everyone to the lobby. */
  | { type: 'back' };

/** A party's options (`config` of `create`). */
export interface PartyConfig {
  /** The lobby's name: 1–40 characters (default "Party"). */
  name?: string;
  /** How long a disconnected host keeps the role, in ms (default 30,000; at most 600,000). */
  host_grace_ms?: number;
}

/** How {@link Party.create} makes a party. */
export interface PartyOptions extends PartyConfig {
  /** Listed by `GET /api/v1/rooms` (default true). */
  public?: boolean;
  /** Members who may sit in the party, at most 50 (the default). */
  maxPlayers?: number;
  /** Spectator places (0 for none). */
  maxSpectators?: number;
  /** A password newcomers must give to join. */
  password?: string;
}

/**
 * A party seen from one member: the party's room, typed, with its actions as methods and its
 * view as accessors. Every method that acts resolves with the version it produced or rejects
 * with an {@link ArbiterError} (`FORBIDDEN` from anyone but the host for the host's moves,
 * `INVALID_MOVE`, …); the accessors read the room's displayed view.
 *
 * ```ts
 * const party = await Party.create(client, { name: 'Friday', public: false });
 * party.room.on('view', () => render(party));
 * await party.pick('tictactoe');
 * await party.ready();
 * const game = await party.launch();          // the host; everyone then calls party.joinGame()
 * ```
 */
export class Party {
  /**
   * Wrap a room this client is in whose game is `party` (from `create`, `join`, or
   * `client.room(code)`).
   */
  constructor(
    /** The client that is in the party. */
    readonly client: ArbiterClient,
    /** The party's room: its events (`view`, `chat`, `left`, …), chat, and `leave()`. */
    readonly room: Room<PartyView, PartyAction>,
  ) {
    if (room.game !== 'party') throw new ArbiterError('UNSUPPORTED', `room ${room.id} plays ${room.game}, not party`, undefined, { room: room.id });
  }

  /** Create a party and enter it (as its host); resolves once its first view has arrived. */
  static async create(client: ArbiterClient, options: PartyOptions = {}): Promise<Party> {
    const config: PartyConfig = {};
    if (options.name !== undefined) config.name = options.name;
    if (options.host_grace_ms !== undefined) config.host_grace_ms = options.host_grace_ms;
    const room = await client.create({
      game: 'party',
      config,
      public: options.public,
      maxPlayers: options.maxPlayers,
      maxSpectators: options.maxSpectators,
      password: options.password,
    });
    return new Party(client, room);
  }

  /** Enter a party by id or code; resolves once its first view has arrived. */
  static async join(client: ArbiterClient, party: string, options: JoinOptions = {}): Promise<Party> {
    const room = await client.join<PartyView, PartyAction>(party, options);
    try {
      return new Party(client, room);
    } catch (err) {
      await room.leave().catch(() => {});
      throw err;
    }
  }

  /** The party's room id. */
  get id(): string {
    return this.room.id;
  }
  /** The code friends join by. */
  get code(): string {
    return this.room.code;
  }
  /** The displayed view (undefined only before the first snapshot). */
  get view(): PartyView | undefined {
    return this.room.view;
  }
  /** The lobby's name. */
  get name(): string | undefined {
    return this.view?.name;
  }
  /** The host's player id, or null. */
  get host(): string | null {
    return this.view?.host ?? null;
  }
  /** This player is the host: the host's moves, `launch` and chat moderation are theirs. */
  get isHost(): boolean {
    const me = this.client.player?.id;
    return me !== undefined && this.host === me;
  }
  /** The members in seat order, with their ids. */
  get members(): PartyMember[] {
    const members = this.view?.members ?? {};
    return Object.entries(members)
      .map(([id, m]) => ({ id, ...m }))
      .sort((a, b) => a.seat - b.seat);
  }
  /** This player said they are ready. */
  get isReady(): boolean {
    const me = this.client.player?.id;
    return me !== undefined && (this.view?.ready.includes(me) ?? false);
  }
  /** The picked game, or null ({@link pick} picks one). */
  get picked(): PartyPick | null {
    return this.view?.pick ?? null;
  }
  /** The game being played now, or undefined in the lobby. */
  get playing(): PartyPlaying | undefined {
    return this.view?.playing;
  }
  /** The games played, newest last. */
  get history(): readonly PartyPlayed[] {
    return this.view?.history ?? [];
  }

  /** Say whether this player is ready for the picked game. */
  ready(ready = true): Promise<number> {
    return this.room.act({ type: 'ready', ready });
  }
  /**
   * Host: pick the next game and its settings (its defaults without `config`). The game's
   * setup checks them (`UNKNOWN_GAME`, `INVALID_CONFIG`); every ready flag is cleared.
   */
  pick(game: string, config?: unknown): Promise<number> {
    return this.room.act(config === undefined ? { type: 'pick', game } : { type: 'pick', game, config });
  }
  /** Host: name the lobby (1–40 characters; `INVALID_FIELD` otherwise). */
  rename(name: string): Promise<number> {
    return this.room.act({ type: 'rename', name });
  }
  /** Host: hand the host role to another human member (`INVALID_MOVE` for a bot or oneself). */
  makeHost(player: string): Promise<number> {
    return this.room.act({ type: 'transfer', to: player });
  }
  /** Host: remove a member; they may come back (their room gets `left`). */
  kick(player: string): Promise<number> {
    return this.room.act({ type: 'kick', player, ban: false });
  }
  /** Host: remove a player for good (also one not present): they cannot enter again. */
  ban(player: string): Promise<number> {
    return this.room.act({ type: 'kick', player, ban: true });
  }
  /** Host, while playing: give up on the game (recorded unranked) and return to the lobby. */
  back(): Promise<number> {
    return this.room.act({ type: 'back' });
  }

  /**
   * Host: start the picked game with a seat for each ready member. Resolves with the new
   * game room; the party's view names it too ({@link playing}), and its players then
   * {@link joinGame}. Rejects with `FORBIDDEN` (not the host), `INVALID_MOVE` (no pick, or a
   * number of ready members the game cannot seat), `GAME_IN_PROGRESS`, …
   */
  launch(): Promise<RoomInfo> {
    return this.client.launch(this.room.id);
  }

  /**
   * Enter the game the party is playing ({@link playing}, or the room `game` names, e.g. what
   * {@link launch} resolved with): as a player when the party seated this player there, as a
   * spectator when it did not, and as either while the party's view does not name that room
   * yet. Resolves once its first view has arrived.
   */
  joinGame<V = unknown, A = unknown>(game: string | RoomInfo | undefined = this.playing?.room): Promise<Room<V, A>> {
    const id = typeof game === 'object' ? game.id : game;
    if (id === undefined) return Promise.reject(new ArbiterError('INVALID_MOVE', 'the party is not playing', undefined, { room: this.room.id }));
    const playing = this.playing;
    const me = this.client.player?.id ?? '';
    const named = playing !== undefined && (playing.room === id || playing.code === id.toUpperCase());
    const as = !named ? 'any' : playing.players.includes(me) ? 'player' : 'spectator';
    return this.client.join<V, A>(id, { as });
  }
}
