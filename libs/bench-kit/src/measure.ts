import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Measurement helpers for benchmarks. Benchmarks print figures; they never
 * assert on time. Compare ratios measured in one run: absolute times drift on
 * a shared machine.
 */

export interface Throughput {
  /** Operations per second over the best of the measured rounds. */
  opsPerSec: number;
  /** Median over rounds, less sensitive to a noisy neighbour than the best. */
  medianOpsPerSec: number;
  rounds: number;
}

/**
 * Runs `fn` (which performs `opsPerCall` operations) repeatedly for about
 * `ms` milliseconds after a warm-up, in rounds, and reports ops/s.
 */
export function throughput(fn: () => void, opsPerCall = 1, ms = 600, rounds = 7): Throughput {
  // Warm up as long as we measure (capped): V8 needs a second or two to reach
  // its final tier on branchy code, and a short warm-up measures the
  // interpreter. Also learn how many calls fit in ~1 ms so the clock is read rarely.
  const warmEnd = performance.now() + Math.min(ms, 1500);
  let warmCalls = 0;
  const w0 = performance.now();
  while (performance.now() < warmEnd) {
    fn();
    warmCalls++;
  }
  const perMs = Math.max(1, Math.floor(warmCalls / Math.max(1e-3, performance.now() - w0)));
  const perRound = ms / rounds;
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < perRound) {
      for (let i = 0; i < perMs; i++) fn();
      calls += perMs;
      t = performance.now();
    }
    rates.push((calls * opsPerCall * 1000) / (t - t0));
  }
  rates.sort((a, b) => a - b);
  return { opsPerSec: rates[rates.length - 1]!, medianOpsPerSec: median(rates), rounds };
}

/** Latency samples in microseconds: calls `fn` `n` times after `warmup` calls. */
export function latencies(
  fn: (i: number) => void,
  n: number,
  warmup = Math.min(n, 200),
): Float64Array {
  for (let i = 0; i < warmup; i++) fn(i);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    out[i] = (performance.now() - t0) * 1000;
  }
  return out.sort();
}

/** Latency samples for an async operation, run one at a time. */
export async function asyncLatencies(
  fn: (i: number) => Promise<unknown>,
  n: number,
  warmup = Math.min(n, 200),
): Promise<Float64Array> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out[i] = (performance.now() - t0) * 1000;
  }
  return out.sort();
}

/** Nearest-rank percentile of an ascending array, p in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return percentile(s, 50);
}

let gcFn: (() => void) | undefined;

/** A full garbage collection, available without starting node with --expose-gc. */
export function collectGarbage(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** Bytes of heap plus array buffers, after a full GC. */
export function memoryBytes(): number {
  collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
