import { Registry } from '@kvroute/runtime';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { BlockTable, GPU } from './block-table.js';
import { publisherMetrics } from './metrics.js';
import type { PublisherStatus } from './publisher.js';

function setup() {
  const registry = new Registry();
  const table = new BlockTable(100);
  table.put(1, 2, 3, 4, 0, GPU);
  const m = publisherMetrics(registry, table);
  let ready = false;
  const status = (): PublisherStatus => ({
    pod: 'p:1',
    model: 'm',
    epoch: 'e1',
    lastSeq: 3,
    engineSeq: 9,
    zmqReady: ready,
    busConnected: true,
    engineUp: true,
    blocks: { gpu: table.count(GPU), cpu: 0 },
  });
  const app = createApp({ registry, ready: () => ready, status });
  return { app, m, setReady: (r: boolean) => (ready = r) };
}

describe('publisher HTTP', () => {
  it('answers liveness always and readiness only when ZMQ and the bus are up', async () => {
    const { app, setReady } = setup();
    expect((await app.request('/healthz')).status).toBe(200);
    const down = await app.request('/readyz');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, zmqReady: false, epoch: 'e1' });
    setReady(true);
    expect((await app.request('/readyz')).status).toBe(200);
    expect((await app.request('/nope')).status).toBe(404);
  });

  it('exposes every publisher metric in the Prometheus format', async () => {
    const { app, m } = setup();
    m.decodeErrors.inc({ reason: 'msgpack' });
    m.eventsIn.inc({ type: 'BlockStored' });
    m.lag.observe(0.002);
    const res = await app.request('/metrics');
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const body = await res.text();
    for (const name of [
      'kvroute_publisher_events_in_total{type="BlockStored"} 1',
      'kvroute_publisher_batches_out_total',
      'kvroute_publisher_decode_errors_total{reason="msgpack"} 1',
      'kvroute_publisher_gaps_total',
      'kvroute_publisher_replays_total',
      'kvroute_publisher_replay_failures_total',
      'kvroute_publisher_lag_seconds_bucket',
      'kvroute_publisher_snapshots_served_total',
      'kvroute_publisher_blocks{tier="gpu"} 1',
      'kvroute_publisher_unresolved_parent_blocks_total',
      'kvroute_publisher_unknown_hash_blocks_total',
    ])
      expect(body).toContain(name);
  });
});
