/**
 * A hash map from 64-bit keys (as lo/hi u32 halves) to non-negative int32
 * values, in flat typed arrays: open addressing, linear probing, backward-shift
 * deletion (no tombstones), load factor ≤ 0.5: 12 bytes per slot, so 24–48
 * bytes per key. Memory is not the gain (`npx kvroute bench keys`: 25 B/key
 * for 1 M keys, `Map<bigint, number>` 28 B/key); lookups are, being faster and
 * allocating no bigint.
 *
 * Invariants: `get` returns -1 for a missing key; halves are taken mod 2^32
 * (`>>> 0`), so -1 and 0xffffffff name the same half; values must be in
 * [0, 2^31); iteration order is unspecified.
 */
/** Two u32 key halves and an int32 value per slot. */
const SLOT_BYTES = 12;

export class KeyTable {
  private keys: Uint32Array;
  private vals: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Uint32Array(cap * 2);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table's arrays. */
  get byteLength(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }

  /**
   * `byteLength` once the table holds `size` keys: it doubles when an insert
   * would make it more than half full, and never shrinks. For callers that
   * must bound their memory before inserting.
   */
  byteLengthAt(size: number): number {
    let cap = this.mask + 1;
    while (size * 2 > cap) cap *= 2;
    return cap * SLOT_BYTES;
  }

  private slot(lo: number, hi: number): number {
    // Engine hashes may be small or sequential; mix both halves before masking.
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return h & this.mask;
  }

  get(lo: number, hi: number): number {
    lo >>>= 0; // a signed half (from `| 0` arithmetic) names the same key as its u32 form
    hi >>>= 0;
    const keys = this.keys;
    const vals = this.vals;
    let i = this.slot(lo, hi);
    for (;;) {
      const v = vals[i]!;
      if (v === -1) return -1;
      if (keys[2 * i] === lo && keys[2 * i + 1] === hi) return v;
      i = (i + 1) & this.mask;
    }
  }

  has(lo: number, hi: number): boolean {
    return this.get(lo, hi) !== -1;
  }

  /** Inserts or replaces; returns the previous value or -1. */
  set(lo: number, hi: number, value: number): number {
    lo >>>= 0;
    hi >>>= 0;
    if (value < 0 || value > 0x7fff_ffff || !Number.isInteger(value)) {
      throw new RangeError(`KeyTable values must be int32 >= 0, got ${value}`);
    }
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const keys = this.keys;
    const vals = this.vals;
    let i = this.slot(lo, hi);
    for (;;) {
      const v = vals[i]!;
      if (v === -1) {
        keys[2 * i] = lo;
        keys[2 * i + 1] = hi;
        vals[i] = value;
        this.count++;
        return -1;
      }
      if (keys[2 * i] === lo && keys[2 * i + 1] === hi) {
        vals[i] = value;
        return v;
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Removes a key; returns its value or -1. */
  delete(lo: number, hi: number): number {
    lo >>>= 0;
    hi >>>= 0;
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = this.slot(lo, hi);
    for (;;) {
      const v = vals[i]!;
      if (v === -1) return -1;
      if (keys[2 * i] === lo && keys[2 * i + 1] === hi) break;
      i = (i + 1) & mask;
    }
    const removed = vals[i]!;
    // Backward-shift: pull later members of the probe run into the hole.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (vals[j] === -1) break;
      const home = this.slot(keys[2 * j]!, keys[2 * j + 1]!);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!inRange) {
        keys[2 * hole] = keys[2 * j]!;
        keys[2 * hole + 1] = keys[2 * j + 1]!;
        vals[hole] = vals[j]!;
        hole = j;
      }
    }
    vals[hole] = -1;
    this.count--;
    return removed;
  }

  clear(): void {
    this.vals.fill(-1);
    this.count = 0;
  }

  forEach(fn: (lo: number, hi: number, value: number) => void): void {
    const keys = this.keys;
    const vals = this.vals;
    for (let i = 0; i <= this.mask; i++) {
      const v = vals[i]!;
      if (v !== -1) fn(keys[2 * i]!, keys[2 * i + 1]!, v);
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const cap = (this.mask + 1) * 2;
    this.keys = new Uint32Array(cap * 2);
    this.vals = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < oldVals.length; i++) {
      const v = oldVals[i]!;
      if (v !== -1) this.set(oldKeys[2 * i]!, oldKeys[2 * i + 1]!, v);
    }
  }
}
