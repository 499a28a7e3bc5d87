// Shared fixtures of the browser tests: a real `arbiter` server on port 0, Debian's
// Chromium driven by playwright-core, and players (one browser context each).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, extname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const SHOTS = join(ROOT, 'docs/screenshots');
const BIN = process.env.ARBITER_BIN || join(ROOT, 'target/debug/arbiter');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const VIEWPORT = { width: 1000, height: 700 };

/** Start `arbiter serve` on port 0 with a fresh data directory; resolves with the address it
 *  prints once it is listening (no readiness polling, no probed port to lose to another
 *  process), fails at once if it exits first. Waits have no deadline of their own: a hang is
 *  caught by the runner's per-test timeout (package.json), not by a race with the clock. */
export async function startServer(extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'arbiter-browser-'));
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dir, '--allow-seeded-rooms', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ARBITER_LOG: process.env.ARBITER_LOG || 'warn' } });
  let output = '';
  const keep = (d) => { output += d; if (output.length > 20000) output = output.slice(-10000); };
  proc.stderr.on('data', keep);
  const exited = new Promise((ok) => proc.once('exit', (code) => ok(code)));
  const url = await new Promise((ok, fail) => {
    exited.then((code) => fail(new Error(`arbiter exited with ${code}:\n${output}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const said = /^Arbiter is listening on (http:\/\/[^/]+)\//.exec(line);
      if (said) ok(said[1]); else keep(`${line}\n`);
    });
  });
  return {
    url,
    async stop() {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited; clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Launch Debian's Chromium headless with a fresh profile. Never downloads a browser. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run',
      // A camera and microphone that need no device and no permission prompt (video tiles).
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      // ICE candidates on loopback as addresses, not mDNS names nothing here resolves; pages
      // served by route interception (ARBITER_WEB_DIR) have no address space of their own.
      `--disable-features=WebRtcHideLocalIpsWithMdns${process.env.ARBITER_WEB_DIR ? ',LocalNetworkAccessChecks' : ''}`],
  });
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };

/**
 * A player: a fresh browser context (its own storage, so its own identity) with a page on the
 * lobby, named `name`, connected. With ARBITER_WEB_DIR set, `/` and `/web/*` are served from
 * that directory instead of the binary's embedded copy (for working on the UI without rebuilding).
 */
export async function newPlayer(browser, url, name, opts = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: opts.colorScheme || 'light', ...opts.context });
  // Every wait is for an event (a status, a card, a version): none races the clock, so a busy
  // machine or a bot's pause makes a test slower, never red.
  context.setDefaultTimeout(0);
  if (process.env.ARBITER_WEB_DIR) {
    const web = resolve(process.env.ARBITER_WEB_DIR);
    await context.route((u) => u.pathname === '/' || u.pathname.startsWith('/web/'), (route) => {
      const path = new URL(route.request().url()).pathname;
      const file = path === '/' ? 'index.html' : path.slice(5);
      try { route.fulfill({ body: readFileSync(join(web, file)), contentType: TYPES[extname(file)] || 'application/octet-stream' }); }
      catch { route.fulfill({ status: 404, body: 'not found' }); }
    });
  }
  if (name) await context.addInitScript((n) => { if (!localStorage.getItem('arbiter.name')) localStorage.setItem('arbiter.name', n); }, name);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(opts.path ? url + opts.path : url);
  if (!opts.path) await online(page);
  return { context, page, errors, name };
}

/** Wait for the connection indicator to say "online". */
export const online = (page) => page.locator('#conn[data-state=online]').waitFor();

/** Create a room of `game` from the lobby; returns its six-letter code. */
export async function createRoom(page, game) {
  await page.locator(`#games li[data-game="${game}"] button`).click();
  await page.locator('#room').waitFor();
  const code = page.locator('#room-code');
  await page.waitForFunction(() => /^[A-Z]{6}$/.test(document.querySelector('#room-code').textContent));
  await page.locator('#game').locator('xpath=.').waitFor();
  return (await code.textContent()).trim();
}

/** Join a room by typing its code in the lobby. */
export async function joinByCode(page, code, how = 'join') {
  await page.fill('#code', code);
  await page.click(how === 'watch' ? '#watch-code' : '#join-code');
  await page.waitForFunction((c) => document.querySelector('#room-code').textContent === c && !document.querySelector('#room').hidden, code);
}

/** The room's view as a JSON string of the board cells (tic-tac-toe). */
export const boardOf = (page) => page.$$eval('#game .cell', (cs) => cs.map((c) => c.textContent || '.').join(''));

/** Wait until the tic-tac-toe board on `page` reads `board` (9 characters, '.' for empty). */
export const boardIs = (page, board) => page.waitForFunction((b) =>
  [...document.querySelectorAll('#game .cell')].map((c) => c.textContent || '.').join('') === b, board);

/** Of `players`, the one whose status says "Your turn". */
export async function mover(players) {
  await Promise.any(players.map((p) => p.page.locator('#status', { hasText: 'Your turn' }).waitFor()));
  for (const p of players) if ((await p.page.textContent('#status')) === 'Your turn') return p;
  throw new Error('nobody is on turn');
}

export async function screenshot(page, file) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, file), animations: 'disabled', caret: 'hide' });
}
