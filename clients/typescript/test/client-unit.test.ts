/**
 * Client behaviour against a scripted in-process server (a fake WebSocket), where every
 * message and its timing is under the test's control: rebasing predictions, the patch rules,
 * the resume sequence, backoff, limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArbiterClient, ArbiterError, type ClientOptions, type ConnectionState, type StateInfo, type WebSocketConstructor } from '@arbiter/client';
import { waitFor } from './helpers/util.js';

type Msg = Record<string, any>;

class FakeServer {
  sockets: FakeSocket[] = [];
  received: Msg[] = [];
  v = 1;
  view: unknown = { log: [] };
  maxFrame = 65536;
  joinedSeq = 0;
  /** Refuse connections (close before open). */
  refuse = false;
  /** Record messages without answering them (answers lost with the connection). */
  silent = false;

  get socket(): FakeSocket {
    return this.sockets[this.sockets.length - 1]!;
  }

  handle(msg: Msg, sock: FakeSocket): void {
    this.received.push(msg);
    if (this.silent) return;
    const room = { id: 'r_1', code: 'ABCDE', game: 'log', public: true, max_players: 2, max_spectators: 8, players: 1, spectators: 0, status: 'playing', v: this.v };
    const members = [{ id: 'p_1', name: 'Ada', role: 'player', connected: true }];
    if (msg.t === 'hello') {
      sock.deliver({ t: 'welcome', v: 1, player: { id: 'p_1', name: 'Ada' }, token: `tok${this.sockets.length}`, max_frame: this.maxFrame });
    } else if (msg.t === 'create' || (msg.t === 'join' && msg.since === undefined)) {
      sock.deliver([
        { t: 'joined', rid: msg.rid, room, role: 'player', members, seq: this.joinedSeq },
        { t: 'snapshot', room: 'r_1', v: this.v, view: this.view },
      ]);
    } else if (msg.t === 'join') {
      sock.deliver({ t: 'joined', rid: msg.rid, room, role: 'player', members, seq: this.joinedSeq });
    }
  }

  constructor() {
    const server = this;
    class FakeSocket {
      binaryType = 'blob';
      protocol = '';
      readyState = 0;
      onopen: any = null;
      onmessage: any = null;
      onclose: any = null;
      onerror: any = null;
      constructor(
        readonly url: string,
        readonly protocols?: string | string[],
      ) {
        server.sockets.push(this as any);
        setTimeout(() => {
          if (server.refuse) {
            this.readyState = 3;
            this.onclose?.({ code: 1006, reason: 'refused' });
          } else {
            this.readyState = 1;
            this.onopen?.({});
          }
        }, 0);
      }
      send(data: string): void {
        server.handle(JSON.parse(data), this as any);
      }
      close(): void {
        this.readyState = 3;
      }
      deliver(msgs: unknown): void {
        if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(msgs) });
      }
      drop(code = 1006, reason = ''): void {
        this.readyState = 3;
        this.onclose?.({ code, reason });
      }
    }
    this.WebSocket = FakeSocket as unknown as WebSocketConstructor;
  }
  WebSocket: WebSocketConstructor;

  client(options: Partial<ClientOptions> = {}): ArbiterClient {
    return new ArbiterClient({
      url: 'ws://fake/ws',
      WebSocket: this.WebSocket,
      heartbeat: false,
      reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
      ...options,
    });
  }
}
type FakeSocket = { deliver(m: unknown): void; drop(code?: number, reason?: string): void; readyState: number };

interface LogView {
  log: string[];
}
type LogAction = { add: string };
const appendPredict = (view: LogView, action: LogAction) => {
  view.log.push(action.add);
};

async function setup(options: Partial<ClientOptions> = {}) {
  const server = new FakeServer();
  const client = server.client(options);
  await client.connect();
  const room = await client.join<LogView, LogAction>('ABCDE');
  return { server, client, room };
}

const sent = (server: FakeServer, t: string) => server.received.filter((m) => m.t === t);

