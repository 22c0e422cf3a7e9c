import type { KeySeq } from '@kvroute/block-keys';
import { keyAt, keyToHex } from '@kvroute/block-keys';
import type { CanonicalEvent, Tier } from '@kvroute/protocol';
import type {
  IndexStats,
  LookupOptions,
  LookupResult,
  PodSnapshot,
  PodStats,
  PrefixIndex,
  PrefixIndexOptions,
  PrefixStat,
} from '../prefix-index.js';
import {
  checkEvents,
  checkKeys,
  checkOptions,
  checkPod,
  checkSnapshot,
  checkTtl,
} from '../validate.js';

interface Held {
  gpu: boolean;
  cpu: boolean;
}

const UNKNOWN = 0xffff_ffff;
const keysOf = (seq: KeySeq): bigint[] =>
  Array.from({ length: seq.length / 2 }, (_, i) => keyAt(seq, i));
const halves = (k: bigint): [number, number] => [Number(k & 0xffff_ffffn), Number(k >> 32n)];

/**
 * The semantics of PrefixIndex written as plainly as possible — Maps and
 * Sets, no budget, no eviction — for property tests to compare against.
 * Slow on purpose: every lookup scans every pod.
 */
export class ReferenceIndex implements PrefixIndex {
  /** Pods that have had an event or snapshot (the reported ones), in that order → their blocks. */
  private readonly held = new Map<string, Map<bigint, Held>>();
  /** pod → key → expiresAtMs; a pod may be here and not in `held` (speculative only). */
  private readonly spec = new Map<string, Map<bigint, number>>();
  /** Depth of every key some pod holds or has a speculative entry for. */
  private readonly depth = new Map<bigint, number>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private removeMisses = 0;
  /** Lookups repeat the same request objects in tests; their keys are converted once (keys are never mutated). */
  private readonly lookupKeys = new WeakMap<KeySeq, bigint[]>();

