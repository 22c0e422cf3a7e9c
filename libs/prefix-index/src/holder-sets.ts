/**
 * Holder bitsets for nodes held by several pods, and the lists that rank them
 * by holder count for topPrefixes.
 *
 * Slot layout (stride = 3 + 2·words, int32):
 *   [H_OWNER]   owning node id, -1 when the slot is free
 *   [H_PREV, H_NEXT]  neighbours in the list of slots with the same holder count
 *   [H_BITS ..)       GPU-tier bits of pods 0..32·words-1, then CPU-tier bits
 *
 * `words` grows with the number of pod ids (setWords), keeping slot indices.
 * Within a count's list, the slot that reached that count last comes first.
 */
export const H_OWNER = 0;
export const H_PREV = 1;
export const H_NEXT = 2;
export const H_BITS = 3;

export class HolderSets {
  data: Int32Array;
  words: number;
  stride: number;
  private cap: number;
  high = 0;
  used = 0;
  private freeHead = -1;
  /** heads[c]: first slot holding exactly c pods, or -1. */
  private heads: Int32Array;
  private maxCount = 0;

  constructor(words: number, initialCap = 16) {
    this.words = words;
    this.stride = H_BITS + 2 * words;
    this.cap = initialCap;
    this.data = new Int32Array(initialCap * this.stride);
    this.heads = new Int32Array(32 * words + 2).fill(-1);
  }

  get capacity(): number {
    return this.cap;
  }

  get full(): boolean {
    return this.used >= this.cap;
  }

  get byteLength(): number {
    return this.data.byteLength + this.heads.byteLength;
  }

  /** Bytes the pool would occupy with `cap` slots of `words` words. */
  static bytesFor(cap: number, words: number): number {
    return cap * (H_BITS + 2 * words) * 4 + (32 * words + 2) * 4;
  }

  /** A zeroed slot for `owner`, not in any count list. Requires `!full`. */
  alloc(owner: number): number {
    let s = this.freeHead;
    if (s >= 0) this.freeHead = this.data[s * this.stride + H_NEXT]!;
    else s = this.high++;
    const b = s * this.stride;
    this.data.fill(0, b, b + this.stride);
    this.data[b + H_OWNER] = owner;
    this.used++;
    return s;
  }

  /** Frees a slot that is in no count list. */
  free(s: number): void {
    const b = s * this.stride;
    this.data[b + H_OWNER] = -1;
    this.data[b + H_NEXT] = this.freeHead;
    this.freeHead = s;
    this.used--;
  }

  owner(s: number): number {
    return s < this.high ? this.data[s * this.stride + H_OWNER]! : -1;
  }

  /** Puts slot `s` first in the list of count `c`. */
  link(s: number, c: number): void {
    const d = this.data;
    const b = s * this.stride;
    const head = this.heads[c]!;
    d[b + H_PREV] = -1;
    d[b + H_NEXT] = head;
    if (head >= 0) d[head * this.stride + H_PREV] = s;
    this.heads[c] = s;
    if (c > this.maxCount) this.maxCount = c;
  }

  unlink(s: number, c: number): void {
    const d = this.data;
    const b = s * this.stride;
    const prev = d[b + H_PREV]!;
    const next = d[b + H_NEXT]!;
    if (prev >= 0) d[prev * this.stride + H_NEXT] = next;
    else this.heads[c] = next;
    if (next >= 0) d[next * this.stride + H_PREV] = prev;
  }

  /** Calls `fn(slot, count)` from the highest count down to `minCount`, until it returns false. */
  forEachByCount(minCount: number, fn: (s: number, c: number) => boolean): void {
    while (this.maxCount > 0 && this.heads[this.maxCount]! < 0) this.maxCount--;
    for (let c = this.maxCount; c >= minCount; c--) {
      for (let s = this.heads[c]!; s >= 0; s = this.data[s * this.stride + H_NEXT]!) {
        if (!fn(s, c)) return;
      }
    }
  }

  grow(cap: number): void {
    if (cap <= this.cap) return;
    const data = new Int32Array(cap * this.stride);
    data.set(this.data);
    this.data = data;
    this.cap = cap;
  }

  /** Re-lays every slot for `words` words of bits (more pod ids), keeping indices. */
  setWords(words: number): void {
    if (words <= this.words) return;
    const oldStride = this.stride;
    const oldWords = this.words;
    const stride = H_BITS + 2 * words;
    const data = new Int32Array(this.cap * stride);
    const old = this.data;
    for (let s = 0; s < this.high; s++) {
      const o = s * oldStride;
      const n = s * stride;
      data.set(old.subarray(o, o + H_BITS + oldWords), n);
      data.set(old.subarray(o + H_BITS + oldWords, o + oldStride), n + H_BITS + words);
    }
    const heads = new Int32Array(32 * words + 2).fill(-1);
    heads.set(this.heads);
    this.data = data;
    this.heads = heads;
    this.words = words;
    this.stride = stride;
  }
}
