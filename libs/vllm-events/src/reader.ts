import { VllmDecodeError } from './errors.js';
import type { NameSet } from './name-set.js';

const utf8 = new TextDecoder();
const TWO_32 = 0x1_0000_0000;
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);

/** msgpack value kinds the schema reader distinguishes. */
export const enum Kind {
  Nil,
  Bool,
  Int,
  Float,
  Str,
  Bin,
  Array,
  Map,
  Ext,
}

/**
 * A cursor over one msgpack document that reads the vLLM schema straight into
 * typed arrays: no intermediate JS arrays of tokens, no bigint per hash, no
 * objects for maps. Values the schema does not model (extra keys, unknown
 * fields) are skipped iteratively or handed to msgpackr.
 *
 * Every method throws VllmDecodeError and nothing else; lengths are checked
 * against the bytes left before anything is allocated.
 */
export class Reader {
  pos = 0;
  /** Index of the event being read, or -1 at batch level: error paths are built from it lazily. */
  event = -1;
  readonly end: number;

  constructor(readonly buf: Uint8Array) {
    this.end = buf.byteLength;
  }

  // Big-endian reads by hand: a DataView per payload costs more than the small batches it reads.
  u16(p: number): number {
    return (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u32(p: number): number {
    const b = this.buf;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  private f64(p: number): number {
    for (let i = 0; i < 8; i++) F64_BYTES[i] = this.buf[p + 7 - i]!;
    return F64[0]!;
  }

  private f32(p: number): number {
    for (let i = 0; i < 4; i++) F32_BYTES[i] = this.buf[p + 3 - i]!;
    return F32[0]!;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The JSON-path of a field, built only when an error needs it. */
  path(field: string, index = -1): string {
    const base = this.event < 0 ? '$' : `$.events[${this.event}]`;
    const f = field === '' ? base : field.startsWith('[') ? base + field : `${base}.${field}`;
    return index < 0 ? f : `${f}[${index}]`;
  }

  fail(reason: VllmDecodeError['reason'], field: string, message: string, index = -1): never {
    throw new VllmDecodeError(reason, this.path(field, index), message);
  }

  truncated(field: string): never {
    return this.fail('msgpack', field, `payload ends early (byte ${this.pos} of ${this.end})`);
  }

  wrong(field: string, expected: string, index = -1): never {
    return this.fail(
      'wrong-type',
      field,
      `expected ${expected}, got ${kindName(this.kind(field))}`,
      index,
    );
  }

  /**
   * If the next value is a string equal to one of `names` (as UTF-8 bytes),
   * consumes it and returns its index; if it is another string, consumes it
   * and returns -1; if it is not a string, consumes nothing and returns -2.
   * No string is created.
   */
  match(field: string, names: NameSet): number {
    if (this.pos >= this.end) this.truncated(field);
    const b = this.buf[this.pos]!;
    let n: number;
    let h: number;
    if (b >= 0xa0 && b <= 0xbf) {
      n = b & 0x1f;
      h = 1;
    } else if (b === 0xd9) {
      this.need(2, field);
      n = this.buf[this.pos + 1]!;
      h = 2;
    } else if (b === 0xda) {
      this.need(3, field);
      n = this.u16(this.pos + 1);
      h = 3;
    } else if (b === 0xdb) {
      this.need(5, field);
      n = this.u32(this.pos + 1);
      h = 5;
    } else {
      return -2;
    }
    this.need(h + n, field);
    const start = this.pos + h;
    this.pos = start + n;
    return names.find(this.buf, start, n);
  }

  need(n: number, path: string): void {
    if (this.pos + n > this.end) this.truncated(path);
  }

  kind(path: string): Kind {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    if (b <= 0x7f || b >= 0xe0) return Kind.Int;
    if (b <= 0x8f) return Kind.Map;
    if (b <= 0x9f) return Kind.Array;
    if (b <= 0xbf) return Kind.Str;
    switch (b) {
      case 0xc0:
        return Kind.Nil;
      case 0xc2:
      case 0xc3:
        return Kind.Bool;
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return Kind.Bin;
      case 0xca:
      case 0xcb:
        return Kind.Float;
      case 0xd9:
      case 0xda:
      case 0xdb:
        return Kind.Str;
      case 0xdc:
      case 0xdd:
        return Kind.Array;
      case 0xde:
      case 0xdf:
        return Kind.Map;
      case 0xc1:
        return this.fail('msgpack', path, `reserved byte 0xc1 at ${this.pos}`);
      default:
        return b >= 0xcc && b <= 0xd3 ? Kind.Int : Kind.Ext;
    }
  }

  isNil(): boolean {
    return this.pos < this.end && this.buf[this.pos] === 0xc0;
  }

  /** Consumes a nil if there is one. */
  nil(): boolean {
    if (this.isNil()) {
      this.pos++;
      return true;
    }
    return false;
  }

  /** Length of an array header, or -1 (consuming nothing) if the value is not an array. */
  tryArray(path: string): number {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    let n: number;
    if (b >= 0x90 && b <= 0x9f) {
      n = b & 0x0f;
      this.pos++;
    } else if (b === 0xdc) {
      this.need(3, path);
      n = this.u16(this.pos + 1);
      this.pos += 3;
    } else if (b === 0xdd) {
      this.need(5, path);
      n = this.u32(this.pos + 1);
      this.pos += 5;
    } else {
      return -1;
    }
    if (n > this.end - this.pos) this.truncated(path); // every element takes at least one byte
    return n;
  }

  array(path: string, expected = 'an array'): number {
    const n = this.tryArray(path);
    return n < 0 ? this.wrong(path, expected) : n;
  }

  /** Number of entries of a map header, or -1 (consuming nothing) if the value is not a map. */
  tryMap(path: string): number {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    let n: number;
    if (b >= 0x80 && b <= 0x8f) {
      n = b & 0x0f;
      this.pos++;
    } else if (b === 0xde) {
      this.need(3, path);
      n = this.u16(this.pos + 1);
      this.pos += 3;
    } else if (b === 0xdf) {
      this.need(5, path);
      n = this.u32(this.pos + 1);
      this.pos += 5;
    } else {
      return -1;
    }
    if (2 * n > this.end - this.pos) this.truncated(path);
    return n;
  }

  /** Like `str` for values that are nearly always one of a few constants (no allocation then). */
  internedStr(path: string, names: NameSet): string | null {
    if (this.nil()) return null;
    const start = this.pos;
    const c = this.match(path, names);
    if (c >= 0) return names.names[c]!;
    if (c === -2) this.wrong(path, 'a string');
    this.pos = start;
    return this.str(path);
  }

  /** A string, or null (consuming nothing) if the value is not a string. */
  tryStr(path: string): string | null {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    let n: number;
    let h: number;
    if (b >= 0xa0 && b <= 0xbf) {
      n = b & 0x1f;
      h = 1;
    } else if (b === 0xd9) {
      this.need(2, path);
      n = this.buf[this.pos + 1]!;
      h = 2;
    } else if (b === 0xda) {
      this.need(3, path);
      n = this.u16(this.pos + 1);
      h = 3;
    } else if (b === 0xdb) {
      this.need(5, path);
      n = this.u32(this.pos + 1);
      h = 5;
    } else {
      return null;
    }
    this.need(h + n, path);
    const start = this.pos + h;
    this.pos = start + n;
    if (n <= 24) {
      // Field names and tags are short ASCII: skip TextDecoder's call overhead.
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return utf8.decode(this.buf.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(this.buf.subarray(start, start + n));
  }

  str(path: string): string {
    return this.tryStr(path) ?? this.wrong(path, 'a string');
  }

  optStr(path: string): string | null {
    return this.nil() ? null : this.str(path);
  }

  /**
   * An integer in JS-number range (|v| ≤ 2^53 - 1), or throws wrong-type.
   * `path` names the field in errors.
   */
  int(path: string): number {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    if (b <= 0x7f) {
      this.pos++;
      return b;
    }
    if (b >= 0xe0) {
      this.pos++;
      return b - 0x100;
    }
    const p = this.pos;
    switch (b) {
      case 0xcc:
        this.need(2, path);
        this.pos += 2;
        return this.buf[p + 1]!;
      case 0xcd:
        this.need(3, path);
        this.pos += 3;
        return this.u16(p + 1);
      case 0xce:
        this.need(5, path);
        this.pos += 5;
        return this.u32(p + 1);
      case 0xd0:
        this.need(2, path);
        this.pos += 2;
        return (this.buf[p + 1]! << 24) >> 24;
      case 0xd1:
        this.need(3, path);
        this.pos += 3;
        return (this.u16(p + 1) << 16) >> 16;
      case 0xd2:
        this.need(5, path);
        this.pos += 5;
        return this.u32(p + 1) | 0;
      case 0xcf:
      case 0xd3: {
        this.need(9, path);
        const hi = b === 0xcf ? this.u32(p + 1) : this.u32(p + 1) | 0;
        const v = hi * TWO_32 + this.u32(p + 5);
        if (!Number.isSafeInteger(v)) this.fail('wrong-type', path, 'integer beyond 2^53');
        this.pos += 9;
        return v;
      }
      default:
        return this.wrong(path, 'an integer');
    }
  }

  optInt(path: string): number | null {
    return this.nil() ? null : this.int(path);
  }

  /** A number (int or float). */
  number(path: string): number {
    if (this.pos >= this.end) this.truncated(path);
    const b = this.buf[this.pos]!;
    if (b === 0xcb) {
      this.need(9, path);
      const v = this.f64(this.pos + 1);
      this.pos += 9;
      if (!Number.isFinite(v)) this.fail('wrong-type', path, `number ${v} is not finite`);
      return v;
    }
    if (b === 0xca) {
      this.need(5, path);
      const v = this.f32(this.pos + 1);
      this.pos += 5;
      if (!Number.isFinite(v)) this.fail('wrong-type', path, `number ${v} is not finite`);
      return v;
    }
    return this.int(path);
  }
}

function kindName(k: Kind): string {
  return ['nil', 'bool', 'int', 'float', 'string', 'bytes', 'array', 'map', 'ext'][k]!;
}
