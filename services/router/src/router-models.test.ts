import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlockKeyer } from '@kvroute/block-keys';
import type { Bus } from '@kvroute/runtime';
import { createLogger, createMemoryBus, createRegistry, FakePublisher } from '@kvroute/runtime';
import type { ModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS, parseRouterConfig } from './config.js';
import type { RouterFileConfig } from './config.js';
import { createRouterService, loadTokenizers } from './service.js';
import type { RouterService, RouterServiceOptions } from './service.js';
import { TEST_OPTIONS } from './test-support/raw-pod.js';

const services: RouterService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

async function start(
  config: RouterFileConfig,
  o: {
    bus?: Bus;
    options?: Partial<RouterServiceOptions>;
    tokenizers?: Map<string, ModelTokenizer>;
  } = {},
): Promise<RouterService> {
  const svc = await createRouterService({
    bus: o.bus ?? null,
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    keyer: createBlockKeyer(),
    tokenizers: o.tokenizers ?? new Map(),
    config,
    options: { ...TEST_OPTIONS, ...o.options },
  });
  services.push(svc);
  return svc;
}

async function route(svc: RouterService, body: unknown) {
  const res = await svc.app.request('/v1/route', { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('models and their pods', () => {
  it('refuses a config that lists one static pod under two models', async () => {
    await expect(
      start({
        defaults: DEFAULT_MODEL_SETTINGS,
        models: {
          a: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] },
          b: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] },
        },
      }),
    ).rejects.toThrow(/pod 10\.0\.0\.1:1 is listed under models\.a and models\.b/);
  });
});

describe('model names', () => {
  it('treats Object.prototype names as the unknown models they are (404), also in the config', async () => {
    const svc = await start({
      defaults: DEFAULT_MODEL_SETTINGS,
      models: { m: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] } },
    });
    for (const model of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const r = await route(svc, { model, token_ids: [1, 2, 3] });
      expect(r.status).toBe(404);
      expect((r.body.error as { code: string }).code).toBe('model_not_found');
    }
    expect((await route(svc, { model: 'm', token_ids: [1, 2, 3] })).status).toBe(200);
  });
});

describe('a model whose pods all went quiet', () => {
  for (const index of ['embedded', 'remote'] as const) {
    it(`answers 503, not 404, once known from heartbeats (${index} index)`, async () => {
      const bus = createMemoryBus();
      const svc = await start(
        { defaults: DEFAULT_MODEL_SETTINGS, models: {} },
        { bus, options: { index, podTimeoutMs: 200 } },
      );
      new FakePublisher(bus, 'a:1', 'llama').start().heartbeat();
      await new Promise((r) => setTimeout(r, 20));
      expect((await route(svc, { model: 'llama', token_ids: [1, 2, 3] })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      const r = await route(svc, { model: 'llama', token_ids: [1, 2, 3] });
      expect(r.status).toBe(503);
      expect((r.body.error as { code: string }).code).toBe('no_live_pods');
      expect((await route(svc, { model: 'other', token_ids: [1] })).status).toBe(404);
    });
  }
});

describe('the defaults tokenizer', () => {
  it('tokenizes models without one of their own, those known only from heartbeats too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kvroute-tok-'));
    const files = tinyTokenizerFiles();
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizer));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(files.config));
    try {
      const config = parseRouterConfig(
        `defaults: { tokenizer: ${JSON.stringify(dir)} }\nmodels: { a: {}, b: {} }`,
      );
      const loaded = await loadTokenizers(config, createLogger('test', 'silent'));
      expect(loaded.byModel.get('a')).toBeDefined();
      expect(loaded.byModel.get('a')).toBe(loaded.byModel.get('b')); // one directory, loaded once
      expect(loaded.fallback).toBe(loaded.byModel.get('a'));

      const bus = createMemoryBus();
      const svc = await createRouterService({
        bus,
        log: createLogger('test', 'silent'),
        registry: createRegistry(),
        config,
        options: TEST_OPTIONS,
      });
      services.push(svc);
      new FakePublisher(bus, 'x:1', 'llama').start().heartbeat();
      await new Promise((r) => setTimeout(r, 20));
      const r = await route(svc, { model: 'llama', prompt: 'hello world' });
      expect(r.status).toBe(200);
      expect(r.body.mode).toBe('tokens');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
