import { decodeVllmBatch, encodeVllmBatch } from '@kvroute/vllm-events';
import { describe, expect, it } from 'vitest';
import { fillTokens } from '../workload/tokens.js';
import { EngineModel } from './engine.js';
import { LLAMA31_8B_H100, perturbedHardware, rooflineLatency } from './latency.js';
import type { EngineKvEvent, StepResult } from './types.js';

function prompt(n: number, stream: number): Uint32Array {
  const t = new Uint32Array(n);
  fillTokens(t, 0, n, stream);
  return t;
}

/** Steps until idle; returns every step. */
function drain(e: EngineModel, max = 100_000): StepResult[] {
  const out: StepResult[] = [];
  for (let i = 0; i < max && e.busy; i++) out.push(e.step(0)!);
  return out;
}

/** Prompt tokens each finished request found cached at its first admission. */
function cachedTokens(steps: StepResult[]): Map<string, number> {
  return new Map(steps.flatMap((s) => s.finished.map((f) => [f.id, f.cachedTokens] as const)));
}

const stored = (ev: EngineKvEvent[]) => ev.filter((x) => x.type === 'stored');
const removedCount = (ev: EngineKvEvent[]) =>
  ev.reduce((a, x) => a + (x.type === 'removed' ? x.hashes.length / 2 : 0), 0);

