/**
 * Room chat through the SDK against a real server: relay with the room's own lines, history
 * pages, the host's deletions and mutes (and refusals for everyone else), the rate limit, and
 * a resume that neither repeats the replayed lines nor keeps one deleted meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ArbiterClient, ArbiterError, ChatLine, Room, ServerMsg, UnknownMsg } from '@arbiter/client';
import { TcpProxy } from './helpers/proxy.js';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Any room: the chat does not depend on the game. */
type AnyRoom = Room<any, any>;

/** Everything a room tells about its chat, as it arrives. */
function listen(room: AnyRoom) {
  const heard = { lines: [] as ChatLine[], deleted: [] as number[], errors: [] as ArbiterError[] };
  room.on('chat', (l) => heard.lines.push(l));
  room.on('chatDeleted', (id) => heard.deleted.push(id));
  room.on('error', (e) => heard.errors.push(e));
  return heard;
}

function texts(room: AnyRoom): string[] {
  return room.chatLines.filter((l) => l.from !== undefined).map((l) => l.text);
}

function ids(lines: readonly ChatLine[]): number[] {
  return lines.map((l) => l.id);
}

/** Ada makes a private tic-tac-toe room (so she moderates its chat: its longest member) and Bob joins it. */
async function pair(bobUrl = server.wsUrl, bobEncoding: 'json' | 'msgpack' = 'json') {
  const ada = nodeClient({ url: server.wsUrl, name: 'Ada' });
  const bob = nodeClient({ url: bobUrl, name: 'Bob', encoding: bobEncoding, heartbeat: false });
  await Promise.all([ada.connect(), bob.connect()]);
  const ra = await ada.create({ game: 'tictactoe', public: false });
  const rb = await bob.join(ra.code);
  // Bob's replay ends with his own arrival, which Ada hears live.
  await waitFor(() => ra.chatLines.some((l) => l.event?.kind === 'joined' && l.event.player.id === bob.player!.id), 'Ada to hear Bob arrive');
  await waitFor(() => rb.chatLines.length === ra.chatLines.length, 'Bob to get the replay');
  return { ada, bob, ra, rb };
}

function closeAll(...clients: ArbiterClient[]): void {
  for (const c of clients) c.close();
}

