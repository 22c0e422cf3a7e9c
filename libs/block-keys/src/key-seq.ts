/**
 * Block keys are unsigned 64-bit integers. On the hot path they travel as two
 * unsigned 32-bit halves so that no bigint is allocated per block: a sequence
 * of n keys is a `Uint32Array` of length 2n laid out `[lo0, hi0, lo1, hi1, …]`,
 * which is exactly the little-endian u64 byte layout, so a `KeySeq`'s buffer can
 * go on the wire as-is.
 */
export type KeySeq = Uint32Array;

const TWO_32 = 0x1_0000_0000;

/** Number of keys in a sequence. */
export function keyCount(seq: KeySeq): number {
  return seq.length >>> 1;
}

/** The i-th key as a bigint (for display, tests and cold paths only). */
export function keyAt(seq: KeySeq, i: number): bigint {
  const lo = seq[2 * i];
  const hi = seq[2 * i + 1];
  if (lo === undefined || hi === undefined) throw new RangeError(`key index ${i} out of range`);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Builds a KeySeq from u64 values (bigint or safe-integer numbers). */
export function keySeqFrom(values: ReadonlyArray<bigint | number>): KeySeq {
  const out = new Uint32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a u64: ${v}`);
      out[2 * i] = v % TWO_32;
      out[2 * i + 1] = Math.floor(v / TWO_32);
    } else {
      const u = BigInt.asUintN(64, v);
      if (u !== v) throw new RangeError(`not a u64: ${v}`);
      out[2 * i] = Number(u & 0xffff_ffffn);
      out[2 * i + 1] = Number(u >> 32n);
    }
  }
  return out;
}

/** All keys as bigints (cold paths only). */
export function keySeqToBigInts(seq: KeySeq): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < seq.length >>> 1; i++) out.push(keyAt(seq, i));
  return out;
}

/** A key as 16 lowercase hex digits, the form used in logs and JSON; halves are taken mod 2^32. */
export function keyToHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/** Parses 16 hex digits back into `[lo, hi]`. */
export function keyFromHex(hex: string): [lo: number, hi: number] {
  if (!/^[0-9a-fA-F]{16}$/.test(hex)) throw new RangeError(`not a 16-digit hex key: ${hex}`);
  return [parseInt(hex.slice(8), 16), parseInt(hex.slice(0, 8), 16)];
}

/** A copy of keys [from, to) as a fresh KeySeq. */
export function sliceKeys(seq: KeySeq, from: number, to: number): KeySeq {
  return seq.slice(2 * from, 2 * to);
}

/** Views a KeySeq as bytes (u64 little-endian each), sharing memory. */
export function keySeqBytes(seq: KeySeq): Uint8Array {
  return new Uint8Array(seq.buffer, seq.byteOffset, seq.byteLength);
}

/** Reads a KeySeq from u64 little-endian bytes, copying (so alignment never matters). */
export function keySeqFromBytes(bytes: Uint8Array): KeySeq {
  if (bytes.byteLength % 8 !== 0) {
    throw new RangeError(`key bytes length ${bytes.byteLength} is not a multiple of 8`);
  }
  const out = new Uint32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
