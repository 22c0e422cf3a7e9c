/**
 * Canonical bytes for an engine's per-block extra keys (multimodal identifiers,
 * prompt-embedding hashes, …), folded into the block key after the tokens.
 *
 * The encoding is a small tagged format, stable across processes and versions:
 * integers encode by value whatever their JS type (msgpack gives small ints as
 * numbers and large ones as bigints, and both must hash alike), strings and
 * bytes are length-prefixed, arrays are counted, maps are key-sorted.
 */

const T_NULL = 0;
const T_STR = 1;
const T_NUM = 2;
const T_BYTES = 3;
const T_ARRAY = 4;
const T_FALSE = 5;
const T_TRUE = 6;
const T_MAP = 7;

const utf8 = new TextEncoder();

export class ExtraKeyError extends Error {
  override name = 'ExtraKeyError';
}

export function encodeExtraKeys(value: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  write(value, parts, 0);
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

function header(tag: number, len: number): Uint8Array {
  const h = new Uint8Array(5);
  h[0] = tag;
  new DataView(h.buffer).setUint32(1, len, true);
  return h;
}

function write(v: unknown, parts: Uint8Array[], depth: number): void {
  if (depth > 16) throw new ExtraKeyError('extra keys nested deeper than 16 levels');
  if (v === null || v === undefined) {
    parts.push(Uint8Array.of(T_NULL));
  } else if (typeof v === 'string') {
    const b = utf8.encode(v);
    parts.push(header(T_STR, b.byteLength), b);
  } else if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new ExtraKeyError(`extra key number is not finite: ${v}`);
    }
    const b = utf8.encode(String(v));
    parts.push(header(T_NUM, b.byteLength), b);
  } else if (typeof v === 'boolean') {
    parts.push(Uint8Array.of(v ? T_TRUE : T_FALSE));
  } else if (v instanceof Uint8Array) {
    parts.push(header(T_BYTES, v.byteLength), v);
  } else if (Array.isArray(v)) {
    parts.push(header(T_ARRAY, v.length));
    for (const item of v) write(item, parts, depth + 1);
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    parts.push(header(T_MAP, entries.length));
    for (const [k, item] of entries) {
      write(k, parts, depth + 1);
      write(item, parts, depth + 1);
    }
  } else {
    throw new ExtraKeyError(`extra key of unsupported type ${typeof v}`);
  }
}
