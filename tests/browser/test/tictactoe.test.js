// Two people play tic-tac-toe in two browser contexts; a third watches. Also: going offline
// mid-game and coming back, chat, the replay viewer, and the screenshots in docs/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, boardOf, boardIs, mover, screenshot, online } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

/** Play one move: `p` clicks `cell`, and both boards show it. */
async function move(p, cell, players) {
  const before = await boardOf(p.page);
  await p.page.locator(`#game .cell[data-cell="${cell}"]`).click();
  const mark = (await p.page.textContent('#substatus')).includes('You play X') ? 'X' : 'O';
  const after = before.slice(0, cell) + mark + before.slice(cell + 1);
  for (const q of players) await boardIs(q.page, after);
  return after;
}

test('two players create and join by code, play to a win; a spectator sees the same board; chat; replay', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="tictactoe"]').waitFor();
  const code = await createRoom(ada.page, 'tictactoe');
  await ada.page.locator('#status', { hasText: 'Waiting for an opponent' }).waitFor();

  const bob = await newPlayer(browser, srv.url, 'Bob');
  await bob.page.locator(`#rooms li[data-code="${code}"]`).waitFor();   // the public list shows it
  await screenshot(bob.page, 'lobby.png');
  await joinByCode(bob.page, code);
  const players = [ada, bob];
  await ada.page.locator('#members li', { hasText: 'Bob' }).waitFor();

  const cy = await newPlayer(browser, srv.url, 'Cy');
  await joinByCode(cy.page, code, 'watch');
  await cy.page.locator('#role', { hasText: 'a spectator' }).waitFor();

  // The first mover takes the top row; the other plays the middle row's first two cells.
  const first = await mover(players);
  const second = first === ada ? bob : ada;
  let board;
  for (const [p, cell] of [[first, 0], [second, 3], [first, 1], [second, 4], [first, 2]]) {
    assert.equal(await mover(players), p);
    board = await move(p, cell, players);
  }
  await first.page.locator('#status', { hasText: 'You win!' }).waitFor();
  await second.page.locator('#status', { hasText: `${first.name} wins.` }).waitFor();
  await boardIs(cy.page, board);
  await cy.page.locator('#status', { hasText: `${first.name} wins.` }).waitFor();
  assert.equal(await cy.page.locator('#game .cell.win').count(), 3);

  // Chat: Ada writes, Bob and Cy read it; Bob answers with Enter.
  await ada.page.fill('#chat-input', 'good game!');
  await ada.page.click('#chat-send');
  for (const p of [bob, cy]) await p.page.locator('#chat-log li', { hasText: 'good game!' }).waitFor();
  await bob.page.fill('#chat-input', 'thanks, again?');
  await bob.page.press('#chat-input', 'Enter');
  await ada.page.locator('#chat-log li', { hasText: 'thanks, again?' }).waitFor();
  assert.equal(await ada.page.locator('#chat-log li.mine').count(), 1);
  await screenshot(first.page, 'tictactoe.png');

  // Replay: the latest version is the final board; scrubbing back shows an earlier one.
  await ada.page.click('#replay-btn');
  await ada.page.locator('#replay').waitFor();
  await ada.page.waitForFunction((b) => [...document.querySelectorAll('#rp-game-view .cell')].map((c) => c.textContent || '.').join('') === b, board);
  const max = Number(await ada.page.getAttribute('#rp-slider', 'max'));
  assert.ok(max >= 7, `the log holds the joins and five moves (v=${max})`);
  await ada.page.focus('#rp-slider');
  for (let i = 0; i < 2; i++) await ada.page.keyboard.press('ArrowLeft');   // two versions back: two moves undone
  await ada.page.locator('#rp-game-view[data-v]').waitFor();
  await ada.page.waitForFunction((v) => document.querySelector('#rp-game-view').dataset.v === String(v), max - 2);
  const earlier = await ada.page.$$eval('#rp-game-view .cell', (cs) => cs.map((c) => c.textContent || '.').join(''));
  assert.equal(earlier.replace(/\./g, '').length, 3, `three marks two versions back, got ${earlier}`);
  await screenshot(ada.page, 'replay.png');
  await ada.page.click('#rp-first');
  await ada.page.waitForFunction(() => document.querySelector('#rp-game-view').dataset.v === '0');
  await ada.page.click('#rp-back');
  await ada.page.locator('#room').waitFor();

  for (const p of [ada, bob, cy]) { assert.deepEqual(p.errors, []); await p.context.close(); }
});

test('a player who goes offline mid-game comes back to the same board', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  const code = await createRoom(ada.page, 'tictactoe');
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  const players = [ada, bob];
  const first = await mover(players);
  const second = first === ada ? bob : ada;
  await move(first, 4, players);

  // The second player drops off the network; the first moves meanwhile.
  await second.context.setOffline(true);
  await second.page.locator('#conn[data-state=offline]').waitFor();
  await first.page.locator('#members li', { hasText: second.name }).locator('.dot:not(.on)').waitFor();
  // It is not the first player's turn: the second player's move must come first. So the
  // second player queues a move while offline; it is sent, exactly once, on resume.
  await second.page.locator('#game .cell[data-cell="0"]').click();
  await second.context.setOffline(false);
  await online(second.page);
  const markOf = async (p) => ((await p.page.textContent('#substatus')).includes('You play X') ? 'X' : 'O');
  const [m1, m2] = [await markOf(first), await markOf(second)];
  const expect = `${m2}...${m1}....`;
  for (const p of players) await boardIs(p.page, expect);
  // Now the first player moves while the second is offline again.
  await second.context.setOffline(true);
  await second.page.locator('#conn[data-state=offline]').waitFor();
  await first.page.locator('#status', { hasText: 'Your turn' }).waitFor();
  await first.page.locator('#game .cell[data-cell="8"]').click();
  const after = `${m2}...${m1}...${m1}`;
  await boardIs(first.page, after);
  assert.equal(await boardOf(second.page), expect, 'the offline page has not seen the move');
  await second.context.setOffline(false);
  await online(second.page);
  await boardIs(second.page, after);
  await second.page.locator('#status', { hasText: 'Your turn' }).waitFor();
  for (const p of players) { assert.deepEqual(p.errors, []); await p.context.close(); }
});
