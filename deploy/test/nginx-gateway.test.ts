import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPackages } from './helpers/debian.js';
import { freePort, waitForPort } from '@kvroute/runtime';
import { deployDir } from './helpers/paths.js';

// The nginx example of deploy/gateway/nginx, run for real: Debian's nginx with
// its njs module, a stand-in router speaking the router's /v1/route contract,
// and stand-in model-server pods, all real HTTP servers on loopback.

const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as { port: number }).port)),
  );
}

/** A model-server pod: answers with its name; streams two SSE events, the second on release. */
class Pod {
  readonly seen: Seen[] = [];
  readonly server: Server;
  port = 0;
  private releases: (() => void)[] = [];
  constructor(
    readonly name: string,
    readonly host = '127.0.0.1',
  ) {
    this.server = createServer((req, res) => {
      void readBody(req).then(async (body) => {
        this.seen.push({ url: req.url ?? '', headers: req.headers, body });
        const stream =
          body.length > 0 && (JSON.parse(body.toString()) as { stream?: boolean }).stream;
        if (!stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ pod: this.name, bytes: body.length, sha: sha(body) }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: {"pod":"${this.name}","n":1}\n\n`);
        await new Promise<void>((r) => this.releases.push(r));
        res.end('data: [DONE]\n\n');
      });
    });
  }
  get endpoint() {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }
  release() {
    for (const r of this.releases.splice(0)) r();
  }
}

const podA = new Pod('A');
const podB = new Pod('B');
const podV6 = new Pod('v6', '::1');
const fallback = new Pod('fallback');
const routed: Buffer[] = [];

/** The router's contract: POST /v1/route → JSON + x-gateway-destination-endpoint. */
const router = createServer((req, res) => {
  void readBody(req).then((body) => {
    routed.push(body);
    if (req.method !== 'POST' || req.url !== '/v1/route') {
      res.writeHead(404).end();
      return;
    }
    const { prompt = '', messages = [] } = JSON.parse(body.toString()) as {
      prompt?: string;
      messages?: { content: string }[];
    };
    const text = prompt || messages.map((m) => m.content).join('\n');
    if (text.startsWith('router-fails')) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"no pods"}');
      return;
    }
    // `endpoint=<value>`: the router answers exactly that.
    const pod = text.startsWith('endpoint=')
      ? text.slice('endpoint='.length)
      : text.startsWith('bad-endpoint')
        ? '127.0.0.1:1/admin'
        : text.startsWith('to-B')
          ? podB.endpoint
          : podA.endpoint;
    const other = pod === podA.endpoint ? podB.endpoint : podA.endpoint;
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-gateway-destination-endpoint': pod,
    });
    res.end(
      JSON.stringify({
        pod,
        fallbacks: [other],
        matched_blocks: 3,
        total_blocks: 4,
        policy: 'test',
      }),
    );
  });
});

let nginx: ChildProcess | undefined;
let prefix = '';
let base = '';

function replaceOnce(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`expected exactly one "${from}" in kvroute-gateway.conf`);
  return parts.join(to);
}

beforeAll(async () => {
  ensureDebianPackages(
    ['nginx', 'libnginx-mod-http-js'],
    ['sh', '-c', `command -v nginx >/dev/null && test -f ${JS_MODULE}`],
  );
  for (const p of [podA, podB, podV6, fallback]) p.port = await listen(p.server, p.host);
  const routerPort = await listen(router);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;

  // Workers run as an unprivileged user when the tests run as root.
  prefix = mkdtempSync(join(tmpdir(), 'kvroute-nginx-'));
  chmodSync(prefix, 0o755);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(join(prefix, d));
    chmodSync(join(prefix, d), 0o777);
  }
  const src = join(deployDir, 'gateway/nginx');
  copyFileSync(join(src, 'kvroute.js'), join(prefix, 'kvroute.js'));
  copyFileSync(join(src, 'kvroute-proxy.conf'), join(prefix, 'kvroute-proxy.conf'));
  let site = readFileSync(join(src, 'kvroute-gateway.conf'), 'utf8');
  site = replaceOnce(
    site,
    'server kvroute-router.kvroute.svc.cluster.local:8080;',
    `server 127.0.0.1:${routerPort};`,
  );
  site = replaceOnce(
    site,
    'server vllm.models.svc.cluster.local:8000;',
    `server ${fallback.endpoint};`,
  );
  site = replaceOnce(site, 'listen 8080;', `listen 127.0.0.1:${port};`);
  writeFileSync(join(prefix, 'kvroute-gateway.conf'), site);
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `load_module ${JS_MODULE};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  js_path ${prefix}/;
  include ${prefix}/kvroute-gateway.conf;
}
`,
  );
  nginx = spawn(
    'nginx',
    [
      '-p',
      prefix,
      '-c',
      join(prefix, 'nginx.conf'),
      '-e',
      join(prefix, 'error.log'),
      '-g',
      'daemon off;',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) =>
    nginx!.once('exit', (code) =>
      reject(new Error(`nginx exited (${code}): ${stderr}${readLog()}`)),
    ),
  );
  await Promise.race([waitForPort(port), exited]);
}, 300_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const done = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGTERM');
    await done;
  }
  for (const s of [podA.server, podB.server, podV6.server, fallback.server, router]) s.close();
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

function readLog(): string {
  try {
    return readFileSync(join(prefix, 'error.log'), 'utf8');
  } catch {
    return '';
  }
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('nginx gateway with njs', () => {
  it('asks the router with the client body and forwards to the pod it named, body intact', async () => {
    for (const [prompt, pod] of [
      ['to-A: the system prompt', podA],
      ['to-B: another prefix', podB],
    ] as const) {
      const body = JSON.stringify({ model: 'm', prompt, max_tokens: 8 });
      const before = pod.seen.length;
      const res = await post('/v1/completions', body, { authorization: 'Bearer secret' });
      expect(res.status, readLog()).toBe(200);
      expect(await res.json()).toEqual({
        pod: pod.name,
        bytes: Buffer.byteLength(body),
        sha: sha(body),
      });
      expect(res.headers.get('x-kvroute-endpoint')).toBe(pod.endpoint);
      const seen = pod.seen[before]!;
      expect(seen.url).toBe('/v1/completions');
      expect(seen.body.toString()).toBe(body);
      expect(seen.headers.authorization).toBe('Bearer secret');
      expect(routed.at(-1)!.toString()).toBe(body);
    }
  });

  it('routes a 1 MiB prompt and keeps every byte', async () => {
    const body = JSON.stringify({ model: 'm', prompt: `to-B ${'x'.repeat(1 << 20)}` });
    const res = await post('/v1/completions', body);
    expect(await res.json()).toEqual({ pod: 'B', bytes: Buffer.byteLength(body), sha: sha(body) });
    expect(sha(routed.at(-1)!)).toBe(sha(body));
  });

  it('streams: the client reads the first event before the pod has written the rest', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'to-A: stream please' }],
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended early: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
    // The pod holds the rest back until now: a proxy that waited for the
    // whole response would never deliver the first event (test times out).
    expect(text).toBe('data: {"pod":"A","n":1}\n\n');
    podA.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('data: {"pod":"A","n":1}\n\ndata: [DONE]\n\n');
  });

  it('falls back to the pool when the router fails or names no usable endpoint', async () => {
    for (const prompt of ['router-fails', 'bad-endpoint']) {
      const before = fallback.seen.length;
      const res = await post('/v1/completions', { model: 'm', prompt });
      expect((await res.json()) as { pod: string }).toMatchObject({ pod: 'fallback' });
      expect(fallback.seen.length).toBe(before + 1);
    }
  });

  it('goes to the fallback pool when the router names a host instead of an address', async () => {
    // localhost resolves to pod A, but proxy_pass with a variable has no
    // resolver: accepted, the name would fail the request with a 502.
    const p = podA.port;
    for (const endpoint of [
      `localhost:${p}`,
      `vllm-0.vllm.models.svc.cluster.local:${p}`,
      `999.0.0.1:${p}`,
      `127.0.0.1:${p + 100_000}`,
      '127.0.0.1:0',
      `127.1:${p}`,
      `[::1%lo]:${p}`,
      `[1::2::3]:${p}`,
      `[::1]`,
      `http://127.0.0.1:${p}`,
      `127.0.0.1:${p}/admin`,
    ]) {
      const before = fallback.seen.length;
      const beforeA = podA.seen.length;
      const res = await post('/v1/completions', { model: 'm', prompt: `endpoint=${endpoint}` });
      expect(res.status, `${endpoint}\n${readLog()}`).toBe(200);
      expect((await res.json()) as { pod: string }, endpoint).toMatchObject({ pod: 'fallback' });
      expect(fallback.seen.length, endpoint).toBe(before + 1);
      expect(podA.seen.length, endpoint).toBe(beforeA);
    }
  });

