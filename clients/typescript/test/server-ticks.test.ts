/** The SDK against a real `arbiter serve`: a room that ticks (snake), its inputs, and pausing. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Interpolator, type PausedMsg } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

interface SnakeView {
  phase: 'waiting' | 'countdown' | 'running' | 'over';
  tick: number;
  snakes: { player: string; queue?: string[] }[];
}

describe('a room that ticks', () => {
  it('acks an input with the tick that took it, feeds an interpolator, and pauses for its host', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    await Promise.all([ada.connect(), bob.connect()]);
    const ra = await ada.create({ game: 'snake', public: false });
    const rb = await bob.join<SnakeView, unknown>(ra.code);
    await ra.act({ type: 'start' });
    // Every tick is a new version; an interpolator fed from the view event has two to blend.
    const interp = new Interpolator<SnakeView>({ delayMs: 0 });
    rb.on('view', (v) => interp.push(v));
    const seen = rb.version;
    await waitFor(() => rb.version >= seen + 2, 'two ticks');
    const s = interp.sample()!;
    assert.ok(s.to.tick >= s.from.tick, 'views come in tick order');

    // An input is acknowledged with a version the room reached by ticking, and the tick queued it.
    const v = await ra.act({ type: 'turn', dir: 'up' });
    await waitFor(() => rb.version >= v, 'the tick to reach Bob');
    assert.ok(v > seen);

    // Bob is not the host: his pause is refused. Ada's pauses the room for both.
    const news: PausedMsg[] = [];
    rb.on('paused', (m) => news.push(m));
    const errors: string[] = [];
    bob.on('error', (e) => errors.push(e.code));
    rb.pause();
    await waitFor(() => errors.includes('FORBIDDEN'), "the refusal of Bob's pause");
    ra.pause();
    await waitFor(() => news.length === 1, 'the pause');
    assert.equal(news[0]!.paused, true);
    assert.equal(news[0]!.by, ada.player!.id);
    assert.equal(rb.paused, true);
    await assert.rejects(ra.act({ type: 'turn', dir: 'left' }), { code: 'PAUSED' });
    ra.resume();
    await waitFor(() => news.length === 2, 'the resume');
    assert.equal(rb.paused, false);
    const resumed = rb.version;
    await waitFor(() => rb.version > resumed, 'a tick after the resume');
    ada.close();
    bob.close();
  });
});
