import { createBlockKeyer } from '@kvroute/block-keys';
import { connect } from '@nats-io/transport-node';
import {
  decodeLookupRequest,
  encodeIndexerHeartbeat,
  encodeLookupReply,
  subjects,
} from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import { createLogger, createMemoryBus, createRegistry, natsBus } from '@kvroute/runtime';
import { IndexReplica } from '@kvroute/runtime/replica';
import { FakePublisher, startNatsServer } from '@kvroute/runtime/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouterFileConfig } from './config.js';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import { createRouterService } from './service.js';
import type { RouterService } from './service.js';

const MODEL = 'llama';
const log = createLogger('test', 'silent');
const keyer = createBlockKeyer();
const until = async (cond: () => boolean | Promise<boolean>, ms = 5000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};
const tokens = (seed: number, n: number) => Array.from({ length: n }, (_, i) => seed * 100_000 + i);

const services: RouterService[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(
  bus: Bus | null,
  index: 'embedded' | 'remote',
  config: Partial<RouterFileConfig> = {},
  podTimeoutMs = 3000,
) {
  const svc = await createRouterService({
    bus,
    log,
    registry: createRegistry(),
    keyer,
    tokenizers: new Map(),
    config: {
      defaults: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: 'default' } },
      models: {},
      ...config,
    },
    options: {
      index,
      podTimeoutMs,
      lookupTimeoutMs: 200,
      speculativeTtlMs: 5000,
      memoryBudgetBytes: 64 * 1024 ** 2,
      maxBodyBytes: 1024 * 1024,
      connectTimeoutMs: 500,
      upstreamTimeoutMs: 5000,
    },
  });
  services.push(svc);
  return svc;
}

