import type { Bus } from '@kvroute/runtime';
import type { NatsServer } from '@kvroute/runtime/testing';
import { startNatsServer } from '@kvroute/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rig } from './testing/rig.js';
import { batch, connectBus, metric, startRig, stored, tokens } from './testing/rig.js';
import { until } from './testing/stream-observer.js';

let nats: NatsServer;
let bus: Bus;
const rigs: Rig[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  bus = await connectBus(nats.url, 'publisher');
});

afterAll(async () => {
  for (const r of rigs) await r.close();
  await bus?.close();
  await nats?.dispose();
});

describe('a NATS outage', () => {
  // The observers share the publishers' connection: its subscriptions are back on the server
  // before anything is published again, so what a consumer can receive is exactly what was sent.
  it('holds batches up to the cap and publishes them in order on reconnect, drops and counts the rest, and keeps numbering so consumers see the hole', async () => {
    const capped = await startRig(bus, bus, {
      config: { outageBufferBytes: 0, coalesceMs: 0 },
    });
    const roomy = await startRig(bus, bus, { config: { coalesceMs: 0 } });
    rigs.push(capped, roomy);
    let n = 0;
    const send = async (r: Rig) => {
      n++;
      await r.engine.send(batch(stored([n], null, tokens(1, n))));
    };
    for (const r of [capped, roomy]) await send(r);
    await until(() => capped.observer.batches.length === 1 && roomy.observer.batches.length === 1);

    await nats.stop();
    await until(() => !bus.isConnected(), 5000, 'disconnect noticed');
    const beats = await metric(capped.registry, 'kvroute_publisher_heartbeats_total');
    for (const r of [capped, roomy]) {
      await send(r);
      await send(r);
    }
    await until(
      () => capped.publisher.status().lastSeq === 3 && roomy.publisher.status().lastSeq === 3,
    );
    expect(
      await metric(capped.registry, 'kvroute_publisher_dropped_batches_total', {
        reason: 'outage',
      }),
    ).toBe(2);
    expect(await metric(roomy.registry, 'kvroute_publisher_dropped_batches_total')).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    // No heartbeat is queued for later: a stale one is worse than none.
    expect(await metric(capped.registry, 'kvroute_publisher_heartbeats_total')).toBe(beats);
    expect(capped.publisher.ready()).toBe(false);

    await nats.restart();
    await until(() => bus.isConnected(), 10_000, 'reconnect');
    await until(() => roomy.observer.batches.length === 3, 5000, 'roomy seqs 2 and 3 released');
    for (const r of [capped, roomy]) await send(r);
    await until(() => capped.observer.batches.some((b) => b.seq === 4), 5000, 'capped seq 4');
    await until(() => roomy.observer.batches.some((b) => b.seq === 4), 5000, 'roomy seq 4');
    // Everything the roomy publisher numbered arrives, in order.
    expect(roomy.observer.batches.map((b) => b.seq)).toEqual([1, 2, 3, 4]);
    expect(roomy.observer.storedKeys()).toHaveLength(4 * 2);
    expect(await metric(roomy.registry, 'kvroute_publisher_batches_out_total')).toBe(4);
    // The capped publisher's seqs 2 and 3 never reached NATS: the hole is there to see.
    expect(capped.observer.batches.map((b) => b.seq)).toEqual([1, 4]);
    await until(() => capped.observer.heartbeats.at(-1)?.lastSeq === 4, 3000, 'heartbeats resume');
    expect(capped.publisher.ready()).toBe(true);
  });
});
