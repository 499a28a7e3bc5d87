// A game with no page of its own — `race`, the output of `arbiter new-game race` — is playable
// on the generic page: two players in two browser contexts play it to the end using only the
// buttons of the actions the server says are legal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, screenshot } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

/** The room's version as the page last rendered it. */
const version = (page) => page.$eval('#game', (g) => Number(g.dataset.v));

/** Wait until `page` shows the legal actions of the version it renders; returns their labels. */
async function choices(page) {
  await page.waitForFunction(() => {
    const g = document.querySelector('#game'), legal = document.querySelector('#game .legal');
    return g?.dataset.v && legal && Number(legal.dataset.v) >= Number(g.dataset.v);
  });
  return page.$$eval('#game .legal button', (bs) => bs.map((b) => b.textContent));
}

test('a scaffolded game is played to the end through the generic page', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="race"]').waitFor();
  const code = await createRoom(ada.page, 'race');
  await ada.page.locator('#status', { hasText: 'Waiting for players' }).waitFor();
  assert.deepEqual(await choices(ada.page), [], 'nothing to do alone');

  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  const players = [ada, bob];

  // Ada sat down first, so she starts; turns alternate. Each adds as much as allowed until
  // the total reaches 21; the one who does wins.
  let total = 0, turn = 0, winner;
  while (total < 21) {
    const p = players[turn % 2], other = players[(turn + 1) % 2];
    await p.page.locator('#status', { hasText: 'Your turn' }).waitFor();
    const mine = await choices(p.page);
    assert.deepEqual(await choices(other.page), [], `${other.name} waits`);
    const room = 21 - total;
    assert.deepEqual(mine, ['add · n: 1', 'add · n: 2', 'add · n: 3'].slice(0, Math.min(3, room)));
    const add = Math.min(3, room);
    const v = await version(p.page);
    await p.page.getByRole('button', { name: `add · n: ${add}` }).click();
    for (const q of players) await q.page.waitForFunction((w) => Number(document.querySelector('#game').dataset.v) > w, v);
    total += add; winner = p; turn++;
  }
  const loser = winner === ada ? bob : ada;
  await winner.page.locator('#status', { hasText: 'You win!' }).waitFor();
  await loser.page.locator('#status', { hasText: `${winner.name} wins.` }).waitFor();
  for (const p of players) {
    assert.deepEqual(await choices(p.page), [], 'no actions once it is over');
    const view = JSON.parse(await p.page.textContent('#game pre'));
    assert.equal(view.total, 21);
  }
  await screenshot(winner.page, 'generic.png');
  for (const p of players) { assert.deepEqual(p.errors, []); await p.context.close(); }
});
