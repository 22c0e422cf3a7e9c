import { describe, expect, it } from 'vitest';
import { EngineModel } from '../engine/engine.js';
import type { StepResult } from '../engine/types.js';
import { fillTokens } from '../workload/tokens.js';
import type { FinishInfo, RequestSink } from './realtime-engine.js';
import { RealtimeEngine } from './realtime-engine.js';

function prompt(n: number, stream: number): Uint32Array {
  const t = new Uint32Array(n);
  fillTokens(t, 0, n, stream);
  return t;
}

/** Records what a request's sink hears; `done` resolves at its finish. */
function recorder(onTokens?: (ids: Uint32Array) => void) {
  const pieces: number[][] = [];
  let resolve!: (i: FinishInfo) => void;
  const done = new Promise<FinishInfo>((r) => (resolve = r));
  let finished: FinishInfo | undefined;
  const sink: RequestSink = {
    tokens(ids) {
      if (finished) throw new Error('tokens after finish');
      pieces.push([...ids]);
      onTokens?.(ids);
    },
    finish(info) {
      finished = info;
      resolve(info);
    },
  };
  return { sink, pieces, done };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('RealtimeEngine (engine model on the real clock)', () => {
  it('delivers each step’s tokens when the step ends, never ahead of the scaled model clock', async () => {
    const steps: StepResult[] = [];
    const engine = new EngineModel({ model: 'm', capacityTokens: 100_000 });
    // Steps of a few wall ms: the loop's sub-millisecond timer slack stays within the 5 % below.
    const rt = new RealtimeEngine(engine, { timeScale: 2, onStepEnd: (r) => steps.push(r) });
    const r = recorder();
    const t0 = performance.now();
    rt.submit({ id: 'a', prompt: prompt(300, 1), maxOutputTokens: 12 }, r.sink);
    const info = await r.done;
    const wallMs = performance.now() - t0;
    expect(info).toEqual({ reason: 'length', outputTokens: 12, cachedTokens: 0 });
    // Alone on the engine, one token per step: twelve separate deliveries.
    expect(r.pieces.map((p) => p.length)).toEqual(Array(12).fill(1));
    expect(steps).toHaveLength(12);
    const modelMs = steps.reduce((a, s) => a + s.durationMs, 0);
    expect(wallMs).toBeGreaterThanOrEqual((0.95 * modelMs) / 2);
    expect(rt.liveRequests).toBe(0);
    expect(engine.cachedPromptTokens('a')).toBeUndefined(); // the engine holds it no more
  });

  it('aborts a decoding request between steps: no more tokens, blocks freed, prefix still cached', async () => {
    const engine = new EngineModel({ model: 'm', capacityTokens: 50_000 });
    const rt = new RealtimeEngine(engine, { timeScale: 10 });
    let firstToken!: () => void;
    const gotToken = new Promise<void>((r) => (firstToken = r));
    const a = recorder(() => firstToken());
    // Long enough to be decoding when aborted; prompt + output fit the cache (else refused).
    rt.submit({ id: 'a', prompt: prompt(1000, 1), maxOutputTokens: 40_000 }, a.sink);
    await gotToken;
    expect(engine.metrics().kv_cache_usage_perc).toBeGreaterThan(0);
    rt.abort('a');
    const info = await a.done;
    expect(info.reason).toBe('abort');
    await tick();
    const tokensAtAbort = a.pieces.flat().length;
    await tick();
    expect(a.pieces.flat().length).toBe(tokensAtAbort);
    expect(engine.metrics()).toMatchObject({
      num_requests_running: 0,
      num_requests_waiting: 0,
      kv_cache_usage_perc: 0,
    });
    // vLLM keeps an aborted request's computed full blocks in the prefix cache.
    const b = recorder();
    rt.submit({ id: 'b', prompt: prompt(1000, 1), maxOutputTokens: 2 }, b.sink);
    expect((await b.done).cachedTokens).toBe(992);
  });

  it('aborts a request whose last step is in flight with the cache hit that step reported', async () => {
    const engine = new EngineModel({ model: 'm', capacityTokens: 50_000 });
    // 100× slower than the model: the 8-token prefill step takes most of a second.
    const rt = new RealtimeEngine(engine, { timeScale: 0.01 });
    engine.enqueue({ id: 'warm', prompt: prompt(1000, 1), maxOutputTokens: 1 }, 0);
    while (engine.busy) engine.step(0);
    const b = recorder();
    rt.submit({ id: 'b', prompt: prompt(1000, 1), maxOutputTokens: 1 }, b.sink);
    await tick();
    expect(engine.busy).toBe(false); // the step ran in the model; its end is still ahead
    expect(rt.liveRequests).toBe(1);
    rt.abort('b');
    expect(await b.done).toEqual({ reason: 'abort', outputTokens: 0, cachedTokens: 992 });
    rt.close();
    expect(b.pieces).toEqual([]);
  });

  it('aborts a waiting request and closes with every live request aborted', async () => {
    const engine = new EngineModel({ model: 'm', capacityTokens: 50_000, maxNumSeqs: 1 });
    const rt = new RealtimeEngine(engine, { timeScale: 10 });
    const a = recorder();
    const b = recorder();
    const c = recorder();
    rt.submit({ id: 'a', prompt: prompt(100, 1), maxOutputTokens: 40_000 }, a.sink);
    rt.submit({ id: 'b', prompt: prompt(100, 2), maxOutputTokens: 5 }, b.sink);
    rt.submit({ id: 'c', prompt: prompt(100, 3), maxOutputTokens: 5 }, c.sink);
    await tick();
    expect(engine.metrics()).toMatchObject({ num_requests_running: 1, num_requests_waiting: 2 });
    rt.abort('b');
    await tick();
    expect(engine.metrics()).toMatchObject({ num_requests_running: 1, num_requests_waiting: 1 });
    expect(b.pieces).toEqual([]);
    rt.close();
    expect((await a.done).reason).toBe('abort');
    expect((await c.done).reason).toBe('abort');
    expect(engine.metrics()).toMatchObject({
      num_requests_running: 0,
      num_requests_waiting: 0,
      kv_cache_usage_perc: 0,
    });
    expect(() =>
      rt.submit({ id: 'd', prompt: prompt(10, 4), maxOutputTokens: 1 }, recorder().sink),
    ).toThrow(/closed/);
  });
});
