import { createBlockKeyer } from '@kvroute/block-keys';
import type { EventBatch } from '@kvroute/protocol';
import { encodeSnapshotRequest, subjects } from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import type { NatsServer } from '@kvroute/runtime/testing';
import { freePort, startNatsServer } from '@kvroute/runtime/testing';
import { encodeVllmBatch } from '@kvroute/vllm-events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeEngineOptions } from './testing/fake-engine.js';
import type { Rig } from './testing/rig.js';
import { batch, BS, connectBus, metric, removed, startRig, stored, tokens } from './testing/rig.js';
import { keyEntries, snapshotEntries, until } from './testing/stream-observer.js';

const keyer = createBlockKeyer();
let nats: NatsServer;
let pubBus: Bus;
let obsBus: Bus;
const rigs: Rig[] = [];

beforeAll(async () => {
  nats = await startNatsServer();
  pubBus = await connectBus(nats.url, 'publisher');
  obsBus = await connectBus(nats.url, 'observer');
});

afterAll(async () => {
  for (const r of rigs) await r.close();
  await pubBus?.close();
  await obsBus?.close();
  await nats?.dispose();
});

async function rig(o: Parameters<typeof startRig>[2] = {}): Promise<Rig> {
  const r = await startRig(pubBus, obsBus, o);
  rigs.push(r);
  return r;
}

