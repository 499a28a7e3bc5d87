// Tic-tac-toe: a 3×3 board of buttons; `move {row, col}`, `restart` when over.
import { h } from '../lib.js';

export default function mount(el, ctx) {
  const cells = Array.from({ length: 9 }, (_, i) => h('button', {
    type: 'button', class: 'cell', 'data-cell': i,
    onclick: () => { if (cells[i].getAttribute('aria-disabled') === 'false') ctx.act({ type: 'move', row: Math.floor(i / 3), col: i % 3 }); },
  }));
  const board = h('div', { class: 'board', role: 'group', 'aria-label': 'Board' }, cells);
  const restart = h('button', { type: 'button', class: 'primary', onclick: () => ctx.act({ type: 'restart' }) }, 'Play again');
  const actions = h('div', { class: 'actions' });
  const marks = h('p', { class: 'small muted' });
  el.replaceChildren(board, marks, actions);
  return {
    update(v) {
      const me = ctx.me, players = v.players || {}, mine = ctx.seated ? players[me] : null;
      const name = (id) => players[id]?.name || ctx.name(id) || 'someone';
      const full = Object.keys(players).length >= 2;
      let text, tone = '';
      if (v.over) {
        if (v.draw) text = "It's a draw.";
        else if (v.winner === me && mine) { text = v.forfeit ? 'Your opponent left: you win by forfeit!' : 'You win!'; tone = 'win'; }
        else if (v.winner) { text = `${name(v.winner)} wins${v.forfeit ? ' by forfeit' : ''}.`; tone = mine ? 'lose' : ''; }
        else text = 'Game over.';
        if (!full) text += ' Waiting for an opponent.';
      } else if (!v.turn) text = 'Waiting for an opponent';
      else if (v.turn === me && mine) { text = 'Your turn'; tone = 'go'; }
      else text = mine ? `Waiting for ${name(v.turn)}` : `${name(v.turn)} (${players[v.turn]?.mark}) to move`;
      const sub = [mine ? `You play ${mine.mark}` : ctx.live ? 'Watching' : null, v.round ? `round ${v.round}` : null].filter(Boolean).join(' · ');
      ctx.status(text, tone, sub);
      if (ctx.live) document.title = `${tone === 'go' ? 'Your turn' : ctx.room()?.code} · Arbiter`;
      marks.textContent = Object.values(players).map((p) => `${p.mark}: ${p.name}`).join(' · ');
      const line = new Set(v.line || []);
      board.classList.toggle('myturn', tone === 'go');
      v.board.forEach((c, i) => {
        const b = cells[i];
        b.textContent = c || ''; b.dataset.mark = c || '';
        b.classList.toggle('win', line.has(i));
        b.setAttribute('aria-disabled', String(!(mine && !v.over && !c && v.turn === me)));
        b.setAttribute('aria-label', `row ${Math.floor(i / 3) + 1} column ${i % 3 + 1}, ${c || 'empty'}${line.has(i) ? ', winning line' : ''}`);
      });
      const showRestart = !!(mine && v.over && full);
      if (showRestart !== restart.isConnected) actions.replaceChildren(...(showRestart ? [restart] : []));
    },
  };
}
