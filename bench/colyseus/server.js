// The `counter` benchmark room on Colyseus 0.18: the same game as Arbiter's built-in `counter`
// (crates/games/src/counter.rs). State {count, actions, last, players}; action "add" {seq, n}
// adds n (−1000..=1000), counts the action and records who acted; the actor gets an "ack"
// {seq, n: actions} (Arbiter's ack carries the version) after the state change is sent.
//
//   PORT=2567 PATCH=immediate node server.js   # broadcastPatch() after every action
//   PORT=2567 PATCH=50 node server.js          # Colyseus's default 50 ms patch rate
'use strict';

const { Server, Room } = require('@colyseus/core');
const { WebSocketTransport } = require('@colyseus/ws-transport');
const { Schema, MapSchema, defineTypes } = require('@colyseus/schema');

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

// setState is deprecated in some 0.18 builds; fall back to assigning `state`.
if (typeof Room.prototype.setState !== 'function') {
  CounterRoom.prototype.setState = function setState(s) { this.state = s; };
}

const gameServer = new Server({ transport: new WebSocketTransport({}) , greet: false });
gameServer.define('counter', CounterRoom);
gameServer.listen(PORT, '127.0.0.1').then(() => {
  console.log(`colyseus counter (${IMMEDIATE ? 'immediate patches' : 'patchRate 50 ms'}) on ws://127.0.0.1:${PORT}`);
});
