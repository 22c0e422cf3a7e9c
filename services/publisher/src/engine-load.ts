import type { PromSample } from './prom-text.js';
import { parsePromText } from './prom-text.js';

/** The engine's load as a heartbeat carries it. */
export interface EngineLoad {
  waiting: number;
  running: number;
  /** Fraction of KV blocks in use, 0..1. */
  kvUsage: number;
  /** Tokens per block, or 0 when the page does not say. */
  blockSize: number;
  /** GPU KV blocks, or 0 when the page does not say. */
  capacityBlocks: number;
}

const WAITING = 'vllm:num_requests_waiting';
const RUNNING = 'vllm:num_requests_running';
const USAGE = 'vllm:kv_cache_usage_perc';
const USAGE_OLD = 'vllm:gpu_cache_usage_perc';
const CACHE_INFO = 'vllm:cache_config_info';
const WANTED = new Set([WAITING, RUNNING, USAGE, USAGE_OLD, CACHE_INFO]);

export class EngineLoadError extends Error {
  override name = 'EngineLoadError';
}

const finite = (v: number) => (Number.isFinite(v) ? v : 0);

function sum(samples: PromSample[], name: string): number | undefined {
  let s: number | undefined;
  for (const x of samples) if (x.name === name) s = (s ?? 0) + finite(x.value);
  return s;
}

/**
 * Reads vLLM's load from its `/metrics` page. A server running several
 * engines (data parallel) labels each series with `engine`: requests and
 * capacity add up, KV usage is the capacity-weighted mean (the plain mean when
 * capacity is unknown). `kv_cache_usage_perc` is a fraction despite its name;
 * the older `gpu_cache_usage_perc` is read when the newer is absent. Throws
 * PromParseError for an unreadable page, EngineLoadError for a page that is not
 * a vLLM engine's (no request gauges).
 */
export function readEngineLoad(page: string): EngineLoad {
  const samples = parsePromText(page, WANTED);
  const waiting = sum(samples, WAITING);
  const running = sum(samples, RUNNING);
  if (waiting === undefined || running === undefined)
    throw new EngineLoadError(`no ${WAITING} / ${RUNNING} on the page`);

  // Per engine: capacity and block size from cache_config_info, usage from the usage gauge.
  const engineOf = (s: PromSample) => s.labels.engine ?? '';
  const capacity = new Map<string, number>();
  let blockSize = 0;
  for (const s of samples) {
    if (s.name !== CACHE_INFO) continue;
    const blocks = Number(s.labels.num_gpu_blocks);
    capacity.set(engineOf(s), Number.isFinite(blocks) && blocks > 0 ? Math.floor(blocks) : 0);
    const bs = Number(s.labels.block_size);
    if (blockSize === 0 && Number.isInteger(bs) && bs > 0) blockSize = bs;
  }
  const usageName = samples.some((s) => s.name === USAGE) ? USAGE : USAGE_OLD;
  let weighted = 0;
  let weight = 0;
  let plain = 0;
  let n = 0;
  for (const s of samples) {
    if (s.name !== usageName) continue;
    const u = Math.min(1, Math.max(0, finite(s.value)));
    const c = capacity.get(engineOf(s)) ?? 0;
    weighted += u * c;
    weight += c;
    plain += u;
    n++;
  }
  let capacityBlocks = 0;
  for (const c of capacity.values()) capacityBlocks += c;
  return {
    waiting: Math.max(0, Math.round(waiting)),
    running: Math.max(0, Math.round(running)),
    kvUsage: weight > 0 ? weighted / weight : n > 0 ? plain / n : 0,
    blockSize,
    capacityBlocks,
  };
}
