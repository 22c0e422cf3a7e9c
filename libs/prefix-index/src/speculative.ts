import { KeyTable } from '@kvroute/block-keys';

/** The keys of one addSpeculative call; they expire together. */
export interface SpecBatch {
  id: number;
  podId: number;
  /** Node ids that got an entry from this batch (an entry may since have been replaced). */
  nodes: Int32Array;
  len: number;
  expiresAtMs: number;
  done: boolean;
}

/**
 * Rough bytes of a batch's JS objects besides its node ids: the record, its
 * Int32Array header, its `pending` entry and its place in the pod's list.
 */
const BATCH_OVERHEAD_BYTES = 128;
const INITIAL = 16;

/**
 * Speculative (pod, node) entries. An entry belongs to the batch expiring
 * last among those that added it (`pairs`); a batch's expiry drops only the
 * entries still its own, so re-adding extends the TTL and never shortens it,
 * and a real store (which deletes the pair) is never undone. Per node, a
 * bitset of pods with an entry, for the lookup walk.
 */
export class SpeculativeSet {
  /** (node id, pod id) → id of the batch owning the entry. */
  private pairs = new KeyTable(INITIAL);
  /** (node id, 0) → bitset slot. */
  private slotOf = new KeyTable(INITIAL);
  pool: Int32Array;
  stride: number;
  private words: number;
  private high = 0;
  private freeSlots: number[] = [];
  private heap: SpecBatch[] = [];
  /** The batches in `heap`, by id (to compare an entry's owner with a newcomer). */
  private readonly pending = new Map<number, SpecBatch>();
  private batchBytes = 0;
  private nextBatchId = 0;

  constructor(words: number) {
    this.words = words;
    this.stride = 1 + words;
    this.pool = new Int32Array(INITIAL * this.stride);
  }

  get size(): number {
    return this.pairs.size;
  }

  get byteLength(): number {
    return (
      this.pairs.byteLength +
      this.slotOf.byteLength +
      this.pool.byteLength +
      this.batchBytes +
      this.heap.length * 8
    );
  }

  /**
   * An upper bound on `byteLength` once a batch of `n` entries is pushed: as
   * if each entry were a new pair on a node with no entry yet, with the tables
   * and the pool grown as they would be (they never shrink).
   */
  bytesWith(n: number): number {
    const high = this.high + Math.max(0, n - this.freeSlots.length);
    let poolLength = this.pool.length;
    while (high * this.stride > poolLength) poolLength *= 2;
    return (
      this.pairs.byteLengthAt(this.pairs.size + n) +
      this.slotOf.byteLengthAt(this.slotOf.size + n) +
      poolLength * 4 +
      this.batchBytes +
      4 * n +
      BATCH_OVERHEAD_BYTES +
      (this.heap.length + 1) * 8
    );
  }

  /** The most entries (≤ n) a new batch may have for `bytesWith` to stay within `capBytes`. */
  fitting(n: number, capBytes: number): number {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.bytesWith(mid) <= capBytes) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * With no entry left, returns the tables and the pool to their initial size
   * (they grow with the peak and never shrink otherwise). Pending batches own
   * nothing then, so they stay as they are.
   */
  shrinkIfEmpty(): void {
    if (this.pairs.size > 0) return;
    this.pairs = new KeyTable(INITIAL);
    this.slotOf = new KeyTable(INITIAL);
    this.pool = new Int32Array(INITIAL * this.stride);
    this.high = 0;
    this.freeSlots = [];
  }

  /** `pool`'s bytes once the pod bitsets are `words` wide (see setWords). */
  poolBytesAt(words: number): number {
    return words <= this.words
      ? this.pool.byteLength
      : Math.max(INITIAL, this.high) * (1 + words) * 4;
  }

  /** Start of the node's pod bits in `pool`, or -1. */
  bitsOf(node: number): number {
    const s = this.slotOf.get(node, 0);
    return s < 0 ? -1 : s * this.stride + 1;
  }

