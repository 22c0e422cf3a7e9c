/** A request inside the engine model, from `enqueue` until it finishes or is aborted. */
export interface Seq {
  id: string;
  /** Prompt then output ids (promptLen + maxOut); output k is final once numOut > k. */
  tokens: Uint32Array;
  promptLen: number;
  maxOut: number;
  /** Output tokens sampled so far; kept across preemption. */
  numOut: number;
  /** Tokens whose KV is computed (≤ promptLen + numOut); 0 after a preemption. */
  computed: number;
  /** Pool block ids held, in sequence order. */
  blocks: number[];
  /** Block keys as [lo, hi] pairs; the first keysKnown are computed. */
  keys: Uint32Array;
  keysKnown: number;
  /** Leading blocks already offered to the cache (registered or found cached). */
  cachedUpTo: number;
  /** Prompt tokens found cached at the first admission; -1 until then. */
  firstHitTokens: number;
  seed: number;
  fixedOutput: boolean;
}

/** Deterministic pseudo-random output token ids per (request, position). */
export function outputToken(seed: number, i: number, vocab: number): number {
  let h = Math.imul(seed ^ Math.imul(i + 1, 0x85ebca6b), 0xc2b2ae35);
  h ^= h >>> 15;
  return (h >>> 0) % vocab;
}
