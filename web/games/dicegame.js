// Dice (Farkle): roll, select scoring dice, set aside and roll on, or bank. The view's `legal`
// list drives every control, so the page needs no rules of its own.
import { h, keyed, dieFace, plural, secondsLeft } from '../lib.js';

export default function mount(el, ctx) {
  const scores = h('div', { class: 'scores', role: 'list', 'aria-label': 'Scores' });
  const banner = h('div', { 'aria-live': 'assertive' });
  const diceRow = h('div', { class: 'dice-row', role: 'group', 'aria-label': 'Dice on the table' });
  const asideRow = h('div', { class: 'dice-row aside', 'aria-label': 'Dice set aside this turn' });
  const info = h('p', { class: 'small muted' });
  const clock = h('span', { class: 'clock' });
  const btn = (label, cls, action) => h('button', { type: 'button', class: cls, onclick: () => ctx.act(action()) }, label);
  const start = btn('Start the game', 'primary', () => ({ type: 'start' }));
  const restart = btn('Play again', 'primary', () => ({ type: 'restart' }));
  const roll = btn('Roll', 'primary', () => ({ type: 'roll' }));
  const keep = btn('Set aside & roll on', '', () => ({ type: 'set_aside', end_turn: false }));
  const bank = btn('Bank', '', () => ({ type: 'set_aside', end_turn: true }));
  const actions = h('div', { class: 'actions' }, start, restart, roll, keep, bank, clock);
  el.replaceChildren(scores, banner,
    h('div', { class: 'panel' }, h('h3', {}, 'On the table'), diceRow, info,
      h('h3', { class: 'small muted' }, 'Set aside this turn'), asideRow, actions));
  let last = null, lastRollKey = '', timer = null, deadline = null;
  const tick = () => {
    if (!el.isConnected) { clearInterval(timer); timer = null; return; }
    if (!deadline) { clock.textContent = ''; return; }
    const s = secondsLeft(deadline);
    clock.textContent = `${s} s left`; clock.classList.toggle('low', s <= 5);
  };
  return {
    destroy() { clearInterval(timer); },
    update(v) {
      last = v;
      const me = ctx.me, seated = ctx.seated && v.players[me];
      const legal = seated ? v.legal || [] : [];
      const has = (type, pred = () => true) => legal.some((a) => a.type === type && pred(a));
      const name = (id) => v.players[id]?.name || ctx.name(id) || 'someone';
      const myTurn = v.turn === me && seated;
      // status
      let text, tone = '';
      if (v.phase === 'waiting') text = Object.keys(v.players).length < 2 ? 'Waiting for players (add a bot?)' : 'Ready to start';
      else if (v.phase === 'over') {
        const won = v.winner === me;
        text = won ? `You win${v.forfeit ? ' by forfeit' : ''}!` : `${v.winner_name || 'Nobody'} wins${v.forfeit ? ' by forfeit' : ''}.`;
        tone = won ? 'win' : seated ? 'lose' : '';
      } else if (v.busted) { text = myTurn ? 'Bust! You lose this turn’s points.' : `${name(v.turn)} busts!`; tone = 'bad'; }
      else if (myTurn) { text = 'Your turn'; tone = 'go'; }
      else text = `${name(v.turn)} is playing`;
      ctx.status(text, tone, `First to ${v.target.toLocaleString('en-US')} wins · round ${v.round}${seated ? '' : ctx.live ? ' · watching' : ''}`);
      if (ctx.live) document.title = `${myTurn && !v.busted ? 'Your turn' : ctx.room()?.code} · Arbiter`;
      // scores
      const order = Object.entries(v.players).sort((a, b) => a[1].order - b[1].order);
      keyed(scores, JSON.stringify([order, v.turn, v.target, v.winner, me]), () => order.map(([id, p]) => h('div', {
        class: `score ${v.turn === id && v.phase === 'playing' ? 'turn' : ''}`, role: 'listitem', 'data-player': id,
      },
      h('div', { class: 'spread' }, h('strong', {}, p.name, id === me ? ' (you)' : ''),
        h('span', {}, !p.connected ? h('span', { class: 'badge bad' }, 'away') : null, v.winner === id ? h('span', { class: 'badge good' }, 'winner') : null,
          v.turn === id && v.phase === 'playing' ? h('span', { class: 'badge accent' }, 'on turn') : null)),
      h('div', { class: 'pts' }, p.score.toLocaleString('en-US'),
        p.round_score ? h('span', { class: 'small muted' }, ` +${p.round_score} at risk`) : null),
      h('div', { class: 'bar', 'aria-hidden': 'true' }, h('span', { style: `width:${Math.min(100, (100 * p.score) / v.target)}%` })))));
      // banner
      const lost = v.busted ? (v.players[v.turn]?.round_score || 0) : 0;
      keyed(banner, JSON.stringify([v.busted, v.hot_dice, v.turn_no, lost]), () =>
        v.busted ? h('div', { class: 'banner bad' }, `Bust! ${name(v.turn)} loses ${lost} points.`)
          : v.hot_dice ? h('div', { class: 'banner good' }, 'Hot dice! All six come back.') : null);
      // dice
      const sel = new Set(v.selected || []);
      const rollKey = JSON.stringify([v.turn_no, v.last_roll]);
      const fresh = rollKey !== lastRollKey; lastRollKey = rollKey;
      keyed(diceRow, JSON.stringify([v.dice, v.selected, legal, v.busted]), () => (v.dice.length ? v.dice.map((f, i) => {
        const canSel = has('select', (a) => a.index === i), canDesel = has('deselect', (a) => a.index === i);
        return h('button', {
          type: 'button', class: 'die', 'data-face': f, 'data-index': i, 'aria-pressed': String(sel.has(i)),
          'aria-label': `die ${i + 1}: ${f}${sel.has(i) ? ', selected' : ''}`, disabled: !(canSel || canDesel),
          onclick: () => ctx.act({ type: canDesel ? 'deselect' : 'select', index: i }),
        }, dieFace(f));
      }) : h('span', { class: 'muted' }, v.phase === 'playing' ? `${plural(v.to_roll, 'die', 'dice')} to roll` : '—')));
      diceRow.classList.toggle('busted', !!v.busted);
      if (fresh && v.dice.length) { diceRow.classList.remove('rolled'); void diceRow.offsetWidth; diceRow.classList.add('rolled'); }
      keyed(asideRow, JSON.stringify(v.set_aside), () => (v.set_aside.length
        ? v.set_aside.map((f) => h('span', { class: 'die small', 'data-face': f, role: 'img', 'aria-label': `${f}` }, dieFace(f)))
        : h('span', { class: 'small muted' }, 'nothing yet')));
      const selPts = v.selection?.points || 0;
      const mine = v.players[v.turn];
      info.textContent = v.phase !== 'playing' ? (v.last_roll ? `Last roll by ${name(v.last_roll.player)}: ${v.last_roll.faces.join(' ')} (${v.last_roll.points} points)` : '')
        : v.dice.length ? `Selection: ${selPts} points${v.selected.length && !v.selection?.valid ? ' (every selected die must score)' : ''} · this turn: ${mine?.round_score || 0}`
          : `This turn: ${mine?.round_score || 0} points`;
      // buttons
      start.hidden = !has('start'); restart.hidden = !has('restart');
      roll.hidden = !(myTurn && v.phase === 'playing'); roll.disabled = !has('roll');
      roll.textContent = `Roll ${plural(v.hot_dice ? 6 : v.to_roll, 'die', 'dice')}`;
      keep.hidden = bank.hidden = !(myTurn && v.phase === 'playing');
      keep.disabled = !has('set_aside', (a) => a.end_turn === false);
      bank.disabled = !has('set_aside', (a) => a.end_turn === true);
      bank.textContent = `Bank ${(mine?.round_score || 0) + (v.selection?.valid ? selPts : 0)}`;
      deadline = v.phase === 'playing' ? v.turn_deadline_ms : null;
      if (deadline && !timer) timer = setInterval(tick, 250);
      tick();
    },
  };
}
