// Load generator for the Colyseus `counter` room, mirroring `arbiter bench` (crates/bench):
// the same R rooms × C players (+ S spectators) × T ms workload, the same measurements, the
// same JSON report (print it next to Arbiter's with `arbiter bench --compare a.json b.json`).
//
// It uses the official client (@colyseus/sdk), which decodes every state patch; that is how a
// real client receives Colyseus state, and the decoded `actions` field is what tells which
// action an update carries. Its CPU is reported, so a load-bound row is visible.
//
//   node loadgen.js --url ws://127.0.0.1:2567 --rooms 250 --clients 4 --interval-ms 100 \
//     --warmup 3 --duration 10 --server-pid 1234 --label colyseus --json out.json
//
// `--workload tick` drives the `drift` room instead (`arbiter bench --workload tick`): rooms
// ticking every --tick-ms, every player steering every --interval-ms (default: once per tick).
// Each tick's patch is timed at every member from when the tick was due: the room's
// setInterval runs a tick `tickMs` after the previous one started (`at` of the previous tick).
'use strict';

const fs = require('fs');
const { Client } = require('@colyseus/sdk');

function parseArgs(argv) {
  const o = {
    url: 'ws://127.0.0.1:2567', workload: 'act', rooms: 250, clients: 4, spectators: 0,
    intervalMs: 100, warmup: 3, duration: 10, drain: 3, setupTimeout: 60, concurrency: 64,
    serverPid: 0, label: 'colyseus', json: '', format: 'table', schedule: 'clustered',
    tickMs: 33,
  };
  let interval = false;
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    const v = argv[i + 1];
    o[k] = typeof o[k] === 'number' ? Number(v) : v;
    if (k === 'intervalMs') interval = true;
  }
  if (o.workload === 'tick' && !interval) o.intervalMs = o.tickMs;
  const host = new URL(o.url.replace(/^ws/, 'http')).hostname;
  if (!/^127\./.test(host) && host !== 'localhost') throw new Error('load is only sent to 127.0.0.0/8');
  if (!['clustered', 'spread'].includes(o.schedule)) throw new Error(`unknown schedule ${o.schedule}`);
  return o;
}

// Latencies in µs; percentiles by sorting (fine for ≤ a few million samples).
class Lat {
  constructor() { this.v = []; }
  record(us) { this.v.push(Math.max(1, us)); }
  summary() {
    const n = this.v.length;
    if (!n) return { count: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0, max_ms: 0, mean_ms: 0 };
    const s = Float64Array.from(this.v).sort();
    const q = (p) => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] / 1000;
    let sum = 0; for (const x of s) sum += x;
    return { count: n, p50_ms: q(0.5), p95_ms: q(0.95), p99_ms: q(0.99), max_ms: s[n - 1] / 1000, mean_ms: sum / n / 1000 };
  }
}

const TICKS = 100;
function sample(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = status.match(/VmRSS:\s+(\d+)/);
    return { at: performance.now(), utime: Number(f[11]), stime: Number(f[12]), rss: m ? Number(m[1]) : 0 };
  } catch { return null; }
}
function procStats(a, b, pid, actions) {
  const p = { pid, cpu_user_pct: 0, cpu_sys_pct: 0, cpu_us_per_action: 0, rss_start_kb: 0, rss_end_kb: 0, rss_before_kb: 0, rss_per_conn_kb: 0 };
  if (!a || !b) return p;
  p.rss_start_kb = a.rss; p.rss_end_kb = b.rss;
  const wall = (b.at - a.at) / 1000;
  if (!(wall > 0)) return p;
  p.cpu_user_pct = (b.utime - a.utime) / TICKS / wall * 100;
  p.cpu_sys_pct = (b.stime - a.stime) / TICKS / wall * 100;
  if (actions > 0) p.cpu_us_per_action = ((b.utime + b.stime) - (a.utime + a.stime)) / TICKS * 1e6 / actions;
  return p;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The system clock in ms, to the microsecond (the server's `at` is on the same clock).
const wallMs = () => performance.timeOrigin + performance.now();
const COMPASS = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]];