describe('chat', () => {
  it('relays to every member with ids in order, after the room’s own lines (JSON and MessagePack)', async () => {
    const { ada, bob, ra, rb } = await pair(server.wsUrl, 'msgpack');
    assert.equal(bob.encoding, 'msgpack');
    const [ha, hb] = [listen(ra), listen(rb)];

    // The room announced both arrivals, without a `from`.
    const announced = rb.chatLines.map((l) => [l.from, l.event?.kind, l.event?.player.name, l.text]);
    assert.deepEqual(announced, [
      [undefined, 'joined', 'Ada', 'Ada joined'],
      [undefined, 'joined', 'Bob', 'Bob joined'],
    ]);
    assert.deepEqual(ids(ra.chatLines), ids(rb.chatLines));

    assert.ok(ra.chat('good luck!'));
    assert.ok(rb.chat('  you too\nsee you  '));
    await waitFor(() => ha.lines.length === 2 && hb.lines.length === 2, 'both lines to reach both');
    // Sent at once from two connections: either may come first, but everyone hears one order.
    const order = ha.lines.map((l) => [l.from?.id, l.text]);
    assert.deepEqual(hb.lines.map((l) => [l.from?.id, l.text]), order);
    assert.deepEqual(
      [...order].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
      [
        [ada.player!.id, 'good luck!'],
        [bob.player!.id, 'you too\nsee you'],
      ],
    );
    const last = ids(ra.chatLines);
    assert.deepEqual(last.slice(-2), [last.at(-3)! + 1, last.at(-3)! + 2], 'ids count up from the room’s own lines');
    assert.deepEqual(rb.chatLines, ra.chatLines);
    assert.ok(ra.chatLines.at(-1)!.at >= ra.chatLines.at(-2)!.at);
    assert.equal(ha.errors.length + hb.errors.length, 0);

    // An empty message is refused naming the room; the room stays usable.
    assert.ok(rb.chat('   '));
    await waitFor(() => hb.errors.length === 1, 'the refusal');
    assert.equal(hb.errors[0]!.code, 'INVALID_FIELD');
    assert.equal(hb.errors[0]!.room, rb.id);
    assert.ok(rb.active);
    closeAll(ada, bob);
  });

  it('pages through the history, newest page first, and refuses a bad limit', async () => {
    const { ada, bob, ra, rb } = await pair();
    for (const t of ['a1', 'a2', 'a3']) ra.chat(t);
    for (const t of ['b1', 'b2', 'b3', 'b4']) rb.chat(t);
    await waitFor(() => texts(ra).length === 7 && texts(rb).length === 7, 'seven lines to arrive');
    // Per sender the order is kept; all nine lines (two arrivals) are numbered 1..9.
    assert.deepEqual(ids(rb.chatLines), [1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const pages: ChatLine[][] = [];
    let before: number | undefined;
    for (;;) {
      const page = await rb.chatHistory({ before, limit: 4 });
      pages.unshift(page.messages);
      assert.ok(page.messages.length <= 4);
      if (!page.more) break;
      before = page.messages[0]!.id;
    }
    assert.deepEqual(pages.map(ids), [[1], [2, 3, 4, 5], [6, 7, 8, 9]]);
    assert.deepEqual(pages.flat(), rb.chatLines, 'the history is what was heard');

    const newest = await ra.chatHistory();
    assert.equal(newest.more, false);
    assert.deepEqual(ids(newest.messages), ids(ra.chatLines));
    const older = await ra.chatHistory({ before: 3 });
    assert.deepEqual(ids(older.messages), [1, 2]);

    await assert.rejects(ra.chatHistory({ limit: 0 }), (e: ArbiterError) => e.code === 'INVALID_FIELD' && e.room === ra.id);
    await assert.rejects(ra.chatHistory({ limit: 101 }), (e: ArbiterError) => e.code === 'INVALID_FIELD');
    closeAll(ada, bob);
  });

  it('the host deletes a line for everyone; nobody else may, and an unknown id is refused', async () => {
    const { ada, bob, ra, rb } = await pair();
    const [ha, hb] = [listen(ra), listen(rb)];
    rb.chat('something rude');
    rb.chat('something nice');
    await waitFor(() => texts(ra).length === 2 && texts(rb).length === 2, 'both lines');
    const rude = rb.chatLines.find((l) => l.text === 'something rude')!;

    // Bob is not the host: refused, nothing changes.
    assert.ok(rb.deleteChat(rude.id));
    await waitFor(() => hb.errors.length === 1, 'the refusal');
    assert.equal(hb.errors[0]!.code, 'FORBIDDEN');
    assert.equal(hb.errors[0]!.room, rb.id);
    assert.equal(ha.deleted.length + hb.deleted.length, 0);

    assert.ok(ra.deleteChat(rude.id));
    await waitFor(() => ha.deleted.length === 1 && hb.deleted.length === 1, 'both to hear the deletion');
    assert.deepEqual([ha.deleted, hb.deleted], [[rude.id], [rude.id]]);
    assert.deepEqual(texts(ra), ['something nice']);
    assert.deepEqual(texts(rb), ['something nice']);
    const kept = await rb.chatHistory();
    assert.ok(!ids(kept.messages).includes(rude.id), 'gone from the history too');
    assert.deepEqual(kept.messages, rb.chatLines);

    assert.ok(ra.deleteChat(rude.id));
    await waitFor(() => ha.errors.length === 1, 'the second deletion to be refused');
    assert.equal(ha.errors[0]!.code, 'INVALID_FIELD');
    closeAll(ada, bob);
  });

  it('the host mutes and unmutes a member; a muted member and a non-host are refused with FORBIDDEN', async () => {
    const { ada, bob, ra, rb } = await pair();
    const [ha, hb] = [listen(ra), listen(rb)];
    const bobId = bob.player!.id;
    const adaErrors: ArbiterError[] = [];
    ada.on('error', (e) => adaErrors.push(e));

    // Bob may not moderate.
    assert.ok(rb.mute(ada.player!.id));
    await waitFor(() => hb.errors.length === 1, 'the refusal');
    assert.equal(hb.errors[0]!.code, 'FORBIDDEN');
    assert.equal(ra.isMuted(ada.player!.id), false);

    assert.ok(ra.mute(bobId));
    await waitFor(() => hb.lines.some((l) => l.event?.kind === 'muted'), 'Bob to hear he is muted');
    await waitFor(() => ha.lines.some((l) => l.event?.kind === 'muted'), 'Ada to hear it');
    assert.equal(hb.lines.at(-1)!.event!.player.id, bobId);
    assert.equal(hb.lines.at(-1)!.from, undefined);
    assert.ok(rb.isMuted(), 'Bob’s member entry shows it');
    assert.ok(ra.isMuted(bobId));
    assert.equal(ra.members.find((m) => m.id === bobId)!.muted, true);

    // A newcomer sees it in the member list `joined` carries.
    const cy = nodeClient({ url: server.wsUrl, name: 'Cy' });
    await cy.connect();
    const rc = await cy.join(ra.code, { as: 'spectator' });
    assert.equal(rc.members.find((m) => m.id === bobId)!.muted, true);

    const before = ha.lines.length;
    assert.ok(rb.chat('let me speak'));
    await waitFor(() => hb.errors.length === 2, 'the muted line to be refused');
    assert.equal(hb.errors[1]!.code, 'FORBIDDEN');
    assert.equal(hb.errors[1]!.room, rb.id);
    // The host cannot mute themselves, and that refusal reaches the client's error event too.
    assert.ok(ra.mute(ada.player!.id));
    await waitFor(() => ha.errors.length === 1 && adaErrors.length === 1, 'the self-mute refusal');
    assert.equal(ha.errors[0]!.code, 'INVALID_FIELD');
    assert.equal(adaErrors[0], ha.errors[0]);
    assert.ok(!ha.lines.slice(before).some((l) => l.text === 'let me speak'), 'nobody heard the muted line');

    assert.ok(ra.mute(bobId, false));
    await waitFor(() => !rb.isMuted() && !ra.isMuted(bobId), 'Bob unmuted');
    assert.equal(hb.lines.at(-1)!.event!.kind, 'unmuted');
    assert.equal(ra.members.find((m) => m.id === bobId)!.muted, undefined);
    assert.ok(rb.chat('thanks'));
    await waitFor(() => texts(ra).includes('thanks'), 'Bob heard again');
    assert.equal(hb.errors.length, 2);
    closeAll(ada, bob, cy);
  });

  it('refuses lines past five in five seconds with RATE_LIMITED and retry_after_ms', async () => {
    const { ada, bob, ra, rb } = await pair();
    const hb = listen(rb);
    // Twelve at once: the bucket holds five and refills one a second, so however slowly the
    // machine runs, some are refused; each line is either relayed or refused, never both.
    for (let i = 1; i <= 12; i++) assert.ok(rb.chat(`line ${i}`));
    await waitFor(() => hb.errors.length + texts(ra).length === 12 && texts(rb).length === texts(ra).length, 'every line answered');
    assert.ok(hb.errors.length >= 1);
    assert.ok(hb.errors.every((e) => e.code === 'RATE_LIMITED' && e.room === rb.id));
    assert.ok(((hb.errors[0]!.details as { retry_after_ms: number }).retry_after_ms ?? 0) > 0);
    const relayed = texts(ra).map((t) => Number(t.split(' ')[1]));
    assert.deepEqual(relayed.slice(0, 5), [1, 2, 3, 4, 5], 'the first five pass');
    assert.deepEqual(relayed, [...relayed].sort((a, b) => a - b), 'in the order sent');
    closeAll(ada, bob);
  });

  it('after a resume keeps each line once and drops one deleted while away', async () => {
    const proxy = await TcpProxy.start(server.port);
    const { ada, bob, ra, rb } = await pair(proxy.wsUrl);
    const hb = listen(rb);
    const frames: Array<ServerMsg | UnknownMsg> = [];
    bob.on('message', (m) => frames.push(m));
    for (const t of ['x1', 'x2', 'x3']) ra.chat(t);
    await waitFor(() => texts(rb).length === 3, 'Bob to hear three lines');
    const x2 = rb.chatLines.find((l) => l.text === 'x2')!.id;

    proxy.blocked = true;
    proxy.cut();
    await waitFor(() => bob.state === 'reconnecting', 'Bob to notice the drop');
    await waitFor(() => ra.members.find((m) => m.id === bob.player!.id)?.connected === false, 'Ada to see Bob gone');
    assert.ok(ra.deleteChat(x2));
    assert.ok(ra.chat('x4'));
    await waitFor(() => texts(ra).join() === 'x1,x3,x4', 'Ada to see the deletion and x4');
    frames.length = 0;

    proxy.blocked = false;
    // x4 is the newest line kept, so the last one replayed.
    await waitFor(() => bob.state === 'open' && texts(rb).includes('x4'), 'the resume and its replay');
    const replayed = frames.filter((m): m is ServerMsg & { t: 'chat' } => m.t === 'chat');
    assert.ok(replayed.length >= 4, 'the server replayed the lines Bob held');
    assert.deepEqual(texts(rb), ['x1', 'x3', 'x4']);
    assert.deepEqual(rb.chatLines, ra.chatLines);
    const heard = ids(hb.lines);
    assert.deepEqual(heard, [...new Set(heard)], 'no line was announced twice');
    assert.deepEqual(hb.lines.map((l) => l.text), ['x1', 'x2', 'x3', 'x4']);
    assert.deepEqual(hb.deleted, [x2]);
    closeAll(ada, bob);
    await proxy.close();
  });
});
