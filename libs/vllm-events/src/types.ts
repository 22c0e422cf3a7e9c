/**
 * Domain types of the vLLM KV-event stream, after decoding. Nothing downstream
 * sees msgpack layouts. Engine block hashes are u64 values carried as two u32
 * halves: a `HashSeq` of n hashes is a Uint32Array `[lo0, hi0, lo1, hi1, …]`.
 */
export type HashSeq = Uint32Array;

export interface BlockStored {
  type: 'BlockStored';
  blockHashes: HashSeq;
  /** One hash (two halves) or null when the first block starts a sequence. */
  parentBlockHash: HashSeq | null;
  /** `blockHashes.length / 2 × blockSize` tokens, or none (e.g. a CPU-tier store). */
  tokenIds: Uint32Array;
  blockSize: number;
  loraId: number | null;
  /** Storage tier as the engine names it ("GPU", "CPU", …); null on engines that predate tiers. */
  medium: string | null;
  loraName: string | null;
  /**
   * Per block: the engine's extra hash keys (multimodal ids, LoRA name, cache salt…), or null.
   * Ints packed in 64-bit msgpack form (int64/uint64, any value up to 2^64) are bigints; narrower
   * ones are numbers.
   */
  extraKeys: ReadonlyArray<readonly unknown[] | null> | null;
  groupIdx: number | null;
  kvCacheSpecKind: string | null;
  kvCacheSpecSlidingWindow: number | null;
}

export interface BlockRemoved {
  type: 'BlockRemoved';
  blockHashes: HashSeq;
  medium: string | null;
  groupIdx: number | null;
}

export interface AllBlocksCleared {
  type: 'AllBlocksCleared';
}

export type VllmEvent = BlockStored | BlockRemoved | AllBlocksCleared;

export interface VllmEventBatch {
  /** Engine wall clock, seconds since the epoch. */
  ts: number;
  events: VllmEvent[];
  dataParallelRank: number | null;
}

/** The three encodings found in the wild (see DESIGN.md). */
export type WireShape = 'array' | 'array-map' | 'map';
