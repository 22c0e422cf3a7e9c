import { decodeVllmBatch, encodeVllmBatch } from '@kvroute/vllm-events';
import { describe, expect, it } from 'vitest';
import { fillTokens } from '../workload/tokens.js';
import { EngineModel } from './engine.js';
import { rooflineLatency } from './latency.js';
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

const stored = (ev: EngineKvEvent[]) => ev.filter((x) => x.type === 'stored');
const removedCount = (ev: EngineKvEvent[]) =>
  ev.reduce((a, x) => a + (x.type === 'removed' ? x.hashes.length / 2 : 0), 0);

describe('EngineModel', () => {
  it('serves a repeated prompt from its prefix cache, never the last token', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 100_000 });
    e.enqueue({ id: 'a', prompt: prompt(1000, 1), maxOutputTokens: 4 }, 0);
    drain(e);
    e.enqueue({ id: 'b', prompt: prompt(1000, 1), maxOutputTokens: 4 }, 0);
    e.enqueue({ id: 'c', prompt: prompt(1000, 2), maxOutputTokens: 4 }, 0);
    drain(e);
    expect(e.firstHitTokens.get('a')).toBe(0);
    expect(e.firstHitTokens.get('b')).toBe(992); // ⌊999/16⌋·16
    expect(e.firstHitTokens.get('c')).toBe(0);
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
    expect(steps.at(-1)!.finished).toEqual([{ id: 'a', outputTokens: 3, rejected: false }]);
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
    drain(e);
    expect(e.firstHitTokens.get('b2')).toBe(48);
  });

  it('preempts the newest running request when blocks run out, and recomputes it later', () => {
    const e = new EngineModel({ model: 'm', capacityTokens: 10 * 16 });
    e.enqueue({ id: 'a', prompt: prompt(60, 1), maxOutputTokens: 40 }, 0);
    e.enqueue({ id: 'b', prompt: prompt(60, 2), maxOutputTokens: 40 }, 0);
    const steps = drain(e);
    expect(steps.reduce((a, s) => a + s.preempted, 0)).toBeGreaterThan(0);
    const done = steps.flatMap((s) => s.finished);
    expect(done.map((f) => [f.id, f.outputTokens])).toEqual(
      expect.arrayContaining([
        ['a', 40],
        ['b', 40],
      ]),
    );
    expect(e.metrics().num_preemptions).toBeGreaterThan(0);
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
      { id: 'big', outputTokens: 0, rejected: true },
      { id: 'ok', outputTokens: 1, rejected: false },
    ]);
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
});