describe('EngineModel', () => {
  it('serves a repeated prompt from its prefix cache, never the last token', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 100_000 });
    e.enqueue({ id: 'a', prompt: prompt(1000, 1), maxOutputTokens: 4 }, 0);
    const steps = drain(e);
    e.enqueue({ id: 'b', prompt: prompt(1000, 1), maxOutputTokens: 4 }, 0);
    e.enqueue({ id: 'c', prompt: prompt(1000, 2), maxOutputTokens: 4 }, 0);
    steps.push(...drain(e));
    expect(cachedTokens(steps)).toEqual(
      new Map([
        ['a', 0],
        ['b', 992], // ⌊999/16⌋·16
        ['c', 0],
      ]),
    );
    const m = e.metrics();
    expect(m.prefix_cache_queries).toBe(3000);
    expect(m.prefix_cache_hits).toBe(992);
    expect(m.kv_cache_usage_perc).toBe(0);
  });

  it('chunks a long prefill by the token budget and produces the first token with the last chunk', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 100_000, maxBatchedTokens: 8192 });
    e.enqueue({ id: 'a', prompt: prompt(20_000, 1), maxOutputTokens: 3 }, 0);
    const steps = drain(e);
    expect(steps.map((s) => s.prefillTokens)).toEqual([8192, 8192, 3616, 0, 0]);
    expect(steps.findIndex((s) => s.firstTokens.includes('a'))).toBe(2);
    expect(steps.at(-1)!.finished).toEqual([
      { id: 'a', outputTokens: 3, rejected: false, cachedTokens: 0 },
    ]);
  });

  it('runs at most maxNumSeqs requests at once', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 100_000, maxNumSeqs: 2 });
    for (let i = 0; i < 5; i++)
      e.enqueue({ id: `r${i}`, prompt: prompt(32, i), maxOutputTokens: 10 }, 0);
    e.step(0);
    expect(e.metrics()).toMatchObject({ num_requests_running: 2, num_requests_waiting: 3 });
  });

  it('evicts least recently freed blocks first, a sequence tail before its prefix', () => {
    // 9 blocks of 16; a 64-token request with one output token holds 4
    const e = new EngineModel({ model: 'm', capacityTokens: 9 * 16 });
    const keysOf = (ev: EngineKvEvent[]) =>
      stored(ev).flatMap((x) => (x.type === 'stored' ? Array.from(x.hashes) : []));
    e.enqueue({ id: 'a', prompt: prompt(64, 1), maxOutputTokens: 1 }, 0);
    const a = keysOf(drain(e).flatMap((s) => s.events));
    e.enqueue({ id: 'b', prompt: prompt(64, 2), maxOutputTokens: 1 }, 0);
    const b = keysOf(drain(e).flatMap((s) => s.events));
    expect(a).toHaveLength(8);
    expect(b).toHaveLength(8);
    // c takes the one never-used block, then a's blocks (freed before b's), tail first
    e.enqueue({ id: 'c', prompt: prompt(64, 3), maxOutputTokens: 1 }, 0);
    const removed = drain(e)
      .flatMap((s) => s.events)
      .flatMap((x) => (x.type === 'removed' ? Array.from(x.hashes) : []));
    expect(removed).toEqual([...a.slice(6, 8), ...a.slice(4, 6), ...a.slice(2, 4)]);
    expect(removedCount([{ type: 'removed', hashes: Uint32Array.from(removed) }])).toBe(3);
    // b's blocks all survived: a repeat of b hits its whole cacheable prefix
    e.enqueue({ id: 'b2', prompt: prompt(64, 2), maxOutputTokens: 1 }, 0);
    expect(cachedTokens(drain(e)).get('b2')).toBe(48);
  });

  it('preempts the newest running request when blocks run out, and recomputes it later', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 10 * 16 });
    e.enqueue({ id: 'a', prompt: prompt(60, 1), maxOutputTokens: 40 }, 0);
    e.enqueue({ id: 'b', prompt: prompt(60, 2), maxOutputTokens: 40 }, 0);
    const steps = drain(e);
    // The victim is b (admitted after a): the step that preempts still serves a, not b,
    // and b samples nothing more until a has finished and freed its blocks.
    const first = steps.findIndex((s) => s.preempted > 0);
    expect(first).toBeGreaterThan(0);
    const ids = (s: StepResult) => s.generated.map((g) => g.id);
    expect(ids(steps[first]!)).toEqual(['a']);
    const aDone = steps.findIndex((s) => s.finished.some((f) => f.id === 'a'));
    for (let i = first; i < aDone; i++) expect(ids(steps[i]!)).not.toContain('b');
    const done = steps.flatMap((s) => s.finished);
    expect(done.map((f) => [f.id, f.outputTokens])).toEqual([
      ['a', 40],
      ['b', 40],
    ]);
    expect(e.metrics().num_preemptions).toBe(steps.reduce((a, s) => a + s.preempted, 0));
  });

  it('reports stored blocks as vLLM BlockStored events that round-trip the wire format', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 10_000 });
    e.enqueue({ id: 'a', prompt: prompt(40, 1), maxOutputTokens: 1 }, 0);
    const ev = drain(e).flatMap((s) => s.events);
    const s = stored(ev);
    expect(s).toHaveLength(1);
    const first = s[0]!;
    if (first.type !== 'stored') throw new Error('unreachable');
    expect(first.hashes.length).toBe(4); // two full blocks of 16
    expect(first.parent).toBeNull();
    expect(Array.from(first.tokens)).toEqual(Array.from(prompt(32, 1)));
    const wire = encodeVllmBatch({
      ts: 1,
      dataParallelRank: null,
      events: [
        {
          type: 'BlockStored',
          blockHashes: first.hashes,
          parentBlockHash: first.parent,
          tokenIds: first.tokens,
          blockSize: 16,
          loraId: null,
          medium: 'GPU',
          loraName: null,
          extraKeys: null,
          groupIdx: null,
          kvCacheSpecKind: null,
          kvCacheSpecSlidingWindow: null,
        },
      ],
    });
    const back = decodeVllmBatch(wire);
    const b = back.events[0]!;
    expect(b.type).toBe('BlockStored');
    if (b.type === 'BlockStored')
      expect(Array.from(b.blockHashes)).toEqual(Array.from(first.hashes));
  });

  it('rejects a request larger than the whole cache instead of stalling', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 4 * 16 });
    e.enqueue({ id: 'big', prompt: prompt(200, 1), maxOutputTokens: 1 }, 0);
    e.enqueue({ id: 'ok', prompt: prompt(20, 2), maxOutputTokens: 1 }, 0);
    const fin = drain(e).flatMap((s) => s.finished);
    expect(fin).toEqual([
      { id: 'big', outputTokens: 0, rejected: true, cachedTokens: 0 },
      { id: 'ok', outputTokens: 1, rejected: false, cachedTokens: 0 },
    ]);
  });

  it('rejects up front a request whose prompt fits but prompt + output does not', () => {
    // 4 blocks; 40 prompt tokens fit, 40 + 40 need 5 blocks
    const e = new EngineModel({ model: 'm', capacityTokens: 4 * 16 });
    e.enqueue({ id: 'long', prompt: prompt(40, 1), maxOutputTokens: 40 }, 0);
    e.enqueue({ id: 'ok', prompt: prompt(40, 2), maxOutputTokens: 24 }, 0); // exactly 4 blocks
    const steps = drain(e);
    expect(steps[0]!.finished).toContainEqual({
      id: 'long',
      outputTokens: 0,
      rejected: true,
      cachedTokens: 0,
    });
    expect(steps.some((s) => s.generated.some((g) => g.id === 'long'))).toBe(false);
    expect(steps.flatMap((s) => s.finished).at(-1)).toEqual({
      id: 'ok',
      outputTokens: 24,
      rejected: false,
      cachedTokens: 0,
    });
    expect(e.metrics()).toMatchObject({ num_preemptions: 0, generation_tokens: 24 });
  });

  it('never refuses on an unbounded cache', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: Infinity });
    e.enqueue({ id: 'a', prompt: prompt(100_000, 1), maxOutputTokens: 2 }, 0);
    expect(drain(e).flatMap((s) => s.finished)).toEqual([
      { id: 'a', outputTokens: 2, rejected: false, cachedTokens: 0 },
    ]);
  });
});

