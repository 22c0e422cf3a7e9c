import type { KeySeq } from '@kvroute/block-keys';
import { keyToHex } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';
import { IndexCore } from './index-core.js';
import {
  CPU,
  F_DEPTH,
  F_HI,
  F_LO,
  F_META,
  GPU,
  M_SPEC,
  NODE_STRIDE,
  UNKNOWN_DEPTH,
} from './node-store.js';
import type { PodState } from './pod-registry.js';
import type {
  IndexStats,
  LookupOptions,
  LookupResult,
  PodMatch,
  PodSnapshot,
  PodStats,
  PrefixIndex,
  PrefixIndexOptions,
  PrefixStat,
} from './prefix-index.js';
import type { SpecBatch } from './speculative.js';
import {
  checkEvents,
  checkKeys,
  checkOptions,
  checkPod,
  checkSnapshot,
  checkTtl,
} from './validate.js';

export interface BitsetIndexOptions extends PrefixIndexOptions {
  /**
   * 'hybrid' (default): one holder inline in the node record, bitsets from two
   * holders on. 'bitset': a bitset for every node — kept to measure the choice.
   */
  holderLayout?: 'hybrid' | 'bitset';
}

/** The typed-array implementation of PrefixIndex (see README "Layout"). */
export class BitsetPrefixIndex implements PrefixIndex {
  private readonly core: IndexCore;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private candMask = new Int32Array(1);
  private rejected = 0;

  constructor(options: BitsetIndexOptions = {}) {
    checkOptions(options);
    const budget = options.budgetBytes ?? 2 ** 30;
    this.ttlMs = options.speculativeTtlMs ?? 5000;
    this.now = options.now ?? Date.now;
    const expected = options.expectedBlocks ?? 0;
    this.core = new IndexCore(budget, options.holderLayout === 'bitset' ? 1 : 2, expected);
  }

  apply(pod: string, events: readonly CanonicalEvent[]): void {
    try {
      checkPod(pod);
      checkEvents(events);
    } catch (err) {
      this.rejected++;
      throw err;
    }
    const core = this.core;
    const p = core.podFor(pod);
    core.pods.report(p);
    core.tick++;
    for (const e of events) {
      if (e.kind === 'stored')
        this.store(p, e.keys, e.tier === 'gpu' ? GPU : CPU, e.depth, e.parent);
      else if (e.kind === 'removed') this.remove(p, e.keys, e.tier === 'gpu' ? GPU : CPU);
      else core.clearPod(p);
    }
  }

  private store(p: PodState, keys: KeySeq, tier: number, depth: number, parent: KeySeq | null) {
    const core = this.core;
    let d = depth;
    if (d < 0 && parent !== null) {
      const pid = core.store.find(parent[0]!, parent[1]!);
      const pd = pid >= 0 ? core.depthOf(pid) : UNKNOWN_DEPTH;
      if (pd !== UNKNOWN_DEPTH) d = pd + 1;
    }
    let prev = -1;
    core.store.prefetch(keys, 0, keys.length >>> 1);
    for (let i = 0; i < keys.length; i += 2) {
      const id = core.findOrCreate(keys[i]!, keys[i + 1]!);
      core.touch(id);
      if (prev >= 0) core.store.link(prev, id);
      d = this.settleDepth(id, d);
      core.addTier(p, id, tier);
      if (d >= 0) d++;
      prev = id;
    }
  }

  /** Records a depth the node lacks, or learns the walk's depth from the node. */
  private settleDepth(id: number, d: number): number {
    const nodes = this.core.store.nodes;
    const known = nodes[id * NODE_STRIDE + F_DEPTH]!;
    if (d >= UNKNOWN_DEPTH) return -1;
    if (d >= 0) {
      if (known === UNKNOWN_DEPTH) nodes[id * NODE_STRIDE + F_DEPTH] = d;
      return d;
    }
    return known === UNKNOWN_DEPTH ? -1 : known;
  }

  private remove(p: PodState, keys: KeySeq, tier: number): void {
    const core = this.core;
    core.store.prefetch(keys, 0, keys.length >>> 1);
    for (let i = 0; i < keys.length; i += 2) {
      const id = core.store.find(keys[i]!, keys[i + 1]!);
      if (id < 0) core.removeMisses++;
      else core.removeTier(p, id, tier);
    }
  }

