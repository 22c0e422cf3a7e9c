import type { BlockKeyer } from '@kvroute/block-keys';
import { createBlockKeyer } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';
import type { LoadTracker, MatchDepth, Policy, PolicyConfig, PresetName } from '@kvroute/routing';
import { createLoadTracker, createPolicy } from '@kvroute/routing';
import { EngineModel } from '../engine/engine.js';
import type { LatencyModel } from '../engine/latency.js';
import { rooflineLatency } from '../engine/latency.js';
import type { EngineKvEvent, StepResult } from '../engine/types.js';
import type { Workload } from '../workload/types.js';
import { EventHeap } from './event-heap.js';
import { createPrefixIndex } from '@kvroute/prefix-index';
import { loadScale } from './scale.js';
import { sessionLinks } from './sessions.js';
import { percentile } from './stats.js';

/** Block size of the simulated engines unless `blockSize` says otherwise (vLLM's default). */
export const SIM_BLOCK_SIZE = 16;

/** One request's fate, for callers that look past the percentiles (ms of virtual time). */
export interface SimRequestRecord {
  /** Index in the replayed requests (after `limit`). */
  index: number;
  pod: string;
  arrivalMs: number;
  /** -1 when no token came (rejected). */
  firstTokenMs: number;
  finishMs: number;
  rejected: boolean;
}

export interface SimOptions {
  workload: Workload;
  pods: number;
  policy: PresetName | PolicyConfig;
  /** KV capacity of each pod in tokens, at least one block (default 1 000 000); Infinity for unbounded. */
  capacityTokens?: number;
  /**
   * Offered load as a fraction of fleet capacity (see loadScale); absent =
   * trace timestamps. Either way a session's follow-up turn is sent its think
   * time after the previous turn finishes (closed loop).
   */
  load?: number;
  /** Replay only the first N requests. */
  limit?: number;
  blockSize?: number;
  maxBatchedTokens?: number;
  maxNumSeqs?: number;
  /** Delay from an engine step's end to its KV events reaching the index (default 50 ms). */
  kvEventDelayMs?: number;
  /** Heartbeat period (default 200 ms). */
  heartbeatMs?: number;
  /** Lifetime of the router's speculative entries (default 5000 ms). */
  speculativeTtlMs?: number;
  latency?: LatencyModel;
  seed?: number;
  model?: string;
  /** Called about once per second of wall time with the fraction of requests finished. */
  onProgress?: (done: number, total: number, virtualMs: number) => void;
  /** Called once per request when it completes or is rejected. */
  onRequestDone?: (r: SimRequestRecord) => void;
}

export interface SimResult {
  policy: string;
  workload: string;
  pods: number;
  load: number | null;
  capacity_tokens: number | null;
  requests: number;
  completed: number;
  rejected: number;
  hit_rate: number;
  ttft_p50_ms: number;
  ttft_p95_ms: number;
  ttft_p99_ms: number;
  e2e_p50_ms: number;
  e2e_p95_ms: number;
  output_tokens_per_s: number;
  load_imbalance: number;
  preemptions: number;
  virtual_s: number;
  wall_s: number;
}

type Ev =
  | { k: 'step'; pod: number; r: StepResult }
  | { k: 'turn'; i: number }
  | { k: 'kv'; pod: number; events: CanonicalEvent[] }
  | { k: 'hb'; pod: number };

interface Live {
  index: number;
  pod: number;
  arrivalMs: number;
  promptTokens: number;
  outputTokens: number;
  firstMs: number;
}

/**
 * Replays a workload on `pods` engine models on a virtual clock, routing each
 * request with the real policy code (LoadTracker + Policy) over the real
 * index API: the router computes block keys as a publisher would, looks up
 * matches, picks, marks the chosen pod speculatively and accounts the request
 * in flight; engines' KV events reach the index after `kvEventDelayMs`;
 * heartbeats carry engine metrics every `heartbeatMs`. Open-loop requests
 * (and sessions' first turns) arrive at their scaled trace times; a session's
 * next turn arrives its think time after the previous one finishes.
 */
