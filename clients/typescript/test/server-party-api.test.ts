/**
 * The typed party API (`Party`) against a real server: gather by code, ready up, the host
 * picks and launches, both members enter the launched room; the host hands the role over
 * (and chat moderation with it), kicks, bans, renames, and goes back to the lobby.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Party, type ArbiterClient, type ArbiterError, type TicTacToeAction, type TicTacToeView } from '@arbiter/client';
import { startServer, type TestServer } from './helpers/server.js';
import { nodeClient, waitFor } from './helpers/util.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const code = (c: string) => (e: ArbiterError) => e.code === c;

async function clients(...names: string[]): Promise<ArbiterClient[]> {
  const all = names.map((name) => nodeClient({ url: server.wsUrl, name }));
  await Promise.all(all.map((c) => c.connect()));
  return all;
}

/** Ada's private party, with Bob in it. */
async function gather(ada: ArbiterClient, bob: ArbiterClient): Promise<[Party, Party]> {
  const pa = await Party.create(ada, { name: 'Friday', public: false });
  const pb = await Party.join(bob, pa.code);
  await waitFor(() => pa.members.length === 2, 'Ada to see Bob arrive');
  return [pa, pb];
}

describe('Party', () => {
  it('gathers, readies up, the host picks and launches, and both members enter the game', async () => {
    const [ada, bob] = await clients('Ada', 'Bob');
    const [pa, pb] = await gather(ada, bob);
    const [adaId, bobId] = [ada.player!.id, bob.player!.id];

    assert.equal(pa.room.game, 'party');
    assert.equal(pb.name, 'Friday');
    assert.equal(pa.host, adaId);
    assert.ok(pa.isHost && !pb.isHost);
    assert.deepEqual(
      pb.members.map((m) => [m.id, m.name, m.host, m.ready]),
      [
        [adaId, 'Ada', true, false],
        [bobId, 'Bob', false, false],
      ],
    );
    assert.equal(pb.picked, null);
    await assert.rejects(pb.joinGame(), code('INVALID_MOVE'), 'nothing is being played');

    // Only the host picks; a party cannot pick a party.
    await assert.rejects(pb.pick('tictactoe'), code('FORBIDDEN'));
    await assert.rejects(pa.pick('party'), code('UNKNOWN_GAME'));
    await pa.pick('tictactoe');
    await waitFor(() => pb.picked?.game === 'tictactoe', 'Bob to see the pick');
    assert.equal(pb.picked!.title, 'Tic-tac-toe');
    assert.equal(pb.picked!.min_players, 2);

    // One ready member is too few for tic-tac-toe.
    await pa.ready();
    assert.ok(pa.isReady);
    await assert.rejects(pa.launch(), code('INVALID_MOVE'));
    await pb.ready(true);
    await waitFor(() => pa.members.every((m) => m.ready), 'Ada to see both ready');
    assert.deepEqual([...pa.view!.ready].sort(), [adaId, bobId].sort());
    await assert.rejects(pb.launch(), code('FORBIDDEN'), 'only the host launches');

    const info = await pa.launch();
    assert.equal(info.game, 'tictactoe');
    assert.equal(info.public, false);
    await waitFor(() => pb.playing?.room === info.id && pa.playing?.room === info.id, 'both to see where to go');
    assert.deepEqual([...pb.playing!.players].sort(), [adaId, bobId].sort());
    assert.equal(pb.playing!.code, info.code);
    assert.equal(pb.playing!.round, 1);
    await assert.rejects(pa.launch(), code('GAME_IN_PROGRESS'));

    const gb = await pb.joinGame<TicTacToeView, TicTacToeAction>();
    const ga = await pa.joinGame<TicTacToeView, TicTacToeAction>(info);
    assert.equal(ga.id, info.id);
    assert.equal(gb.id, info.id);
    assert.deepEqual([ga.role, gb.role], ['player', 'player']);
    await waitFor(() => ga.view?.turn != null && ga.version === gb.version, 'the game to start');
    assert.deepEqual(Object.keys(gb.view!.players).sort(), [adaId, bobId].sort());

    // The host gives up on the game: it is recorded without a ranking, everyone is back.
    await assert.rejects(pb.back(), code('FORBIDDEN'));
    await pa.back();
    await waitFor(() => pb.playing === undefined && pb.history.length === 1, 'Bob back in the lobby');
    assert.deepEqual(pb.history[0], { round: 1, game: 'tictactoe', room: info.id, ranking: null });
    assert.ok(!pb.isReady, 'ready flags are cleared');
    ada.close();
    bob.close();
  });

  it('hands the host role over, and chat moderation with it', async () => {
    const [ada, bob] = await clients('Ada', 'Bob');
    const [pa, pb] = await gather(ada, bob);
    const bobId = bob.player!.id;
    const adaErrors: ArbiterError[] = [];
    pa.room.on('error', (e) => adaErrors.push(e));

    await assert.rejects(pb.makeHost(bobId), code('FORBIDDEN'));
    await assert.rejects(pa.makeHost(ada.player!.id), code('INVALID_MOVE'), 'not to oneself');
    await pa.makeHost(bobId);
    await waitFor(() => pb.isHost && !pa.isHost, 'both to see Bob host');
    assert.equal(pa.host, bobId);
    assert.deepEqual(
      pa.members.map((m) => m.host),
      [false, true],
    );
    // The chat names the new host.
    await waitFor(() => pa.room.chatLines.some((l) => l.event?.kind === 'host' && l.event.player.id === bobId), 'the announcement');

    // Now Bob leads, and moderates the chat; Ada does neither.
    await assert.rejects(pa.pick('tictactoe'), code('FORBIDDEN'));
    await pb.pick('tictactoe');
    assert.ok(pa.room.mute(bobId));
    await waitFor(() => adaErrors.length === 1, 'Ada’s mute to be refused');
    assert.equal(adaErrors[0]!.code, 'FORBIDDEN');
    assert.ok(pb.room.mute(ada.player!.id));
    await waitFor(() => pa.room.isMuted(), 'Bob to mute Ada');
    ada.close();
    bob.close();
  });

  it('kicks (they may come back), bans (they may not), renames', async () => {
    const [ada, bob, cy] = await clients('Ada', 'Bob', 'Cy');
    const [pa] = await gather(ada, bob);
    const cyId = cy.player!.id;
    let pc = await Party.join(cy, pa.id);
    await waitFor(() => pa.members.length === 3, 'Ada to see Cy');

    await assert.rejects(pc.kick(ada.player!.id), code('FORBIDDEN'));
    await assert.rejects(pa.kick(ada.player!.id), code('INVALID_MOVE'), 'not oneself');
    let gone = new Promise((res) => pc.room.once('left', res));
    await pa.kick(cyId);
    await gone;
    assert.equal(pc.room.active, false);
    await waitFor(() => !pa.members.some((m) => m.id === cyId), 'Cy out of the view');

    pc = await Party.join(cy, pa.code);
    assert.ok(pc.members.some((m) => m.id === cyId), 'a kicked member may come back');
    gone = new Promise((res) => pc.room.once('left', res));
    await pa.ban(cyId);
    await gone;
    await waitFor(() => pa.view!.banned.includes(cyId) && pa.members.length === 2, 'Cy banned');
    await assert.rejects(Party.join(cy, pa.code), code('JOIN_REFUSED'));
    await assert.rejects(Party.join(cy, pa.code, { as: 'spectator' }), code('JOIN_REFUSED'));

    await assert.rejects(pa.rename(''), code('INVALID_FIELD'));
    await pa.rename('Saturday');
    assert.equal(pa.name, 'Saturday');
    for (const c of [ada, bob, cy]) c.close();
  });

  it('wraps only a party room', async () => {
    const [ada] = await clients('Ada');
    const room = await ada.create({ game: 'tictactoe', public: false });
    assert.throws(() => new Party(ada, room as never), code('UNSUPPORTED'));
    const party = new Party(ada, await ada.create({ game: 'party', public: false, config: { name: 'Wrapped' } }));
    assert.equal(party.name, 'Wrapped');
    assert.ok(party.isHost);
    ada.close();
  });
});
