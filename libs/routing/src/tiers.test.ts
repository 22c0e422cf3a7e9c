import { describe, expect, it } from 'vitest';
import { parsePolicyConfig } from './config.js';
import { PolicyConfigError } from './errors.js';
import { DEFAULT_CPU_WEIGHT, effectiveBlocks } from './match.js';
import { createPolicy } from './policy.js';
import { TTFT_DEFAULTS } from './scorers/ttft.js';
import { pod, request } from './testing/fixtures.js';
import type { PresetName } from './types.js';

/** A run of `total` blocks of which only the first `gpu` are in GPU memory. */
const tiers = (gpu: number, total: number, speculative = total) => ({ gpu, total, speculative });

describe('effective match', () => {
  it('counts CPU-only blocks at cpuWeight and the speculative tail in full', () => {
    const input = request(10, { g: 8, c: tiers(2, 8), s: tiers(2, 6, 9), x: tiers(4, 12, 14) });
    expect(effectiveBlocks(input, 'g', 0.5)).toBe(8);
    expect(effectiveBlocks(input, 'c', 0.5)).toBe(2 + 0.5 * 6);
    expect(effectiveBlocks(input, 'c', 0)).toBe(2);
    expect(effectiveBlocks(input, 'c', 1)).toBe(8);
    expect(effectiveBlocks(input, 's', 0.5)).toBe(2 + 0.5 * 4 + 3);
    // capped at the request's blocks: 4 GPU + 6 CPU of the 10
    expect(effectiveBlocks(input, 'x', 0.5)).toBe(4 + 0.5 * 6);
    expect(effectiveBlocks(input, 'nobody', 0.5)).toBe(0);
    expect(DEFAULT_CPU_WEIGHT).toBe(0.5);
  });

  it('is the deeper of the confirmed and speculative runs whenever every block is in GPU memory', () => {
    for (let total = 0; total < 12; total++) {
      for (const spec of [0, total, total + 3]) {
        const input = request(10, { p: tiers(total, total, spec) });
        const old = Math.min(10, Math.max(total, spec));
        for (const w of [0, 0.3, DEFAULT_CPU_WEIGHT, 1]) {
          expect(Object.is(effectiveBlocks(input, 'p', w), old)).toBe(true);
        }
      }
    }
  });
});

describe('policies rank GPU hits above CPU hits above misses', () => {
  it('llm-d prefix-cache scores CPU-only blocks at the policy cpuWeight', () => {
    const input = request(10, { g: 10, c: tiers(0, 10) });
    const pods = [pod('c'), pod('g'), pod('m')];
    const d = createPolicy({ preset: 'llm-d' }).pick(input, pods, true);
    expect(d.pod).toBe('g');
    expect(d.fallbacks).toEqual(['c', 'm']);
    expect(d.scores!.map((s) => s.parts['prefix-cache'])).toEqual([0.5, 1, 0]);
    const equal = createPolicy({ preset: 'llm-d', cpuWeight: 1 }).pick(input, pods, true);
    expect(equal.scores!.map((s) => s.parts['prefix-cache'])).toEqual([1, 1, 0]);
  });

  it('dynamo counts a CPU-only block as (1 − cpuWeight) of a block to prefill', () => {
    const d = createPolicy({ preset: 'dynamo' }).pick(
      request(64, { g: 32, c: tiers(0, 32) }),
      [pod('c'), pod('g')],
      true,
    );
    expect(d.pod).toBe('g');
    expect(d.scores![0]!.parts.costBlocks).toBe(32 + 0.5 * 32 + 64);
    expect(d.scores![1]!.parts.costBlocks).toBe(32 + 64);
  });

  it('sglang takes a CPU-only match at its weight against the threshold', () => {
    const pods = [pod('a', { kvUsage: 0.9 }), pod('b', { kvUsage: 0.1 })];
    const p = createPolicy({ preset: 'sglang' });
    expect(p.pick(request(10, { a: 6 }), pods).pod).toBe('a');
    // 6 CPU blocks count 3: a 0.3 match is below 0.5, so the smallest cache wins
    expect(p.pick(request(10, { a: tiers(0, 6) }), pods).pod).toBe('b');
  });

  it('default charges CPU-only tokens the transfer time, not the prefill time', () => {
    const input = request(500, { g: 499, c: tiers(0, 499) });
    const d = createPolicy({ preset: 'default' }).pick(input, [pod('c'), pod('g'), pod('m')], true);
    expect(d.pod).toBe('g');
    expect(d.fallbacks).toEqual(['c', 'm']);
    const [c, g, m] = d.scores!.map((s) => s.parts.ttftMs!);
    // idle fleet, no reuse credit: the CPU holder pays the load of 499 blocks
    expect(c! - g!).toBeCloseTo(499 * 16 * TTFT_DEFAULTS.cpuLoadMsPerToken, 9);
    expect(m! - c!).toBeGreaterThan(0);
    const slowLoad = createPolicy({
      scorers: [{ name: 'ttft', weight: 1, params: { cpuLoadMsPerToken: 1 } }],
      picker: { name: 'max-score' },
    }).pick(input, [pod('c'), pod('g'), pod('m')]);
    expect(slowLoad.fallbacks).toEqual(['m', 'c']);
  });

  it('default discounts the reuse credit of CPU-only tokens by cpuWeight', () => {
    const backlog = { inFlight: 10, inFlightPrefilling: 10, inFlightPrefillTokens: 30_000 };
    const input = request(500, { c: tiers(0, 499), g: 499 });
    const gap = (cpuWeight: number) => {
      const d = createPolicy({ preset: 'default', cpuWeight }).pick(
        input,
        [pod('c', backlog), pod('g', backlog)],
        true,
      );
      return d.scores![0]!.parts.ttftMs! - d.scores![1]!.parts.ttftMs!;
    };
    const t = TTFT_DEFAULTS;
    const load = 499 * 16 * t.cpuLoadMsPerToken;
    // every pod backlogged: full credit, a CPU-only token's share cut by (1 − cpuWeight)
    expect(gap(1)).toBeCloseTo(load, 6);
    expect(gap(0.5)).toBeCloseTo(load + t.affinity * 0.5 * 499 * 16 * t.prefillMsPerToken, 6);
  });

  it.each<PresetName>([
    'round-robin',
    'random',
    'least-loaded',
    'llm-d',
    'dynamo',
    'kubeai',
    'sglang',
    'default',
  ])('%s decides alike for every cpuWeight when every block is in GPU memory', (preset) => {
    const run = (cpuWeight: number) => {
      const policy = createPolicy({ preset, cpuWeight }, { seed: 4 });
      return Array.from({ length: 30 }, (_, i) =>
        policy.pick(
          request(40, { p0: 40, p1: i % 41, p2: tiers(i % 7, i % 7, 20) }, i),
          [pod('p0', { inFlight: i, inFlightTokens: 900 * i }), pod('p1'), pod('p2')],
          true,
        ),
      );
    };
    expect(run(0)).toEqual(run(1));
  });
});

describe('cpuWeight config', () => {
  it('is a number in [0, 1], named when wrong', () => {
    expect(parsePolicyConfig({ preset: 'llm-d', cpuWeight: 0.25 })).toEqual({
      preset: 'llm-d',
      cpuWeight: 0.25,
    });
    for (const bad of [-0.1, 1.5, 'x', NaN]) {
      try {
        parsePolicyConfig({ preset: 'llm-d', cpuWeight: bad });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyConfigError);
        expect((e as PolicyConfigError).field).toBe('cpuWeight');
      }
    }
  });
});
