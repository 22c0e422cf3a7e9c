import { HolderSets } from './holder-sets.js';
import type { IndexCore } from './index-core.js';
import { F_DEPTH, F_STAMP, NODE_STRIDE, nodeStoreBytes } from './node-store.js';
import type { PodState } from './pod-registry.js';
import { POD_OVERHEAD_BYTES } from './pod-registry.js';

/** Share of the budget reserved for speculative entries (they are capped to fit it). */
export const SPEC_SHARE = 1 / 8;
/** Worst-case bytes per speculative entry: two hash-table slots, a bitset slot, its batch's id. */
const SPEC_ENTRY_BYTES = 160;

/** Candidates looked at per eviction (approximate LRU by sampling, as in Redis). */
const SAMPLES = 8;
const MAX_DRAWS = 64;

/** Where eviction candidates are drawn from. */
const Source = { Nodes: 0, HolderSets: 1, Pod: 2 } as const;
type Source = (typeof Source)[keyof typeof Source];

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
 * The victim is, among SAMPLES random candidates, the one with the oldest
 * stamp (last store or lookup that touched it), ties to the deepest block, so
 * lookups — which stamp every block they walk — keep hot prefixes, and a
 * prefix loses its tail before its head. Evicting a node drops the key for
 * every pod holding it, so no lookup can report it afterwards.
 */
export class Budget {
  evictions = 0;
  evictedResidencies = 0;
  overruns = 0;
  private rng = 0x2545_f491;

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
    const target = this.fit(cap, store.byteLength, nodeStoreBytes);
    if (target > 0) return store.grow(target);
    while (store.full) {
      const victim = this.pick(Source.Nodes, null, -1);
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
    const target = this.fit(cap, h.byteLength, (c) => HolderSets.bytesFor(c, words));
    if (target > 0) return h.grow(target);
    while (h.full) {
      const victim = this.pick(Source.HolderSets, null, pinned);
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
    const reg = this.core.pods;
    const held = (id: number) => this.core.holds(id, pod.id) !== 0;
    // Stale entries are cheaper to drop than to keep growing past.
    if ((pod.len - pod.live) * 4 >= pod.len) {
      reg.compact(pod, held);
      if (pod.len < pod.list.length) return;
    }
    const cap = pod.list.length;
    const want = Math.ceil(cap * 1.5);
    if ((want - cap) * 4 <= this.room()) return reg.resizeList(pod, want);
    reg.compact(pod, held);
    if (pod.len < pod.list.length) return;
    for (let k = Math.max(1, pod.len >>> 6); k > 0; k--) {
      const victim = this.pick(Source.Pod, pod, pinned);
      if (victim < 0) break;
      this.evict(victim);
    }
    reg.compact(pod, held);
    if (pod.len < pod.list.length) return;
    this.overruns++;
    reg.resizeList(pod, want);
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

  /** A live node to evict from `source`, never `pinned`; -1 when there is none. */
  private pick(source: Source, pod: PodState | null, pinned: number): number {
    const core = this.core;
    const store = core.store;
    const nodes = store.nodes;
    let best = -1;
    let bestAge = -1;
    let bestDepth = -1;
    for (let draw = 0, got = 0; draw < MAX_DRAWS && got < SAMPLES; draw++) {
      let id: number;
      if (source === Source.Nodes) {
        if (store.high === 0) return -1;
        id = this.rand(store.high);
      } else if (source === Source.HolderSets) {
        if (core.holders.high === 0) return -1;
        id = core.holders.owner(this.rand(core.holders.high));
      } else {
        if (pod!.len === 0) return -1;
        id = pod!.list[this.rand(pod!.len)]!;
        if (core.holds(id, pod!.id) === 0) continue;
      }
      if (id === pinned || !store.isLive(id)) continue;
      got++;
      const b = id * NODE_STRIDE;
      const age = (core.tick - nodes[b + F_STAMP]!) >>> 0;
      const depth = nodes[b + F_DEPTH]!;
      if (age > bestAge || (age === bestAge && depth > bestDepth)) {
        best = id;
        bestAge = age;
        bestDepth = depth;
      }
    }
    return best;
  }
}
