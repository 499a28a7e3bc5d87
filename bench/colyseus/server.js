// The `counter` benchmark room on Colyseus 0.18: the same game as Arbiter's built-in `counter`
// (crates/games/src/counter.rs). State {count, actions, last, players}; action "add" {seq, n}
// adds n (−1000..=1000), counts the action and records who acted; the actor gets an "ack"
// {seq, n: actions} (Arbiter's ack carries the version) after the state change is sent.
//
//   PORT=2567 PATCH=immediate node server.js   # broadcastPatch() after every action
//   PORT=2567 PATCH=50 node server.js          # Colyseus's default 50 ms patch rate
//
// And the `drift` room, the same game as Arbiter's built-in `drift` (crates/games/src/drift.rs)
// for the tick workload: every player steers a dot ("steer" {seq, dx, dy}, each −1..=1, the
// latest before a tick wins); the room ticks with setSimulationInterval(tickMs), moving each
// dot 4 units per axis it steers on over a 1000 × 1000 field that wraps, and after each tick
// sends the patch at once (broadcastPatch(), as Arbiter sends one patch per tick) and then
// each input's "ack" {seq, tick}. `at` is the tick's start on the system clock (ms, to the
// microsecond), for clients to time the patch.
'use strict';

const { Server, Room } = require('@colyseus/core');
const { WebSocketTransport } = require('@colyseus/ws-transport');
const { Schema, MapSchema, defineTypes } = require('@colyseus/schema');
const { performance } = require('perf_hooks');

const PORT = Number(process.env.PORT || 2567);
const PATCH = process.env.PATCH || 'immediate';
const IMMEDIATE = PATCH === 'immediate';

class CounterState extends Schema {
  constructor() {
    super();
    this.count = 0;
    this.actions = 0;
    this.last = '';
    this.players = new MapSchema();
  }
}
defineTypes(CounterState, {
  count: 'number',
  actions: 'number',
  last: 'string',
  players: { map: 'string' },
});

class CounterRoom extends Room {
  onCreate(options) {
    // Players (up to 64, as in Arbiter) plus spectators.
    this.maxClients = 64 + Math.min(Number(options.maxSpectators || 64), 1000);
    this.maxPlayers = Math.min(Number(options.maxPlayers || 64), 64);
    this.setState(new CounterState());
    // null: no patch timer; every action calls broadcastPatch() itself.
    this.patchRate = IMMEDIATE ? null : 50;
    this.seated = 0;
    this.onMessage('add', (client, msg) => {
      const seq = msg && msg.seq;
      const n = msg && msg.n;
      if (!client.userData || !client.userData.player) {
        client.send('reject', { seq, code: 'NOT_A_PLAYER' });
        return;
      }
      if (!Number.isInteger(n) || n < -1000 || n > 1000) {
        client.send('reject', { seq, code: 'INVALID_MOVE' });
        return;
      }
      this.state.count += n;
      this.state.actions += 1;
      this.state.last = client.sessionId;
      if (IMMEDIATE) this.broadcastPatch();
      client.send('ack', { seq, n: this.state.actions });
    });
  }

  onJoin(client, options) {
    const wantsSeat = !options || options.as !== 'spectator';
    const player = wantsSeat && this.seated < this.maxPlayers;
    client.userData = { player };
    if (player) {
      this.seated += 1;
      this.state.players.set(client.sessionId, String((options && options.name) || 'Guest'));
    }
  }

  onLeave(client) {
    if (client.userData && client.userData.player) {
      this.seated -= 1;
      this.state.players.delete(client.sessionId);
    }
  }
}

class Dot extends Schema {
  constructor(x, y) {
    super();
    this.x = x;
    this.y = y;
    this.dx = 0;
    this.dy = 0;
  }
}
defineTypes(Dot, { x: 'int16', y: 'int16', dx: 'int8', dy: 'int8' });

class DriftState extends Schema {
  constructor(tickMs) {
    super();
    this.tickMs = tickMs;
    this.tick = 0;
    this.at = 0;
    this.dots = new MapSchema();
  }
}
defineTypes(DriftState, { tickMs: 'uint16', tick: 'uint32', at: 'float64', dots: { map: Dot } });

const FIELD = 1000;
const SPEED = 4;
const steering = (d) => Number.isInteger(d) && d >= -1 && d <= 1;

class DriftRoom extends Room {
  onCreate(options) {
    const tickMs = Number((options && options.tickMs) || 33);
    this.maxClients = 64 + Math.min(Number((options && options.maxSpectators) || 64), 1000);
    this.setState(new DriftState(tickMs));
    this.patchRate = null; // one patch per tick, sent by the tick itself
    this.seats = 0;
    this.steers = new Map(); // sessionId → latest {dx, dy} since the last tick
    this.acks = []; // [client, seq] waiting for the next tick
    this.onMessage('steer', (client, msg) => {
      const seq = msg && msg.seq;
      if (!this.state.dots.has(client.sessionId)) {
        client.send('reject', { seq, code: 'NOT_A_PLAYER' });
        return;
      }
      if (!steering(msg.dx) || !steering(msg.dy)) {
        client.send('reject', { seq, code: 'INVALID_MOVE' });
        return;
      }
      this.steers.set(client.sessionId, { dx: msg.dx, dy: msg.dy });
      this.acks.push([client, seq]);
    });
    this.setSimulationInterval(() => this.step(), tickMs);
  }

  step() {
    const at = performance.timeOrigin + performance.now();
    for (const [id, s] of this.steers) {
      const dot = this.state.dots.get(id);
      if (dot) { dot.dx = s.dx; dot.dy = s.dy; }
    }
    this.steers.clear();
    this.state.dots.forEach((dot) => {
      if (dot.dx) dot.x = (((dot.x + SPEED * dot.dx) % FIELD) + FIELD) % FIELD;
      if (dot.dy) dot.y = (((dot.y + SPEED * dot.dy) % FIELD) + FIELD) % FIELD;
    });
    this.state.tick += 1;
    this.state.at = at;
    this.broadcastPatch();
    const tick = this.state.tick;
    for (const [client, seq] of this.acks) client.send('ack', { seq, tick });
    this.acks = [];
  }

  onJoin(client, options) {
    if (options && options.as === 'spectator') return;
    const at = (this.seats * 37) % FIELD;
    this.seats += 1;
    this.state.dots.set(client.sessionId, new Dot(at, at));
  }

  onLeave(client) {
    this.state.dots.delete(client.sessionId);
  }
}

// setState is deprecated in some 0.18 builds; fall back to assigning `state`.
if (typeof Room.prototype.setState !== 'function') {
  CounterRoom.prototype.setState = function setState(s) { this.state = s; };
  DriftRoom.prototype.setState = function setState(s) { this.state = s; };
}

const gameServer = new Server({ transport: new WebSocketTransport({}) , greet: false });
gameServer.define('counter', CounterRoom);
gameServer.define('drift', DriftRoom);
gameServer.listen(PORT, '127.0.0.1').then(() => {
  console.log(`colyseus counter (${IMMEDIATE ? 'immediate patches' : 'patchRate 50 ms'}) on ws://127.0.0.1:${PORT}`);
});
