import { createServer } from 'node:http';
import { createBlockKeyer } from '@kvroute/block-keys';
import {
  createLogger,
  createMemoryBus,
  createRegistry,
  FakePublisher,
  serveHttp,
} from '@kvroute/runtime';
import { freePort } from '@kvroute/runtime/testing';
import { createModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import { createRouterService } from './service.js';
import { startEngineStub } from './test-support/engine-stub.js';
import type { EngineStub } from './test-support/engine-stub.js';
import { gatewayTo, TEST_OPTIONS } from './test-support/raw-pod.js';
import type { TestGateway } from './test-support/raw-pod.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function stubs(n: number): Promise<EngineStub[]> {
  const out = await Promise.all(Array.from({ length: n }, (_, i) => startEngineStub(`s${i}`)));
  cleanups.push(async () => void (await Promise.all(out.map((s) => s.close()))));
  return out;
}
async function gateway(...args: Parameters<typeof gatewayTo>): Promise<TestGateway> {
  const g = await gatewayTo(...args);
  cleanups.push(() => g.close());
  return g;
}
const counter = (metrics: string, name: string, labels: string): number =>
  Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(metrics)?.[1] ?? 0);

const system = 'You are a helpful assistant that answers in detail. '.repeat(30);
const chat = (i: number) => ({
  model: 'm',
  messages: [
    { role: 'system', content: system },
    { role: 'user', content: `question ${i}` },
  ],
});

