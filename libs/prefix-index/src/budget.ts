import { HolderSets } from './holder-sets.js';
import type { IndexCore } from './index-core.js';
import { F_DEPTH, F_META, F_STAMP, M_LIVE, NODE_STRIDE, nodeStoreBytes } from './node-store.js';
import type { PodState } from './pod-registry.js';
import { POD_OVERHEAD_BYTES } from './pod-registry.js';

/** Share of the budget reserved for speculative entries (their bytes are capped to fit it). */
export const SPEC_SHARE = 1 / 8;

/** Records the node-pool hand reads looking for one past the age threshold. */
const SCAN_LIMIT = 256;
/** Evictions between redraws of the node pool's age threshold. */
const THRESHOLD_EVERY = 256;
/** Candidates drawn from a holder-set pool or a pod's list per eviction. */
const SAMPLES = 8;
/** After a pool could not grow, growth is retried only this many evictions later. */
const GROW_RETRY = 1024;

/**
 * Keeps the index's arrays within `budgetBytes`: SPEC_SHARE of it for
 * speculative entries (capped by their bytes, per-batch overhead and table
 * growth included; the batches expiring first go), the rest for the blocks. Every pool grows on demand
 * (×1.5) while the total fits; once a pool cannot grow, a new entry in it
 * evicts an old one *from that same pool*, so eviction always frees the room
 * that was needed:
 *   node records + key table → any node;
 *   holder bitsets           → a node that owns a bitset;
 *   a pod's node list        → (after compaction) a node that pod holds.
 * The victim is the candidate with the oldest stamp (last store or lookup
 * that touched it), ties to the deepest block, so lookups — which stamp every
 * block they walk — keep hot prefixes, and a prefix loses its tail before its
 * head. The node pool and the pods' lists are swept by hands against an age
 * threshold estimated from a random sample (approximate LRU with sequential
 * reads — picking each victim from random samples cost 8 cache misses per
 * victim, 41% of ingest time at the budget); the holder-bitset pool, rarely the
 * binding one, draws SAMPLES random candidates per victim. Evicting a node drops the
 * key for every pod holding it, so no lookup can report it afterwards.
 */
export class Budget {
  evictions = 0;
  evictedResidencies = 0;
  overruns = 0;
  private rng = 0x2545_f491;
  private hand = 0;
  private nodeThreshold = 0;
  private thresholdLeft = 0;
  private readonly ages = new Float64Array(64);
  private nodeRetry = 0;
  private holderRetry = 0;

  constructor(
    private readonly core: IndexCore,
    readonly budgetBytes: number,
  ) {}

  /** Bytes the speculative entries may occupy (`SpeculativeSet.byteLength`). */
  get specBytes(): number {
    return this.budgetBytes * SPEC_SHARE;
  }

  /** Bytes the non-speculative pools may still grow by. */
  private room(): number {
    const core = this.core;
    return this.budgetBytes * (1 - SPEC_SHARE) - (core.bytesUsed() - core.spec.byteLength);
  }

  ensureNodeRoom(): void {
    const store = this.core.store;
    if (!store.full) return;
    const cap = store.capacity;
    if (this.nodeRetry-- <= 0) {
      const target = this.fit(cap, store.byteLength, nodeStoreBytes);
      if (target > 0) return store.grow(target);
      this.nodeRetry = GROW_RETRY;
    }
    while (store.full) {
      const victim = this.sweep();
      if (victim < 0) break;
      this.evict(victim);
    }
    if (store.full) {
      this.overruns++;
      store.grow(Math.max(cap + 1024, Math.floor(cap * 1.5)));
    }
  }

