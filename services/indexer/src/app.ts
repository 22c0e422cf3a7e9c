import type { BlockKeyer } from '@kvroute/block-keys';
import { keyFromHex } from '@kvroute/block-keys';
import type { Registry } from '@kvroute/runtime';
import { replicaStats } from '@kvroute/runtime/replica';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Indexer } from './indexer.js';

export interface AppDeps {
  indexer: Indexer;
  keyer: BlockKeyer;
  registry: Registry;
  maxBodyBytes: number;
}

const MAX_TOKENS = 2_000_000;

function bad(status: 400 | 404 | 413 | 422, message: string): never {
  throw new HTTPException(status, { message });
}

interface LookupBody {
  model: string;
  token_ids?: number[];
  keys?: string[];
  candidates?: string[];
  lora?: string;
  cache_salt?: string;
}

function parseLookup(raw: unknown): LookupBody {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    bad(400, 'body must be a JSON object');
  const b = raw as Record<string, unknown>;
  if (typeof b.model !== 'string' || b.model === '') bad(400, '`model` must be a non-empty string');
  const hasTokens = b.token_ids !== undefined;
  const hasKeys = b.keys !== undefined;
  if (hasTokens === hasKeys) bad(400, 'give exactly one of `token_ids` or `keys`');
  if (hasTokens) {
    const t = b.token_ids;
    if (!Array.isArray(t)) bad(400, '`token_ids` must be an array of integers');
    if (t.length > MAX_TOKENS)
      bad(413, `\`token_ids\` has ${t.length} tokens; the limit is ${MAX_TOKENS}`);
    for (let i = 0; i < t.length; i++) {
      const v = t[i] as unknown;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff)
        bad(400, `token_ids[${i}] is not a u32 token id`);
    }
  }
  if (
    hasKeys &&
    (!Array.isArray(b.keys) ||
      !b.keys.every((k) => typeof k === 'string' && /^[0-9a-fA-F]{16}$/.test(k)))
  ) {
    bad(400, '`keys` must be an array of 16-digit hex block keys');
  }
  if (
    b.candidates !== undefined &&
    (!Array.isArray(b.candidates) || !b.candidates.every((c) => typeof c === 'string' && c !== ''))
  ) {
    bad(400, '`candidates` must be an array of pod names (host:port)');
  }
  for (const f of ['lora', 'cache_salt'] as const) {
    if (b[f] !== undefined && typeof b[f] !== 'string') bad(400, `\`${f}\` must be a string`);
    // Block keys refuse a NUL in an identity (it would alias another one).
    if (typeof b[f] === 'string' && b[f].includes('\0'))
      bad(400, `\`${f}\` must not contain a NUL character`);
  }
  return b as unknown as LookupBody;
}

/** The indexer's HTTP API: lookups, cache analytics, health and metrics. */
export function createApp({ indexer, keyer, registry, maxBodyBytes }: AppDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      return c.json(
        { error: { message: err.message, type: 'invalid_request_error', code: err.status } },
        err.status,
      );
    }
    return c.json({ error: { message: 'internal error', type: 'internal_error', code: 500 } }, 500);
  });

  app.notFound((c) =>
    c.json(
      {
        error: {
          message: `no route ${c.req.method} ${c.req.path}`,
          type: 'invalid_request_error',
          code: 404,
        },
      },
      404,
    ),
  );

  app.get('/healthz', (c) => c.text('ok'));
  app.get('/readyz', (c) => {
    const r = indexer.replica.readiness();
    return c.json(
      {
        ready: r.ready,
        reason: r.reason,
        warmup_left_ms: r.warmupLeftMs,
        unsynced_pods: r.unsyncedPods,
      },
      r.ready ? 200 : 503,
    );
  });
  app.get('/metrics', async (c) =>
    c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );

  app.post(
    '/v1/lookup',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => bad(413, `request body over ${maxBodyBytes} bytes`),
    }),
    async (c) => {
      let raw: unknown;
      try {
        raw = await c.req.json();
      } catch {
        bad(400, 'body is not valid JSON');
      }
      const body = parseLookup(raw);
      const view = indexer.replica.model(body.model);
      if (!view)
        bad(404, `unknown model ${JSON.stringify(body.model)}: no pod of this shard serves it`);
      let keys: Uint32Array;
      if (body.token_ids) {
        if (view.blockSize <= 0)
          bad(
            422,
            `block size of model ${JSON.stringify(body.model)} is not known yet (no heartbeat)`,
          );
        keys = keyer.prefixKeys(
          { model: body.model, lora: body.lora, salt: body.cache_salt },
          body.token_ids,
          view.blockSize,
        );
      } else {
        keys = new Uint32Array(2 * body.keys!.length);
        body.keys!.forEach((h, i) => keys.set(keyFromHex(h), 2 * i));
      }
      const result = indexer.lookup(body.model, keys, body.candidates ?? null);
      indexer.lookups.inc({ via: 'http' });
      return c.json({
        model: body.model,
        total_blocks: keys.length / 2,
        matches: result.matches
          .map((m) => ({ pod: m.pod, gpu_blocks: m.gpu, total_blocks: m.total }))
          .sort((a, b) => b.total_blocks - a.total_blocks || a.pod.localeCompare(b.pod)),
      });
    },
  );

  app.get('/v1/stats', (c) =>
    c.json({
      instance: indexer.instance,
      shards: indexer.shards,
      shard_count: indexer.shardCount,
      ready: indexer.ready(),
      models: replicaStats(indexer.replica),
    }),
  );

  app.get('/v1/pods/:pod', (c) => {
    const pod = c.req.param('pod');
    const e = indexer.replica.podEntries().find((p) => p.pod === pod);
    if (!e) bad(404, `unknown pod ${JSON.stringify(pod)} on this shard`);
    const ps = indexer.replica.model(e.model)?.index.podStats(pod);
    return c.json({
      pod,
      model: e.model,
      epoch: e.sync.epoch,
      last_seq: e.sync.lastSeq,
      syncing: e.sync.syncing,
      last_seen_ms_ago: Date.now() - e.lastSeenMs,
      last_heartbeat_ms_ago: Date.now() - e.lastHeartbeatMs,
      gpu_blocks: ps?.gpuBlocks ?? 0,
      cpu_blocks: ps?.cpuBlocks ?? 0,
    });
  });

  app.get('/v1/prefixes/top', (c) => {
    const model = c.req.query('model');
    const limitRaw = c.req.query('limit') ?? '10';
    const limit = Number(limitRaw);
    if (!model) bad(400, 'query parameter `model` is required');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      bad(400, '`limit` must be an integer in 1..1000');
    const view = indexer.replica.model(model);
    if (!view) bad(404, `unknown model ${JSON.stringify(model)}`);
    return c.json({ model, prefixes: view.index.topPrefixes(limit) });
  });

  return app;
}
