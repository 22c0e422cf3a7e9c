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

export interface LoadedTokenizers {
  /** Configured models with a tokenizer (their own, or inherited from `defaults`). */
  byModel: Map<string, ModelTokenizer>;
  /** `defaults.tokenizer`: for models without one of their own, those known only from heartbeats too. */
  fallback?: ModelTokenizer;
}

/** Loads the configured tokenizers (local files only), each directory once. */
export async function loadTokenizers(
  config: RouterFileConfig,
  log: Logger,
): Promise<LoadedTokenizers> {
  const byDir = new Map<string, ModelTokenizer>();
  const load = async (dir: string, model: string): Promise<ModelTokenizer> => {
    let tok = byDir.get(dir);
    if (!tok) {
      tok = await loadModelTokenizer(dir, { model });
      byDir.set(dir, tok);
      log.info({ model, dir }, 'loaded tokenizer');
    }
    return tok;
  };
  const out: LoadedTokenizers = { byModel: new Map() };
  if (config.defaults.tokenizer) out.fallback = await load(config.defaults.tokenizer, '*');
  for (const [model, s] of Object.entries(config.models))
    if (s.tokenizer) out.byModel.set(model, await load(s.tokenizer, model));
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
  /** Tokenizers by model, instead of loading the config's (`defaults.tokenizer` is then unused). */
  tokenizers?: Map<string, ModelTokenizer>;
}): Promise<RouterService> {
  const loaded: LoadedTokenizers = deps.tokenizers
    ? { byModel: deps.tokenizers }
    : await loadTokenizers(deps.config, deps.log);
  const router = new Router({
    bus: deps.bus,
    options: deps.options,
    config: deps.config,
    tokenizers: loaded.byModel,
    ...(loaded.fallback ? { defaultTokenizer: loaded.fallback } : {}),
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
