import type { Registry } from '@kvroute/runtime';
import { Hono } from 'hono';
import type { PublisherStatus } from './publisher.js';

export interface AppDeps {
  registry: Registry;
  /** ZMQ subscribed and the bus connected. */
  ready: () => boolean;
  status: () => PublisherStatus;
}

/**
 * The sidecar's own HTTP surface: liveness, readiness (with the status as
 * JSON, so an operator sees why it is not ready) and Prometheus metrics.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.text('ok'));
  app.get('/readyz', (c) =>
    c.json({ ready: deps.ready(), ...deps.status() }, deps.ready() ? 200 : 503),
  );
  app.get('/metrics', async (c) => {
    const body = await deps.registry.metrics();
    return c.body(body, 200, { 'content-type': deps.registry.contentType });
  });
  app.onError((err, c) => c.json({ error: err.message }, 500));
  return app;
}