describe('pods that refuse connections', () => {
  for (const mode of ['approximate', 'tokens'] as const) {
    it(`are ejected, and their prefix moves to the pod that served it (${mode} mode)`, async () => {
      const dead = `127.0.0.1:${await freePort()}`;
      const live = await stubs(2);
      const g = await gateway([dead, ...live.map((s) => s.pod)], {
        settings: { policy: { preset: 'llm-d' } },
        options: { ejectionTimeMs: 50 },
        ...(mode === 'tokens'
          ? { tokenizer: createModelTokenizer(tinyTokenizerFiles(), { model: 'm' }) }
          : {}),
      });
      // Until the dead pod is first choice for a new prefix, each request brings a new one.
      let i = 0;
      while (
        counter(await g.metrics(), 'kvroute_router_upstream_total', 'outcome="connect_failed"') ===
        0
      ) {
        expect(i).toBeLessThan(30);
        const res = await g.post('/v1/chat/completions', {
          ...chat(i),
          messages: [{ role: 'system', content: `${i} ${system}` }],
        });
        expect(res.status).toBe(200);
        await res.text();
        i++;
      }
      // Past the ejection the pod may be tried again: only what it is recorded to hold draws it.
      await new Promise((r) => setTimeout(r, 100));
      const last = { role: 'system', content: `${i - 1} ${system}` };
      const served = new Set<string | null>();
      for (let k = 0; k < 10; k++) {
        const res = await g.post('/v1/chat/completions', {
          model: 'm',
          messages: [last, { role: 'user', content: `follow-up ${k}` }],
        });
        expect(res.status).toBe(200);
        served.add(res.headers.get('x-kvroute-pod'));
        await res.text();
      }
      const m = await g.metrics();
      // Tried once, never again: its record was dropped and the prefix stayed with the pod that served it.
      expect(counter(m, 'kvroute_router_upstream_total', 'outcome="connect_failed"')).toBe(1);
      expect(counter(m, 'kvroute_router_pod_ejections_total', `pod="${dead}"`)).toBe(1);
      expect(served.size).toBe(1);
      expect(
        counter(m, 'kvroute_router_decisions_total', `model="m",policy="llm-d",pod="${dead}"`),
      ).toBe(1);
    });
  }

  it('are ejected, and their prefix moves to the pod that served it (tokens mode, embedded index)', async () => {
    const bus = createMemoryBus();
    const dead = `127.0.0.1:${await freePort()}`;
    const live = await stubs(2);
    // The live pods report a queue: on an equal prefix match the dead pod would win.
    const pubs = [dead, ...live.map((s) => s.pod)].map((pod) =>
      new FakePublisher(bus, pod, 'm', pod === dead ? {} : { waiting: 4 }).start(),
    );
    const beat = setInterval(() => pubs.forEach((p) => p.heartbeat()), 100);
    pubs.forEach((p) => p.heartbeat());
    cleanups.push(async () => clearInterval(beat));
    const svc = await createRouterService({
      bus,
      log: createLogger('test', 'silent'),
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map([['m', createModelTokenizer(tinyTokenizerFiles(), { model: 'm' })]]),
      config: {
        defaults: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: 'llm-d' } },
        models: {},
      },
      options: { ...TEST_OPTIONS, ejectionTimeMs: 50 },
    });
    const http = await serveHttp(svc.app, 0, '127.0.0.1');
    cleanups.push(async () => {
      await http.close();
      await svc.stop();
    });
    while (svc.router.tracker.live('m').length < 3) await new Promise((r) => setTimeout(r, 10));
    const post = (body: unknown) =>
      fetch(`${http.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(body) });
    const metrics = async () => (await svc.app.request('/metrics')).text();
    let i = 0;
    while (
      counter(await metrics(), 'kvroute_router_upstream_total', 'outcome="connect_failed"') === 0
    ) {
      expect(i).toBeLessThan(30);
      const res = await post({
        model: 'm',
        messages: [{ role: 'system', content: `${i} ${system}` }],
      });
      expect(res.status).toBe(200);
      await res.text();
      i++;
    }
    await new Promise((r) => setTimeout(r, 100)); // past the ejection
    const last = { role: 'system', content: `${i - 1} ${system}` };
    const served = new Set<string | null>();
    for (let k = 0; k < 10; k++) {
      const res = await post({
        model: 'm',
        messages: [last, { role: 'user', content: `follow-up ${k}` }],
      });
      expect(res.status).toBe(200);
      served.add(res.headers.get('x-kvroute-pod'));
      await res.text();
    }
    expect(
      counter(await metrics(), 'kvroute_router_upstream_total', 'outcome="connect_failed"'),
    ).toBe(1);
    expect(served.size).toBe(1);
    expect([...served][0]).not.toBe(dead);
  });

  it('get one probe once the ejection ends and rejoin when it connects', async () => {
    const port = await freePort();
    const back = `127.0.0.1:${port}`;
    const [live] = await stubs(1);
    const g = await gateway([back, live!.pod], {
      settings: { policy: { preset: 'round-robin' } },
      options: { ejectionTimeMs: 300 },
    });
    for (let i = 0; i < 6; i++) {
      const res = await g.post('/v1/completions', { model: 'm', prompt: `p${i}` });
      expect(res.headers.get('x-kvroute-pod')).toBe(live!.pod);
      await res.text();
    }
    expect(
      counter(await g.metrics(), 'kvroute_router_upstream_total', 'outcome="connect_failed"'),
    ).toBe(1);
    let got = 0;
    const server = createServer((req, res) => {
      got++;
      req.resume();
      req.on('end', () => res.end('{}'));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(
      () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
    );
    await new Promise((r) => setTimeout(r, 350));
    for (let i = 0; i < 4; i++)
      await (await g.post('/v1/completions', { model: 'm', prompt: `q${i}` })).text();
    expect(got).toBe(2);
    expect(g.svc.router.health.admits(back)).toBe(true);
  });

  it('are still tried when every pod of the model is ejected, and the client gets a 502', async () => {
    const g = await gateway([`127.0.0.1:${await freePort()}`]);
    for (let i = 0; i < 2; i++) {
      const res = await g.post('/v1/completions', { model: 'm', prompt: 'x' });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { code: 'upstream_unreachable' } });
    }
    const m = await g.metrics();
    expect(counter(m, 'kvroute_router_upstream_total', 'outcome="connect_failed"')).toBe(2);
    expect(counter(m, 'kvroute_router_all_ejected_total', 'model="m"')).toBe(1);
  });
});
