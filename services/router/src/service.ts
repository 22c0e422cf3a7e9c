import type { BlockKeyer } from '@kvroute/block-keys';
import { createBlockKeyer } from '@kvroute/block-keys';
import type { Bus, Logger, Registry } from '@kvroute/runtime';
import type { ModelTokenizer } from '@kvroute/tokenize';
import { loadModelTokenizer } from '@kvroute/tokenize';
import type { Hono } from 'hono';
import { createApp } from './app.js';
import type { RouterFileConfig } from './config.js';
import { Gateway } from './gateway.js';
import type { RouterOptions } from './router.js';
import { Router } from './router.js';

export interface RouterServiceOptions extends RouterOptions {
  maxBodyBytes: number;
  connectTimeoutMs: number;
  upstreamTimeoutMs: number;
  /** Gateway: longest silence between two chunks of a pod's response. Default 300 000. */
  bodyIdleTimeoutMs?: number;
}

export interface RouterService {
  router: Router;
  gateway: Gateway;
  app: Hono;
  stop(): Promise<void>;
}

/** Loads each configured model's tokenizer (local files only). */
export async function loadTokenizers(
  config: RouterFileConfig,
  log: Logger,
): Promise<Map<string, ModelTokenizer>> {
  const out = new Map<string, ModelTokenizer>();
  for (const [model, s] of Object.entries(config.models)) {
    if (!s.tokenizer) continue;
    out.set(model, await loadModelTokenizer(s.tokenizer, { model }));
    log.info({ model, dir: s.tokenizer }, 'loaded tokenizer');
  }
  return out;
}

/**
 * Builds and starts the router over any Bus (NATS in a deployment, the
 * in-process bus in the one-process demo, none for static pods only).
 */
export async function createRouterService(deps: {
  bus: Bus | null;
  options: RouterServiceOptions;
  config: RouterFileConfig;
  log: Logger;
  registry: Registry;
  keyer?: BlockKeyer;
  tokenizers?: Map<string, ModelTokenizer>;
}): Promise<RouterService> {
  const tokenizers = deps.tokenizers ?? (await loadTokenizers(deps.config, deps.log));
  const router = new Router({
    bus: deps.bus,
    options: deps.options,
    config: deps.config,
    tokenizers,
    keyer: deps.keyer ?? createBlockKeyer(),
    log: deps.log,
    registry: deps.registry,
  });
  router.start();
  const gateway = new Gateway(router, {
    connectTimeoutMs: deps.options.connectTimeoutMs,
    upstreamTimeoutMs: deps.options.upstreamTimeoutMs,
    ...(deps.options.bodyIdleTimeoutMs !== undefined
      ? { bodyIdleTimeoutMs: deps.options.bodyIdleTimeoutMs }
      : {}),
  });
  const app = createApp({
    router,
    gateway,
    registry: deps.registry,
    maxBodyBytes: deps.options.maxBodyBytes,
  });
  return {
    router,
    gateway,
    app,
    stop: async () => {
      await router.stop();
      await gateway.close();
    },
  };
}
