import { describe, expect, it } from 'vitest';
import { NoCandidateError } from './errors.js';
import { createPolicy } from './policy.js';
import { pod, request } from './testing/fixtures.js';
import type { PodState, PresetName } from './types.js';

const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
const idle = (n: number) => names(n).map((x) => pod(x));

describe('every preset', () => {
  const presets: PresetName[] = [
    'round-robin',
    'random',
    'least-loaded',
    'llm-d',
    'dynamo',
    'kubeai',
    'sglang',
    'default',
  ];
  it.each(presets)('%s returns one pick plus every other candidate as fallbacks', (preset) => {
    const policy = createPolicy({ preset });
    const pods = idle(5);
    const d = policy.pick(request(8, { p3: 8 }), pods, true);
    expect(d.policy).toBe(preset);
    expect([d.pod, ...d.fallbacks].sort()).toEqual(names(5));
    expect(d.scores).toHaveLength(5);
  });

  it.each(presets)('%s never picks a decode-only pod', (preset) => {
    const policy = createPolicy({ preset });
    const pods = [
      pod('d0', { role: 'decode' }),
      pod('p1', { role: 'prefill', waiting: 50, inFlight: 50 }),
    ];
    for (let i = 0; i < 20; i++) {
      const d = policy.pick(request(8, { d0: 8 }, i), pods);
      expect(d.pod).toBe('p1');
      expect(d.fallbacks).toEqual([]);
    }
  });

  it.each(presets)('%s refuses candidates that are all decode-only, or none', (preset) => {
    const policy = createPolicy({ preset });
    const decodeOnly = [pod('d0', { role: 'decode' }), pod('d1', { role: 'decode' })];
    expect(() => policy.pick(request(4, { d0: 4 }), decodeOnly)).toThrow(NoCandidateError);
    expect(() => policy.pick(request(4), [])).toThrow(NoCandidateError);
    expect(() => policy.pick(request(4), [])).toThrow(RangeError);
  });
});

