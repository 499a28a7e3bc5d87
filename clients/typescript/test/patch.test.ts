import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { applyPatch, deepClone, deepEqual, escapePointerToken, parsePointer, PatchError } from '@arbiter/client';

interface Case {
  comment?: string;
  doc: unknown;
  patch: unknown[];
  expected?: unknown;
  error?: string;
  disabled?: boolean;
}

const require = createRequire(import.meta.url);
function load(file: string): Case[] {
  return JSON.parse(readFileSync(require.resolve(`json-patch-test-suite/${file}`), 'utf8')) as Case[];
}

for (const file of ['tests.json', 'spec_tests.json']) {
  describe(`json-patch-test-suite ${file}`, () => {
    load(file).forEach((c, i) => {
      const name = `#${i} ${c.comment ?? c.error ?? JSON.stringify(c.patch)}`;
      it(name, { skip: c.disabled ? 'disabled in the suite' : false }, () => {
        const before = deepClone(c.doc);
        if (c.error !== undefined) {
          assert.throws(() => applyPatch(c.doc, c.patch), PatchError);
        } else {
          const out = applyPatch(c.doc, c.patch);
          if ('expected' in c) assert.deepStrictEqual(out, c.expected);
        }
        // Atomic and pure: the input is never modified, whatever happened.
        assert.deepStrictEqual(c.doc, before);
      });
    });
  });
}

describe('applyPatch beyond the suite', () => {
  it('applies all six operations with escaped pointers and the array end marker', () => {
    const doc = { 'a/b': { 'm~n': [1, 2] }, list: ['x'] };
    const out = applyPatch(doc, [
      { op: 'add', path: '/a~1b/m~0n/-', value: 3 },
      { op: 'add', path: '/list/0', value: 'w' },
      { op: 'copy', from: '/a~1b/m~0n', path: '/copied' },
      { op: 'move', from: '/list/1', path: '/moved' },
      { op: 'replace', path: '/copied/0', value: 9 },
      { op: 'remove', path: '/list/0' },
      { op: 'test', path: '/a~1b/m~0n', value: [1, 2, 3] },
    ]);
    assert.deepStrictEqual(out, { 'a/b': { 'm~n': [1, 2, 3] }, list: [], copied: [9, 2, 3], moved: 'x' });
    assert.deepStrictEqual(doc, { 'a/b': { 'm~n': [1, 2] }, list: ['x'] });
  });

  it('is atomic: a failing later operation leaves nothing of the earlier ones', () => {
    const doc = { n: 1, board: [null, null] };
    assert.throws(
      () =>
        applyPatch(doc, [
          { op: 'replace', path: '/n', value: 2 },
          { op: 'replace', path: '/board/0', value: 'X' },
          { op: 'test', path: '/n', value: 3 },
        ]),
      PatchError,
    );
    assert.deepStrictEqual(doc, { n: 1, board: [null, null] });
  });

  it('reports the failing operation', () => {
    try {
      applyPatch({}, [{ op: 'add', path: '/a', value: 1 }, { op: 'remove', path: '/nope' }]);
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof PatchError);
      assert.equal(e.index, 1);
    }
  });

  it('never touches the prototype (a "__proto__" member stays data)', () => {
    const out = applyPatch<Record<string, unknown>>({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepStrictEqual(Object.keys(out), ['__proto__']);
  });

  it('refuses bad pointers, leading zeros and moves into a child', () => {
    assert.throws(() => parsePointer('a/b'), PatchError);
    assert.throws(() => parsePointer('/a~2'), PatchError);
    assert.deepStrictEqual(parsePointer('/a~1b/~0/'), ['a/b', '~', '']);
    assert.equal(escapePointerToken('a/~b'), 'a~1~0b');
    assert.throws(() => applyPatch({ a: [1, 2] }, [{ op: 'replace', path: '/a/01', value: 0 }]), PatchError);
    assert.throws(() => applyPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]), PatchError);
    assert.throws(() => applyPatch({ a: 1 }, [{ op: 'bogus', path: '/a' }]), PatchError);
    assert.throws(() => applyPatch({ a: 1 }, [{ op: 'add', path: '/b' }]), PatchError);
  });

  it('compares structurally in test (key order, numbers)', () => {
    assert.ok(deepEqual({ a: [1, { b: 2, c: 3 }] }, { a: [1, { c: 3, b: 2 }] }));
    assert.ok(!deepEqual([1], { 0: 1 }));
    assert.ok(!deepEqual({ a: undefined }, { b: undefined }));
  });
});
