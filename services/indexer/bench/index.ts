import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { percentile } from '@kvroute/bench-kit';
import { keySeqFrom } from '@kvroute/block-keys';
import type { KeySeq } from '@kvroute/block-keys';
import { decodeLookupReply, encodeLookupRequest, subjects } from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import {
  createLogger,
  createRegistry,
  FakePublisher,
  natsBus,
  startNatsServer,
} from '@kvroute/runtime';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { Indexer } from '../src/indexer.js';

const MODEL = 'bench-model';
const log = createLogger('bench', 'silent');

/** `n` distinct keys of a pod starting at `start`: [pod·2^32 + start + 1, …). */
function keysOf(pod: number, start: number, n: number): KeySeq {
  return keySeqFrom(
    Array.from({ length: n }, (_, k) => (BigInt(pod) << 32n) + BigInt(start + k + 1)),
  );
}

function newIndexer(bus: Bus, instance: string): Indexer {
  const ix = new Indexer(
    bus,
    {
      shards: 'all',
      shardCount: 1,
      memoryBudgetBytes: 2 * 1024 ** 3,
      podTimeoutMs: 60_000,
      snapshotTimeoutMs: 10_000,
      instance,
      tickMs: 200,
    },
    log,
    createRegistry(),
  );
  ix.start();
  return ix;
}

async function lookup(nc: NatsConnection, keys: KeySeq): Promise<{ pod: string; total: number }[]> {
  const m = await nc.request(
    subjects.lookup(MODEL, 0),
    encodeLookupRequest({ model: MODEL, keys, candidates: null }),
    { timeout: 5000 },
  );
  return decodeLookupReply(m.data).matches;
}

/** `kvroute bench indexer`: publish→lookup latency, lookups/s per replica, recovery of a replica holding 1M blocks. */
export const benchIndexer: Bench = async ({ quick }) => {
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'indexer' };
  const nats = await startNatsServer();
  const conns = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: nats.url })));
  const [pubConn, ixConn, clientConn, ix2Conn] = conns as [
    NatsConnection,
    NatsConnection,
    NatsConnection,
    NatsConnection,
  ];
  const indexers: Indexer[] = [];
  let beat: NodeJS.Timeout | undefined;
  try {
    const pods = 16;
    const pubs = Array.from({ length: pods }, (_, i) =>
      new FakePublisher(natsBus(pubConn), `10.8.0.${i}:8000`, MODEL).start(),
    );
    beat = setInterval(() => pubs.forEach((p) => p.heartbeat()), 200);
    indexers.push(newIndexer(natsBus(ixConn), 'bench-a'));
    await ixConn.flush();
    pubs.forEach((p) => p.heartbeat());
    const t = Date.now() + 10_000;
    while (!indexers[0]!.ready() || indexers[0]!.replica.podEntries().length < pods) {
      if (Date.now() > t) throw new Error('indexer did not come up');
      await new Promise((r) => setTimeout(r, 20));
    }

    // 1. publish → visible in a lookup over NATS (polled; each probe is one request/reply).
    const samples = quick ? 30 : 400;
    const lat: number[] = [];
    for (let i = 0; i < samples; i++) {
      const pub = pubs[i % pods]!;
      const keys = keysOf(i % pods, 100_000_000 + 8 * i, 8);
      const t0 = performance.now();
      pub.store(keys);
      for (;;) {
        const m = await lookup(clientConn, keys);
        if (m.some((x) => x.pod === pub.pod && x.total === 8)) break;
      }
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    rows.push({
      case: 'publish → visible in a NATS lookup (8 blocks)',
      'p50 ms': percentile(lat, 50),
      'p99 ms': percentile(lat, 99),
    });
    summary.publish_to_lookup_p50_ms = +percentile(lat, 50).toFixed(3);
    summary.publish_to_lookup_p99_ms = +percentile(lat, 99).toFixed(3);

    // 2. Lookups/s of one replica over NATS: 512-key requests, 64 in flight from one client.
    // Four pods hold the whole 512-block chain, so every lookup walks all 512 keys.
    const probe = keysOf(999, 0, 512);
    const deepPods = pubs.slice(0, 4);
    deepPods.forEach((p) => p.store(probe));
    let matched: { pod: string; total: number }[] = [];
    for (const t3 = Date.now() + 10_000; ;) {
      matched = (await lookup(clientConn, probe)).filter((m) => m.total > 0);
      if (matched.length === deepPods.length && matched.every((m) => m.total === 512)) break;
      if (Date.now() > t3) throw new Error(`the 512-block chain is not indexed: ${matched.length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = quick ? 0.5 : 5;
    let done = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < end) {
          await lookup(clientConn, probe);
          done++;
        }
      }),
    );
    rows.push({
      case: 'lookups/s, one replica over NATS (512 keys, 512 deep, 64 in flight)',
      'lookups/s': done / seconds,
      'matched blocks': `${matched.length} pods × ${Math.max(...matched.map((m) => m.total))}`,
    });
    summary.lookups_per_s = Math.round(done / seconds);
    summary.lookup_matched_depth = Math.max(...matched.map((m) => m.total));
    summary.lookup_matched_pods = matched.length;

    // 3. A replica joining a fleet that holds 1M blocks recovers it by snapshots.
    const perPod = Math.round((quick ? 64_000 : 1_000_000) / pods);
    for (let p = 0; p < pods; p++) {
      for (let i = 0; i < perPod; i += 4096)
        pubs[p]!.store(keysOf(p, i, Math.min(4096, perPod - i)));
    }
    const total = pods * perPod;
    await pubConn.flush();
    const t1 = Date.now() + 60_000;
    while ((indexers[0]!.replica.model(MODEL)?.index.stats().residencies ?? 0) < total) {
      if (Date.now() > t1)
        throw new Error(
          `the first replica did not ingest the blocks: ${JSON.stringify(indexers[0]!.replica.model(MODEL)?.index.stats()).slice(0, 200)} ${JSON.stringify(indexers[0]!.replica.counts(MODEL))} ${indexers[0]!.replica
            .podEntries()
            .map((e) => e.sync.lastSeq + '/' + e.sync.syncing)
            .join(',')} ${pubs.map((p) => p.seq).join(',')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = performance.now();
    const late = newIndexer(natsBus(ix2Conn), 'bench-b');
    indexers.push(late);
    const t2 = Date.now() + 120_000;
    const wait = async (cond: () => boolean) => {
      while (!cond()) {
        if (Date.now() > t2) throw new Error('the new replica did not recover');
        await new Promise((r) => setTimeout(r, 10));
      }
      return performance.now() - t0;
    };
    const recoverMs = await wait(
      () =>
        late.replica.podEntries().length === pods &&
        (late.replica.model(MODEL)?.index.stats().residencies ?? 0) >= total,
    );
    // Ready also waits out the warm-up (three heartbeat intervals, here 3 × 200 ms).
    const readyMs = await wait(() => late.ready());
    rows.push({
      case: `new replica recovers ${total.toLocaleString('en-US')} blocks from ${pods} publishers' snapshots`,
      seconds: recoverMs / 1000,
    });
    rows.push({ case: '… and is ready (after its warm-up)', seconds: readyMs / 1000 });
    summary.recovery_blocks = total;
    summary.recovery_s = +(recoverMs / 1000).toFixed(3);
    summary.recovery_ready_s = +(readyMs / 1000).toFixed(3);
  } finally {
    clearInterval(beat);
    for (const ix of indexers) await ix.stop();
    for (const c of conns) await c.close();
    await nats.dispose();
  }
  return { title: 'indexer over a real nats-server (16 pods, one shard)', rows, summary };
};
