import type { Bus } from '@kvroute/runtime';
import type { NatsServer } from '@kvroute/runtime/testing';
import { startNatsServer } from '@kvroute/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VllmLoad } from './testing/fake-metrics.js';
import { MetricsServer, vllmMetricsPage } from './testing/fake-metrics.js';
import type { Rig } from './testing/rig.js';
import { batch, connectBus, metric, startRig, stored, tokens } from './testing/rig.js';
import { until } from './testing/stream-observer.js';

let nats: NatsServer;
let pubBus: Bus;
let obsBus: Bus;
const closers: (() => Promise<void>)[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  nats = await startNatsServer();
  pubBus = await connectBus(nats.url, 'publisher');
  obsBus = await connectBus(nats.url, 'observer');
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await pubBus?.close();
  await obsBus?.close();
  await nats?.dispose();
});

async function rig(o: Parameters<typeof startRig>[2] = {}): Promise<Rig> {
  const r = await startRig(pubBus, obsBus, o);
  closers.push(() => r.close());
  return r;
}

describe('heartbeats', () => {
  it("carry the engine's load from its vLLM metrics page at ≥ 5 Hz, and stop while the engine is gone", async () => {
    let load: VllmLoad = { waiting: 7, running: 3, usage: 0.25, blockSize: 16, gpuBlocks: 27767 };
    const engineHttp = await new MetricsServer(() => vllmMetricsPage(load)).start();
    closers.push(() => engineHttp.stop());
    const r = await rig({
      config: {
        metricsUrl: engineHttp.url,
        role: 'prefill',
        heartbeatIntervalMs: 50,
        scrapeTimeoutMs: 200,
      },
    });
    await until(() => r.observer.heartbeats.length > 0, 3000, 'a heartbeat');
    const t0 = r.observer.heartbeats.length;
    await sleep(1000);
    expect(r.observer.heartbeats.length - t0).toBeGreaterThanOrEqual(5);
    const hb = r.observer.heartbeats.at(-1)!;
    expect(hb).toMatchObject({
      pod: r.pod,
      model: r.model,
      role: 'prefill',
      epoch: r.publisher.status().epoch,
      state: 'up',
      waiting: 7,
      running: 3,
      kvUsage: 0.25,
      blockSize: 16,
      capacityBlocks: 27767,
      lastSeq: 0,
      intervalMs: 50,
    });

    load = { ...load, waiting: 0, running: 12, usage: 0.9 };
    await until(() => r.observer.heartbeats.at(-1)!.running === 12, 2000, 'new load');
    expect(r.observer.heartbeats.at(-1)!.kvUsage).toBeCloseTo(0.9);

    await engineHttp.stop();
    await sleep(600); // two failed scrapes, then silence
    const silent = r.observer.heartbeats.length;
    await sleep(400);
    expect(r.observer.heartbeats.length).toBe(silent);
    expect(r.publisher.status().engineUp).toBe(false);
    expect(
      await metric(r.registry, 'kvroute_publisher_scrape_failures_total'),
    ).toBeGreaterThanOrEqual(2);

    await engineHttp.start(); // same port
    await until(() => r.observer.heartbeats.length > silent, 3000, 'heartbeats to resume');
  });

  it('without a metrics URL report zero load and the block size seen in events', async () => {
    const r = await rig({ config: { blockSize: 64 } });
    await until(() => r.observer.heartbeats.length > 0);
    expect(r.observer.heartbeats.at(-1)).toMatchObject({
      waiting: 0,
      running: 0,
      kvUsage: 0,
      blockSize: 64,
      capacityBlocks: 0,
    });
    await r.engine.send(batch(stored([1], null, tokens(1, 1))));
    await until(() => r.observer.heartbeats.at(-1)!.lastSeq === 1, 3000, 'lastSeq 1');
    expect(r.observer.heartbeats.at(-1)!.blockSize).toBe(16);
  });

  it("without a metrics URL stop while the engine's event socket is gone, and resume when it is back", async () => {
    const r = await rig({ config: { heartbeatIntervalMs: 50, scrapeTimeoutMs: 100 } });
    await until(() => r.observer.heartbeats.length > 0, 3000, 'a heartbeat');
    expect(r.publisher.status().engineUp).toBe(true);
    const away = r.engine.restart({ keepState: true, downMs: 1500 });
    await until(() => !r.publisher.status().engineUp, 1400, 'engine down');
    const silent = r.observer.heartbeats.length;
    await sleep(150);
    expect(r.observer.heartbeats.length).toBe(silent);
    await away;
    await until(() => r.publisher.status().engineUp, 3000, 'engine back');
    await until(() => r.observer.heartbeats.length > silent, 3000, 'heartbeats to resume');
  });

  it('on stop, publish what is pending and then a leaving heartbeat', async () => {
    const r = await rig({ config: { coalesceMs: 100 } });
    // The first batch after a quiet spell goes out at once; the next is held to coalesce.
    await r.engine.send(batch(stored([1, 2], null, tokens(2, 5))));
    await until(() => r.observer.batches.length === 1, 3000, 'the first batch');
    await r.engine.send(batch(stored([3], 2, tokens(1, 6))));
    await until(() => r.publisher.status().engineSeq === 2, 3000, 'the second applied');
    expect(r.publisher.status().lastSeq).toBe(1);
    await r.publisher.stop();
    await until(() => r.observer.heartbeats.some((h) => h.state === 'leaving'), 3000, 'leaving');
    expect(r.observer.batches.map((b) => b.seq)).toEqual([1, 2]);
    const leaving = r.observer.heartbeats.at(-1)!;
    expect(leaving).toMatchObject({
      state: 'leaving',
      lastSeq: 2,
      epoch: r.observer.batches[0]!.epoch,
    });
    await sleep(150);
    expect(r.observer.heartbeats.at(-1)).toBe(leaving); // nothing after the last word
  });
});
