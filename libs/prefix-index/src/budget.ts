import { HolderSets } from './holder-sets.js';
import type { IndexCore } from './index-core.js';
import { F_DEPTH, F_META, F_STAMP, M_LIVE, NODE_STRIDE, nodeStoreBytes } from './node-store.js';
import type { PodState } from './pod-registry.js';
import { POD_OVERHEAD_BYTES } from './pod-registry.js';

/** Share of the budget reserved for speculative entries (they are capped to fit it). */
export const SPEC_SHARE = 1 / 8;
/** Worst-case bytes per speculative entry: two hash-table slots, a bitset slot, its batch's id. */
const SPEC_ENTRY_BYTES = 160;

/** Node records examined per eviction by the sweeping hand (consecutive, so cheap to read). */
const WINDOW = 32;
/** Candidates drawn from a holder-set pool or a pod's list per eviction. */
const SAMPLES = 8;
/** After a pool could not grow, growth is retried only this many evictions later. */
const GROW_RETRY = 1024;

/**
 * Keeps the index's arrays within `budgetBytes`: SPEC_SHARE of it for
 * speculative entries (capped by count; the oldest batches go first), the rest
 * for the blocks. Every pool grows on demand
 * (×1.5) while the total fits; once a pool cannot grow, a new entry in it
 * evicts an old one *from that same pool*, so eviction always frees the room
 * that was needed:
 *   node records + key table → any node;
 *   holder bitsets           → a node that owns a bitset;
 *   a pod's node list        → (after compaction) a node that pod holds.
 * The victim is the candidate with the oldest stamp (last store or lookup
 * that touched it), ties to the deepest block, so lookups — which stamp every
 * block they walk — keep hot prefixes, and a prefix loses its tail before its
 * head. Node-pool candidates come from a hand sweeping the records in id order,
 * WINDOW live records per eviction (a generational CLOCK: every record is
 * weighed once per sweep, and consecutive records are cheap to read — random
 * sampling cost 8 cache misses per victim, 41% of ingest time at the budget);
 * the other pools draw SAMPLES random candidates. Evicting a node drops the
 * key for every pod holding it, so no lookup can report it afterwards.
 */
export class Budget {
  evictions = 0;
  evictedResidencies = 0;
  overruns = 0;
  private rng = 0x2545_f491;
  private hand = 0;
  private nodeRetry = 0;
  private holderRetry = 0;

  constructor(
    private readonly core: IndexCore,
    readonly budgetBytes: number,
  ) {}

  /** Most speculative entries the reserved share holds. */
  get maxSpecEntries(): number {
    return Math.floor((this.budgetBytes * SPEC_SHARE) / SPEC_ENTRY_BYTES);
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
    for (let stale = pod.len - pod.live; stale < Math.max(1, pod.len >>> 3); stale++) {
      const list = pod.list;
      const victim = this.sample((k) => list[k]!, pod.len, pinned, pod.id);
      if (victim < 0) break;
      this.evict(victim);
    }
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
    if (extra > this.room()) this.overruns++;
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

  /** The next victim of the node-pool hand; -1 when no record is evictable. */
  private sweep(): number {
    const store = this.core.store;
    const nodes = store.nodes;
    const tick = this.core.tick;
    const high = store.high;
    let best = -1;
    let bestAge = -1;
    let bestDepth = -1;
    let seen = 0;
    for (let k = 0; k < high && seen < WINDOW; k++) {
      if (this.hand >= high) this.hand = 0;
      const id = this.hand++;
      const b = id * NODE_STRIDE;
      if ((nodes[b + F_META]! & M_LIVE) === 0) continue;
      seen++;
      const age = (tick - nodes[b + F_STAMP]!) >>> 0;
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
