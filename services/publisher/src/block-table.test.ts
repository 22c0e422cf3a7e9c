import { describe, expect, it } from 'vitest';
import { BlockTable, CPU, GPU, UNKNOWN_DEPTH } from './block-table.js';

const present = (t: BlockTable) => {
  const out: string[] = [];
  t.forEachPresent((lo, hi, bit, depth) =>
    out.push(`${lo}:${hi}:${bit === GPU ? 'g' : 'c'}:${depth}`),
  );
  return out.sort();
};

describe('BlockTable', () => {
  it('keeps hash → key, depth and tiers, with counts per tier', () => {
    const t = new BlockTable(100, 2);
    for (let i = 0; i < 10; i++) expect(t.put(i, 7, 1000 + i, 1, i, GPU)).toBeGreaterThanOrEqual(0);
    const s3 = t.lookup(3, 7);
    expect(t.keyLo(s3)).toBe(1003);
    expect(t.depth(s3)).toBe(3);
    expect(t.lookup(3, 8)).toBe(-1);
    expect(t.add(s3, CPU)).toBe(true);
    expect(t.add(s3, CPU)).toBe(false);
    expect(t.count(GPU)).toBe(10);
    expect(t.count(CPU)).toBe(1);
    expect(t.remove(s3, GPU)).toBe(true);
    expect(t.remove(s3, GPU)).toBe(false);
    expect(present(t)).toContain('1003:1:c:3');
    expect(present(t)).toHaveLength(10);
  });

  it('keeps removed blocks known until their slot is needed, oldest first', () => {
    const t = new BlockTable(4, 4);
    for (let i = 0; i < 4; i++) t.put(i, 0, 100 + i, 0, UNKNOWN_DEPTH, GPU);
    expect(t.put(9, 0, 109, 0, 0, GPU)).toBe(-1); // full of present blocks
    t.remove(t.lookup(2, 0), GPU);
    t.remove(t.lookup(0, 0), GPU);
    expect(t.lookup(2, 0)).toBeGreaterThanOrEqual(0); // still known
    expect(t.put(9, 0, 109, 0, 0, GPU)).toBeGreaterThanOrEqual(0);
    expect(t.lookup(2, 0)).toBe(-1); // the oldest absent one was recycled
    expect(t.lookup(0, 0)).toBeGreaterThanOrEqual(0);
    // A block stored again is present, and is skipped when its queue turn comes.
    t.add(t.lookup(0, 0), CPU);
    expect(t.put(10, 0, 110, 0, 0, GPU)).toBe(-1);
    expect(t.count(GPU) + t.count(CPU)).toBe(4);
  });

  it('marks everything absent in one go, and forgets everything on reset', () => {
    const t = new BlockTable(1000, 8);
    for (let i = 0; i < 500; i++) t.put(i, i, i, i, i, i % 2 ? GPU : CPU);
    t.markAllAbsent();
    expect(t.count(GPU) + t.count(CPU)).toBe(0);
    expect(present(t)).toEqual([]);
    expect(t.lookup(42, 42)).toBeGreaterThanOrEqual(0);
    // Recycling absent slots works after growth and a mass mark.
    const small = new BlockTable(16, 2);
    for (let i = 0; i < 16; i++) small.put(i, 1, i, 1, 0, GPU);
    small.markAllAbsent();
    for (let i = 100; i < 116; i++) expect(small.put(i, 1, i, 1, 0, GPU)).toBeGreaterThanOrEqual(0);
    expect(small.lookup(5, 1)).toBe(-1);
    expect(small.count(GPU)).toBe(16);
    t.reset();
    expect(t.lookup(42, 42)).toBe(-1);
    expect(t.known).toBe(0);
  });
});
