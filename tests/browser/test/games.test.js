// Smoke tests of every other game page: it renders, and a person can take a legal action.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, screenshot } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

// Waits have no deadline (see newPlayer): a bot's pace cannot fail a test.
const status = (page, text) => page.locator('#status', { hasText: text }).waitFor();
const view = (page) => page.evaluate(async () => {
  // The page's own view of the room, as the server sends it: read through the REST state API.
  const code = document.querySelector('#room-code').textContent;
  const token = localStorage.getItem('arbiter.token');
  const room = await (await fetch(`/api/v1/rooms/${code}`)).json();
  return (await (await fetch(`/api/v1/rooms/${room.id}/state`, { headers: { Authorization: `Bearer ${token}` } })).json()).view;
});

test('dice: start against a bot, roll, select and set aside', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await createRoom(ada.page, 'dicegame');
  await status(ada.page, 'Waiting for players');
  await ada.page.click('#add-bot');
  await ada.page.locator('#game .score').nth(1).waitFor();
  await ada.page.getByRole('button', { name: 'Start the game' }).click();
  await status(ada.page, 'Your turn');           // the bot may go first; wait for ours
  await ada.page.getByRole('button', { name: /^Roll 6 dice$/ }).click();
  // Either dice to choose from or a bust.
  await ada.page.locator('#game .dice-row button.die:not([disabled]), #game .banner.bad').first().waitFor();
  const v = await view(ada.page);
  const single = v.dice.findIndex((f) => f === 1 || f === 5);
  if (!v.busted && single >= 0) {
    // Select a lone 1 or 5 (it always scores), then set it aside and keep the turn.
    await ada.page.locator(`#game button.die[data-index="${single}"]`).click();
    await ada.page.locator(`#game button.die[data-index="${single}"][aria-pressed=true]`).waitFor();
    await screenshot(ada.page, 'dicegame.png');
    await ada.page.getByRole('button', { name: 'Set aside & roll on' }).click();
    await ada.page.locator('#game .die.small').first().waitFor();
    await ada.page.getByRole('button', { name: `Roll ${v.dice.length - 1 || 6} ${v.dice.length - 1 === 1 ? 'die' : 'dice'}` }).waitFor();
  } else await screenshot(ada.page, 'dicegame.png');
  assert.deepEqual(ada.errors, []);
  await ada.context.close();
});

test('owe drahn: ready up with a bot, the game starts and I roll', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await createRoom(ada.page, 'owedrahn');
  await ada.page.click('#add-bot');
  await ada.page.locator('#game tr[data-player^="b_"]').waitFor();
  // A side bet against the bot, which it answers.
  await ada.page.fill('#od-side', '0.50');
  await ada.page.getByRole('button', { name: 'Propose' }).click();
  await ada.page.locator('#game li[data-bet] .badge', { hasText: /accepted|declined/ }).waitFor();
  await ada.page.getByRole('button', { name: 'I’m ready' }).click();
  await status(ada.page, 'Your turn');
  const before = (await view(ada.page)).rolls.length;
  await ada.page.getByRole('button', { name: 'Roll the die' }).click();
  await ada.page.waitForFunction((n) => document.querySelectorAll('#game .hand-log li').length > n, before);
  await screenshot(ada.page, 'owedrahn.png');
  assert.deepEqual(ada.errors, []);
  await ada.context.close();
});

test('tell-it: two writers start, write, continue each other’s story and finish', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  const code = await createRoom(ada.page, 'tellit');
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  await ada.page.getByRole('button', { name: 'Start writing' }).click();
  for (const [p, text] of [[ada, 'The lighthouse keeper found a key.'], [bob, 'Nobody in the village had ever seen snow.']]) {
    await status(p.page, 'Begin your story');
    await p.page.fill('#tellit-text', text);
    await p.page.getByRole('button', { name: 'Submit' }).click();
  }
  // Ada now holds Bob's story and sees only its latest part.
  await status(ada.page, 'Continue the story');
  await ada.page.locator('#game .story-last', { hasText: 'Nobody in the village' }).waitFor();
  await screenshot(ada.page, 'tellit.png');
  await ada.page.fill('#tellit-text', 'Then, one morning, it fell upwards.');
  await ada.page.press('#tellit-text', 'Control+Enter');
  for (const p of [ada, bob]) await p.page.getByRole('button', { name: /Vote to finish/ }).click();
  for (const p of [ada, bob]) await status(p.page, 'The stories are finished');
  await bob.page.locator('#game .story', { hasText: 'it fell upwards' }).waitFor();
  assert.equal(await bob.page.locator('#game .story').count(), 2);
  for (const p of [ada, bob]) { assert.deepEqual(p.errors, []); await p.context.close(); }
});

test('poker: a hand against bots progresses through my action', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await createRoom(ada.page, 'poker');
  await ada.page.click('#add-bot');
  await ada.page.locator('#game .seat[data-player^="b_"]').waitFor();
  await ada.page.click('#add-bot');
  await ada.page.locator('#game .seat[data-player^="b_"]').nth(1).waitFor();
  // My hole cards are dealt face up in my seat.
  await ada.page.locator('#game .seat.me .pc:not(.back)').nth(1).waitFor();
  await status(ada.page, 'Your turn to act');
  const bar = ada.page.locator('#game .betbar');
  await bar.waitFor();
  const v = await view(ada.page);
  assert.ok(v.legal.fold);
  const range = v.legal.raise || v.legal.bet;
  if (range) {
    // The slider is bounded by the legal range.
    assert.equal(Number(await ada.page.getAttribute('#pk-amount-range', 'min')), range.min);
    assert.equal(Number(await ada.page.getAttribute('#pk-amount-range', 'max')), range.max);
  }
  await ada.page.evaluate(() => window.scrollTo(0, 170));
  await screenshot(ada.page, 'poker.png');
  const mine = v.legal.check ? 'checks' : 'calls';
  await bar.getByRole('button', { name: v.legal.check ? 'Check' : /^Call/ }).click();
  await ada.page.locator('#game .hand-log li', { hasText: `Ada ${mine}` }).waitFor();
  // The hand goes on: the next action or the next street comes.
  await ada.page.waitForFunction(() => {
    const log = document.querySelectorAll('#game .hand-log li');
    return !/Ada (checks|calls)/.test(log[log.length - 1]?.textContent || '') || document.querySelectorAll('#game .board-cards .pc').length >= 3;
  });
  assert.deepEqual(ada.errors, []);
  await ada.context.close();
});
