import { H_BITS, HolderSets } from './holder-sets.js';
import {
  COUNT_MASK,
  CPU,
  GPU,
  F_DEPTH,
  F_META,
  F_SLOT,
  F_STAMP,
  M_SPEC,
  MIN_NODES,
  NODE_STRIDE,
  NodeStore,
  nodeStoreBytes,
} from './node-store.js';
import type { PodState } from './pod-registry.js';
import { PodRegistry } from './pod-registry.js';
import { SpeculativeSet } from './speculative.js';
import { Budget } from './budget.js';
import { Walker } from './walk.js';

/**
 * The index state and the operations that keep its counters and structures
 * consistent: adding and removing (pod, node, tier) residencies and
 * speculative entries. Memory growth and eviction are delegated to Budget.
 *
 * A node's holders live inline in its record while it has fewer than `extAt`
 * of them, else in a HolderSets bitset slot (extAt 2 is the default layout;
 * extAt 1, bitsets for every node, exists to measure the difference).
 */
export class IndexCore {
  readonly store: NodeStore;
  readonly holders: HolderSets;
  readonly pods: PodRegistry;
  readonly spec: SpeculativeSet;
  readonly budget: Budget;
  readonly walker = new Walker();
  readonly extAt: number;
  words = 1;
  /** Recency clock: advanced once per mutating call and per lookup. */
  tick = 1;

  realNodes = 0;
  sharedNodes = 0;
  residencies = 0;
  removeMisses = 0;
  /** Pod ids, for eviction (one word of bits = 32 ids). */
  scratch = new Int32Array(32);

  constructor(budgetBytes: number, extAt: 1 | 2, expectedBlocks = 0) {
    this.extAt = extAt;
    let cap = Math.max(MIN_NODES, Math.floor(expectedBlocks));
    while (cap > MIN_NODES && nodeStoreBytes(cap) > budgetBytes / 2) cap = Math.floor(cap / 2);
    this.store = new NodeStore(cap);
    this.holders = new HolderSets(1);
    this.pods = new PodRegistry(1);
    this.spec = new SpeculativeSet(1);
    this.budget = new Budget(this, budgetBytes);
  }

  bytesUsed(): number {
    return (
      this.store.byteLength +
      this.holders.byteLength +
      this.pods.byteLength +
      this.spec.byteLength +
      this.scratch.byteLength +
      this.walker.byteLength
    );
  }

  /** The pod's state, registering it (and widening the pod bitsets) when new. */
  podFor(name: string): PodState {
    const known = this.pods.get(name);
    if (known) return known;
    const id = this.pods.nextId();
    if (id >= 32 * this.words) {
      let words = this.words;
      while (id >= 32 * words) words *= 2;
      this.budget.beforeWiden(words);
      this.words = words;
      this.holders.setWords(words);
      this.pods.setWords(words);
      this.spec.setWords(words);
      this.scratch = new Int32Array(32 * words);
    }
    this.budget.beforeRegister();
    return this.pods.register(name);
  }

  /** Drops the pod's stale and duplicate list entries (list[0, len) = exactly what it holds). */
  compactList(pod: PodState): void {
    this.pods.compact(pod, (id) => this.holds(id, pod.id) !== 0, this.store.marks);
  }

  /** Tier bits (GPU | CPU) the pod holds the node in; 0 when not a holder (or the node is free). */
  holds(id: number, podId: number): number {
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    const count = nodes[b + F_META]! & COUNT_MASK;
    if (count === 0) return 0;
    const slot = nodes[b + F_SLOT]!;
    if (count < this.extAt) return slot >>> 2 === podId ? slot & 3 : 0;
    const d = this.holders.data;
    const base = slot * this.holders.stride + H_BITS + (podId >>> 5);
    const bit = 1 << (podId & 31);
    return ((d[base]! & bit) !== 0 ? GPU : 0) | ((d[base + this.words]! & bit) !== 0 ? CPU : 0);
  }

  /** The node of a key, created when absent (which may evict other nodes). */
  findOrCreate(lo: number, hi: number): number {
    const id = this.store.findOrInsert(lo, hi, this.tick);
    if (id >= 0) return id;
    this.budget.ensureNodeRoom();
    return this.store.insert(lo, hi, this.tick);
  }

