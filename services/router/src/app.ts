import type { Registry } from '@kvroute/runtime';
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bodyLimit } from 'hono/body-limit';
import { errorBody, RouteError } from './errors.js';
import type { Gateway } from './gateway.js';
import { parseRouteRequest } from './request-body.js';
import { replicaStats } from '@kvroute/runtime/replica';
import type { Router } from './router.js';

export interface AppDeps {
  router: Router;
  gateway: Gateway;
  registry: Registry;
  maxBodyBytes: number;
}

/** The Gateway API Inference Extension's header naming the chosen endpoint. */
export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';

async function readJson(c: Context): Promise<{ raw: unknown; bytes: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await c.req.arrayBuffer());
  } catch (e) {
    if (e instanceof RouteError) throw e; // the body limit's 413
    // The client went away mid-upload (nginx's 499), or sent a body that does not frame.
    if (c.req.raw.signal.aborted)
      throw new RouteError(
        499,
        'client closed the request',
        'invalid_request_error',
        'client_closed',
      );
    throw new RouteError(400, `the request body could not be read: ${(e as Error).message}`);
  }
  try {
    return { raw: JSON.parse(new TextDecoder().decode(bytes)) as unknown, bytes };
  } catch {
    throw new RouteError(400, 'body is not valid JSON');
  }
}

/** The router's HTTP surface: pick API, OpenAI-compatible gateway, analytics, health, metrics. */
export function createApp({ router, gateway, registry, maxBodyBytes }: AppDeps): Hono {
  const app = new Hono();
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new RouteError(
        413,
        `request body over ${maxBodyBytes} bytes`,
        'invalid_request_error',
        'body_too_large',
      );
    },
  });

  app.onError((err, c) => {
    if (err instanceof RouteError) {
      router.metrics.errors.inc({ status: String(err.status) });
      // 499 (client closed the request) is nginx's convention; Hono's types list only IANA codes.
      return c.json(
        errorBody(err.message, err.type, err.code ?? err.status),
        err.status as ContentfulStatusCode,
      );
    }
    router.metrics.errors.inc({ status: '500' });
    return c.json(errorBody('internal error', 'internal_error', 500), 500);
  });
  app.notFound((c) =>
    c.json(
      errorBody(`no route for ${c.req.method} ${c.req.path}`, 'invalid_request_error', 404),
      404,
    ),
  );

  app.get('/healthz', (c) => c.text('ok'));
  app.get('/readyz', (c) => (router.ready() ? c.text('ready') : c.text('not ready', 503)));
  app.get('/metrics', async (c) =>
    c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );

  app.post('/v1/route', limit, async (c) => {
    const { raw } = await readJson(c);
    const explain = c.req.query('explain') === '1' || c.req.query('explain') === 'true';
    const r = await router.route(parseRouteRequest(raw, 'route'), explain, 'estimated');
    c.header(DESTINATION_HEADER, r.decision.pod);
    return c.json({
      pod: r.decision.pod,
      fallbacks: r.decision.fallbacks,
      matched_blocks: r.matchedBlocks,
      total_blocks: r.totalBlocks,
      policy: r.decision.policy,
      mode: r.mode,
      request_id: r.requestId,
      prompt_tokens: r.promptTokens,
      ...(r.mode === 'approximate' ? { approximate_blocks: r.approximateBlocks } : {}),
      ...(r.partial ? { partial: true } : {}),
      ...(explain && r.scores ? { scores: r.scores } : {}),
    });
  });

  // Pick-API callers may report completion so the pod's in-flight count drops at once.
  app.post('/v1/route/done', limit, async (c) => {
    const { raw } = await readJson(c);
    const id = (raw as { request_id?: unknown } | null)?.request_id;
    if (typeof id !== 'string' || id === '')
      throw new RouteError(400, '`request_id` must be the id /v1/route returned');
    const stage = (raw as { stage?: unknown }).stage ?? 'finished';
    if (stage === 'first_token') router.firstToken(id);
    else if (stage === 'finished') router.finished(id);
    else throw new RouteError(400, '`stage` must be "first_token" or "finished"');
    return c.json({ ok: true });
  });

  for (const [path, kind] of [
    ['/v1/completions', 'completions'],
    ['/v1/chat/completions', 'chat'],
  ] as const) {
    app.post(path, limit, async (c) => {
      const { raw, bytes } = await readJson(c);
      const r = await router.route(parseRouteRequest(raw, kind));
      return gateway.forward(path, c.req.raw, bytes, r);
    });
  }

  app.get('/v1/models', (c) => {
    const { live } = router.models();
    return c.json({
      object: 'list',
      data: live.map((id) => ({ id, object: 'model', created: 0, owned_by: 'kvroute' })),
    });
  });

  app.get('/v1/pods', (c) => {
    const models = router.models();
    return c.json({
      models: [...new Set([...models.live, ...models.configured])].sort().map((model) => ({
        model,
        pods: router.tracker.live(model),
      })),
    });
  });

  app.get('/v1/stats', (c) => {
    const r = router.replica;
    if (!r)
      throw new RouteError(
        404,
        'cache analytics are served by the indexer in remote mode (GET /v1/stats on an indexer)',
      );
    return c.json({ models: replicaStats(r, 5) });
  });

  return app;
}