  ownerBatch(node: number, pod: number): number {
    return this.pairs.get(node, pod);
  }

  newBatch(podId: number, capacity: number, expiresAtMs: number): SpecBatch {
    const id = this.nextBatchId;
    this.nextBatchId = (this.nextBatchId + 1) & 0x7fff_ffff;
    return { id, podId, nodes: new Int32Array(capacity), len: 0, expiresAtMs, done: false };
  }

  /**
   * Records the entry for `batch` unless a pending batch expiring no earlier
   * owns it; returns true when it is the node's first entry.
   */
  add(node: number, batch: SpecBatch): boolean {
    const pod = batch.podId;
    const prev = this.pairs.get(node, pod);
    if (prev >= 0 && (this.pending.get(prev)?.expiresAtMs ?? -Infinity) >= batch.expiresAtMs)
      return false;
    this.pairs.set(node, pod, batch.id);
    batch.nodes[batch.len++] = node;
    if (prev >= 0) return false;
    let s = this.slotOf.get(node, 0);
    const first = s < 0;
    if (first) {
      s = this.freeSlots.pop() ?? this.high++;
      if ((s + 1) * this.stride > this.pool.length) {
        const pool = new Int32Array(this.pool.length * 2);
        pool.set(this.pool);
        this.pool = pool;
      }
      this.pool.fill(0, s * this.stride, (s + 1) * this.stride);
      this.slotOf.set(node, 0, s);
    }
    const b = s * this.stride;
    this.pool[b]!++;
    this.pool[b + 1 + (pod >>> 5)]! |= 1 << (pod & 31);
    return first;
  }

  /** Deletes the entry; returns true when the node has no entries left. */
  remove(node: number, pod: number): boolean {
    if (this.pairs.delete(node, pod) < 0) return false;
    const s = this.slotOf.get(node, 0);
    const b = s * this.stride;
    this.pool[b + 1 + (pod >>> 5)]! &= ~(1 << (pod & 31));
    if (--this.pool[b]! > 0) return false;
    this.slotOf.delete(node, 0);
    this.freeSlots.push(s);
    return true;
  }

  /** Writes the pod ids with an entry on `node` into `out`; returns how many. */
  podsOf(node: number, out: Int32Array): number {
    const b = this.bitsOf(node);
    if (b < 0) return 0;
    let n = 0;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pool[b + w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        out[n++] = w * 32 + 31 - Math.clz32(low);
        bits ^= low;
      }
    }
    return n;
  }

  push(batch: SpecBatch): void {
    this.batchBytes += batch.nodes.byteLength + BATCH_OVERHEAD_BYTES;
    this.pending.set(batch.id, batch);
    const h = this.heap;
    let i = h.length;
    h.push(batch);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.expiresAtMs <= batch.expiresAtMs) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = batch;
  }

  /** Earliest expiry among pending batches, or +Infinity. */
  get nextExpiryMs(): number {
    return this.heap.length > 0 ? this.heap[0]!.expiresAtMs : Infinity;
  }

  /** Removes and returns the batch expiring first. */
  pop(): SpecBatch | undefined {
    const h = this.heap;
    const top = h[0];
    if (!top) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.expiresAtMs < h[l]!.expiresAtMs ? r : l;
        if (h[c]!.expiresAtMs >= last.expiresAtMs) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    top.done = true;
    this.pending.delete(top.id);
    this.batchBytes -= top.nodes.byteLength + BATCH_OVERHEAD_BYTES;
    return top;
  }

  setWords(words: number): void {
    if (words <= this.words) return;
    const stride = 1 + words;
    const pool = new Int32Array(Math.max(INITIAL, this.high) * stride);
    for (let s = 0; s < this.high; s++) {
      pool.set(this.pool.subarray(s * this.stride, (s + 1) * this.stride), s * stride);
    }
    this.pool = pool;
    this.stride = stride;
    this.words = words;
  }
}
