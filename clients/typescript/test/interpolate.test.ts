import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Interpolator, lerp } from '@arbiter/client';

describe('Interpolator', () => {
  it('answers nothing before the first view and holds a single view', () => {
    const i = new Interpolator<number>({ delayMs: 0 });
    assert.equal(i.sample(100), null);
    i.push(1, 100);
    assert.deepEqual(i.sample(50), { from: 1, to: 1, alpha: 1 });
    assert.deepEqual(i.sample(500), { from: 1, to: 1, alpha: 1 });
  });

  it('renders delayMs in the past, between the two views around that time', () => {
    const i = new Interpolator<number>({ delayMs: 66 });
    i.push(10, 1000);
    i.push(20, 1033);
    i.push(30, 1066);
    // 1082 - 66 = 1016: about half way from the first view to the second.
    const s = i.sample(1082.5)!;
    assert.equal(s.from, 10);
    assert.equal(s.to, 20);
    assert.ok(Math.abs(s.alpha - 0.5) < 1e-9, `alpha ${s.alpha}`);
    assert.equal(lerp(s.from, s.to, s.alpha), 15);
    // Past the newest view it is held rather than extrapolated.
    assert.deepEqual(i.sample(2000), { from: 30, to: 30, alpha: 1 });
    // Before the oldest: the oldest, not yet moving.
    assert.deepEqual(i.sample(1000), { from: 10, to: 20, alpha: 0 });
  });

  it('keeps only the latest views, and a late timestamp never goes back in time', () => {
    const i = new Interpolator<number>({ delayMs: 0, keep: 2 });
    i.push(1, 0);
    i.push(2, 10);
    i.push(3, 5); // arrived out of clock order: counted at 10
    assert.deepEqual(i.sample(0), { from: 2, to: 3, alpha: 0 });
    i.clear();
    assert.equal(i.sample(0), null);
  });
});
