/**
 * Invites against a real server: a member of a room with a password asks for an invite, and
 * another player joins with it and no password; a bad invite, or another room's, is refused
 * with JOIN_REFUSED; a non-member asking for an invite gets NOT_IN_ROOM.
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

const refused = (code: string) => (e: unknown) => e instanceof ArbiterError && e.code === code;

describe('invites (real server)', () => {
  it('admits to a room with a password without it; refuses bad invites and non-members', async () => {
    const [ada, bob, cy, dan] = ['Ada', 'Bob', 'Cy', 'Dan'].map((name) => nodeClient({ url: server.wsUrl, name }));
    await Promise.all([ada!.connect(), bob!.connect(), cy!.connect(), dan!.connect()]);

    const ra = await ada!.create({ game: 'tictactoe', password: 'open sesame', public: false });
    assert.equal(ra.info.locked, true);
    await assert.rejects(bob!.join(ra.code), refused('JOIN_REFUSED'), 'no password, no invite');

    const before = Date.now();
    const inv = await ada!.invite(ra.code.toLowerCase());
    assert.equal(inv.room, ra.id);
    assert.equal(inv.code, ra.code);
    assert.equal(typeof inv.invite, 'string');
    assert.ok(inv.invite.length > 0);
    const week = 7 * 24 * 3600 * 1000;
    assert.ok(inv.expires >= before + week - 60_000 && inv.expires <= Date.now() + week + 60_000, 'valid for 7 days');

    const rb = await bob!.join(ra.code, { invite: inv.invite });
    assert.equal(rb.id, ra.id);
    assert.equal(rb.role, 'player');
    assert.equal(rb.members.length, 2);

    // The room's own invite, by the Room method: valid too (as a spectator, the seats are taken).
    const inv2 = await rb.invite();
    assert.equal(inv2.room, ra.id);
    const rc = await cy!.join(ra.id, { invite: inv2.invite, as: 'spectator' });
    assert.equal(rc.role, 'spectator');

    // Forged, tampered, and another room's invites are refused, with or without a password.
    await assert.rejects(dan!.join(ra.code, { invite: 'i1.0.nonsense' }), refused('JOIN_REFUSED'));
    const tampered = inv.invite.slice(0, -2) + (inv.invite.endsWith('AA') ? 'BB' : 'AA');
    await assert.rejects(dan!.join(ra.code, { invite: tampered }), refused('JOIN_REFUSED'));
    const open = await dan!.create({ game: 'tictactoe', public: false });
    const other = await dan!.invite(open.id);
    assert.equal(other.room, open.id);
    await assert.rejects(dan!.join(ra.code, { invite: other.invite }), refused('JOIN_REFUSED'), "another room's invite");
    const other2 = await ada!.create({ game: 'tictactoe', password: 'pw2', public: false });
    await assert.rejects(dan!.join(other2.code, { invite: inv.invite }), refused('JOIN_REFUSED'), 'an invite is for its own room');

    // Only a member may invite.
    await assert.rejects(dan!.invite(ra.code), (e: unknown) => refused('NOT_IN_ROOM')(e) && (e as ArbiterError).room !== undefined);
    await assert.rejects(dan!.invite('r_0000000000000000'), refused('NOT_IN_ROOM'));
    assert.equal(dan!.room(ra.id), undefined);

    for (const c of [ada!, bob!, cy!, dan!]) c.close();
  });
});
