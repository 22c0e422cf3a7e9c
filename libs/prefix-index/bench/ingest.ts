import { percentile } from '@kvroute/bench-kit';
import type { CanonicalEvent } from '@kvroute/protocol';
import { createPrefixIndex } from '../src/create-prefix-index.js';
import type { BenchTarget } from './workloads.js';
import { buildPromptScenario, randomKeys, rng, storedEvent } from './workloads.js';

const PODS = Array.from({ length: 64 }, (_, i) => `10.2.0.${i}:8000`);

/** `blocks` blocks as 32-block stored events; `sharedShare` of them re-store chains from a common pool. */
function makeEvents(blocks: number, sharedShare: number, seed: number): CanonicalEvent[] {
  const rand = rng(seed);
  const fresh = randomKeys(blocks, rand);
  const pool = randomKeys(2048 * 32, rand);
  const events: CanonicalEvent[] = [];
  for (let b = 0; b < blocks; b += 32) {
    if (rand() < sharedShare) {
      const c = Math.floor(rand() * 2048) * 64;
      events.push(storedEvent(pool.subarray(c, c + 64), 0));
    } else {
      events.push(storedEvent(fresh.subarray(2 * b, 2 * Math.min(blocks, b + 32)), 0));
    }
  }
  return events;
}

/** Rates of applying `events` one by one: per wall second and per second of this process's CPU time. */
function timeApply(target: BenchTarget, events: CanonicalEvent[]): { wall: number; cpu: number } {
  const one: CanonicalEvent[] = [events[0]!];
  let blocks = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    one[0] = e;
    target.apply(PODS[i & 63]!, one);
    if (e.kind !== 'cleared') blocks += e.keys.length >>> 1;
  }
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: blocks / wallS, cpu: blocks / ((c.user + c.system) / 1e6) };
}

export interface IngestRates {
  /** Medians over rounds, blocks per wall second. */
  mixed: number;
  unique: number;
  /** The same, per second of CPU time (what one uncontended core would do). */
  mixedCpu: number;
  uniqueCpu: number;
  evictions: number;
}

/**
 * Blocks/s applying stored events into a fresh target, median of `rounds`:
 * `mixed` — half the events re-store shared chains (idempotent for the pod or
 * new residencies of existing keys); `unique` — every block a new key.
 */
export function measureIngest(
  make: (budgetBytes?: number) => BenchTarget,
  blocks: number,
  rounds: number,
  bounded = false,
): IngestRates {
  const mixedEvents = makeEvents(blocks, 0.5, 21);
  const uniqueEvents = makeEvents(blocks, 0, 22);
  timeApply(make(), makeEvents(Math.min(blocks, 100_000), 0.5, 23)); // warm-up
  const mixed: { wall: number; cpu: number }[] = [];
  const unique: { wall: number; cpu: number }[] = [];
  let evictions = 0;
  for (let r = 0; r < rounds; r++) {
    if (!bounded) mixed.push(timeApply(make(), mixedEvents));
    const target = make();
    unique.push(timeApply(target, uniqueEvents));
    if ('stats' in target)
      evictions = (target as ReturnType<typeof createPrefixIndex>).stats().evictions;
  }
  const med = (xs: number[]) =>
    xs.length
      ? percentile(
          xs.sort((a, b) => a - b),
          50,
        )
      : NaN;
  return {
    mixed: med(mixed.map((x) => x.wall)),
    unique: med(unique.map((x) => x.wall)),
    mixedCpu: med(mixed.map((x) => x.cpu)),
    uniqueCpu: med(unique.map((x) => x.cpu)),
    evictions,
  };
}

/**
 * Lookups of an 8k-token prompt over 64 pods, interleaved on one thread with
 * churn: before each lookup one pod stores a 16-block chain and, once it holds
 * 64 of them, removes its oldest one.
 */
export function measureUnderIngest(iterations: number): {
  lookupsPerSec: number;
  blocksPerSec: number;
  lookupsPerCpuSec: number;
  p50: number;
} {
  const ix = createPrefixIndex();
  const { prompt, pods } = buildPromptScenario(ix, 512, 64, 5000, 3);
  const rand = rng(31);
  const pool = randomKeys(4096 * 16, rand);
  const chain = (c: number) => pool.subarray(c * 32, c * 32 + 32);
  const held = pods.map(() => [] as number[]);
  const lat = new Float64Array(iterations);
  let blocks = 0;
  let next = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    const p = Math.floor(rand() * pods.length);
    const c = next++ % 4096;
    const events: CanonicalEvent[] = [storedEvent(chain(c), 0)];
    held[p]!.push(c);
    if (held[p]!.length > 64)
      events.push({ kind: 'removed', keys: chain(held[p]!.shift()!), tier: 'gpu' });
    ix.apply(pods[p]!, events);
    blocks += 16 * events.length;
    const l0 = performance.now();
    ix.lookup(prompt);
    lat[i] = (performance.now() - l0) * 1000;
  }
  const secs = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return {
    lookupsPerSec: iterations / secs,
    blocksPerSec: blocks / secs,
    lookupsPerCpuSec: iterations / ((c.user + c.system) / 1e6),
    p50: percentile(lat.sort(), 50),
  };
}

/**
 * Steady state, as a long-running indexer sees it: `live` blocks held over 64
 * pods, then per step one pod stores a new 32-block chain and another removes
 * its oldest — the index neither grows nor shrinks. Block events (stored plus
 * removed) per second, median of `rounds`.
 */
export function measureSteady(
  live: number,
  steps: number,
  rounds: number,
): { wall: number; cpu: number } {
  const chains = live / 32 + steps * rounds;
  const keys = randomKeys(chains * 32, rng(41));
  const chain = (c: number) => keys.subarray(64 * c, 64 * c + 64);
  const podOf = (c: number) => PODS[c & 63]!;
  const ix = createPrefixIndex();
  let head = 0;
  let next = 0;
  for (; next < live / 32; next++) ix.apply(podOf(next), [storedEvent(chain(next), 0)]);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < steps; k++, next++, head++) {
      ix.apply(podOf(next), [storedEvent(chain(next), 0)]);
      ix.apply(podOf(head), [{ kind: 'removed', keys: chain(head), tier: 'gpu' }]);
    }
    const c = process.cpuUsage(c0);
    wall.push((64 * steps) / ((performance.now() - t0) / 1000));
    cpu.push((64 * steps) / ((c.user + c.system) / 1e6));
  }
  const med = (xs: number[]) =>
    percentile(
      xs.sort((a, b) => a - b),
      50,
    );
  return { wall: med(wall), cpu: med(cpu) };
}