  ensureHolderRoom(pinned: number): void {
    const h = this.core.holders;
    if (!h.full) return;
    const cap = h.capacity;
    const words = h.words;
    if (this.holderRetry-- <= 0) {
      const target = this.fit(cap, h.byteLength, (c) => HolderSets.bytesFor(c, words));
      if (target > 0) return h.grow(target);
      this.holderRetry = GROW_RETRY;
    }
    while (h.full) {
      const victim = this.sample((k) => h.owner(k), h.high, pinned, -1);
      if (victim < 0) break;
      this.evict(victim);
    }
    if (h.full) {
      this.overruns++;
      h.grow(Math.max(cap + 256, Math.floor(cap * 1.5)));
    }
  }

  /** Makes room for one more entry in the pod's node list. */
  ensureListRoom(pod: PodState, pinned: number): void {
    if (pod.len < pod.list.length) return;
    const core = this.core;
    // Stale entries are cheaper to drop than to keep growing past.
    if ((pod.len - pod.live) * 4 >= pod.len) {
      core.compactList(pod);
      if (pod.len < pod.list.length) return;
    }
    const cap = pod.list.length;
    const want = Math.ceil(cap * 1.5);
    if ((want - cap) * 4 <= this.room()) return core.pods.resizeList(pod, want);
    // At the budget: evict enough of the pod's own blocks that this compaction
    // frees an eighth of the list, so compactions stay amortized O(1) per entry.
    this.evictFromList(pod, pinned, Math.max(1, pod.len >>> 3) - (pod.len - pod.live));
    core.compactList(pod);
    if (pod.len < pod.list.length) return;
    this.overruns++;
    core.pods.resizeList(pod, want);
  }

  /** A new pod is never refused either; registering one past the budget is counted. */
  beforeRegister(): void {
    if (this.room() < POD_OVERHEAD_BYTES + 64) this.overruns++;
  }

  /** Widening the pod bitsets (at 33, 65, 129… pods) is never refused; an excess is counted. */
  beforeWiden(words: number): void {
    const h = this.core.holders;
    const extra = HolderSets.bytesFor(h.capacity, words) - h.byteLength + 7 * 32 * words * 4;
    const spec = this.core.spec;
    const specAfter = spec.byteLength - spec.pool.byteLength + spec.poolBytesAt(words);
    if (extra > this.room() || specAfter > this.specBytes) this.overruns++;
  }

