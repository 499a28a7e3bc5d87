/**
 * Finding a game against a real server: rooms created with a language and tags, a watched
 * public list filtered on them that follows changes (a room filling its last seat leaves a
 * `space` list), `stop()` and replacement ending a watch, the watch asked for again after a
 * reconnection, and quick play matching on language and tags.
 *
 * Every wait is for an event (a list, a state change, an answer); the server refreshes its
 * shared list every 500 ms, so a change shows up in the next list event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ArbiterError,
  type ArbiterClient,
  type ConnectionState,
  type RoomFilter,
  type RoomInfo,
  type RoomWatch,
  type ServerMsg,
  type UnknownMsg,
} from '@arbiter/client';
import { TcpProxy } from './helpers/proxy.js';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/**
 * The first list of `watch` for which `check` holds: the latest one if it does, else the next
 * such `rooms` event. Rejects if the watch ends first.
 */
function listWhere(watch: RoomWatch, check: (rooms: readonly RoomInfo[]) => boolean): Promise<readonly RoomInfo[]> {
  return new Promise((resolve, reject) => {
    if (watch.rooms !== undefined && check(watch.rooms)) {
      resolve(watch.rooms);
      return;
    }
    const done = () => {
      offList();
      offEnd();
    };
    const offList = watch.on('rooms', (rooms) => {
      if (!check(rooms)) return;
      done();
      resolve(rooms);
    });
    const offEnd = watch.on('end', (err) => {
      done();
      reject(err ?? new Error('the watch ended'));
    });
  });
}

/** Resolves when `client` next enters `state`. */
function nextState(client: ArbiterClient, state: ConnectionState): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('state', (s) => {
      if (s !== state) return;
      off();
      resolve();
    });
  });
}

const has = (id: string) => (rooms: readonly RoomInfo[]) => rooms.some((r) => r.id === id);
const lacks = (id: string) => (rooms: readonly RoomInfo[]) => !rooms.some((r) => r.id === id);

/** Whether `room` passes `filter` as the server applies it. */
function passes(room: RoomInfo, filter: RoomFilter): boolean {
  return (
    room.public &&
    (filter.game === undefined || room.game === filter.game) &&
    (!filter.space || room.players < room.max_players) &&
    (filter.lang === undefined || room.lang?.toLowerCase() === filter.lang.toLowerCase()) &&
    (filter.tags ?? []).every((t) => (room.tags ?? []).some((h) => h.toLowerCase() === t.toLowerCase()))
  );
}

