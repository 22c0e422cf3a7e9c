import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyTable } from './key-table.js';

type Op = { op: 'set' | 'delete' | 'get'; k: number; v: number };

describe('KeyTable', () => {
  it('behaves like a Map under random set/delete/get sequences (collisions included)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom<Op['op']>('set', 'set', 'delete', 'get'),
            // few distinct keys and shared halves force long probe runs and wrap-around
            k: fc.integer({ min: 0, max: 60 }),
            v: fc.nat(1000),
          }),
          { maxLength: 400 },
        ),
        (ops) => {
          const t = new KeyTable(2);
          const m = new Map<number, number>();
          const lo = (k: number) => (k * 0x10001) >>> 0;
          const hi = (k: number) => k % 3;
          for (const { op, k, v } of ops) {
            if (op === 'set') {
              expect(t.set(lo(k), hi(k), v)).toBe(m.get(k) ?? -1);
              m.set(k, v);
            } else if (op === 'delete') {
              expect(t.delete(lo(k), hi(k))).toBe(m.get(k) ?? -1);
              m.delete(k);
            } else {
              expect(t.get(lo(k), hi(k))).toBe(m.get(k) ?? -1);
            }
            expect(t.size).toBe(m.size);
          }
          for (const [k, v] of m) expect(t.get(lo(k), hi(k))).toBe(v);
          const seen = new Map<string, number>();
          t.forEach((l, h, v) => seen.set(`${l}:${h}`, v));
          expect(seen.size).toBe(m.size);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('normalises halves to u32, so a signed half names the same key as its unsigned form', () => {
    const t = new KeyTable();
    t.set(-1, 0, 1);
    expect(t.set(0xffff_ffff, 0, 2)).toBe(1);
    expect(t.size).toBe(1);
    expect(t.get(-1, 0)).toBe(2);
    expect(t.get(0xffff_ffff, 0)).toBe(2);
    t.set(7, -2, 3);
    expect(t.get(7, 0xffff_fffe)).toBe(3);
    const seen: [number, number][] = [];
    t.forEach((lo, hi) => seen.push([lo, hi]));
    expect(seen.sort((a, b) => a[1] - b[1])).toEqual([
      [0xffff_ffff, 0],
      [7, 0xffff_fffe],
    ]);
    expect(t.delete(-1, 0)).toBe(2);
    expect(t.delete(7, 0xffff_fffe)).toBe(3);
    expect(t.size).toBe(0);
  });

  it('predicts its byteLength at any size before growing there', () => {
    const t = new KeyTable(3);
    for (let i = 0; i < 5000; i++) {
      const ahead = [0, 1, 7, 100].map((k) => t.byteLengthAt(t.size + k));
      const at = t.size;
      expect(ahead[0]).toBe(t.byteLength);
      for (let k = 1; k <= 100; k++) {
        t.set(i * 1000 + k, 1, 0);
        if (k === 1) expect(t.byteLength).toBe(ahead[1]);
        if (k === 7) expect(t.byteLength).toBe(ahead[2]);
      }
      expect(t.byteLength).toBe(ahead[3]);
      for (let k = 2; k <= 100; k++) t.delete(i * 1000 + k, 1);
      expect(t.size).toBe(at + 1);
      expect(t.byteLengthAt(t.size)).toBe(t.byteLength); // it never shrinks
      if (t.size > 300) break;
    }
  });

  it('rejects values it cannot store, and clears', () => {
    const t = new KeyTable();
    expect(() => t.set(1, 2, -1)).toThrow(RangeError);
    expect(() => t.set(1, 2, 2 ** 31)).toThrow(RangeError);
    t.set(1, 2, 3);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(1, 2)).toBe(-1);
  });
});
