/**
 * Smooth drawing for rooms that tick (a `snake` round, any game whose server ticks at a fixed
 * rate). The server sends one view per tick, 30 a second; a page that draws 60 times a second
 * should not jump from one to the next. An {@link Interpolator} keeps the latest views with the
 * time each arrived and, for a render time, answers the two views around it and how far
 * between them it is; rendering a little in the past (`delayMs`, by default two ticks) means
 * there is nearly always a later view to move towards, even when a tick arrives late.
 *
 * It only buffers and times: what to blend is the game's (positions with {@link lerp}, cells
 * stepped at `alpha = 1`). Prediction of the player's own inputs stays with {@link Room.predict}.
 *
 * ```ts
 * const interp = new Interpolator<SnakeView>({ delayMs: 66 });
 * room.on('view', (view) => interp.push(view));
 * function frame(now: number) {
 *   const s = interp.sample(now);
 *   if (s) draw(s.from, s.to, s.alpha);
 *   requestAnimationFrame(frame);
 * }
 * ```
 */
export interface InterpolatorOptions {
  /** How far in the past to render, in ms (default 66: two ticks at 30 Hz). */
  delayMs?: number;
  /** How many views to keep (default 8). */
  keep?: number;
}

/** The two views around a render time and the fraction of the way from `from` to `to`. */
export interface Sample<V> {
  from: V;
  to: V;
  /** 0 at `from`, 1 at `to`; 1 when the render time is past the newest view (it is held). */
  alpha: number;
}

export class Interpolator<V> {
  readonly delayMs: number;
  readonly #keep: number;
  readonly #views: { at: number; view: V }[] = [];

  constructor(options: InterpolatorOptions = {}) {
    this.delayMs = Math.max(0, options.delayMs ?? 66);
    this.#keep = Math.max(2, options.keep ?? 8);
  }

  /** A view that just arrived (at `at`, by default now); views must come in arrival order. */
  push(view: V, at: number = now()): void {
    const last = this.#views.at(-1);
    this.#views.push({ at: last ? Math.max(at, last.at) : at, view });
    if (this.#views.length > this.#keep) this.#views.splice(0, this.#views.length - this.#keep);
  }

  /** Forget every view (after a resync, or when the room is left). */
  clear(): void {
    this.#views.length = 0;
  }

  /** The views around `now - delayMs`, or `null` before the first view. */
  sample(at: number = now()): Sample<V> | null {
    const views = this.#views;
    if (views.length === 0) return null;
    const t = at - this.delayMs;
    if (t <= views[0].at) {
      // Not past the oldest view yet: it, about to move towards the next (if there is one).
      const next = views[1] ?? views[0];
      return { from: views[0].view, to: next.view, alpha: views.length === 1 ? 1 : 0 };
    }
    for (let i = 1; i < views.length; i++) {
      const a = views[i - 1], b = views[i];
      if (t <= b.at) {
        const span = b.at - a.at;
        return { from: a.view, to: b.view, alpha: span > 0 ? (t - a.at) / span : 1 };
      }
    }
    const newest = views[views.length - 1].view;
    return { from: newest, to: newest, alpha: 1 };
  }
}

/** `a` moved the fraction `t` of the way to `b`. */
export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
