import type { IndexStats } from '@kvroute/prefix-index';
import type { Registry } from 'prom-client';
import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Metrics of an index replica. The indexer registers them as
 * `kvroute_indexer_*`; a router with an embedded index as `kvroute_router_index_*`.
 */
export function replicaMetrics(registry: Registry, prefix: string) {
  const r = [registry];
  return {
    batches: new Counter({
      name: `${prefix}_batches_total`,
      help: 'canonical event batches applied',
      registers: r,
    }),
    events: new Counter({
      name: `${prefix}_events_total`,
      help: 'canonical events applied',
      labelNames: ['kind'],
      registers: r,
    }),
    badMessages: new Counter({
      name: `${prefix}_bad_messages_total`,
      help: 'messages dropped because they did not decode or validate',
      labelNames: ['subject'],
      registers: r,
    }),
    duplicates: new Counter({
      name: `${prefix}_duplicate_batches_total`,
      help: 'batches dropped as already applied',
      registers: r,
    }),
    lag: new Histogram({
      name: `${prefix}_event_lag_seconds`,
      help: 'engine event time to index apply',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: r,
    }),
    gaps: new Counter({
      name: `${prefix}_gaps_total`,
      help: 'stream breaks that forced a resync',
      labelNames: ['reason'],
      registers: r,
    }),
    resyncs: new Counter({
      name: `${prefix}_resyncs_total`,
      help: 'snapshot resyncs',
      labelNames: ['result'],
      registers: r,
    }),
    memory: new Gauge({
      name: `${prefix}_memory_bytes`,
      help: 'index memory in use',
      labelNames: ['model'],
      registers: r,
    }),
    budget: new Gauge({
      name: `${prefix}_budget_bytes`,
      help: 'index memory budget',
      labelNames: ['model'],
      registers: r,
    }),
    blocks: new Gauge({
      name: `${prefix}_blocks`,
      help: 'block residencies by tier',
      labelNames: ['model', 'tier'],
      registers: r,
    }),
    pods: new Gauge({
      name: `${prefix}_pods`,
      help: 'pods indexed',
      labelNames: ['model'],
      registers: r,
    }),
    evictions: new Counter({
      name: `${prefix}_evictions_total`,
      help: 'blocks evicted to stay within the memory budget',
      labelNames: ['model'],
      registers: r,
    }),
    podsRemoved: new Counter({
      name: `${prefix}_pods_removed_total`,
      help: 'pods removed: leaving (said so), silent (heartbeats stopped), model (serves another model now)',
      labelNames: ['reason'],
      registers: r,
    }),
  };
}

export type ReplicaMetrics = ReturnType<typeof replicaMetrics>;

/**
 * Sets a model's gauges from its index stats and advances its evictions
 * counter by the evictions since `evictionsBefore`; returns the evictions now
 * (the index's count only grows).
 */
export function exportIndexStats(
  m: ReplicaMetrics,
  model: string,
  s: IndexStats,
  evictionsBefore: number,
): number {
  m.memory.set({ model }, s.bytesUsed);
  if (s.evictions > evictionsBefore) m.evictions.inc({ model }, s.evictions - evictionsBefore);
  let gpu = 0;
  let cpu = 0;
  for (const p of s.perPod) {
    gpu += p.gpuBlocks;
    cpu += p.cpuBlocks;
  }
  m.blocks.set({ model, tier: 'gpu' }, gpu);
  m.blocks.set({ model, tier: 'cpu' }, cpu);
  m.pods.set({ model }, s.pods);
  return Math.max(evictionsBefore, s.evictions);
}

/** Removes every per-model series of `model`. */
export function dropModelSeries(m: ReplicaMetrics, model: string): void {
  for (const g of [m.memory, m.budget, m.pods]) g.remove({ model });
  m.evictions.remove({ model });
  for (const tier of ['gpu', 'cpu']) m.blocks.remove({ model, tier });
}