describe('optimistic updates', () => {
  it('rebases pending predictions on server patches and rolls back a reject', async () => {
    const { server, client, room } = await setup();
    const shown: string[][] = [];
    room.on('view', (v) => shown.push([...v.log]));
    room.predict = appendPredict;

    const a = room.act({ add: 'a' });
    assert.deepStrictEqual(room.view!.log, ['a'], 'the prediction shows at once');
    assert.deepStrictEqual(room.serverView!.log, [], 'the server view is untouched');

    // Another player's entry lands first: the prediction is re-applied on top of it.
    server.socket.deliver({ t: 'patch', room: 'r_1', from: 1, v: 2, ops: [{ op: 'add', path: '/log/-', value: 'z' }] });
    assert.deepStrictEqual(room.view!.log, ['z', 'a']);
    const b = room.act({ add: 'b' });
    assert.deepStrictEqual(room.view!.log, ['z', 'a', 'b']);

    // Our first action is applied: its patch and its ack come in one frame.
    server.socket.deliver([
      { t: 'patch', room: 'r_1', from: 2, v: 3, ops: [{ op: 'add', path: '/log/-', value: 'a' }] },
      { t: 'ack', room: 'r_1', seq: 1, v: 3 },
    ]);
    assert.equal(await a, 3);
    assert.deepStrictEqual(room.view!.log, ['z', 'a', 'b']);
    assert.ok(!shown.some((s) => s.join() === 'z,a,a,b'), 'no frame shows the action twice');

    server.socket.deliver({ t: 'reject', room: 'r_1', seq: 2, code: 'INVALID_MOVE', message: 'no b', details: { why: 1 } });
    await assert.rejects(b, (e: unknown) => e instanceof ArbiterError && e.code === 'INVALID_MOVE' && e.seq === 2 && (e.details as any).why === 1);
    assert.deepStrictEqual(room.view, room.serverView, 'rolled back to the server view');
    assert.deepStrictEqual(room.view!.log, ['z', 'a']);
    assert.deepStrictEqual(shown.at(-1), ['z', 'a']);
    client.close();
  });

  it('keeps an acked prediction until the view reaches its version, and skips one that throws', async () => {
    const { server, client, room } = await setup();
    room.predict = (view, action) => {
      if (action.add === 'bad') throw new Error('would not apply');
      view.log.push(action.add);
    };
    const a = room.act({ add: 'a' });
    const bad = room.act({ add: 'bad' });
    assert.deepStrictEqual(room.view!.log, ['a']);
    // The ack overtakes the state (the patches were collapsed into a coming snapshot).
    server.socket.deliver({ t: 'ack', room: 'r_1', seq: 1, v: 5 });
    assert.equal(await a, 5);
    assert.deepStrictEqual(room.view!.log, ['a'], 'still shown: the server view does not have it yet');
    server.socket.deliver({ t: 'snapshot', room: 'r_1', v: 5, view: { log: ['x', 'a'] } });
    assert.deepStrictEqual(room.view!.log, ['x', 'a']);
    assert.equal(room.version, 5);
    server.socket.deliver({ t: 'reject', room: 'r_1', seq: 2, code: 'INVALID_ACTION', message: 'bad' });
    await assert.rejects(bad, { code: 'INVALID_ACTION' });
    client.close();
  });
});

describe('patch rules', () => {
  it('applies only on the held version, ignores old ones, re-syncs otherwise', async () => {
    const { server, client, room } = await setup();
    const errors: ArbiterError[] = [];
    room.on('error', (e) => errors.push(e));
    const syncs = () => sent(server, 'sync').length;

    server.socket.deliver({ t: 'patch', room: 'r_1', from: 1, v: 2, ops: [{ op: 'add', path: '/log/-', value: 'a' }] });
    assert.equal(room.version, 2);
    // Older than what is held: ignored, no sync.
    server.socket.deliver({ t: 'patch', room: 'r_1', from: 1, v: 2, ops: [{ op: 'add', path: '/log/-', value: 'a' }] });
    assert.deepStrictEqual(room.serverView!.log, ['a']);
    assert.equal(syncs(), 0);
    // A gap: not applied, one sync (not one per patch).
    server.socket.deliver({ t: 'patch', room: 'r_1', from: 3, v: 4, ops: [{ op: 'add', path: '/log/-', value: 'c' }] });
    server.socket.deliver({ t: 'patch', room: 'r_1', from: 4, v: 5, ops: [{ op: 'add', path: '/log/-', value: 'd' }] });
    assert.equal(room.version, 2);
    assert.equal(syncs(), 1);
    assert.deepStrictEqual(sent(server, 'sync')[0], { t: 'sync', room: 'r_1' });
    // A snapshot always replaces the view, also jumping ahead.
    server.socket.deliver({ t: 'snapshot', room: 'r_1', v: 9, view: { log: ['s'] } });
    assert.equal(room.version, 9);
    assert.deepStrictEqual(room.view, { log: ['s'] });
    // A patch that does not apply: kept as it was, atomically, and re-synced.
    server.socket.deliver({
      t: 'patch', room: 'r_1', from: 9, v: 10,
      ops: [{ op: 'add', path: '/log/-', value: 'x' }, { op: 'test', path: '/log/0', value: 'nope' }],
    });
    assert.equal(room.version, 9);
    assert.deepStrictEqual(room.serverView, { log: ['s'] });
    assert.equal(syncs(), 2);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, 'PATCH_FAILED');
    const synced = room.sync();
    server.socket.deliver({ t: 'snapshot', room: 'r_1', v: 10, view: { log: ['s', 'x'] } });
    await synced;
    assert.equal(room.version, 10);
    client.close();
  });
});

