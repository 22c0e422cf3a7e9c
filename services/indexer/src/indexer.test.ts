import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { createBlockKeyer, keySeqFrom } from '@kvroute/block-keys';
import type { KeySeq } from '@kvroute/block-keys';
import { decodeLookupReply, encodeLookupRequest, shardOf, subjects } from '@kvroute/protocol';
import { createLogger, createRegistry, natsBus } from '@kvroute/runtime';
import { FakePublisher, freePort, startNatsServer } from '@kvroute/runtime/testing';
import type { NatsServer } from '@kvroute/runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { Indexer } from './indexer.js';

const MODEL = 'llama';
const log = createLogger('test', 'silent');
const until = async (cond: () => boolean, ms = 8000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A request's keys: a shared prefix of `shared` blocks, then `own` blocks unique to `tag`. */
function requestKeys(tag: number, shared: number, own: number): KeySeq {
  const vals: bigint[] = [];
  for (let i = 0; i < shared; i++) vals.push(1000n + BigInt(i));
  for (let i = 0; i < own; i++) vals.push(BigInt(tag) * 1_000_000n + BigInt(i));
  return keySeqFrom(vals);
}

/** The answer a correct index must give, computed from the publishers' own block sets. */
function expected(pubs: FakePublisher[], keys: KeySeq) {
  const out = new Map<string, { gpu: number; total: number }>();
  for (const p of pubs) {
    const holds = (i: number, tier?: string) =>
      [...p.blocks.values()].some(
        (b) =>
          b.key[0] === keys[2 * i] && b.key[1] === keys[2 * i + 1] && (!tier || b.tier === tier),
      );
    let total = 0;
    while (total < keys.length / 2 && holds(total)) total++;
    let gpu = 0;
    while (gpu < keys.length / 2 && holds(gpu, 'gpu')) gpu++;
    if (total > 0) out.set(p.pod, { gpu, total });
  }
  return out;
}

function asMap(matches: readonly { pod: string; gpu: number; total: number }[]) {
  return new Map(
    matches.filter((m) => m.total > 0).map((m) => [m.pod, { gpu: m.gpu, total: m.total }]),
  );
}

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

describe('indexer HTTP API', () => {
  it('looks up token ids and keys, serves analytics, and rejects bad requests with clear 4xx', async () => {
    const { createMemoryBus } = await import('@kvroute/runtime');
    const bus = createMemoryBus();
    const registry = createRegistry();
    const ix = new Indexer(
      bus,
      {
        shards: 'all',
        shardCount: 1,
        memoryBudgetBytes: 16 * 1024 ** 2,
        podTimeoutMs: 60_000,
        snapshotTimeoutMs: 1000,
        instance: 'http',
      },
      log,
      registry,
    );
    ix.start();
    const keyer = createBlockKeyer();
    const app = createApp({ indexer: ix, keyer, registry, maxBodyBytes: 4096 });
    const early = await app.request('/readyz');
    expect([early.status, ((await early.json()) as { reason: string }).reason]).toEqual([
      503,
      'warming-up',
    ]);
    const tokens = Array.from({ length: 64 }, (_, i) => i + 1);
    const keys = keyer.prefixKeys({ model: MODEL }, tokens, 16);
    const pub = new FakePublisher(bus, 'a:1', MODEL).start();
    pub.heartbeat();
    pub.store(keys.slice(0, 6));
    await until(() => ix.lookup(MODEL, keys, null).matches.length === 1);
    await until(() => ix.ready(), 3000, 'ready');
    const post = (body: unknown) =>
      app.request('/v1/lookup', {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });

    const r = await post({ model: MODEL, token_ids: tokens });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      model: MODEL,
      total_blocks: 4,
      matches: [{ pod: 'a:1', gpu_blocks: 3, total_blocks: 3 }],
    });
    const hex = [0, 1].map((i) =>
      ((BigInt(keys[2 * i + 1]!) << 32n) | BigInt(keys[2 * i]!)).toString(16).padStart(16, '0'),
    );
    const byKeys = (await (
      await post({ model: MODEL, keys: hex, candidates: ['a:1', 'b:2'] })
    ).json()) as { matches: unknown };
    expect(byKeys.matches).toEqual([
      { pod: 'a:1', gpu_blocks: 2, total_blocks: 2 },
      { pod: 'b:2', gpu_blocks: 0, total_blocks: 0 },
    ]);

    const errors: [unknown, number, RegExp][] = [
      [{ model: 'nope', token_ids: [1] }, 404, /unknown model/],
      [{ model: MODEL, token_ids: [1, -2] }, 400, /token_ids\[1\]/],
      [{ model: MODEL, token_ids: 'x' }, 400, /array of integers/],
      [{ model: MODEL }, 400, /exactly one of/],
      [{ token_ids: [1] }, 400, /model/],
      [{ model: MODEL, keys: ['xyz'] }, 400, /hex/],
      [{ model: MODEL, token_ids: [1], lora: 'a\0b' }, 400, /`lora` must not contain a NUL/],
      [{ model: MODEL, token_ids: [1], cache_salt: '\0' }, 400, /`cache_salt` must not/],
      ['{not json', 400, /not valid JSON/],
      [{ model: MODEL, token_ids: Array.from({ length: 3000 }, () => 1) }, 413, /over 4096 bytes/],
    ];
    for (const [body, status, msg] of errors) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 50)).toBe(status);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(msg);
    }

    // A second pod shares the first two blocks; its first batch is lost, so it is repaired by a snapshot.
    const pub2 = new FakePublisher(bus, 'b:2', MODEL).start();
    pub2.heartbeat();
    pub2.lose(1);
    pub2.store(keys.slice(0, 2));
    pub2.store(keys.slice(2, 4), 'gpu', 1);
    await until(() => ix.lookup(MODEL, keys, ['b:2']).matches[0]?.total === 2);
    await until(() => !ix.replica.podEntries().some((e) => e.sync.syncing));
    const stats = (await (await app.request('/v1/stats')).json()) as {
      models: Record<string, unknown>[];
    };
    expect(stats.models).toHaveLength(1);
    expect(stats.models[0]).toMatchObject({
      model: MODEL,
      block_size: 16,
      distinct_blocks: 3,
      shared_blocks: 2,
      residencies: 5,
      memory_bytes: ix.replica.model(MODEL)!.index.stats().bytesUsed,
      budget_bytes: 16 * 1024 ** 2,
      gaps: 1,
      resyncs: 1,
      pods: [
        { pod: 'a:1', gpu_blocks: 3, cpu_blocks: 0, epoch: pub.epoch, last_seq: 1, syncing: false },
        {
          pod: 'b:2',
          gpu_blocks: 2,
          cpu_blocks: 0,
          epoch: pub2.epoch,
          last_seq: 2,
          syncing: false,
        },
      ],
    });
    expect(stats.models[0]!.memory_bytes).toBeGreaterThan(0);
    expect((await app.request('/v1/pods/a:1')).status).toBe(200);
    expect((await app.request('/v1/pods/zz:1')).status).toBe(404);
    const lost = await app.request('/v1/nope', { method: 'POST' });
    expect([lost.status, lost.headers.get('content-type'), await lost.json()]).toEqual([
      404,
      'application/json',
      {
        error: { message: 'no route POST /v1/nope', type: 'invalid_request_error', code: 404 },
      },
    ]);
    const top = (await (await app.request(`/v1/prefixes/top?model=${MODEL}&limit=5`)).json()) as {
      model: string;
      prefixes: { key: string; depth: number; holders: number }[];
    };
    expect(top.model).toBe(MODEL);
    expect(top.prefixes.sort((a, b) => a.depth - b.depth)).toEqual([
      { key: hex[0], depth: 0, holders: 2 },
      { key: hex[1], depth: 1, holders: 2 },
    ]);
    const top1 = (await (await app.request(`/v1/prefixes/top?model=${MODEL}&limit=1`)).json()) as {
      prefixes: unknown[];
    };
    expect(top1.prefixes).toHaveLength(1);
    expect((await app.request(`/v1/prefixes/top?model=${MODEL}&limit=0`)).status).toBe(400);
    const readyz = await app.request('/readyz');
    expect([readyz.status, await readyz.json()]).toEqual([
      200,
      { ready: true, reason: null, warmup_left_ms: 0, unsynced_pods: [] },
    ]);
    expect(await (await app.request('/metrics')).text()).toMatch(
      /kvroute_indexer_lookups_total\{via="http"\} 2/,
    );
    // losing the bus loses readiness: the replica leaves the lookup queue groups
    expect(ix.servingLookups).toBe(true);
    await bus.close();
    expect([ix.ready(), ix.servingLookups]).toEqual([false, false]);
    await ix.stop();
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