  clearPod(pod: string): void {
    const p = this.core.pods.get(pod);
    if (p) this.core.clearPod(p);
  }

  removePod(pod: string): void {
    const p = this.core.pods.get(pod);
    if (!p) return;
    this.core.clearPod(p);
    for (const batch of p.specBatches) if (!batch.done) this.dropBatch(batch);
    this.core.pods.unregister(p);
  }

  lookup(keys: KeySeq, options?: LookupOptions): LookupResult {
    checkKeys(keys, 'keys');
    const core = this.core;
    if (core.spec.nextExpiryMs !== Infinity) this.expireDue(this.now());
    core.tick++;
    const cands = options?.candidates;
    const useSpec = options?.includeSpeculative !== false;
    const pods = core.pods;
    if (!cands) {
      this.core.walker.run(core, keys, pods.active, useSpec);
      const { depthG, depthT, depthS } = core.walker;
      const matches: PodMatch[] = [];
      for (let w = 0; w < core.words; w++) {
        let bits = pods.active[w]!;
        while (bits !== 0) {
          const low = bits & -bits;
          bits ^= low;
          const id = w * 32 + 31 - Math.clz32(low);
          if (depthS[id]! > 0) {
            const pod = pods.byId[id]!.name;
            matches.push({ pod, gpu: depthG[id]!, total: depthT[id]!, speculative: depthS[id]! });
          }
        }
      }
      return { matches };
    }
    if (this.candMask.length < core.words) this.candMask = new Int32Array(core.words);
    const mask = this.candMask.fill(0);
    const names = cands.length > 1 ? [...new Set(cands)] : cands;
    const ids = names.map((name) => pods.get(name)?.id ?? -1);
    for (const id of ids) if (id >= 0) mask[id >>> 5]! |= 1 << (id & 31);
    this.core.walker.run(core, keys, mask, useSpec);
    const { depthG, depthT, depthS } = core.walker;
    const matches = names.map((pod, i): PodMatch => {
      const id = ids[i]!;
      if (id < 0) return { pod, gpu: 0, total: 0, speculative: 0 };
      return { pod, gpu: depthG[id]!, total: depthT[id]!, speculative: depthS[id]! };
    });
    return { matches };
  }

