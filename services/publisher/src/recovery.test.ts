import { createBlockKeyer } from '@kvroute/block-keys';
import type { Bus } from '@kvroute/runtime';
import type { NatsServer } from '@kvroute/runtime/testing';
import { startNatsServer } from '@kvroute/runtime/testing';
import { encodeVllmBatch } from '@kvroute/vllm-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rig } from './testing/rig.js';
import { batch, BS, connectBus, metric, startRig, stored, tokens } from './testing/rig.js';
import { keyEntries, snapshotEntries, until } from './testing/stream-observer.js';

const keyer = createBlockKeyer();
let nats: NatsServer;
let bus: Bus;
const rigs: Rig[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  bus = await connectBus(nats.url, 'recovery');
});

afterAll(async () => {
  for (const r of rigs) await r.close();
  await bus?.close();
  await nats?.dispose();
});

async function rig(o: Parameters<typeof startRig>[2] = {}): Promise<Rig> {
  const r = await startRig(bus, bus, { ...o, config: { coalesceMs: 0, ...o.config } });
  rigs.push(r);
  return r;
}

/** One single-block request per batch: block hash 100 + i, tokens seeded by i. */
const req = (i: number) => batch(stored([100 + i], null, tokens(1, i)));
const keysOf = (r: Rig, ids: number[]) =>
  ids.flatMap((i) => keyEntries(keyer.prefixKeys({ model: r.model }, tokens(1, i), BS))).sort();
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const seqFrame = (seq: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, seq);
  return b;
};

describe('publisher recovery from a misbehaving engine (real ZMQ and NATS)', () => {
  it('a corrupt seq in a replay reply neither silences the live stream nor survives in the pod state', async () => {
    // Garbage payload: discarded, counted; the stream goes on in its epoch.
    const g = await rig({
      beforeStart: async (e) => {
        e.injectReplay.push({ seq: 2 ** 40, payload: new Uint8Array([0xc1]) });
      },
    });
    for (let i = 0; i < 10; i++) await g.engine.send(req(i));
    await until(() => g.observer.events().length === 10, 5000, 'every live batch');
    expect(g.observer.epochs()).toHaveLength(1);
    expect(await metric(g.registry, 'kvroute_publisher_decode_errors_total')).toBe(1);
    expect(await metric(g.registry, 'kvroute_publisher_lost_batches_total')).toBe(0);

    // A payload that decodes under a corrupt seq: the live seqs show it up, and the pod resyncs.
    const d = await rig({
      beforeStart: async (e) => {
        e.injectReplay.push({ seq: 2 ** 40, payload: encodeVllmBatch(req(99)) });
      },
    });
    await until(() => d.observer.events().length === 1, 5000, 'the corrupt batch');
    for (let i = 0; i < 10; i++) await d.engine.send(req(i));
    await until(
      () =>
        d.observer.epochs().length === 2 && d.observer.events(d.observer.epochs()[1]).length === 10,
      5000,
      'a new epoch with every live batch',
    );
    expect(snapshotEntries(await d.observer.snapshot())).toEqual(
      keysOf(d, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    );
    expect(await metric(d.registry, 'kvroute_publisher_epochs_total', { reason: 'restart' })).toBe(
      1,
    );
  });

  it('a garbage frame with a far-ahead seq is not taken for an engine restart', async () => {
    const toks = tokens(4, 7);
    const chain = (i: number) =>
      batch(stored([100 + i], i === 0 ? null : 99 + i, toks.subarray(i * BS, (i + 1) * BS)));
    const r = await rig();
    for (let i = 0; i < 3; i++) await r.engine.send(chain(i));
    await until(() => r.observer.events().length === 3);
    await r.engine.sendFrames([
      new TextEncoder().encode('kv'),
      seqFrame(1n << 40n),
      new Uint8Array([0xc1]),
    ]);
    await sleep(100);
    r.engine.trimBuffer(3); // a long-running engine's ring no longer holds 0..2
    await r.engine.send(chain(3));
    await until(() => r.observer.events().length === 4, 5000, 'the next batch');
    expect(r.observer.epochs()).toHaveLength(1);
    expect(r.observer.storedKeys()).toEqual(keyer.prefixKeys({ model: r.model }, toks, BS));
    expect(r.publisher.status().blocks.gpu).toBe(4);
    expect(
      await metric(r.registry, 'kvroute_publisher_decode_errors_total', { reason: 'msgpack' }),
    ).toBe(1);
    expect(await metric(r.registry, 'kvroute_publisher_unresolved_parent_blocks_total')).toBe(0);
  });

  it('an engine restart whose new seqs pass the old ones is found by replaying the last batch', async () => {
    const r = await rig();
    for (let i = 0; i < 3; i++) await r.engine.send(req(i));
    await until(() => r.observer.events().length === 3);
    await r.engine.restart();
    // Published before the SUB socket reconnected: only the new engine's replay has them.
    for (let i = 10; i < 15; i++) await r.engine.send(req(i), { drop: true });
    await sleep(300);
    await r.engine.send(req(15));
    await until(() => r.publisher.status().blocks.gpu === 6, 5000, 'the new engine caught up');
    expect(snapshotEntries(await r.observer.snapshot())).toEqual(
      keysOf(r, [10, 11, 12, 13, 14, 15]),
    );
    expect(r.observer.epochs()).toHaveLength(2);
    expect(await metric(r.registry, 'kvroute_publisher_epochs_total', { reason: 'restart' })).toBe(
      1,
    );

    // The same engine reconnecting is checked the same way and goes on in its epoch.
    const s = await rig();
    await s.engine.send(req(20));
    await until(() => s.observer.events().length === 1);
    await s.engine.restart({ keepState: true });
    await s.engine.send(req(21), { drop: true });
    await sleep(300);
    await s.engine.send(req(22));
    await until(() => s.observer.events().length === 3, 5000, 'the missed batch and the next');
    expect(s.observer.epochs()).toHaveLength(1);
    expect(snapshotEntries(await s.observer.snapshot())).toEqual(keysOf(s, [20, 21, 22]));
  });

  it('a replay that never sends its end marker still fills the gap it made progress on', async () => {
    const r = await rig({ config: { replayTimeoutMs: 200 } });
    r.engine.omitEndMarker = true;
    await r.engine.send(req(0));
    await until(() => r.observer.events().length === 1);
    await r.engine.send(req(1), { drop: true });
    await r.engine.send(req(2));
    await until(() => r.observer.events().length === 3, 5000, 'the first gap filled');
    // The replay still waits for its end marker: what comes now is held behind it, with a new gap.
    await r.engine.send(req(3), { drop: true });
    await r.engine.send(req(4));
    await until(() => r.observer.events().length === 5, 5000, 'the second gap filled');
    await sleep(500); // the last replay's timeout passes
    expect(r.observer.epochs()).toHaveLength(1);
    expect(await metric(r.registry, 'kvroute_publisher_lost_batches_total')).toBe(0);
    expect(snapshotEntries(await r.observer.snapshot())).toEqual(keysOf(r, [0, 1, 2, 3, 4]));
  });
});
