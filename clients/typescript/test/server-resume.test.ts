/**
 * Reconnect and resume against a real server, with a TCP proxy between the client and the
 * server to kill the connection abruptly, keep the client out, or lose the server's answers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ArbiterError } from '@arbiter/client';
import type { ServerMsg, StateInfo, UnknownMsg } from '@arbiter/client';
import { TcpProxy } from './helpers/proxy.js';
import { startServer, type TestServer } from './helpers/server.js';
import { marks, move, mover, nodeClient, seatedPair, waitFor, type TTTRoom } from './helpers/util.js';

let server: TestServer;
let proxy: TcpProxy;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function pairThroughProxy() {
  proxy = await TcpProxy.start(server.port);
  const ada = nodeClient({ url: proxy.wsUrl, name: 'Ada', heartbeat: false });
  const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
  const { ra, rb } = await seatedPair(ada, bob);
  const log: Array<ServerMsg | UnknownMsg> = [];
  ada.on('message', (m) => log.push(m));
  const states: Array<[string, StateInfo]> = [];
  ada.on('state', (s, i) => states.push([s, i]));
  return { ada, bob, ra, rb, log, states };
}

/** Make it Ada's turn (Bob moves first if he starts). */
async function adasTurn(ra: TTTRoom, rb: TTTRoom, adaId: string): Promise<void> {
  if (rb.view!.turn !== adaId) {
    const free = rb.view!.board.lastIndexOf(null);
    await rb.act(move(free));
  }
  await waitFor(() => ra.view!.turn === adaId, "Ada's turn");
}

