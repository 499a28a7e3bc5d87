/** MessagePack and long-poll against a real server. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FetchLike, TicTacToeAction, TicTacToeView } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, playScripted, seatedPair, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('MessagePack', () => {
  it('plays a game over MessagePack frames', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada', encoding: 'msgpack' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob', encoding: 'msgpack' });
    const { ra, rb } = await seatedPair(ada, bob);
    assert.equal(ada.encoding, 'msgpack');
    assert.equal(bob.encoding, 'msgpack');
    // A JSON spectator sees exactly what the MessagePack players see.
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    await cy.connect();
    const rc = await cy.join<TicTacToeView, TicTacToeAction>(ra.code);
    const v = await playScripted(ra, rb, ada);
    await waitFor(() => rc.version === v, 'the spectator');
    assert.equal(ra.view!.over, true);
    assert.deepStrictEqual(ra.view, rb.view);
    assert.deepStrictEqual(ra.view, rc.view);
    await assert.rejects(ra.act({ type: 'move', row: 2, col: 2 }), { code: 'GAME_OVER' });
    for (const c of [ada, bob, cy]) c.close();
  });

  it('plays against a bot over MessagePack', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada', encoding: 'msgpack' });
    await ada.connect();
    const room = await ada.create({ game: 'tictactoe', public: false });
    await room.addBot();
    const me = ada.player!.id;
    for (;;) {
      await waitFor(() => room.view!.over || room.view!.turn === me, 'my turn or the end');
      if (room.view!.over) break;
      const cell = room.view!.board.indexOf(null);
      await room.act({ type: 'move', row: Math.floor(cell / 3), col: cell % 3 });
    }
    assert.notEqual(room.view!.winner, me, 'the bot plays perfectly');
    ada.close();
  });
});

describe('long-poll', () => {
  it('plays a game over long-poll against a WebSocket player', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada', transport: 'longpoll' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const { ra, rb } = await seatedPair(ada, bob);
    assert.equal(ada.transport, 'longpoll');
    assert.equal(ada.encoding, 'json');
    const v = await playScripted(ra, rb, ada);
    assert.equal(ra.version, v);
    assert.deepStrictEqual(ra.view, rb.view);
    assert.equal(ra.view!.over, true);
    assert.ok((await ada.ping()) >= 0);
    ada.close();
    bob.close();
  });

  it('auto falls back to long-poll when the WebSocket cannot open', async () => {
    const ada = nodeClient({
      url: `ws://127.0.0.1:${server.port}/no-websocket-here`,
      longPollUrl: `${server.httpUrl}/lp`,
      transport: 'auto',
      name: 'Ada',
    });
    await ada.connect();
    assert.equal(ada.transport, 'longpoll');
    const room = await ada.create({ game: 'tictactoe', public: false });
    assert.equal(room.version, 1);
    ada.close();
  });

  it('resumes over long-poll when the session ends under it', async () => {
    let sid = '';
    const recording: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if (init?.method === 'POST' && url.endsWith('/lp')) {
        const body = await res.clone().json();
        sid = body.sid;
      }
      return res;
    };
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada', transport: 'longpoll', fetch: recording });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const { ra, rb } = await seatedPair(ada, bob);
    const first = sid;
    const reconnecting = new Promise<void>((res) => ada.on('state', (s) => s === 'reconnecting' && res()));
    await fetch(`${server.httpUrl}/lp/${first}`, { method: 'DELETE' }); // the session ends
    await reconnecting;
    const v = await playScripted(ra, rb, ada);
    assert.notEqual(sid, first, 'a new session');
    assert.equal(ra.version, v);
    assert.deepStrictEqual(ra.view, rb.view);
    ada.close();
    bob.close();
  });
});
