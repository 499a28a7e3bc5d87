/** The SDK against a real `arbiter serve`: rooms, actions, errors, presence, predictions. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArbiterError, predictTicTacToe, type PresenceMsg, type TicTacToeAction, type TicTacToeView, type ViewInfo } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { marks, mover, move, nodeClient, playScripted, seatedPair, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

describe('rooms and actions', () => {
  it('plays a game to a win; every member converges on the same view', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const states: string[] = [];
    ada.on('state', (s) => states.push(s));
    const player = await ada.connect();
    assert.match(player.id, /^p_[0-9a-f]{16}$/);
    assert.equal(player.name, 'Ada');
    // A guest token: `v2.<key id>.<player id>.<issued ms>.<mac>` (docs/protocol.md).
    assert.match(ada.token!, /^v2\.[0-9]+\.p_[0-9a-f]+\.[0-9]+\./);
    assert.deepStrictEqual(states, ['connecting', 'open']);
    assert.equal(ada.transport, 'websocket');
    assert.equal(ada.encoding, 'json');

    const { ra, rb } = await seatedPair(ada, bob);
    assert.equal(ra.game, 'tictactoe');
    assert.match(ra.code, /^[A-Z]{6}$/);
    assert.equal(ra.role, 'player');
    assert.deepStrictEqual(Object.keys(ra.view!.players).sort(), [ada.player!.id, bob.player!.id].sort());
    assert.equal(ra.view!.players[ada.player!.id]!.mark, 'X');

    // A spectator sees the same public view.
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    await cy.connect();
    const rc = await cy.join<TicTacToeView, TicTacToeAction>(ra.id);
    assert.equal(rc.role, 'spectator');
    assert.match(rc.notice ?? '', /spectator/);
    await assert.rejects(rc.act(move(8)), { code: 'NOT_A_PLAYER' });

    const v = await playScripted(ra, rb, ada);
    await waitFor(() => rc.version === v, 'the spectator to catch up');
    for (const r of [ra, rb, rc]) {
      assert.equal(r.view!.over, true);
      assert.deepStrictEqual(r.view!.line, [0, 1, 2]);
      assert.deepStrictEqual(r.view, ra.view);
      assert.deepStrictEqual(r.serverView, r.view);
    }
    await assert.rejects(ra.act(move(8)), (e: unknown) => e instanceof ArbiterError && e.code === 'GAME_OVER');
    // Either player may restart.
    const rv = await rb.act({ type: 'restart' });
    await waitFor(() => ra.version === rv, 'the restart');
    assert.equal(ra.view!.round, 2);
    assert.equal(marks(ra.view!), 0);
    for (const c of [ada, bob, cy]) c.close();
  });

  it('answers refusals with typed errors carrying the server code and details', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const { ra, rb } = await seatedPair(ada, bob);
    const waiting = mover(ra, rb, ada) === ra ? rb : ra;
    const err = await waiting.act(move(4)).then(
      () => assert.fail('accepted out of turn'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ArbiterError);
    assert.equal(err.code, 'NOT_YOUR_TURN');
    assert.equal(err.room, ra.id);
    assert.equal(typeof err.seq, 'number');
    // A stale base is refused with the current version in details.
    const moving = waiting === ra ? rb : ra;
    await assert.rejects(moving.act(move(4), { base: moving.version - 1 }), (e: unknown) => {
      return e instanceof ArbiterError && e.code === 'STALE' && (e.details as { v: number }).v === moving.version;
    });
    assert.ok((await moving.act(move(4), { base: true })) > 0);
    await assert.rejects(ada.join('QQQQQ'), { code: 'ROOM_NOT_FOUND' });
    await assert.rejects(ada.create({ game: 'nope' }), { code: 'UNKNOWN_GAME' });
    await assert.rejects(ra.addBot(), { code: 'ROOM_FULL' });
    await assert.rejects(waiting.act({ type: 'jump' } as unknown as TicTacToeAction), { code: 'INVALID_ACTION' });
    ada.close();
    bob.close();
  });

  it('reports presence, bots, leaving and seeded rooms', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    await ada.connect();
    await bob.connect();
    const ra = await ada.create({ game: 'tictactoe', seed: 7, maxSpectators: 4, public: false });
    const seen: PresenceMsg[] = [];
    ra.on('presence', (p) => seen.push(p));
    const rb = await bob.join(ra.code.toLowerCase(), { as: 'spectator' });
    assert.equal(rb.role, 'spectator');
    await waitFor(() => seen.length === 1, 'the joined presence');
    assert.equal(seen[0]!.event, 'joined');
    assert.equal(seen[0]!.member.name, 'Bob');
    assert.equal(ra.members.length, 2);

    const bot = await ra.addBot();
    assert.equal(bot.bot, true);
    await waitFor(() => ra.members.some((m) => m.bot), 'the bot in the member list');
    await rb.leave();
    assert.equal(rb.active, false);
    assert.equal(bob.rooms.size, 0);
    await waitFor(() => seen.some((p) => p.event === 'left' && p.member.name === 'Bob'), 'the left presence');
    await assert.rejects(rb.act(move(0)), { code: 'NOT_IN_ROOM' });
    ada.close();
    bob.close();
  });

  it('a new client with the same token gets the seat back; its seqs, another instance\'s, are never taken for retries', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const { ra, rb } = await seatedPair(ada, bob);
    if (mover(ra, rb, ada) === rb) await rb.act(move(8));
    await waitFor(() => ra.view!.turn === ada.player!.id, "Ada's turn");
    await ra.act(move(0));
    assert.equal(ra.seq, 1);
    ada.close();

    // A "page reload": a fresh client (a new instance), the same token, no memory of seqs.
    const ada2 = nodeClient({ url: server.wsUrl, token: ada.token! });
    const me = await ada2.connect();
    assert.equal(me.id, ada.player!.id);
    const ra2 = await ada2.join<TicTacToeView, TicTacToeAction>(ra.code);
    assert.equal(ra2.role, 'player');
    assert.notEqual(ada2.instance, ada.instance);
    assert.equal(ra2.seq, 0, 'joined.seq counts this instance\'s seqs: none yet');
    await rb.act(move(rb.view!.board[4] === null ? 4 : 5));
    await waitFor(() => ra2.view!.turn === me.id, "Ada's turn again");
    const cell = ra2.view!.board.findIndex((c) => c === null);
    const v = await ra2.act(move(cell));
    assert.equal(ra2.seq, 1, 'the seq the first client used too');
    await waitFor(() => rb.version === v, 'Bob to see it');
    assert.equal(rb.view!.board[cell], 'X', 'applied, not mistaken for a retry of seq 1');
    ada2.close();
    bob.close();
  });
});

describe('optimistic updates against the server', () => {
  it('shows a predicted move at once, rolls back a refused one, converges on the server view', async () => {
    const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
    const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
    const { ra, rb } = await seatedPair(ada, bob);
    if (mover(ra, rb, ada) === rb) await rb.act(move(8));
    await waitFor(() => ra.view!.turn === ada.player!.id, "Ada's turn");
    const reasons: ViewInfo['reason'][] = [];
    ra.on('view', (_v, info) => reasons.push(info.reason));

    ra.predict = predictTicTacToe;
    const p = ra.act(move(4));
    assert.equal(ra.view!.board[4], 'X', 'predicted at once');
    assert.equal(ra.serverView!.board[4], null);
    assert.equal(ra.view!.turn, bob.player!.id);
    const v = await p;
    assert.equal(ra.version, v);
    assert.deepStrictEqual(ra.view, ra.serverView);

    // Out of turn with the rule-aware predictor: nothing is shown, and it is refused.
    const before = ra.view;
    const refused = ra.act(move(0));
    assert.deepStrictEqual(ra.view, before);
    await assert.rejects(refused, { code: 'NOT_YOUR_TURN' });

    // A naive predictor shows the move; the reject rolls it back.
    ra.predict = (view, action) => {
      if (action.type === 'move') view.board[action.row * 3 + action.col] = 'X';
    };
    const wrong = ra.act(move(0));
    assert.equal(ra.view!.board[0], 'X');
    await assert.rejects(wrong, { code: 'NOT_YOUR_TURN' });
    assert.equal(ra.view!.board[0], null, 'rolled back');
    assert.deepStrictEqual(ra.view, ra.serverView);
    assert.ok(reasons.includes('predict') && reasons.includes('reject'));

    const bv = await rb.act(move(2));
    await waitFor(() => ra.version === bv, 'Bob’s move to reach Ada');
    assert.deepStrictEqual(ra.view, rb.view);
    assert.deepStrictEqual(ra.view, ra.serverView);
    ada.close();
    bob.close();
  });
});
