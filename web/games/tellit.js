// Tell-It: write the story at the head of your queue seeing only its latest part; vote to
// finish, restart or kick; read every story in full at the end.
import { h, keyed, plural } from '../lib.js';

export default function mount(el, ctx) {
  const writers = h('ul', { class: 'list writer-list', 'aria-label': 'Writers' });
  const prompt = h('div', { 'aria-live': 'polite' });
  const text = h('textarea', { id: 'tellit-text', rows: '3', class: 'grow', placeholder: 'Write the next part…' });
  const count = h('span', { class: 'small muted', 'aria-live': 'off' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit');
  const form = h('form', { class: 'panel', onsubmit: (e) => { e.preventDefault(); const t = text.value.trim(); if (t) { ctx.act({ type: 'submit', text: t }); text.value = ''; count.textContent = ''; } } },
    h('label', { for: 'tellit-text' }, 'Your part'), h('div', { class: 'row' }, text), h('div', { class: 'spread' }, count, submit));
  text.addEventListener('input', () => { count.textContent = `${[...text.value.trim()].length} / ${last?.max_chars ?? ''}`; });
  text.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } });
  const b = (label, cls, onclick) => h('button', { type: 'button', class: cls, onclick }, label);
  const start = b('Start writing', 'primary', () => ctx.act({ type: 'start' }));
  const finish = b('Vote to finish', 'toggle', () => ctx.act({ type: 'vote_finish', vote: finish.getAttribute('aria-pressed') !== 'true' }));
  const restart = b('Vote to restart', 'toggle', () => ctx.act({ type: 'vote_restart', vote: restart.getAttribute('aria-pressed') !== 'true' }));
  const actions = h('div', { class: 'actions' }, start, finish, restart);
  const finals = h('div', {});
  let last = null;
  el.replaceChildren(prompt, form, actions, h('div', { class: 'panel' }, h('h3', {}, 'Writers'), writers), finals);
  return {
    update(v) {
      last = v;
      const me = ctx.me, mine = ctx.seated && v.writers[me] && !v.kicked?.[me] ? v.me : null;
      const n = (id) => v.writers[id]?.name || ctx.name(id) || 'someone';
      const nw = v.order.length;
      let text0, tone = '';
      if (v.phase === 'waiting') text0 = nw < v.min_players ? `Waiting for writers (${nw} of ${v.min_players})` : 'Ready to start';
      else if (v.phase === 'ended') text0 = 'The stories are finished';
      else if (!mine) text0 = `${plural(v.stories, 'story', 'stories')}, ${plural(v.parts, 'part')} written`;
      else if (mine.next === 'wait') text0 = 'Waiting for a story to reach you…';
      else { text0 = mine.next === 'start' ? 'Begin your story' : 'Continue the story'; tone = 'go'; }
      ctx.status(text0, tone, `Game ${v.round} · ${plural(nw, 'writer')} · up to ${v.max_chars} characters${ctx.seated ? '' : ctx.live ? ' · watching' : ''}`);
      keyed(prompt, JSON.stringify([v.phase, mine]), () => {
        if (v.phase !== 'writing' || !mine) return null;
        if (mine.next === 'start') return h('p', {}, 'Write the first sentence of a new story. It will travel round the table.');
        if (mine.next === 'wait') return h('p', { class: 'muted' }, 'Nothing to continue right now: the next story arrives when your neighbour writes.');
        const c = mine.current;
        return h('div', {}, h('p', { class: 'small muted' }, `${c.owner_name}’s story · ${plural(c.turns, 'part')} · ${plural(c.words, 'word')}${mine.queued > 1 ? ` · ${mine.queued - 1} more waiting for you` : ''}`),
          c.last ? h('blockquote', { class: 'story-last' }, c.last.text, h('span', { class: 'part-author' }, `— ${c.last.author_name}`)) : null);
      });
      form.hidden = !(v.phase === 'writing' && mine && mine.next !== 'wait');
      text.maxLength = v.max_chars;
      text.placeholder = mine?.next === 'start' ? 'Once upon a time…' : 'And then…';
      start.hidden = !(ctx.seated && v.phase === 'waiting'); start.disabled = nw < v.min_players;
      finish.hidden = !(mine && v.phase === 'writing');
      const fin = v.finish_votes.includes(me), rst = v.restart_votes.includes(me);
      finish.setAttribute('aria-pressed', String(fin)); finish.textContent = `${fin ? '✓ Voted to finish' : 'Vote to finish'} · ${v.finish_votes.length}/${nw}`;
      restart.hidden = !(mine && v.phase !== 'waiting');
      restart.setAttribute('aria-pressed', String(rst)); restart.textContent = `${rst ? '✓ Voted to restart' : 'Vote to restart'} · ${v.restart_votes.length}/${nw}`;
      keyed(writers, JSON.stringify([v.writers, v.order, me, ctx.seated, v.kicked]), () => v.order.map((id) => {
        const w = v.writers[id], voted = w.kick_votes.includes(me);
        return h('li', { 'data-player': id },
          h('span', { class: 'grow' }, h('strong', {}, w.name), id === me ? h('span', { class: 'muted' }, ' (you)') : null, ' ',
            !w.connected ? h('span', { class: 'badge bad' }, 'away') : null,
            h('span', { class: 'small muted' }, ` ${w.started ? 'started a story' : 'not started'} · ${w.queued} queued`),
            w.kick_votes.length ? h('span', { class: 'small' }, ` · ${plural(w.kick_votes.length, 'kick vote')}`) : null),
          mine && id !== me ? b(voted ? 'Take back kick vote' : 'Vote to kick', 'small danger', () => ctx.act({ type: 'vote_kick', player: id, vote: !voted })) : null);
      }));
      keyed(finals, JSON.stringify(v.final_stories), () => (v.final_stories ? [h('h2', { class: 'panel-title' }, 'The stories'),
        ...v.final_stories.map((s) => h('article', { class: 'story', 'data-story': s.id },
          h('h3', {}, `${s.owner_name}’s story`),
          h('p', { class: 'small muted' }, `${plural(s.turns, 'part')} · ${plural(s.words, 'word')} · ${Math.max(1, Math.round(s.reading_ms / 1000))} s to read`),
          s.parts.map((p) => h('p', {}, p.text, h('span', { class: 'part-author' }, `— ${p.author_name}`)))))] : null));
    },
  };
}
