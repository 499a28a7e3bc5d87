// Two people play Snake, the real-time game, in two browser contexts: the room ticks at 30 Hz,
// Ada steers with the keyboard, the round ends and both see who won. Then the host pauses the
// game (no tick moves while paused) and resumes it. Every wait is for something on the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, screenshot } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

const phaseIs = (page, phase) => page.waitForFunction((p) => document.querySelector('#game canvas')?.dataset.phase === p, phase);
const tickOf = async (page) => Number(await page.getAttribute('#game canvas', 'data-tick'));

test('two players play a round of snake in real time; the host pauses and resumes', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="snake"]').waitFor();
  const code = await createRoom(ada.page, 'snake');
  await ada.page.locator('#status', { hasText: 'Waiting for a second player' }).waitFor();
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  await ada.page.locator('#members li', { hasText: 'Bob' }).waitFor();

  await ada.page.locator('#game button', { hasText: 'Start a round' }).click();
  for (const p of [ada, bob]) await phaseIs(p.page, 'countdown');
  // Ada turns up at once: she heads into the top wall while Bob goes straight on.
  await ada.page.keyboard.press('ArrowUp');
  for (const p of [ada, bob]) await phaseIs(p.page, 'running');
  await screenshot(bob.page, 'snake.png');
  for (const p of [ada, bob]) await phaseIs(p.page, 'over');
  await bob.page.locator('#status', { hasText: 'You win the round!' }).waitFor();
  await ada.page.locator('#status', { hasText: 'Bob wins the round.' }).waitFor();

  // The next round; Ada, who hosts, pauses it: both pages say so and no tick comes meanwhile.
  await bob.page.locator('#game button', { hasText: 'Start a round' }).click();
  for (const p of [ada, bob]) await phaseIs(p.page, 'countdown');
  await ada.page.locator('#pause', { hasText: 'Pause the game' }).click();
  for (const p of [ada, bob]) await p.page.locator('#paused').waitFor({ state: 'visible' });
  assert.equal(await bob.page.locator('#pause').isHidden(), true, 'only the host pauses');
  const stood = await tickOf(bob.page);
  // Round trips through the server (a chat line each way) take many tick periods on loopback.
  await bob.page.fill('#chat-input', 'still paused?');
  await bob.page.press('#chat-input', 'Enter');
  await ada.page.locator('#chat-log li', { hasText: 'still paused?' }).waitFor();
  await ada.page.fill('#chat-input', 'yes');
  await ada.page.press('#chat-input', 'Enter');
  await bob.page.locator('#chat-log li', { hasText: 'yes' }).waitFor();
  assert.equal(await tickOf(bob.page), stood, 'no tick while paused');
  await ada.page.locator('#pause', { hasText: 'Resume the game' }).click();
  for (const p of [ada, bob]) await p.page.locator('#paused').waitFor({ state: 'hidden' });
  await bob.page.waitForFunction((t) => Number(document.querySelector('#game canvas').dataset.tick) > t, stood);

  for (const p of [ada, bob]) { assert.deepEqual(p.errors, []); await p.context.close(); }
});