  addSpeculative(pod: string, keys: KeySeq, ttlMs: number = this.ttlMs): void {
    checkPod(pod);
    checkKeys(keys, 'keys');
    checkTtl(ttlMs);
    const core = this.core;
    const spec = core.spec;
    if (ttlMs <= 0) return; // before podFor: a no-op must not register the pod
    const now = this.now();
    this.expireDue(now);
    const p = core.podFor(pod);
    core.tick++;
    // Bytes, not entries: a one-key batch costs its overhead and table growth, not 1/n of them.
    const capBytes = core.budget.specBytes;
    let n = keys.length >>> 1;
    let need = spec.bytesWith(n);
    while (need > capBytes && spec.nextExpiryMs !== Infinity) {
      this.dropBatch(spec.pop()!);
      need = spec.bytesWith(n);
    }
    if (need > capBytes) {
      spec.shrinkIfEmpty(); // nothing is pending now; drop the peak's table sizes
      n = spec.fitting(n, capBytes);
    }
    if (n === 0) return;
    const batch = spec.newBatch(p.id, n, now + ttlMs);
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const id = core.findOrCreate(keys[2 * i]!, keys[2 * i + 1]!);
      core.touch(id);
      if (prev >= 0) core.store.link(prev, id);
      prev = id;
      if (core.holds(id, p.id) !== 0) continue;
      if (spec.add(id, batch)) core.store.nodes[id * NODE_STRIDE + F_META]! |= M_SPEC;
    }
    if (batch.len === 0) return;
    spec.push(batch);
    p.specBatches.push(batch);
    if (p.specBatches.length >= p.specBatchesPruneAt) {
      p.specBatches = p.specBatches.filter((b) => !b.done);
      p.specBatchesPruneAt = Math.max(16, 2 * p.specBatches.length);
    }
  }

  expireSpeculative(): number {
    return this.expireDue(this.now());
  }

  private expireDue(now: number): number {
    let dropped = 0;
    while (this.core.spec.nextExpiryMs <= now) dropped += this.dropBatch(this.core.spec.pop()!);
    return dropped;
  }

  /** Drops the entries a batch still owns; returns how many. */
  private dropBatch(batch: SpecBatch): number {
    const core = this.core;
    let n = 0;
    for (let i = 0; i < batch.len; i++) {
      const id = batch.nodes[i]!;
      if (core.spec.ownerBatch(id, batch.podId) === batch.id) {
        core.dropSpec(id, batch.podId);
        n++;
      }
    }
    return n;
  }

  pods(): string[] {
    return [...this.core.pods.reported.keys()];
  }

  stats(): IndexStats {
    const core = this.core;
    return {
      pods: core.pods.reported.size,
      distinctBlocks: core.realNodes,
      sharedBlocks: core.sharedNodes,
      residencies: core.residencies,
      bytesUsed: core.bytesUsed(),
      budgetBytes: core.budget.budgetBytes,
      evictions: core.budget.evictions,
      evictedResidencies: core.budget.evictedResidencies,
      budgetOverruns: core.budget.overruns,
      speculativeEntries: core.spec.size,
      removeMisses: core.removeMisses,
      rejectedBatches: this.rejected,
      perPod: [...core.pods.reported.values()].map(podStatsOf),
    };
  }

  podStats(pod: string): PodStats | null {
    const p = this.core.pods.reported.get(pod);
    return p ? podStatsOf(p) : null;
  }

  topPrefixes(limit: number): PrefixStat[] {
    const out: PrefixStat[] = [];
    if (!(limit > 0)) return out;
    const core = this.core;
    const nodes = core.store.nodes;
    core.holders.forEachByCount(2, (s, holders) => {
      const b = core.holders.owner(s) * NODE_STRIDE;
      const depth = nodes[b + F_DEPTH]!;
      out.push({
        key: keyToHex(nodes[b + F_LO]!, nodes[b + F_HI]!),
        depth: depth === UNKNOWN_DEPTH ? -1 : depth,
        holders,
      });
      return out.length < limit;
    });
    return out;
  }

  exportPod(pod: string): PodSnapshot {
    const core = this.core;
    const p = core.pods.get(pod);
    if (!p)
      return { keys: new Uint32Array(0), tiers: new Uint8Array(0), depths: new Uint32Array(0) };
    core.compactList(p);
    let n = 0;
    for (let i = 0; i < p.len; i++) n += core.holds(p.list[i]!, p.id) === (GPU | CPU) ? 2 : 1;
    const keys = new Uint32Array(2 * n);
    const tiers = new Uint8Array(n);
    const depths = new Uint32Array(n);
    const nodes = core.store.nodes;
    let j = 0;
    for (let i = 0; i < p.len; i++) {
      const id = p.list[i]!;
      const cur = core.holds(id, p.id);
      for (let tier = GPU; tier <= CPU; tier <<= 1) {
        if ((cur & tier) === 0) continue;
        keys[2 * j] = nodes[id * NODE_STRIDE + F_LO]!;
        keys[2 * j + 1] = nodes[id * NODE_STRIDE + F_HI]!;
        tiers[j] = tier === GPU ? 0 : 1;
        depths[j] = nodes[id * NODE_STRIDE + F_DEPTH]!;
        j++;
      }
    }
    return { keys, tiers, depths };
  }

  importPod(pod: string, snapshot: PodSnapshot): void {
    try {
      checkPod(pod);
      checkSnapshot(snapshot);
    } catch (err) {
      this.rejected++;
      throw err;
    }
    const core = this.core;
    const p = core.podFor(pod);
    core.pods.report(p);
    core.clearPod(p);
    core.tick++;
    const { keys, tiers, depths } = snapshot;
    for (let i = 0; i < tiers.length; i++) {
      const id = core.findOrCreate(keys[2 * i]!, keys[2 * i + 1]!);
      core.touch(id);
      const d = depths[i]!;
      this.settleDepth(id, d === UNKNOWN_DEPTH ? -1 : d);
      core.addTier(p, id, tiers[i] === 0 ? GPU : CPU);
    }
  }
}

function podStatsOf(p: PodState): PodStats {
  return { pod: p.name, blocks: p.live, gpuBlocks: p.gpuBlocks, cpuBlocks: p.cpuBlocks };
}