  it('proxies to an IPv6 address in brackets, in short or full form', async () => {
    for (const endpoint of [podV6.endpoint, `[0:0:0:0:0:0:0:1]:${podV6.port}`]) {
      const res = await post('/v1/completions', { model: 'm', prompt: `endpoint=${endpoint}` });
      expect((await res.json()) as { pod: string }, `${endpoint}\n${readLog()}`).toMatchObject({
        pod: 'v6',
      });
      expect(res.headers.get('x-kvroute-endpoint')).toBe(endpoint);
    }
  });

  it('accepts exactly the IPv4 and bracketed IPv6 literals with a port (the njs check, run in Node)', async () => {
    const url = pathToFileURL(join(deployDir, 'gateway/nginx/kvroute.js')).href;
    const { isEndpoint } = (
      (await import(url)) as { default: { isEndpoint(value: string): boolean } }
    ).default;
    for (const ok of [
      '10.1.2.3:8000',
      '255.255.255.255:65535',
      '0.0.0.0:1',
      '[2001:db8::1]:8000',
      '[1:2:3:4:5:6:7:8]:8000',
      '[::]:8000',
      '[fe80::]:8000',
      '[::ffff:10.0.0.1]:8000',
      '[1:2:3:4:5:6:10.0.0.1]:8000',
    ])
      expect(isEndpoint(ok), ok).toBe(true);
    for (const bad of [
      'pod:8000',
      '10.1.2:8000',
      '10.1.2.256:8000',
      '010.1.2.3:8000',
      '10.1.2.3:65536',
      '10.1.2.3',
      '2001:db8::1:8000',
      '[1:2:3:4:5:6:7:8:9]:8000',
      '[1:2:3:4:5:6:7::8]:8000',
      '[12345::1]:8000',
      '[:1::]:8000',
      '[::ffff:10.0.0.256]:8000',
      '[1:2:3:4:5:6:7:10.0.0.1]:8000',
      '[::1] :8000',
      ' 10.1.2.3:8000',
    ])
      expect(isEndpoint(bad), bad).toBe(false);
  });

  it('ignores a destination header sent by the client', async () => {
    const res = await post(
      '/v1/completions',
      { model: 'm', prompt: 'to-A: hello' },
      { 'x-gateway-destination-endpoint': podB.endpoint },
    );
    expect((await res.json()) as { pod: string }).toMatchObject({ pod: 'A' });
  });

  it('sends requests without a prompt (GET /v1/models) to the pool', async () => {
    const res = await fetch(`${base}/v1/models`);
    expect((await res.json()) as { pod: string }).toMatchObject({ pod: 'fallback' });
  });
});
