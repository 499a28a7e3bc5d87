/**
 * Undo, redo and consent against a real server, at the built-in card table (`tcg`), whose
 * table actions that reveal nothing (life changes here) are undoable by the engine: your own
 * undo and redo, another player's action undone with their consent, a refusal, and undo/redo
 * resent after the connection was cut, each applied once. Every member hears the news.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ArbiterError, type ArbiterClient, type Room, type UndoProposalMsg, type UndoState } from '@arbiter/client';
import { TcpProxy } from './helpers/proxy.js';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, waitFor } from './helpers/util.js';

/** The little of the table's view these tests read. */
interface TableView {
  phase: string;
  players: Record<string, { life: number | null }>;
}
type TableRoom = Room<TableView, unknown>;

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** 60 cards: an `mtg` deck. */
const deck = { type: 'submit_deck', list: [{ name: 'Forest', count: 24 }, { name: 'Grizzly Bears', count: 36 }] };
const life = (delta: number) => ({ type: 'life', delta });

/** What a room heard: every `undo` and `proposal` event, in order. */
function listen(room: TableRoom): { states: UndoState[]; news: Array<UndoProposalMsg | null> } {
  const heard = { states: [] as UndoState[], news: [] as Array<UndoProposalMsg | null> };
  room.on('undo', (s) => heard.states.push(s));
  room.on('proposal', (p) => heard.news.push(p));
  return heard;
}

/** Ada (through `adaUrl`) and Bob seated at a started table, Cy watching; everyone at one version. */
async function table(adaUrl = server.wsUrl) {
  const ada = nodeClient({ url: adaUrl, name: 'Ada', heartbeat: false });
  const bob = nodeClient({ url: server.wsUrl, name: 'Bob' });
  const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
  await Promise.all([ada.connect(), bob.connect(), cy.connect()]);
  const ra = (await ada.create({ game: 'tcg', config: { format: 'mtg' }, seed: 2024, public: false })) as TableRoom;
  const rb = await bob.join<TableView, unknown>(ra.code, { as: 'player' });
  const rc = await cy.join<TableView, unknown>(ra.code, { as: 'spectator' });
  await ra.act(deck);
  await rb.act(deck);
  const v = await rb.act({ type: 'start' }); // dealing reveals hands: nothing before it can be undone
  await waitFor(() => [ra, rb, rc].every((r) => r.version === v), 'everyone to see the start');
  assert.equal(ra.view!.phase, 'playing');
  return { ada, bob, cy, ra, rb, rc, a: ada.player!.id, b: bob.player!.id };
}

/** Everything the server sent `client` before answering this ping has arrived. */
async function settled(client: ArbiterClient): Promise<void> {
  await client.ping();
}

