import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { asyncLatencies, percentile } from '@kvroute/bench-kit';
import { createBlockKeyer } from '@kvroute/block-keys';
import { Indexer } from '@kvroute/indexer';
import { DEFAULT_MODEL_SETTINGS, createRouterService } from '@kvroute/router';
import type { RouterService } from '@kvroute/router';
import type { Bus } from '@kvroute/runtime';
import {
  createLogger,
  createMemoryBus,
  createRegistry,
  FakePublisher,
  natsBus,
  serveHttp,
  startNatsServer,
} from '@kvroute/runtime';
import { connect } from '@nats-io/transport-node';
import { Hono } from 'hono';

const MODEL = 'bench-model';
const PODS = 16;
const PROMPT_TOKENS = 4096;
const PROMPTS = 64;
const log = createLogger('bench', 'silent');

/** 64 prompts of 4k tokens in 8 families sharing a 2k-token system prefix, spread over the pods at various depths. */
function workload(bus: Bus) {
  const keyer = createBlockKeyer();
  const prompts = Array.from({ length: PROMPTS }, (_, p) =>
    Array.from({ length: PROMPT_TOKENS }, (_, i) =>
      i < 2048 ? (p % 8) * 1_000_000 + i : p * 1_000_000 + i,
    ),
  );
  const pubs = Array.from({ length: PODS }, (_, i) =>
    new FakePublisher(bus, `10.9.0.${i}:8000`, MODEL, {
      kvUsage: 0.2,
      capacityBlocks: 60_000,
    }).start(),
  );
  prompts.forEach((t, p) => {
    const keys = keyer.prefixKeys({ model: MODEL }, t, 16);
    for (let r = 0; r < 3; r++) {
      const pod = pubs[(p * 3 + r) % PODS]!;
      const depth = 32 + ((p * 37 + r * 91) % 224);
      pod.store(keys.slice(0, 2 * depth));
    }
  });
  return { prompts, pubs };
}

async function routerOver(bus: Bus, index: 'embedded' | 'remote'): Promise<RouterService> {
  return createRouterService({
    bus,
    log,
    registry: createRegistry(),
    tokenizers: new Map(),
    config: { defaults: DEFAULT_MODEL_SETTINGS, models: {} },
    options: {
      index,
      podTimeoutMs: 60_000,
      lookupTimeoutMs: 50,
      speculativeTtlMs: 2000,
      memoryBudgetBytes: 512 * 1024 ** 2,
      maxBodyBytes: 16 * 1024 ** 2,
      connectTimeoutMs: 1000,
      upstreamTimeoutMs: 10_000,
    },
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench setup: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests/s that autocannon (a separate process) gets from `url` for `seconds`. */
async function hammer(url: string, body: string, seconds: number): Promise<number> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        bin,
        '-j',
        '-c',
        '16',
        '-d',
        String(seconds),
        '-m',
        'POST',
        '-H',
        'content-type=application/json',
        '-b',
        body,
        url,
      ],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let s = '';
    child.stdout.on('data', (d: Buffer) => (s += d.toString()));
    child.once('error', reject);
    child.once('exit', () => resolve(s));
  });
  const r = JSON.parse(out) as { requests: { average: number }; non2xx: number; errors: number };
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`load run against ${url} had ${r.non2xx} non-2xx and ${r.errors} errors`);
  return r.requests.average;
}

