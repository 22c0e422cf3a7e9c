import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createRegistry, serveHttp } from '@kvroute/runtime';
import type { HttpServer } from '@kvroute/runtime';
import type { ModelTokenizer } from '@kvroute/tokenize';
import { DEFAULT_MODEL_SETTINGS } from '../config.js';
import type { ModelSettings } from '../config.js';
import { createRouterService } from '../service.js';
import type { RouterService, RouterServiceOptions } from '../service.js';

export interface RawPod {
  readonly address: string;
  /** Request headers, in arrival order. */
  readonly seen: IncomingMessage['headers'][];
  /** Request bodies (as text), in arrival order. */
  readonly bodies: string[];
  close(): Promise<void>;
}

/** A real HTTP pod that answers however `handle` says, once the request body has arrived. */
export async function rawPod(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<RawPod> {
  const seen: IncomingMessage['headers'][] = [];
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(body);
      handle(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    bodies,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

export const TEST_OPTIONS: RouterServiceOptions = {
  index: 'embedded',
  podTimeoutMs: 3000,
  lookupTimeoutMs: 100,
  speculativeTtlMs: 5000,
  memoryBudgetBytes: 1 << 26,
  maxBodyBytes: 1 << 20,
  connectTimeoutMs: 500,
  upstreamTimeoutMs: 2000,
};

export interface TestGateway {
  svc: RouterService;
  http: HttpServer;
  /** POSTs a JSON body to the gateway. */
  post(path: string, body: unknown): Promise<Response>;
  /** The metrics text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

/** A router over static pods of one model, served over real HTTP on 127.0.0.1. */
export async function gatewayTo(
  pods: string[],
  o: {
    model?: string;
    settings?: Partial<ModelSettings>;
    options?: Partial<RouterServiceOptions>;
    tokenizer?: ModelTokenizer;
  } = {},
): Promise<TestGateway> {
  const model = o.model ?? 'm';
  const svc = await createRouterService({
    bus: null,
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    keyer: createBlockKeyer(),
    tokenizers: new Map(o.tokenizer ? [[model, o.tokenizer]] : []),
    config: {
      defaults: DEFAULT_MODEL_SETTINGS,
      models: { [model]: { ...DEFAULT_MODEL_SETTINGS, ...o.settings, pods } },
    },
    options: { ...TEST_OPTIONS, ...o.options },
  });
  const http = await serveHttp(svc.app, 0, '127.0.0.1');
  return {
    svc,
    http,
    post: (path, body) =>
      fetch(`${http.url}${path}`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    metrics: async () => (await svc.app.request('/metrics')).text(),
    close: async () => {
      await http.close();
      await svc.stop();
    },
  };
}
