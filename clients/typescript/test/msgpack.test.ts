import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msgpack, MsgPackExt } from '@arbiter/client';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('MessagePack codec', () => {
  it('writes the forms rmp-serde writes and reads', () => {
    // {"t":"ping","n":1}: fixmap(2), fixstr keys, positive fixint.
    assert.equal(hex(msgpack.encode({ t: 'ping', n: 1 })), '82a174a470696e67a16e01');
    assert.equal(hex(msgpack.encode(null)), 'c0');
    assert.equal(hex(msgpack.encode([true, false])), '92c3c2');
    assert.equal(hex(msgpack.encode(-1)), 'ff');
    assert.equal(hex(msgpack.encode(-33)), 'd0df');
    assert.equal(hex(msgpack.encode(128)), 'cc80');
    assert.equal(hex(msgpack.encode(65536)), 'ce00010000');
    assert.equal(hex(msgpack.encode(2 ** 32)), 'cf0000000100000000');
    assert.equal(hex(msgpack.encode(1.5)), 'cb3ff8000000000000');
    assert.equal(hex(msgpack.encode({ a: undefined, b: 1 })), '81a16201');
  });

  it('round-trips values of every size class', () => {
    const values: unknown[] = [
      0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
      -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
      0.5, -2.25, 1e300, '', 'x'.repeat(31), 'x'.repeat(32), 'y'.repeat(255), 'z'.repeat(256), 'é😀'.repeat(30000),
      [], Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70000 }, () => null),
      Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])),
      Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, [i, { d: 'deep' }]])),
      { board: [null, 'X', 'O'], players: { p_1: { mark: 'X', name: 'Ada' } }, turn: 'p_1', over: false },
    ];
    for (const v of values) assert.deepStrictEqual(msgpack.decode(msgpack.encode(v)), v);
  });

  it('handles 64-bit integers, binary and ext', () => {
    assert.equal(msgpack.decode(msgpack.encode(2n ** 63n)), 2n ** 63n);
    assert.equal(msgpack.decode(msgpack.encode(-(2n ** 63n))), -(2n ** 63n));
    assert.equal(msgpack.decode(Uint8Array.from([0xcf, 0, 0, 0, 0, 0, 0, 0, 5])), 5);
    assert.equal(msgpack.decode(Uint8Array.from([0xca, 0x3f, 0xc0, 0, 0])), 1.5);
    assert.deepStrictEqual(msgpack.decode(msgpack.encode(Uint8Array.from([1, 2, 3]))), Uint8Array.from([1, 2, 3]));
    const ext = msgpack.decode(Uint8Array.from([0xd4, 0x07, 0x2a]));
    assert.ok(ext instanceof MsgPackExt);
    assert.equal(ext.type, 7);
    assert.deepStrictEqual([...ext.data], [42]);
  });

  it('keeps "__proto__" keys as data', () => {
    const v = msgpack.decode(msgpack.encode(JSON.parse('{"__proto__":{"x":1}}'))) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepStrictEqual(Object.keys(v), ['__proto__']);
  });

  it('refuses truncated data, trailing bytes and the never-used byte', () => {
    assert.throws(() => msgpack.decode(Uint8Array.from([0x92, 0x01])), RangeError);
    assert.throws(() => msgpack.decode(Uint8Array.from([0x01, 0x02])), RangeError);
    assert.throws(() => msgpack.decode(Uint8Array.from([0xc1])), TypeError);
  });
});
