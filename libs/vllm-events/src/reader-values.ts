import { Unpackr } from 'msgpackr';
import { VllmDecodeError } from './errors.js';
import { Kind } from './reader.js';
import type { Reader } from './reader.js';

/**
 * Readers of whole values on top of the Reader's primitives: hashes and
 * token ids straight into typed arrays, and values the schema does not model
 * (skipped without recursion, or handed to msgpackr).
 */

const generic = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true, useRecords: false });
const TWO_32 = 0x1_0000_0000;

/**
 * A block hash into out[2j], out[2j+1]: any msgpack int (negative ones as
 * two's complement) or bytes (the last 8, big-endian).
 */
export function readHash(r: Reader, out: Uint32Array, j: number, path: string, index = -1): void {
  if (r.pos >= r.end) r.truncated(path);
  const b = r.buf[r.pos]!;
  const p = r.pos;
  if (b === 0xcf || b === 0xd3) {
    r.need(9, path);
    out[2 * j + 1] = r.u32(p + 1);
    out[2 * j] = r.u32(p + 5);
    r.pos += 9;
    return;
  }
  if (b >= 0xc4 && b <= 0xc6) {
    const h = b === 0xc4 ? 2 : b === 0xc5 ? 3 : 5;
    r.need(h, path);
    const n = b === 0xc4 ? r.buf[p + 1]! : b === 0xc5 ? r.u16(p + 1) : r.u32(p + 1);
    r.need(h + n, path);
    if (n === 0) r.fail('wrong-type', path, 'empty bytes hash', index);
    let lo = 0;
    let hi = 0;
    for (let i = p + h + Math.max(0, n - 8); i < p + h + n; i++) {
      hi = ((hi << 8) | (lo >>> 24)) >>> 0;
      lo = ((lo << 8) | r.buf[i]!) >>> 0;
    }
    out[2 * j] = lo;
    out[2 * j + 1] = hi;
    r.pos = p + h + n;
    return;
  }
  if (r.kind(path) !== Kind.Int) r.wrong(path, 'an int or bytes hash', index);
  const v = r.int(path); // ≤ 32 bits wide here
  out[2 * j] = v >>> 0;
  out[2 * j + 1] = v < 0 ? 0xffff_ffff : 0;
}

/** An array of u32 token ids, straight into a Uint32Array. */
export function readTokens(r: Reader, path: string): Uint32Array {
  const n = r.array(path, 'an array of token ids');
  const out = new Uint32Array(n);
  const buf = r.buf;
  const end = r.end;
  let p = r.pos;
  for (let j = 0; j < n; j++) {
    if (p >= end) {
      r.pos = p;
      r.truncated(path);
    }
    const b = buf[p]!;
    if (b <= 0x7f) {
      out[j] = b;
      p += 1;
    } else if (b === 0xcd && p + 3 <= end) {
      out[j] = r.u16(p + 1);
      p += 3;
    } else if (b === 0xce && p + 5 <= end) {
      out[j] = r.u32(p + 1);
      p += 5;
    } else if (b === 0xcc && p + 2 <= end) {
      out[j] = buf[p + 1]!;
      p += 2;
    } else {
      // Rare encodings (signed forms of small values, uint64 zero-extended) and errors.
      r.pos = p;
      const v = r.kind(path) === Kind.Int ? r.int(path) : -1;
      if (!(v >= 0 && v < TWO_32)) r.fail('wrong-type', path, 'token id is not a u32', j);
      out[j] = v;
      p = r.pos;
    }
  }
  r.pos = p;
  return out;
}

/** Skips one value of any type, iteratively (hostile nesting cannot blow the stack). */
export function skipValue(r: Reader, path: string): void {
  let pending = 1;
  while (pending > 0) {
    pending--;
    const k = r.kind(path);
    const p = r.pos;
    const b = r.buf[p]!;
    switch (k) {
      case Kind.Nil:
      case Kind.Bool:
        r.pos++;
        break;
      case Kind.Int: {
        // By header size, with no range check: an unknown field may hold any u64 or i64.
        const h = b <= 0x7f || b >= 0xe0 ? 1 : 1 + (1 << (b & 0x03));
        r.need(h, path);
        r.pos += h;
        break;
      }
      case Kind.Float:
        r.need(b === 0xca ? 5 : 9, path);
        r.pos += b === 0xca ? 5 : 9;
        break;
      case Kind.Str:
        r.tryStr(path);
        break;
      case Kind.Bin: {
        const h = b === 0xc4 ? 2 : b === 0xc5 ? 3 : 5;
        r.need(h, path);
        const n = b === 0xc4 ? r.buf[p + 1]! : b === 0xc5 ? r.u16(p + 1) : r.u32(p + 1);
        r.need(h + n, path);
        r.pos += h + n;
        break;
      }
      case Kind.Array:
        pending += r.tryArray(path);
        break;
      case Kind.Map:
        pending += 2 * r.tryMap(path);
        break;
      case Kind.Ext: {
        let h: number;
        let n: number;
        if (b >= 0xd4 && b <= 0xd8) {
          h = 2;
          n = 1 << (b - 0xd4);
        } else {
          h = b === 0xc7 ? 3 : b === 0xc8 ? 4 : 6;
          r.need(h, path);
          n = b === 0xc7 ? r.buf[p + 1]! : b === 0xc8 ? r.u16(p + 1) : r.u32(p + 1);
        }
        r.need(h + n, path);
        r.pos += h + n;
        break;
      }
    }
  }
}

/** Any value, as msgpackr decodes it (for values the schema does not model). */
export function readValue(r: Reader, path: string): unknown {
  const start = r.pos;
  skipValue(r, path);
  try {
    return generic.unpack(r.buf.subarray(start, r.pos));
  } catch (cause) {
    throw new VllmDecodeError('msgpack', r.path(path), `undecodable value (${String(cause)})`, {
      cause,
    });
  }
}
