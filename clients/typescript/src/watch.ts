import { Emitter } from './emitter.js';
import { ArbiterError } from './errors.js';
import type { RoomFilter, RoomInfo } from './protocol.js';

/** Events of a {@link RoomWatch}. */
export interface RoomWatchEvents {
  /**
   * A list arrived: the first one (the answer to `watch_rooms`), every later change, and the
   * fresh list the server answers after a reconnection. Always the whole filtered list.
   */
  rooms: (rooms: readonly RoomInfo[]) => void;
  /**
   * The watch ended: `error` is undefined when {@link RoomWatch.stop} ended it or a newer
   * {@link ArbiterClient.watchRooms} replaced it, and says why otherwise (the server refused
   * the watch, or the client closed: `CLOSED`).
   */
  end: (error: ArbiterError | undefined) => void;
}

/** What a {@link RoomWatch} needs from its client. Internal. */
export interface RoomWatchHost {
  /** End this watch on the server (`unwatch_rooms`) if it is the client's current one. */
  stop(watch: RoomWatch): void;
}

/**
 * A filtered public room list that follows changes live, made by
 * {@link ArbiterClient.watchRooms}. {@link ready} resolves with the first list, the `rooms`
 * event has every list (the first included), {@link rooms} holds the latest, and
 * {@link stop} ends it. The watch survives reconnections: the client asks for it again on
 * every new connection, and the answer comes as a `rooms` event like any other list.
 *
 * ```ts
 * const watch = client.watchRooms({ game: 'tictactoe', space: true, lang: 'en' }, (rooms) => render(rooms));
 * const first = await watch.ready;
 * // …
 * watch.stop();
 * ```
 */
export class RoomWatch extends Emitter<RoomWatchEvents> {
  /** The filter the server applies (a copy of the one given, taken when the watch was made). */
  readonly filter: Readonly<RoomFilter>;
  /**
   * Resolves with the first list; rejects with an {@link ArbiterError} if the watch ends
   * before it arrives: the server refused it (its code), the client closed (`CLOSED`), or it
   * was stopped or replaced (`CLOSED`). A rejection nobody awaits is not reported as unhandled.
   */
  readonly ready: Promise<readonly RoomInfo[]>;

  #host: RoomWatchHost;
  #rooms: readonly RoomInfo[] | undefined;
  #active = true;
  #resolve!: (rooms: readonly RoomInfo[]) => void;
  #reject!: (err: ArbiterError) => void;

  /** @internal */
  constructor(host: RoomWatchHost, filter: RoomFilter) {
    super();
    this.#host = host;
    const copy: RoomFilter = {};
    if (filter.game !== undefined) copy.game = filter.game;
    if (filter.space !== undefined) copy.space = filter.space;
    if (filter.lang !== undefined) copy.lang = filter.lang;
    if (filter.tags !== undefined) copy.tags = Array.isArray(filter.tags) ? [...filter.tags] : filter.tags;
    this.filter = copy;
    this.ready = new Promise<readonly RoomInfo[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.ready.catch(() => {});
  }

  /** The latest list (rooms by id, at most 200); undefined until the first one arrives. Replaced, never edited in place. */
  get rooms(): readonly RoomInfo[] | undefined {
    return this.#rooms;
  }

  /** False once the watch ended (stopped, replaced, refused, or the client closed). */
  get active(): boolean {
    return this.#active;
  }

  /**
   * Stop following the list: sends `unwatch_rooms` (when connected) and ends the watch with
   * no error. Lists still on their way are dropped. Does nothing if the watch already ended.
   */
  stop(): void {
    if (!this.#active) return;
    this.#host.stop(this);
  }

  /** @internal A list for this watch arrived. */
  _list(rooms: RoomInfo[]): void {
    if (!this.#active) return;
    this.#rooms = rooms;
    this.#resolve(rooms);
    this.emit('rooms', rooms);
  }

  /** @internal The watch is over (`error` undefined: stopped or replaced). */
  _end(error: ArbiterError | undefined): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#rooms === undefined) {
      this.#reject(error ?? new ArbiterError('CLOSED', 'the room watch ended before its first list'));
    }
    this.emit('end', error);
  }
}