/** `kvroute bench router`: decision latency (embedded and remote index) and pick throughput vs a bare Hono handler. */
export const benchRouter: Bench = async ({ quick }) => {
  const n = quick ? 100 : 3000;
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'router' };

  // Embedded: publishers and router on the in-process bus.
  const bus = createMemoryBus();
  const { prompts, pubs } = workload(bus);
  const embedded = await routerOver(bus, 'embedded');
  pubs.forEach((p) => p.heartbeat());
  await until(
    () => embedded.router.ready() && embedded.router.tracker.live(MODEL).length === PODS,
    'embedded router ready',
  );
  await until(
    () => (embedded.router.replica?.model(MODEL)?.index.stats().residencies ?? 0) > 0,
    'events applied',
  );
  const bodies = prompts.map((t) => JSON.stringify({ model: MODEL, token_ids: t }));
  const reqs = prompts.map((t) => ({ model: MODEL, tokenIds: Uint32Array.from(t) }));
  const core = await asyncLatencies((i) => embedded.router.route(reqs[i % PROMPTS]!), n);
  const http = await asyncLatencies(
    async (i) =>
      embedded.app.request('/v1/route', {
        method: 'POST',
        body: bodies[i % PROMPTS]!,
        headers: { 'content-type': 'application/json' },
      }),
    n,
  );
  rows.push({
    case: 'embedded index: Router.route (keys, lookup, pick)',
    'p50 ms': percentile(core, 50) / 1000,
    'p99 ms': percentile(core, 99) / 1000,
  });
  rows.push({
    case: 'embedded index: POST /v1/route in process (+ JSON)',
    'p50 ms': percentile(http, 50) / 1000,
    'p99 ms': percentile(http, 99) / 1000,
  });
  summary.embedded_p50_ms = +(percentile(core, 50) / 1000).toFixed(4);
  summary.embedded_p99_ms = +(percentile(core, 99) / 1000).toFixed(4);
  summary.embedded_http_p50_ms = +(percentile(http, 50) / 1000).toFixed(4);

  // Remote: a real nats-server, one indexer replica, the router scattering over NATS.
  const nats = await startNatsServer();
  const conns = await Promise.all([0, 1, 2].map(() => connect({ servers: nats.url })));
  try {
    const [pubBus, ixBus, routerBus] = conns.map((c) => natsBus(c)) as [Bus, Bus, Bus];
    const indexer = new Indexer(
      ixBus,
      {
        shards: 'all',
        shardCount: 1,
        memoryBudgetBytes: 512 * 1024 ** 2,
        podTimeoutMs: 60_000,
        snapshotTimeoutMs: 5000,
        instance: 'bench',
        tickMs: 200,
      },
      log,
      createRegistry(),
    );
    indexer.start();
    const remote = await routerOver(routerBus, 'remote');
    await conns[1]!.flush();
    const remotePubs = workload(pubBus).pubs;
    const beat = setInterval(() => remotePubs.forEach((p) => p.heartbeat()), 200);
    try {
      await until(
        () => remote.router.ready() && remote.router.tracker.live(MODEL).length === PODS,
        'remote router ready',
      );
      await until(
        () => (indexer.replica.model(MODEL)?.index.stats().residencies ?? 0) > 0,
        'indexer applied events',
      );
      const lat = await asyncLatencies((i) => remote.router.route(reqs[i % PROMPTS]!), n);
      rows.push({
        case: 'remote index over NATS: Router.route',
        'p50 ms': percentile(lat, 50) / 1000,
        'p99 ms': percentile(lat, 99) / 1000,
      });
      summary.remote_p50_ms = +(percentile(lat, 50) / 1000).toFixed(4);
      summary.remote_p99_ms = +(percentile(lat, 99) / 1000).toFixed(4);
    } finally {
      clearInterval(beat);
      await remote.stop();
      await indexer.stop();
    }
  } finally {
    for (const c of conns) await c.close();
    await nats.dispose();
  }

  // Throughput: /v1/route against a bare Hono JSON POST handler, same body, same client, same run.
  const bare = new Hono();
  bare.post('/v1/route', async (c) => {
    const b = (await c.req.json()) as { model: string };
    return c.json({ pod: '10.9.0.0:8000', model: b.model });
  });
  const seconds = quick ? 1 : 8;
  const bareSrv = await serveHttp(bare, 0, '127.0.0.1');
  const routerSrv = await serveHttp(embedded.app, 0, '127.0.0.1');
  try {
    const body = bodies[5]!;
    const bareRps = await hammer(`${bareSrv.url}/v1/route`, body, seconds);
    const routerRps = await hammer(`${routerSrv.url}/v1/route`, body, seconds);
    rows.push({ case: 'bare Hono JSON POST handler (same 4k-token body)', 'req/s': bareRps });
    rows.push({
      case: 'router POST /v1/route (embedded index)',
      'req/s': routerRps,
      'ratio to bare': routerRps / bareRps,
    });
    summary.pick_rps = Math.round(routerRps);
    summary.bare_rps = Math.round(bareRps);
    summary.pick_to_bare_ratio = +(routerRps / bareRps).toFixed(3);
  } finally {
    await bareSrv.close();
    await routerSrv.close();
    await embedded.stop();
    await bus.close();
  }
  return {
    title: `router decisions: ${PROMPT_TOKENS}-token requests with token ids over ${PODS} pods (${PROMPTS} prompts, prefixes at various depths)`,
    rows,
    notes: [
      'Latency is one request at a time; throughput uses autocannon (16 connections) in a separate process.',
    ],
    summary,
  };
};