export function runSim(o: SimOptions): SimResult {
  const wallStart = performance.now();
  const model = o.model ?? 'sim-model';
  const bs = o.blockSize ?? SIM_BLOCK_SIZE;
  const latency = o.latency ?? rooflineLatency();
  const capacity = o.capacityTokens ?? 1_000_000;
  const delay = o.kvEventDelayMs ?? 50;
  const hbMs = o.heartbeatMs ?? 200;
  if (!(capacity >= bs))
    throw new RangeError(`capacityTokens ${capacity} is below one block (${bs})`);
  const reqs = o.workload.requests.slice(0, o.limit ?? Infinity);
  const links = sessionLinks(reqs);
  const scale =
    o.load !== undefined
      ? loadScale({ ...o.workload, requests: reqs }, o.pods, o.load, latency, links)
      : 1;
  const t0 = reqs[0]?.arrivalMs ?? 0;

  let now = 0;
  const clock = () => now;
  const names = Array.from({ length: o.pods }, (_, i) => `pod-${String(i).padStart(3, '0')}`);
  const podIndex = new Map(names.map((n, i) => [n, i]));
  const engines = names.map(
    () =>
      new EngineModel({
        model,
        capacityTokens: capacity,
        blockSize: bs,
        maxBatchedTokens: o.maxBatchedTokens,
        maxNumSeqs: o.maxNumSeqs,
        latency,
        reportGenerated: false,
      }),
  );
  const stepping = new Uint8Array(o.pods);
  const busyMs = new Float64Array(o.pods);
  const tracker: LoadTracker = createLoadTracker({ now: clock, maxRequestAgeMs: Infinity });
  const policy: Policy =
    typeof o.policy === 'string'
      ? createPolicy({ preset: o.policy }, { seed: o.seed ?? 1 })
      : createPolicy(o.policy, { seed: o.seed ?? 1 });
  // One pod leaves the router no choice: skip the index (it would only cost memory).
  const index =
    o.pods > 1
      ? createPrefixIndex({ speculativeTtlMs: o.speculativeTtlMs ?? 5000, now: clock })
      : null;
  const keyer: BlockKeyer = createBlockKeyer();
  const root = keyer.rootKey({ model });
  const heap = new EventHeap<Ev>();

  const live = new Map<string, Live>();
  const ttft: number[] = [];
  const e2e: number[] = [];
  let hitTokens = 0;
  let promptTokens = 0;
  let outputTokens = 0;
  let completed = 0;
  let rejected = 0;
  let lastFinish = 0;
  let preemptions = 0;

  for (let p = 0; p < o.pods; p++) {
    heap.push((p * hbMs) / o.pods, { k: 'hb', pod: p });
  }

  const startStep = (p: number) => {
    const e = engines[p]!;
    while (!stepping[p] && e.busy) {
      const r = e.step(now)!;
      if (r.durationMs > 0) {
        stepping[p] = 1;
        busyMs[p]! += r.durationMs;
        heap.push(now + r.durationMs, { k: 'step', pod: p, r });
      } else {
        finishStep(p, r);
      }
    }
  };

  const finishStep = (p: number, r: StepResult) => {
    preemptions += r.preempted;
    for (const id of r.firstTokens) {
      const l = live.get(id);
      if (l) {
        l.firstMs = now;
        ttft.push(now - l.arrivalMs);
      }
      tracker.firstToken(id);
    }
    for (const f of r.finished) {
      const l = live.get(f.id);
      live.delete(f.id);
      tracker.requestFinished(f.id);
      if (!l) continue;
      const follow = links.next[l.index]!;
      if (follow >= 0) heap.push(now + reqs[follow]!.session!.thinkMs, { k: 'turn', i: follow });
      o.onRequestDone?.({
        index: l.index,
        pod: names[l.pod]!,
        arrivalMs: l.arrivalMs,
        firstTokenMs: l.firstMs,
        finishMs: now,
        rejected: f.rejected,
      });
      if (f.rejected) {
        rejected++;
        continue;
      }
      completed++;
      hitTokens += f.cachedTokens;
      promptTokens += l.promptTokens;
      outputTokens += f.outputTokens;
      e2e.push(now - l.arrivalMs);
      lastFinish = now;
    }
    if (index && r.events.length > 0) {
      const ev = toCanonical(r.events);
      if (delay > 0) heap.push(now + delay, { k: 'kv', pod: p, events: ev });
      else index.apply(names[p]!, ev);
    }
  };

  const arrive = (i: number) => {
    const q = reqs[i]!;
    const id = `r${i}`;
    const prompt = q.prompt();
    const keys = keyer.chain(prompt, {
      blockSizeTokens: bs,
      parentLo: root[0]!,
      parentHi: root[1]!,
    });
    const totalBlocks = keys.length >>> 1;
    const candidates = tracker.live(model);
    const matches = new Map<string, MatchDepth>();
    if (index) {
      for (const m of index.lookup(keys, { candidates: candidates.map((c) => c.pod) }).matches) {
        if (m.speculative > 0) matches.set(m.pod, m);
      }
    }
    const d = policy.pick(
      { model, blockSize: bs, promptTokens: prompt.length, totalBlocks, matches, keys },
      candidates,
    );
    const m = matches.get(d.pod);
    const matched = m ? Math.max(m.total, m.speculative) : 0;
    index?.addSpeculative(d.pod, keys);
    tracker.requestStarted(d.pod, id, {
      promptTokens: prompt.length,
      uncachedTokens: Math.max(1, prompt.length - matched * bs),
    });
    const p = podIndex.get(d.pod)!;
    live.set(id, {
      index: i,
      pod: p,
      arrivalMs: now,
      promptTokens: prompt.length,
      outputTokens: q.outputTokens,
      firstMs: -1,
    });
    const output = q.output?.();
    engines[p]!.enqueue(
      {
        id,
        prompt,
        maxOutputTokens: q.outputTokens,
        promptKeys: keys,
        ...(output ? { output } : {}),
      },
      now,
    );
    startStep(p);
  };

  // Heartbeats before the first arrival so the router knows the fleet.
  for (let p = 0; p < o.pods; p++)
    tracker.heartbeat(heartbeat(names[p]!, model, engines[p]!, 0, hbMs));

  const roots = links.roots;
  let next = 0; // next root to arrive
  let arrived = 0;
  let lastReport = performance.now();
  const total = reqs.length;
  while (arrived < total || live.size > 0) {
    const ta = next < roots.length ? (reqs[roots[next]!]!.arrivalMs - t0) * scale : Infinity;
    const th = heap.peekTime();
    if (ta <= th) {
      now = ta;
      arrived++;
      arrive(roots[next++]!);
    } else {
      const { time, item } = heap.pop()!;
      now = time;
      if (item.k === 'step') {
        stepping[item.pod] = 0;
        finishStep(item.pod, item.r);
        startStep(item.pod);
      } else if (item.k === 'turn') {
        arrived++;
        arrive(item.i);
      } else if (item.k === 'kv') {
        index!.apply(names[item.pod]!, item.events);
      } else {
        tracker.heartbeat(heartbeat(names[item.pod]!, model, engines[item.pod]!, now, hbMs));
        if (arrived < total || live.size > 0) heap.push(now + hbMs, item);
      }
    }
    if (o.onProgress && (completed + rejected) % 64 === 0) {
      const w = performance.now();
      if (w - lastReport > 1000) {
        lastReport = w;
        o.onProgress(completed + rejected, total, now);
      }
    }
  }

  const span = lastFinish / 1000;
  const meanBusy = busyMs.reduce((a, b) => a + b, 0) / o.pods;
  return {
    policy: policy.name,
    workload: o.workload.name,
    pods: o.pods,
    load: o.load ?? null,
    capacity_tokens: Number.isFinite(capacity) ? capacity : null,
    requests: total,
    completed,
    rejected,
    hit_rate: promptTokens > 0 ? hitTokens / promptTokens : 0,
    ttft_p50_ms: percentile(ttft, 0.5),
    ttft_p95_ms: percentile(ttft, 0.95),
    ttft_p99_ms: percentile(ttft, 0.99),
    e2e_p50_ms: percentile(e2e, 0.5),
    e2e_p95_ms: percentile(e2e, 0.95),
    output_tokens_per_s: span > 0 ? outputTokens / span : 0,
    load_imbalance: meanBusy > 0 ? Math.max(...busyMs) / meanBusy : 1,
    preemptions,
    virtual_s: now / 1000,
    wall_s: (performance.now() - wallStart) / 1000,
  };
}

function heartbeat(pod: string, model: string, e: EngineModel, ts: number, intervalMs: number) {
  const m = e.metrics();
  return {
    pod,
    model,
    role: 'both' as const,
    epoch: 'sim',
    ts,
    state: 'up' as const,
    waiting: m.num_requests_waiting,
    running: m.num_requests_running,
    kvUsage: m.kv_cache_usage_perc,
    blockSize: m.block_size,
    capacityBlocks: m.num_gpu_blocks,
    lastSeq: 0,
    intervalMs,
  };
}

/** Engine KV events as the publisher would publish them (GPU tier). */
export function toCanonical(events: readonly EngineKvEvent[]): CanonicalEvent[] {
  return events.map((e): CanonicalEvent => {
    if (e.type === 'stored')
      return { kind: 'stored', parent: e.parent, keys: e.hashes, tier: 'gpu', depth: e.depth };
    if (e.type === 'removed') return { kind: 'removed', keys: e.hashes, tier: 'gpu' };
    return { kind: 'cleared' };
  });
}
