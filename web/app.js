// Arbiter's browser UI: lobby, rooms (one renderer per game), chat, and the replay viewer.
// Vanilla ES modules, no build step; every file is embedded into the server binary.
import { $, h, cap, applyPatch } from './lib.js';
import tictactoe from './games/tictactoe.js';
import dicegame from './games/dicegame.js';
import owedrahn from './games/owedrahn.js';
import tellit from './games/tellit.js';
import poker from './games/poker.js';
import tcg from './games/tcg.js';
import generic from './games/generic.js';
import party from './games/party.js';
import snake from './games/snake.js';
import { createVideo } from './video.js';

const RENDERERS = { tictactoe, dicegame, owedrahn, tellit, poker, tcg, party, snake };
const mountFor = (game) => RENDERERS[game] || generic;

// ---------- storage ----------
const store = {
  get(k) { try { return localStorage.getItem(k); } catch { return null; } },
  set(k, v) { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v); } catch { /* private mode */ } },
};
const K = { token: 'arbiter.token', name: 'arbiter.name', theme: 'arbiter.theme' };
const cleanName = (s) => [...(s || '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '')].slice(0, 32).join('').trim();

function toast(msg, code, kind = code ? 'error' : 'info') {
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, code ? h('b', {}, code) : null, msg);
  $('#toasts').append(el);
  setTimeout(() => el.remove(), 5000);
  while ($('#toasts').children.length > 4) $('#toasts').firstChild.remove();
}

// ---------- state ----------
const S = {
  ws: null, conn: 'connecting', authed: false, player: null, attempt: 0, retryAt: 0, timer: null, lastMsg: 0,
  rid: 0, pending: new Map(),   // rid -> {kind, code, as, then}
  rooms: new Map(),             // room id -> local room (view, version, members, seq, chat…)
  current: null,                // id of the room on screen
  want: null,                   // {code, as}: the room to (re)join once welcomed
  page: 'lobby',                // lobby | room | replay
  games: [], publicRooms: null, roomsError: false, noName: false, watching: false,
};
const cur = () => S.rooms.get(S.current);
const online = () => S.ws && S.authed;
function raw(msg) {
  if (S.ws && S.ws.readyState === WebSocket.OPEN) { S.ws.send(JSON.stringify(msg)); return true; }
  return false;
}
function send(msg) {
  if (!online()) { toast('You are offline; reconnecting…'); return false; }
  return raw(msg);
}
const video = createVideo({
  send, me: () => S.player?.id, tiles: $('#video-tiles'), button: $('#video-toggle'), toast,
});
function request(msg, meta) {
  const rid = ++S.rid;
  S.pending.set(rid, meta);
  return send({ ...msg, rid }) || (S.pending.delete(rid), false);
}

// ---------- connection ----------
function setConn(state) { S.conn = state; renderConn(); }
function connect() {
  clearTimeout(S.timer);
  setConn(S.player ? 'reconnecting' : 'connecting');
  let ws;
  try { ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`); }
  catch { S.ws = null; return retry(); }
  S.ws = ws; S.authed = false;
  ws.onopen = () => { S.lastMsg = Date.now(); hello(); };
  ws.onmessage = (e) => {
    if (ws !== S.ws) return;
    S.lastMsg = Date.now();
    let m; try { m = JSON.parse(e.data); } catch { return; }
    // A server frame holds one message or a batch (an array), in order.
    for (const one of Array.isArray(m) ? m : [m]) onMessage(one);
  };
  ws.onclose = () => down(ws);
}
function down(ws, again = true) {
  if (ws !== S.ws) return;
  S.ws = null; S.authed = false; S.pending.clear();
  for (const r of S.rooms.values()) r.syncing = false;
  if (again) retry();
}
function retry() {
  const ceiling = Math.min(10000, 500 * 2 ** S.attempt++);
  const delay = ceiling / 2 + Math.random() * ceiling / 2;   // exponential backoff, jittered
  S.retryAt = Date.now() + delay;
  setConn('offline');
  clearTimeout(S.timer);
  S.timer = setTimeout(connect, delay);
}
function reconnectNow() {
  const ws = S.ws;
  down(ws, false);
  try { ws?.close(1000); } catch { /* already closed */ }
  S.attempt = 0; connect();
}
function hello() {
  const msg = { t: 'hello', v: 1 };
  const name = cleanName(store.get(K.name));
  if (name && !S.noName) msg.name = name;
  const token = store.get(K.token);
  if (token) msg.token = token;
  raw(msg);
}
setInterval(() => {
  if (S.conn === 'offline') renderConn();
  if (!S.ws || !S.authed) return;
  const idle = Date.now() - S.lastMsg;
  if (idle > 50000) reconnectNow();           // the socket went quiet: assume it is dead
  else if (idle > 20000 && Date.now() - (S.pinged || 0) > 20000) { S.pinged = Date.now(); raw({ t: 'ping', n: S.pinged }); }
}, 1000);
// The browser knows first when the network goes: drop the socket at once and come back when it returns.
window.addEventListener('offline', () => {
  const ws = S.ws;
  if (!ws) return;
  down(ws, false); try { ws.close(1000); } catch { /* gone */ }
  clearTimeout(S.timer); setConn('offline');
});
window.addEventListener('online', () => { if (!S.ws) { S.attempt = 0; connect(); } });

// ---------- messages ----------
function onMessage(m) {
  const r = m.room && typeof m.room === 'string' ? S.rooms.get(m.room) : null;
  switch (m.t) {
    case 'welcome':
      S.player = m.player; S.authed = true; S.attempt = 0;
      store.set(K.token, m.token);
      setConn('online'); renderMe();
      if (!S.games.length) loadGames();
      rejoinAll();
      S.watching = false; watchRooms();
      break;
    case 'rooms':
      S.publicRooms = m.rooms; S.roomsError = false;
      renderRooms();
      return;
    case 'error': return onError(m);
    case 'joined': return onJoined(m);
    case 'bot_added': S.pending.delete(m.rid); return;
    case 'launched': S.pending.delete(m.rid); return;
    case 'invited': S.pending.delete(m.rid); return copyText(shareUrl(m.code, m.invite));
    case 'snapshot':
      if (!r) return;
      r.v = m.v; r.view = m.view; r.syncing = false;
      break;
    case 'patch':
      if (!r) return;
      if (r.v !== m.from || r.view == null) return resync(r);
      try { r.view = applyPatch(structuredClone(r.view), m.ops); r.v = m.v; }
      catch (e) { console.warn('patch failed', e, m); return resync(r); }
      break;
    case 'ack':
      r?.unacked.delete(m.seq);
      return;
    case 'reject':
      r?.unacked.delete(m.seq);
      toast(m.message, m.code);
      if (m.code === 'STALE' && r) resync(r);
      return;
    case 'presence':
      if (!r) return;
      if (m.event === 'left') r.members.delete(m.member.id); else r.members.set(m.member.id, m.member);
      if (r === cur()) video.members(r.id, r.members);
      break;
    case 'signal':
      if (r) video.signal(m, r.members).catch((e) => console.warn('signal failed', e, m));
      return;
    case 'paused':
      if (!r) return;
      r.info = { ...r.info, paused: m.paused };
      toast(m.paused
        ? (m.by ? `${r.members.get(m.by)?.name || 'The host'} paused the game.` : 'The game is paused: every player is away.')
        : 'The game goes on.');
      break;
    case 'undo_state':
      if (!r) return;
      r.undo = { undo: m.undo || null, redo: m.redo || null };
      break;
    case 'undo_proposal':
      if (!r) return;
      r.proposal = m.state === 'open' ? m : null;
      if (m.state === 'refused' && m.by === S.player?.id) toast('Your request to undo was refused.');
      else if (m.state === 'expired' && m.by === S.player?.id) toast('Your request to undo was not answered in time.');
      break;
    case 'chat':
      if (!r) return;
      addChat(r, m);
      if (r === cur()) renderChat(r);
      return;
    case 'chat_deleted':
      if (!r) return;
      r.chat = r.chat.filter((x) => x.id !== m.id);
      if (r === cur()) renderChat(r);
      return;
    case 'left': {
      const req = S.pending.get(m.rid); S.pending.delete(m.rid);
      S.rooms.delete(m.room);
      if (S.current === m.room) {
        S.current = null;
        if (req?.then) return req.then();
        S.want = null; if (S.page === 'room') go('lobby');
        if (!req) toast('You left this room (from another tab).');
      }
      break;
    }
    default: return;   // pong and future messages
  }
  if (r?.game === 'party' && (m.t === 'snapshot' || m.t === 'patch')) followParty(r);
  if (r === cur() || m.t === 'left') render();
}

// ---------- parties: the page follows the party into its game and back ----------
function followParty(r) {
  const v = r.view, me = S.player?.id;
  if (!v || !v.members?.[me]) return;
  const p = v.playing;
  if (p && r.followed !== p.round) {
    r.followed = p.round;
    joinRoom(p.code, p.players.includes(me) ? 'player' : 'spectator');
  } else if (!p && r.followed != null && r.returned !== r.followed) {
    r.returned = r.followed;
    const game = cur();
    if (game && game.id !== r.id && game.game !== 'party') {
      S.current = r.id; S.want = { code: r.code, as: r.as };
      go('room', r.code);
    }
  }
}
function onError(m) {
  if (!S.authed) {
    if (m.code === 'BAD_TOKEN') { store.set(K.token, null); return hello(); }
    if (m.code === 'INVALID_FIELD' && !S.noName) { S.noName = true; toast(m.message, 'NAME_REFUSED'); return hello(); }
  }
  const req = m.rid != null ? S.pending.get(m.rid) : null;
  if (req) S.pending.delete(m.rid);
  const closed = m.details && !req && S.rooms.get(m.details.room);
  if (closed && m.code === 'ROOM_CLOSED') {
    S.rooms.delete(closed.id);
    if (closed.id === S.current) { S.current = null; S.want = null; if (S.page === 'room') go('lobby'); }
    return toast(`Room ${closed.code}: ${m.message}`, m.code);
  }
  if (req && (req.kind === 'join' || req.kind === 'create')) {
    if (req.rejoin) { const gone = [...S.rooms.values()].find((x) => x.code === req.code); if (gone) S.rooms.delete(gone.id); }
    if (S.want && S.want.code === req.code) {
      S.want = null;
      if (S.current && cur()?.code === req.code) S.current = null;
      if (S.page === 'room') go('lobby');
    }
  }
  toast(m.message, m.code);
}
function onJoined(m) {
  const req = S.pending.get(m.rid) || {}; S.pending.delete(m.rid);
  const info = m.room;
  let r = S.rooms.get(info.id);
  if (!r) { r = { id: info.id, seq: 0, unacked: new Map(), chat: [], chatIds: new Set(), v: null, view: null }; S.rooms.set(info.id, r); }
  // Continue above every seq this player already used in the room (another tab, a reload).
  r.seq = Math.max(r.seq, m.seq || 0);
  const resumed = req.since != null && r.v === req.since;
  Object.assign(r, {
    code: info.code, game: info.game, info, role: m.role, notice: m.notice || null,
    members: new Map(m.members.map((x) => [x.id, x])), as: req.as || r.as || 'any', syncing: false,
  });
  if (!resumed) { r.v = null; r.view = null; }
  // What undo would take and any open proposal follow `joined` when there is something to say.
  r.undo = null; r.proposal = null;
  // Resend actions whose answer was lost with the old connection, with their original seq:
  // the server answers repeats again and applies the others once.
  for (const [seq, body] of r.unacked) raw({ ...body, room: r.id, seq });
  if (req.background) return;
  const switched = S.current !== r.id;
  S.current = r.id; S.want = { code: r.code, as: r.as };
  if (S.page !== 'replay') go('room', r.code);
  render();
  if (switched) $('#room-h').focus?.();
}
function resync(r) {
  if (r.syncing) return;
  r.syncing = true;
  raw({ t: 'sync', room: r.id });
}
/** After (re)connecting: resume every room we hold, from the version we hold. */
function rejoinAll() {
  const held = [...S.rooms.values()];
  for (const r of held) {
    const since = r.view != null ? r.v : undefined;
    const msg = { t: 'join', room: r.id, as: r.as || 'any' };
    if (since != null) msg.since = since;
    request(msg, { kind: 'join', code: r.code, as: r.as, since, rejoin: true, background: r.id !== S.current });
  }
  if (S.want && !held.some((r) => r.code.toLowerCase() === S.want.code.toLowerCase() || r.id === S.want.code)) {
    joinRoom(S.want.code, S.want.as, true, S.want.invite);
  }
}

// ---------- chat ----------
// Messages are numbered per room: the ones replayed after a rejoin are already here.
function addChat(r, m) {
  if (r.chatIds.has(m.id)) return;
  r.chatIds.add(m.id);
  r.chat.push(m);
  if (r.chat.length > 200) r.chat.splice(0, r.chat.length - 200);
}
/** Who moderates the room's chat: a party's host, elsewhere the human member here longest. */
function moderatorOf(r) {
  if (r.game === 'party') return r.view?.host || null;
  return [...r.members.values()].find((m) => !m.bot)?.id || null;
}
function renderChat(r) {
  const list = $('#chat-log');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const moderating = moderatorOf(r) === S.player?.id;
  const shown = list.children.length && list.dataset.room === r.id ? Number(list.dataset.count) : 0;
  if (list.dataset.room !== r.id || shown > r.chat.length || list.dataset.mod !== String(moderating)
      || (shown && Number(list.lastElementChild?.dataset.id) !== r.chat[shown - 1]?.id)) {
    list.replaceChildren(); list.dataset.room = r.id; list.dataset.mod = String(moderating);
  }
  const from = list.children.length ? Number(list.dataset.count) : 0;
  for (const m of r.chat.slice(from)) {
    const time = new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const stamp = h('time', { class: 'muted small', datetime: new Date(m.at).toISOString() }, time);
    if (!m.from) {
      // The room's own line: who came, went, hosts, was muted.
      list.append(h('li', { class: 'system', 'data-id': m.id, 'data-event': m.event?.kind || '' }, m.text, ' ', stamp));
      continue;
    }
    const mine = m.from.id === S.player?.id;
    const del = moderating
      ? h('button', { class: 'link small del', type: 'button', 'aria-label': `Delete ${m.from.name}'s message`,
        onclick: () => send({ t: 'chat_delete', room: r.id, id: m.id }) }, '×')
      : null;
    list.append(h('li', { class: mine ? 'mine' : '', 'data-id': m.id },
      h('span', { class: 'who' }, mine ? 'You' : m.from.name), ' ', stamp, del ? ' ' : null, del,
      h('div', { class: 'text' }, m.text)));
  }
  list.dataset.count = String(r.chat.length);
  $('#chat-empty').hidden = r.chat.length > 0;
  if (atBottom || from === 0) list.scrollTop = list.scrollHeight;
}