describe('reconnect and resume (real server)', () => {
  it('resumes the same seat after an abrupt drop, catching up with patches from the held version', async () => {
    const { ada, bob, ra, rb, log, states } = await pairThroughProxy();
    const id = ada.player!.id;
    if (mover(ra, rb, ada) === ra) await ra.act(move(0));
    await waitFor(() => rb.view!.turn === bob.player!.id && ra.version === rb.version, "Bob's turn");
    const held = ra.version;

    proxy.blocked = true;
    proxy.cut();
    await waitFor(() => ada.state === 'reconnecting', 'the client to notice');
    await waitFor(() => rb.members.find((m) => m.id === id)?.connected === false, 'Bob to see Ada disconnected');
    const bv = await rb.act(move(4)); // Bob moves while Ada is away
    assert.equal(ra.version, held, 'Ada saw nothing meanwhile');
    log.length = 0;

    proxy.blocked = false;
    await waitFor(() => ada.state === 'open' && ra.version === bv, 'the resume');
    assert.equal(ada.player!.id, id, 'the same player');
    assert.equal(ra.role, 'player');
    assert.equal(ra.view!.players[id]!.mark, 'X', 'the same seat');
    assert.deepStrictEqual(ra.view, rb.view);
    assert.equal(ra.version, rb.version);
    assert.equal(states.find(([s]) => s === 'reconnecting')![1].code, 1006);
    assert.equal(states.at(-1)![1].resumed, true);
    // joined, then exactly the missed state: patches from the held version (or one snapshot).
    const state = log.filter((m) => m.t === 'patch' || m.t === 'snapshot');
    assert.equal(log.find((m) => m.t === 'joined')?.t, 'joined');
    if (state[0]!.t === 'patch') {
      assert.equal((state[0] as { from: number }).from, held);
    } else {
      assert.equal(state.length, 1);
    }
    // The seat works.
    const v = await ra.act(move(ra.view!.board.indexOf(null)));
    await waitFor(() => rb.version === v, 'Bob to see Ada move');
    await waitFor(() => rb.members.find((m) => m.id === id)?.connected === true, 'Bob to see Ada back');
    ada.close();
    bob.close();
    await proxy.close();
  });

  it('queues an action made offline and applies it exactly once on resume', async () => {
    const { ada, bob, ra, rb } = await pairThroughProxy();
    await adasTurn(ra, rb, ada.player!.id);
    const held = ra.version;
    const before = marks(ra.view!);
    const cell = ra.view!.board.indexOf(null);

    proxy.blocked = true;
    proxy.cut();
    await waitFor(() => ada.state === 'reconnecting', 'the client to notice');
    const p = ra.act(move(cell));
    assert.equal(ra.pendingActions, 1);
    await new Promise((r) => setTimeout(r, 100)); // a few failed attempts
    assert.equal(rb.version, held, 'nothing reached the server');

    proxy.blocked = false;
    const v = await p;
    assert.equal(v, held + 1, 'one new version');
    await waitFor(() => rb.version === v && ra.version === v, 'both views');
    assert.equal(rb.view!.board[cell], 'X');
    assert.equal(marks(rb.view!), before + 1, 'applied exactly once');
    assert.deepStrictEqual(ra.view, rb.view);
    assert.equal(ra.pendingActions, 0);
    ada.close();
    bob.close();
    await proxy.close();
  });

  it('resends an action whose ack was lost: answered again, not applied twice', async () => {
    const { ada, bob, ra, rb, log } = await pairThroughProxy();
    await adasTurn(ra, rb, ada.player!.id);
    const held = ra.version;
    const cell = ra.view!.board.indexOf(null);

    proxy.blackhole = true; // the server's answers are lost from now on
    const p = ra.act(move(cell));
    const seq = ra.seq;
    await waitFor(() => rb.view!.board[cell] === 'X', 'the server to apply it');
    const applied = rb.version;
    assert.equal(applied, held + 1);
    assert.equal(ra.version, held, 'Ada got neither the patch nor the ack');

    log.length = 0;
    proxy.cut();
    proxy.blackhole = false;
    const v = await p;
    assert.equal(v, applied, 'the ack names the version it was applied at');
    const ack = log.find((m) => m.t === 'ack') as { seq: number; v: number } | undefined;
    assert.deepStrictEqual([ack?.seq, ack?.v], [seq, applied]);
    const joined = log.find((m) => m.t === 'joined') as { seq: number } | undefined;
    assert.equal(joined?.seq, seq, 'joined.seq = the highest seq the server has');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rb.version, applied, 'not applied twice');
    assert.equal(ra.version, applied);
    assert.equal(rb.view!.board.filter((c) => c === 'X').length, ra.view!.board.filter((c) => c === 'X').length);
    assert.deepStrictEqual(ra.view, rb.view);
    ada.close();
    bob.close();
    await proxy.close();
  });

  it('sends a leave made while offline after reconnecting, and the server applies it', async () => {
    const { ada, bob, ra, rb } = await pairThroughProxy();
    proxy.blocked = true;
    proxy.cut();
    await waitFor(() => ada.state === 'reconnecting', 'the client to notice');
    const leaving = ra.leave();
    proxy.blocked = false;
    await leaving;
    assert.equal(ra.active, false);
    await waitFor(() => rb.members.length === 1, 'Bob to see Ada leave');
    assert.equal(rb.members[0]!.id, bob.player!.id);
    ada.close();
    bob.close();
    await proxy.close();
  });

  it('sends a leave whose answer was lost again, without taking the seat back', async () => {
    const { ada, bob, ra, rb, log } = await pairThroughProxy();
    proxy.blackhole = true; // the server's answers are lost from now on
    const leaving = ra.leave();
    await waitFor(() => rb.members.length === 1, 'the server to apply it');
    const v = rb.version;
    proxy.cut();
    proxy.blackhole = false;
    log.length = 0;
    await leaving;
    assert.equal(ra.active, false);
    const again = log.find((m) => m.t === 'error') as { code: string } | undefined;
    assert.equal(again?.code, 'NOT_IN_ROOM', 'sent again, and found already applied');
    await waitFor(() => ada.state === 'open', 'the reconnection');
    await bob.ping(); // anything the resend caused reached Bob before this answer
    assert.equal(rb.members.length, 1, 'Ada did not come back');
    assert.equal(rb.version, v, 'nothing happened in the room since the leave');
    ada.close();
    bob.close();
    await proxy.close();
  });

  it('notices a dead connection with the heartbeat and recovers', async () => {
    proxy = await TcpProxy.start(server.port);
    const ada = nodeClient({ url: proxy.wsUrl, name: 'Ada', heartbeat: { intervalMs: 50, timeoutMs: 300 } });
    const states: Array<[string, StateInfo]> = [];
    ada.on('state', (s, i) => states.push([s, i]));
    await ada.connect();
    const room = await ada.create({ game: 'tictactoe', public: false });
    assert.ok(typeof ada.latencyMs === 'undefined' || ada.latencyMs >= 0);
    proxy.blackhole = true; // the TCP connection stays up; nothing comes back
    await waitFor(() => ada.state === 'reconnecting', 'the heartbeat to notice');
    assert.equal(states.find(([s]) => s === 'reconnecting')![1].code, 4004);
    proxy.blackhole = false;
    await waitFor(() => ada.state === 'open', 'the reconnection');
    await room.sync();
    assert.ok((await ada.ping()) >= 0);
    assert.equal(room.role, 'player');
    ada.close();
    await proxy.close();
  });

  it('comes back after a server restart (1012) as the same player; a room that did not survive is reported gone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'arbiter-sdk-restart-'));
    let first = await startServer({ dataDir });
    const ada = nodeClient({ url: first.wsUrl, name: 'Ada' });
    try {
      const states: Array<[string, StateInfo]> = [];
      ada.on('state', (s, i) => states.push([s, i]));
      await ada.connect();
      const id = ada.player!.id;
      const room = await ada.create({ game: 'tictactoe', public: false });
      const left = new Promise<ArbiterError | undefined>((res) => room.on('left', res));
      // Listen before the restart: the rejoin can complete before 'open' is observed.
      const rejoined = new Promise<'resumed'>((res) => room.on('joined', () => res('resumed')));
      await first.stop(); // SIGTERM: the server closes with 1012
      await waitFor(() => ada.state === 'reconnecting', 'the client to notice the restart');
      assert.equal(states.find(([s]) => s === 'reconnecting')![1].code, 1012);
      first = await startServer({ dataDir, port: first.port });
      await waitFor(() => ada.state === 'open', 'the reconnection');
      assert.equal(ada.player!.id, id, 'the token outlives the restart (the secret is in the data dir)');
      // Durable rooms (the default: SQLite in the data dir) are resumed; with
      // `--database-url memory` the room is gone and reported so.
      const outcome = await Promise.race([left, rejoined]);
      if (outcome === 'resumed') {
        assert.equal(room.role, 'player');
      } else {
        assert.equal(outcome?.code, 'ROOM_NOT_FOUND');
        assert.equal(room.active, false);
        assert.equal(ada.rooms.size, 0);
      }
    } finally {
      ada.close();
      await first.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
