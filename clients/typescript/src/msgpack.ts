/**
 * A small, dependency-free MessagePack codec for the JSON-shaped values of the protocol
 * (nil, booleans, integers, floats, strings, arrays, maps), plus bin (as `Uint8Array`) and
 * ext (as {@link MsgPackExt}) when decoding. Integers are written in their smallest form,
 * which is what `rmp-serde` reads into the server's `u64`/`i64` fields; non-integers as
 * float64. Like `JSON.stringify`, `undefined` map values are left out and non-finite numbers
 * become nil. 64-bit integers outside the safe range decode to `bigint`.
 */

/** An ext value this codec does not interpret. */
export class MsgPackExt {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const TWO_32 = 2 ** 32;

class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  head(tag: number, n: number, bytes: 1 | 2 | 4 | 8): void {
    this.ensure(1 + bytes);
    this.buf[this.pos++] = tag;
    switch (bytes) {
      case 1:
        this.view.setUint8(this.pos, n);
        break;
      case 2:
        this.view.setUint16(this.pos, n);
        break;
      case 4:
        this.view.setUint32(this.pos, n);
        break;
      case 8:
        this.view.setFloat64(this.pos, n);
        break;
    }
    this.pos += bytes;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** A length header for str/bin/array/map families. */
  length(n: number, fix: number | null, fixMax: number, tag8: number | null, tag16: number, tag32: number): void {
    if (fix !== null && n <= fixMax) this.u8(fix | n);
    else if (tag8 !== null && n < 0x100) this.head(tag8, n, 1);
    else if (n < 0x10000) this.head(tag16, n, 2);
    else this.head(tag32, n, 4);
  }

  int(v: number): void {
    if (v >= 0) {
      if (v < 0x80) this.u8(v);
      else if (v < 0x100) this.head(0xcc, v, 1);
      else if (v < 0x10000) this.head(0xcd, v, 2);
      else if (v < TWO_32) this.head(0xce, v, 4);
      else {
        this.ensure(9);
        this.buf[this.pos++] = 0xcf;
        this.view.setUint32(this.pos, Math.floor(v / TWO_32));
        this.view.setUint32(this.pos + 4, v % TWO_32);
        this.pos += 8;
      }
    } else if (v >= -32) {
      this.u8(v & 0xff);
    } else if (v >= -0x80) {
      this.ensure(2);
      this.buf[this.pos++] = 0xd0;
      this.view.setInt8(this.pos++, v);
    } else if (v >= -0x8000) {
      this.ensure(3);
      this.buf[this.pos++] = 0xd1;
      this.view.setInt16(this.pos, v);
      this.pos += 2;
    } else if (v >= -0x80000000) {
      this.ensure(5);
      this.buf[this.pos++] = 0xd2;
      this.view.setInt32(this.pos, v);
      this.pos += 4;
    } else {
      this.bigint(BigInt(v));
    }
  }

  bigint(v: bigint): void {
    this.ensure(9);
    if (v >= 0n) {
      if (v > 0xffffffffffffffffn) throw new RangeError('integer too large for MessagePack');
      this.buf[this.pos++] = 0xcf;
      this.view.setBigUint64(this.pos, v);
    } else {
      if (v < -0x8000000000000000n) throw new RangeError('integer too small for MessagePack');
      this.buf[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, v);
    }
    this.pos += 8;
  }

  value(v: unknown, depth: number): void {
    if (depth > 512) throw new RangeError('value nested too deeply for MessagePack');
    switch (typeof v) {
      case 'boolean':
        this.u8(v ? 0xc3 : 0xc2);
        return;
      case 'number':
        if (!Number.isFinite(v)) this.u8(0xc0);
        else if (Number.isSafeInteger(v)) this.int(v === 0 ? 0 : v);
        else this.head(0xcb, v, 8);
        return;
      case 'bigint':
        this.bigint(v);
        return;
      case 'string': {
        const b = utf8Encoder.encode(v);
        this.length(b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
        this.bytes(b);
        return;
      }
      case 'object':
        break;
      default:
        // undefined, functions and symbols: nil, as JSON.stringify writes null in arrays.
        this.u8(0xc0);
        return;
    }
    if (v === null) {
      this.u8(0xc0);
    } else if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
      const b = v instanceof Uint8Array ? v : new Uint8Array(v);
      this.length(b.length, null, 0, 0xc4, 0xc5, 0xc6);
      this.bytes(b);
    } else if (Array.isArray(v)) {
      this.length(v.length, 0x90, 15, null, 0xdc, 0xdd);
      for (const item of v) this.value(item, depth + 1);
    } else if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      this.value((v as { toJSON(): unknown }).toJSON(), depth + 1);
    } else {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).filter((k) => {
        const t = typeof o[k];
        return t !== 'undefined' && t !== 'function' && t !== 'symbol';
      });
      this.length(keys.length, 0x80, 15, null, 0xde, 0xdf);
      for (const k of keys) {
        this.value(k, depth + 1);
        this.value(o[k], depth + 1);
      }
    }
  }
}

/** Encode a value as MessagePack. */
export function encode(value: unknown): Uint8Array {
  const w = new Writer();
  w.value(value, 0);
  return w.buf.slice(0, w.pos);
}

class Reader {
  pos = 0;
  view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('MessagePack data ends early');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  take(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  str(n: number): string {
    return utf8Decoder.decode(this.take(n));
  }
  array(n: number, depth: number): unknown[] {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }
  map(n: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.value(depth + 1);
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') {
        throw new TypeError('MessagePack map key is not a string or number');
      }
      const key = String(k);
      const v = this.value(depth + 1);
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
      } else {
        out[key] = v;
      }
    }
    return out;
  }
  ext(n: number): MsgPackExt {
    this.need(1);
    const type = this.view.getInt8(this.pos++);
    return new MsgPackExt(type, this.take(n).slice());
  }
  value(depth: number): unknown {
    if (depth > 512) throw new RangeError('MessagePack value nested too deeply');
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.take(this.u8()).slice();
      case 0xc5:
        return this.take(this.u16()).slice();
      case 0xc6:
        return this.take(this.u32()).slice();
      case 0xc7:
        return this.ext(this.u8());
      case 0xc8:
        return this.ext(this.u16());
      case 0xc9:
        return this.ext(this.u32());
      case 0xca: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xcb: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd0: {
        this.need(1);
        return this.view.getInt8(this.pos++);
      }
      case 0xd1: {
        this.need(2);
        const v = this.view.getInt16(this.pos);
        this.pos += 2;
        return v;
      }
      case 0xd2: {
        this.need(4);
        const v = this.view.getInt32(this.pos);
        this.pos += 4;
        return v;
      }
      case 0xd3: {
        this.need(8);
        const v = this.view.getBigInt64(this.pos);
        this.pos += 8;
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 0xd4:
        return this.ext(1);
      case 0xd5:
        return this.ext(2);
      case 0xd6:
        return this.ext(4);
      case 0xd7:
        return this.ext(8);
      case 0xd8:
        return this.ext(16);
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        throw new TypeError(`invalid MessagePack byte 0x${b.toString(16)}`);
    }
  }
}

/** Decode one MessagePack value; trailing bytes are an error. */
export function decode(bytes: Uint8Array | ArrayBuffer): unknown {
  const r = new Reader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  const v = r.value(0);
  if (r.pos !== r.buf.length) throw new RangeError('trailing bytes after a MessagePack value');
  return v;
}