// ---------- actions ----------
function joinRoom(code, as = 'any', rejoin = false, invite = null) {
  code = (code || '').trim();
  if (!code) return;
  const have = [...S.rooms.values()].find((x) => x.code.toLowerCase() === code.toLowerCase() || x.id === code);
  if (have && !rejoin) { S.current = have.id; S.want = { code: have.code, as: have.as }; go('room', have.code); return render(); }
  S.want = { code, as, ...(invite ? { invite } : {}) };
  if (!online()) return toast('Offline: you will join as soon as the connection is back.');
  request({ t: 'join', room: code, as, ...(invite ? { invite } : {}) }, { kind: 'join', code, as, rejoin });
}
function createRoom(game, pub) {
  const lang = $('#new-lang').value.trim();
  const tags = $('#new-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
  // A room with a password is shared by invite links (Copy link); the field empties once sent.
  const password = $('#new-password').value; $('#new-password').value = '';
  request({ t: 'create', game, public: pub, as: 'any', ...(lang ? { lang } : {}), ...(tags.length ? { tags } : {}), ...(password ? { password } : {}) },
    { kind: 'create', code: null, as: 'any' });
}
/** Send a message that carries the room's next seq (`act`, `undo`, `redo`, `consent`). */
function sequenced(body) {
  const r = cur();
  if (!r) return;
  // Seqs must grow per (player, room); the clock keeps two tabs of one player apart.
  r.seq = Math.max(r.seq + 1, Date.now());
  r.unacked.set(r.seq, body);
  // Offline, it waits: it is resent with this seq when the room is resumed.
  if (online()) raw({ ...body, room: r.id, seq: r.seq });
  else toast('Offline: your move will be sent when the connection is back.');
}
const act = (action) => sequenced({ t: 'act', action });
// The engine's undo (games that mark actions undoable): news of it arrives as undo_state and
// undo_proposal, kept on the room for the renderer.
const undo = (ask = false) => sequenced(ask ? { t: 'undo', ask: true } : { t: 'undo' });
const redo = () => sequenced({ t: 'redo' });
const consent = (proposal, accept) => sequenced({ t: 'consent', proposal, accept });
function leaveRoom(then) {
  const r = cur();
  if (!r) return;
  if (!online()) { if (then) return; S.rooms.delete(r.id); S.current = null; S.want = null; go('lobby'); return render(); }
  request({ t: 'leave', room: r.id }, { kind: 'leave', then });
}
function sendChat(text) {
  const r = cur();
  text = text.trim();
  if (!r || !text) return false;
  return send({ t: 'chat', room: r.id, text });
}

// ---------- routing (#room=CODE, #replay=CODE&v=N) ----------
function parseHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get('replay')) return { page: 'replay', code: p.get('replay'), v: p.has('v') ? Number(p.get('v')) : null };
  if (p.get('room')) return { page: 'room', code: p.get('room'), invite: p.get('invite') };
  return { page: 'lobby' };
}
function go(page, code, v) {
  S.page = page;
  const hash = page === 'room' ? `#room=${code}` : page === 'replay' ? `#replay=${code}${v != null ? `&v=${v}` : ''}` : '';
  if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname + location.search);
  if (page === 'lobby') { S.current = null; S.want = null; loadRooms(); renderMine(); } else if (S.watching && online()) watchRooms();
  render();
}
function route() {
  const want = parseHash();
  if (want.page === 'replay') return openReplay(want.code, want.v);
  if (want.page === 'room') {
    S.page = 'room';
    if (!cur() || (cur().code.toLowerCase() !== want.code.toLowerCase() && cur().id !== want.code)) joinRoom(want.code, 'any', false, want.invite);
    return render();
  }
  S.page = 'lobby'; S.current = null; S.want = null; render(); loadRooms(); renderMine();
}
window.addEventListener('hashchange', route);
function shareUrl(code, invite) {
  return `${location.origin}${location.pathname}#room=${code}${invite ? `&invite=${encodeURIComponent(invite)}` : ''}`;
}
// A room with a password is shared by an invite link: it admits without the password.
function copyLink() {
  const r = cur();
  if (!r) return;
  if (r.info.locked) return request({ t: 'invite', room: r.id }, { kind: 'invite' });
  copyText(shareUrl(r.code));
}
async function copyText(url) {
  $('#copy').dataset.link = url;
  try { await navigator.clipboard.writeText(url); return toast('Link copied to the clipboard.'); } catch { /* not a secure context */ }
  const ta = h('textarea', { readonly: true, class: 'sr-only' }); ta.value = url; document.body.append(ta); ta.select();
  const ok = document.execCommand && document.execCommand('copy'); ta.remove();
  toast(ok ? 'Link copied to the clipboard.' : `Share this link: ${url}`);
}

