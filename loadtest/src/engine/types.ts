import type { KeySeq } from '@kvroute/block-keys';

export interface EngineRequest {
  id: string;
  /** Prompt token ids. */
  prompt: Uint32Array;
  /** Output tokens to generate before the request finishes (≥ 1). */
  maxOutputTokens: number;
  /** The tokens to generate, when the workload fixes them (else pseudo-random ids). */
  output?: Uint32Array;
  /**
   * Block keys of the prompt's full blocks, when the caller has them (else the
   * engine computes them); they must chain from the engine's root (its `model`
   * and `hashSalt`).
   */
  promptKeys?: KeySeq;
}

/**
 * KV events of one step, in order, vLLM-shaped: a run of newly cached full
 * blocks of one request (with their token ids), or evicted block hashes.
 * Hashes are u64 as [lo, hi] pairs; `tokens` is a view valid until the
 * request finishes (copy it to keep it).
 */
export type EngineKvEvent =
  | {
      type: 'stored';
      hashes: Uint32Array;
      /** Hash of the block before hashes[0], or null at the first block. */
      parent: Uint32Array | null;
      tokens: Uint32Array;
      /** Position of hashes[0] in its sequence (blocks). */
      depth: number;
    }
  | { type: 'removed'; hashes: Uint32Array }
  | { type: 'cleared' };

/** Output tokens one request sampled in one step. */
export interface GeneratedTokens {
  id: string;
  /**
   * The new output token ids, in order (one per step today: the model has no
   * speculative decoding). A read-only view of the request's token buffer;
   * generated tokens never change afterwards, so it stays valid.
   */
  tokens: Uint32Array;
}

/** A request that left the engine at the end of a step (not by `abort`). */
export interface FinishedRequest {
  id: string;
  /** Output tokens generated over the request's life (0 when rejected). */
  outputTokens: number;
  /** Never admitted: the request needs more blocks than the whole cache holds. */
  rejected: boolean;
  /** Prompt tokens found in the prefix cache at its first admission (0 when rejected). */
  cachedTokens: number;
}

export interface StepResult {
  durationMs: number;
  events: EngineKvEvent[];
  /** Requests that produced their first output token in this step. */
  firstTokens: string[];
  /**
   * Every request that sampled tokens in this step, in scheduling order, at
   * most once each; the first token of a request is here as well as in
   * `firstTokens`, its last one in the same step as its `finished` entry.
   */
  generated: GeneratedTokens[];
  finished: FinishedRequest[];
  prefillTokens: number;
  decodeSeqs: number;
  preempted: number;
}

/** vLLM-named engine metrics (the Prometheus names without the `vllm:` prefix). */
export interface EngineMetrics {
  num_requests_waiting: number;
  num_requests_running: number;
  /** 0..1 */
  kv_cache_usage_perc: number;
  /** Prompt tokens looked up in the prefix cache (counter). */
  prefix_cache_queries: number;
  /** Of those, tokens found cached (counter). */
  prefix_cache_hits: number;
  num_preemptions: number;
  prompt_tokens: number;
  generation_tokens: number;
  num_gpu_blocks: number;
  block_size: number;
}
