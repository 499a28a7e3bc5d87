/**
 * Quick play against a real server: six players asking at once for a race of four fill one room
 * before the next opens, each as a player, and a player asking for other options gets a room of
 * their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArbiterError } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('joinOrCreate', () => {
  it('fills rooms of four one at a time, everyone seated', async () => {
    const clients = Array.from({ length: 6 }, (_, i) => nodeClient({ url: server.wsUrl, name: `P${i}` }));
    await Promise.all(clients.map((c) => c.connect()));
    const rooms = await Promise.all(clients.map((c) => c.joinOrCreate({ game: 'race', maxPlayers: 4 })));
    assert.ok(rooms.every((r) => r.role === 'player'));
    const sizes = new Map<string, number>();
    for (const r of rooms) sizes.set(r.id, (sizes.get(r.id) ?? 0) + 1);
    assert.deepEqual([...sizes.values()].sort(), [2, 4]);

    const other = nodeClient({ url: server.wsUrl, name: 'Q' });
    await other.connect();
    const own = await other.joinOrCreate({ game: 'race', maxPlayers: 4, config: { target: 30 } });
    assert.ok(!sizes.has(own.id), 'other options, another room');
    assert.equal((own.view as { target: number }).target, 30);

    await assert.rejects(other.joinOrCreate({ game: 'chess' }), (e: ArbiterError) => e.code === 'UNKNOWN_GAME');
    for (const c of [...clients, other]) c.close();
  });
});
