export { IndexReplica } from './replica.js';
export { mergeChunks } from './snapshot-fetch.js';
export type { IndexReplicaOptions, ModelView, PodEntry } from './replica.js';
export { PodSync } from './pod-sync.js';
export type { SnapshotAction, SyncAction } from './pod-sync.js';
export { replicaMetrics } from './metrics.js';
export type { ReplicaMetrics } from './metrics.js';
export { replicaStats } from './stats.js';