async function route(svc: RouterService, body: unknown, query = '') {
  const res = await svc.app.request(`/v1/route${query}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return {
    status: res.status,
    header: res.headers.get('x-gateway-destination-endpoint'),
    body: (await res.json()) as Record<string, unknown>,
  };
}

function fleet(bus: Bus, n: number) {
  const pubs = Array.from({ length: n }, (_, i) =>
    new FakePublisher(bus, `10.1.0.${i}:8000`, MODEL).start(),
  );
  const beat = setInterval(() => pubs.forEach((p) => p.heartbeat()), 100);
  pubs.forEach((p) => p.heartbeat());
  cleanups.push(() => clearInterval(beat));
  return { pubs, beat };
}

describe('router, embedded index, in-process bus', () => {
  it('sends a request to the pod holding its prefix, confirming matched blocks, with the destination header', async () => {
    const bus = createMemoryBus();
    const svc = await start(bus, 'embedded');
    const { pubs } = fleet(bus, 4);
    const t = tokens(1, 16 * 40);
    pubs[2]!.store(keyer.prefixKeys({ model: MODEL }, t, 16).slice(0, 2 * 30));
    await until(
      () => svc.router.ready() && svc.router.tracker.live(MODEL).length === 4,
      5000,
      'ready',
    );
    await until(
      () =>
        (svc.router.replica?.lookup(MODEL, keyer.prefixKeys({ model: MODEL }, t, 16), null).matches
          .length ?? 0) > 0,
    );
    const r = await route(svc, { model: MODEL, token_ids: t }, '?explain=1');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      pod: pubs[2]!.pod,
      matched_blocks: 30,
      total_blocks: 40,
      policy: 'default',
      mode: 'tokens',
    });
    expect(r.header).toBe(pubs[2]!.pod);
    expect((r.body.fallbacks as string[]).sort()).toEqual(
      pubs
        .filter((_, i) => i !== 2)
        .map((p) => p.pod)
        .sort(),
    );
    expect((r.body.scores as unknown[]).length).toBe(4);
  });

  it('lets a burst with one new prefix follow the first pick (speculative entries), and spreads cold prefixes', async () => {
    const bus = createMemoryBus();
    // a prefix-weighted policy (llm-d's): the match decides, so the burst must see the speculative entry
    const svc = await start(bus, 'embedded', {
      defaults: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: 'llm-d' } },
    });
    fleet(bus, 4);
    await until(() => svc.router.tracker.live(MODEL).length === 4);
    const hot = tokens(7, 16 * 64);
    const picks = [];
    for (let i = 0; i < 4; i++)
      picks.push((await route(svc, { model: MODEL, token_ids: [...hot, 900 + i] })).body);
    expect(new Set(picks.map((p) => p.pod)).size).toBe(1);
    expect(picks.every((p) => p.matched_blocks === 0)).toBe(true); // nothing confirmed: speculative only
    const cold = new Set<unknown>();
    for (let i = 0; i < 8; i++)
      cold.add((await route(svc, { model: MODEL, token_ids: tokens(50 + i, 16 * 8) })).body.pod);
    expect(cold.size).toBeGreaterThanOrEqual(3);
  });

  it('never routes to a pod whose heartbeats stopped, answers 503 with no live pods and 404 for unknown models', async () => {
    const bus = createMemoryBus();
    const svc = await start(bus, 'embedded', {}, 400);
    const { pubs, beat } = fleet(bus, 2);
    await until(() => svc.router.tracker.live(MODEL).length === 2);
    clearInterval(beat);
    const keep = setInterval(() => pubs[0]!.heartbeat(), 100);
    cleanups.push(() => clearInterval(keep));
    await until(() => svc.router.tracker.live(MODEL).length === 1, 3000, 'dead pod dropped');
    for (let i = 0; i < 10; i++)
      expect((await route(svc, { model: MODEL, token_ids: tokens(i, 64) })).body.pod).toBe(
        pubs[0]!.pod,
      );
    clearInterval(keep);
    await until(() => svc.router.tracker.live(MODEL).length === 0, 3000, 'all pods dropped');
    const r = await route(svc, { model: MODEL, token_ids: [1, 2, 3] });
    expect(r.status).toBe(503);
    expect((r.body.error as { message: string }).message).toMatch(/no live pods/);
    const u = await route(svc, { model: 'other', token_ids: [1] });
    expect(u.status).toBe(404);
    expect((u.body.error as { message: string }).message).toMatch(/unknown model "other"/);
  });

  it('restricts the choice to given candidates and rejects bad bodies with 4xx JSON errors', async () => {
    const bus = createMemoryBus();
    const svc = await start(bus, 'embedded');
    const { pubs } = fleet(bus, 3);
    await until(() => svc.router.tracker.live(MODEL).length === 3);
    for (let i = 0; i < 6; i++) {
      expect(
        (await route(svc, { model: MODEL, token_ids: tokens(i, 64), candidates: [pubs[1]!.pod] }))
          .body.pod,
      ).toBe(pubs[1]!.pod);
    }
    expect(
      (await route(svc, { model: MODEL, token_ids: [1], candidates: ['9.9.9.9:1'] })).status,
    ).toBe(503);
    expect((await route(svc, { model: MODEL })).status).toBe(400);
    const big = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, token_ids: tokens(1, 300_000) }),
    });
    expect(big.status).toBe(413);
    const notJson = await svc.app.request('/v1/route', { method: 'POST', body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({
      error: { message: 'body is not valid JSON', type: 'invalid_request_error', code: 400 },
    });
  });

  it('routes text without a tokenizer in approximate mode, and says so', async () => {
    const bus = createMemoryBus();
    const svc = await start(bus, 'embedded', {
      defaults: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: 'llm-d' } },
    });
    fleet(bus, 3);
    await until(() => svc.router.tracker.live(MODEL).length === 3);
    const prompt = 'You are a helpful assistant. '.repeat(40);
    const first = await route(svc, { model: MODEL, prompt: `${prompt} Question one?` });
    expect(first.body).toMatchObject({ mode: 'approximate', matched_blocks: 0 });
    const second = await route(svc, { model: MODEL, prompt: `${prompt} Question two?` });
    expect(second.body.pod).toBe(first.body.pod);
    expect(second.body.approximate_blocks).toBeGreaterThan(10);
    const metrics = await (await svc.app.request('/metrics')).text();
    expect(metrics).toMatch(/kvroute_router_approximate_total\{model="llama"\} 2/);
  });
});

describe('router, remote index with no indexer heard of', () => {
  it('answers partially and counts it', async () => {
    const bus = createMemoryBus();
    const svc = await start(bus, 'remote');
    fleet(bus, 2);
    await until(() => svc.router.tracker.live(MODEL).length === 2);
    const r = await route(svc, { model: MODEL, token_ids: tokens(3, 64) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ partial: true, matched_blocks: 0 });
    expect(await (await svc.app.request('/metrics')).text()).toMatch(
      /kvroute_router_lookup_timeouts_total\{kind="no_indexers"\} 1/,
    );
  });
});

describe('router, remote index over a real nats-server', () => {
  it('gives the same decisions as the embedded index, and answers partially when a shard is missing', async () => {
    const server = await startNatsServer();
    cleanups.push(() => server.dispose());
    const conns = await Promise.all([0, 1, 2, 3].map(() => connect({ servers: server.url })));
    cleanups.push(async () => {
      for (const c of conns) await c.close();
    });
    const [pubBus, shardBus, remoteBus, embeddedBus] = conns.map((c) => natsBus(c)) as [
      Bus,
      Bus,
      Bus,
      Bus,
    ];
    // One index shard (shard 0 of 1): a replica answering lookups as an indexer does.
    const shard = new IndexReplica(
      shardBus,
      {
        memoryBudgetBytes: 1 << 26,
        podTimeoutMs: 3000,
        snapshotTimeoutMs: 1000,
        metricsPrefix: 'shard',
      },
      log,
      createRegistry(),
    );
    shard.start();
    const sub = shardBus.subscribe(subjects.lookupForShard(0), (m) => {
      const req = decodeLookupRequest(m.data);
      m.respond(
        encodeLookupReply({
          shard: 0,
          matches: shard.lookup(req.model, req.keys, req.candidates).matches,
          error: null,
        }),
      );
    });
    const hb = setInterval(
      () =>
        shardBus.publish(
          subjects.indexer('s0'),
          encodeIndexerHeartbeat({
            instance: 's0',
            shards: [0],
            shardCount: 1,
            ts: Date.now(),
            ready: shard.ready(),
          }),
        ),
      100,
    );
    cleanups.push(async () => {
      clearInterval(hb);
      sub.unsubscribe();
      await shard.stop();
    });
    const remote = await start(remoteBus, 'remote');
    const embedded = await start(embeddedBus, 'embedded');
    const { pubs } = fleet(pubBus, 4);
    const prompts = [0, 1, 2, 3].map((i) => tokens(20 + i, 16 * 24));
    pubs.forEach((p, i) =>
      p.store(keyer.prefixKeys({ model: MODEL }, prompts[i]!, 16).slice(0, 2 * (8 + 4 * i))),
    );
    await until(() => remote.router.ready() && embedded.router.ready(), 5000, 'both ready');
    await until(
      async () =>
        (await route(remote, { model: MODEL, token_ids: prompts[3], candidates: [pubs[3]!.pod] }))
          .body.matched_blocks === 20,
      5000,
      'remote sees events',
    );
    await until(
      async () =>
        (await route(embedded, { model: MODEL, token_ids: prompts[3], candidates: [pubs[3]!.pod] }))
          .body.matched_blocks === 20,
      5000,
      'embedded sees events',
    );
    for (let i = 0; i < 4; i++) {
      const a = await route(remote, { model: MODEL, token_ids: prompts[i] });
      const b = await route(embedded, { model: MODEL, token_ids: prompts[i] });
      expect([a.body.pod, a.body.matched_blocks]).toEqual([pubs[i]!.pod, 8 + 4 * i]);
      expect([b.body.pod, b.body.matched_blocks]).toEqual([a.body.pod, a.body.matched_blocks]);
    }
    // the shard goes away: the remote router still answers, from what it has, and counts it
    sub.unsubscribe();
    clearInterval(hb);
    const r = await route(remote, { model: MODEL, token_ids: prompts[1] });
    expect(r.status).toBe(200);
    expect(r.body.partial).toBe(true);
    expect(r.body.matched_blocks).toBe(0);
    expect(await (await remote.app.request('/metrics')).text()).toMatch(
      /kvroute_router_lookup_timeouts_total\{kind="(timeout|missing)"\} [1-9]/,
    );
  });
});
