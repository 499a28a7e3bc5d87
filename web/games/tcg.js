// Card table (MTG, Commander, Pokémon): rules-light. Submit a deck, start, then move cards
// between zones, tap, count life, take turns, undo. The players enforce what the cards say.
import { h, keyed, plural } from '../lib.js';

const DEFAULT_DECK = `24 Forest
4 Llanowar Elves
4 Grizzly Bears
4 Kalonian Tusker
4 Centaur Courser
4 Garruk's Companion
4 Craw Wurm
4 Giant Growth
4 Rampant Growth
4 Titanic Growth`;
const IN_PLAY = ['battlefield', 'active', 'bench'];
const HIDDEN = ['library', 'deck', 'hand', 'prizes'];
const human = (s) => String(s || '').replace(/_/g, ' ');

/** "4 Grizzly Bears" lines → a deck list; a trailing " *" marks a commander. */
export function parseDeck(text) {
  const list = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('//')) continue;
    const m = /^(\d+)\s*x?\s+(.+)$/i.exec(line);
    let count = m ? Number(m[1]) : 1, name = (m ? m[2] : line).trim();
    const commander = name.endsWith(' *');
    if (commander) name = name.slice(0, -2).trim();
    if (count > 0 && name) list.push(commander ? { name, count, commander: true } : { name, count });
  }
  return list;
}

