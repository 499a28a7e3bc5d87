/**
 * JSON Patch (RFC 6902) over JSON Pointers (RFC 6901): all six operations, `~0`/`~1` escaping,
 * the array end marker `-`, and `test`. A patch applies atomically: {@link applyPatch} works
 * on a copy and returns it, so on any failure the input is left exactly as it was.
 */

/** A patch that could not be applied (or is malformed). */
export class PatchError extends Error {
  override readonly name = 'PatchError';
  /** Index of the failing operation in the patch (-1 when the patch itself is malformed). */
  readonly index: number;
  readonly operation: unknown;

  constructor(message: string, index: number, operation?: unknown) {
    super(index >= 0 ? `operation ${index}: ${message}` : message);
    this.index = index;
    this.operation = operation;
  }
}

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Set an own property; `__proto__` becomes a plain own key, never the prototype. */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

/** Deep copy of a JSON value (arrays and plain objects; everything else is shared). */
export function deepClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(deepClone) as T;
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) setOwn(out, k, deepClone(value[k]));
    return out as T;
  }
  return value;
}

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Split a JSON Pointer into unescaped reference tokens (`""` is the whole document). */
export function parsePointer(pointer: string): string[] {
  if (typeof pointer !== 'string') throw new PatchError('a JSON pointer must be a string', -1);
  if (pointer === '') return [];
  if (pointer[0] !== '/') throw new PatchError(`JSON pointer ${JSON.stringify(pointer)} does not start with "/"`, -1);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        throw new PatchError(`JSON pointer ${JSON.stringify(pointer)} has a bad escape`, -1);
      }
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** Escape one reference token for use in a JSON Pointer. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** An array index token: `0` or digits without a leading zero. */
function arrayIndex(token: string, length: number, allowEnd: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`${JSON.stringify(token)} is not an array index`);
  const i = Number(token);
  if (i > length || (!allowEnd && i === length)) throw new Error(`index ${i} is out of bounds (length ${length})`);
  return i;
}

/** The value at `tokens`, which must exist. */
function get(doc: unknown, tokens: string[]): unknown {
  let cur = doc;
  for (const token of tokens) {
    if (Array.isArray(cur)) {
      cur = cur[arrayIndex(token, cur.length, false)];
    } else if (isObject(cur)) {
      if (!hasOwn(cur, token)) throw new Error(`no member ${JSON.stringify(token)}`);
      cur = cur[token];
    } else {
      throw new Error(`cannot look up ${JSON.stringify(token)} in a ${cur === null ? 'null' : typeof cur}`);
    }
  }
  return cur;
}

function add(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = get(doc, tokens.slice(0, -1));
  const key = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length, true), 0, value);
  } else if (isObject(parent)) {
    setOwn(parent, key, value);
  } else {
    throw new Error('the target\'s parent is not a container');
  }
  return doc;
}

function remove(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw new Error('cannot remove the whole document');
  const parent = get(doc, tokens.slice(0, -1));
  const key = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(key, parent.length, false), 1);
  } else if (isObject(parent)) {
    if (!hasOwn(parent, key)) throw new Error(`no member ${JSON.stringify(key)} to remove`);
    delete parent[key];
  } else {
    throw new Error('the target\'s parent is not a container');
  }
  return doc;
}

function replace(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = get(doc, tokens.slice(0, -1));
  const key = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    parent[arrayIndex(key, parent.length, false)] = value;
  } else if (isObject(parent)) {
    if (!hasOwn(parent, key)) throw new Error(`no member ${JSON.stringify(key)} to replace`);
    setOwn(parent, key, value);
  } else {
    throw new Error('the target\'s parent is not a container');
  }
  return doc;
}

function field(op: Record<string, unknown>, name: 'path' | 'from'): string {
  const v = op[name];
  if (typeof v !== 'string') throw new Error(`"${name}" is missing or not a string`);
  return v;
}

function valueOf(op: Record<string, unknown>): unknown {
  if (!hasOwn(op, 'value') || op.value === undefined) throw new Error('"value" is missing');
  return deepClone(op.value);
}

/** Apply one operation to `doc` in place (containers may be mutated); returns the new root. */
function applyOperation(doc: unknown, op: Record<string, unknown>): unknown {
  const path = field(op, 'path');
  const tokens = parsePointer(path);
  switch (op.op) {
    case 'add':
      return add(doc, tokens, valueOf(op));
    case 'remove':
      return remove(doc, tokens);
    case 'replace':
      return replace(doc, tokens, valueOf(op));
    case 'move': {
      const from = field(op, 'from');
      const fromTokens = parsePointer(from);
      if (from === path) {
        get(doc, fromTokens);
        return doc;
      }
      if (path.startsWith(from + '/')) throw new Error('cannot move a value into one of its own children');
      const value = get(doc, fromTokens);
      return add(remove(doc, fromTokens), tokens, value);
    }
    case 'copy': {
      const value = deepClone(get(doc, parsePointer(field(op, 'from'))));
      return add(doc, tokens, value);
    }
    case 'test': {
      const expected = valueOf(op);
      if (!deepEqual(get(doc, tokens), expected)) throw new Error(`test failed at ${JSON.stringify(path)}`);
      return doc;
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(op.op)}`);
  }
}

/**
 * Apply an RFC 6902 patch and return the result. The input document is never modified: the
 * patch runs on a copy, so a patch that fails part-way (a `test` that does not hold, a missing
 * path, a malformed operation) throws a {@link PatchError} and changes nothing.
 */
export function applyPatch<T>(doc: T, patch: readonly unknown[]): T {
  if (!Array.isArray(patch)) throw new PatchError('a patch must be an array of operations', -1);
  let root: unknown = deepClone(doc);
  patch.forEach((op, index) => {
    if (!isObject(op)) throw new PatchError('an operation must be an object', index, op);
    try {
      root = applyOperation(root, op);
    } catch (err) {
      throw new PatchError(err instanceof Error ? err.message : String(err), index, op);
    }
  });
  return root as T;
}