describe('reconnect and resume', () => {
  it('backs off with jitter, then hellos with the token, re-joins with since and resends with the original seqs', async () => {
    const { server, client, room } = await setup({ reconnect: { initialDelayMs: 10, maxDelayMs: 40, jitter: 1 } });
    const states: Array<[ConnectionState, StateInfo]> = [];
    client.on('state', (s, info) => states.push([s, info]));
    server.socket.deliver({ t: 'patch', room: 'r_1', from: 1, v: 2, ops: [{ op: 'add', path: '/log/-', value: 'a' }] });
    const first = room.act({ add: 'x' }); // sent, never answered
    const token = client.token;

    server.refuse = true;
    server.received.length = 0;
    server.socket.drop(1006);
    const queued = room.act({ add: 'y' }); // offline: queued
    assert.equal(room.pendingActions, 2);
    await waitFor(() => states.filter(([s]) => s === 'reconnecting').length >= 4, 'several attempts');
    const attempts = states.filter(([s]) => s === 'reconnecting').map(([, i]) => i);
    assert.deepStrictEqual(attempts.slice(0, 4).map((i) => i.attempt), [1, 2, 3, 4]);
    assert.equal(attempts[0]!.code, 1006);
    attempts.forEach((i) => assert.ok(i.delayMs! >= 0 && i.delayMs! <= Math.min(40, 10 * 2 ** (i.attempt! - 1))));
    assert.equal(server.received.length, 0, 'nothing is sent while the server is unreachable');

    server.refuse = false;
    server.joinedSeq = 1; // the server saw seq 1
    await waitFor(() => client.state === 'open', 'the reconnection');
    assert.equal(states.at(-1)![1].resumed, true);
    assert.deepStrictEqual(
      server.received.map((m) => m.t),
      ['hello', 'join', 'act', 'act'],
      'hello, join, then the unanswered actions in seq order',
    );
    assert.equal(server.received[0]!.token, token);
    assert.deepStrictEqual(server.received[1], { t: 'join', rid: server.received[1]!.rid, room: 'r_1', as: 'any', since: 2 });
    assert.deepStrictEqual(server.received.slice(2).map((m) => [m.seq, m.action.add]), [[1, 'x'], [2, 'y']]);
    server.socket.deliver([
      { t: 'ack', room: 'r_1', seq: 1, v: 3 },
      { t: 'ack', room: 'r_1', seq: 2, v: 4 },
    ]);
    assert.deepStrictEqual([await first, await queued], [3, 4]);
    client.close();
  });

  it('sends a leave whose answer was lost again after reconnecting, without re-joining; re-joins to leave when it was asked offline', async () => {
    const { server, client, room } = await setup();
    server.silent = true;
    const leaving = room.leave(); // sent; the answer is lost with the connection
    server.received.length = 0;
    server.socket.drop();
    server.silent = false;
    await waitFor(() => server.received.some((m) => m.t === 'leave'), 'the leave sent again');
    assert.deepStrictEqual(server.received.map((m) => m.t), ['hello', 'leave'], 'no re-join of the room being left');
    assert.equal(server.received[1]!.room, 'r_1');
    // It had arrived the first time: the server no longer has the player there.
    server.socket.deliver({ t: 'error', rid: server.received[1]!.rid, code: 'NOT_IN_ROOM', message: 'not in this room', details: { room: 'r_1' } });
    await leaving;
    assert.equal(room.active, false);

    const again = await client.join<LogView, LogAction>('ABCDE');
    server.refuse = true;
    server.socket.drop();
    const offline = again.leave(); // asked while offline
    server.received.length = 0;
    server.refuse = false;
    await waitFor(() => server.received.some((m) => m.t === 'leave'), 'the leave');
    assert.deepStrictEqual(server.received.map((m) => m.t), ['hello', 'join', 'leave']);
    const leave = server.received[2]!;
    server.socket.deliver({ t: 'left', rid: leave.rid, room: 'r_1' });
    await offline;
    assert.equal(again.active, false);
    client.close();
  });

  it('names one client instance in every hello, kept across reconnects', async () => {
    const { server, client } = await setup();
    assert.match(client.instance, /^[0-9a-f]{32}$/);
    server.socket.drop();
    await waitFor(() => sent(server, 'hello').length === 2 && client.state === 'open', 'the reconnection');
    assert.deepStrictEqual(sent(server, 'hello').map((m) => m.instance), [client.instance, client.instance]);
    const other = new FakeServer().client();
    assert.notEqual(other.instance, client.instance, 'another tab is another instance');
    client.close();
  });

  it('sends a create whose answer was lost again with the same key', async () => {
    const server = new FakeServer();
    const client = server.client();
    await client.connect();
    server.silent = true;
    const creating = client.create({ game: 'log' });
    const first = sent(server, 'create')[0]!;
    assert.match(first.key, /^[0-9a-f]{32}$/);
    server.socket.drop();
    server.silent = false;
    const room = await creating;
    const creates = sent(server, 'create');
    assert.equal(creates.length, 2);
    assert.deepStrictEqual(creates[1], first, 'the same request, key and all');
    assert.equal(room.id, 'r_1');
    const other = client.create({ game: 'log' });
    assert.notEqual(sent(server, 'create')[2]!.key, first.key, 'each create has a key of its own');
    await other.catch(() => {});
    client.close();
  });

  it('on joined.rewound drops the void acked predictions, tells the app, and takes the snapshot', async () => {
    const { server, client, room } = await setup();
    room.predict = appendPredict;
    const rewinds: Array<{ v: number; since: number; lost: LogAction[] }> = [];
    room.on('rewound', (info) => rewinds.push(info));
    // Acked at 4 and 5 before the view had them (their patches were still to come).
    const a = room.act({ add: 'a' });
    const b = room.act({ add: 'b' });
    server.socket.deliver([
      { t: 'patch', room: 'r_1', from: 1, v: 3, ops: [{ op: 'add', path: '/log/-', value: 'z' }] },
      { t: 'ack', room: 'r_1', seq: 1, v: 4 },
      { t: 'ack', room: 'r_1', seq: 2, v: 5 },
    ]);
    assert.deepStrictEqual([await a, await b], [4, 5]);
    assert.deepStrictEqual(room.view!.log, ['z', 'a', 'b']);

    // The server restarts having stored only up to version 3, and another entry took 4.
    server.v = 4;
    server.received.length = 0;
    server.socket.drop(1006);
    await waitFor(() => server.received.some((m) => m.t === 'join'), 'the resume');
    const join = server.received.find((m) => m.t === 'join')!;
    assert.equal(join.since, 3);
    server.socket.deliver([
      { t: 'joined', rid: join.rid, room: { id: 'r_1', code: 'ABCDE', game: 'log', public: true, max_players: 2, max_spectators: 8, players: 1, spectators: 0, status: 'playing', v: 4 }, role: 'player', members: [{ id: 'p_1', name: 'Ada', role: 'player', connected: true }], seq: 0, rewound: 3 },
      { t: 'snapshot', room: 'r_1', v: 4, view: { log: ['z', 'q'] } },
    ]);
    await waitFor(() => room.version === 4, 'the snapshot');
    assert.deepStrictEqual(rewinds, [{ v: 3, since: 3, lost: [{ add: 'a' }, { add: 'b' }] }]);
    assert.deepStrictEqual(room.view!.log, ['z', 'q'], 'no prediction of a void action is shown');
    assert.equal(room.pendingActions, 0);
    // The seq counter still moves on: the server refuses reused seqs.
    const c = room.act({ add: 'c' });
    assert.equal(server.received.filter((m) => m.t === 'act').at(-1)!.seq, 3);
    client.close();
    await assert.rejects(c);
  });

  it('continues seqs above joined.seq', async () => {
    const server = new FakeServer();
    server.joinedSeq = 41;
    const client = server.client();
    await client.connect();
    const room = await client.join<LogView, LogAction>('ABCDE');
    void room.act({ add: 'a' }).catch(() => {});
    assert.equal(sent(server, 'act')[0]!.seq, 42);
    client.close();
  });

  it('gives up after maxAttempts and fails what is pending', async () => {
    const { server, client, room } = await setup({ reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 } });
    server.refuse = true;
    server.socket.drop();
    const p = room.act({ add: 'a' });
    await assert.rejects(p, { code: 'CLOSED' });
    assert.equal(client.state, 'closed');
  });

  it('treats 4002 as final', async () => {
    const { server, client } = await setup();
    const closed = new Promise<StateInfo>((res) => client.on('state', (s, i) => s === 'closed' && res(i)));
    server.socket.drop(4002, 'unsupported protocol version');
    const info = await closed;
    assert.equal(info.code, 4002);
    assert.equal(info.error?.code, 'UNSUPPORTED_VERSION');
  });
});

