import type { IndexReplica } from './replica.js';

/** Cache analytics of a replica, per model, as the `/v1/stats` JSON of indexer and router. */
export function replicaStats(r: IndexReplica, topPrefixes = 0) {
  return r.modelNames().map((model) => {
    const view = r.model(model)!;
    const s = view.index.stats();
    return {
      model,
      block_size: view.blockSize,
      pods: r
        .podEntries()
        .filter((p) => p.model === model)
        .map((p) => {
          const ps = view.index.podStats(p.pod);
          return {
            pod: p.pod,
            gpu_blocks: ps?.gpuBlocks ?? 0,
            cpu_blocks: ps?.cpuBlocks ?? 0,
            epoch: p.sync.epoch,
            last_seq: p.sync.lastSeq,
            syncing: p.sync.syncing,
          };
        })
        .sort((a, b) => a.pod.localeCompare(b.pod)),
      distinct_blocks: s.distinctBlocks,
      shared_blocks: s.sharedBlocks,
      residencies: s.residencies,
      memory_bytes: s.bytesUsed,
      budget_bytes: s.budgetBytes,
      evictions: s.evictions,
      events_per_s: r.eventsPerSecond(model),
      event_lag_ms: r.eventLagMs(model),
      gaps: r.counts(model).gaps,
      resyncs: r.counts(model).resyncs,
      ...(topPrefixes > 0 ? { top_prefixes: view.index.topPrefixes(topPrefixes) } : {}),
    };
  });
}
