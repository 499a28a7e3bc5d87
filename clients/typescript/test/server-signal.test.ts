/**
 * The video-call relay against a real server: a WebRTC signal reaches only its target, as a
 * `signal` event on their room; a refused signal is an `error` event and leaves the room as it
 * was; camera and microphone state arrives as presence and in the member list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ArbiterError, type SignalMsg } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('signalling', () => {
  it('relays an offer and an answer between two members only, and shows camera state', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    await Promise.all([ada.connect(), bob.connect(), cy.connect()]);
    const ra = await ada.create({ game: 'tictactoe', public: false });
    const rb = await bob.join(ra.code);
    const rc = await cy.join(ra.code, { as: 'spectator' });
    const heard: Record<string, SignalMsg[]> = { ada: [], bob: [], cy: [] };
    ra.on('signal', (m) => heard.ada.push(m));
    rb.on('signal', (m) => heard.bob.push(m));
    rc.on('signal', (m) => heard.cy.push(m));

    assert.ok(ra.signal(bob.player!.id, 'offer', { type: 'offer', sdp: 'v=0' }));
    await waitFor(() => heard.bob.length === 1, 'bob to get the offer');
    assert.deepEqual(
      { from: heard.bob[0].from, kind: heard.bob[0].kind, data: heard.bob[0].data },
      { from: ada.player!.id, kind: 'offer', data: { type: 'offer', sdp: 'v=0' } },
    );
    assert.ok(rb.signal(ada.player!.id, 'answer', { type: 'answer', sdp: 'v=0' }));
    await waitFor(() => heard.ada.length === 1, 'ada to get the answer');
    assert.equal(heard.ada[0].kind, 'answer');
    // Whatever was sent before this ping's answer has arrived: Cy got nothing.
    await Promise.all([ada.ping(), bob.ping(), cy.ping()]);
    assert.equal(heard.cy.length, 0);

    assert.ok(rb.setMedia({ camera: true, mic: true }));
    await waitFor(() => rc.members.some((m) => m.name === 'Bob' && m.media?.camera === true), 'cy to see bob’s camera');
    assert.deepEqual(ra.members.find((m) => m.name === 'Bob')?.media, { camera: true, mic: true });

    for (const c of [ada, bob, cy]) c.close();
  });

  it('a refused signal is an error event and leaves the room usable', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    await Promise.all([ada.connect(), bob.connect()]);
    const ra = await ada.create({ game: 'tictactoe', public: false });
    await bob.join(ra.code);
    const errors: ArbiterError[] = [];
    ada.on('error', (e) => errors.push(e));
    let left = false;
    ra.on('left', () => (left = true));

    assert.ok(ra.signal(ada.player!.id, 'offer', {}));
    await waitFor(() => errors.length === 1, 'the refusal');
    assert.equal(errors[0].code, 'INVALID_FIELD');
    assert.equal(errors[0].room, ra.id);
    assert.equal(left, false, 'the room is still ours');
    await ra.sync();
    assert.ok(ra.version > 0);

    for (const c of [ada, bob]) c.close();
  });
});
