import type { KeySeq } from '@kvroute/block-keys';

/** Bumped on any incompatible change; every message carries it as `v`. */
export const PROTOCOL_VERSION = 1;

/** Storage tier of a cached block: GPU memory, or offloaded (CPU, disk…). */
export type Tier = 'gpu' | 'cpu';

export type CanonicalEvent =
  | {
      kind: 'stored';
      /** The key before `keys[0]` (a block key or the model root). */
      parent: KeySeq | null;
      keys: KeySeq;
      tier: Tier;
      /** Position of `keys[0]` in its request (0 = first block), or -1 when unknown. */
      depth: number;
    }
  | { kind: 'removed'; keys: KeySeq; tier: Tier }
  | { kind: 'cleared' };

/**
 * One publisher's events in order. `epoch` changes whenever the publisher or
 * its engine restarts; `seq` counts batches of (pod, epoch) from 1 with no gaps.
 */
export interface EventBatch {
  pod: string;
  model: string;
  epoch: string;
  seq: number;
  /** Engine time of the newest event, ms since the Unix epoch. */
  ts: number;
  events: CanonicalEvent[];
}

export type PodRole = 'both' | 'prefill' | 'decode';

/** A publisher's load heartbeat; `state: 'leaving'` removes the pod at once. */
export interface Heartbeat {
  pod: string;
  model: string;
  role: PodRole;
  epoch: string;
  /** Publisher clock, ms since the Unix epoch. */
  ts: number;
  state: 'up' | 'leaving';
  waiting: number;
  running: number;
  /** Fraction of KV blocks in use, 0..1. */
  kvUsage: number;
  blockSize: number;
  capacityBlocks: number;
  /** The last seq published in this epoch (0 before the first): lets consumers see a lost tail. */
  lastSeq: number;
  /** How often heartbeats are sent, so consumers can judge staleness. */
  intervalMs: number;
}

export interface LookupRequest {
  model: string;
  keys: KeySeq;
  /** Restrict the answer to these pods; null for every pod that holds block 0. */
  candidates: string[] | null;
}

/** Per-pod depth of the unbroken run of held blocks from block 0. */
export interface PodMatch {
  pod: string;
  /** Blocks held in GPU memory. */
  gpu: number;
  /** Blocks held in any tier (GPU or offloaded). */
  total: number;
}

export interface LookupReply {
  shard: number;
  matches: PodMatch[];
  /** Set when the shard could not answer (e.g. still loading). */
  error: string | null;
}

export interface SnapshotRequest {
  pod: string;
  /** Keys per chunk; the publisher may cap it. */
  chunkKeys: number;
}

/** One chunk of a publisher's full block set; `last` ends the stream. */
export interface SnapshotChunk {
  pod: string;
  model: string;
  epoch: string;
  /** The last event seq the snapshot includes: later batches apply on top. */
  seq: number;
  index: number;
  last: boolean;
  keys: KeySeq;
  /** Per key: 0 = gpu, 1 = cpu. */
  tiers: Uint8Array;
  /** Per key: position in its request, or 0xffffffff when unknown. */
  depths: Uint32Array;
}

export interface IndexerHeartbeat {
  instance: string;
  shards: number[];
  shardCount: number;
  ts: number;
  ready: boolean;
}
