/** Llama 3 vocabulary size: synthetic token ids stay in range. */
export const VOCAB = 128_256;

/** A well-mixed 32-bit hash of two integers. */
export function mix2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fills `out[from..from+n)` with the deterministic tokens of stream `stream`, positions `offset…`. */
export function fillTokens(
  out: Uint32Array,
  from: number,
  n: number,
  stream: number,
  offset = 0,
): void {
  for (let i = 0; i < n; i++) out[from + i] = mix2(stream, offset + i) % VOCAB;
}
