// Owe Drahn: one shared total; roll without passing 15, or owe drahn (turn the die down) and
// choose who goes next. Lives, a main bet and side bets in cents.
import { h, keyed, dieFace, money, secondsLeft } from '../lib.js';

const EVENT = {
  started: (e, n) => `The game starts: ${n(e.first)} rolls first.`,
  rolled: (e, n) => `${n(e.roll.player)} rolled a ${e.roll.die}${e.roll.die === 3 ? ' (a 3 adds nothing)' : ''}${e.roll.busted ? ` — ${e.roll.total}: over 15, out!` : ` → ${e.roll.total}`}`,
  lost_life: (e, n) => `${n(e.player)} owes drahn: ${e.life} ${e.life === 1 ? 'life' : 'lives'} left, and chooses who goes next.`,
  chose: (e, n) => `${n(e.player)} hands the turn to ${n(e.next)}.`,
  skipped: (e, n) => `${n(e.player)} was away: turn skipped, a life lost.`,
  left: (e, n) => `${n(e.player)} left the table.`,
  game_over: (e, n) => `${n(e.winner)} wins the pot of ${money(e.pot_cents)}!`,
  reset: () => 'The table is reset: ready up for the next game.',
};

export default function mount(el, ctx) {
  const totalNum = h('span', { class: 'num', 'aria-label': 'Total' });
  const meter = h('span');
  const lastDie = h('span', { class: 'die', role: 'img' });
  const eventLine = h('p', { class: 'small', 'aria-live': 'polite' });
  const players = h('div', { class: 'table-wrap' });
  const clock = h('span', { class: 'clock' });
  const b = (label, cls, onclick) => h('button', { type: 'button', class: cls, onclick }, label);
  const ready = b('I’m ready', 'primary toggle', () => ctx.act({ type: 'ready', ready: ready.getAttribute('aria-pressed') !== 'true' }));
  const roll = b('Roll the die', 'primary', () => ctx.act({ type: 'roll' }));
  const owe = b('Owe drahn (−1 life)', '', () => ctx.act({ type: 'owe_drahn' }));
  const choose = h('div', { class: 'row', role: 'group', 'aria-label': 'Choose who goes next' });
  const actions = h('div', { class: 'actions' }, ready, roll, owe, choose, clock);
  // money
  const potLine = h('p', { class: 'small' });
  const betAmount = h('input', { type: 'number', id: 'od-main', min: '0.01', step: '0.01', value: '1.00' });
  const betForm = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); ctx.act({ type: 'set_main_bet', amount_cents: Math.round(Number(betAmount.value) * 100) }); } },
    h('label', { for: 'od-main' }, 'Main bet'), betAmount, h('button', { type: 'submit' }, 'Set'));
  const sideOpp = h('select', { id: 'od-opp' });
  const sideAmount = h('input', { type: 'number', id: 'od-side', min: '0.01', step: '0.01', value: '1.00' });
  const sideForm = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); if (sideOpp.value) ctx.act({ type: 'propose_bet', opponent: sideOpp.value, amount_cents: Math.round(Number(sideAmount.value) * 100) }); } },
    h('label', { for: 'od-opp' }, 'Side bet against'), sideOpp, h('label', { for: 'od-side', class: 'sr-only' }, 'Amount'), sideAmount, h('button', { type: 'submit' }, 'Propose'));
  const bets = h('ul', { class: 'list' });
  const rolls = h('ol', { class: 'hand-log small', reversed: true });
  const stats = h('div', { class: 'table-wrap' });
  el.replaceChildren(
    h('div', { class: 'total' }, totalNum, h('div', { class: 'meter-wrap' }, h('div', { class: 'meter', role: 'img', 'aria-label': 'Total out of 15' }, meter), h('div', { class: 'meter-scale', 'aria-hidden': 'true' }, h('span', { style: 'left:0' }, '0'), h('span', { style: 'left:66.7%' }, '10: owe drahn allowed'), h('span', { style: 'left:100%' }, '15'))), lastDie),
    eventLine, actions, players,
    h('div', { class: 'panel' }, h('h3', {}, 'Money'), potLine, h('div', { class: 'live-only' }, betForm, sideForm), bets),
    h('details', { class: 'panel' }, h('summary', {}, h('strong', {}, 'Rolls this game')), rolls),
    h('details', { class: 'panel' }, h('summary', {}, h('strong', {}, 'Stats')), stats));
  let timer = null, deadline = null, v0 = null, n0 = () => '';
  const resetNote = h('span');
  const tick = () => {
    if (!el.isConnected) { clearInterval(timer); timer = null; return; }
    clock.textContent = deadline ? `${n0(v0.turn)} is away: turn skipped in ${secondsLeft(deadline)} s` : '';
    if (v0?.phase === 'over' && v0.reset_at_ms) resetNote.textContent = ` Next game in ${secondsLeft(v0.reset_at_ms)} s.`;
  };
  return {
    destroy() { clearInterval(timer); },
    update(v) {
      const me = ctx.me, seat = ctx.seated ? v.players[me] : null;
      const n = (id) => v.players[id]?.name || v.departed?.[id]?.name || ctx.name(id) || 'someone';
      const myTurn = seat && v.phase === 'playing' && v.turn === me;
      let text, tone = '';
      if (v.phase === 'lobby') {
        const count = v.order.length, readyN = v.order.filter((id) => v.players[id].ready).length;
        text = count < 2 ? 'Waiting for players (add a bot?)' : `${readyN} of ${count} ready`;
      } else if (v.phase === 'over') { text = v.winner === me ? 'You win the pot!' : `${n(v.winner)} wins!`; tone = v.winner === me ? 'win' : seat ? 'lose' : ''; }
      else if (myTurn) { text = seat.choosing ? 'Choose who goes next (or roll)' : 'Your turn'; tone = 'go'; }
      else text = `${n(v.turn)}’s turn`;
      ctx.status(text, tone, `${v.phase === 'lobby' ? `Before game ${v.round + 1}` : `Game ${v.round}`} · ${v.lives} lives each${seat ? '' : ctx.live ? ' · watching' : ''}`);
      if (ctx.live) document.title = `${myTurn ? 'Your turn' : ctx.room()?.code} · Arbiter`;
      totalNum.textContent = String(v.total);
      meter.style.width = `${100 - Math.min(100, (v.total / 15) * 100)}%`;
      const lastRoll = v.rolls?.at(-1);
      lastDie.hidden = !lastRoll;
      if (lastRoll) { lastDie.dataset.face = lastRoll.die; lastDie.setAttribute('aria-label', `last die: ${lastRoll.die}`); lastDie.replaceChildren(dieFace(lastRoll.die)); }
      eventLine.textContent = v.event && EVENT[v.event.type] ? EVENT[v.event.type](v.event, n) : '';
      resetNote.textContent = '';
      eventLine.append(resetNote);
      // actions
      ready.hidden = !(seat && v.phase === 'lobby');
      ready.setAttribute('aria-pressed', String(!!seat?.ready));
      ready.textContent = seat?.ready ? 'Ready ✓ (click to cancel)' : 'I’m ready';
      roll.hidden = owe.hidden = !myTurn;
      owe.disabled = !(seat && seat.life > 1 && v.total >= 10 && !seat.choosing);
      owe.title = owe.disabled ? 'Allowed on your turn with more than one life and a total of 10 or more' : '';
      const living = v.order.filter((id) => v.players[id].life > 0);
      keyed(choose, JSON.stringify([myTurn && seat.choosing, living]), () => (myTurn && seat.choosing
        ? [h('span', { class: 'small' }, 'Next:'), ...living.map((id) => b(id === me ? 'Me' : n(id), '', () => ctx.act({ type: 'choose_next', player: id })))] : []));
      v0 = v; n0 = n;
      deadline = v.phase === 'playing' ? v.turn_deadline_ms : null;
      if ((deadline || v.reset_at_ms) && !timer) timer = setInterval(tick, 250);
      tick();
      // players
      keyed(players, JSON.stringify([v.order, v.players, v.turn, v.phase, v.lives, me, v.winner]), () => h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Player'), h('th', {}, 'Lives'), h('th', {}, ''), h('th', { class: 'num' }, 'Balance'))),
        h('tbody', {}, v.order.map((id) => {
          const p = v.players[id], dead = v.phase !== 'lobby' && p.life <= 0;
          return h('tr', { 'data-player': id, class: v.turn === id && v.phase === 'playing' ? 'turn-row' : '' },
            h('td', {}, v.turn === id && v.phase === 'playing' ? '▶ ' : '', h('span', { class: dead ? 'dead-name' : '' }, p.name), id === me ? h('span', { class: 'muted' }, ' (you)') : null),
            h('td', { class: 'hearts', 'aria-label': `${p.life} of ${v.lives} lives` }, Array.from({ length: v.lives }, (_, i) => h('span', { class: i < p.life ? '' : 'lost', 'aria-hidden': 'true' }, '♥'))),
            h('td', {}, v.phase === 'lobby' ? h('span', { class: `badge ${p.ready ? 'good' : ''}` }, p.ready ? 'ready' : 'not ready') : null,
              p.choosing ? h('span', { class: 'badge accent' }, 'choosing') : null, !p.connected ? h('span', { class: 'badge bad' }, 'away') : null,
              v.winner === id ? h('span', { class: 'badge good' }, 'winner') : null, dead ? h('span', { class: 'badge' }, 'out') : null),
            h('td', { class: 'num' }, money(p.balance_cents)));
        }))));
      // money
      potLine.textContent = `Main bet ${money(v.main_bet_cents)} · pot ${money(v.pot_cents)}`;
      const lobby = !!seat && v.phase === 'lobby';
      betForm.hidden = sideForm.hidden = !lobby;
      const others = v.order.filter((id) => id !== me);
      keyed(sideOpp, JSON.stringify(others.map((id) => [id, n(id)])), () => others.map((id) => h('option', { value: id }, n(id))));
      const list = Object.entries(v.side_bets || {});
      keyed(bets, JSON.stringify([list, me, lobby]), () => (list.length ? list.map(([bid, bet]) => h('li', { 'data-bet': bid },
        h('span', { class: 'grow' }, `${n(bet.challenger)} bets ${n(bet.opponent)} ${money(bet.amount_cents)} to outlive them `,
          h('span', { class: `badge ${bet.status === 'accepted' ? 'good' : bet.status === 'declined' ? 'bad' : ''}` }, bet.status),
          bet.winner ? h('span', { class: 'small muted' }, ` won by ${n(bet.winner)}`) : null),
        lobby && bet.status === 'pending' && bet.opponent === me ? h('span', { class: 'row' },
          b('Accept', 'primary', () => ctx.act({ type: 'accept_bet', bet: Number(bid) })), b('Decline', '', () => ctx.act({ type: 'decline_bet', bet: Number(bid) }))) : null,
        lobby && bet.status === 'pending' && bet.challenger === me ? b('Cancel', 'danger', () => ctx.act({ type: 'cancel_bet', bet: Number(bid) })) : null))
        : h('li', { class: 'small muted' }, 'No side bets.')));
      keyed(rolls, JSON.stringify(v.rolls), () => [...(v.rolls || [])].reverse().map((r) => h('li', {},
        `${n(r.player)}: ${r.die} → ${r.total}${r.busted ? ' (bust)' : ''}`)));
      keyed(stats, JSON.stringify(v.order.map((id) => v.players[id].stats)), () => h('table', {},
        h('thead', {}, h('tr', {}, ['Player', 'Games', 'Wins', '1s–6s rolled', 'Perfect', 'Luckiest', 'Worst', '21s', 'Max loss'].map((t) => h('th', {}, t)))),
        h('tbody', {}, v.order.map((id) => { const s = v.players[id].stats; return h('tr', {}, h('td', {}, n(id)), h('td', { class: 'num' }, s.games), h('td', { class: 'num' }, s.wins),
          h('td', {}, s.rolled_dice.join(' · ')), h('td', { class: 'num' }, s.perfect_rolls), h('td', { class: 'num' }, s.luckiest_rolls),
          h('td', { class: 'num' }, s.worst_rolls), h('td', { class: 'num' }, s.rolled_21), h('td', { class: 'num' }, s.max_life_losses)); }))));
    },
  };
}