describe('EngineModel per-step output', () => {
  it('reports every sampled token once, in order, through preemptions', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 10 * 16 });
    const fixed = prompt(40, 9);
    e.enqueue({ id: 'a', prompt: prompt(60, 1), maxOutputTokens: 40 }, 0);
    e.enqueue({ id: 'b', prompt: prompt(60, 2), maxOutputTokens: 40, output: fixed }, 0);
    const steps = drain(e);
    expect(steps.reduce((a, s) => a + s.preempted, 0)).toBeGreaterThan(0);
    const out = new Map<string, number[]>();
    for (const s of steps) {
      const ids = s.generated.map((g) => g.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of s.firstTokens) expect(out.has(id)).toBe(false);
      for (const g of s.generated) out.set(g.id, [...(out.get(g.id) ?? []), ...g.tokens]);
      for (const id of s.firstTokens) expect(out.get(id)).toHaveLength(1);
      for (const f of s.finished) expect(out.get(f.id)).toHaveLength(f.outputTokens);
    }
    expect(out.get('a')).toHaveLength(40);
    expect(out.get('b')).toEqual([...fixed]);
    expect(e.metrics().generation_tokens).toBe(80);
  });
});

describe('EngineModel.abort', () => {
  /** Steps until `id` has sampled `n` tokens; returns the steps. */
  function stepUntil(e: EngineModel, id: string, n: number): StepResult[] {
    const steps: StepResult[] = [];
    let got = 0;
    while (got < n) {
      const r = e.step(0)!;
      steps.push(r);
      got += r.generated.find((g) => g.id === id)?.tokens.length ?? 0;
    }
    return steps;
  }

  it('frees a running request’s blocks, keeps its prefix cached and counts nothing more', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 200 * 16 });
    e.enqueue({ id: 'a', prompt: prompt(1000, 1), maxOutputTokens: 1000 }, 0);
    const steps = stepUntil(e, 'a', 5);
    const usage = e.metrics().kv_cache_usage_perc;
    expect(usage).toBeCloseTo(Math.ceil(1004 / 16) / 200, 6);
    expect(e.cachedPromptTokens('a')).toBe(0);

    expect(e.abort('a')).toBe(true);
    expect(e.abort('a')).toBe(false);
    expect(e.abort('nobody')).toBe(false);
    expect(e.busy).toBe(false);
    expect(e.step(0)).toBeNull();
    expect(e.cachedPromptTokens('a')).toBeUndefined();
    const m = e.metrics();
    expect(m).toMatchObject({
      num_requests_running: 0,
      num_requests_waiting: 0,
      kv_cache_usage_perc: 0,
      generation_tokens: 5,
      prompt_tokens: 1000,
      prefix_cache_queries: 1000,
      prefix_cache_hits: 0,
    });
    // Nothing was evicted: every block went back to the free pool still cached.
    expect(steps.flatMap((s) => s.events).some((x) => x.type === 'removed')).toBe(false);

    // The same id may come back; the same prefix hits what the aborted request computed.
    e.enqueue({ id: 'a', prompt: prompt(1000, 1), maxOutputTokens: 2 }, 0);
    expect(e.cachedPromptTokens('a')).toBe(0);
    const again = drain(e);
    expect(cachedTokens(again).get('a')).toBe(992);
    expect(again.flatMap((s) => s.generated.map((g) => g.id))).toEqual(['a', 'a']);
    expect(e.metrics()).toMatchObject({
      generation_tokens: 7,
      prompt_tokens: 2000,
      prefix_cache_queries: 2000,
      prefix_cache_hits: 992,
      kv_cache_usage_perc: 0,
    });
  });

  it('frees blocks tail first, exactly as a finished request does', () => {
    // The eviction scenario above, once with `a` finishing after one token and
    // once with `a` aborted right after it: the same blocks leave in the same order.
    const run = (abortA: boolean) => {
      const e = new EngineModel({ model: 'm', capacityTokens: 9 * 16 });
      e.enqueue({ id: 'a', prompt: prompt(64, 1), maxOutputTokens: abortA ? 50 : 1 }, 0);
      const steps = stepUntil(e, 'a', 1);
      if (abortA) expect(e.abort('a')).toBe(true);
      expect(e.busy).toBe(false);
      e.enqueue({ id: 'b', prompt: prompt(64, 2), maxOutputTokens: 1 }, 0);
      steps.push(...drain(e));
      e.enqueue({ id: 'c', prompt: prompt(64, 3), maxOutputTokens: 1 }, 0);
      steps.push(...drain(e));
      e.enqueue({ id: 'a2', prompt: prompt(64, 1), maxOutputTokens: 1 }, 0);
      const a2 = cachedTokens(drain(e)).get('a2');
      const removed = steps
        .flatMap((s) => s.events)
        .flatMap((x) => (x.type === 'removed' ? Array.from(x.hashes) : []));
      return { removed, a2 };
    };
    const finished = run(false);
    expect(finished.removed).toHaveLength(6); // three of a's four blocks
    expect(finished.a2).toBe(16); // its first block survived
    expect(run(true)).toEqual(finished);
  });

  it('removes a waiting request before it runs', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 100_000, maxNumSeqs: 1 });
    for (const id of ['a', 'b', 'c'])
      e.enqueue({ id, prompt: prompt(32, 1), maxOutputTokens: 3 }, 0);
    const steps = [e.step(0)!];
    expect(e.metrics()).toMatchObject({ num_requests_running: 1, num_requests_waiting: 2 });
    expect(e.abort('b')).toBe(true);
    expect(e.metrics()).toMatchObject({ num_requests_running: 1, num_requests_waiting: 1 });
    steps.push(...drain(e));
    expect(steps.flatMap((s) => s.finished.map((f) => f.id))).toEqual(['a', 'c']);
    expect(steps.some((s) => s.generated.some((g) => g.id === 'b'))).toBe(false);
    expect(e.metrics()).toMatchObject({ generation_tokens: 6, prompt_tokens: 64 });
  });
});

