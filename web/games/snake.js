// Snake: a canvas redrawn every animation frame. The room ticks at 30 Hz and a snake steps
// one cell every `step_ticks` ticks; between two steps each head glides from its old cell to
// its new one (interpolation over the step's duration), so motion is smooth at any frame
// rate. Arrow keys or WASD (or the on-screen pad) send `turn` inputs; `start` begins a round.
import { h } from '../lib.js';

const TICK_MS = 33;
const COLORS = ['#e4572e', '#29335c', '#17bebb', '#f3a712', '#8e44ad', '#2e7d32', '#c2185b', '#5d4037'];
const KEYS = { ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right', w: 'up', s: 'down', a: 'left', d: 'right' };

export default function mount(el, ctx) {
  const canvas = h('canvas', { class: 'snake-board', 'aria-label': 'Snake arena', role: 'img', tabindex: '0' });
  const start = h('button', { type: 'button', class: 'primary', onclick: () => ctx.act({ type: 'start' }) }, 'Start a round');
  const pad = h('div', { class: 'snake-pad', role: 'group', 'aria-label': 'Steer' },
    ['up', 'left', 'down', 'right'].map((dir) => h('button', { type: 'button', 'data-dir': dir, onclick: () => turn(dir) }, { up: '↑', down: '↓', left: '←', right: '→' }[dir])));
  const actions = h('div', { class: 'actions' });
  const scores = h('ol', { class: 'small snake-scores' });
  el.replaceChildren(canvas, actions, scores);
  let view = null;
  // Per snake: where its head was before the latest step, and when that step arrived.
  const glide = new Map();
  let frame = 0;

  function mine() { return view?.snakes?.find((s) => s.player === ctx.me) || null; }
  function turn(dir) {
    const me = mine();
    if (!ctx.seated || !me?.alive || !['countdown', 'running'].includes(view?.phase)) return;
    ctx.act({ type: 'turn', dir });
  }
  function onKey(e) {
    const dir = KEYS[e.key];
    if (!dir || !document.body.contains(canvas) || e.target.closest?.('input, textarea')) return;
    e.preventDefault();
    turn(dir);
  }
  document.addEventListener('keydown', onKey);

  function cells(s) {
    const out = [];
    for (let k = 0; k < s.len; k++) out.push(s.ring[(s.head - k + s.ring.length) % s.ring.length]);
    return out;
  }

  function draw(now) {
    frame = requestAnimationFrame(draw);
    if (!view) return;
    const size = Math.max(6, Math.min(16, Math.floor((el.clientWidth || 640) / view.width)));
    const w = view.width * size, hgt = view.height * size;
    if (canvas.width !== w || canvas.height !== hgt) { canvas.width = w; canvas.height = hgt; }
    const g = canvas.getContext('2d');
    g.fillStyle = getComputedStyle(canvas).getPropertyValue('--board') || '#f4f1ea';
    g.fillRect(0, 0, w, hgt);
    g.fillStyle = '#2e7d32';
    for (const [x, y] of view.food || []) { g.beginPath(); g.arc((x + 0.5) * size, (y + 0.5) * size, size * 0.35, 0, Math.PI * 2); g.fill(); }
    const stepMs = TICK_MS * (view.step_ticks || 1);
    view.snakes.forEach((s, i) => {
      if (!s.len || !s.ring?.length) return;
      g.globalAlpha = s.alive ? 1 : 0.3;
      g.fillStyle = COLORS[i % COLORS.length];
      const body = cells(s);
      body.slice(1).forEach(([x, y]) => g.fillRect(x * size + 1, y * size + 1, size - 2, size - 2));
      const [hx, hy] = body[0];
      const from = glide.get(s.player);
      const t = from && s.alive ? Math.min(1, (now - from.at) / stepMs) : 1;
      const px = from && t < 1 ? from.x + (hx - from.x) * t : hx;
      const py = from && t < 1 ? from.y + (hy - from.y) * t : hy;
      g.fillRect(px * size, py * size, size, size);
      if (s.player === ctx.me) { g.strokeStyle = '#000'; g.lineWidth = 2; g.strokeRect(px * size + 1, py * size + 1, size - 2, size - 2); }
    });
    g.globalAlpha = 1;
  }
  frame = requestAnimationFrame(draw);

  return {
    update(v) {
      const now = performance.now();
      for (const s of v.snakes || []) {
        const before = view?.snakes?.find((o) => o.player === s.player);
        if (!before?.ring?.length || !s.ring?.length) { glide.delete(s.player); continue; }
        const [ox, oy] = before.ring[before.head], [nx, ny] = s.ring[s.head];
        if (ox !== nx || oy !== ny) glide.set(s.player, { x: ox, y: oy, at: now });
      }
      view = v;
      canvas.dataset.phase = v.phase;
      canvas.dataset.tick = String(v.tick);
      const me = mine();
      const name = (id) => v.snakes.find((s) => s.player === id)?.name || ctx.name(id) || 'someone';
      let text, tone = '';
      if (v.phase === 'waiting') text = v.snakes.length >= 2 ? 'Ready: start a round' : 'Waiting for a second player';
      else if (v.phase === 'countdown') { text = `Get ready… ${Math.ceil(v.countdown * TICK_MS / 1000)}`; tone = 'go'; }
      else if (v.phase === 'running') { text = me?.alive ? 'Go! Arrow keys or WASD to steer' : me ? 'You are out: watch the rest' : 'Watching'; tone = me?.alive ? 'go' : ''; }
      else if (v.winner === ctx.me && me) { text = 'You win the round!'; tone = 'win'; }
      else if (v.winner) { text = `${name(v.winner)} wins the round.`; tone = me ? 'lose' : ''; }
      else text = 'The round is a draw.';
      ctx.status(text, tone, v.round ? `round ${v.round}` : '');
      scores.replaceChildren(...v.snakes.map((s, i) => h('li', { style: `color: ${COLORS[i % COLORS.length]}` },
        `${s.name}${s.player === ctx.me ? ' (you)' : ''}: ${s.score} eaten, ${s.wins} won${s.alive ? '' : v.phase === 'running' ? ' · out' : ''}`)));
      canvas.setAttribute('aria-label', `Snake arena, ${text}`);
      const canStart = ctx.seated && (v.phase === 'waiting' || v.phase === 'over') && v.snakes.length >= 2;
      const playing = ctx.seated && me?.alive && (v.phase === 'running' || v.phase === 'countdown');
      const want = [canStart ? start : null, playing ? pad : null].filter(Boolean);
      if (want.length !== actions.children.length || want.some((n, i) => actions.children[i] !== n)) actions.replaceChildren(...want);
    },
    destroy() { cancelAnimationFrame(frame); document.removeEventListener('keydown', onKey); },
  };
}