describe('undo, redo and consent', () => {
  it('take the next seqs of act, are answered by ack and reject, and are never predicted', async () => {
    const { server, client, room } = await setup();
    room.predict = appendPredict;
    const a = room.act({ add: 'a' });
    const undo = room.undo();
    const ask = room.undo({ ask: true });
    const redo = room.redo();
    const consent = room.consent(7, false);
    const b = room.act({ add: 'b' });
    assert.deepStrictEqual(
      server.received.filter((m) => m.seq !== undefined),
      [
        { t: 'act', room: 'r_1', seq: 1, action: { add: 'a' } },
        { t: 'undo', room: 'r_1', seq: 2 },
        { t: 'undo', room: 'r_1', seq: 3, ask: true },
        { t: 'redo', room: 'r_1', seq: 4 },
        { t: 'consent', room: 'r_1', seq: 5, proposal: 7, accept: false },
        { t: 'act', room: 'r_1', seq: 6, action: { add: 'b' } },
      ],
    );
    assert.equal(room.seq, 6);
    assert.equal(room.pendingActions, 6);
    assert.deepStrictEqual(room.view!.log, ['a', 'b'], 'the actions are predicted, undo/redo/consent are not');

    // The action, then its undo, are applied: each patch comes before its ack.
    server.socket.deliver([
      { t: 'patch', room: 'r_1', from: 1, v: 2, ops: [{ op: 'add', path: '/log/-', value: 'a' }] },
      { t: 'ack', room: 'r_1', seq: 1, v: 2 },
      { t: 'patch', room: 'r_1', from: 2, v: 3, ops: [{ op: 'remove', path: '/log/0' }] },
      { t: 'ack', room: 'r_1', seq: 2, v: 3 },
    ]);
    assert.deepStrictEqual([await a, await undo], [2, 3]);
    assert.deepStrictEqual(room.serverView!.log, []);
    assert.deepStrictEqual(room.view!.log, ['b'], 'the pending action is re-applied on the view after the undo');
    server.socket.deliver([
      { t: 'reject', room: 'r_1', seq: 3, code: 'INVALID_MOVE', message: 'nothing to undo' },
      { t: 'reject', room: 'r_1', seq: 4, code: 'INVALID_MOVE', message: 'nothing to redo' },
      { t: 'reject', room: 'r_1', seq: 5, code: 'INVALID_MOVE', message: 'no proposal 7 is open' },
    ]);
    await assert.rejects(ask, (e: unknown) => e instanceof ArbiterError && e.code === 'INVALID_MOVE' && e.seq === 3 && e.room === 'r_1');
    await assert.rejects(redo, { code: 'INVALID_MOVE', seq: 4 });
    await assert.rejects(consent, { code: 'INVALID_MOVE', seq: 5 });
    assert.deepStrictEqual(room.view!.log, ['b'], 'their refusals roll nothing back');
    assert.equal(room.pendingActions, 1);
    client.close();
    await assert.rejects(b, { code: 'CLOSED' });
  });

  it('are queued offline and resent after the resume with their original seqs, in order with actions', async () => {
    const { server, client, room } = await setup();
    const undo = room.undo(); // sent, never answered
    server.refuse = true;
    server.received.length = 0;
    server.socket.drop(1006);
    const a = room.act({ add: 'a' }); // offline: queued
    const redo = room.redo();
    const consent = room.consent(4, true);
    server.refuse = false;
    server.joinedSeq = 1; // the server saw the undo
    await waitFor(() => server.received.filter((m) => m.seq !== undefined).length === 4, 'the resends');
    assert.deepStrictEqual(server.received.map((m) => m.t), ['hello', 'join', 'undo', 'act', 'redo', 'consent']);
    assert.deepStrictEqual(server.received.slice(2).map((m) => m.seq), [1, 2, 3, 4]);
    assert.deepStrictEqual(server.received.at(-1), { t: 'consent', room: 'r_1', seq: 4, proposal: 4, accept: true });
    server.socket.deliver([
      { t: 'ack', room: 'r_1', seq: 1, v: 2 },
      { t: 'ack', room: 'r_1', seq: 2, v: 3 },
      { t: 'ack', room: 'r_1', seq: 3, v: 4 },
      { t: 'ack', room: 'r_1', seq: 4, v: 5 },
    ]);
    assert.deepStrictEqual([await undo, await a, await redo, await consent], [2, 3, 4, 5]);
    assert.equal(room.pendingActions, 0);
    client.close();
  });

  it('keeps the latest undo_state and the open proposal, with their events and getters', async () => {
    const { server, client, room } = await setup();
    const states: unknown[] = [];
    const news: unknown[] = [];
    room.on('undo', (s) => states.push(s));
    room.on('proposal', (p) => news.push(p));
    assert.deepStrictEqual(room.undoState, { v: 1 }, 'nothing to undo until told');
    assert.equal(room.proposal, null);
    assert.deepStrictEqual([room.canUndo, room.canAskUndo, room.canRedo, room.mustConsent], [false, false, false, false]);

    // The player's own action tops the undo stack.
    server.socket.deliver({ t: 'undo_state', room: 'r_1', v: 2, undo: { author: 'p_1', steps: 1 } });
    assert.deepStrictEqual(room.undoState, { v: 2, undo: { author: 'p_1', steps: 1 } });
    assert.deepStrictEqual(states, [{ v: 2, undo: { author: 'p_1', steps: 1 } }]);
    assert.deepStrictEqual([room.canUndo, room.canAskUndo, room.canRedo], [true, false, false]);
    // Undone by Bob at Ada's request: either may redo; Bob's action tops the undo stack.
    server.socket.deliver({
      t: 'undo_state', room: 'r_1', v: 3,
      undo: { author: 'p_2', steps: 2 }, redo: { author: 'p_3', undone_by: 'p_1', steps: 1 },
    });
    assert.deepStrictEqual([room.canUndo, room.canAskUndo, room.canRedo], [false, true, true]);

    // Another player asks to undo this player's action: the proposal waits for p_1.
    const open = { t: 'undo_proposal', room: 'r_1', id: 4, v: 4, by: 'p_2', of: 'p_1', waiting: ['p_1'], until: 1795312034512, state: 'open' };
    server.socket.deliver(open);
    assert.deepStrictEqual(room.proposal, open);
    assert.deepStrictEqual([room.mustConsent, room.canAskUndo], [true, false], 'one proposal at a time');
    server.socket.deliver({ ...open, v: 5, waiting: [], state: 'refused' });
    assert.equal(room.proposal, null);
    assert.equal(room.mustConsent, false);
    assert.deepStrictEqual(news.map((n: any) => n.state), ['open', 'refused']);

    // A reveal closes every window: an undo_state with neither stack.
    server.socket.deliver({ t: 'undo_state', room: 'r_1', v: 6 });
    assert.deepStrictEqual(room.undoState, { v: 6 });
    assert.deepStrictEqual([room.canUndo, room.canAskUndo, room.canRedo], [false, false, false]);
    assert.equal(states.length, 3);
    client.close();
  });

  it('a spectator may neither undo, ask nor redo whatever the stacks say', async () => {
    const server = new FakeServer();
    const handle = server.handle.bind(server);
    server.handle = (msg, sock) => {
      if (msg.t !== 'join') return handle(msg, sock);
      const room = { id: 'r_1', code: 'ABCDE', game: 'log', public: true, max_players: 2, max_spectators: 8, players: 1, spectators: 1, status: 'playing', v: 1 };
      sock.deliver([
        { t: 'joined', rid: msg.rid, room, role: 'spectator', members: [], seq: 0 },
        { t: 'snapshot', room: 'r_1', v: 1, view: { log: [] } },
        { t: 'undo_state', room: 'r_1', v: 1, undo: { author: 'p_2', steps: 1 }, redo: { author: 'p_1', steps: 1 } },
      ]);
    };
    const client = server.client();
    await client.connect();
    const room = await client.join('ABCDE');
    assert.equal(room.role, 'spectator');
    assert.deepStrictEqual(room.undoState.undo, { author: 'p_2', steps: 1 });
    assert.deepStrictEqual([room.canUndo, room.canAskUndo, room.canRedo], [false, false, false]);
    client.close();
  });

  it('a re-join clears the stacks and the proposal; the news that follows it restores them', async () => {
    const { server, client, room } = await setup();
    const states: unknown[] = [];
    const news: unknown[] = [];
    server.socket.deliver([
      { t: 'undo_state', room: 'r_1', v: 1, undo: { author: 'p_1', steps: 1 } },
      { t: 'undo_proposal', room: 'r_1', id: 1, v: 1, by: 'p_2', of: 'p_1', waiting: ['p_1'], until: 9, state: 'open' },
    ]);
    assert.equal(room.mustConsent, true);
    room.on('undo', (s) => states.push(s));
    room.on('proposal', (p) => news.push(p));

    // Resumed while the stacks and the proposal changed: the server tells only what is there
    // (the fake server answers the resuming join with a bare `joined`).
    server.v = 3;
    server.socket.drop(1006);
    await waitFor(() => states.length === 1, 'the resume');
    assert.deepStrictEqual(room.undoState, { v: 3 });
    assert.deepStrictEqual([room.proposal, room.canUndo, room.mustConsent], [null, false, false]);
    assert.deepStrictEqual(states, [{ v: 3 }], 'told that the stacks held are cleared');
    assert.deepStrictEqual(news, [null], 'told that the proposal held is closed');
    server.socket.deliver({ t: 'undo_state', room: 'r_1', v: 3, redo: { author: 'p_1', steps: 1 } });
    assert.deepStrictEqual([room.canUndo, room.canRedo], [false, true]);

    // Again: the stacks held are cleared, no proposal was held; an open one that follows is kept.
    server.socket.drop(1006);
    await waitFor(() => states.length === 3, 'the second resume');
    assert.deepStrictEqual(states, [{ v: 3 }, { v: 3, redo: { author: 'p_1', steps: 1 } }, { v: 3 }]);
    assert.deepStrictEqual(news, [null], 'no null for a proposal that was not held');
    server.socket.deliver({ t: 'undo_proposal', room: 'r_1', id: 3, v: 3, by: 'p_2', of: 'p_1', waiting: ['p_1'], until: 9, state: 'open' });
    assert.equal(room.proposal?.id, 3);
    assert.equal(room.mustConsent, true);
    client.close();
  });

  it('an acked undo is not kept for a rewind: only acknowledged actions are lost', async () => {
    const { server, client, room } = await setup();
    room.predict = appendPredict;
    const rewinds: Array<{ v: number; lost: LogAction[] }> = [];
    room.on('rewound', (info) => rewinds.push(info));
    const a = room.act({ add: 'a' });
    const undo = room.undo();
    server.socket.deliver([
      { t: 'ack', room: 'r_1', seq: 1, v: 2 },
      { t: 'ack', room: 'r_1', seq: 2, v: 3 },
    ]);
    assert.deepStrictEqual([await a, await undo], [2, 3]);
    assert.equal(room.pendingActions, 0);
    server.received.length = 0;
    server.socket.drop(1006);
    await waitFor(() => server.received.some((m) => m.t === 'join'), 'the resume');
    const join = server.received.find((m) => m.t === 'join')!;
    assert.deepStrictEqual(server.received.map((m) => m.t), ['hello', 'join'], 'nothing answered is resent');
    server.socket.deliver([
      { t: 'joined', rid: join.rid, room: { id: 'r_1', code: 'ABCDE', game: 'log', public: true, max_players: 2, max_spectators: 8, players: 1, spectators: 0, status: 'playing', v: 1 }, role: 'player', members: [{ id: 'p_1', name: 'Ada', role: 'player', connected: true }], seq: 0, rewound: 1 },
      { t: 'snapshot', room: 'r_1', v: 1, view: { log: [] } },
    ]);
    assert.deepStrictEqual(rewinds.map((r) => [r.v, r.lost]), [[1, [{ add: 'a' }]]]);
    assert.deepStrictEqual(room.view!.log, []);
    client.close();
  });
});