/** Batches of each epoch are numbered 1, 2, 3… with no gap. */
function expectGapFree(batches: EventBatch[]): void {
  const byEpoch = new Map<string, number[]>();
  for (const b of batches) byEpoch.set(b.epoch, [...(byEpoch.get(b.epoch) ?? []), b.seq]);
  for (const seqs of byEpoch.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

/** A decode chain: batch i stores block i of `toks`, its parent block i-1. */
function chainBatch(i: number, toks: Uint32Array, base = 100) {
  return batch(
    stored([base + i], i === 0 ? null : base + i - 1, toks.subarray(i * BS, (i + 1) * BS)),
  );
}

describe('publisher over real ZMQ and NATS', () => {
  it('publishes exact canonical keys for every wire shape, and snapshots the pod', async () => {
    const r = await rig();
    const a = tokens(4, 1);
    const b = tokens(2, 2);
    const c = tokens(3, 3);
    await r.engine.send(batch(stored([1, 2, 3, 4], null, a)), { shape: 'map' });
    await r.engine.send(batch(stored([5, 6], 4, b)), { shape: 'array' });
    await r.engine.send(
      batch(
        stored([7, 8, 9], null, c, { loraName: 'ad', extraKeys: [['ad', 'salt'], ['ad'], ['ad']] }),
      ),
      {
        shape: 'array-map',
        bytesHashes: true,
      },
    );
    await r.engine.send(
      batch(stored([1, 2], null, new Uint32Array(0), { medium: 'CPU' }), removed([3, 4, 6, 404])),
      {
        shape: 'map',
        bytesHashes: true,
      },
    );
    const ab = keyer.prefixKeys({ model: r.model }, Uint32Array.from([...a, ...b]), BS);
    const cKeys = keyer.prefixKeys({ model: r.model, lora: 'ad', salt: 'salt' }, c, BS);
    await until(() => r.observer.events().length === 5, 5000, 'five canonical events');
    expect(r.observer.events()).toEqual([
      {
        kind: 'stored',
        parent: keyer.rootKey({ model: r.model }),
        keys: ab.slice(0, 8),
        tier: 'gpu',
        depth: 0,
      },
      { kind: 'stored', parent: ab.slice(6, 8), keys: ab.slice(8, 12), tier: 'gpu', depth: 4 },
      {
        kind: 'stored',
        parent: keyer.rootKey({ model: r.model, lora: 'ad', salt: 'salt' }),
        keys: cKeys,
        tier: 'gpu',
        depth: 0,
      },
      { kind: 'stored', parent: null, keys: ab.slice(0, 4), tier: 'cpu', depth: 0 },
      {
        kind: 'removed',
        keys: Uint32Array.from([...ab.slice(4, 8), ...ab.slice(10, 12)]),
        tier: 'gpu',
      },
    ]);
    expectGapFree(r.observer.batches);
    expect(await metric(r.registry, 'kvroute_publisher_unknown_hash_blocks_total')).toBe(1);
    expect(
      await metric(r.registry, 'kvroute_publisher_events_in_total', { type: 'BlockStored' }),
    ).toBe(4);

    const chunks = await r.observer.snapshot(2);
    const last = r.observer.batches.at(-1)!;
    expect(chunks.map((x) => [x.index, x.last, x.seq, x.epoch])).toEqual(
      chunks.map((_, i) => [i, i === chunks.length - 1, last.seq, last.epoch]),
    );
    expect(chunks.length).toBe(4); // 8 (block, tier) entries in chunks of 2
    expect(snapshotEntries(chunks)).toEqual(
      [
        ...keyEntries(ab.slice(0, 4)),
        ...keyEntries(ab.slice(8, 10)),
        ...keyEntries(cKeys),
        ...keyEntries(ab.slice(0, 4), 'cpu'),
      ].sort(),
    );
    expect(chunks.flatMap((x) => [...x.depths]).sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 4]);
    expect(await metric(r.registry, 'kvroute_publisher_blocks', { tier: 'gpu' })).toBe(6);
  });

  const variants: [string, FakeEngineOptions][] = [
    ['vLLM framing', {}],
    ['no topic frame on PUB', { topic: null }],
    [
      'topic frame and no empty frame on replay',
      { replayTopicFrame: true, replayEmptyFrame: false },
    ],
  ];
  for (const [name, engine] of variants) {
    it(`replays the start gap and a gap mid-stream, applying each batch once (${name})`, async () => {
      const toks = tokens(12, 7);
      const r = await rig({
        engine,
        config: { coalesceMs: 0 },
        // Published before anything subscribed: only the start replay can bring them.
        beforeStart: async (e) => {
          for (let i = 0; i < 3; i++) await e.send(chainBatch(i, toks));
        },
      });
      await until(() => r.observer.events().length === 3, 5000, 'start replay');
      for (let i = 3; i < 12; i++)
        await r.engine.send(chainBatch(i, toks), { drop: i === 5 || i === 6 || i === 9 });
      await until(() => r.observer.events().length === 12, 5000, 'gap replay');
      await new Promise((res) => setTimeout(res, 50));
      expect(r.observer.storedKeys()).toEqual(keyer.prefixKeys({ model: r.model }, toks, BS));
      expect(r.observer.epochs()).toHaveLength(1);
      expectGapFree(r.observer.batches);
      expect(await metric(r.registry, 'kvroute_publisher_replays_total')).toBeGreaterThanOrEqual(2);
      expect(await metric(r.registry, 'kvroute_publisher_gaps_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(r.registry, 'kvroute_publisher_lost_batches_total')).toBe(0);
      expect(await metric(r.registry, 'kvroute_publisher_unresolved_parent_blocks_total')).toBe(0);
      expect(r.engine.replayRequests[0]).toBe(0);
    });
  }

  it('starts a new epoch with only the new blocks when the engine restarts', async () => {
    const r = await rig();
    const toks = tokens(3, 11);
    for (let i = 0; i < 3; i++) await r.engine.send(chainBatch(i, toks));
    await until(() => r.observer.events().length === 3, 5000, 'first engine');
    const [first] = r.observer.epochs();
    await r.engine.restart();
    await new Promise((res) => setTimeout(res, 300)); // the SUB socket reconnects
    const fresh = tokens(2, 12);
    for (let i = 0; i < 2; i++) await r.engine.send(chainBatch(i, fresh, 100)); // same engine hashes, new process
    await until(
      () =>
        r.observer.epochs().length === 2 && r.observer.events(r.observer.epochs()[1]).length === 2,
    );
    const second = r.observer.epochs()[1]!;
    expect(second).not.toBe(first);
    expect(r.observer.batches.filter((b) => b.epoch === second)[0]!.seq).toBe(1);
    expect(r.observer.storedKeys('gpu', second)).toEqual(
      keyer.prefixKeys({ model: r.model }, fresh, BS),
    );
    expect(snapshotEntries(await r.observer.snapshot())).toEqual(
      keyEntries(keyer.prefixKeys({ model: r.model }, fresh, BS)).sort(),
    );
    expect(await metric(r.registry, 'kvroute_publisher_epochs_total', { reason: 'restart' })).toBe(
      1,
    );
  });

  it('drops every claim in a new epoch when the replay buffer starts too late', async () => {
    const r = await rig({ config: { coalesceMs: 0 } });
    const req = (i: number) => batch(stored([500 + i], null, tokens(1, 40 + i)));
    const key = (i: number) => keyer.prefixKeys({ model: r.model }, tokens(1, 40 + i), BS);
    await r.engine.send(req(0));
    await r.engine.send(req(1));
    await until(() => r.observer.events().length === 2);
    for (let i = 2; i < 5; i++) await r.engine.send(req(i), { drop: true });
    r.engine.trimBuffer(4); // seqs 2 and 3 are gone from the engine too
    await r.engine.send(req(5));
    await until(
      () =>
        r.observer.epochs().length === 2 && r.observer.events(r.observer.epochs()[1]).length === 2,
    );
    const second = r.observer.epochs()[1]!;
    expect(r.observer.storedKeys('gpu', second)).toEqual(Uint32Array.from([...key(4), ...key(5)]));
    expect(snapshotEntries(await r.observer.snapshot())).toEqual(
      [...keyEntries(key(4)), ...keyEntries(key(5))].sort(),
    );
    expect(
      await metric(r.registry, 'kvroute_publisher_lost_batches_total', { reason: 'buffer-short' }),
    ).toBe(2);
    expect(
      await metric(r.registry, 'kvroute_publisher_replay_failures_total', {
        reason: 'buffer-short',
      }),
    ).toBe(1);
    expect(await metric(r.registry, 'kvroute_publisher_epochs_total', { reason: 'gap' })).toBe(1);
  });

  it('recovers the same way from a replay that times out, and without a replay endpoint', async () => {
    const r = await rig({ config: { replayTimeoutMs: 150, coalesceMs: 0 } });
    r.engine.silentReplay = true;
    const req = (i: number) => batch(stored([600 + i], null, tokens(1, 60 + i)));
    await r.engine.send(req(0));
    await r.engine.send(req(1), { drop: true });
    await r.engine.send(req(2));
    await until(() => r.observer.epochs().length === 2, 5000, 'new epoch after timeout');
    expect(
      await metric(r.registry, 'kvroute_publisher_replay_failures_total', { reason: 'timeout' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await metric(r.registry, 'kvroute_publisher_lost_batches_total', { reason: 'timeout' }),
    ).toBe(1);

    const n = await rig({ engine: { replay: false }, config: { coalesceMs: 0 } });
    await n.engine.send(req(0));
    await until(() => n.observer.events().length === 1);
    await n.engine.send(req(1), { drop: true });
    await n.engine.send(req(2));
    await until(() => n.observer.epochs().length === 2, 5000, 'new epoch without replay');
    expect(
      await metric(n.registry, 'kvroute_publisher_lost_batches_total', { reason: 'no-endpoint' }),
    ).toBe(1);
    expect(snapshotEntries(await n.observer.snapshot())).toEqual(
      keyEntries(keyer.prefixKeys({ model: n.model }, tokens(1, 62), BS)),
    );
  });

  it('counts garbage by reason and keeps going, never applying part of a batch', async () => {
    const r = await rig({ config: { coalesceMs: 0 } });
    await r.engine.sendPayload(new Uint8Array([0xc1, 0xff, 0x00]));
    await r.engine.sendPayload(new Uint8Array(0));
    await r.engine.sendFrames([new Uint8Array([1, 2, 3])]);
    await r.engine.sendFrames([
      new Uint8Array([1]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array([9]),
    ]);
    // A good event followed by one whose extra keys cannot be encoded: nothing of it applies.
    const bad = batch(
      stored([700], null, tokens(1, 70)),
      stored([701], null, tokens(1, 71), { extraKeys: [[NaN]] }),
    );
    await r.engine.send(bad);
    await r.engine.send(batch(stored([702], null, tokens(1, 72))));
    await until(() => r.observer.events().length === 1);
    expect(r.observer.storedKeys()).toEqual(
      keyer.prefixKeys({ model: r.model }, tokens(1, 72), BS),
    );
    const errors = async (reason: string) =>
      metric(r.registry, 'kvroute_publisher_decode_errors_total', { reason });
    expect(await errors('msgpack')).toBe(1);
    expect(await errors('empty')).toBe(1);
    expect(await errors('frame-count')).toBe(1);
    expect(await errors('seq-size')).toBe(1);
    expect(await errors('extra-keys')).toBe(1);
    expect(snapshotEntries(await r.observer.snapshot())).toHaveLength(1);
    expect(await metric(r.registry, 'kvroute_publisher_lost_batches_total')).toBe(0);
  });

  it('subscribes to a topic prefix only, and answers a snapshot request for another pod with just the end marker', async () => {
    const r = await rig({ engine: { topic: 'kv@10.1.0.9' }, config: { topic: 'kv@' } });
    const stray = encodeVllmBatch(batch(stored([900], null, tokens(1, 90))));
    const seq = new Uint8Array(8);
    new DataView(seq.buffer).setBigUint64(0, BigInt(r.engine.nextSeq));
    await r.engine.sendFrames([new TextEncoder().encode('other-topic'), seq, stray]);
    await r.engine.send(batch(stored([901], null, tokens(1, 91))));
    await until(() => r.observer.events().length === 1);
    await new Promise((res) => setTimeout(res, 50));
    expect(r.observer.storedKeys()).toEqual(
      keyer.prefixKeys({ model: r.model }, tokens(1, 91), BS),
    );
    const req = encodeSnapshotRequest({ pod: 'someone-else:1', chunkKeys: 10 });
    const replies: Uint8Array[] = [];
    for await (const d of obsBus.requestMany(subjects.snapshot(r.pod), req, { maxWaitMs: 2000 }))
      replies.push(d);
    expect(replies).toEqual([]);
    expect(await metric(r.registry, 'kvroute_publisher_snapshots_served_total')).toBe(0);
  });

  it('binds the endpoint for engines that connect out', async () => {
    const port = await freePort();
    const r = await rig({ bindPort: port, engine: { replay: false } });
    await until(() => r.publisher.status().zmqReady);
    await new Promise((res) => setTimeout(res, 300)); // the engine connects and subscriptions propagate
    await r.engine.send(batch(stored([800], null, tokens(1, 80))));
    await until(() => r.observer.events().length === 1);
    expect(r.observer.storedKeys()).toEqual(
      keyer.prefixKeys({ model: r.model }, tokens(1, 80), BS),
    );
  });
});