describe('round-robin and random', () => {
  it('round-robin cycles through the candidates in name order', () => {
    const p = createPolicy({ preset: 'round-robin' });
    const picks = Array.from({ length: 6 }, () => p.pick(request(1), idle(3)).pod);
    expect(picks).toEqual(['p0', 'p1', 'p2', 'p0', 'p1', 'p2']);
    expect(p.pick(request(1), idle(3)).fallbacks).toEqual(['p1', 'p2']);
  });

  it('random is reproducible under a seed and reaches every pod', () => {
    const run = (seed: number) => {
      const p = createPolicy({ preset: 'random' }, { seed });
      return Array.from({ length: 200 }, () => p.pick(request(1), idle(4)).pod);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(new Set(run(7)).size).toBe(4);
  });
});

describe('least-loaded', () => {
  it('picks the pod with the fewest requests, counting the router’s own in-flight ones', () => {
    const p = createPolicy({ preset: 'least-loaded' });
    const pods = [
      pod('a', { waiting: 3, running: 3 }),
      pod('b', { inFlight: 4 }),
      pod('c', { running: 5 }),
    ];
    const d = p.pick(request(4), pods);
    expect(d.pod).toBe('b');
    expect(d.fallbacks).toEqual(['c', 'a']);
  });
});

describe('llm-d (prefix 2 : kv 1 : queue 1, max-score)', () => {
  const p = createPolicy({ preset: 'llm-d' });
  it('prefers the prefix holder at equal load', () => {
    expect(
      p.pick(
        request(10, { b: 10 }),
        idle(3).map((x, i) => ({ ...x, pod: 'abc'[i]! })),
      ).pod,
    ).toBe('b');
  });
  it('keeps the holder when its queue is a bit longer, leaves it when the queue is the longest and the cache gain is small', () => {
    const pods = [pod('a', { waiting: 0 }), pod('b', { waiting: 2 }), pod('c', { waiting: 10 })];
    // full match on the busiest-but-one pod: 2·1 + 0.8 > 0 + 1
    expect(p.pick(request(10, { b: 10 }), pods).pod).toBe('b');
    // a third of the prompt cached on the pod with the longest queue: 2·0.3 + 0 < 1
    expect(p.pick(request(10, { c: 3 }), pods).pod).toBe('a');
  });
  it('explains each part', () => {
    const d = p.pick(request(10, { b: 5 }), [pod('a', { kvUsage: 0.5 }), pod('b')], true);
    expect(d.scores![1]!.parts).toMatchObject({
      'prefix-cache': 0.5,
      'kv-cache-utilization': 1,
      queue: 1,
    });
    expect(d.scores![1]!.total).toBeCloseTo(2 * 0.5 + 1 + 1);
  });
});

describe('dynamo (overlap-weighted prefill blocks + active blocks, argmin)', () => {
  it('prefers overlap, but not over a worker with much more active work', () => {
    const p = createPolicy({ preset: 'dynamo' });
    const pods = [pod('a'), pod('b')];
    expect(p.pick(request(64, { b: 32 }), pods).pod).toBe('b');
    // b holds half the prompt (saves 32 blocks) but carries 100 active blocks more
    const busy = [pod('a'), pod('b', { inFlight: 1, inFlightTokens: 1600 })];
    const d = p.pick(request(64, { b: 32 }), busy, true);
    expect(d.pod).toBe('a');
    expect(d.scores![0]!.parts.costBlocks).toBe(64 + 64);
    expect(d.scores![1]!.parts.costBlocks).toBe(32 + 100 + 64);
  });
  it('samples by softmax when a temperature is set', () => {
    const p = createPolicy(
      { preset: 'dynamo', picker: { name: 'softmax', params: { temperature: 1 } } },
      { seed: 3 },
    );
    const picks = Array.from(
      { length: 300 },
      () => p.pick(request(64, { b: 32 }), [pod('a'), pod('b')]).pod,
    );
    const b = picks.filter((x) => x === 'b').length;
    expect(b).toBeGreaterThan(150);
    expect(b).toBeLessThan(300);
  });
});

describe('kubeai (CHWBL, load factor 1.25)', () => {
  it('keeps a prefix on one pod until its load passes 1.25× the mean, then moves on along the ring', () => {
    const p = createPolicy({ preset: 'kubeai' });
    const pods: PodState[] = idle(4);
    const home = p.pick(request(70, {}, 42), pods).pod;
    for (let i = 0; i < 5; i++) expect(p.pick(request(70, {}, 42), pods).pod).toBe(home);
    // total 6 → bound (6+1)/4 × 1.25 = 2.19: home at 3 fails (3+1 > 2.19), the next pod passes
    const loaded = pods.map((x) => ({ ...x, inFlight: x.pod === home ? 3 : 1 }));
    const moved = p.pick(request(70, {}, 42), loaded);
    expect(moved.pod).not.toBe(home);
    expect(p.pick(request(70, {}, 42), loaded).pod).toBe(moved.pod);
    // everyone over the bound: KubeAI falls back to the first pod met on the ring
    const all = pods.map((x) => ({ ...x, inFlight: 2 }));
    expect(p.pick(request(70, {}, 42), all).pod).toBe(home);
    const light = pods.map((x) => ({ ...x, inFlight: x.pod === home ? 1 : 2 }));
    expect(p.pick(request(70, {}, 42), light).pod).toBe(home);
  });
  it('spreads different prefixes over the pods', () => {
    const p = createPolicy({ preset: 'kubeai' });
    const homes = new Set(
      Array.from({ length: 64 }, (_, s) => p.pick(request(70, {}, s + 1), idle(4)).pod),
    );
    expect(homes.size).toBe(4);
  });
});

describe('sglang (cache_aware)', () => {
  const p = createPolicy({ preset: 'sglang' });
  it('routes to the best match above the threshold, else to the pod with the most free cache', () => {
    const pods = [
      pod('a', { inFlight: 3, kvUsage: 0.2 }),
      pod('b', { inFlight: 5, kvUsage: 0.1 }),
      pod('c', { inFlight: 1, kvUsage: 0.6 }),
    ];
    expect(p.pick(request(10, { c: 6 }), pods).pod).toBe('c');
    // a match of exactly the threshold is not enough: the smallest cache (b, 1 600 tokens) wins
    const d = p.pick(request(10, { c: 5 }), pods);
    expect(d.pod).toBe('b');
    expect(d.fallbacks).toEqual(['c', 'a']);
    // the router's own in-flight tokens count before the next heartbeat reports them
    const busy = pods.map((x) => (x.pod === 'b' ? { ...x, inFlightTokens: 20_000 } : x));
    expect(p.pick(request(10, { c: 5 }), busy).pod).toBe('a');
    // equal caches (e.g. no heartbeat yet): the least-loaded pod
    expect(
      p.pick(
        request(10),
        pods.map((x) => ({ ...x, kvUsage: 0 })),
      ).pod,
    ).toBe('c');
  });
  it('goes to the least-loaded pod when load is imbalanced beyond both thresholds', () => {
    const pods = [pod('a', { inFlight: 40 }), pod('b', { inFlight: 2 })];
    expect(p.pick(request(10, { a: 10 }), pods).pod).toBe('b');
    const near = [pod('a', { inFlight: 30 }), pod('b', { inFlight: 2 })];
    expect(p.pick(request(10, { a: 10 }), near).pod).toBe('a');
  });
});

describe('default (estimated time to first token)', () => {
  const p = createPolicy({ preset: 'default' });
  it('spreads cold requests across idle-equivalent pods', () => {
    const pods = idle(4);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const d = p.pick(request(100, {}, i), pods);
      seen.add(d.pod);
      const ix = pods.findIndex((x) => x.pod === d.pod);
      pods[ix] = { ...pods[ix]!, inFlight: 1, inFlightPrefilling: 1, inFlightPrefillTokens: 1600 };
    }
    expect(seen.size).toBe(4);
  });
  it('sends a hot prefix to its holder, and to other pods once the holder is overloaded', () => {
    const input = request(500, { p0: 499 });
    expect(p.pick(input, idle(3)).pod).toBe('p0');
    const melted = idle(3).map((x) =>
      x.pod === 'p0'
        ? { ...x, inFlight: 40, inFlightPrefilling: 40, inFlightPrefillTokens: 40 * 2000 }
        : x,
    );
    const d = p.pick(input, melted, true);
    expect(d.pod).not.toBe('p0');
    expect(d.fallbacks.at(-1)).toBe('p0');
    expect(d.scores![0]!.parts.ttftMs).toBeGreaterThan(d.scores![1]!.parts.ttftMs!);
  });
  it('credits reuse only when every pod has a backlog', () => {
    const input = request(500, { p0: 499 });
    const backlog = (tokens: number) => ({
      inFlight: 10,
      inFlightPrefilling: 10,
      inFlightPrefillTokens: tokens,
    });
    // spare capacity somewhere: pure time to first token, the idle pods win
    const spare = [pod('p0', backlog(30_000)), pod('p1'), pod('p2', backlog(20_000))];
    expect(p.pick(input, spare).pod).toBe('p1');
    // every pod queued: the holder's cache is worth more than its slightly longer queue
    const saturated = [
      pod('p0', backlog(30_000)),
      pod('p1', backlog(20_000)),
      pod('p2', backlog(20_000)),
    ];
    expect(p.pick(input, saturated).pod).toBe('p0');
    const pure = createPolicy({
      scorers: [{ name: 'ttft', weight: 1, params: { affinity: 0 } }],
      picker: { name: 'max-score' },
    });
    expect(pure.pick(input, saturated).pod).not.toBe('p0');
  });
});
