import { keySeqFrom } from '@kvroute/block-keys';
import type { KeySeq } from '@kvroute/block-keys';
import {
  encodeEventBatch,
  encodeHeartbeat,
  encodeSnapshotChunk,
  slotOf,
  subjects,
} from '@kvroute/protocol';
import { describe, expect, it } from 'vitest';
import { createMemoryBus } from '../bus/memory-bus.js';
import { FakePublisher } from '../fake-publisher.js';
import { createLogger } from '../log.js';
import { Registry } from '../metrics.js';
import { IndexReplica } from './replica.js';
import type { IndexReplicaOptions } from './replica.js';

const MODEL = 'm';
const POD = 'p:1';
const log = createLogger('test', 'silent');
const until = async (cond: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const keys = (base: number, n: number): KeySeq =>
  keySeqFrom(Array.from({ length: n }, (_, i) => BigInt(base + i)));

function replica(bus = createMemoryBus(), options: Partial<IndexReplicaOptions> = {}) {
  const registry = new Registry();
  const r = new IndexReplica(
    bus,
    {
      memoryBudgetBytes: 1 << 24,
      podTimeoutMs: 60_000,
      snapshotTimeoutMs: 2000,
      metricsPrefix: 't',
      ...options,
    },
    log,
    registry,
  );
  r.start();
  return { r, bus, registry };
}
const depth = (r: IndexReplica, k: KeySeq) =>
  r.lookup(MODEL, k, null).matches.find((m) => m.pod === POD)?.total ?? 0;

describe('IndexReplica', () => {
  it('ignores a snapshot that answers for a pod which left and came back meanwhile', async () => {
    const { r, bus } = replica();
    const k1 = keys(100, 4);
    // A slow publisher: its snapshot of epoch e1 arrives after the pod left and restarted.
    bus.subscribe(subjects.snapshot(POD), (m) => {
      setTimeout(() => {
        m.respond(
          encodeSnapshotChunk({
            pod: POD,
            model: MODEL,
            epoch: 'e1',
            seq: 5,
            index: 0,
            last: true,
            keys: k1,
            tiers: new Uint8Array(4),
            depths: new Uint32Array(4),
          }),
        );
        m.respond(new Uint8Array(0));
      }, 150);
    });
    const hb = (epoch: string, lastSeq: number, state: 'up' | 'leaving' = 'up') =>
      bus.publish(
        subjects.load(MODEL, POD),
        encodeHeartbeat({
          pod: POD,
          model: MODEL,
          role: 'both',
          epoch,
          ts: Date.now(),
          state,
          waiting: 0,
          running: 0,
          kvUsage: 0,
          blockSize: 16,
          capacityBlocks: 10,
          lastSeq,
          intervalMs: 200,
        }),
      );
    hb('e1', 5); // unknown pod with history: snapshot requested
    await new Promise((res) => setTimeout(res, 20));
    hb('e1', 5, 'leaving');
    const k2 = keys(200, 3);
    bus.publish(
      subjects.events(MODEL, slotOf(POD)),
      encodeEventBatch({
        pod: POD,
        model: MODEL,
        epoch: 'e2',
        seq: 1,
        ts: Date.now(),
        events: [{ kind: 'stored', parent: null, keys: k2, tier: 'gpu', depth: 0 }],
      }),
    );
    await until(() => depth(r, k2) === 3);
    await new Promise((res) => setTimeout(res, 300)); // the stale answer has arrived by now
    expect(depth(r, k1)).toBe(0);
    expect(depth(r, k2)).toBe(3);
    await r.stop();
  });

  it('drops a snapshot of the old epoch when the engine restarted while it was in flight', async () => {
    const { r, bus } = replica();
    const k1 = keys(100, 4);
    const k2 = keys(200, 3);
    const batch = (epoch: string, seq: number, k: KeySeq) =>
      bus.publish(
        subjects.events(MODEL, slotOf(POD)),
        encodeEventBatch({
          pod: POD,
          model: MODEL,
          epoch,
          seq,
          ts: Date.now(),
          events: [{ kind: 'stored', parent: null, keys: k, tier: 'gpu', depth: 0 }],
        }),
      );
    let asked = 0;
    bus.subscribe(subjects.snapshot(POD), (m) => {
      asked++;
      // answered as the old engine, but only after the new one has published
      setTimeout(() => {
        m.respond(
          encodeSnapshotChunk({
            pod: POD,
            model: MODEL,
            epoch: 'e1',
            seq: 3,
            index: 0,
            last: true,
            keys: k1,
            tiers: new Uint8Array(4),
            depths: new Uint32Array(4),
          }),
        );
        m.respond(new Uint8Array(0));
      }, 100);
    });
    batch('e1', 1, k1.slice(0, 4));
    batch('e1', 3, k1.slice(4)); // gap: snapshot requested
    await until(() => asked === 1);
    batch('e2', 1, k2.slice(0, 2));
    batch('e2', 2, k2.slice(2));
    await until(() => r.podEntries()[0]?.sync.syncing === false && depth(r, k2) === 3);
    expect(depth(r, k1)).toBe(0);
    expect(r.podEntries()[0]!.sync.epoch).toBe('e2');
    expect(asked).toBe(1);
    await r.stop();
  });

  it('drops a batch that does not validate, counts it, and repairs the pod from a snapshot', async () => {
    const { r, bus } = replica();
    const pub = new FakePublisher(bus, POD, MODEL).start();
    pub.heartbeat();
    pub.store(keys(1, 3));
    await until(() => depth(r, keys(1, 3)) === 3);
    pub.store(keys(10, 2), 'gpu', 2 ** 33); // depth out of range: refused at decode
    pub.store(keys(20, 2)); // the next batch shows the gap
    await until(() => depth(r, keys(10, 2)) === 2 && depth(r, keys(20, 2)) === 2);
    expect(r.counts(MODEL).resyncs).toBeGreaterThan(0);
    expect(pub.snapshotsServed).toBeGreaterThan(0);
    await r.stop();
  });

  it('removes a pod whose heartbeats stop even while its batches keep arriving', async () => {
    const { r, bus } = replica(undefined, { podTimeoutMs: 200, tickMs: 20 });
    const pub = new FakePublisher(bus, POD, MODEL).start();
    pub.heartbeat();
    let i = 0;
    const events = setInterval(() => pub.store(keys(1000 + 10 * i++, 1)), 20);
    const silentRemovals = async () =>
      (await r.metrics.podsRemoved.get()).values.find((v) => v.labels.reason === 'silent')?.value ??
      0;
    try {
      await until(() => r.podEntries().length === 1);
      await until(async () => (await silentRemovals()) > 0);
    } finally {
      clearInterval(events);
      await r.stop();
    }
  });

  it('exports memory and block gauges for a model filled only by a snapshot, and counts evictions', async () => {
    const bus = createMemoryBus();
    const pub = new FakePublisher(bus, POD, MODEL).start();
    for (let i = 0; i < 40; i++) pub.store(keys(10_000 * (i + 1), 500)); // before the replica exists
    const { r, registry } = replica(bus, { tickMs: 20, memoryBudgetBytes: 256 * 1024 });
    pub.heartbeat();
    const sample = async (name: string) => {
      const line = (await registry.metrics())
        .split('\n')
        .find((l) => l.startsWith(`t_${name}{model="${MODEL}"`));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    try {
      await until(() => r.podEntries()[0]?.firstSyncDone === true);
      expect(r.model(MODEL)!.index.stats().evictions).toBeGreaterThan(0);
      const evicted = r.model(MODEL)!.index.stats().evictions;
      await until(async () => (await sample('evictions_total')) !== undefined);
      expect(await sample('memory_bytes')).toBe(r.model(MODEL)!.index.stats().bytesUsed);
      expect(await sample('evictions_total')).toBe(evicted);
      expect(await registry.metrics()).toMatch(/# TYPE t_evictions_total counter/);
      // more evictions advance the counter by the difference
      pub.store(keys(900_000, 2000));
      await until(() => r.model(MODEL)!.index.stats().evictions > evicted);
      const now = r.model(MODEL)!.index.stats().evictions;
      await until(async () => (await sample('evictions_total')) === now);
    } finally {
      await r.stop();
    }
  });

  it('refiles a pod address that comes back serving another model, and forgets a model no pod serves', async () => {
    const { r, bus, registry } = replica(undefined, { tickMs: 20 });
    const old = new FakePublisher(bus, POD, 'm1').start();
    old.heartbeat();
    old.store(keys(1, 2));
    const depthIn = (model: string, k: KeySeq) =>
      r.lookup(model, k, null).matches.find((m) => m.pod === POD)?.total ?? 0;
    await until(() => depthIn('m1', keys(1, 2)) === 2);
    await until(async () => /t_memory_bytes\{model="m1"\}/.test(await registry.metrics()));
    old.stop(); // crashed: no leaving heartbeat
    const now = new FakePublisher(bus, POD, 'm2').start();
    now.heartbeat();
    now.store(keys(7, 3));
    await until(() => depthIn('m2', keys(7, 3)) === 3);
    expect(r.podEntries().map((e) => `${e.pod} ${e.model}`)).toEqual([`${POD} m2`]);
    expect(depthIn('m1', keys(1, 2))).toBe(0);
    expect(r.modelNames()).toEqual(['m2']);
    await until(async () => !/model="m1"/.test(await registry.metrics()));
    now.heartbeat('leaving');
    await until(() => r.modelNames().length === 0);
    await r.stop();
  });
});
