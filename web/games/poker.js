// Texas hold'em: seats round an oval table, your hole cards, the board and pots, betting
// controls driven by the view's `legal` object, the action clock, showdown and hand history.
import { h, keyed, card, chips, secondsLeft } from '../lib.js';

const KIND = { small_blind: 'posts the small blind', big_blind: 'posts the big blind', ante: 'posts an ante', fold: 'folds',
  check: 'checks', call: 'calls', bet: 'bets', raise: 'raises to', return: 'gets back' };

export default function mount(el, ctx) {
  const table = h('div', { class: 'poker-table' });
  const felt = h('div', { class: 'felt' });
  const boardEl = h('div', { class: 'board-cards', 'aria-label': 'Board' });
  const potEl = h('div', { class: 'pot', 'aria-live': 'polite' });
  const streetEl = h('div', { class: 'small' });
  felt.append(h('div', { class: 'felt-center' }, streetEl, boardEl, potEl));
  const seatsEl = h('div', {});
  table.append(felt, seatsEl);
  const banner = h('div', { 'aria-live': 'polite' });
  // betting controls
  const b = (label, cls, onclick) => h('button', { type: 'button', class: cls, onclick }, label);
  const fold = b('Fold', 'danger', () => ctx.act({ type: 'fold' }));
  const check = b('Check', '', () => ctx.act({ type: 'check' }));
  const call = b('Call', 'primary', () => ctx.act({ type: 'call' }));
  const slider = h('input', { type: 'range', id: 'pk-amount-range', step: '1', 'aria-label': 'Bet or raise amount' });
  const amount = h('input', { type: 'number', id: 'pk-amount', step: '1', 'aria-label': 'Amount (street total)' });
  const betBtn = b('Bet', 'primary', () => { const k = betBtn.dataset.kind; ctx.act({ type: k, amount: Number(amount.value) }); });
  const allIn = b('All in', '', () => ctx.act({ type: 'all_in' }));
  const clock = h('span', { class: 'clock', 'aria-live': 'off' });
  const quick = h('span', { class: 'row' });
  slider.addEventListener('input', () => { amount.value = slider.value; syncBetLabel(); });
  amount.addEventListener('input', () => { slider.value = amount.value; syncBetLabel(); });
  const betRow = h('div', { class: 'row' }, slider, amount, quick, betBtn);
  const betbar = h('div', { class: 'betbar', role: 'group', 'aria-label': 'Your action' },
    h('div', { class: 'row' }, fold, check, call, allIn, h('span', { class: 'grow' }), clock), betRow);
  // between hands
  const sitOut = b('Sit out', '', () => ctx.act({ type: 'sit_out' }));
  const sitIn = b('Sit back in', 'primary', () => ctx.act({ type: 'sit_in' }));
  const topUp = b('Top up', '', () => ctx.act({ type: 'top_up' }));
  const rebuyAmt = h('input', { type: 'number', id: 'pk-rebuy', step: '1' });
  const rebuy = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); ctx.act({ type: 'rebuy', amount: Number(rebuyAmt.value) }); } },
    h('label', { for: 'pk-rebuy' }, 'Rebuy'), rebuyAmt, h('button', { type: 'submit' }, 'Add chips'));
  const seatActions = h('div', { class: 'actions' }, sitOut, sitIn, topUp, rebuy);
  const log = h('ol', { class: 'hand-log' });
  const lastHand = h('div', {});
  const histDialog = h('dialog', { 'aria-labelledby': 'pk-hist-h' });
  const histBtn = b('Hand history', '', () => openHistory());
  const histLink = h('a', { class: 'small', target: '_blank', rel: 'noopener' }, 'JSON');
  el.replaceChildren(table, banner, betbar, seatActions,
    h('div', { class: 'panel' }, h('div', { class: 'spread' }, h('h3', {}, 'This hand'), h('span', { class: 'row live-only' }, histBtn, histLink)), log),
    lastHand, histDialog);
  let v = null, timer = null;
  function syncBetLabel() {
    const k = betBtn.dataset.kind;
    betBtn.textContent = `${k === 'raise' ? 'Raise to' : 'Bet'} ${chips(amount.value)}`;
    const r = v?.legal?.[k];
    betBtn.disabled = !r || !(Number(amount.value) >= r.min && Number(amount.value) <= r.max);
  }
  const name = (id) => v?.players[id]?.name || ctx.name(id) || 'someone';
  function tick() {
    if (!el.isConnected) { clearInterval(timer); timer = null; return; }
    const d = v?.hand?.deadline_ms, total = v?.config?.action_timeout_ms || 0;
    const left = d ? Math.max(0, d - Date.now()) : 0;
    for (const bar of seatsEl.querySelectorAll('.tbar span')) bar.style.width = `${total ? Math.min(100, (100 * left) / total) : 0}%`;
    const mine = v?.hand?.to_act === ctx.me && ctx.seated;
    clock.textContent = d && mine ? `${secondsLeft(d)} s left` : '';
    clock.classList.toggle('low', d && left < 5000);
    const next = v?.next_hand_ms && !(v.hand && v.hand.street !== 'over');
    streetEl.textContent = next ? `Next hand in ${secondsLeft(v.next_hand_ms)} s` : v?.hand ? (v.hand.street === 'over' ? `Hand #${v.hand.number} is over` : `Hand #${v.hand.number} · ${v.hand.street}`) : 'Waiting for players';
  }
  async function openHistory() {
    const r = ctx.room();
    if (!r) return;
    histDialog.replaceChildren(h('h2', { id: 'pk-hist-h' }, 'Hand history'), h('p', { class: 'muted' }, 'Loading…'));
    histDialog.showModal();
    try {
      const res = await ctx.getJson(`/api/v1/rooms/${r.id}/history`);
      const hands = [...(res.history || [])].reverse();
      histDialog.replaceChildren(h('div', { class: 'spread' }, h('h2', { id: 'pk-hist-h' }, 'Hand history'), b('Close', '', () => histDialog.close())),
        ...(hands.length ? hands.map(record) : [h('p', { class: 'muted' }, 'No finished hands yet.')]));
    } catch (e) { histDialog.replaceChildren(h('p', {}, e.message), b('Close', '', () => histDialog.close())); }
  }
  function record(rec) {
    const nm = (id) => rec.seats.find((s) => s.player === id)?.name || name(id);
    return h('div', { class: 'panel', 'data-hand': rec.number },
      h('div', { class: 'spread' }, h('strong', {}, `Hand #${rec.number}`), h('span', { class: 'row' }, rec.board.map((c) => card(c, 'sm')))),
      h('table', {}, h('tbody', {}, rec.seats.map((s) => h('tr', {},
        h('td', {}, s.name), h('td', {}, s.hole ? h('span', { class: 'row' }, s.hole.map((c) => card(c, 'sm'))) : h('span', { class: 'muted small' }, s.shown === false ? 'not shown' : '')),
        h('td', { class: 'small' }, s.hand || ''), h('td', { class: 'num' }, s.won ? `+${chips(s.won)}` : ''),
        h('td', { class: 'num small muted' }, `${chips(s.stack_before)} → ${chips(s.stack_after)}`))))),
      h('p', { class: 'small muted' }, rec.pots.map((p, i) => `${i ? 'Side pot' : 'Pot'} ${chips(p.amount)}: ${(p.winners || []).map(([w, c]) => `${nm(w)} ${chips(c)}`).join(', ')}`).join(' · ')));
  }
  return {
    destroy() { clearInterval(timer); },
    update(view) {
      v = view;
      const me = v.you || ctx.me, mine = v.you ? v.players[v.you] : null, hand = v.hand, legal = v.legal;
      const over = !hand || hand.street === 'over';
      const myTurn = !!(mine && hand && !over && hand.to_act === me);
      // status
      let text, tone = '';
      if (!hand) text = Object.keys(v.players).length < 2 ? 'Waiting for players (add a bot?)' : 'Dealing soon…';
      else if (over) {
        const winners = Object.entries(v.players).filter(([, p]) => p.won > 0);
        text = winners.length ? winners.map(([id, p]) => `${id === me ? 'You' : p.name} won ${chips(p.won)}${p.best_hand ? ` with ${p.best_hand}` : ''}`).join(' · ') : `Hand #${hand.number} is over`;
        tone = mine && mine.won > 0 ? 'win' : '';
      } else if (myTurn) { text = 'Your turn to act'; tone = 'go'; }
      else text = `${name(hand.to_act)} to act`;
      ctx.status(text, tone, `Blinds ${v.config.small_blind}/${v.config.big_blind}${v.config.ante ? ` · ante ${v.config.ante}` : ''} · ${v.hands_played} hands played${mine ? '' : ctx.live ? ' · watching' : ''}`);
      if (ctx.live) document.title = `${myTurn ? 'Your turn' : ctx.room()?.code} · Arbiter`;
      // seats, rotated so that you sit at the bottom
      const N = v.config.seats, bySeat = new Map(Object.entries(v.players).map(([id, p]) => [p.seat, [id, p]]));
      const base = mine ? mine.seat : 0;
      const winners = new Set((hand?.pots || []).flatMap((p) => (p.winners || []).map((w) => w[0])));
      keyed(seatsEl, JSON.stringify([v.players, hand && [hand.to_act, hand.button, hand.small_blind_seat, hand.big_blind_seat, hand.street, hand.dealt], me, N]), () =>
        Array.from({ length: N }, (_, seat) => {
          const a = Math.PI / 2 + ((seat - base) * 2 * Math.PI) / N;
          const x = 50 + 40 * Math.cos(a), y = 50 + 40 * Math.sin(a);
          const style = `left:${x.toFixed(1)}%;top:${y.toFixed(1)}%`;
          const entry = bySeat.get(seat);
          if (!entry) return h('div', { class: 'seat empty', style, 'aria-hidden': 'true' }, `open`);
          const [id, p] = entry, dealt = hand?.dealt?.includes(id);
          const cls = ['seat', id === me && 'me', hand && !over && hand.to_act === id && 'to-act', p.folded && 'folded', over && winners.has(id) && 'winner'].filter(Boolean).join(' ');
          const cards = p.cards ? p.cards.map((c) => card(c, 'sm')) : dealt && !p.folded && !over ? [card(null, 'sm'), card(null, 'sm')] : [];
          const tags = [hand?.button === seat && 'D', hand?.small_blind_seat === seat && 'SB', hand?.big_blind_seat === seat && 'BB'].filter(Boolean);
          return h('div', { class: cls, style, 'data-player': id, role: 'group', 'aria-label': `${p.name}${id === me ? ' (you)' : ''}, ${chips(p.stack)} chips${p.folded ? ', folded' : ''}${p.all_in ? ', all in' : ''}` },
            hand?.button === seat ? h('span', { class: 'btn', title: 'dealer button' }, 'D') : null,
            h('div', { class: 'nm' }, p.name, id === me ? ' (you)' : ''),
            h('div', { class: 'hole' }, cards),
            h('div', { class: 'stack' }, `${chips(p.stack)}`, tags.filter((t) => t !== 'D').map((t) => h('span', { class: 'badge' }, t)),
              p.all_in ? h('span', { class: 'badge bad' }, 'all in') : null, p.sitting_out ? h('span', { class: 'badge' }, 'out') : null,
              p.left ? h('span', { class: 'badge' }, 'left') : null),
            p.best_hand && over ? h('div', { class: 'small' }, p.best_hand) : null,
            p.won && over ? h('div', { class: 'small', style: 'color:var(--good);font-weight:700' }, `+${chips(p.won)}`) : null,
            hand && !over && hand.to_act === id && hand.deadline_ms ? h('div', { class: 'tbar' }, h('span')) : null,
            p.bet ? h('span', { class: 'bet', style: y > 50 ? 'top:-12px' : 'bottom:-12px' }, chips(p.bet)) : null);
        }));
      keyed(boardEl, JSON.stringify(hand?.board || []), () => (hand?.board || []).map((c) => card(c)));
      potEl.hidden = !hand;
      if (hand) potEl.textContent = over ? `Pot ${chips((hand.pots || []).reduce((s, p) => s + p.amount, 0))}`
        : `Pot ${chips(hand.pot)}${hand.pots?.length > 1 && Object.values(v.players).some((p) => p.all_in) ? ` (${hand.pots.map((p, i) => `${i ? 'side' : 'main'} ${chips(p.amount)}`).join(' + ')})` : ''}`;
      keyed(banner, JSON.stringify([over && hand?.pots]), () => (over && hand?.pots?.length ? h('div', { class: 'banner good' },
        hand.pots.map((p, i) => `${hand.pots.length > 1 ? (i ? `Side pot ${i}` : 'Main pot') : 'Pot'} ${chips(p.amount)} → ${(p.winners || []).map(([w, c]) => `${name(w)} (${chips(c)})`).join(', ')}`).join(' · ')) : null));
      // betting controls
      betbar.hidden = !myTurn || !legal;
      if (myTurn && legal) {
        fold.disabled = !legal.fold;
        check.hidden = !legal.check;
        call.hidden = !legal.call; call.textContent = `Call ${chips(legal.call)}`;
        const kind = legal.raise ? 'raise' : legal.bet ? 'bet' : null, range = kind && legal[kind];
        betRow.hidden = !range;
        if (range) {
          const key = JSON.stringify([kind, range, hand.number, hand.street, hand.current_bet]);
          if (betRow.dataset.key !== key) {
            betRow.dataset.key = key;
            betBtn.dataset.kind = kind;
            for (const i of [slider, amount]) { i.min = String(range.min); i.max = String(range.max); i.value = String(range.min); }
            const pot = hand.pot + (legal.call || 0);   // a pot-sized raise: call, then raise by the pot
            const opts = [['Min', range.min], ['½ pot', Math.floor(hand.current_bet + pot / 2)], ['Pot', hand.current_bet + pot]]
              .filter(([, a]) => a >= range.min && a <= range.max);
            quick.replaceChildren(...opts.map(([l, a]) => b(l, 'small', () => { amount.value = slider.value = String(a); syncBetLabel(); })));
          }
          syncBetLabel();
        } else quick.replaceChildren();
        allIn.hidden = legal.all_in == null; allIn.textContent = `All in ${chips(legal.all_in)}`;
      }
      // between-hands controls
      const l = legal || {};
      seatActions.hidden = !mine;
      sitOut.hidden = !l.sit_out; sitIn.hidden = !l.sit_in;
      topUp.hidden = !l.top_up; topUp.textContent = `Top up +${chips(l.top_up)}`;
      rebuy.hidden = !l.rebuy;
      if (l.rebuy && rebuyAmt.dataset.key !== JSON.stringify(l.rebuy)) {
        rebuyAmt.dataset.key = JSON.stringify(l.rebuy);
        rebuyAmt.min = String(l.rebuy.min); rebuyAmt.max = String(l.rebuy.max); rebuyAmt.value = String(l.rebuy.max);
      }
      // this hand's actions
      keyed(log, JSON.stringify(hand?.actions || []), () => (hand?.actions || []).map((a) => h('li', {},
        h('span', { class: 'muted small' }, `${a.street} · `), `${name(a.player)} ${KIND[a.kind] || a.kind} ${a.kind === 'raise' ? chips(a.to) : a.amount ? chips(a.amount) : ''}`,
        a.all_in ? ' (all in)' : '', a.auto ? h('span', { class: 'muted small' }, ' (auto)') : null)));
      const r = ctx.room();
      if (r) histLink.href = `/api/v1/rooms/${r.id}/history`;
      keyed(lastHand, JSON.stringify(v.last_hand), () => (v.last_hand ? h('div', { class: 'panel' }, h('h3', {}, 'Last hand'), record(v.last_hand)) : null));
      if (!timer) timer = setInterval(tick, 250);
      tick();
    },
  };
}