describe('client limits and errors', () => {
  it('refuses an action above max_frame without sending it', async () => {
    const server = new FakeServer();
    server.maxFrame = 200;
    const client = server.client();
    await client.connect();
    const room = await client.join<LogView, LogAction>('ABCDE');
    await assert.rejects(room.act({ add: 'x'.repeat(300) }), { code: 'FRAME_TOO_LARGE' });
    assert.equal(sent(server, 'act').length, 0);
    client.close();
  });

  it('rejects connect when the server cannot be reached, and pending work on close', async () => {
    const server = new FakeServer();
    server.refuse = true;
    const client = server.client();
    await assert.rejects(client.connect(), { code: 'CONNECT_FAILED' });
    assert.equal(client.state, 'closed');

    const { client: c2, room } = await setup();
    const p = room.act({ add: 'a' });
    const left = new Promise((res) => room.on('left', res));
    c2.close();
    await assert.rejects(p, { code: 'CLOSED' });
    assert.equal(((await left) as ArbiterError).code, 'CLOSED');
    await assert.rejects(c2.join('ABCDE'), { code: 'CLOSED' });
  });

  it('a refused hello rejects connect with the server code', async () => {
    const server = new FakeServer();
    server.handle = function (msg, sock) {
      if (msg.t === 'hello') sock.deliver({ t: 'error', code: 'BAD_TOKEN', message: 'forged' });
    };
    const client = server.client({ token: 'v1.bad' });
    await assert.rejects(client.connect(), (e: unknown) => e instanceof ArbiterError && e.code === 'BAD_TOKEN');
  });
});

