import { gzipSync } from 'node:zlib';
import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createMemoryBus, createRegistry, FakePublisher } from '@kvroute/runtime';
import { createModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import { createRouterService } from './service.js';
import { gatewayTo, rawPod, TEST_OPTIONS } from './test-support/raw-pod.js';

const MODEL = 'm';
const log = createLogger('test', 'silent');
const options = TEST_OPTIONS;

describe('router hardening', () => {
  it('relays a compressed upstream answer as what it is, and asks pods for plain bodies', async () => {
    const p = await rawPod((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end(gzipSync(JSON.stringify({ ok: true })));
    });
    const g = await gatewayTo([p.address]);
    try {
      const res = await fetch(`${g.http.url}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, prompt: 'hi' }),
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBeNull();
      expect(await res.json()).toEqual({ ok: true });
      expect(p.seen[0]!['accept-encoding']).toBe('identity');
    } finally {
      await g.close();
      await p.close();
    }
  });

  it('answers 504 when the pod accepts the request but never starts answering', async () => {
    const p = await rawPod(() => undefined);
    const g = await gatewayTo([p.address], { options: { upstreamTimeoutMs: 300 } });
    try {
      const res = await g.post('/v1/completions', { model: MODEL, prompt: 'hi' });
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({
        error: { type: 'upstream_error', code: 'upstream_timeout' },
      });
      expect(g.svc.router.tracker.live(MODEL)[0]!.inFlight).toBe(0);
    } finally {
      await g.close();
      await p.close();
    }
  });

  it('lets a pick-API request leave the in-flight count after its estimated lifetime', async () => {
    const bus = createMemoryBus();
    const svc = await createRouterService({
      bus,
      log,
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map(),
      config: { defaults: DEFAULT_MODEL_SETTINGS, models: {} },
      options,
    });
    const pub = new FakePublisher(bus, 'a:1', MODEL).start();
    pub.heartbeat();
    await new Promise((r) => setTimeout(r, 20));
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, token_ids: [1, 2, 3], max_tokens: 2 }),
    });
    expect(res.status).toBe(200);
    expect(svc.router.tracker.live(MODEL)[0]!.inFlight).toBe(1);
    const end = Date.now() + 2000;
    while (svc.router.tracker.live(MODEL)[0]!.inFlight !== 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 10));
    expect(svc.router.tracker.live(MODEL)[0]!.inFlight).toBe(0);
    await svc.stop();
  });

  it('bounds a pick-API lifetime when max_tokens is huge, instead of overflowing the timer', async () => {
    const bus = createMemoryBus();
    const svc = await createRouterService({
      bus,
      log,
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map(),
      config: { defaults: { ...DEFAULT_MODEL_SETTINGS, expectedOutputTokens: 100 }, models: {} },
      options,
    });
    new FakePublisher(bus, 'a:1', MODEL).start().heartbeat();
    await new Promise((r) => setTimeout(r, 20));
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, token_ids: [1, 2, 3], max_tokens: 1e12 }),
    });
    expect(res.status).toBe(200);
    // Expected output min(max_tokens, 100) → about 0.85 s in flight; an overflowing
    // setTimeout (past 2^31 - 1 ms) fires after 1 ms instead.
    await new Promise((r) => setTimeout(r, 100));
    const pod = svc.router.tracker.live(MODEL)[0]!;
    expect(pod.inFlight).toBe(1);
    expect(pod.inFlightTokens).toBe(3 + 100);
    await svc.stop();
  });

  it('routes a chat with image parts in approximate mode instead of refusing it', async () => {
    const bus = createMemoryBus();
    const svc = await createRouterService({
      bus,
      log,
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map([[MODEL, createModelTokenizer(tinyTokenizerFiles(), { model: MODEL })]]),
      config: { defaults: DEFAULT_MODEL_SETTINGS, models: {} },
      options,
    });
    const pub = new FakePublisher(bus, 'a:1', MODEL).start();
    pub.heartbeat();
    await new Promise((r) => setTimeout(r, 20));
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture?' },
          { type: 'image_url', image_url: { url: 'http://x/y.png' } },
        ],
      },
    ];
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, messages }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { mode: string }).mode).toBe('approximate');
    const bad = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 5 }] }),
    });
    expect(bad.status).toBe(400);
    await svc.stop();
  });
});

describe('deeply nested chats without a tokenizer', () => {
  it('are refused with 400, not a 500', async () => {
    const svc = await createRouterService({
      bus: null,
      log,
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map(),
      config: {
        defaults: DEFAULT_MODEL_SETTINGS,
        models: { [MODEL]: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] } },
      },
      options,
    });
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: `{"model":"${MODEL}","messages":[{"role":"user","content":{"x":${deep}}}]}`,
    });
    expect(res.status).toBe(400);
    expect(await (await svc.app.request('/metrics')).text()).not.toMatch(/status="500"/);
    await svc.stop();
  });
});
