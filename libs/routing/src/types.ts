import type { KeySeq } from '@kvroute/block-keys';
import type { PodRole } from '@kvroute/protocol';

export type { PodRole };

/** What a pod's heartbeats say about it (engine-side view). */
export interface PodLoad {
  pod: string;
  model: string;
  role: PodRole;
  /** Requests queued in the engine, not yet scheduled. */
  waiting: number;
  /** Requests in the engine's running batch. */
  running: number;
  /** Fraction of KV blocks in use, 0..1. */
  kvUsage: number;
  capacityBlocks: number;
  blockSize: number;
  /** Router clock (ms) when the last heartbeat arrived; 0 for static pods. */
  lastHeartbeatMs: number;
}

/**
 * A pod as the router sees it: the heartbeat view plus the router's own
 * accounting of the requests it sent there (fresher than any heartbeat).
 */
export interface PodState extends PodLoad {
  /** Requests this router sent to the pod that have not finished. */
  inFlight: number;
  /** Uncached prompt tokens of in-flight requests that have not produced a first token. */
  inFlightPrefillTokens: number;
  /** In-flight requests that have not produced a first token. */
  inFlightPrefilling: number;
  /** Prompt plus expected output tokens of all in-flight requests (Dynamo's active blocks × block size). */
  inFlightTokens: number;
}

/** Per-pod prefix match, in blocks, from the prefix index. */
export interface MatchDepth {
  /** Leading blocks held in GPU memory. */
  gpu: number;
  /** Leading blocks held in any tier. */
  total: number;
  /** Leading blocks held counting speculative entries (routed, not yet confirmed by events). */
  speculative: number;
}

export interface RouteInput {
  model: string;
  blockSize: number;
  promptTokens: number;
  /** Full blocks of the prompt: ⌊promptTokens / blockSize⌋ = keyCount(keys). */
  totalBlocks: number;
  /** Pods absent from the map hold no leading block. */
  matches: ReadonlyMap<string, MatchDepth>;
  /** The request's block keys (@kvroute/block-keys), for consistent hashing. */
  keys: KeySeq;
  expectedOutputTokens?: number;
}

export interface PodScore {
  pod: string;
  /** Weighted sum of the parts (higher is better), or the picker's own figure. */
  total: number;
  /** Per scorer: a score in [0,1] (higher is better) or a documented raw figure (`…Ms`, `…Blocks`). */
  parts: Record<string, number>;
}

export interface Decision {
  pod: string;
  /** The other candidates, best first. */
  fallbacks: string[];
  policy: string;
  /** Present when `explain` was asked: one entry per candidate, in candidate order. */
  scores?: PodScore[];
}

/**
 * Picks a pod for one request. Candidates are already filtered (live, model)
 * and sorted by name; decode-only pods among them are skipped, and when none
 * is left (or none was given) `pick` throws NoCandidateError. `pick` may keep
 * internal state (round-robin position, random stream) but never does I/O.
 */
export interface Policy {
  readonly name: string;
  pick(input: RouteInput, candidates: readonly PodState[], explain?: boolean): Decision;
}

export type PresetName =
  'round-robin' | 'random' | 'least-loaded' | 'llm-d' | 'dynamo' | 'kubeai' | 'sglang' | 'default';

export interface ScorerConfig {
  name: string;
  weight: number;
  params?: Record<string, unknown>;
}

export interface PickerConfig {
  name: string;
  params?: Record<string, unknown>;
}

/** A preset, or scorers with weights plus a picker (a preset's parts can be overridden). */
export interface PolicyConfig {
  preset?: PresetName;
  scorers?: ScorerConfig[];
  picker?: PickerConfig;
  /**
   * Weight of a CPU-offloaded matched block against a GPU-resident one, 0..1,
   * for all the policy's scorers and its picker (default DEFAULT_CPU_WEIGHT).
   */
  cpuWeight?: number;
}
