import { describe, expect, it } from 'vitest';
import { percentile, throughput } from './measure.js';
import { fmt, renderReport, renderTable } from './report.js';

describe('bench kit', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });

  it('counts operations per call', () => {
    let calls = 0;
    const t = throughput(() => void calls++, 10, 30, 3);
    expect(t.opsPerSec).toBeGreaterThan(0);
    expect(t.rounds).toBe(3);
    expect(calls).toBeGreaterThan(3);
  });

  it('renders a table and puts the JSON summary last', () => {
    expect(fmt(1234567.8)).toBe('1,234,568');
    expect(fmt(0.01234)).toBe('0.012');
    const table = renderTable([
      { case: 'a', rate: 12.345 },
      { case: 'bb', rate: 2 },
    ]);
    expect(table.split('\n')).toHaveLength(4);
    const out = renderReport({ title: 't', rows: [{ a: 1 }], summary: { x: 1 } }, true);
    expect(out.trim().split('\n').at(-1)).toBe('{"x":1}');
  });
});
