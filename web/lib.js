// Small shared helpers for the web UI: DOM building, JSON Patch, formatting, dice and cards.

export const $ = (s, root = document) => root.querySelector(s);

/** h('button', {class: 'x', onclick: f}, 'text', child…) → an element. */
export function h(tag, attrs = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else if (v != null && v !== false) el.setAttribute(k, v);
  }
  el.append(...kids.flat(Infinity).filter((k) => k != null && k !== false));
  return el;
}

/** Replace `el`'s children only when `key` changed (keeps focus and scroll where nothing moved). */
export function keyed(el, key, build) {
  if (el.dataset.key === key) return false;
  el.dataset.key = key;
  el.replaceChildren(...[build()].flat(Infinity).filter((k) => k != null && k !== false));
  return true;
}

export const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);
export const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
export const money = (cents) => {
  const neg = cents < 0, c = Math.abs(cents);
  return `${neg ? '−' : ''}${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
};
export const chips = (n) => Number(n || 0).toLocaleString('en-US');

/** Seconds left until `deadline` (epoch ms; rooms use the server's wall clock). */
export const secondsLeft = (deadline) => Math.max(0, Math.ceil((deadline - Date.now()) / 1000));

// ---------- JSON Patch (RFC 6902) ----------
function pointer(p) {
  if (p === '') return [];
  if (typeof p !== 'string' || p[0] !== '/') throw new Error(`bad pointer ${p}`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
function index(arr, k, adding) {
  if (adding && k === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(k)) throw new Error(`bad array index ${k}`);
  const i = Number(k);
  if (i > arr.length || (!adding && i === arr.length)) throw new Error(`index ${k} out of range`);
  return i;
}
function walk(doc, keys) {
  let cur = doc;
  for (const k of keys) {
    if (Array.isArray(cur)) cur = cur[index(cur, k, false)];
    else if (cur !== null && typeof cur === 'object' && Object.hasOwn(cur, k)) cur = cur[k];
    else throw new Error(`no value at /${keys.join('/')}`);
  }
  return cur;
}
function put(doc, keys, value, insert) {
  if (!keys.length) return value;
  const parent = walk(doc, keys.slice(0, -1)), k = keys[keys.length - 1];
  if (Array.isArray(parent)) {
    const i = index(parent, k, insert);
    if (insert) parent.splice(i, 0, value); else parent[i] = value;
  } else if (parent !== null && typeof parent === 'object') {
    if (!insert && !Object.hasOwn(parent, k)) throw new Error(`no member ${k}`);
    Object.defineProperty(parent, k, { value, writable: true, enumerable: true, configurable: true });
  } else throw new Error('parent is not a container');
  return doc;
}
function remove(doc, keys) {
  if (!keys.length) throw new Error('cannot remove the root');
  const parent = walk(doc, keys.slice(0, -1)), k = keys[keys.length - 1];
  if (Array.isArray(parent)) parent.splice(index(parent, k, false), 1);
  else if (parent !== null && typeof parent === 'object' && Object.hasOwn(parent, k)) delete parent[k];
  else throw new Error(`no member ${k}`);
  return doc;
}
export function equal(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
}
/** Apply `ops` to `doc` (mutating it) and return the result; throws if any op fails. */
export function applyPatch(doc, ops) {
  for (const op of ops) {
    const keys = pointer(op.path);
    switch (op.op) {
      case 'add': doc = put(doc, keys, structuredClone(op.value), true); break;
      case 'replace': doc = put(doc, keys, structuredClone(op.value), false); break;
      case 'remove': doc = remove(doc, keys); break;
      case 'copy': doc = put(doc, keys, structuredClone(walk(doc, pointer(op.from))), true); break;
      case 'move': {
        if (op.path.startsWith(op.from + '/')) throw new Error('cannot move a value into itself');
        const from = pointer(op.from), value = walk(doc, from);
        doc = put(remove(doc, from), keys, value, true); break;
      }
      case 'test': if (!equal(walk(doc, keys), op.value)) throw new Error(`test failed at ${op.path}`); break;
      default: throw new Error(`unknown op ${op.op}`);
    }
  }
  return doc;
}

// ---------- dice ----------
const PIPS = { 1: [4], 2: [0, 8], 3: [0, 4, 8], 4: [0, 2, 6, 8], 5: [0, 2, 4, 6, 8], 6: [0, 2, 3, 5, 6, 8] };
/** The face of a die: a 3×3 grid of pips (decorative; callers label it). */
export function dieFace(n) {
  const pips = new Set(PIPS[n] || []);
  return h('span', { class: 'die-face', 'aria-hidden': 'true', 'data-face': n },
    Array.from({ length: 9 }, (_, i) => h('span', { class: pips.has(i) ? 'pip on' : 'pip' })));
}

// ---------- cards ----------
const SUITS = { s: ['♠', 'spades'], h: ['♥', 'hearts'], d: ['♦', 'diamonds'], c: ['♣', 'clubs'] };
const RANKS = { T: '10', J: 'J', Q: 'Q', K: 'K', A: 'A' };
const RANK_NAMES = { A: 'ace', K: 'king', Q: 'queen', J: 'jack', T: 'ten' };
export function cardName(c) {
  const [r, s] = [c[0], c[1]];
  return `${RANK_NAMES[r] || r} of ${SUITS[s]?.[1] || s}`;
}
/** A playing card ("As", "Td"), or a face-down card when `c` is null. */
export function card(c, extra = '') {
  if (!c) return h('span', { class: `pc back ${extra}`, role: 'img', 'aria-label': 'face-down card' });
  const [sym] = SUITS[c[1]] || ['?'];
  return h('span', { class: `pc suit-${c[1]} ${extra}`, role: 'img', 'aria-label': cardName(c), title: cardName(c) },
    h('span', { class: 'rank' }, RANKS[c[0]] || c[0]), h('span', { class: 'suit' }, sym));
}
