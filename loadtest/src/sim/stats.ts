/** Nearest-rank percentile of unsorted values (q in 0..1); NaN when empty. */
export function percentile(values: Float64Array | number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[rank]!;
}