  /** Adds a tier residency; a duplicate is a no-op. Replaces the pod's speculative entry. */
  addTier(pod: PodState, id: number, tier: number): void {
    const cur = this.holds(id, pod.id);
    if ((cur & tier) !== 0) return;
    if (cur === 0) {
      this.budget.ensureListRoom(pod, id);
      const count = this.store.nodes[id * NODE_STRIDE + F_META]! & COUNT_MASK;
      if (count + 1 >= this.extAt && count < this.extAt) this.budget.ensureHolderRoom(id);
      this.addHolder(pod, id, tier);
    } else {
      this.flipTier(id, pod.id, tier, true);
    }
    if (tier === GPU) pod.gpuBlocks++;
    else pod.cpuBlocks++;
    const meta = this.store.nodes[id * NODE_STRIDE + F_META]!;
    if ((meta & M_SPEC) !== 0 && this.spec.ownerBatch(id, pod.id) >= 0) this.dropSpec(id, pod.id);
  }

  /** Removes one tier residency; counts a miss when the pod does not hold it in that tier. */
  removeTier(pod: PodState, id: number, tier: number): void {
    const cur = this.holds(id, pod.id);
    if ((cur & tier) === 0) {
      this.removeMisses++;
      return;
    }
    if (tier === GPU) pod.gpuBlocks--;
    else pod.cpuBlocks--;
    if ((cur & ~tier) !== 0) this.flipTier(id, pod.id, tier, false);
    else this.removeHolder(pod, id);
  }

  /** Drops every residency of the pod (not its speculative entries). O(its list). */
  clearPod(pod: PodState): void {
    const list = pod.list;
    for (let i = 0; i < pod.len; i++) {
      const id = list[i]!;
      const cur = this.holds(id, pod.id);
      if (cur !== 0) this.dropHolder(pod, id, cur);
    }
    pod.len = 0;
    if (pod.list.length > 64) this.pods.resizeList(pod, 0);
  }

  /** Removes a holder whatever its tiers, keeping the pod's tier counters right. */
  dropHolder(pod: PodState, id: number, cur: number): void {
    if ((cur & GPU) !== 0) pod.gpuBlocks--;
    if ((cur & CPU) !== 0) pod.cpuBlocks--;
    this.removeHolder(pod, id);
  }

  private addHolder(pod: PodState, id: number, tier: number): void {
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    const meta = nodes[b + F_META]!;
    const count = meta & COUNT_MASK;
    const next = count + 1;
    if (next >= this.extAt) {
      const h = this.holders;
      let s: number;
      if (count >= this.extAt) {
        s = nodes[b + F_SLOT]!;
        h.unlink(s, count);
      } else {
        s = h.alloc(id);
        if (count === 1) {
          const inline = nodes[b + F_SLOT]!;
          this.setBits(s, inline >>> 2, inline & 3);
        }
        nodes[b + F_SLOT] = s;
      }
      this.setBits(s, pod.id, tier);
      h.link(s, next);
    } else {
      nodes[b + F_SLOT] = (pod.id << 2) | tier;
    }
    nodes[b + F_META] = (meta & ~COUNT_MASK) | next;
    if (count === 0) this.realNodes++;
    if (next === 2) this.sharedNodes++;
    this.residencies++;
    pod.live++;
    pod.list[pod.len++] = id;
  }

  private removeHolder(pod: PodState, id: number): void {
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    const meta = nodes[b + F_META]!;
    const count = meta & COUNT_MASK;
    const next = count - 1;
    if (count >= this.extAt) {
      const h = this.holders;
      const s = nodes[b + F_SLOT]!;
      h.unlink(s, count);
      const base = s * h.stride + H_BITS + (pod.id >>> 5);
      const keep = ~(1 << (pod.id & 31));
      h.data[base]! &= keep;
      h.data[base + this.words]! &= keep;
      if (next >= this.extAt) {
        h.link(s, next);
      } else {
        nodes[b + F_SLOT] = next === 1 ? this.soleHolder(s) : 0;
        h.free(s);
      }
    } else {
      nodes[b + F_SLOT] = 0;
    }
    nodes[b + F_META] = (meta & ~COUNT_MASK) | next;
    if (count === 2) this.sharedNodes--;
    this.residencies--;
    pod.live--;
    if (next === 0) {
      this.realNodes--;
      if ((meta & M_SPEC) === 0) this.store.remove(id);
    }
  }

