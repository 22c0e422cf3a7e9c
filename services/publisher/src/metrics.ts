import type { Registry } from '@kvroute/runtime';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS } from '@kvroute/runtime';
import type { BlockTable } from './block-table.js';
import { CPU, GPU } from './block-table.js';

/** The publisher's Prometheus metrics, registered on the service's registry. */
export function publisherMetrics(registry: Registry, table: BlockTable) {
  const registers = [registry];
  const p = 'kvroute_publisher_';
  return {
    eventsIn: new Counter({
      name: `${p}events_in_total`,
      help: 'engine events decoded, by type',
      labelNames: ['type'],
      registers,
    }),
    engineBatches: new Counter({
      name: `${p}engine_batches_total`,
      help: 'engine batches applied, by how they arrived (live or replay)',
      labelNames: ['source'],
      registers,
    }),
    batchesOut: new Counter({
      name: `${p}batches_out_total`,
      help: 'canonical batches published',
      registers,
    }),
    bytesOut: new Counter({
      name: `${p}bytes_out_total`,
      help: 'canonical batch bytes published',
      registers,
    }),
    dropped: new Counter({
      name: `${p}dropped_batches_total`,
      help: 'canonical batches not published (NATS outage past the buffer cap, publish error); their seqs stay consumed',
      labelNames: ['reason'],
      registers,
    }),
    decodeErrors: new Counter({
      name: `${p}decode_errors_total`,
      help: 'engine messages rejected whole, by reason',
      labelNames: ['reason'],
      registers,
    }),
    gaps: new Counter({
      name: `${p}gaps_total`,
      help: 'jumps in the engine sequence',
      registers,
    }),
    replays: new Counter({
      name: `${p}replays_total`,
      help: 'replays requested from the engine',
      registers,
    }),
    replayFailures: new Counter({
      name: `${p}replay_failures_total`,
      help: 'replays that could not deliver what was missing (timeout, error, buffer-short)',
      labelNames: ['reason'],
      registers,
    }),
    lostBatches: new Counter({
      name: `${p}lost_batches_total`,
      help: 'engine batches missed for good, by why replay could not cover them',
      labelNames: ['reason'],
      registers,
    }),
    epochs: new Counter({
      name: `${p}epochs_total`,
      help: 'new epochs started, by cause (restart, gap)',
      labelNames: ['reason'],
      registers,
    }),
    lag: new Histogram({
      name: `${p}lag_seconds`,
      help: "engine batch timestamp to canonical publication (the engine's clock)",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    snapshots: new Counter({
      name: `${p}snapshots_served_total`,
      help: 'snapshot requests answered',
      registers,
    }),
    unresolvedParent: new Counter({
      name: `${p}unresolved_parent_blocks_total`,
      help: "stored blocks skipped because their parent's engine hash is unknown",
      registers,
    }),
    unknownHash: new Counter({
      name: `${p}unknown_hash_blocks_total`,
      help: 'removed or token-less stored blocks whose engine hash is unknown',
      registers,
    }),
    capacityDrops: new Counter({
      name: `${p}capacity_dropped_blocks_total`,
      help: 'stored blocks not tracked because --max-blocks present blocks are held',
      registers,
    }),
    ignored: new Counter({
      name: `${p}ignored_events_total`,
      help: 'engine events ignored, by reason (group: secondary KV-cache group)',
      labelNames: ['reason'],
      registers,
    }),
    heartbeats: new Counter({
      name: `${p}heartbeats_total`,
      help: 'heartbeats published, by state',
      labelNames: ['state'],
      registers,
    }),
    scrapeFailures: new Counter({
      name: `${p}scrape_failures_total`,
      help: "failed scrapes of the engine's metrics page, by reason",
      labelNames: ['reason'],
      registers,
    }),
    blocks: new Gauge({
      name: `${p}blocks`,
      help: 'blocks the pod holds, by tier',
      labelNames: ['tier'],
      registers,
      collect() {
        this.set({ tier: 'gpu' }, table.count(GPU));
        this.set({ tier: 'cpu' }, table.count(CPU));
      },
    }),
    tableBytes: new Gauge({
      name: `${p}block_table_bytes`,
      help: 'bytes held by the engine-hash table',
      registers,
      collect() {
        this.set(table.byteLength);
      },
    }),
  };
}

export type PublisherMetrics = ReturnType<typeof publisherMetrics>;