describe('undo with consent (real server, card table)', () => {
  it('undoes and redoes your own action; every member hears what undo and redo would take', async () => {
    const { ada, bob, cy, ra, rb, rc, a } = await table();
    const [ha, hb, hc] = [ra, rb, rc].map(listen);
    assert.deepStrictEqual([ra.canUndo, ra.canRedo, rb.canAskUndo], [false, false, false], 'the deal closed every window');

    const v1 = await ra.act(life(-3));
    await waitFor(() => [ha, hb, hc].every((h) => h.states.at(-1)?.v === v1), 'the undo_state of the action');
    for (const h of [ha, hb, hc]) assert.deepStrictEqual(h.states.at(-1), { v: v1, undo: { author: a, steps: 1 } });
    assert.deepStrictEqual([ra.canUndo, ra.canAskUndo, ra.canRedo], [true, false, false]);
    assert.deepStrictEqual([rb.canUndo, rb.canAskUndo, rb.canRedo], [false, true, false]);
    assert.deepStrictEqual([rc.canUndo, rc.canAskUndo], [false, false], 'a spectator only watches');
    await assert.rejects(rb.undo(), { code: 'INVALID_MOVE' }, "a plain undo of another player's action");
    await assert.rejects(rb.redo(), { code: 'INVALID_MOVE' }, 'nothing to redo');

    const v2 = await ra.undo();
    assert.ok(v2 > v1);
    await waitFor(() => [ha, hb, hc].every((h) => h.states.at(-1)?.v === v2), 'the undo_state of the undo');
    for (const h of [ha, hb, hc]) assert.deepStrictEqual(h.states.at(-1), { v: v2, redo: { author: a, undone_by: a, steps: 1 } });
    await waitFor(() => rb.version === v2, 'Bob to see the undo');
    assert.equal(rb.view!.players[a]!.life, 20, 'taken back');
    assert.deepStrictEqual([ra.canUndo, ra.canRedo, rb.canRedo], [false, true, false]);

    const v3 = await ra.redo();
    await waitFor(() => [ha, hb, hc].every((h) => h.states.at(-1)?.v === v3), 'the undo_state of the redo');
    for (const h of [ha, hb, hc]) assert.deepStrictEqual(h.states.at(-1), { v: v3, undo: { author: a, steps: 1 } });
    await waitFor(() => rc.version === v3, 'Cy to see the redo');
    assert.equal(rc.view!.players[a]!.life, 17, 're-applied');
    assert.deepStrictEqual(ra.view, ra.serverView);
    for (const h of [ha, hb, hc]) assert.deepStrictEqual(h.news, [], 'no proposal without ask');
    for (const c of [ada, bob, cy]) c.close();
  });

  it("undoes another player's action once they consent; everyone sees the proposal", async () => {
    const { ada, bob, cy, ra, rb, rc, a, b } = await table();
    const [ha, hb, hc] = [ra, rb, rc].map(listen);
    const vb = await rb.act(life(-2)); // Bob's action tops the stack
    await waitFor(() => ra.undoState.v === vb, 'Ada to hear of it');
    assert.equal(ra.canAskUndo, true);

    const asked = Date.now();
    const id = await ra.undo({ ask: true });
    assert.ok(id > vb, "the proposal's id is the version that opened it");
    await waitFor(() => [ha, hb, hc].every((h) => h.news.length === 1), 'the open proposal');
    for (const h of [ha, hb, hc]) {
      const open = h.news[0]!;
      assert.deepStrictEqual([open.id, open.v, open.by, open.of, open.waiting, open.state], [id, id, a, b, [b], 'open']);
      assert.ok(open.until > asked, 'it lapses later, in room time');
    }
    for (const r of [ra, rb, rc]) assert.equal(r.proposal?.id, id);
    assert.deepStrictEqual([ra.mustConsent, rb.mustConsent, rc.mustConsent], [false, true, false]);
    assert.equal(ra.canAskUndo, false, 'one proposal at a time');
    await assert.rejects(ra.undo({ ask: true }), { code: 'INVALID_MOVE' });
    await assert.rejects(ra.consent(id, true), { code: 'INVALID_MOVE' }, 'it does not wait for its proposer');
    assert.equal(rb.view!.players[b]!.life, 18, 'nothing taken back yet');

    const v = await rb.consent(id, true);
    await waitFor(() => [ha, hb, hc].every((h) => h.news.length === 2), 'the accepted proposal');
    for (const h of [ha, hb, hc]) assert.deepStrictEqual([h.news[1]!.id, h.news[1]!.v, h.news[1]!.state], [id, v, 'accepted']);
    for (const r of [ra, rb, rc]) assert.equal(r.proposal, null);
    await waitFor(() => [ra, rb, rc].every((r) => r.version === v), 'everyone at the consent');
    for (const r of [ra, rb, rc]) assert.equal(r.view!.players[b]!.life, 20, 'taken back');
    // Ada undid it at Bob's request: either may redo it.
    await waitFor(() => ra.undoState.v === v && rb.undoState.v === v, 'the undo_state of the consent');
    assert.deepStrictEqual(rb.undoState.redo, { author: b, undone_by: a, steps: 1 });
    assert.deepStrictEqual([ra.canRedo, rb.canRedo, rc.canRedo], [true, true, false]);
    await assert.rejects(rb.consent(id, true), { code: 'INVALID_MOVE' }, 'the proposal is closed');
    for (const c of [ada, bob, cy]) c.close();
  });

  it('a refused consent takes nothing back', async () => {
    const { ada, bob, cy, ra, rb, rc, b } = await table();
    const [ha, hb] = [ra, rb].map(listen);
    const vb = await rb.act(life(-4));
    await waitFor(() => ra.undoState.v === vb, 'Ada to hear of it');
    const id = await ra.undo({ ask: true });
    await waitFor(() => rb.mustConsent, 'Bob to be asked');
    const v = await rb.consent(id, false);
    await waitFor(() => [ha, hb].every((h) => h.news.at(-1)?.state === 'refused'), 'the refusal');
    for (const h of [ha, hb]) assert.deepStrictEqual(h.news.map((n) => [n!.id, n!.state]), [[id, 'open'], [id, 'refused']]);
    assert.equal(ha.news[1]!.v, v);
    await waitFor(() => [ra, rb, rc].every((r) => r.version === v && r.proposal === null), 'everyone at the refusal');
    for (const r of [ra, rb, rc]) assert.equal(r.view!.players[b]!.life, 16, 'still changed');
    assert.equal(ra.canAskUndo, true, 'Ada may ask again');
    // Bob may still take back his own action.
    await rb.undo();
    await waitFor(() => ra.view!.players[b]!.life === 20, 'Bob’s own undo');
    for (const c of [ada, bob, cy]) c.close();
  });

  it('an undo whose answer was lost, and a redo sent as the connection died, are each applied once', async () => {
    const proxy = await TcpProxy.start(server.port);
    const { ada, bob, cy, ra, rb, a } = await table(proxy.wsUrl);
    await ra.act(life(-1));
    const held = await ra.act(life(-1)); // two steps: an undo applied twice would take both
    await waitFor(() => ra.undoState.v === held && rb.version === held, 'both to see the two steps');
    assert.equal(ra.undoState.undo?.steps, 2);

    // The server applies the undo; its answer never arrives; the connection dies.
    proxy.blackhole = true;
    const undo = ra.undo();
    await waitFor(() => rb.version === held + 1, 'the server to apply it');
    assert.equal(ra.version, held, 'Ada got neither the patch nor the ack');
    proxy.cut();
    proxy.blackhole = false;
    assert.equal(await undo, held + 1, 'answered again with the version it was applied at');
    await waitFor(() => ra.version === held + 1 && ra.undoState.v === held + 1, 'Ada to catch up');
    await settled(bob);
    assert.equal(rb.version, held + 1, 'not applied twice');
    assert.equal(rb.view!.players[a]!.life, 19);
    assert.deepStrictEqual(ra.undoState, { v: held + 1, undo: { author: a, steps: 1 }, redo: { author: a, undone_by: a, steps: 1 } });

    // A redo sent just as the connection is cut: whether or not it got there, it counts once.
    const redo = ra.redo();
    proxy.cut();
    assert.equal(await redo, held + 2);
    await waitFor(() => ra.version === held + 2 && ada.state === 'open', 'the resume');
    await settled(bob);
    assert.equal(rb.version, held + 2, 'one new version');
    assert.deepStrictEqual([ra.view!.players[a]!.life, rb.view!.players[a]!.life], [18, 18]);
    await waitFor(() => ra.undoState.v === held + 2, 'the redo in undo_state');
    assert.deepStrictEqual(ra.undoState, { v: held + 2, undo: { author: a, steps: 2 } });
    assert.equal(ra.pendingActions, 0);
    await assert.rejects(ra.redo(), (e: unknown) => e instanceof ArbiterError && e.code === 'INVALID_MOVE');
    for (const c of [ada, bob, cy]) c.close();
    await proxy.close();
  });
});
