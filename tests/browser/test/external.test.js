// The example external game (crates/server/examples/buzzer) played from a party in two
// browsers: the buzzer registers itself with an API key, the host picks it and starts it,
// both pages go to the buzzer's own site, Bob buzzes first, and the link back brings both to
// the party, which shows Bob won.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { startServer, launchBrowser, newPlayer, createRoom, joinByCode, ROOT } from '../helpers.js';

const TOKEN = 'admin-token-for-the-browser-test';
const BUZZER = join(dirname(process.env.ARBITER_BIN || join(ROOT, 'target/debug/arbiter')), 'examples/buzzer');

let srv, browser, buzzer;
before(async () => {
  srv = await startServer(['--admin-token', TOKEN]);
  browser = await launchBrowser();
  const made = await fetch(`${srv.url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'buzzer', scopes: ['game:read', 'game:write'], game: 'buzzer' }),
  }).then((r) => r.json());
  // The buzzer's backend, on a free port; it says where once it has registered.
  buzzer = spawn(BUZZER, [], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ARBITER_ADDR: srv.url.replace('http://', ''), ARBITER_API_KEY: made.key, BUZZER_LISTEN: '127.0.0.1:0' },
  });
  await new Promise((ok, fail) => {
    buzzer.once('exit', (code) => fail(new Error(`the buzzer exited with ${code}`)));
    createInterface({ input: buzzer.stdout }).on('line', (line) => { if (line.startsWith('Buzzer is listening')) ok(); });
  });
});
after(async () => { buzzer?.kill('SIGTERM'); await browser?.close(); await srv?.stop(); });

test('a party plays the example buzzer on its own site and comes back to the lobby', async () => {
  const ada = await newPlayer(browser, srv.url, 'Ada');
  await ada.page.locator('#games li[data-game="party"]').waitFor();
  const code = await createRoom(ada.page, 'party');
  const bob = await newPlayer(browser, srv.url, 'Bob');
  await joinByCode(bob.page, code);
  for (const p of [ada, bob]) await p.page.locator('#party-members li').nth(1).waitFor();

  // The registered game is in the host's picker, beside the built-in ones.
  await ada.page.locator('#party-game option[value="ext:buzzer"]').waitFor({ state: 'attached' });
  await ada.page.selectOption('#party-game', 'ext:buzzer');
  await ada.page.click('#party-pick');
  await bob.page.locator('#party-pick-shown', { hasText: 'Next game: Buzzer' }).waitFor();
  for (const p of [ada, bob]) {
    await p.page.click('#party-ready');
    await p.page.locator('#party-ready[aria-pressed="true"]').waitFor();
  }
  await ada.page.locator('#party-start:not([disabled])').waitFor();
  await ada.page.click('#party-start');

  // Each page goes to the buzzer's site with its own ticket.
  for (const p of [ada, bob]) {
    await p.page.locator('#party-go').click();
    await p.page.locator('#buzz').waitFor();
    assert.match(p.page.url(), /\?session=x1\./);
  }
  await ada.page.locator('#status', { hasText: 'You are Ada' }).waitFor();
  await bob.page.click('#buzz');
  await bob.page.locator('#status', { hasText: 'Bob buzzed first!' }).waitFor();
  // Ada buzzes too late: her page learns who was first.
  await ada.page.click('#buzz');
  await ada.page.locator('#status', { hasText: 'Bob buzzed first!' }).waitFor();

  // Back to the party: the game is in its history, and nobody is playing.
  for (const p of [ada, bob]) {
    await p.page.locator('#back').click();
    await p.page.locator('#party-history li', { hasText: 'Buzzer — Bob won' }).waitFor();
    await p.page.locator('#party-playing p').waitFor({ state: 'detached' });
  }
  assert.deepEqual([...ada.errors, ...bob.errors], []);
});
