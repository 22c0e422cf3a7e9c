import { keySeqFrom } from '@kvroute/block-keys';
import type { KeySeq } from '@kvroute/block-keys';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../bus/bus.js';
import { createMemoryBus } from '../bus/memory-bus.js';
import { natsBus } from '../bus/nats-bus.js';
import { FakePublisher } from '../fake-publisher.js';
import { createLogger } from '../log.js';
import { Registry } from '../metrics.js';
import { startNatsServer } from '../nats-server.js';
import { ReadinessGate } from './readiness.js';
import { IndexReplica } from './replica.js';

const MODEL = 'm';
const POD = 'p:1';
const log = createLogger('test', 'silent');
const until = async (cond: () => boolean, ms = 5000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const keys = (base: number, n: number): KeySeq =>
  keySeqFrom(Array.from({ length: n }, (_, i) => BigInt(base + i)));

function replica(bus: Bus, podTimeoutMs = 60_000) {
  const r = new IndexReplica(
    bus,
    { memoryBudgetBytes: 1 << 24, podTimeoutMs, snapshotTimeoutMs: 1000, metricsPrefix: 't' },
    log,
    new Registry(),
  );
  const changes: boolean[] = [];
  r.onReadyChange((ready) => changes.push(ready));
  r.start();
  return { r, changes };
}

describe('ReadinessGate', () => {
  const synced = (pod: string) => ({ pod, firstSyncDone: true, syncing: false });

  it('warms up for three heartbeat intervals (at most the pod timeout), then waits for every pod', () => {
    const g = new ReadinessGate(3000);
    expect(g.evaluate(0, []).reason).toBe('stopped');
    g.begin(1000);
    expect(g.evaluate(1000, [])).toEqual({
      ready: false,
      reason: 'warming-up',
      warmupLeftMs: 3000,
      unsyncedPods: [],
    });
    expect(g.heartbeatInterval(200)).toBe(1600);
    expect(g.heartbeatInterval(100)).toBeNull();
    expect(g.evaluate(1599, []).reason).toBe('warming-up');
    const pods = [synced('b'), { pod: 'a', firstSyncDone: false, syncing: true }];
    expect(g.evaluate(1600, pods)).toMatchObject({ reason: 'syncing', unsyncedPods: ['a'] });
    // a pod synced once but fetching a snapshot again is not complete either
    pods[1] = { pod: 'a', firstSyncDone: true, syncing: true };
    expect(g.evaluate(1700, pods).ready).toBe(false);
    pods[1] = synced('a');
    expect(g.evaluate(1700, pods).ready).toBe(true);
    // once ready, a pod that joins later syncs like on every replica: still ready, but listed
    expect(g.evaluate(1800, [...pods, { pod: 'c', firstSyncDone: false, syncing: true }])).toEqual({
      ready: true,
      reason: null,
      warmupLeftMs: 0,
      unsyncedPods: ['c'],
    });
    g.down('disconnected');
    expect(g.evaluate(1900, pods).reason).toBe('disconnected');
    g.begin(2000);
    expect(g.evaluate(2000, pods)).toMatchObject({ reason: 'warming-up', warmupLeftMs: 600 });
  });
});

describe('IndexReplica readiness', () => {
  it('is not ready right after start, nor while a known pod has never synced, however often its snapshot failed', async () => {
    const bus = createMemoryBus();
    const pub = new FakePublisher(bus, POD, MODEL);
    pub.store(keys(1, 3)); // the fleet holds blocks before the replica starts
    const { r, changes } = replica(bus);
    expect(r.ready()).toBe(false);
    expect(r.readiness().reason).toBe('warming-up');
    pub.heartbeat(); // snapshot requested; nobody answers yet
    await until(() => r.readiness().warmupLeftMs === 0, 2000, 'warm-up over');
    await until(() => (r.podEntries()[0]?.resyncAttempt ?? 0) >= 3, 5000, 'three attempts');
    await new Promise((res) => setTimeout(res, 50)); // the third has failed too
    expect(r.readiness()).toMatchObject({ ready: false, reason: 'syncing', unsyncedPods: [POD] });
    pub.start(); // the publisher answers from now on
    await until(() => r.ready(), 5000, 'ready');
    const m = r.lookup(MODEL, keys(1, 3), null).matches;
    expect(m.map((x) => [x.pod, x.total])).toEqual([[POD, 3]]);
    expect(changes).toEqual([true]);
    await r.stop();
    expect(changes).toEqual([true, false]);
  });

  it('is ready after the pod timeout when no pod has announced itself', async () => {
    const { r } = replica(createMemoryBus(), 300);
    expect(r.ready()).toBe(false);
    await until(() => r.ready(), 3000, 'ready');
    await r.stop();
  });

  it('is not ready while the bus is away, and warms up again when it is back', async () => {
    const server = await startNatsServer();
    const pubConn = await connect({ servers: server.url, reconnectTimeWait: 100 });
    const ixConn = await connect({ servers: server.url, reconnectTimeWait: 100 });
    const pub = new FakePublisher(natsBus(pubConn), POD, MODEL).start();
    const { r, changes } = replica(natsBus(ixConn), 2000);
    const beat = setInterval(() => pub.heartbeat(), 50);
    try {
      pub.store(keys(1, 2));
      await until(() => r.ready(), 5000, 'ready');
      await server.stop();
      await until(() => r.readiness().reason === 'disconnected', 5000, 'disconnected');
      await server.restart();
      await until(() => changes.length === 3, 10_000, 'ready again');
      expect(changes).toEqual([true, false, true]);
      expect(r.podEntries().map((e) => e.pod)).toEqual([POD]); // not swept while away
    } finally {
      clearInterval(beat);
      await r.stop();
      await pubConn.close();
      await ixConn.close();
      await server.dispose();
    }
  });
});
