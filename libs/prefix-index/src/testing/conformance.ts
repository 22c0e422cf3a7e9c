import type { KeySeq } from '@kvroute/block-keys';
import { keySeqFrom, keyToHex } from '@kvroute/block-keys';
import type { CanonicalEvent, Tier } from '@kvroute/protocol';
import { describe, expect, it } from 'vitest';
import type { PodMatch, PrefixIndex, PrefixIndexOptions } from '../prefix-index.js';

export type PrefixIndexFactory = (options: PrefixIndexOptions) => PrefixIndex;

export interface ConformanceFeatures {
  /** The implementation enforces `budgetBytes` (runs the eviction cases). Default true. */
  bounded?: boolean;
}

/** Key id → a 64-bit key with both halves busy (ids stay readable in tests). */
export const testKey = (id: number): bigint =>
  (BigInt(id + 1) * 0x9e37_79b9_7f4a_7c15n) & 0xffff_ffff_ffff_ffffn;
export const keysOf = (...ids: number[]): KeySeq => keySeqFrom(ids.map(testKey));
export const keyRange = (from: number, to: number): KeySeq =>
  keysOf(...Array.from({ length: to - from }, (_, i) => from + i));

export const stored = (
  keys: KeySeq,
  tier: Tier = 'gpu',
  depth = -1,
  parent: KeySeq | null = null,
): CanonicalEvent => ({ kind: 'stored', parent, keys, tier, depth });
export const removed = (keys: KeySeq, tier: Tier = 'gpu'): CanonicalEvent => ({
  kind: 'removed',
  keys,
  tier,
});

const byPod = (ms: PodMatch[]) => [...ms].sort((a, b) => a.pod.localeCompare(b.pod));
const m = (pod: string, gpu: number, total = gpu, speculative = total): PodMatch => ({
  pod,
  gpu,
  total,
  speculative,
});

/**
 * The behaviour every PrefixIndex must have. Registers vitest tests; call it
 * from a test file with a factory for the implementation under test.
 */