  constructor(options: PrefixIndexOptions = {}) {
    checkOptions(options);
    this.ttlMs = options.speculativeTtlMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  private pod(name: string): Map<bigint, Held> {
    let m = this.held.get(name);
    if (!m) {
      m = new Map();
      this.held.set(name, m);
    }
    return m;
  }

  private specOf(name: string): Map<bigint, number> {
    let s = this.spec.get(name);
    if (!s) {
      s = new Map();
      this.spec.set(name, s);
    }
    return s;
  }

  private exists(k: bigint): boolean {
    for (const m of this.held.values()) if (m.has(k)) return true;
    for (const m of this.spec.values()) if (m.has(k)) return true;
    return false;
  }

  private forget(k: bigint): void {
    if (!this.exists(k)) this.depth.delete(k);
  }

  private add(pod: string, k: bigint, tier: Tier): void {
    const m = this.pod(pod);
    const h = m.get(k) ?? { gpu: false, cpu: false };
    h[tier] = true;
    m.set(k, h);
    this.spec.get(pod)?.delete(k);
  }

  /** The depth a store walk carries past key k (see the index's depth rules). */
  private settle(k: bigint, d: number): number {
    const known = this.depth.get(k);
    if (d >= 0) {
      if (known === undefined) this.depth.set(k, d);
      return d;
    }
    return known ?? -1;
  }

  private rejected = 0;

  private guard(check: () => void): void {
    try {
      check();
    } catch (err) {
      this.rejected++;
      throw err;
    }
  }

  apply(pod: string, events: readonly CanonicalEvent[]): void {
    this.guard(() => {
      checkPod(pod);
      checkEvents(events);
    });
    this.pod(pod);
    for (const e of events) {
      if (e.kind === 'cleared') {
        this.clearPod(pod);
      } else if (e.kind === 'removed') {
        for (const k of keysOf(e.keys)) {
          const h = this.held.get(pod)!.get(k);
          if (!h || !h[e.tier]) {
            this.removeMisses++;
            continue;
          }
          h[e.tier] = false;
          if (!h.gpu && !h.cpu) this.held.get(pod)!.delete(k);
          this.forget(k);
        }
      } else {
        let d = e.depth;
        if (d < 0 && e.parent) d = (this.depth.get(keyAt(e.parent, 0)) ?? -2) + 1;
        for (const k of keysOf(e.keys)) {
          d = this.settle(k, d);
          this.add(pod, k, e.tier);
          if (d >= 0) d++;
        }
      }
    }
  }

  clearPod(pod: string): void {
    const m = this.held.get(pod);
    if (!m) return;
    const keys = [...m.keys()];
    m.clear();
    for (const k of keys) this.forget(k);
  }

  removePod(pod: string): void {
    const keys = [...(this.held.get(pod)?.keys() ?? []), ...(this.spec.get(pod)?.keys() ?? [])];
    this.held.delete(pod);
    this.spec.delete(pod);
    for (const k of keys) this.forget(k);
  }

  lookup(keys: KeySeq, options?: LookupOptions): LookupResult {
    checkKeys(keys, 'keys');
    this.expireSpeculative();
    const useSpec = options?.includeSpeculative !== false;
    let ks = this.lookupKeys.get(keys);
    if (!ks) {
      ks = keysOf(keys);
      this.lookupKeys.set(keys, ks);
    }
    const run = (ok: (i: number) => boolean) => {
      let i = 0;
      while (i < ks!.length && ok(i)) i++;
      return i;
    };
    const match = (pod: string) => {
      const m = this.held.get(pod) ?? new Map<bigint, Held>();
      const s = this.spec.get(pod) ?? new Map<bigint, number>();
      return {
        pod,
        gpu: run((i) => m.get(ks[i]!)?.gpu === true),
        total: run((i) => m.has(ks[i]!)),
        speculative: run((i) => m.has(ks[i]!) || (useSpec && s.has(ks[i]!))),
      };
    };
    if (options?.candidates) return { matches: [...new Set(options.candidates)].map(match) };
    const known = new Set([...this.held.keys(), ...this.spec.keys()]);
    return { matches: [...known].map(match).filter((m) => m.speculative > 0) };
  }

  addSpeculative(pod: string, keys: KeySeq, ttlMs = this.ttlMs): void {
    checkPod(pod);
    checkKeys(keys, 'keys');
    checkTtl(ttlMs);
    if (ttlMs <= 0) return;
    this.expireSpeculative();
    const m = this.held.get(pod);
    const s = this.specOf(pod);
    const expires = this.now() + ttlMs;
    // A shorter TTL never cuts an entry short: the later expiry stays.
    for (const k of keysOf(keys)) if (!m?.has(k)) s.set(k, Math.max(s.get(k) ?? 0, expires));
  }

  expireSpeculative(): number {
    const now = this.now();
    let n = 0;
    for (const s of this.spec.values()) {
      for (const [k, at] of s) {
        if (at > now) continue;
        s.delete(k);
        this.forget(k);
        n++;
      }
    }
    return n;
  }

  pods(): string[] {
    return [...this.held.keys()];
  }

  private holderCounts(): Map<bigint, number> {
    const c = new Map<bigint, number>();
    for (const m of this.held.values()) for (const k of m.keys()) c.set(k, (c.get(k) ?? 0) + 1);
    return c;
  }

  stats(): IndexStats {
    const counts = this.holderCounts();
    const perPod = this.pods().map((p) => this.podStats(p)!);
    return {
      pods: this.held.size,
      distinctBlocks: counts.size,
      sharedBlocks: [...counts.values()].filter((c) => c >= 2).length,
      residencies: perPod.reduce((a, p) => a + p.blocks, 0),
      bytesUsed: 0,
      budgetBytes: Infinity,
      evictions: 0,
      evictedResidencies: 0,
      budgetOverruns: 0,
      speculativeEntries: [...this.spec.values()].reduce((a, s) => a + s.size, 0),
      removeMisses: this.removeMisses,
      rejectedBatches: this.rejected,
      perPod,
    };
  }

  podStats(pod: string): PodStats | null {
    const m = this.held.get(pod);
    if (!m) return null;
    const hs = [...m.values()];
    return {
      pod,
      blocks: hs.length,
      gpuBlocks: hs.filter((h) => h.gpu).length,
      cpuBlocks: hs.filter((h) => h.cpu).length,
    };
  }

  topPrefixes(limit: number): PrefixStat[] {
    return [...this.holderCounts()]
      .filter(([, c]) => c >= 2)
      .sort((a, b) => b[1] - a[1])
      .slice(0, Math.max(0, limit))
      .map(([k, holders]) => ({
        key: keyToHex(...halves(k)),
        depth: this.depth.get(k) ?? -1,
        holders,
      }));
  }

  exportPod(pod: string): PodSnapshot {
    const entries: [bigint, number][] = [];
    for (const [k, h] of this.held.get(pod) ?? []) {
      if (h.gpu) entries.push([k, 0]);
      if (h.cpu) entries.push([k, 1]);
    }
    const keys = new Uint32Array(entries.length * 2);
    entries.forEach(([k], i) => keys.set(halves(k), 2 * i));
    return {
      keys,
      tiers: Uint8Array.from(entries, ([, t]) => t),
      depths: Uint32Array.from(entries, ([k]) => this.depth.get(k) ?? UNKNOWN),
    };
  }

  importPod(pod: string, snapshot: PodSnapshot): void {
    this.guard(() => {
      checkPod(pod);
      checkSnapshot(snapshot);
    });
    this.pod(pod);
    this.clearPod(pod);
    keysOf(snapshot.keys).forEach((k, i) => {
      const d = snapshot.depths[i]!;
      this.settle(k, d === UNKNOWN ? -1 : d);
      this.add(pod, k, snapshot.tiers[i] === 0 ? 'gpu' : 'cpu');
    });
  }
}
