import type { BlockKeyer, KeySeq } from '@kvroute/block-keys';
import type { Decision, PodScore, RequestInfo } from '@kvroute/routing';
import type { Bus, Logger, Registry } from '@kvroute/runtime';
import type { ModelTokenizer } from '@kvroute/tokenize';
import type { RouterFileConfig } from './config.js';

export interface RouterOptions {
  index: 'embedded' | 'remote';
  podTimeoutMs: number;
  lookupTimeoutMs: number;
  speculativeTtlMs: number;
  memoryBudgetBytes: number;
  /**
   * How long the router remembers where it sent a prompt when nothing else tells where it is
   * cached: approximate mode, and static pods without an index. Default 600 000.
   */
  approximateTtlMs?: number;
  /** A pod that refuses a connection gets no request for this long, doubling per failure (0: off). Default 2000. */
  ejectionTimeMs?: number;
  /** Longest ejection. Default 60 000. */
  maxEjectionTimeMs?: number;
  /**
   * Leading tokens of a request used for routing (text is cut to 4 characters per token before
   * tokenizing). Bounds the tokenizer's time on the event loop. Default 131 072.
   */
  routeMaxTokens?: number;
  seed?: number;
}

export interface RouterDeps {
  /** Null when routing among static pods only (no publishers, no index stream). */
  bus: Bus | null;
  options: RouterOptions;
  config: RouterFileConfig;
  tokenizers: ReadonlyMap<string, ModelTokenizer>;
  /** For models with no entry in `tokenizers` (the config's `defaults.tokenizer`). */
  defaultTokenizer?: ModelTokenizer;
  keyer: BlockKeyer;
  log: Logger;
  registry: Registry;
  now?: () => number;
}

export interface RouteResult {
  decision: Decision;
  requestId: string;
  model: string;
  mode: 'tokens' | 'approximate';
  promptTokens: number;
  totalBlocks: number;
  /** Blocks the index confirms for the chosen pod (speculative entries excluded). */
  matchedBlocks: number;
  /** Approximate mode: leading blocks the router's own record assigns to the chosen pod. */
  approximateBlocks: number;
  /** Remote mode: shards that could not answer in time (the answer is partial). */
  partial: boolean;
  /** What the in-flight accounting holds for this request (moved along on a retry). */
  info: RequestInfo;
  /** The request's block keys (moved along on a retry). */
  keys: KeySeq;
  /** The request asked for a streamed answer. */
  stream: boolean;
  scores?: PodScore[];
}
