// The party lobby: members with the host and who is ready, a ready toggle, the host's game
// picker and start button, the game being played (the page follows into it and back), and
// the games played so far.
import { h, keyed, plural } from '../lib.js';

export default function mount(el, ctx) {
  const b = (label, attrs, onclick) => h('button', { type: 'button', ...attrs, onclick }, label);
  const title = h('h2', { class: 'panel-title', id: 'party-name' });
  const members = h('ul', { class: 'list', id: 'party-members', 'aria-label': 'Members' });
  const ready = b('I am ready', { id: 'party-ready', class: 'toggle' }, () =>
    ctx.act({ type: 'ready', ready: ready.getAttribute('aria-pressed') !== 'true' }));
  const picker = h('select', { id: 'party-game', 'aria-label': 'Game' });
  const pick = b('Pick', { id: 'party-pick' }, () => picker.value && ctx.act({ type: 'pick', game: picker.value }));
  const start = b('Start the game', { id: 'party-start', class: 'primary' }, () => ctx.launch());
  const back = b('Back to the lobby', { id: 'party-back' }, () => ctx.act({ type: 'back' }));
  const picked = h('p', { id: 'party-pick-shown', 'aria-live': 'polite' });
  const playing = h('div', { id: 'party-playing', 'aria-live': 'polite' });
  const hostTools = h('div', { class: 'actions', id: 'party-host' }, picker, pick, start);
  const played = h('ol', { class: 'list', id: 'party-history', 'aria-label': 'Games played' });
  el.replaceChildren(title, picked, h('div', { class: 'actions' }, ready, back), hostTools, playing,
    h('div', { class: 'panel' }, h('h3', {}, 'Members'), members),
    h('div', { class: 'panel' }, h('h3', {}, 'Games played'), played));
  // Built-in games, then the external games registered over the API (docs/external-games.md).
  Promise.all([ctx.getJson('/api/v1/games', false), ctx.getJson('/api/v1/external-games', false).catch(() => [])])
    .then(([games, external]) => {
      const options = [...(games || []).filter((g) => g.name !== 'party' && g.name !== 'counter'), ...(external || [])];
      picker.replaceChildren(...options.map((g) => h('option', { value: g.name }, g.title)));
    }).catch(() => {});
  // An external game is played on its own site: fetch this member's ticket and go there.
  const goExternal = () => ctx.postJson(`/api/v1/rooms/${ctx.room().id}/external`)
    .then((ticket) => window.location.assign(ticket.url))
    .catch((e) => ctx.toast(e.message));
  return {
    update(v) {
      const me = ctx.me, host = v.host === me;
      const name = (id) => v.members[id]?.name || ctx.name(id) || 'someone';
      // An external game is not in the server's game list: its title is the pick's.
      const gameName = (game) => (v.pick?.game === game ? v.pick.title : ctx.gameTitle(game));
      const n = Object.keys(v.members).length, nReady = v.ready.length;
      title.textContent = v.name;
      ctx.status(v.playing ? `Playing ${gameName(v.playing.game)}` : host ? 'You are the host' : `${name(v.host)} is the host`,
        v.playing ? 'go' : '', `${plural(n, 'member')} · ${nReady} ready${v.round ? ` · ${plural(v.round, 'game')} played or playing` : ''}`);
      const mine = v.ready.includes(me);
      ready.hidden = !v.members[me] || !!v.playing;
      ready.setAttribute('aria-pressed', String(mine)); ready.textContent = mine ? '✓ Ready' : 'I am ready';
      hostTools.hidden = !host || !!v.playing;
      back.hidden = !host || !v.playing;
      const p = v.pick;
      start.disabled = !p || nReady < p.min_players || nReady > p.max_players;
      picked.textContent = p ? `Next game: ${p.title} (${p.min_players === p.max_players ? p.max_players : `${p.min_players}–${p.max_players}`} players)` : 'No game picked yet.';
      const external = v.playing?.game.startsWith('ext:');
      keyed(playing, JSON.stringify([v.playing || null, me]), () => (!v.playing ? null : external ? h('p', {},
        `${gameName(v.playing.game)} is on: ${v.playing.players.map(name).join(', ')}. `,
        v.playing.players.includes(me) ? b('Go to the game', { id: 'party-go' }, goExternal) : null) : h('p', {},
        `${gameName(v.playing.game)} is on in room ${v.playing.code}: ${v.playing.players.map(name).join(', ')}. `,
        b('Go to the game', { id: 'party-go' }, () => ctx.follow(v.playing)))));
      keyed(members, JSON.stringify([v.members, v.host, v.ready, me]), () => Object.entries(v.members)
        .sort(([, a], [, c]) => a.seat - c.seat)
        .map(([id, m]) => h('li', { 'data-player': id },
          h('span', { class: 'grow' }, h('strong', {}, m.name), id === me ? h('span', { class: 'muted' }, ' (you)') : null, ' ',
            m.host ? h('span', { class: 'badge' }, 'host') : null, ' ',
            m.ready ? h('span', { class: 'badge good' }, 'ready') : null,
            !m.connected ? h('span', { class: 'badge bad' }, 'away') : null),
          host && id !== me ? [
            b('Make host', { class: 'small' }, () => ctx.act({ type: 'transfer', to: id })),
            b('Kick', { class: 'small danger' }, () => ctx.act({ type: 'kick', player: id })),
            b('Ban', { class: 'small danger' }, () => ctx.act({ type: 'kick', player: id, ban: true })),
          ] : null)));
      keyed(played, JSON.stringify(v.history), () => [...v.history].reverse().map((g) => {
        const first = g.ranking?.[0] || [];
        const result = !g.ranking ? 'not finished' : first.length === 1 ? `${name(first[0])} won` : 'a draw';
        return h('li', { 'data-round': g.round }, `Game ${g.round}: ${gameName(g.game)} — ${result}`);
      }));
    },
  };
}
