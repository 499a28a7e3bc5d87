// Any game without its own page: the view as JSON, buttons for the `legal` actions the view
// lists (when it lists them), and a box to send an action by hand.
import { h } from '../lib.js';

export default function mount(el, ctx) {
  const pre = h('pre', { 'aria-label': 'Game state', tabindex: '0' });
  const legal = h('div', { class: 'actions' });
  const input = h('textarea', { id: 'raw-action', rows: '2', class: 'grow', spellcheck: 'false', placeholder: '{"type": "…"}' });
  const form = h('form', { class: 'actions live-only', onsubmit: (e) => {
    e.preventDefault();
    try { ctx.act(JSON.parse(input.value)); } catch (err) { ctx.toast(`Not JSON: ${err.message}`, 'INVALID_ACTION'); }
  } }, h('label', { for: 'raw-action', class: 'sr-only' }, 'Action as JSON'), input, h('button', { type: 'submit' }, 'Send action'));
  el.replaceChildren(legal, pre, ctx.live ? form : null);
  return {
    update(view, v) {
      ctx.status(ctx.gameTitle(ctx.room()?.game || ''), '', `Version ${v}`);
      pre.textContent = JSON.stringify(view, null, 2);
      const acts = Array.isArray(view?.legal) ? view.legal : [];
      const key = JSON.stringify(acts);
      if (legal.dataset.key !== key) {
        legal.dataset.key = key;
        legal.replaceChildren(...(ctx.seated ? acts.slice(0, 40) : []).map((a) => h('button', { type: 'button', onclick: () => ctx.act(a) },
          Object.entries(a).map(([k, x]) => (k === 'type' ? x : `${k}: ${typeof x === 'object' ? JSON.stringify(x) : x}`)).join(' · '))));
      }
    },
  };
}