export function describePrefixIndexConformance(
  name: string,
  factory: PrefixIndexFactory,
  features: ConformanceFeatures = {},
): void {
  describe(`PrefixIndex conformance: ${name}`, () => {
    let clock = 0;
    const make = (o: PrefixIndexOptions = {}) => {
      clock = 1_000;
      return factory({ now: () => clock, ...o });
    };
    const P = keyRange(0, 10);
    const look = (ix: PrefixIndex, keys = P, o?: Parameters<PrefixIndex['lookup']>[1]) =>
      byPod(ix.lookup(keys, o).matches);

    it('matches each pod to the depth of its unbroken run from block 0', () => {
      const ix = make();
      ix.apply('a', [stored(keyRange(0, 10), 'gpu', 0)]);
      ix.apply('b', [stored(keyRange(0, 4), 'gpu', 0)]);
      ix.apply('c', [stored(keyRange(20, 30), 'gpu', 0)]);
      expect(look(ix)).toEqual([m('a', 10), m('b', 4)]);
      expect(look(ix, keysOf(0, 1, 99))).toEqual([m('a', 2), m('b', 2)]);
      expect(look(ix, keysOf(99, 0))).toEqual([]);
      expect(look(ix, new Uint32Array(0))).toEqual([]);
      expect(ix.pods().sort()).toEqual(['a', 'b', 'c']);
    });

    it('breaks only the run of the pod that lost a middle block', () => {
      const ix = make();
      ix.apply('a', [stored(P, 'gpu', 0)]);
      ix.apply('b', [stored(P, 'gpu', 0)]);
      ix.apply('a', [removed(keysOf(4))]);
      expect(look(ix)).toEqual([m('a', 4), m('b', 10)]);
    });

    it('matches depth 3 for a pod holding blocks 0-2 and 4-9', () => {
      const ix = make();
      ix.apply('a', [stored(keyRange(0, 3), 'gpu', 0), stored(keyRange(4, 10), 'gpu', 4)]);
      expect(look(ix)).toEqual([m('a', 3)]);
      ix.apply('a', [stored(keysOf(3), 'gpu', 3)]);
      expect(look(ix)).toEqual([m('a', 10)]);
    });

    it('treats duplicate stores as idempotent and counts removals of blocks not held', () => {
      const ix = make();
      ix.apply('a', [stored(P), stored(P), stored(keyRange(0, 5))]);
      const s = ix.stats();
      expect(s.residencies).toBe(10);
      expect(s.distinctBlocks).toBe(10);
      expect(ix.podStats('a')).toEqual({ pod: 'a', blocks: 10, gpuBlocks: 10, cpuBlocks: 0 });
      ix.apply('a', [removed(keysOf(9)), removed(keysOf(9)), removed(keysOf(77))]);
      ix.apply('a', [removed(keysOf(8), 'cpu')]);
      expect(ix.stats().removeMisses).toBe(3);
      expect(ix.stats().residencies).toBe(9);
      expect(look(ix)).toEqual([m('a', 9)]);
    });

    it('keeps GPU and CPU tiers apart', () => {
      const ix = make();
      ix.apply('a', [stored(keyRange(0, 6), 'gpu', 0), stored(keyRange(6, 10), 'cpu', 6)]);
      expect(look(ix)).toEqual([m('a', 6, 10)]);
      // Offloaded copy of a GPU block: one residency, counted in both tiers.
      ix.apply('a', [stored(keyRange(0, 2), 'cpu', 0)]);
      expect(ix.podStats('a')).toEqual({ pod: 'a', blocks: 10, gpuBlocks: 6, cpuBlocks: 6 });
      ix.apply('a', [removed(keysOf(1), 'gpu')]);
      expect(look(ix)).toEqual([m('a', 1, 10)]);
      ix.apply('a', [removed(keysOf(1), 'cpu')]);
      expect(look(ix)).toEqual([m('a', 1, 1)]);
      ix.apply('a', [removed(keysOf(0), 'cpu')]);
      expect(look(ix)).toEqual([m('a', 1, 1)]);
      expect(ix.stats().residencies).toBe(9);
    });

    it('clears a pod by event or call, and forgets a removed pod', () => {
      const ix = make();
      ix.apply('a', [stored(P)]);
      ix.apply('b', [stored(P)]);
      ix.apply('a', [{ kind: 'cleared' }, stored(keyRange(0, 2))]);
      expect(look(ix)).toEqual([m('a', 2), m('b', 10)]);
      ix.clearPod('b');
      expect(look(ix)).toEqual([m('a', 2)]);
      expect(ix.pods().sort()).toEqual(['a', 'b']);
      expect(ix.stats().distinctBlocks).toBe(2);
      ix.removePod('a');
      ix.removePod('nobody');
      expect(ix.pods()).toEqual(['b']);
      expect(look(ix)).toEqual([]);
      expect(ix.stats().residencies).toBe(0);
      expect(ix.podStats('a')).toBeNull();
    });

    it('shows speculative entries until they expire or a real store replaces them', () => {
      const ix = make({ speculativeTtlMs: 100 });
      ix.apply('a', [stored(keyRange(0, 3))]);
      ix.addSpeculative('a', P);
      ix.addSpeculative('b', keyRange(0, 5), 300);
      expect(look(ix)).toEqual([m('a', 3, 3, 10), m('b', 0, 0, 5)]);
      expect(look(ix, P, { includeSpeculative: false })).toEqual([m('a', 3)]);
      // Speculative entries never count as held.
      const s = ix.stats();
      expect([s.distinctBlocks, s.residencies, s.speculativeEntries]).toEqual([3, 3, 12]);
      expect(ix.exportPod('b').keys.length).toBe(0);
      expect(ix.topPrefixes(10)).toEqual([]);
      ix.apply('b', [stored(keyRange(0, 2))]);
      expect(ix.stats().speculativeEntries).toBe(10);
      clock += 100;
      expect(look(ix)).toEqual([m('a', 3), m('b', 2, 2, 5)]);
      expect(ix.stats().speculativeEntries).toBe(3);
      clock += 200;
      expect(ix.expireSpeculative()).toBe(3);
      expect(look(ix)).toEqual([m('a', 3), m('b', 2)]);
      expect(ix.stats().distinctBlocks).toBe(3);
    });

    it('extends a speculative entry when it is added again, and drops it with the pod', () => {
      const ix = make({ speculativeTtlMs: 100 });
      ix.addSpeculative('a', keyRange(0, 4));
      clock += 60;
      ix.addSpeculative('a', keyRange(0, 2));
      clock += 60;
      expect(look(ix)).toEqual([m('a', 0, 0, 2)]);
      ix.clearPod('a');
      expect(look(ix)).toEqual([m('a', 0, 0, 2)]);
      ix.removePod('a');
      expect(ix.stats().speculativeEntries).toBe(0);
      ix.addSpeculative('a', P, 0);
      expect(look(ix)).toEqual([]);
    });

    it('keeps the later expiry when a speculative entry is added again with a shorter TTL', () => {
      const ix = make({ speculativeTtlMs: 100 });
      ix.addSpeculative('a', keyRange(0, 4), 5000);
      ix.addSpeculative('a', keyRange(0, 6), 10);
      clock += 20;
      expect(look(ix)).toEqual([m('a', 0, 0, 4)]);
      expect(ix.stats().speculativeEntries).toBe(4);
      clock += 5000;
      expect(look(ix)).toEqual([]);
      expect(ix.stats().speculativeEntries).toBe(0);
    });

    it('keeps pods known only by speculative entries out of pods(), stats and podStats', () => {
      const ix = make({ speculativeTtlMs: 100 });
      ix.apply('real', [stored(keyRange(0, 2))]);
      ix.addSpeculative('ghost', keyRange(0, 4));
      ix.addSpeculative('zero', keyRange(0, 4), 0);
      const only = (names: string[]) => {
        expect(ix.pods()).toEqual(names);
        const s = ix.stats();
        expect(s.pods).toBe(names.length);
        expect(s.perPod.map((p) => p.pod)).toEqual(names);
      };
      only(['real']);
      expect(ix.podStats('ghost')).toBeNull();
      expect(ix.podStats('zero')).toBeNull();
      expect(ix.stats().speculativeEntries).toBe(4);
      // Lookups still see them, with and without candidates.
      expect(look(ix)).toEqual([m('ghost', 0, 0, 4), m('real', 2)]);
      expect(ix.lookup(P, { candidates: ['ghost', 'zero'] }).matches).toEqual([
        m('ghost', 0, 0, 4),
        m('zero', 0),
      ]);
      // Its first event (even an empty batch) makes it a pod.
      ix.apply('ghost', []);
      only(['real', 'ghost']);
      expect(ix.podStats('ghost')).toEqual({ pod: 'ghost', blocks: 0, gpuBlocks: 0, cpuBlocks: 0 });
      // Removing a speculative-only pod drops its entries.
      ix.addSpeculative('other', keyRange(0, 3));
      ix.removePod('other');
      expect(look(ix)).toEqual([m('ghost', 0, 0, 4), m('real', 2)]);
      only(['real', 'ghost']);
      clock += 100;
      expect(look(ix)).toEqual([m('real', 2)]);
    });

    it('answers exactly the candidates, unknown ones with zeros', () => {
      const ix = make();
      ix.apply('a', [stored(P)]);
      ix.apply('b', [stored(keyRange(0, 5))]);
      const got = ix.lookup(P, { candidates: ['zz', 'b', 'c', 'b'] }).matches;
      expect(got).toEqual([m('zz', 0), m('b', 5), m('c', 0)]);
      expect(ix.lookup(P, { candidates: [] }).matches).toEqual([]);
    });

    it('round-trips a pod through export and import, depths included', () => {
      const ix = make();
      ix.apply('a', [stored(keyRange(0, 6), 'gpu', 0), stored(keyRange(6, 10), 'cpu', 6)]);
      ix.apply('a', [stored(keyRange(0, 2), 'cpu'), stored(keyRange(40, 42))]);
      const snap = ix.exportPod('a');
      expect(snap.tiers.length).toBe(14);
      const other = make();
      other.apply('x', [stored(keyRange(50, 60))]);
      other.importPod('x', snap);
      expect(look(other)).toEqual([m('x', 6, 10)]);
      expect(other.lookup(keyRange(50, 60)).matches).toEqual([]);
      expect(other.podStats('x')).toEqual({ ...ix.podStats('a'), pod: 'x' });
      const entries = (s: typeof snap) =>
        Array.from(
          s.tiers,
          (t, i) => `${s.keys[2 * i]}:${s.keys[2 * i + 1]}:${t}:${s.depths[i]}`,
        ).sort();
      expect(entries(other.exportPod('x'))).toEqual(entries(snap));
      expect(snap.depths.filter((d) => d === 0xffff_ffff).length).toBe(2);
      expect(ix.exportPod('nobody').keys.length).toBe(0);
    });

    it('records stores with unknown parents and derives depths from known ones', () => {
      const ix = make();
      ix.apply('a', [stored(keyRange(5, 8), 'gpu', -1, keysOf(4))]);
      expect(look(ix)).toEqual([]);
      ix.apply('a', [stored(keyRange(0, 5), 'gpu', 0)]);
      expect(look(ix)).toEqual([m('a', 8)]);
      ix.apply('b', [
        stored(keyRange(0, 2), 'gpu', 0),
        stored(keysOf(60, 61), 'gpu', -1, keysOf(1)),
      ]);
      ix.apply('c', [
        stored(keysOf(61), 'cpu', -1, keysOf(60)),
        stored(keysOf(62), 'cpu', -1, null),
      ]);
      const depths = (pod: string) => {
        const s = ix.exportPod(pod);
        return new Map(
          Array.from(s.tiers, (_, i) => [
            keyToHex(s.keys[2 * i]!, s.keys[2 * i + 1]!),
            s.depths[i],
          ]),
        );
      };
      expect(depths('b').get(hexOf(60))).toBe(2);
      expect(depths('c').get(hexOf(61))).toBe(3);
      expect(depths('c').get(hexOf(62))).toBe(0xffff_ffff);
      expect(depths('a').get(hexOf(5))).toBe(0xffff_ffff);
      expect(ix.topPrefixes(10)).toContainEqual({ key: hexOf(61), depth: 3, holders: 2 });
    });

    it('lists the most shared blocks first', () => {
      const ix = make();
      for (const [i, pod] of ['a', 'b', 'c', 'd'].entries()) {
        ix.apply(pod, [stored(keyRange(0, 4 - i), 'gpu', 0), stored(keysOf(100 + i))]);
      }
      const top = ix.topPrefixes(10);
      expect(top.map((t) => t.holders)).toEqual([4, 3, 2]);
      expect(top.map((t) => t.depth)).toEqual([0, 1, 2]);
      expect(ix.topPrefixes(2)).toHaveLength(2);
      expect(ix.topPrefixes(0)).toEqual([]);
      expect(ix.stats().sharedBlocks).toBe(3);
    });

    it('refuses options and TTLs that are not finite and non-negative', () => {
      const bad: PrefixIndexOptions[] = [
        { speculativeTtlMs: Infinity },
        { speculativeTtlMs: -1 },
        { speculativeTtlMs: NaN },
        { expectedBlocks: Infinity },
        { expectedBlocks: -1 },
        { expectedBlocks: NaN },
        { budgetBytes: Infinity },
        { budgetBytes: 0 },
      ];
      for (const o of bad) expect(() => factory(o), JSON.stringify(o)).toThrow(RangeError);
      const ix = make();
      for (const ttl of [Infinity, -Infinity, NaN, -1]) {
        expect(() => ix.addSpeculative('a', P, ttl)).toThrow(/ttlMs/);
      }
      expect(ix.stats().speculativeEntries).toBe(0);
    });

    it('refuses malformed input whole and counts it', () => {
      const ix = make();
      ix.apply('a', [stored(P)]);
      const bad = [
        removed(keysOf(0)),
        { kind: 'stored', parent: null, keys: new Uint32Array(3), tier: 'gpu', depth: 0 },
      ] as CanonicalEvent[];
      expect(() => ix.apply('a', bad)).toThrow(/keys/);
      expect(() => ix.apply('a', [{ kind: 'nope' } as unknown as CanonicalEvent])).toThrow(/kind/);
      const snap = { keys: keysOf(1, 2), tiers: new Uint8Array(1), depths: new Uint32Array(2) };
      expect(() => ix.importPod('a', snap)).toThrow(/tiers/);
      expect(() => ix.lookup(new Uint32Array(1))).toThrow(/keys/);
      expect(ix.stats().rejectedBatches).toBe(3);
      expect(look(ix)).toEqual([m('a', 10)]);
    });

    if (features.bounded !== false) {
      it('stays within a tiny budget by evicting, and never reports an evicted block', () => {
        const budgetBytes = 48 * 1024;
        const ix = make({ budgetBytes });
        const pods = Array.from({ length: 12 }, (_, i) => `p${i}`);
        // Pods register first (a pod registered past a full budget is an overrun).
        for (const pod of pods) ix.apply(pod, []);
        for (let round = 0; round < 6; round++) {
          for (const [i, pod] of pods.entries()) {
            const base = (round * 7 + i) % 5 === 0 ? 0 : 1000 * (round * 12 + i + 1);
            ix.apply(pod, [stored(keyRange(0, 40), 'gpu', 0), stored(keyRange(base, base + 300))]);
            if (i % 3 === 0) ix.addSpeculative(pod, keyRange(base, base + 500));
          }
        }
        const s = ix.stats();
        expect(s.evictions).toBeGreaterThan(0);
        expect(s.bytesUsed).toBeLessThanOrEqual(budgetBytes);
        expect(s.residencies).toBe(s.perPod.reduce((a, p) => a + p.blocks, 0));
        // Every reported run is made of blocks the pod still exports.
        const prompt = keyRange(0, 40);
        for (const match of ix.lookup(prompt).matches) {
          const snap = ix.exportPod(match.pod);
          const held = new Set(
            Array.from(snap.tiers, (_, i) => `${snap.keys[2 * i]}:${snap.keys[2 * i + 1]}`),
          );
          let run = 0;
          while (run < 40 && held.has(`${prompt[2 * run]}:${prompt[2 * run + 1]}`)) run++;
          expect(match.total).toBe(run);
        }
      });
    }
  });
}

const hexOf = (id: number): string => testKey(id).toString(16).padStart(16, '0');
