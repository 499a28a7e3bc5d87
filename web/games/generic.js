// Any game without its own page: the view as JSON, a button for every action the player may
// take now (from `GET /api/v1/rooms/{id}/legal`, plus the `legal` list some views carry), the
// game's status and result, and a box to send an action by hand. Needs no rules of the game.
import { h } from '../lib.js';

// An action's button: its `type` first (JSON objects arrive with sorted keys), then the rest.
const label = (a) => (a && typeof a === 'object'
  ? Object.entries(a).sort(([x], [y]) => (y === 'type') - (x === 'type'))
    .map(([k, x]) => (k === 'type' ? x : `${k}: ${typeof x === 'object' ? JSON.stringify(x) : x}`)).join(' · ')
  : JSON.stringify(a));

export default function mount(el, ctx) {
  const pre = h('pre', { 'aria-label': 'Game state', tabindex: '0' });
  const legal = h('div', { class: 'actions legal', 'aria-label': 'Your legal actions' });
  const input = h('textarea', { id: 'raw-action', rows: '2', class: 'grow', spellcheck: 'false', placeholder: '{"type": "…"}' });
  const form = h('form', { class: 'actions live-only', onsubmit: (e) => {
    e.preventDefault();
    try { ctx.act(JSON.parse(input.value)); } catch (err) { ctx.toast(`Not JSON: ${err.message}`, 'INVALID_ACTION'); }
  } }, h('label', { for: 'raw-action', class: 'sr-only' }, 'Action as JSON'), input, h('button', { type: 'submit' }, 'Send action'));
  el.replaceChildren(legal, pre, ctx.live ? form : null);
  let asked = 0;   // only the latest question's answer is shown

  function offer(acts) {
    const key = JSON.stringify(acts);
    if (legal.dataset.key === key) return;
    legal.dataset.key = key;
    legal.replaceChildren(...acts.slice(0, 40).map((a) => h('button', { type: 'button', onclick: () => ctx.act(a) }, label(a))));
  }

  function showStatus(answer, v) {
    const title = ctx.gameTitle(ctx.room()?.game || '');
    const name = (id) => (id === ctx.me && ctx.seated ? 'You' : ctx.name(id) || id);
    let text = title, tone = '';
    if (answer?.status === 'finished') {
      const first = answer.ranking?.[0] || [];
      if (first.length === 1) {
        const mine = first[0] === ctx.me && ctx.seated;
        text = mine ? 'You win!' : `${name(first[0])} wins.`;
        tone = mine ? 'win' : ctx.seated ? 'lose' : '';
      } else text = first.length ? "It's a draw." : 'Game over.';
    } else if (answer?.status === 'waiting') text = 'Waiting for players';
    else if (answer?.actions?.length) { text = 'Your turn'; tone = 'go'; }
    ctx.status(text, tone, `Version ${v}`);
  }

  return {
    update(view, v) {
      pre.textContent = JSON.stringify(view, null, 2);
      const listed = Array.isArray(view?.legal) && ctx.seated ? view.legal : [];
      if (!ctx.live) { ctx.status(ctx.gameTitle(ctx.room()?.game || ''), '', `Version ${v}`); return; }
      const room = ctx.room()?.id;
      const n = ++asked;
      legal.dataset.v = '';
      ctx.getJson(`/api/v1/rooms/${room}/legal`).then((answer) => {
        if (n !== asked) return;
        const seen = new Set(listed.map((a) => JSON.stringify(a)));
        offer([...listed, ...(answer.actions || []).filter((a) => !seen.has(JSON.stringify(a)))]);
        showStatus(answer, v);
        legal.dataset.v = answer.v;   // tests wait for this: the choices of version `v`
      }, (err) => {
        if (n !== asked) return;
        offer(listed);
        showStatus(null, v);
        ctx.toast(`Cannot read the legal actions: ${err.message}`, err.code);
      });
    },
  };
}
