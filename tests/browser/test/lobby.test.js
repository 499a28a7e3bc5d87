// Finding a game from the lobby: the public list follows new rooms live and filters them by
// game, free seat and tag; a room with a password is shared by an invite link that admits
// without it, while its bare code does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, online } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('the room list follows new rooms live and filters them; an invite link admits to a room with a password', async () => {
  const cy = await newPlayer(browser, srv.url, 'Cy');
  await cy.page.locator('#f-game option[value="tictactoe"]').waitFor({ state: 'attached' });
  await cy.page.selectOption('#f-game', 'tictactoe');
  await cy.page.check('#f-space');
  await cy.page.fill('#f-tag', 'casual');

  // Ada makes two rooms after Cy opened the lobby: only the one Cy filters for shows up.
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="counter"]').waitFor();
  await ada.page.fill('#new-tags', 'casual');
  const counter = await createRoom(ada.page, 'counter');
  await ada.page.click('#leave');
  await ada.page.locator('#lobby').waitFor();
  await ada.page.fill('#new-lang', 'de');
  await ada.page.fill('#new-tags', 'Casual, friends');
  await ada.page.fill('#new-password', 'open sesame');
  const code = await createRoom(ada.page, 'tictactoe');
  const row = cy.page.locator(`#rooms li[data-code="${code}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /#casual.*#friends/);
  assert.equal(await cy.page.locator(`#rooms li[data-code="${counter}"]`).count(), 0, 'filtered out by game');

  // The room is locked: its bare code does not let Bob in; Ada's invite link does.
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await bob.page.fill('#code', code);
  await bob.page.click('#join-code');
  await bob.page.locator('.toast', { hasText: 'password' }).waitFor();
  await ada.page.click('#copy');
  await ada.page.waitForFunction(() => /invite=/.test(document.querySelector('#copy').dataset.link || ''));
  const link = await ada.page.$eval('#copy', (b) => b.dataset.link);
  assert.ok(link.includes(`#room=${code}&invite=`), link);
  await bob.page.goto(link);
  await online(bob.page);
  await bob.page.locator('#room-code', { hasText: code }).waitFor();
  await bob.page.locator('#role', { hasText: 'a player' }).waitFor();

  // The room is full now: it leaves Cy's list of rooms with a free seat, live.
  await row.waitFor({ state: 'detached' });
  await cy.page.uncheck('#f-space');
  await row.waitFor();
  for (const p of [ada, bob, cy]) assert.deepEqual(p.errors, []);
});