  /**
   * The capacity to grow a pool to: ×1.5, or the largest step of at least
   * 1/16 that fits the budget; 0 when none fits.
   */
  private fit(cap: number, have: number, bytesFor: (cap: number) => number): number {
    const room = this.room();
    const want = Math.max(cap + 256, Math.floor(cap * 1.5));
    if (bytesFor(want) - have <= room) return want;
    let lo = cap;
    let hi = want;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (bytesFor(mid) - have <= room) lo = mid;
      else hi = mid;
    }
    return lo - cap >= Math.max(64, cap >>> 4) ? lo : 0;
  }

  private evict(id: number): void {
    this.evictedResidencies += this.core.evict(id);
    this.evictions++;
  }

  private rand(n: number): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x;
    return (x >>> 0) % n;
  }

  /** Whether `a` (age, depth) should be evicted before `b`. */
  private static older(ageA: number, depthA: number, ageB: number, depthB: number): boolean {
    return ageA > ageB || (ageA === ageB && depthA > depthB);
  }

  /**
   * The next victim of the node-pool hand: the first live record (moving
   * backwards, so a chain loses its deepest block first) at least as old as
   * the threshold — the age of the oldest eighth of a random sample, redrawn
   * every THRESHOLD_EVERY evictions. Within SCAN_LIMIT records it falls back to
   * the oldest it saw. -1 when no record is evictable.
   */
  private sweep(): number {
    const store = this.core.store;
    const nodes = store.nodes;
    const high = store.high;
    if (this.thresholdLeft-- <= 0) {
      this.nodeThreshold = this.sampleThreshold((k) => k, high, -1, 8);
      this.thresholdLeft = THRESHOLD_EVERY;
    }
    let best = -1;
    let bestAge = -1;
    let bestDepth = -1;
    for (let k = 0; k < high && k < SCAN_LIMIT; k++) {
      if (--this.hand < 0 || this.hand >= high) this.hand = high - 1;
      const id = this.hand;
      const b = id * NODE_STRIDE;
      if ((nodes[b + F_META]! & M_LIVE) === 0) continue;
      const age = this.ageOf(id);
      if (age >= this.nodeThreshold) return id;
      const depth = nodes[b + F_DEPTH]!;
      if (Budget.older(age, depth, bestAge, bestDepth)) {
        best = id;
        bestAge = age;
        bestDepth = depth;
      }
    }
    return best;
  }

  /**
   * The age of the oldest 1/`fraction` among up to 64 random live candidates
   * `idAt(0..n-1)` held by `podId` (any holder when -1); 0 when none is found.
   */
  private sampleThreshold(
    idAt: (k: number) => number,
    n: number,
    podId: number,
    fraction: number,
  ): number {
    const core = this.core;
    const ages = this.ages;
    let got = 0;
    for (let draw = 0; draw < 4 * ages.length && got < ages.length && n > 0; draw++) {
      const id = idAt(this.rand(n));
      if (!core.store.isLive(id) || (podId >= 0 && core.holds(id, podId) === 0)) continue;
      ages[got++] = this.ageOf(id);
    }
    if (got === 0) return 0;
    const sorted = ages.subarray(0, got).sort().reverse();
    return sorted[Math.min(got - 1, Math.floor(got / fraction))]!;
  }

  /**
   * Evicts about `count` of the blocks the pod holds, oldest first: an age
   * threshold is estimated from a sample, then one pass of the pod's hand —
   * moving backwards through the list, so within a stored chain the deepest
   * block goes first — evicts what is at least that old. One pass costs O(list)
   * for `count` ≈ list/8 victims, where a window search per victim cost 32
   * record reads each (44% of ingest time at the budget).
   */
  private evictFromList(pod: PodState, pinned: number, count: number): void {
    const core = this.core;
    const held = (id: number) => id !== pinned && core.holds(id, pod.id) !== 0;
    if (pod.len === 0) return;
    const list = pod.list;
    const share = Math.max(1, pod.live) / Math.max(1, count);
    const threshold = this.sampleThreshold((k) => list[k]!, pod.len, pod.id, share);
    let freed = 0;
    for (let k = 0; k < pod.len && freed < count; k++) {
      if (--pod.evictHand < 0 || pod.evictHand >= pod.len) pod.evictHand = pod.len - 1;
      const id = pod.list[pod.evictHand]!;
      if (held(id) && this.ageOf(id) >= threshold) {
        this.evict(id);
        freed++;
      }
    }
  }

  private ageOf(id: number): number {
    return (this.core.tick - this.core.store.nodes[id * NODE_STRIDE + F_STAMP]!) >>> 0;
  }

  /**
   * The oldest of SAMPLES random live candidates `idAt(0..n-1)`, never
   * `pinned`, and held by `podId` when it is not -1; -1 when none is found.
   */
  private sample(idAt: (k: number) => number, n: number, pinned: number, podId: number): number {
    if (n === 0) return -1;
    const core = this.core;
    const store = core.store;
    const nodes = store.nodes;
    let best = -1;
    let bestAge = -1;
    let bestDepth = -1;
    for (let draw = 0, got = 0; draw < 8 * SAMPLES && got < SAMPLES; draw++) {
      const id = idAt(this.rand(n));
      if (id < 0 || id === pinned || !store.isLive(id)) continue;
      if (podId >= 0 && core.holds(id, podId) === 0) continue;
      got++;
      const b = id * NODE_STRIDE;
      const age = (core.tick - nodes[b + F_STAMP]!) >>> 0;
      const depth = nodes[b + F_DEPTH]!;
      if (Budget.older(age, depth, bestAge, bestDepth)) {
        best = id;
        bestAge = age;
        bestDepth = depth;
      }
    }
    return best;
  }
}