async function main() {
  const o = parseArgs(process.argv);
  const perRoom = o.clients + o.spectators;
  const total = o.rooms * perRoom;
  const players = o.rooms * o.clients;
  const sdk = new Client(o.url.replace(/^ws/, 'http'));
  const ticking = o.workload === 'tick';
  const game = ticking ? 'drift' : 'counter';
  const c = { sent: 0, acks: 0, acksInWindow: 0, measuredSent: 0, measuredAnswered: 0, updates: 0, frames: 0, errors: 0, disconnects: 0, joined: 0, failed: 0, skipped: 0, bytes: 0, tickPatches: 0 };
  const joinLat = new Lat(), ackLat = new Lat(), updLat = new Lat(), tickLat = new Lat();
  let firstError = null;
  let win = null; // {start, measure, end} in performance.now() ms
  let stopping = false;
  let firstConnect = null, lastJoined = null;
  const serverBefore = o.serverPid ? sample(o.serverPid) : null;

  // Per room: action index → {t0, left}, and updates seen before the ack named them.
  const rooms = [];
  for (let r = 0; r < o.rooms; r++) {
    let resolve; const id = new Promise((res) => { resolve = res; });
    rooms.push({ id, resolve, sent: new Map(), early: new Map() });
  }
  function received(room, k, at) {
    const e = room.sent.get(k);
    if (e) { updLat.record((at - e.t0) * 1000); if (--e.left === 0) room.sent.delete(k); }
    else { let l = room.early.get(k); if (!l) room.early.set(k, l = []); l.push(at); }
  }
  function answered(room, k, t0) {
    let left = perRoom;
    const l = room.early.get(k);
    if (l) { for (const at of l) { updLat.record((at - t0) * 1000); left--; } room.early.delete(k); }
    if (left > 0) room.sent.set(k, { t0, left });
  }

  // Setup with at most `concurrency` joins in flight.
  let inFlight = 0; const waiters = [];
  const acquire = async () => { if (inFlight >= o.concurrency) await new Promise((r) => waiters.push(r)); inFlight++; };
  const release = () => { inFlight--; const w = waiters.shift(); if (w) w(); };
  const members = [];
  async function setup(r, m) {
    const room = rooms[r];
    const player = m < o.clients;
    await acquire();
    const t0 = performance.now();
    if (firstConnect === null) firstConnect = t0;
    try {
      let cr;
      if (m === 0) {
        cr = await sdk.create(game, { name: `b${r * perRoom + m}`, maxPlayers: o.clients, maxSpectators: o.spectators, tickMs: o.tickMs });
        room.resolve(cr.roomId);
      } else {
        const id = await room.id;
        if (!id) throw new Error('the room could not be created');
        cr = await sdk.joinById(id, { name: `b${r * perRoom + m}`, as: player ? 'player' : 'spectator' });
      }
      // First state received.
      const ready = (s) => s && (ticking ? s.tick !== undefined : s.actions !== undefined);
      if (!ready(cr.state)) await new Promise((res) => cr.onStateChange.once(res));
      const now = performance.now();
      joinLat.record((now - t0) * 1000);
      lastJoined = now; c.joined++;
      members.push({ r, m, player, cr });
    } catch (e) {
      if (m === 0) room.resolve(null);
      c.failed++; if (!firstError) firstError = String(e && e.message || e);
    } finally { release(); }
  }
  const setups = [];
  for (let r = 0; r < o.rooms; r++) for (let m = 0; m < perRoom; m++) setups.push(setup(r, m));
  await Promise.race([Promise.all(setups), sleep(o.setupTimeout * 1000)]);
  const notes = [];
  if (c.joined < total) notes.push(`only ${c.joined} of ${total} members joined within ${o.setupTimeout}s`);
  if (firstError) notes.push(`first error: ${firstError}`);

  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const measuring = () => win && performance.now() >= win.measure;
  // Wire every member.
  for (const mem of members) {
    const room = rooms[mem.r];
    let seen = mem.cr.state.actions || 0;
    mem.pending = [];
    // Payload bytes of every message this member receives.
    const events = mem.cr.connection.events;
    const onmessage = events.onmessage;
    events.onmessage = (e) => {
      const now = performance.now();
      if (win && now >= win.measure && now < win.end) c.bytes += e.data.byteLength || e.data.length || 0;
      onmessage(e);
    };
    if (ticking) {
      let prev = { tick: mem.cr.state.tick, at: mem.cr.state.at };
      mem.cr.onStateChange((state) => {
        const arrival = wallMs();
        const now = performance.now();
        const inWin = win && now >= win.measure && now < win.end;
        if (inWin) { c.updates++; c.frames++; }
        if (state.tick === prev.tick + 1 && inWin) {
          c.tickPatches++;
          tickLat.record((arrival - (prev.at + o.tickMs)) * 1000);
        }
        prev = { tick: state.tick, at: state.at };
      });
    } else mem.cr.onStateChange((state) => {
      const now = performance.now();
      const inWin = win && now >= win.measure && now < win.end;
      if (inWin) { c.updates++; c.frames++; }
      const a = state.actions;
      if (a > seen) {
        if (win && now >= win.measure) for (let k = seen + 1; k <= a; k++) received(room, k, now);
        seen = a;
      }
    });
    mem.cr.onMessage('ack', (msg) => {
      const now = performance.now();
      const inWin = win && now >= win.measure && now < win.end;
      while (mem.pending.length && mem.pending[0].seq <= msg.seq) {
        const p = mem.pending.shift();
        if (p.seq < msg.seq) continue;
        c.acks++; if (inWin) c.acksInWindow++;
        if (p.measured) { c.measuredAnswered++; ackLat.record((now - p.t0) * 1000); if (!ticking) answered(room, msg.n, p.t0); }
      }
    });
    mem.cr.onMessage('reject', () => { c.errors++; });
    mem.cr.onLeave(() => { if (!stopping) c.disconnects++; });
    mem.cr.onError(() => { c.errors++; });
  }

  let serverA = null, selfA = null, serverB = null, selfB = null, measuredMs = 0;
  if (o.workload === 'act' || ticking) {
    const start = performance.now() + 50;
    win = { start, measure: start + o.warmup * 1000, end: start + (o.warmup + o.duration) * 1000 };
    const acting = members.filter((m) => m.player);
    acting.sort((a, b) => a.r * perRoom + a.m - (b.r * perRoom + b.m));
    acting.forEach((mem) => {
      const idx = mem.r * o.clients + mem.m;
      // The phases of `arbiter bench --schedule` (crates/bench/src/schedule.rs): clustered,
      // player i of n at i/n; spread, at frac(i·φ), a room's players far apart.
      const phase = o.schedule === 'spread'
        ? (idx * 0.6180339887498949) % 1
        : (idx % players) / players;
      let due = win.start + o.intervalMs * phase;
      let seq = 0;
      const tick = () => {
        const now = performance.now();
        if (now >= win.end || stopping) return;
        seq++;
        const measured = now >= win.measure;
        mem.pending.push({ seq, t0: now, measured });
        c.sent++; if (measured) c.measuredSent++;
        if (ticking) {
          const [dx, dy] = COMPASS[(seq + idx) % 8];
          mem.cr.send('steer', { seq, dx, dy });
        } else mem.cr.send('add', { seq, n: 1 });
        due += o.intervalMs;
        const after = performance.now();
        while (due <= after) { due += o.intervalMs; c.skipped++; }
        setTimeout(tick, due - after);
      };
      setTimeout(tick, Math.max(0, due - performance.now()));
    });
    await sleep(win.measure - performance.now());
    serverA = sample(o.serverPid); selfA = sample(process.pid);
    await sleep(win.end - performance.now());
    serverB = sample(o.serverPid); selfB = sample(process.pid);
    measuredMs = serverB ? serverB.at - serverA.at : (win.end - win.measure);
    if (selfA && selfB) measuredMs = selfB.at - selfA.at;
    const drainEnd = performance.now() + o.drain * 1000;
    while (c.measuredAnswered < c.measuredSent && performance.now() < drainEnd) await sleep(5);
    await sleep(100);
  } else if (o.workload === 'idle') {
    await sleep(2000);
    serverA = sample(o.serverPid); selfA = sample(process.pid);
    await sleep(o.duration * 1000);
    serverB = sample(o.serverPid); selfB = sample(process.pid);
    measuredMs = o.duration * 1000;
  } else {
    serverA = serverB = sample(o.serverPid); selfA = selfB = sample(process.pid);
  }
  stopping = true;
  await Promise.race([Promise.all(members.map((m) => m.cr.leave(true).catch(() => {}))), sleep(5000)]);

  const secs = measuredMs / 1000;
  const perS = (x) => (secs > 0 ? x / secs : 0);
  const server = procStats(serverA, serverB, o.serverPid, c.acksInWindow);
  if (serverBefore) {
    server.rss_before_kb = serverBefore.rss;
    if (c.joined) server.rss_per_conn_kb = Math.max(0, server.rss_start_kb - serverBefore.rss) / c.joined;
  }
  const loadgen = procStats(selfA, selfB, process.pid, c.acksInWindow);
  if (loadgen.cpu_user_pct + loadgen.cpu_sys_pct >= 90) notes.push(`load generator at ${(loadgen.cpu_user_pct + loadgen.cpu_sys_pct).toFixed(0)}% of its core: this row is load-bound`);
  if (c.skipped) notes.push(`${c.skipped} scheduled actions skipped (a client fell behind its schedule)`);
  if (!o.serverPid) notes.push('no --server-pid: no server CPU or RSS');
  const joinWall = firstConnect !== null && lastJoined !== null ? lastJoined - firstConnect : 0;
  const report = {
    label: o.label, target: 'colyseus', workload: o.workload, game,
    rooms: o.rooms, clients: o.clients, spectators: o.spectators, interval_ms: o.intervalMs,
    schedule: o.schedule,
    warmup_s: o.warmup, duration_s: secs, started_at: startedAt, connections: total,
    join: { joined: c.joined, failed: c.failed, wall_ms: joinWall, per_s: joinWall > 0 ? c.joined / (joinWall / 1000) : 0, latency: joinLat.summary() },
    offered_actions_per_s: o.workload === 'act' || ticking ? players * 1000 / o.intervalMs : 0,
    actions_sent: c.sent, acks: c.acks, actions_per_s: perS(c.acksInWindow),
    updates: c.updates, updates_per_s: perS(c.updates), frames_per_s: perS(c.frames),
    ack_latency: ackLat.summary(), update_latency: updLat.summary(),
    errors: c.errors, disconnects: c.disconnects, unanswered: Math.max(0, c.measuredSent - c.measuredAnswered),
    server, loadgen, notes,
  };
  if (ticking) {
    const joined = Math.max(1, c.joined);
    report.tick = {
      tick_ms: o.tickMs,
      ticks_per_s: perS(c.tickPatches) / joined,
      tick_latency: tickLat.summary(),
      bytes_per_client_per_s: perS(c.bytes) / joined,
      cpu_ms_per_room_s: (server.cpu_user_pct + server.cpu_sys_pct) * 10 / Math.max(1, o.rooms),
    };
  }
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(report, null, 2));
  console.log(JSON.stringify(report));
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
