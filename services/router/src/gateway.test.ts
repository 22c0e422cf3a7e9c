import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createRegistry, serveHttp } from '@kvroute/runtime';
import type { HttpServer } from '@kvroute/runtime';
import { freePort } from '@kvroute/runtime/testing';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import type { RouterFileConfig } from './config.js';
import { createRouterService } from './service.js';
import type { RouterService } from './service.js';
import { startEngineStub } from './test-support/engine-stub.js';
import { gatewayTo, rawPod } from './test-support/raw-pod.js';
import type { EngineStub } from './test-support/engine-stub.js';

const MODEL = 'llama';

async function gatewayOver(
  pods: string[],
  policy = 'default',
): Promise<{ svc: RouterService; http: HttpServer }> {
  const config: RouterFileConfig = {
    defaults: DEFAULT_MODEL_SETTINGS,
    models: {
      [MODEL]: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: policy as 'default' }, pods },
    },
  };
  const svc = await createRouterService({
    bus: null,
    config,
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    keyer: createBlockKeyer(),
    tokenizers: new Map(),
    options: {
      index: 'embedded',
      podTimeoutMs: 3000,
      lookupTimeoutMs: 100,
      speculativeTtlMs: 5000,
      memoryBudgetBytes: 1 << 26,
      maxBodyBytes: 64 * 1024,
      connectTimeoutMs: 500,
      upstreamTimeoutMs: 5000,
    },
  });
  return { svc, http: await serveHttp(svc.app, 0, '127.0.0.1') };
}

describe('OpenAI-compatible gateway (static pods, real HTTP on both sides)', () => {
  let a: EngineStub;
  let b: EngineStub;
  let svc: RouterService;
  let http: HttpServer;
  let client: OpenAI;

  beforeAll(async () => {
    a = await startEngineStub('a');
    b = await startEngineStub('b');
    ({ svc, http } = await gatewayOver([a.pod, b.pod]));
    client = new OpenAI({ baseURL: `${http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await http.close();
    await svc.stop();
    await a.close();
    await b.close();
  });

  it('proxies a chat completion unchanged through the official openai client, naming the pod', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 5 })
      .withResponse();
    const pod = response.headers.get('x-kvroute-pod');
    expect([a.pod, b.pod]).toContain(pod);
    const stub = pod === a.pod ? a : b;
    expect(data.choices[0]!.message.content).toBe(`hello from ${stub === a ? 'a' : 'b'}`);
    const got = stub.received.at(-1)!;
    expect(got.path).toBe('/v1/chat/completions');
    expect(got.body).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 5,
    });
  });

  it('streams chat chunks as they come, without buffering', async () => {
    // The pod sends one chunk, then holds the rest until the client has seen that one.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // A buffering proxy would hold the first chunk until the pod ends: end it after a while
    // anyway, so the test fails on the assertion below instead of hanging.
    const safety = setTimeout(() => release(), 5000);
    let finished = false;
    const chunk = (text: string) =>
      `data: ${JSON.stringify({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: MODEL,
        choices: [{ index: 0, delta: { content: text }, finish_reason: null }],
      })}\n\n`;
    const pod = await rawPod((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('first '));
      void held.then(() => {
        finished = true;
        res.end(`${chunk('second')}data: [DONE]\n\n`);
      });
    });
    const g = await gatewayTo([pod.address], { model: MODEL });
    try {
      const c = new OpenAI({ baseURL: `${g.http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const stream = await c.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'stream please' }],
        stream: true,
      });
      const parts: string[] = [];
      for await (const part of stream) {
        parts.push(part.choices[0]?.delta?.content ?? '');
        // a buffering proxy would deliver nothing before the pod finished
        if (parts.length === 1) {
          expect(finished).toBe(false);
          release();
        }
      }
      expect(parts).toEqual(['first ', 'second']);
    } finally {
      clearTimeout(safety);
      release();
      await g.close();
      await pod.close();
    }
  });

  it('proxies completions, streaming and not, and lists models with live pods', async () => {
    const c = await client.completions.create({ model: MODEL, prompt: 'Say hi', max_tokens: 3 });
    expect(c.choices[0]!.text).toMatch(/^hello from (a|b)$/);
    const s = await client.completions.create({ model: MODEL, prompt: 'Say hi', stream: true });
    let n = 0;
    for await (const chunk of s) if (chunk.choices[0]?.text) n++;
    expect(n).toBe(5);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
  });

  it('answers OpenAI-style errors: oversize body 413, unknown model 404, bad body 400', async () => {
    const post = (body: string) =>
      fetch(`${http.url}/v1/chat/completions`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
    const big = await post(
      JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(70_000) }] }),
    );
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({
      error: { type: 'invalid_request_error', code: 'body_too_large' },
    });
    await expect(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404 });
    const bad = await post(JSON.stringify({ model: MODEL, messages: 'hi' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(
      /messages/,
    );
  });

  it('cancels the upstream request when the client goes away mid-stream', async () => {
    const slow = await startEngineStub('slow', 100, 50);
    const g = await gatewayOver([slow.pod]);
    try {
      const ctl = new AbortController();
      const res = await fetch(`${g.http.url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: 'long' }],
          stream: true,
        }),
        headers: { 'content-type': 'application/json' },
        signal: ctl.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      ctl.abort();
      const end = Date.now() + 3000;
      while (slow.aborted === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(slow.aborted).toBe(1);
      // the request left the pod's in-flight count
      const end2 = Date.now() + 2000;
      while (g.svc.router.tracker.live(MODEL)[0]!.inFlight !== 0 && Date.now() < end2)
        await new Promise((r) => setTimeout(r, 20));
      expect(g.svc.router.tracker.live(MODEL)[0]!.inFlight).toBe(0);
    } finally {
      await g.http.close();
      await g.svc.stop();
      await slow.close();
    }
  });
});

describe('gateway retries', () => {
  it('retries on the next pod when the chosen one refuses the connection, and reports 502 when none answer', async () => {
    const live = await startEngineStub('live');
    const dead = `127.0.0.1:${await freePort()}`;
    const g = await gatewayOver([dead, live.pod], 'round-robin');
    try {
      const seen = new Set<string | null>();
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${g.http.url}/v1/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: MODEL, prompt: `p${i}` }),
        });
        expect(res.status).toBe(200);
        seen.add(res.headers.get('x-kvroute-pod'));
      }
      expect([...seen]).toEqual([live.pod]);
      expect(live.received).toHaveLength(4);
      expect(await (await g.http.close().then(() => g.svc.app.request('/metrics'))).text()).toMatch(
        // tried once, then ejected: later picks leave it out
        /kvroute_router_upstream_total\{outcome="connect_failed"\} 1/,
      );
    } finally {
      await g.svc.stop();
      await live.close();
    }
    const none = await gatewayOver([`127.0.0.1:${await freePort()}`]);
    try {
      const res = await fetch(`${none.http.url}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, prompt: 'x' }),
      });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({
        error: { type: 'upstream_error', code: 'upstream_unreachable' },
      });
    } finally {
      await none.http.close();
      await none.svc.stop();
    }
  });
});
