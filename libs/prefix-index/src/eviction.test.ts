import { describe, expect, it } from 'vitest';
import { createPrefixIndex } from './create-prefix-index.js';
import { keyRange, stored } from './testing/conformance.js';

describe('eviction policy', () => {
  it('keeps a prefix that lookups keep using and evicts the least recently used', () => {
    const budgetBytes = 256 * 1024;
    const ix = createPrefixIndex({ budgetBytes });
    const pods = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const pod of pods) ix.apply(pod, []);
    const hot = keyRange(0, 64);
    ix.apply('p0', [stored(hot, 'gpu', 0)]);
    const chain = (round: number, pod: number) =>
      keyRange(1e6 + (round * 8 + pod) * 64, 1e6 + (round * 8 + pod + 1) * 64);
    const rounds = 120;
    for (let round = 0; round < rounds; round++) {
      pods.forEach((pod, i) => ix.apply(pod, [stored(chain(round, i), 'gpu', 0)]));
      expect(ix.lookup(hot).matches).toEqual([{ pod: 'p0', gpu: 64, total: 64, speculative: 64 }]);
    }
    const s = ix.stats();
    // About 61k blocks went in; a fraction fits.
    expect(s.evictions).toBeGreaterThan(30_000);
    expect(s.bytesUsed).toBeLessThanOrEqual(budgetBytes);
    const depth = (round: number) =>
      ix.lookup(chain(round, 1), { candidates: ['p1'] }).matches[0]!.total;
    expect(depth(0)).toBe(0);
    expect(depth(rounds - 1)).toBe(64);
  });

  it('caps speculative state by bytes, so one-key adds keep bytesUsed within the budget', () => {
    const budgetBytes = 1 << 20;
    const ix = createPrefixIndex({ budgetBytes, speculativeTtlMs: 1e9 });
    ix.apply('spec', []);
    for (let k = 0; k < 64_000; k += 32) ix.apply('real', [stored(keyRange(k, k + 32), 'gpu', 0)]);
    const full = ix.stats();
    expect(full.evictions).toBeGreaterThan(0); // the blocks fill their share of the budget
    expect(full.budgetOverruns).toBe(0);
    const base = 10_000_000;
    const spec = (i: number) =>
      ix.lookup(keyRange(base + i, base + i + 1), { candidates: ['spec'] }).matches[0]!;
    for (let i = 0; i < 20_000; i++) {
      ix.addSpeculative('spec', keyRange(base + i, base + i + 1));
      if (i % 1000 === 999) {
        const s = ix.stats();
        expect(s.budgetOverruns).toBe(0);
        expect(s.bytesUsed).toBeLessThanOrEqual(budgetBytes);
      }
    }
    const s = ix.stats();
    expect(s.speculativeEntries).toBeGreaterThan(100);
    expect(spec(19_999).speculative).toBe(1); // the newest stay, the first went
    expect(spec(0).speculative).toBe(0);
  });
});