  /** The inline form (pod << 2 | tiers) of the one pod left in a bitset slot. */
  private soleHolder(s: number): number {
    const h = this.holders;
    const base = s * h.stride + H_BITS;
    for (let w = 0; w < this.words; w++) {
      const g = h.data[base + w]!;
      const c = h.data[base + this.words + w]!;
      const any = g | c;
      if (any !== 0) {
        const bit = any & -any;
        const p = w * 32 + 31 - Math.clz32(bit);
        return (p << 2) | ((g & bit) !== 0 ? GPU : 0) | ((c & bit) !== 0 ? CPU : 0);
      }
    }
    return 0;
  }

  private setBits(s: number, podId: number, tiers: number): void {
    const h = this.holders;
    const base = s * h.stride + H_BITS + (podId >>> 5);
    const bit = 1 << (podId & 31);
    if ((tiers & GPU) !== 0) h.data[base]! |= bit;
    if ((tiers & CPU) !== 0) h.data[base + this.words]! |= bit;
  }

  /** Sets or clears one tier of an existing holder. */
  private flipTier(id: number, podId: number, tier: number, on: boolean): void {
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    if ((nodes[b + F_META]! & COUNT_MASK) < this.extAt) {
      nodes[b + F_SLOT] = on ? nodes[b + F_SLOT]! | tier : nodes[b + F_SLOT]! & ~tier;
      return;
    }
    const h = this.holders;
    const at =
      nodes[b + F_SLOT]! * h.stride + H_BITS + (podId >>> 5) + (tier === CPU ? this.words : 0);
    const bit = 1 << (podId & 31);
    if (on) h.data[at]! |= bit;
    else h.data[at]! &= ~bit;
  }

  /** Deletes a speculative entry; frees the node when nothing else keeps it. */
  dropSpec(id: number, podId: number): void {
    if (!this.spec.remove(id, podId)) return;
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    const meta = nodes[b + F_META]! & ~M_SPEC;
    nodes[b + F_META] = meta;
    if ((meta & COUNT_MASK) === 0) this.store.remove(id);
  }

  /** Removes a node with all its residencies and speculative entries. */
  evict(id: number): number {
    const nodes = this.store.nodes;
    const b = id * NODE_STRIDE;
    const scratch = this.scratch;
    if ((nodes[b + F_META]! & M_SPEC) !== 0) {
      const n = this.spec.podsOf(id, scratch);
      for (let i = 0; i < n; i++) this.spec.remove(id, scratch[i]!);
      nodes[b + F_META] = nodes[b + F_META]! & ~M_SPEC;
    }
    const count = nodes[b + F_META]! & COUNT_MASK;
    let n = 0;
    if (count > 0 && count < this.extAt) {
      scratch[n++] = nodes[b + F_SLOT]! >>> 2;
    } else if (count > 0) {
      const h = this.holders;
      const base = nodes[b + F_SLOT]! * h.stride + H_BITS;
      for (let w = 0; w < this.words; w++) {
        let bits = h.data[base + w]! | h.data[base + this.words + w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          scratch[n++] = w * 32 + 31 - Math.clz32(low);
          bits ^= low;
        }
      }
    }
    for (let i = 0; i < n; i++) {
      const pod = this.pods.byId[scratch[i]!]!;
      this.dropHolder(pod, id, this.holds(id, pod.id));
    }
    if (this.store.isLive(id)) this.store.remove(id);
    return n;
  }

  /** Stamps a node as just used (eviction prefers old stamps). */
  touch(id: number): void {
    this.store.nodes[id * NODE_STRIDE + F_STAMP] = this.tick;
  }

  depthOf(id: number): number {
    return this.store.nodes[id * NODE_STRIDE + F_DEPTH]!;
  }
}
