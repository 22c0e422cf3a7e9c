import { createBlockKeyer } from '@kvroute/block-keys';
import { createRegistry } from '@kvroute/runtime';
import { FakePublisher } from '@kvroute/runtime/testing';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { Indexer } from './indexer.js';
import { log, MODEL, until } from './testing/cluster.js';

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