// ---------- REST ----------
async function getJson(path, auth = true) {
  const token = auth ? store.get(K.token) : null;
  const res = await fetch(path, { cache: 'no-store', headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(body?.error?.message || `${path}: HTTP ${res.status}`), { code: body?.error?.code });
  return body;
}
/** A POST with the player's token (e.g. an external game's ticket); resolves with the JSON answer. */
async function postJson(path) {
  const token = store.get(K.token);
  const res = await fetch(path, { method: 'POST', cache: 'no-store', headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(body?.error?.message || `${path}: HTTP ${res.status}`), { code: body?.error?.code });
  return body;
}
async function loadGames() {
  try { S.games = await getJson('/api/v1/games', false); } catch { S.games = []; }
  renderGames(); render();
}
/** The lobby's filters, as `watch_rooms` and `GET /api/v1/rooms` take them. */
function roomFilter() {
  const f = {};
  if ($('#f-game').value) f.game = $('#f-game').value;
  if ($('#f-space').checked) f.space = true;
  const lang = $('#f-lang').value.trim(); if (lang) f.lang = lang;
  const tag = $('#f-tag').value.trim(); if (tag) f.tags = [tag];
  return f;
}
// The lobby's list follows the server's: `watch_rooms` answers with it and sends it again on
// every change. Until the socket is up, one REST read shows something.
async function loadRooms() {
  if (S.authed && online()) return watchRooms();
  const f = roomFilter();
  const q = new URLSearchParams({ ...f, ...(f.tags ? { tags: f.tags.join(',') } : {}) });
  try { S.publicRooms = await getJson(`/api/v1/rooms?${q}`, false); S.roomsError = false; } catch { S.roomsError = true; }
  renderRooms();
}
function watchRooms() {
  if (S.page !== 'lobby') { if (S.watching) { S.watching = false; raw({ t: 'unwatch_rooms' }); } return; }
  S.watching = true;
  raw({ t: 'watch_rooms', filter: roomFilter() });
}
const gameTitle = (name) => S.games.find((g) => g.name === name)?.title || name;
// Until the game list has loaded, offer no bot rather than one the server may refuse.
const gameHasBots = (name) => S.games.find((g) => g.name === name)?.bots === true;

// ---------- rendering ----------
function renderConn() {
  const el = $('#conn');
  el.className = `conn ${S.conn}`;
  el.dataset.state = S.conn;
  document.body.classList.toggle('offline', S.conn !== 'online');
  $('#conn-text').textContent = S.conn === 'online' ? 'online' : S.conn === 'connecting' ? 'connecting…'
    : S.conn === 'reconnecting' ? 'reconnecting…'
      : `offline · retrying in ${Math.max(0, Math.ceil((S.retryAt - Date.now()) / 1000))} s`;
}
function renderMe() {
  $('#whoami').textContent = S.player ? S.player.name : '';
  $('#me-id').textContent = S.player ? `Playing as ${S.player.name}. Your identity is kept in this browser.` : 'Not connected yet.';
}
function renderGames() {
  const list = $('#games');
  if (!S.games.length) return list.replaceChildren(h('li', { class: 'muted' }, 'No games available (is the server up?).'));
  // The benchmark games go last: they are workloads more than games.
  const bench = (g) => g.name === 'counter' || g.name === 'drift';
  const games = [...S.games].sort((a, b) => bench(a) - bench(b));
  const pick = $('#f-game');
  if (pick.options.length === 1) pick.append(...games.map((g) => h('option', { value: g.name }, g.title)));
  list.replaceChildren(...games.map((g) => {
    const id = `pub-${g.name}`;
    const box = h('input', { type: 'checkbox', id, checked: true });
    const seats = g.min_players === g.max_players ? `${g.max_players} players` : `${g.min_players}–${g.max_players} players`;
    return h('li', { class: 'tile', 'data-game': g.name },
      h('div', { class: 'spread' }, h('strong', {}, g.title), h('span', { class: 'badge' }, seats)),
      h('p', { class: 'small muted desc' }, g.description),
      h('div', { class: 'spread' }, h('label', { for: id, class: 'row small check' }, box, 'Public'),
        h('button', { type: 'button', class: 'primary', onclick: () => createRoom(g.name, box.checked), 'aria-label': `Create a ${g.title} room` }, 'Create room')));
  }));
}
function renderRooms() {
  const list = $('#rooms');
  list.setAttribute('aria-busy', 'false');
  const key = JSON.stringify([S.publicRooms, S.roomsError, S.games.length]);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  const focused = document.activeElement?.dataset?.focus;
  if (S.roomsError && !S.publicRooms) list.replaceChildren(h('li', { class: 'muted' }, 'Could not load the room list.'));
  else if (!S.publicRooms?.length) list.replaceChildren(h('li', { class: 'muted' }, 'No public rooms right now. Create one above!'));
  else list.replaceChildren(...S.publicRooms.map((r) => h('li', { 'data-code': r.code },
    h('div', { class: 'grow' }, h('span', { class: 'code' }, r.code), ' · ', gameTitle(r.game), r.name ? ` · ${r.name}` : '', ' ',
      h('span', { class: `badge ${r.status}` }, r.status),
      r.lang ? h('span', { class: 'badge lang' }, r.lang) : null,
      ...(r.tags || []).map((t) => h('span', { class: 'badge tag' }, `#${t}`)),
      h('div', { class: 'small muted' }, `${r.players}/${r.max_players} players · ${r.spectators} watching · version ${r.v}`)),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', 'data-focus': `j${r.id}`, disabled: r.players >= r.max_players, 'aria-label': `Join room ${r.code}`, onclick: () => joinRoom(r.code, 'player') }, 'Join'),
      h('button', { type: 'button', 'data-focus': `w${r.id}`, 'aria-label': `Watch room ${r.code}`, onclick: () => joinRoom(r.code, 'spectator') }, 'Watch'),
      h('button', { type: 'button', 'data-focus': `r${r.id}`, 'aria-label': `Replay room ${r.code}`, onclick: () => openReplay(r.code) }, 'Replay')))));
  if (focused) list.querySelector(`[data-focus="${focused}"]`)?.focus();
}
function renderMine() {
  const mine = [...S.rooms.values()];
  $('#mine').hidden = !mine.length;
  $('#mine-list').replaceChildren(...mine.map((r) => h('li', {},
    h('div', { class: 'grow' }, h('span', { class: 'code' }, r.code), ' · ', gameTitle(r.game), ' ',
      h('span', { class: 'badge' }, r.role)),
    h('button', { type: 'button', class: 'primary', onclick: () => joinRoom(r.code) }, 'Back to the room'))));
}
function setStatus(text, tone = '', sub = '') {
  const el = $('#status');
  if (el.textContent !== text) el.textContent = text;
  el.className = `status ${tone}`;
  $('#substatus').textContent = sub;
}

let mounted = null;   // {id, game, update(view), destroy?()}
function render() {
  const r = cur();
  const page = S.page === 'room' && !r ? (S.want ? 'room' : 'lobby') : S.page;
  $('#lobby').hidden = page !== 'lobby'; $('#room').hidden = page !== 'room'; $('#replay').hidden = page !== 'replay';
  if (page !== 'room' || !r) {
    video.stop();
    if (mounted) { mounted.destroy?.(); mounted = null; $('#game').replaceChildren(); }
    if (page === 'room') { $('#room-code').textContent = S.want?.code || ''; setStatus('Joining…'); }
    if (page === 'lobby') { document.title = 'Arbiter'; renderMine(); }
    return;
  }
  $('#room-code').textContent = r.code;
  $('#room-game').textContent = `${gameTitle(r.game)}${r.info.public ? '' : ' · private room'}`;
  $('#notice').hidden = !r.notice; $('#notice').textContent = cap(r.notice || '');
  $('#role').textContent = r.role === 'player' ? 'a player' : 'a spectator';
  const members = [...r.members.values()].sort((a, b) => (a.role === b.role ? 0 : a.role === 'player' ? -1 : 1));
  const moderating = moderatorOf(r) === S.player?.id;
  $('#members').replaceChildren(...members.map((m) => h('li', { 'data-id': m.id },
    h('span', { class: `dot ${m.connected ? 'on' : ''}`, title: m.connected ? 'connected' : 'disconnected', 'aria-hidden': 'true' }),
    h('span', { class: 'grow' }, m.name, m.id === S.player?.id ? h('span', { class: 'muted' }, ' (you)') : null,
      m.muted ? h('span', { class: 'muted small' }, ' · muted') : null,
      h('span', { class: 'sr-only' }, m.connected ? ', connected' : ', disconnected')),
    moderating && !m.bot && m.id !== S.player?.id
      ? h('button', { class: 'small mute', type: 'button', 'aria-pressed': String(!!m.muted),
        onclick: () => send({ t: 'chat_mute', room: r.id, player: m.id, muted: !m.muted }) }, m.muted ? 'Unmute' : 'Mute')
      : null,
    h('span', { class: 'badge' }, m.bot ? 'bot' : m.connected ? m.role : `${m.role}, away`))));
  const seated = members.filter((m) => m.role === 'player').length;
  $('#take-seat').hidden = !(r.role === 'spectator' && seated < r.info.max_players);
  $('#add-bot').hidden = !(r.role === 'player' && seated < r.info.max_players && gameHasBots(r.game));
  // The host stops and restarts room time (clocks, timers, ticks) in any game but a party.
  $('#paused').hidden = !r.info.paused;
  const pause = $('#pause');
  pause.hidden = !(moderating && r.role === 'player' && r.game !== 'party');
  pause.textContent = r.info.paused ? 'Resume the game' : 'Pause the game';
  pause.setAttribute('aria-pressed', String(!!r.info.paused));
  if (!mounted || mounted.id !== r.id || mounted.game !== r.game) {
    mounted?.destroy?.();
    const ctx = {
      live: true,
      get me() { return S.player?.id; },
      get role() { return cur()?.role; },
      get seated() { return cur()?.role === 'player'; },
      act, undo, redo, consent, status: setStatus, toast,
      undoState: () => cur()?.undo || null,
      proposal: () => cur()?.proposal || null,
      name: (id) => cur()?.members.get(id)?.name,
      members: () => cur()?.members || new Map(),
      room: () => cur(),
      getJson,
      postJson,
      gameTitle,
      launch: () => request({ t: 'launch', room: cur()?.id }, { kind: 'launch' }),
      follow: (p) => joinRoom(p.code, p.players.includes(S.player?.id) ? 'player' : 'spectator'),
    };
    mounted = { id: r.id, game: r.game, ...mountFor(r.game)($('#game'), ctx) };
    renderChat(r);
  }
  if (r.view == null) { setStatus('Loading…'); return; }
  $('#game').dataset.v = r.v;
  mounted.update(r.view, r.v);
  // A new host gains (and the old one loses) the chat's delete buttons.
  if ($('#chat-log').dataset.mod !== String(moderatorOf(r) === S.player?.id)) renderChat(r);
}

// ---------- replay viewer ----------
const R = { code: null, id: null, game: null, max: 0, v: 0, entries: new Map(), cache: new Map(), mounted: null, loading: 0, timer: null };
function replaySetStatus(text, tone = '', sub = '') {
  $('#rp-status').textContent = text; $('#rp-status').className = `status ${tone}`; $('#rp-substatus').textContent = sub;
}
async function openReplay(code, v = null) {
  S.page = 'replay';
  clearInterval(R.timer); R.timer = null; $('#rp-play').textContent = 'Play';
  const fresh = R.code !== code;
  Object.assign(R, { code, loading: R.loading + 1 });
  const token = R.loading;
  render();
  $('#rp-code').textContent = code;
  $('#rp-error').hidden = true;
  try {
    const info = await getJson(`/api/v1/rooms/${encodeURIComponent(code)}`);
    // Page through the whole log: it names what happened at each version.
    const entries = new Map();
    let after = 0, max = info.v;
    for (;;) {
      const page = await getJson(`/api/v1/rooms/${info.id}/log?after=${after}&limit=1000`);
      max = Math.max(max, page.v);
      for (const e of page.entries) entries.set(e.v, e);
      if (!page.entries.length || page.entries.at(-1).v >= page.v) break;
      after = page.entries.at(-1).v;
    }
    if (token !== R.loading) return;
    if (fresh || R.game !== info.game) { R.cache.clear(); R.mounted?.destroy?.(); R.mounted = null; }
    Object.assign(R, { id: info.id, game: info.game, max, entries });
    $('#rp-code').textContent = info.code;
    $('#rp-game').textContent = gameTitle(info.game);
    $('#rp-back').hidden = !cur() || cur().id !== info.id;
    const slider = $('#rp-slider');
    slider.max = String(max); slider.min = '0';
    showVersion(v == null ? max : Math.min(max, Math.max(0, v)));
  } catch (e) {
    if (token !== R.loading) return;
    $('#rp-error').hidden = false;
    $('#rp-error').textContent = `Cannot replay ${code}: ${e.message}`;
    replaySetStatus('');
  }
}
/** {"type": "move", "row": 0, "col": 1} → "move · row 0 · col 1" (names of players where known). */
function action(a) {
  const val = (k, x) => (typeof x === 'string' && R.names?.has(x) ? R.names.get(x) : typeof x === 'object' ? JSON.stringify(x) : String(x));
  return [String(a.type || '?').replace(/_/g, ' '), ...Object.entries(a).filter(([k]) => k !== 'type').map(([k, x]) => `${k.replace(/_/g, ' ')} ${val(k, x)}`)].join(' · ');
}
function describe(e) {
  if (!e) return 'The room was created.';
  const who = (id) => (typeof id === 'object' && id ? id.name : R.names?.get(id) || id);
  switch (e.kind) {
    case 'join': return `${who(e.player)} joined.`;
    case 'leave': return `${who(e.player)} left.`;
    case 'connection': return `${who(e.player)} ${e.connected ? 'reconnected' : 'disconnected'}.`;
    case 'act': return `${who(e.player)}: ${e.action ? action(e.action) : '(hidden action)'}`;
    case 'timer': return `Timer: ${e.action ? action(e.action) : 'fired'}`;
    case 'tick': return e.inputs?.length ? `Tick: ${e.inputs.map((i) => `${who(i.player)} ${i.action ? action(i.action) : '(hidden input)'}`).join(', ')}` : 'Tick.';
    case 'pause': return e.by ? `${who(e.by)} paused the game.` : 'The game paused: every player was away.';
    case 'resume': return e.by ? `${who(e.by)} resumed the game.` : 'The game resumed.';
    case 'undo': return e.ask ? `${who(e.player)} asked to undo the last action.` : `${who(e.player)} undid their last action.`;
    case 'redo': return `${who(e.player)} redid an undone action.`;
    case 'consent': return `${who(e.player)} ${e.accept ? 'accepted' : 'refused'} the undo request.`;
    case 'undo_expired': return 'The undo request was not answered in time.';
    default: return e.kind;
  }
}
function renderReplayLog() {
  // A window of the log round the current version (a poker room's log runs to thousands).
  const lo = Math.max(0, R.v - 40), hi = Math.min(R.max, R.v + 40);
  const list = $('#rp-log');
  list.replaceChildren(...Array.from({ length: hi - lo + 1 }, (_, i) => {
    const v = lo + i;
    return h('li', {}, h('button', { type: 'button', 'aria-current': String(v === R.v), title: describe(R.entries.get(v)), onclick: () => showVersion(v) },
      h('span', { class: 'muted' }, `${v} `), describe(R.entries.get(v))));
  }));
  const at = list.querySelector('[aria-current=true]');
  if (at) list.scrollTop = at.offsetTop - list.offsetTop - list.clientHeight / 2;
}
async function showVersion(v) {
  R.v = v;
  const slider = $('#rp-slider');
  slider.value = String(v);
  slider.setAttribute('aria-valuetext', `version ${v} of ${R.max}`);
  $('#rp-v').textContent = `Version ${v} of ${R.max}`;
  R.names = new Map([...R.entries.values()].filter((e) => e.kind === 'join' && typeof e.player === 'object').map((e) => [e.player.id, e.player.name]));
  const e = R.entries.get(v);
  $('#rp-entry').textContent = describe(e) + (e?.at_ms ? ` · ${new Date(e.at_ms).toLocaleTimeString()}` : '');
  history.replaceState(null, '', `#replay=${R.code}&v=${v}`);
  renderReplayLog();
  let state = R.cache.get(v);
  if (!state) {
    try { state = await getJson(`/api/v1/rooms/${R.id}/state?v=${v}`); }
    catch (err) { $('#rp-error').hidden = false; $('#rp-error').textContent = err.message; return; }
    R.cache.set(v, state);
  }
  if (R.v !== v) return;   // the slider moved on meanwhile
  $('#rp-error').hidden = true;
  if (!R.mounted) {
    const ctx = {
      live: false, get me() { return S.player?.id; }, role: 'spectator', get seated() { return !!S.player && R.names.has(S.player.id); },
      act: () => {}, undo: () => {}, redo: () => {}, consent: () => {}, undoState: () => null, proposal: () => null,
      status: replaySetStatus, toast,
      name: (id) => R.names.get(id), members: () => new Map(), room: () => null, getJson, gameTitle,
    };
    R.mounted = mountFor(R.game)($('#rp-game-view'), ctx);
  }
  $('#rp-game-view').dataset.v = v;
  if (state.view == null) { replaySetStatus('Nothing to show at this version.'); return; }
  R.mounted.update(state.view, v);
}
$('#rp-slider').addEventListener('input', (e) => showVersion(Number(e.target.value)));
$('#rp-first').addEventListener('click', () => showVersion(0));
$('#rp-prev').addEventListener('click', () => showVersion(Math.max(0, R.v - 1)));
$('#rp-next').addEventListener('click', () => showVersion(Math.min(R.max, R.v + 1)));
$('#rp-last').addEventListener('click', () => openReplay(R.code, Infinity));
$('#rp-play').addEventListener('click', () => {
  if (R.timer) { clearInterval(R.timer); R.timer = null; $('#rp-play').textContent = 'Play'; return; }
  if (R.v >= R.max) showVersion(0);
  $('#rp-play').textContent = 'Pause';
  R.timer = setInterval(() => {
    if (S.page !== 'replay' || R.v >= R.max) { clearInterval(R.timer); R.timer = null; $('#rp-play').textContent = 'Play'; return; }
    showVersion(R.v + 1);
  }, 600);
});
$('#rp-back').addEventListener('click', () => { const r = cur(); if (r) go('room', r.code); });
$('#rp-lobby').addEventListener('click', () => go('lobby'));

// ---------- theme ----------
function applyTheme(t) {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t; else delete document.documentElement.dataset.theme;
  const dark = t ? t === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  $('#theme').setAttribute('aria-pressed', String(dark));
  $('#theme').textContent = dark ? '☀︎ Light' : '☾ Dark';
}
$('#theme').addEventListener('click', () => {
  const dark = $('#theme').getAttribute('aria-pressed') === 'true';
  store.set(K.theme, dark ? 'light' : 'dark'); applyTheme(dark ? 'light' : 'dark');
});
applyTheme(store.get(K.theme));

// ---------- wiring ----------
$('#name').value = store.get(K.name) || '';
$('#name-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = cleanName($('#name').value);
  $('#name').value = name;
  store.set(K.name, name || null);
  S.noName = false;
  if (S.player && name && name !== S.player.name) reconnectNow();   // the name is given in hello
  toast(name ? `Name saved: ${name}` : 'Name cleared: the server will pick one.');
});
function codeInput() {
  const v = $('#code').value.trim();
  const m = /(?:room|replay)=([A-Za-z0-9_-]+)/.exec(v);
  return m ? m[1] : v.replace(/[^A-Za-z0-9_-]/g, '');
}
$('#join-form').addEventListener('submit', (e) => { e.preventDefault(); const c = codeInput(); c ? joinRoom(c, 'any') : $('#code').focus(); });
$('#watch-code').addEventListener('click', () => { const c = codeInput(); c ? joinRoom(c, 'spectator') : $('#code').focus(); });
$('#replay-code').addEventListener('click', () => { const c = codeInput(); c ? openReplay(c) : $('#code').focus(); });
for (const id of ['#f-game', '#f-space']) $(id).addEventListener('change', loadRooms);
for (const id of ['#f-lang', '#f-tag']) $(id).addEventListener('input', loadRooms);
$('#filters').addEventListener('submit', (e) => e.preventDefault());
$('#copy').addEventListener('click', copyLink);
$('#video-toggle').addEventListener('click', () => { const r = cur(); if (r) video.toggle(r.id, r.members); });
$('#replay-btn').addEventListener('click', () => { const r = cur(); if (r) openReplay(r.code); });
$('#lobby-btn').addEventListener('click', () => go('lobby'));
$('#leave').addEventListener('click', () => {
  const r = cur(), v = r?.view;
  if (r?.role === 'player' && r.game === 'tictactoe' && v && !v.over && v.turn && !confirm('Leave now? You will forfeit the game in progress.')) return;
  leaveRoom();
});
$('#take-seat').addEventListener('click', () => { const code = cur().code; leaveRoom(() => joinRoom(code, 'any')); });
$('#add-bot').addEventListener('click', () => { const r = cur(); if (r) request({ t: 'add_bot', room: r.id }, { kind: 'add_bot' }); });
$('#pause').addEventListener('click', () => { const r = cur(); if (r) send({ t: r.info.paused ? 'resume' : 'pause', room: r.id }); });
$('#home').addEventListener('click', (e) => { e.preventDefault(); go('lobby'); });
$('#chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (sendChat($('#chat-input').value)) $('#chat-input').value = '';
});
$('#chat-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('#chat-form').requestSubmit(); }
});
$('#room-h').tabIndex = -1;

const first = parseHash();
if (first.page === 'room') { S.want = { code: first.code, as: 'any' }; S.page = 'room'; }
renderConn(); loadGames(); loadRooms(); connect();
if (first.page === 'replay') openReplay(first.code, first.v); else render();