function describe(e, name, cardName, me) {
  const who = e.by ? name(e.by) : 'The table';
  switch (e.type) {
    case 'started': return `Game started; ${e.first === me ? 'you go' : `${name(e.first)} goes`} first`;
    case 'drew': return `${who} drew ${plural(e.n, 'card')}`;
    case 'mulligan': return `${who} took a mulligan (hand of ${e.hand})`;
    case 'shuffled': return `${who} shuffled their ${human(e.zone)}`;
    case 'looked': return `${who} looked at the top ${plural(e.n, 'card')} of ${e.player === e.by ? 'their' : `${name(e.player)}’s`} library`;
    case 'revealed': return `${who} revealed ${(e.cards || []).map(cardName).join(', ') || 'cards'}${e.to ? ` to ${name(e.to)}` : ''}`;
    case 'coin': return `${who} flipped a coin: ${e.heads ? 'heads' : 'tails'}`;
    case 'roll': return `${who} rolled a d${e.sides}: ${e.result}`;
    case 'conceded': return `${who} conceded`;
    case 'lost': return `${e.player ? name(e.player) : who} lost${e.reason ? ` (${e.reason})` : ''}`;
    case 'won': return `${e.player ? name(e.player) : who} won`;
    default: {
      const rest = Object.entries(e).filter(([k]) => !['seq', 'by', 'type'].includes(k))
        .map(([k, v]) => `${human(k)}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
      return `${who}: ${human(e.type)}${rest ? ` (${rest})` : ''}`;
    }
  }
}

export default function mount(el, ctx) {
  const btn = (label, action, cls = '', title) => h('button', { type: 'button', class: cls, title, onclick: () => ctx.act(action()) }, label);
  // Deck and start (waiting)
  const deck = h('textarea', { id: 'tcg-deck', rows: 10, spellcheck: 'false', 'aria-label': 'Deck list, one "count name" per line' });
  deck.value = DEFAULT_DECK;
  const deckInfo = h('span', { class: 'small muted' });
  const submit = h('button', { type: 'button', class: 'primary', onclick: () => {
    const list = parseDeck(deck.value);
    if (!list.length) return ctx.toast('The deck list is empty.');
    ctx.act({ type: 'submit_deck', list });
  } }, 'Submit deck');
  const start = btn('Start the game', () => ({ type: 'start' }), 'primary');
  const deckPanel = h('div', { class: 'panel tcg-deckpanel' }, h('h3', {}, 'Your deck'),
    h('p', { class: 'small muted' }, 'One card per line as “count name”; end a line with “ *” for a commander.'),
    deck, h('div', { class: 'actions' }, submit, start, deckInfo));
  // Turn and table controls (playing)
  const draw = btn('Draw', () => ({ type: 'draw' }), 'primary');
  const untapAll = btn('Untap all', () => ({ type: 'untap_all' }));
  const mull = btn('Mulligan', () => ({ type: 'mulligan' }));
  const shuffle = btn('Shuffle', () => ({ type: 'shuffle' }));
  const advance = btn('Next step', () => ({ type: 'advance_phase' }));
  const pass = btn('Pass turn', () => ({ type: 'pass_turn' }));
  // Undo is the engine's (undo / redo / consent messages, not game actions).
  const ubtn = (label, onclick, cls = '') => h('button', { type: 'button', class: cls, onclick }, label);
  const undo = ubtn('Undo', () => ctx.undo());
  const redo = ubtn('Redo', () => ctx.redo());
  const ask = ubtn('Ask to undo', () => ctx.undo(true));
  const accept = ubtn('Accept undo', () => { const p = ctx.proposal(); if (p) ctx.consent(p.id, true); }, 'primary');
  const decline = ubtn('Decline', () => { const p = ctx.proposal(); if (p) ctx.consent(p.id, false); });
  const coin = btn('Coin', () => ({ type: 'coin' }));
  const d6 = btn('d6', () => ({ type: 'roll', sides: 6 }), '', 'Roll a six-sided die');
  const d20 = btn('d20', () => ({ type: 'roll', sides: 20 }), '', 'Roll a twenty-sided die');
  // Tokens: a name, made on your battlefield (your bench in Pokémon); gone when they leave play.
  const tokenName = h('input', { id: 'tcg-token', type: 'text', maxlength: 120, placeholder: 'Goblin 1/1', 'aria-label': 'Token name' });
  const makeToken = () => {
    const name = tokenName.value.trim();
    if (!name) return ctx.toast('Name the token first.');
    ctx.act({ type: 'create_token', name });
  };
  tokenName.addEventListener('keydown', (e) => { if (e.key === 'Enter') makeToken(); });
  const token = h('button', { type: 'button', onclick: makeToken, title: 'Put a token with this name into play' }, 'Create token');
  const tokenBox = h('span', { class: 'row' }, tokenName, token);
  const concede = h('button', { type: 'button', class: 'danger', onclick: () => { if (confirm('Concede the game?')) ctx.act({ type: 'concede' }); } }, 'Concede');
  const restart = btn('Play again', () => ({ type: 'restart' }), 'primary');
  const turnInfo = h('p', { class: 'small muted tcg-turn', 'aria-live': 'polite' });
  const undoInfo = h('span', { class: 'small muted' });
  const bar = h('div', { class: 'actions tcg-bar' }, draw, untapAll, mull, shuffle, advance, pass, tokenBox, restart);
  const bar2 = h('div', { class: 'actions tcg-bar' }, undo, redo, ask, accept, decline, undoInfo, h('span', { class: 'grow' }), coin, d6, d20, concede);
  const seats = h('div', { class: 'tcg-seats' });
  const stack = h('div', {});
  const events = h('ol', { class: 'list hand-log tcg-events', 'aria-label': 'Recent events' });
  el.replaceChildren(turnInfo, bar, bar2, deckPanel, seats, stack,
    h('div', { class: 'panel' }, h('h3', {}, 'Recent events'), events));

  return {
    update(v) {
      const me = ctx.seated ? v.you : null;
      const players = v.players || {};
      const name = (id) => (id === me ? 'You' : players[id]?.name || ctx.name(id) || 'someone');
      const order = v.order?.length ? v.order : Object.keys(players).sort((a, b) => players[a].order - players[b].order);
      const cards = v.cards || {};
      const cardName = (id) => cards[id]?.name || 'a face-down card';
      const playing = v.phase === 'playing', over = v.phase === 'over', waiting = v.phase === 'waiting';
      const myTurn = playing && v.turn?.player === me && !!me;
      const iLost = me && players[me]?.lost;
      // status
      let text, tone = '';
      if (waiting) {
        const missing = order.filter((id) => !players[id].deck?.submitted).length;
        text = missing ? `Waiting for ${plural(missing, 'deck')}` : order.length < 2 ? 'Waiting for players' : 'Ready to start';
      } else if (over) {
        const winner = v.ranking?.[0];
        text = winner === me && me ? 'You win!' : winner ? `${name(winner)} wins.` : 'Game over.';
        tone = winner === me && me ? 'win' : me ? 'lose' : '';
      } else if (iLost) { text = `You lost (${iLost})`; tone = 'lose'; }
      else if (myTurn) { text = 'Your turn'; tone = 'go'; }
      else text = `${name(v.turn?.player)}’s turn`;
      ctx.status(text, tone, `${v.format === 'mtg' ? 'Magic' : v.format === 'commander' ? 'Commander' : 'Pokémon'} table${me ? '' : ctx.live ? ' · watching' : ''}`);
      if (ctx.live) document.title = `${tone === 'go' ? 'Your turn' : ctx.room()?.code} · Arbiter`;
      turnInfo.textContent = v.turn ? `Turn ${v.turn.number} · ${name(v.turn.player)} · ${human(v.turn.step)}` : '';
      // controls
      const seatedIn = !!me && playing && !iLost;
      deckPanel.hidden = !(waiting && me);
      const mine = players[me];
      deckInfo.textContent = mine?.deck?.submitted ? `Submitted: ${plural(mine.deck.size, 'card')}` : 'Not submitted yet';
      start.disabled = !(order.length >= 2 && order.every((id) => players[id].deck?.submitted));
      bar.hidden = bar2.hidden = !(seatedIn || (over && me));
      for (const b of [draw, untapAll, mull, shuffle, advance, pass, tokenBox, undo, redo, ask, accept, decline, coin, d6, d20, concede]) b.hidden = !seatedIn;
      restart.hidden = !(over && me);
      advance.disabled = pass.disabled = !myTurn;
      const u = ctx.undoState() || {};
      const req = ctx.proposal();
      const last = u.undo, next = u.redo;
      undo.disabled = !(last && last.author === me) || !!req;
      redo.disabled = !(next && (next.author === me || next.undone_by === me));
      ask.hidden = !seatedIn || !last || last.author === me || !!req;
      const mustAnswer = !!(req && req.waiting.includes(me));
      accept.hidden = !(seatedIn && mustAnswer);
      decline.hidden = !(seatedIn && req && (mustAnswer || req.by === me));
      decline.textContent = req?.by === me ? 'Withdraw request' : 'Decline';
      undoInfo.textContent = req ? (mustAnswer ? `${name(req.by)} asks to undo your last action` : `Waiting for ${name(req.of)} to accept the undo`)
        : last ? `Undo: ${last.author === me ? 'your' : `${name(last.author)}’s`} last action${last.steps > 1 ? ` (${plural(last.steps, 'step')} back)` : ''}` : '';
      // seats
      const cardEl = (id, zone, owner) => {
        const c = cards[id];
        if (id == null || !c) return h('span', { class: 'tcg-card back', role: 'img', 'aria-label': 'face-down card' });
        const inPlay = IN_PLAY.includes(zone);
        const label = c.name || 'face-down card';
        const counters = Object.entries(c.counters || {}).filter(([, n]) => n).map(([k, n]) => `${k}×${n}`).join(' ');
        const canAct = seatedIn && (zone !== 'hand' || owner === me);
        const onclick = !canAct ? null : zone === 'hand'
          ? () => ctx.act({ type: 'move', cards: [id], from: { zone: 'hand' }, to: { zone: players[me].zones.battlefield ? 'battlefield' : 'bench' } })
          : inPlay ? () => ctx.act({ type: c.tapped ? 'untap' : 'tap', cards: [id] }) : null;
        return h(onclick ? 'button' : 'span', {
          type: onclick ? 'button' : null, class: `tcg-card${c.tapped ? ' tapped' : ''}${c.name ? '' : ' back'}${c.token ? ' token' : ''}`, 'data-card': id, 'data-name': c.name || '',
          title: zone === 'hand' ? `Play ${label}` : inPlay ? `${c.tapped ? 'Untap' : 'Tap'} ${label}` : label,
          'aria-label': `${label}${c.token ? ' (token)' : ''}${c.tapped ? ', tapped' : ''}${counters ? `, ${counters}` : ''}`, onclick,
        }, h('span', { class: 'nm' }, c.name || '?'), counters ? h('span', { class: 'ct' }, counters) : null, c.face_down ? h('span', { class: 'ct' }, 'face down') : null,
        c.token ? h('span', { class: 'ct' }, 'token') : null);
      };
      keyed(seats, JSON.stringify([order, players, cards, v.turn, me, seatedIn, v.phase]), () => order.map((id) => {
        const p = players[id], z = p.zones || {};
        const counts = Object.entries(z).filter(([k]) => !IN_PLAY.includes(k) && (k !== 'hand' || id !== me));
        const lifeBtn = (d) => h('button', { type: 'button', class: 'small', 'aria-label': `${d > 0 ? 'Gain' : 'Lose'} 1 life for ${p.name}`, disabled: !seatedIn,
          onclick: () => ctx.act(id === me ? { type: 'life', delta: d } : { type: 'life', player: id, delta: d }) }, d > 0 ? '+' : '−');
        const pc = Object.entries(p.counters || {}).filter(([, n]) => n);
        return h('section', { class: `panel tcg-seat${v.turn?.player === id && playing ? ' turn' : ''}${id === me ? ' me' : ''}`, 'data-player': id, 'aria-label': p.name },
          h('div', { class: 'spread' },
            h('strong', {}, p.name, id === me ? ' (you)' : ''),
            h('span', { class: 'row' },
              p.lost ? h('span', { class: 'badge bad' }, `lost: ${p.lost}`) : null,
              v.turn?.player === id && playing ? h('span', { class: 'badge accent' }, 'on turn') : null,
              waiting ? h('span', { class: `badge ${p.deck?.submitted ? 'good' : ''}` }, p.deck?.submitted ? `deck: ${p.deck.size}` : 'no deck') : null,
              pc.length ? h('span', { class: 'small' }, pc.map(([k, n]) => `${k} ${n}`).join(' · ')) : null,
              p.life != null ? h('span', { class: 'tcg-life row' }, lifeBtn(-1), h('span', { class: 'pts', 'aria-label': `life ${p.life}` }, `♥ ${p.life}`), lifeBtn(1)) : null)),
          z ? h('div', { class: 'small muted tcg-counts' }, counts.map(([k, zz]) => h('span', { 'data-zone': k }, `${human(k)}: ${zz.count}`))) : null,
          ...IN_PLAY.filter((k) => z[k]).map((k) => h('div', { class: 'tcg-zone', 'data-zone': k, 'aria-label': `${p.name}’s ${human(k)}` },
            h('div', { class: 'small muted' }, `${human(k)} (${z[k].count})`),
            h('div', { class: 'tcg-row' }, z[k].cards.length ? z[k].cards.map((c) => cardEl(c, k, id)) : h('span', { class: 'small muted' }, 'empty')))),
          ...['graveyard', 'discard', 'exile', 'command'].filter((k) => z[k]?.count).map((k) => h('div', { class: 'tcg-zone small', 'data-zone': k },
            h('span', { class: 'muted' }, `${human(k)}: `), z[k].cards.map((c) => cards[c]?.name || '?').join(', '))),
          id === me && z.hand ? h('div', { class: 'tcg-zone tcg-hand', 'data-zone': 'hand', 'aria-label': 'Your hand' },
            h('div', { class: 'small muted' }, `Your hand (${z.hand.count})${seatedIn ? ' · click a card to play it' : ''}`),
            h('div', { class: 'tcg-row' }, z.hand.cards.length ? z.hand.cards.map((c) => cardEl(c, 'hand', id)) : h('span', { class: 'small muted' }, 'empty'))) : null);
      }));
      keyed(stack, JSON.stringify([v.stack, cards]), () => (v.stack?.count ? h('div', { class: 'panel' }, h('h3', {}, `Stack (${v.stack.count})`),
        h('div', { class: 'tcg-row' }, v.stack.cards.map((c) => cardEl(c, 'stack')))) : null));
      keyed(events, JSON.stringify([v.events, order.map((id) => players[id].name), me]), () => {
        const list = (v.events || []).slice(-12).reverse();
        return list.length ? list.map((e) => h('li', { 'data-type': e.type }, describe(e, name, cardName, me))) : h('li', { class: 'muted' }, 'Nothing yet');
      });
    },
  };
}
