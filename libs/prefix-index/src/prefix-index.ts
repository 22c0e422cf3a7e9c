import type { KeySeq } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';

/**
 * Per-pod answer of a lookup. All three are depths of the unbroken run of
 * blocks from block 0 of the request, so `gpu <= total <= speculative`.
 */
export interface PodMatch {
  pod: string;
  /** Leading blocks the pod holds in GPU memory. */
  gpu: number;
  /** Leading blocks the pod holds in any tier (GPU or CPU). */
  total: number;
  /** As `total`, also counting live speculative entries (equals `total` when they are excluded). */
  speculative: number;
}

export interface LookupOptions {
  /**
   * Answer exactly these pods, in this order (duplicates once), zeros included;
   * pods the index does not know get zeros.
   */
  candidates?: readonly string[] | undefined;
  /** Count speculative entries in `speculative`; default true. */
  includeSpeculative?: boolean;
}

export interface LookupResult {
  /**
   * Without candidates: every pod with `speculative > 0`, in no particular
   * order. With candidates: one entry per distinct candidate, in their order.
   */
  matches: PodMatch[];
}

/** Every number here must be finite (RangeError otherwise). */
export interface PrefixIndexOptions {
  /** Bound on the bytes of the whole index, > 0; default 1 GiB. See README "Memory bound". */
  budgetBytes?: number;
  /** Default lifetime of speculative entries, >= 0; default 5000. */
  speculativeTtlMs?: number;
  /** Clock in ms, used only for speculative expiry; default Date.now. */
  now?: () => number;
  /**
   * Distinct blocks to allocate room for up front (>= 0, capped by the budget), e.g.
   * pods × their capacity in blocks: saves the rehashes of growing from empty.
   */
  expectedBlocks?: number;
}

export interface PodStats {
  pod: string;
  /** Distinct blocks held (a block in both tiers counts once). */
  blocks: number;
  gpuBlocks: number;
  cpuBlocks: number;
}

export interface IndexStats {
  pods: number;
  /** Keys held by at least one pod (speculative entries excluded). */
  distinctBlocks: number;
  /** Keys held by at least two pods. */
  sharedBlocks: number;
  /** (block, pod) pairs held in any tier. */
  residencies: number;
  /** Bytes of every array and per-pod record the index holds (capacity, not just use). */
  bytesUsed: number;
  budgetBytes: number;
  /** Blocks (keys, with all their residencies) evicted to stay within the budget. */
  evictions: number;
  evictedResidencies: number;
  /** Times a structure had to grow past the budget because nothing could be evicted. */
  budgetOverruns: number;
  speculativeEntries: number;
  /** `removed` events for blocks the pod did not hold in that tier (no-ops). */
  removeMisses: number;
  /** `apply`/`importPod` calls refused as malformed (nothing of them was applied). */
  rejectedBatches: number;
  perPod: PodStats[];
}

/** A shared prefix: the key of its last block, its depth and how many pods hold it. */
export interface PrefixStat {
  /** 16 hex digits (see keyToHex). */
  key: string;
  /** Position of the block in its request, or -1 when unknown. */
  depth: number;
  holders: number;
}

/** A pod's complete block set; one entry per (key, tier), so a block in both tiers appears twice. */
export interface PodSnapshot {
  keys: KeySeq;
  /** Per entry: 0 = gpu, 1 = cpu. */
  tiers: Uint8Array;
  /** Per entry: position in its request, or 0xffffffff when unknown. */
  depths: Uint32Array;
}

/**
 * For each pod, the chained block keys it holds, per tier; for a request's
 * keys, each pod's unbroken run from block 0. Synchronous, no I/O, no timers.
 *
 * Complexities (n = keys in the call, P = registered pods, W = ceil(P/32)):
 * apply O(n) amortized; lookup O(n·W + P); clearPod/removePod/exportPod
 * O(blocks of that pod); topPrefixes O(limit + P).
 */
export interface PrefixIndex {
  /**
   * Applies a pod's events in order. The whole call is validated first: a
   * malformed event throws InvalidInputError and nothing is applied.
   */
  apply(pod: string, events: readonly CanonicalEvent[]): void;
  /** As a `cleared` event: drops every block the pod holds; speculative entries stay. */
  clearPod(pod: string): void;
  /** Forgets the pod: blocks and speculative entries. */
  removePod(pod: string): void;
  lookup(keys: KeySeq, options?: LookupOptions): LookupResult;
  /**
   * Assumes `keys` cached on `pod` for `ttlMs` (keys it already holds are skipped).
   * `ttlMs` must be finite and >= 0 (InvalidInputError otherwise); 0 adds nothing.
   */
  addSpeculative(pod: string, keys: KeySeq, ttlMs?: number): void;
  /** Drops speculative entries past their TTL (lookups also do it lazily); returns how many. */
  expireSpeculative(): number;
  /**
   * Pods that have had an event (`apply`, even empty) or a snapshot (`importPod`),
   * in the order of the first; `stats().pods`, `perPod` and `podStats` cover the
   * same pods. A pod known only by speculative entries is not listed (lookups
   * still see its entries).
   */
  pods(): string[];
  stats(): IndexStats;
  /** As in `stats().perPod`; null for a pod `pods()` does not list. */
  podStats(pod: string): PodStats | null;
  /** Blocks held by at least two pods, most holders first. */
  topPrefixes(limit: number): PrefixStat[];
  exportPod(pod: string): PodSnapshot;
  /** Replaces the pod's blocks with the snapshot's (speculative entries stay). */
  importPod(pod: string, snapshot: PodSnapshot): void;
}