describe('room watch', () => {
  const listed = (id: string) => ({
    id,
    code: 'ABCDEF',
    game: 'log',
    public: true,
    max_players: 2,
    max_spectators: 8,
    players: 1,
    spectators: 0,
    status: 'waiting',
    v: 0,
  });
  const ids = (rooms: readonly { id: string }[] | undefined) => rooms?.map((r) => r.id);

  it('drops the lists of a replaced or stopped watch, and asks again after a reconnection', async () => {
    const server = new FakeServer();
    const client = server.client();
    await client.connect();

    const firstLists: Array<string[] | undefined> = [];
    const first = client.watchRooms({ game: 'log', tags: ['a'] }, (rooms) => firstLists.push(ids(rooms)));
    const w1 = sent(server, 'watch_rooms')[0]!;
    assert.deepStrictEqual(w1, { t: 'watch_rooms', rid: w1.rid, filter: { game: 'log', tags: ['a'] } });
    server.socket.deliver({ t: 'rooms', rid: w1.rid, rooms: [listed('r_a')] });
    assert.deepStrictEqual(ids(await first.ready), ['r_a']);
    server.socket.deliver({ t: 'rooms', rooms: [listed('r_a'), listed('r_b')] });
    assert.deepStrictEqual(ids(first.rooms), ['r_a', 'r_b']);

    // A second watch replaces the first: until its answer, lists without a rid are the old one's.
    const second = client.watchRooms({ lang: 'de' });
    assert.equal(first.active, false);
    const w2 = sent(server, 'watch_rooms')[1]!;
    assert.notEqual(w2.rid, w1.rid);
    server.socket.deliver({ t: 'rooms', rooms: [listed('r_old')] });
    server.socket.deliver({ t: 'rooms', rid: w1.rid, rooms: [listed('r_old')] });
    assert.equal(second.rooms, undefined);
    server.socket.deliver({ t: 'rooms', rid: w2.rid, rooms: [listed('r_d')] });
    server.socket.deliver({ t: 'rooms', rooms: [listed('r_d'), listed('r_e')] });
    assert.deepStrictEqual(ids(second.rooms), ['r_d', 'r_e']);
    assert.deepStrictEqual(firstLists, [['r_a'], ['r_a', 'r_b']], 'the replaced watch got nothing more');

    // A reconnection: the watch is asked for again, with a new rid, once the client is welcomed.
    const secondLists: Array<string[] | undefined> = [];
    second.on('rooms', (rooms) => secondLists.push(ids(rooms)));
    server.received.length = 0;
    const open = new Promise<void>((resolve) => {
      const off = client.on('state', (s) => {
        if (s === 'open') {
          off();
          resolve();
        }
      });
    });
    server.socket.drop();
    await open;
    assert.deepStrictEqual(server.received.map((m) => m.t), ['hello', 'watch_rooms']);
    const w3 = server.received[1]!;
    assert.deepStrictEqual(w3, { t: 'watch_rooms', rid: w3.rid, filter: { lang: 'de' } });
    server.socket.deliver({ t: 'rooms', rid: w3.rid, rooms: [listed('r_e')] });
    assert.deepStrictEqual(secondLists, [['r_e']]);
    assert.equal(second.active, true);

    // stop(): unwatch_rooms, and lists still on their way are dropped.
    second.stop();
    assert.deepStrictEqual(server.received.at(-1), { t: 'unwatch_rooms' });
    server.socket.deliver({ t: 'rooms', rooms: [listed('r_f')] });
    assert.deepStrictEqual(secondLists, [['r_e']]);
    assert.equal(client.roomWatch, undefined);
    client.close();
  });

  it('asks for an invite and resolves with the answer', async () => {
    const { server, client, room } = await setup();
    const asked = room.invite();
    const msg = sent(server, 'invite')[0]!;
    assert.deepStrictEqual(msg, { t: 'invite', rid: msg.rid, room: 'r_1' });
    server.socket.deliver({ t: 'invited', rid: msg.rid, room: 'r_1', code: 'ABCDE', invite: 'i1.x', expires: 42 });
    assert.deepStrictEqual(await asked, { room: 'r_1', code: 'ABCDE', invite: 'i1.x', expires: 42 });
    const refused = client.invite('ZZZZZZ');
    const msg2 = sent(server, 'invite')[1]!;
    server.socket.deliver({ t: 'error', rid: msg2.rid, code: 'NOT_IN_ROOM', message: 'only a member', details: { room: 'ZZZZZZ' } });
    await assert.rejects(refused, (e: unknown) => e instanceof ArbiterError && e.code === 'NOT_IN_ROOM' && e.room === 'ZZZZZZ');
    assert.equal(room.active, true, 'a refused invite leaves the room alone');
    client.close();
  });
});
