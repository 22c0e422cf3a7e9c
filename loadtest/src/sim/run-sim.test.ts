import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMooncake } from '../workload/mooncake.js';
import { multiTurn, sharedPrefix } from '../workload/synthetic.js';
import type { SimRequestRecord } from './run-sim.js';
import { runSim } from './run-sim.js';

const trace = fileURLToPath(new URL('../../traces/conversation_trace.jsonl', import.meta.url));

/** Infinite-cache ceiling straight from hash_ids: leading ids seen before, block-aligned, never the last token. */
function ceiling(limit: number): number {
  const seen = new Set<string>();
  let hit = 0;
  let total = 0;
  const lines = readFileSync(trace, 'utf8').split('\n').filter(Boolean).slice(0, limit);
  for (const line of lines) {
    const r = JSON.parse(line) as { input_length: number; hash_ids: number[] };
    let k = 0;
    let path = '';
    const paths = r.hash_ids.map((h) => (path += `${h},`));
    while (k < paths.length && seen.has(paths[k]!)) k++;
    hit += Math.min(k * 512, Math.floor((r.input_length - 1) / 16) * 16);
    total += r.input_length;
    for (const p of paths) seen.add(p);
  }
  return hit / total;
}

describe('runSim', () => {
  it('one pod with an unbounded cache reaches the Mooncake trace’s infinite-cache hit-rate ceiling', () => {
    const n = 1500;
    const r = runSim({
      workload: readMooncake(trace, n),
      pods: 1,
      policy: 'round-robin',
      capacityTokens: Infinity,
      load: 0.5,
    });
    expect(r.completed).toBe(n);
    expect(ceiling(n)).toBeGreaterThan(0.25);
    expect(r.hit_rate).toBeCloseTo(ceiling(n), 4);
  }, 120_000);

  it('prefix-aware routing beats round-robin on hit rate and TTFT on a trace prefix', () => {
    const w = readMooncake(trace, 600);
    const base = { workload: w, pods: 4, load: 0.7, capacityTokens: 300_000 };
    const rr = runSim({ ...base, policy: 'round-robin' });
    const def = runSim({ ...base, policy: 'default' });
    for (const r of [rr, def]) {
      expect(r.completed + r.rejected).toBe(600);
      expect(r.ttft_p50_ms).toBeGreaterThan(0);
      expect(r.e2e_p50_ms).toBeGreaterThan(r.ttft_p50_ms);
      expect(r.load_imbalance).toBeGreaterThanOrEqual(1);
    }
    expect(def.hit_rate).toBeGreaterThan(1.2 * rr.hit_rate);
    expect(def.ttft_p50_ms).toBeLessThan(rr.ttft_p50_ms);
  }, 120_000); // ~10 s alone; the shared machine can be several times slower

  it('shared-prefix groups stick to pods that hold their system prompt', () => {
    const w = sharedPrefix({
      groups: 4,
      promptsPerGroup: 40,
      systemPromptTokens: 2000,
      questionTokens: 100,
      outputTokens: 20,
      ratePerS: 20,
    });
    const rr = runSim({ workload: w, pods: 4, policy: 'round-robin' });
    const llmd = runSim({ workload: w, pods: 4, policy: 'llm-d' });
    // ceiling: all but the first request of each group reuse 2000 of 2100 tokens
    expect(llmd.hit_rate).toBeGreaterThan(0.8);
    expect(llmd.hit_rate).toBeGreaterThan(rr.hit_rate);
  });

  it('multi-turn history hits the previous turn’s cached answer blocks', () => {
    const w = multiTurn({
      sessions: 6,
      turnsPerSession: 4,
      systemPromptTokens: 200,
      userTokens: 100,
      outputTokens: 64,
      thinkMs: 2000,
    });
    const r = runSim({ workload: w, pods: 1, policy: 'round-robin', capacityTokens: Infinity });
    // turn k reuses everything before its new user message, answers included (output blocks are cached)
    expect(r.hit_rate).toBeGreaterThan(0.5);
    expect(r.completed).toBe(24);
  });

  it('sends a session’s next turn its think time after the previous turn finishes, under --load', () => {
    const w = multiTurn({
      sessions: 60,
      turnsPerSession: 5,
      systemPromptTokens: 500,
      userTokens: 200,
      outputTokens: 200,
      thinkMs: 1000,
      sessionRatePerS: 2,
    });
    const done = new Map<number, SimRequestRecord>();
    // A high load compresses session starts (and, before sessions were closed
    // loops, think times too, so turns overtook the answers in their prompts).
    const r = runSim({
      workload: w,
      pods: 2,
      policy: 'round-robin',
      load: 0.9,
      onRequestDone: (x) => done.set(x.index, x),
    });
    expect(r.completed).toBe(300);
    expect(done.size).toBe(300);
    const bySession = new Map<number, number[]>();
    w.requests.forEach((q, i) => {
      bySession.set(q.session!.id, [...(bySession.get(q.session!.id) ?? []), i]);
    });
    let pairs = 0;
    for (const idx of bySession.values()) {
      expect(idx.map((i) => w.requests[i]!.session!.turn)).toEqual([0, 1, 2, 3, 4]);
      for (let k = 1; k < idx.length; k++) {
        const prev = done.get(idx[k - 1]!)!;
        const cur = done.get(idx[k]!)!;
        const think = w.requests[idx[k]!]!.session!.thinkMs;
        expect(cur.arrivalMs).toBeGreaterThan(prev.finishMs);
        expect(cur.arrivalMs - prev.finishMs).toBeCloseTo(think, 6); // think time is not scaled
        pairs++;
      }
    }
    expect(pairs).toBe(240);
  });
});