describe('roofline latency (Llama-3.1-8B, H100)', () => {
  const l = rooflineLatency();
  it('is memory-bound for small decode batches and compute-bound for prefill', () => {
    const decode1 = l.stepMs({ tokens: 1, attentionPairs: 1000, kvTokensRead: 1000 });
    const decode64 = l.stepMs({ tokens: 64, attentionPairs: 6400, kvTokensRead: 6400 });
    expect(decode1).toBeGreaterThan(7);
    expect(decode1).toBeLessThan(9);
    expect(decode64 / decode1).toBeLessThan(1.1);
    const prefill = l.stepMs({
      tokens: 8192,
      attentionPairs: (8192 * 8192) / 2,
      kvTokensRead: 8192,
    });
    expect(prefill).toBeGreaterThan(250);
    expect(prefill).toBeLessThan(350);
  });

  it('perturbs prefill (FLOP-bound) and decode (memory-bound) time separately', () => {
    const p = rooflineLatency(perturbedHardware(LLAMA31_8B_H100, 2, 0.5));
    const overhead = LLAMA31_8B_H100.stepOverheadMs;
    const decode = { tokens: 1, attentionPairs: 1000, kvTokensRead: 1000 };
    const prefill = { tokens: 8192, attentionPairs: (8192 * 8192) / 2, kvTokensRead: 8192 };
    expect(p.stepMs(prefill) - overhead).toBeCloseTo(2 * (l.stepMs(prefill) - overhead), 6);
    expect(p.stepMs(decode) - overhead).toBeCloseTo(0.5 * (l.stepMs(decode) - overhead), 6);
    expect(p.name).toMatch(/prefill ×2, decode ×0\.5/);
    expect(() => perturbedHardware(LLAMA31_8B_H100, 0, 1)).toThrow(RangeError);
  });
});
