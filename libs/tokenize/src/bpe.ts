/**
 * BPE merges over symbol ids, reproducing the Rust tokenizers library's `Word::merge_all`: a
 * priority queue ordered by (merge rank, position), entries re-checked when popped because
 * earlier merges may have consumed their symbols. Matching that algorithm, and not just "lowest
 * rank first", keeps the output identical in the corner cases where two pairs merge to one token.
 */
export class BpeMerges {
  /** pair (left id * 2^21 + right id) → merge index; rank = index. */
  private readonly pairs = new Map<number, number>();
  private readonly mergedIds: Uint32Array;

  /** Merge `rank` joins `left[rank]` and `right[rank]` into `mergedIds[rank]`. */
  constructor(left: Uint32Array, right: Uint32Array, mergedIds: Uint32Array) {
    this.mergedIds = mergedIds;
    // A repeated pair keeps its last rank, as the Rust library's map construction does.
    for (let rank = 0; rank < left.length; rank++)
      this.pairs.set(left[rank]! * PAIR_SHIFT + right[rank]!, rank);
  }

  /** Merges `symbols` (token ids, one per initial symbol) in place; returns the new length. */
  mergeAll(symbols: Uint32Array, length: number): number {
    if (length < 2) return length;
    const prev = new Int32Array(length);
    const next = new Int32Array(length);
    const alive = new Uint8Array(length).fill(1);
    for (let i = 0; i < length; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < length ? i + 1 : -1;
    }
    const heap = new MergeHeap();
    for (let i = 0; i + 1 < length; i++) {
      const rank = this.pairs.get(symbols[i]! * PAIR_SHIFT + symbols[i + 1]!);
      if (rank !== undefined) heap.push(rank, i);
    }
    while (heap.size > 0) {
      const rank = heap.topRank();
      const pos = heap.pop();
      if (!alive[pos]) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      const newId = this.mergedIds[rank]!;
      // Stale when the pair at `pos` no longer merges to the same token (Rust compares new ids).
      const current = this.pairs.get(symbols[pos]! * PAIR_SHIFT + symbols[right]!);
      if (current === undefined || this.mergedIds[current] !== newId) continue;
      symbols[pos] = newId;
      alive[right] = 0;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      const before = prev[pos]!;
      if (before >= 0) {
        const r = this.pairs.get(symbols[before]! * PAIR_SHIFT + newId);
        if (r !== undefined) heap.push(r, before);
      }
      if (after >= 0) {
        const r = this.pairs.get(newId * PAIR_SHIFT + symbols[after]!);
        if (r !== undefined) heap.push(r, pos);
      }
    }
    let n = 0;
    for (let i = 0; i >= 0; i = next[i]!) symbols[n++] = symbols[i]!;
    return n;
  }
}

/** Token ids must stay below 2^21 for pair keys to be exact in a double. */
export const PAIR_SHIFT = 2 ** 21;

/** Binary min-heap of (rank, position) pairs packed into one double: rank * 2^24 + position. */
class MergeHeap {
  private items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(rank: number, pos: number): void {
    const items = this.items;
    const v = rank * POS_SHIFT + pos;
    let i = items.length;
    items.push(v);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= v) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = v;
  }
  topRank(): number {
    return Math.floor(this.items[0]! / POS_SHIFT);
  }
  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && items[r]! < items[l]! ? r : l;
        if (items[c]! >= last) break;
        items[i] = items[c]!;
        i = c;
      }
      items[i] = last;
    }
    return top % POS_SHIFT;
  }
}

/** Pre-tokens longer than this many symbols are not supported by the packed heap. */
export const MAX_WORD_SYMBOLS = 2 ** 24;
const POS_SHIFT = 2 ** 24;
