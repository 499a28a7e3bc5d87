/**
 * A party through the SDK against a real server: gather, pick tic-tac-toe, ready up, the host
 * launches, the two ready members play it in its own room, and the party hears the result.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArbiterError, type TicTacToeAction, type TicTacToeView } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { move, nodeClient, waitFor } from './helpers/util.js';

interface PartyView {
  host: string;
  playing?: { room: string; code: string; players: string[] };
  history: Array<{ room: string; ranking: string[][] | null }>;
}

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('party', () => {
  it('picks, launches, plays and hears the result', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    await Promise.all([ada.connect(), bob.connect()]);
    const pa = await ada.create<'party'>({ game: 'party' });
    const pb = await bob.join<PartyView, unknown>(pa.id);
    await pa.act({ type: 'pick', game: 'tictactoe' });
    await pa.act({ type: 'ready', ready: true });
    await pb.act({ type: 'ready', ready: true });
    await assert.rejects(bob.launch(pa.id), (e: ArbiterError) => e.code === 'FORBIDDEN');

    const game = await ada.launch(pa.id);
    assert.equal(game.game, 'tictactoe');
    await waitFor(() => pb.view?.playing?.room === game.id, 'bob to see where to go');

    const ga = await ada.join<TicTacToeView, TicTacToeAction>(game.id, { as: 'player' });
    const gb = await bob.join<TicTacToeView, TicTacToeAction>(pb.view!.playing!.code, { as: 'player' });
    await waitFor(() => ga.view?.turn != null && ga.version === gb.version, 'the game to start');
    const x = ga.view!.turn === ada.player!.id ? ga : gb;
    const o = x === ga ? gb : ga;
    for (const [room, cell] of [[x, 0], [o, 3], [x, 1], [o, 4], [x, 2]] as const) await room.act(move(cell));
    await waitFor(() => pb.view?.history.length === 1, 'the party to hear the end');
    assert.equal(pb.view!.playing, undefined);
    assert.deepEqual(pb.view!.history[0].ranking?.[0], [x === ga ? ada.player!.id : bob.player!.id]);
    ada.close();
    bob.close();
  });

  it('a party with a password admits a newcomer only with it', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    await Promise.all([ada.connect(), bob.connect()]);
    const pa = await ada.create({ game: 'party', password: 'open sesame' });
    assert.equal(pa.info.locked, true);
    await assert.rejects(bob.join(pa.code), (e: ArbiterError) => e.code === 'JOIN_REFUSED');
    await assert.rejects(bob.join(pa.code, { password: 'nope' }), (e: ArbiterError) => e.code === 'JOIN_REFUSED');
    const pb = await bob.join(pa.code, { password: 'open sesame' });
    assert.equal(pb.role, 'player');
    ada.close();
    bob.close();
  });
});
