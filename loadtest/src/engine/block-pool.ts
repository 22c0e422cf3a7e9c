import { KeyTable } from '@kvroute/block-keys';

/**
 * vLLM's KV block pool with prefix caching (v1 `BlockPool`): blocks carry a
 * reference count and, once full and computed, their block hash. Blocks with
 * no reference sit in a free queue, least recently freed at the head; an
 * allocation takes the head and, if it still held a cached block, evicts it
 * (reported through `onEvict`). A cache hit on a free block takes it out of
 * the queue. Requests free their blocks tail first so the tail of a sequence
 * is evicted before its prefix.
 *
 * Invariants: a block is in the free queue iff its refCount is 0; a hash maps
 * to at most one block (a second block computed with the same hash stays
 * unregistered). O(1) per operation.
 */
export class BlockPool {
  private ref: Int32Array;
  private hashLo: Uint32Array;
  private hashHi: Uint32Array;
  private hashed: Uint8Array;
  private prev: Int32Array;
  private next: Int32Array;
  private head = -1;
  private tail = -1;
  private free = 0;
  private size: number;
  private readonly cached = new KeyTable(1024);

  /**
   * @param blocks pool size; `Infinity` grows on demand (an unbounded cache that never evicts).
   */
  constructor(
    blocks: number,
    private readonly onEvict: (lo: number, hi: number) => void,
  ) {
    this.unbounded = !Number.isFinite(blocks);
    const n = this.unbounded ? 4096 : blocks;
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`bad block count ${blocks}`);
    this.size = 0;
    this.fresh = 0;
    this.ref = new Int32Array(n);
    this.hashLo = new Uint32Array(n);
    this.hashHi = new Uint32Array(n);
    this.hashed = new Uint8Array(n);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    if (this.unbounded) this.size = n;
    else this.addBlocks(n);
  }

  private readonly unbounded: boolean;
  /** Unbounded pools: blocks from here on were never used (kept out of the free queue). */
  private fresh: number;

  get totalBlocks(): number {
    return this.size;
  }

  get freeBlocks(): number {
    return this.free;
  }

  /** Fraction of blocks referenced by requests (vLLM `kv_cache_usage_perc`); 0 when unbounded. */
  get usage(): number {
    return this.unbounded ? 0 : (this.size - this.free) / this.size;
  }

  get cachedBlocks(): number {
    return this.cached.size;
  }

  isFree(id: number): boolean {
    return this.ref[id] === 0;
  }

  /** Whether `n` blocks can be allocated now (always true when unbounded). */
  canAllocate(n: number): boolean {
    return this.unbounded || n <= this.free;
  }

  /** The cached block holding this hash, or -1. */
  lookup(lo: number, hi: number): number {
    return this.cached.get(lo, hi);
  }

  /** Takes a free block (evicting its cached content); -1 when none is free. */
  allocate(): number {
    if (this.unbounded && (this.head < 0 || this.hashed[this.head])) {
      // Never evict: a block that still caches something stays; take a never-used one.
      if (this.fresh === this.size) this.grow();
      const id = this.fresh++;
      this.ref[id] = 1;
      return id;
    }
    if (this.free === 0) return -1;
    const id = this.head;
    this.unlink(id);
    if (this.hashed[id]) {
      this.hashed[id] = 0;
      this.cached.delete(this.hashLo[id]!, this.hashHi[id]!);
      this.onEvict(this.hashLo[id]!, this.hashHi[id]!);
    }
    this.ref[id] = 1;
    return id;
  }

  /** Adds a reference to a cached block (a prefix hit). */
  touch(id: number): void {
    if (this.ref[id] === 0) this.unlink(id);
    this.ref[id]!++;
  }

  /** Drops a reference; at zero the block joins the tail of the free queue, still cached. */
  release(id: number): void {
    if (--this.ref[id]! === 0) this.append(id);
  }

  /** Registers a full computed block under its hash; false if the hash is already cached. */
  register(id: number, lo: number, hi: number): boolean {
    if (this.hashed[id]) return false;
    if (this.cached.get(lo, hi) !== -1) return false;
    this.cached.set(lo, hi, id);
    this.hashLo[id] = lo;
    this.hashHi[id] = hi;
    this.hashed[id] = 1;
    return true;
  }

  /** Forgets every cached hash (vLLM reset_prefix_cache); referenced blocks stay allocated. */
  clearCache(): void {
    this.cached.clear();
    this.hashed.fill(0);
  }

  private addBlocks(n: number): void {
    const from = this.size;
    this.size += n;
    for (let id = from; id < this.size; id++) this.append(id);
  }

  private grow(): void {
    const n = this.size;
    const widen = <T extends Int32Array | Uint32Array | Uint8Array>(
      a: T,
      make: (k: number) => T,
    ): T => {
      const b = make(2 * n);
      b.set(a);
      return b;
    };
    this.ref = widen(this.ref, (k) => new Int32Array(k));
    this.hashLo = widen(this.hashLo, (k) => new Uint32Array(k));
    this.hashHi = widen(this.hashHi, (k) => new Uint32Array(k));
    this.hashed = widen(this.hashed, (k) => new Uint8Array(k));
    this.prev = widen(this.prev, (k) => new Int32Array(k));
    this.next = widen(this.next, (k) => new Int32Array(k));
    this.size = 2 * n;
  }

  private append(id: number): void {
    this.prev[id] = this.tail;
    this.next[id] = -1;
    if (this.tail >= 0) this.next[this.tail] = id;
    else this.head = id;
    this.tail = id;
    this.free++;
  }

  private unlink(id: number): void {
    const p = this.prev[id]!;
    const n = this.next[id]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
    this.free--;
  }
}