describe('room list (real server)', () => {
  it('lists the rooms that pass the filter, follows changes, and stop() ends the updates', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    const dan = nodeClient({ url: server.wsUrl, name: 'Dan' });
    await Promise.all([ada.connect(), bob.connect(), cy.connect(), dan.connect()]);

    const filter: RoomFilter = { game: 'tictactoe', space: true, lang: 'EO', tags: ['Casual'] };
    const lists: Array<readonly RoomInfo[]> = [];
    const ended: Array<ArbiterError | undefined> = [];
    const watch = cy.watchRooms(filter, (rooms) => lists.push(rooms));
    watch.on('end', (err) => ended.push(err));
    assert.equal(cy.roomWatch, watch);
    assert.deepEqual(watch.filter, filter);
    const first = await watch.ready;
    assert.equal(first.length, 0, 'nothing passes yet');
    assert.equal(lists.length, 1, 'the first list is a rooms event too');
    assert.equal(watch.rooms, first);

    // Rooms that fail one condition each, made before the one that passes: every list that
    // shows the passing room was taken when these existed too.
    const others = [
      await ada.create({ game: 'tictactoe', lang: 'eo', tags: ['ranked'] }),
      await ada.create({ game: 'tictactoe', lang: 'de', tags: ['casual'] }),
      await ada.create({ game: 'tictactoe', lang: 'eo', tags: ['casual'], public: false }),
      await ada.create({ game: 'race', lang: 'eo', tags: ['casual'] }),
    ];
    const rc = await ada.create({ game: 'tictactoe', lang: 'EO', tags: ['casual', 'Fun', 'casual'] });
    assert.equal(rc.info.lang, 'eo', 'kept in lower case');
    assert.deepEqual(rc.info.tags, ['casual', 'fun'], 'in lower case, once each');

    const shown = await listWhere(watch, has(rc.id));
    const entry = shown.find((r) => r.id === rc.id)!;
    assert.equal(entry.code, rc.code);
    assert.equal(entry.lang, 'eo');
    assert.deepEqual(entry.tags, ['casual', 'fun']);
    assert.equal(entry.players, 1);
    assert.equal(watch.rooms, shown, 'the latest list');

    // Bob takes the last seat: the room leaves the `space` list.
    const rb = await bob.join(rc.code);
    assert.equal(rb.role, 'player');
    assert.equal(rb.info.lang, 'eo', 'joined.room has the listing');
    assert.deepEqual(rb.info.tags, ['casual', 'fun']);
    await listWhere(watch, lacks(rc.id));

    for (const list of lists) {
      for (const other of others) assert.ok(!list.some((r) => r.id === other.id), `${other.id} never listed`);
      for (const room of list) assert.ok(passes(room, filter), `${room.id} passes the filter`);
    }

    // stop(): no more lists, on the wire or as events. Dan follows the same filter as a
    // witness that the list did change after the stop.
    let afterStop = 0;
    watch.on('rooms', () => afterStop++);
    let wire = 0;
    cy.on('message', (m: ServerMsg | UnknownMsg) => {
      if (m.t === 'rooms') wire++;
    });
    watch.stop();
    assert.equal(watch.active, false);
    assert.equal(cy.roomWatch, undefined);
    assert.deepEqual(ended, [undefined], 'ended once, without an error');
    watch.stop(); // a second stop does nothing
    assert.equal(ended.length, 1);

    const witness = dan.watchRooms(filter);
    await witness.ready;
    const rd = await ada.create({ game: 'tictactoe', lang: 'eo', tags: ['casual'] });
    await listWhere(witness, has(rd.id));
    await cy.ping(); // anything the server had queued for Cy before this has arrived
    assert.equal(wire, 0, 'no rooms message after unwatch_rooms');
    assert.equal(afterStop, 0, 'no rooms event after stop()');
    assert.ok(!watch.rooms!.some((r) => r.id === rd.id));

    for (const c of [ada, bob, cy, dan]) c.close();
    assert.equal(witness.active, false, 'closing the client ends its watch');
  });

  it('a newer watch replaces the previous one; lists of the old filter are not delivered to it', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    await Promise.all([ada.connect(), cy.connect()]);

    const r1 = await ada.create({ game: 'tictactoe', lang: 'la' });
    const first = cy.watchRooms({ lang: 'la' });
    assert.ok(has(r1.id)(await first.ready));
    let firstEnd: ArbiterError | undefined | null = null;
    first.on('end', (err) => (firstEnd = err));

    const second = cy.watchRooms({ lang: 'vo' });
    assert.equal(first.active, false);
    assert.equal(firstEnd, undefined, 'replaced: ended without an error');
    assert.equal(cy.roomWatch, second);
    const secondLists: Array<readonly RoomInfo[]> = [];
    second.on('rooms', (rooms) => secondLists.push(rooms));
    assert.deepEqual(await second.ready, []);

    const r2 = await ada.create({ game: 'tictactoe', lang: 'vo' });
    await ada.create({ game: 'tictactoe', lang: 'la' });
    await listWhere(second, has(r2.id));
    for (const list of secondLists) assert.ok(list.every((r) => r.lang === 'vo'));

    // A watch stopped before its first list rejects `ready`.
    const third = cy.watchRooms({ lang: 'io' });
    assert.equal(second.active, false);
    third.stop();
    await assert.rejects(third.ready, (e: ArbiterError) => e.code === 'CLOSED');
    ada.close();
    cy.close();
  });

  it('a watch refused by the server ends with its error; none without a connection', async () => {
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    const early = cy.watchRooms({ game: 'tictactoe' });
    assert.equal(early.active, false);
    await assert.rejects(early.ready, (e: ArbiterError) => e.code === 'CLOSED');

    await cy.connect();
    const bad = cy.watchRooms({ space: 'yes' as unknown as boolean });
    const ends: Array<ArbiterError | undefined> = [];
    bad.on('end', (err) => ends.push(err));
    await assert.rejects(bad.ready, (e: ArbiterError) => e instanceof ArbiterError && e.code === 'INVALID_FIELD');
    assert.equal(ends.length, 1);
    assert.equal(ends[0]?.code, 'INVALID_FIELD');
    assert.equal(bad.active, false);
    assert.equal(cy.roomWatch, undefined);

    const good = cy.watchRooms({ game: 'tictactoe' });
    await good.ready;
    const closed = new Promise<ArbiterError | undefined>((resolve) => good.on('end', resolve));
    cy.close();
    assert.equal((await closed)?.code, 'CLOSED');
  });

  it('asks for the watch again after a reconnection', async () => {
    const proxy = await TcpProxy.start(server.port);
    const eve = nodeClient({ url: proxy.wsUrl, name: 'Eve', heartbeat: false });
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    await Promise.all([eve.connect(), ada.connect()]);
    const sent: string[] = [];
    eve.on('message', (m: ServerMsg | UnknownMsg) => {
      if (m.t === 'rooms') sent.push((m as { rid?: number }).rid === undefined ? 'update' : 'answer');
    });

    const watch = eve.watchRooms({ lang: 'ia' });
    assert.deepEqual(await watch.ready, []);

    const reconnecting = nextState(eve, 'reconnecting');
    proxy.blocked = true;
    proxy.cut();
    await reconnecting;
    const room = await ada.create({ game: 'tictactoe', lang: 'ia' }); // while Eve is away
    const open = nextState(eve, 'open');
    proxy.blocked = false;
    await open;

    const list = await listWhere(watch, has(room.id));
    assert.equal(watch.active, true, 'the same watch, still going');
    assert.equal(list.find((r) => r.id === room.id)!.lang, 'ia');
    assert.deepEqual(sent.slice(0, 2), ['answer', 'answer'], 'answered once per connection');

    eve.close();
    ada.close();
    await proxy.close();
  });
});

