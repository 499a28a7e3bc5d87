// Smoke test of the card table (tcg): two players submit decks, start, draw, play a card,
// tap it and change life; the other player sees the card on the battlefield.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

const status = (page, text) => page.locator('#status', { hasText: text }).waitFor();

/** Ada and Bob at a TCG table, by code. */
async function table() {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  const code = await createRoom(ada.page, 'tcg');
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  return { ada, bob };
}

/** Both submit the default deck and Ada starts the game. */
async function start(ada, bob) {
  for (const p of [ada, bob]) {
    await p.page.locator('#tcg-deck').waitFor();
    await p.page.getByRole('button', { name: 'Submit deck' }).click();
    await p.page.locator('#game .tcg-deckpanel', { hasText: 'Submitted: 60 cards' }).waitFor();
  }
  await status(ada.page, 'Ready to start');
  await ada.page.getByRole('button', { name: 'Start the game' }).click();
}

test('tcg: two players submit decks, start, draw, play, tap and change life', async () => {
  const { ada, bob } = await table();
  // The table has no bots, so it offers none (the dice test shows the button where it works).
  assert.equal(await ada.page.locator('#add-bot').isHidden(), true);
  await start(ada, bob);
  for (const p of [ada, bob]) await p.page.locator('#game .tcg-hand button.tcg-card').nth(6).waitFor();
  // Ada draws: eight cards in hand.
  await ada.page.getByRole('button', { name: 'Draw', exact: true }).click();
  await ada.page.locator('#game .tcg-hand button.tcg-card').nth(7).waitFor();
  // Play the first card of the hand to the battlefield.
  const first = ada.page.locator('#game .tcg-hand button.tcg-card').first();
  const name = await first.getAttribute('data-name');
  await first.click();
  const mine = ada.page.locator(`#game .tcg-seat.me [data-zone=battlefield] .tcg-card[data-name="${name}"]`);
  await mine.waitFor();
  // Tap it.
  await mine.click();
  await ada.page.locator(`#game .tcg-seat.me [data-zone=battlefield] .tcg-card.tapped[data-name="${name}"]`).waitFor();
  // Lose a life.
  await ada.page.locator('#game .tcg-seat.me').getByRole('button', { name: /Lose 1 life/ }).click();
  await ada.page.locator('#game .tcg-seat.me .tcg-life', { hasText: '19' }).waitFor();
  // Bob sees Ada's card, tapped, on her battlefield, and her life.
  const theirs = bob.page.locator('#game .tcg-seat:not(.me) [data-zone=battlefield] .tcg-card.tapped', { hasText: name });
  await theirs.waitFor();
  assert.equal(await theirs.count(), 1);
  await bob.page.locator('#game .tcg-seat:not(.me) .tcg-life', { hasText: '19' }).waitFor();
  await ada.page.screenshot({ path: join(tmpdir(), 'tcg.png'), fullPage: true, animations: 'disabled', caret: 'hide' });
  for (const p of [ada, bob]) { assert.deepEqual(p.errors, []); await p.context.close(); }
});

test('tcg: a player creates a token in play, the other sees it, and undo (own, consented) takes it back', async () => {
  const { ada, bob } = await table();
  await start(ada, bob);
  await ada.page.locator('#game .tcg-hand button.tcg-card').nth(6).waitFor();
  // An empty name is caught before anything is sent.
  await ada.page.getByRole('button', { name: 'Create token' }).click();
  await ada.page.getByText('Name the token first.').waitFor();
  await ada.page.getByLabel('Token name').fill('Goblin 1/1');
  await ada.page.getByRole('button', { name: 'Create token' }).click();
  const token = (page, seat) => page.locator(`#game .tcg-seat${seat} [data-zone=battlefield] .tcg-card.token[data-name="Goblin 1/1"]`);
  await token(ada.page, '.me').waitFor();
  await token(bob.page, ':not(.me)').waitFor();
  await ada.page.locator('#game .tcg-bar', { hasText: 'Undo: your last action' }).waitFor();
  await bob.page.locator('#game .tcg-bar', { hasText: 'Undo: Ada’s last action' }).waitFor();
  // It is a card in play: tapping it works like any other.
  await token(ada.page, '.me').click();
  await ada.page.locator('#game .tcg-seat.me [data-zone=battlefield] .tcg-card.token.tapped').waitFor();
  // Undo twice: the tap, then the token itself; both players see it go.
  const undo = ada.page.getByRole('button', { name: 'Undo', exact: true });
  await undo.click();
  await ada.page.locator('#game .tcg-seat.me [data-zone=battlefield] .tcg-card.token:not(.tapped)').waitFor();
  await undo.click();
  await token(ada.page, '.me').waitFor({ state: 'detached' });
  await token(bob.page, ':not(.me)').waitFor({ state: 'detached' });
  await ada.page.locator('#game .tcg-seat.me [data-zone=battlefield]', { hasText: 'battlefield (0)' }).waitFor();
  // Redo brings it back.
  await ada.page.getByRole('button', { name: 'Redo', exact: true }).click();
  await token(bob.page, ':not(.me)').waitFor();
  // Bob asks to undo Ada's token; she sees the request and declines, then accepts a second one.
  await ada.page.locator('#game .tcg-bar', { hasText: 'Undo: your last action' }).waitFor();
  const ask = bob.page.getByRole('button', { name: 'Ask to undo' });
  await ask.click();
  await bob.page.locator('#game .tcg-bar', { hasText: 'Waiting for Ada to accept the undo' }).waitFor();
  await ada.page.locator('#game .tcg-bar', { hasText: 'Bob asks to undo your last action' }).waitFor();
  await ada.page.getByRole('button', { name: 'Decline' }).click();
  await bob.page.getByText('Your request to undo was refused.').waitFor();
  await bob.page.locator('#game .tcg-bar', { hasText: 'Undo: Ada’s last action' }).waitFor();
  await token(bob.page, ':not(.me)').waitFor();
  await ask.click();
  await ada.page.getByRole('button', { name: 'Accept undo' }).click();
  await token(bob.page, ':not(.me)').waitFor({ state: 'detached' });
  await token(ada.page, '.me').waitFor({ state: 'detached' });
  // Bob took it back, so Bob (or Ada) may redo it.
  await bob.page.getByRole('button', { name: 'Redo', exact: true }).click();
  await token(ada.page, '.me').waitFor();
  for (const p of [ada, bob]) { assert.deepEqual(p.errors, []); await p.context.close(); }
});
