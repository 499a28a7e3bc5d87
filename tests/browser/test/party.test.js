// A party in three browsers: gather by code, chat, pick tic-tac-toe, two members ready up, the
// host starts it, the pages follow into the game (the third member watches), the game is
// played to a win, and everyone's page comes back to the party, which shows the result.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, boardOf, boardIs, mover, screenshot } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('three friends gather in a party, play tic-tac-toe from it and come back to the result', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="party"]').waitFor();
  const code = await createRoom(ada.page, 'party');
  await ada.page.locator('#status', { hasText: 'You are the host' }).waitFor();
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  const cy = await newPlayer(browser, srv.url, 'Cy');
  await joinByCode(cy.page, code);
  for (const p of [ada, bob, cy]) await p.page.locator('#party-members li').nth(2).waitFor();
  await bob.page.locator('#status', { hasText: 'Ada is the host' }).waitFor();
  assert.equal(await bob.page.locator('#party-host').isHidden(), true, 'only the host picks');

  // Chat in the lobby; the party says who came.
  await ada.page.locator('#chat-log li.system[data-event="joined"]', { hasText: 'Cy joined' }).waitFor();
  const say = async (p, text) => { await p.page.fill('#chat-input', text); await p.page.click('#chat-send'); };
  await say(cy, 'who is in?');
  for (const p of [ada, bob]) await p.page.locator('#chat-log li', { hasText: 'who is in?' }).waitFor();

  // The host moderates: deletes a message for everyone, mutes a member and lets them back.
  assert.equal(await bob.page.locator('#chat-log button.del').count(), 0, 'only the host deletes');
  await ada.page.locator('#chat-log li', { hasText: 'who is in?' }).locator('button.del').click();
  for (const p of [bob, cy]) await p.page.locator('#chat-log li', { hasText: 'who is in?' }).waitFor({ state: 'detached' });
  await ada.page.locator('#members li', { hasText: 'Cy' }).locator('button.mute').click();
  await bob.page.locator('#chat-log li.system', { hasText: 'the host muted Cy' }).waitFor();
  await cy.page.locator('#members li', { hasText: 'muted' }).waitFor();
  await say(cy, 'can anyone hear me');
  await cy.page.locator('.toast', { hasText: 'muted' }).waitFor();
  await ada.page.locator('#members li', { hasText: 'Cy' }).locator('button.mute[aria-pressed="true"]').click();
  await bob.page.locator('#chat-log li.system', { hasText: 'Cy may chat again' }).waitFor();
  await say(cy, 'back again');
  await bob.page.locator('#chat-log li', { hasText: 'back again' }).waitFor();
  // Messages arrive in order: a relayed muted one would be on the page by now.
  assert.equal(await bob.page.locator('#chat-log li', { hasText: 'can anyone hear me' }).count(), 0);

  // The host picks tic-tac-toe; Ada and Bob say they are ready; Ada starts it.
  await ada.page.locator('#party-game option[value="tictactoe"]').waitFor({ state: 'attached' });
  await ada.page.selectOption('#party-game', 'tictactoe');
  await ada.page.click('#party-pick');
  await cy.page.locator('#party-pick-shown', { hasText: 'Next game: Tic-tac-toe' }).waitFor();
  for (const p of [ada, bob]) {
    await p.page.click('#party-ready');
    await p.page.locator('#party-ready[aria-pressed="true"]').waitFor();
  }
  await ada.page.locator('#party-start:not([disabled])').waitFor();
  await screenshot(ada.page, 'party.png');
  await ada.page.click('#party-start');

  // Every page follows into the game: the two ready members as players, Cy watching.
  for (const p of [ada, bob, cy]) await p.page.locator('#room-game', { hasText: 'Tic-tac-toe' }).waitFor();
  await cy.page.locator('#role', { hasText: 'a spectator' }).waitFor();
  const players = [ada, bob];
  const first = await mover(players);
  const second = first === ada ? bob : ada;
  const moves = [[first, 0], [second, 3], [first, 1], [second, 4], [first, 2]];
  for (const [i, [p, cell]] of moves.entries()) {
    assert.equal(await mover(players), p);
    const before = await boardOf(p.page);
    const mark = (await p.page.textContent('#substatus')).includes('You play X') ? 'X' : 'O';
    await p.page.locator(`#game .cell[data-cell="${cell}"]`).click();
    // Both boards show each move before the next is made, so no stale "Your turn" is read.
    // The winning one ends the game, and the pages go back to the party at once.
    if (i === moves.length - 1) break;
    const after = before.slice(0, cell) + mark + before.slice(cell + 1);
    for (const q of players) await boardIs(q.page, after);
  }

  // The party hears the end and every page is back in the lobby, with the result.
  for (const p of [ada, bob, cy]) {
    await p.page.locator('#party-history li', { hasText: `Game 1: Tic-tac-toe — ${first.name} won` }).waitFor();
    await p.page.locator('#room-game', { hasText: 'Party' }).waitFor();
  }
  await ada.page.locator('#status', { hasText: 'You are the host' }).waitFor();
  for (const p of [ada, bob, cy]) assert.deepEqual(p.errors, []);
});