describe('joinOrCreate with a language and tags (real server)', () => {
  it('matches players asking for the same language into one room that has it', async () => {
    const [ada, bob, cy] = ['Ada', 'Bob', 'Cy'].map((name) => nodeClient({ url: server.wsUrl, name }));
    await Promise.all([ada!.connect(), bob!.connect(), cy!.connect()]);

    const ra = await ada!.joinOrCreate({ game: 'tictactoe', lang: 'sv', tags: ['sdk'] });
    const rc = await cy!.joinOrCreate({ game: 'tictactoe', lang: 'fi', tags: ['sdk'] });
    const rb = await bob!.joinOrCreate({ game: 'tictactoe', lang: 'SV', tags: ['SDK'] });
    assert.equal(rb.id, ra.id, 'the same language and tags: the same room');
    assert.notEqual(rc.id, ra.id, 'another language: another room');
    assert.equal(ra.role, 'player');
    assert.equal(rb.role, 'player');
    assert.equal(rb.info.lang, 'sv');
    assert.deepEqual(rb.info.tags, ['sdk']);
    assert.equal(ra.info.lang, 'sv');
    assert.equal(rc.info.lang, 'fi');
    assert.equal(rb.members.length, 2);

    await assert.rejects(
      cy!.joinOrCreate({ game: 'tictactoe', lang: 'not a language!' }),
      (e: ArbiterError) => e.code === 'INVALID_FIELD',
    );
    for (const c of [ada!, bob!, cy!]) c.close();
  });
});
