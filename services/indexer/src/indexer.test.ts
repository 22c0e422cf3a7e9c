import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KeySeq } from '@kvroute/block-keys';
import { decodeLookupReply, encodeLookupRequest, shardOf, subjects } from '@kvroute/protocol';
import { createRegistry, natsBus } from '@kvroute/runtime';
import { FakePublisher, freePort, startNatsServer } from '@kvroute/runtime/testing';
import type { NatsServer } from '@kvroute/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Indexer } from './indexer.js';

import { asMap, expected, log, MODEL, requestKeys, until } from './testing/cluster.js';

describe('indexer: 2 shards × 2 replicas over a real nats-server', () => {
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  const indexers: Indexer[] = [];
  let pubs: FakePublisher[];
  let beat: NodeJS.Timeout;
  let client: NatsConnection;
  let monitorPort: number;
  /** Client connections the server holds now (its monitoring endpoint). */
  const serverConnections = async () =>
    (
      (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as {
        num_connections: number;
      }
    ).num_connections;

  async function newIndexer(shard: number, name: string) {
    const nc = await connect({ servers: server.url });
    conns.push(nc);
    const ix = new Indexer(
      natsBus(nc),
      {
        shards: String(shard),
        shardCount: 2,
        memoryBudgetBytes: 64 * 1024 ** 2,
        podTimeoutMs: 800,
        snapshotTimeoutMs: 1000,
        instance: name,
        tickMs: 100,
      },
      log,
      createRegistry(),
    );
    ix.start();
    indexers.push(ix);
    await nc.flush();
    return { ix, nc };
  }

  /** Scatter a lookup to both shards over NATS and gather, as the router does. */
  async function scatter(keys: KeySeq) {
    const replies = await Promise.all(
      [0, 1].map(async (s) =>
        decodeLookupReply(
          (
            await client.request(
              subjects.lookup(MODEL, s),
              encodeLookupRequest({ model: MODEL, keys, candidates: null }),
              { timeout: 2000 },
            )
          ).data,
        ),
      ),
    );
    return asMap(replies.flatMap((r) => r.matches));
  }

  beforeAll(async () => {
    monitorPort = await freePort();
    server = await startNatsServer(['-m', String(monitorPort)]);
    client = await connect({ servers: server.url });
    const pubConn = await connect({ servers: server.url });
    conns.push(pubConn);
    // six pods, three per shard
    const names: string[] = [];
    for (let i = 0; names.length < 6; i++) {
      const pod = `10.0.0.${i}:8000`;
      if (names.filter((n) => shardOf(n, 2) === shardOf(pod, 2)).length < 3) names.push(pod);
    }
    pubs = names.map((pod) => new FakePublisher(natsBus(pubConn), pod, MODEL).start());
    await pubConn.flush();
    for (const s of [0, 0, 1, 1]) await newIndexer(s, `ix-${indexers.length}`);
    beat = setInterval(() => pubs.forEach((p) => p.heartbeat()), 100);
  });

  afterAll(async () => {
    clearInterval(beat);
    for (const ix of indexers) await ix.stop();
    for (const c of [...conns, client]) await c.close().catch(() => undefined);
    await server.dispose();
  });

  it('answers scatter/gather lookups with exactly the blocks each pod holds, by tier', async () => {
    pubs.forEach((p, i) => {
      p.store(requestKeys(i, 4, 3));
      if (i % 2 === 0) p.store(requestKeys(i, 0, 0)); // no-op batch keeps seqs moving
    });
    pubs[1]!.store(requestKeys(7, 4, 6), 'cpu', 0);
    pubs[2]!.remove(requestKeys(2, 4, 3).slice(2 * 2, 2 * 3)); // a middle block: run breaks at 2
    const probes = [
      requestKeys(0, 4, 3),
      requestKeys(1, 4, 3),
      requestKeys(2, 4, 3),
      requestKeys(7, 4, 6),
    ];
    await until(() => indexers.every((ix) => ix.ready()), 8000, 'indexers ready');
    for (const keys of probes) {
      const want = expected(pubs, keys);
      await until(
        () => JSON.stringify([...asMapSync(keys)]) === JSON.stringify([...want]),
        8000,
        'indexers caught up',
      );
      expect(await scatter(keys)).toEqual(want);
    }
    expect(expected(pubs, probes[2]!).get(pubs[2]!.pod)).toEqual({ gpu: 2, total: 2 });
    expect(expected(pubs, probes[3]!).get(pubs[1]!.pod)).toEqual({ gpu: 4, total: 10 });

    function asMapSync(keys: KeySeq) {
      // every replica of every shard must agree; take shard 0 replica 0 and shard 1 replica 0
      return new Map(
        [
          ...asMap(indexers[0]!.lookup(MODEL, keys, null).matches),
          ...asMap(indexers[2]!.lookup(MODEL, keys, null).matches),
        ].sort(),
      );
    }
  });

  it('keeps answering when a replica crashes; one recovering takes no lookups until it is synced', async () => {
    const keys = requestKeys(3, 4, 3);
    const before = await scatter(keys);
    const connected = await serverConnections();
    await conns[1]!.close(); // replica 0 of shard 0 crashes: gone without unsubscribing
    // Until the server has seen the socket close, it may still route lookups there (lost, as in
    // a real crash, and covered by the router's lookup timeout); from then on none is lost.
    let seen = connected;
    while (seen === connected) {
      await new Promise((r) => setTimeout(r, 10));
      seen = await serverConnections();
    }
    expect(seen).toBe(connected - 1);
    for (let i = 0; i < 20; i++) expect(await scatter(keys)).toEqual(before);
    pubs.forEach((p, i) => p.store(requestKeys(100 + i, 4, 2)));
    // Shard 0's publishers stop answering snapshots for a while: the new replica stays recovering.
    const shard0 = pubs.filter((p) => shardOf(p.pod, 2) === 0);
    shard0.forEach((p) => p.stop());
    const { ix } = await newIndexer(0, 'ix-restarted');
    const survivor = indexers[1]!;
    await until(
      () => ix.replica.podEntries().length === 3 && ix.replica.readiness().warmupLeftMs === 0,
      5000,
      'restarted replica knows the pods',
    );
    expect(ix.replica.readiness()).toMatchObject({ ready: false, reason: 'syncing' });
    expect(ix.replica.readiness().unsyncedPods).toEqual(shard0.map((p) => p.pod).sort());
    expect(ix.servingLookups).toBe(false);
    const probes = [keys, ...shard0.map((p) => requestKeys(100 + pubs.indexOf(p), 4, 2))];
    for (let i = 0; i < 10; i++) {
      for (const probe of probes) {
        const reply = decodeLookupReply(
          (
            await client.request(
              subjects.lookup(MODEL, 0),
              encodeLookupRequest({ model: MODEL, keys: probe, candidates: null }),
              { timeout: 2000 },
            )
          ).data,
        );
        const want = asMap(survivor.lookup(MODEL, probe, null).matches);
        expect(want.size).toBeGreaterThan(0);
        expect(asMap(reply.matches)).toEqual(want);
      }
    }
    shard0.forEach((p) => p.start());
    await until(() => ix.ready() && ix.servingLookups, 8000, 'restarted replica synced');
    for (const probe of probes) {
      expect(asMap(ix.lookup(MODEL, probe, null).matches)).toEqual(
        asMap(survivor.lookup(MODEL, probe, null).matches),
      );
    }
    expect(ix.replica.counts(MODEL).resyncs).toBeGreaterThanOrEqual(3);
  });

  it('repairs a lost batch by resync to the exact state', async () => {
    const p = pubs.find((x) => shardOf(x.pod, 2) === 1)!;
    p.lose(1);
    p.store(requestKeys(200, 4, 5)); // lost on the wire
    p.store(requestKeys(201, 4, 1)); // arrives: gap
    for (const probe of [requestKeys(200, 4, 5), requestKeys(201, 4, 1)]) {
      // what shard 1 must hold: the pods of shard 1
      const want = expected(
        pubs.filter((x) => shardOf(x.pod, 2) === 1),
        probe,
      );
      await until(
        () =>
          JSON.stringify([...asMap(indexers[2]!.lookup(MODEL, probe, null).matches)]) ===
          JSON.stringify([...want]),
        8000,
        'gap repaired',
      );
      await until(
        () =>
          JSON.stringify([...asMap(indexers[3]!.lookup(MODEL, probe, null).matches)]) ===
          JSON.stringify([...want]),
        8000,
        'gap repaired on replica',
      );
    }
    expect(indexers[2]!.replica.counts(MODEL).gaps).toBeGreaterThan(0);
  });

  it('repairs a lost last batch from heartbeats (nothing later reveals the gap)', async () => {
    const p = pubs.find((x) => shardOf(x.pod, 2) === 0)!;
    p.lose(1);
    p.store(requestKeys(300, 4, 2));
    const want = expected(pubs, requestKeys(300, 4, 2));
    expect(want.get(p.pod)?.total).toBe(6);
    await until(
      () =>
        asMap(indexers[1]!.lookup(MODEL, requestKeys(300, 4, 2), null).matches).get(p.pod)
          ?.total === 6,
      8000,
      'tail repaired',
    );
  });

  it('resets a pod whose engine restarted (new epoch)', async () => {
    const p = pubs[4]!;
    const old = requestKeys(4, 4, 3);
    expect((await scatter(old)).get(p.pod)?.total).toBe(7);
    p.restart();
    p.store(requestKeys(400, 0, 2));
    await until(
      () =>
        !asMap(indexers.slice(1).flatMap((ix) => ix.lookup(MODEL, old, null).matches)).has(p.pod),
      8000,
      'pod reset',
    );
    expect((await scatter(requestKeys(400, 0, 2))).get(p.pod)).toEqual({ gpu: 2, total: 2 });
  });

  it('drops a pod whose heartbeats stop, and at once one that says it is leaving', async () => {
    const silent = pubs[5]!;
    const leaving = pubs[0]!;
    clearInterval(beat);
    const others = pubs.filter((p) => p !== silent && p !== leaving);
    beat = setInterval(() => others.forEach((p) => p.heartbeat()), 100);
    const live = indexers.slice(1); // indexers[0] crashed above
    const removals = async () =>
      Promise.all(
        live.map(async (ix) => {
          const v = (await ix.replica.metrics.podsRemoved.get()).values;
          return ['leaving', 'silent'].map((r) => v.find((x) => x.labels.reason === r)?.value ?? 0);
        }),
      );
    const before = await removals();
    leaving.heartbeat('leaving');
    const gone = (pod: string) =>
      !live.some((ix) => ix.replica.podEntries().some((e) => e.pod === pod));
    await until(() => gone(leaving.pod) && gone(silent.pod), 5000, 'both pods removed');
    expect((await scatter(requestKeys(5, 4, 3))).has(silent.pod)).toBe(false);
    // each replica owning a pod's shard removed it once, for the reason it had: the leaving
    // pod because it said so (not later, as silent), the other because its heartbeats stopped
    const after = await removals();
    live.forEach((ix, i) => {
      const owns = (p: FakePublisher) => (ix.replica.owns(p.pod) ? 1 : 0);
      expect([after[i]![0]! - before[i]![0]!, after[i]![1]! - before[i]![1]!]).toEqual([
        owns(leaving),
        owns(silent),
      ]);
    });
  });
});

describe('indexer owning several shards', () => {
  it("answers each shard's lookup with that shard's pods only", async () => {
    const { createMemoryBus } = await import('@kvroute/runtime');
    const bus = createMemoryBus();
    const ix = new Indexer(
      bus,
      {
        shards: '0,1',
        shardCount: 2,
        memoryBudgetBytes: 16 * 1024 ** 2,
        podTimeoutMs: 60_000,
        snapshotTimeoutMs: 1000,
        instance: 'both',
        tickMs: 50,
      },
      log,
      createRegistry(),
    );
    ix.start();
    const pods: string[] = [];
    for (let i = 0; pods.length < 4; i++) {
      const pod = `10.1.0.${i}:8000`;
      if (pods.filter((p) => shardOf(p, 2) === shardOf(pod, 2)).length < 2) pods.push(pod);
    }
    const keys = requestKeys(9, 4, 0);
    for (const pod of pods) {
      const p = new FakePublisher(bus, pod, MODEL).start();
      p.heartbeat();
      p.store(keys);
    }
    await until(() => ix.servingLookups && ix.lookup(MODEL, keys, null).matches.length === 4);
    const ask = async (shard: number, candidates: string[] | null) =>
      decodeLookupReply(
        await bus.request(
          subjects.lookup(MODEL, shard),
          encodeLookupRequest({ model: MODEL, keys, candidates }),
          { timeoutMs: 2000 },
        ),
      ).matches.map((m) => m.pod);
    const of = (shard: number) => pods.filter((p) => shardOf(p, 2) === shard);
    for (const shard of [0, 1]) {
      expect((await ask(shard, null)).sort()).toEqual(of(shard).sort());
      // candidates of both shards, plus one unknown of each: each shard answers for its own
      const unknown = ['10.9.9.9:1', '10.9.9.8:1'];
      expect(await ask(shard, [...pods, ...unknown])).toEqual(
        [...pods, ...unknown].filter((p) => shardOf(p, 2) === shard),
      );
    }
    const other = of(1)[0]!;
    expect(await ask(0, [other])).toEqual([]);
    await ix.stop();
    await bus.close();
  });
});
