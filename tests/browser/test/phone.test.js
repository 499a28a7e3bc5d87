// A phone-sized screen (390 × 844, touch): the lobby and a party's page fit the width — nothing
// scrolls sideways — and the party's controls, the chat and the video button are on the page
// and usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPlayer, createRoom, screenshot } from '../helpers.js';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await srv?.stop(); });

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** Whether the page scrolls sideways, and elements that stick out of the screen sideways. */
const overflowing = (page) => page.evaluate(() => {
  const w = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('body *')].filter((el) => {
    // The skip link and screen-reader text sit off-screen on purpose.
    if (!el.getClientRects().length || el.closest('.skip, .sr-only')) return false;
    const r = el.getBoundingClientRect();
    return r.right > w + 1 || r.left < -1;
  });
  return { scroll: document.documentElement.scrollWidth > w, out: out.slice(0, 5).map((el) => el.id || el.className || el.tagName) };
});

test('the lobby and a party fit a phone screen and stay usable', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada', { context: PHONE });
  await ada.page.locator('#games li[data-game="party"]').waitFor();
  assert.deepEqual(await overflowing(ada.page), { scroll: false, out: [] }, 'the lobby');
  await createRoom(ada.page, 'party');
  await ada.page.locator('#status', { hasText: 'You are the host' }).waitFor();
  assert.deepEqual(await overflowing(ada.page), { scroll: false, out: [] }, 'the party');
  for (const sel of ['#party-ready', '#party-game', '#chat-input', '#chat-send', '#video-toggle']) {
    await ada.page.locator(sel).scrollIntoViewIfNeeded();
    assert.ok(await ada.page.locator(sel).isVisible(), `${sel} is on the page`);
  }
  // Touch works: tap ready, and say something.
  await ada.page.locator('#party-ready').tap();
  await ada.page.locator('#party-ready[aria-pressed="true"]').waitFor();
  await ada.page.fill('#chat-input', 'hello from a phone');
  await ada.page.locator('#chat-send').tap();
  await ada.page.locator('#chat-log li', { hasText: 'hello from a phone' }).waitFor();
  await screenshot(ada.page, 'party-phone.png');
  assert.deepEqual(ada.errors, []);
});
