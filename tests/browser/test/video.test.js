// Video at the table: two members turn their cameras on (Chromium's fake devices) and each
// page shows the other's tile playing, the media flowing between the browsers after the
// server relayed the signalling; a third member without a camera sees who has theirs on;
// turning a camera off takes its tile away on the other page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

/** Wait until `page` plays the video of `peer` (a frame has arrived). */
const playing = (page, peer) => page.waitForFunction((id) => {
  const v = document.querySelector(`#video-tiles video[data-peer="${id}"]`);
  return v && v.readyState >= 2 && v.videoWidth > 0;
}, peer);

test('two members see each other on camera; turning a camera off takes its tile away', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="party"]').waitFor();
  const code = await createRoom(ada.page, 'party');
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  const cy = await newPlayer(browser, srv.url, 'Cy');
  await joinByCode(cy.page, code);
  // A member's id, from the page's list of members, where they are "(you)".
  const id = (p) => p.page.evaluate(() => [...document.querySelectorAll('#members li')]
    .find((li) => li.textContent.includes('(you)'))?.dataset.id);
  const [adaId, bobId] = [await id(ada), await id(bob)];
  assert.ok(adaId && bobId, 'player ids');

  await ada.page.click('#video-toggle');
  await ada.page.locator('#video-toggle[aria-pressed="true"]').waitFor();
  await bob.page.click('#video-toggle');
  await playing(ada.page, bobId);
  await playing(bob.page, adaId);
  // Each page shows its own camera too, and no one else's.
  assert.equal(await ada.page.locator('#video-tiles figure').count(), 2);
  assert.equal(await cy.page.locator('#video-tiles figure').count(), 0);

  await bob.page.click('#video-toggle');
  await ada.page.locator(`#video-tiles figure[data-peer="${bobId}"]`).waitFor({ state: 'detached' });
  await bob.page.locator('#video-tiles figure').first().waitFor({ state: 'detached' });
  for (const p of [ada, bob, cy]) assert.deepEqual(p.errors, []);
});
