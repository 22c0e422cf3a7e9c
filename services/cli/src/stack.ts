import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsServer } from '@kvroute/runtime';
import { freePort, startNatsServer } from '@kvroute/runtime';
import { shippedTokenizerDir } from '@kvroute/sim';
import { DEMO_MODEL } from './demo.js';

/** The executable, from src/ (tests) or dist/src/ (built). */
const BIN = [
  new URL('../bin/kvroute.js', import.meta.url),
  new URL('../../bin/kvroute.js', import.meta.url),
]
  .map((u) => fileURLToPath(u))
  .find((p) => existsSync(p))!;

export interface StackOptions {
  pods: number;
  port: number;
  nats?: string;
  shards?: number;
  /** Where child processes write (default: inherit). */
  output?: 'inherit' | 'ignore';
  /** Per-pod KV capacity of the simulated pods, in tokens (default: the simulator's). */
  capacityTokens?: number;
  /** Routing policy preset (default: the router's default). */
  policy?: string;
}

export interface Stack {
  url: string;
  natsUrl: string;
  processes: { name: string; child: ChildProcess }[];
  stop(): Promise<void>;
}

/** Three consecutive free ports per pod, as `sim serve --port` lays them out. */
async function freeBase(pods: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = await Promise.all(
      Array.from({ length: 3 * pods }, async (_, i) => {
        const { createServer } = await import('node:net');
        return new Promise<boolean>((resolve) => {
          const s = createServer();
          s.once('error', () => resolve(false));
          s.listen(base + i, '127.0.0.1', () => s.close(() => resolve(true)));
        });
      }),
    );
    if (ports.every(Boolean)) return base;
  }
  throw new Error('no free port range for the simulated pods');
}

async function waitHttp(
  url: string,
  timeoutMs: number,
  what: string,
  child?: ChildProcess,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${what} exited (${child.exitCode ?? child.signalCode}) before becoming ready`,
      );
    }
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready at ${url} within ${timeoutMs} ms`);
}

/**
 * The distributed topology on one machine, as separate processes over a real
 * nats-server: simulated pods, one publisher per pod, indexer shard(s), and
 * the router in remote-index mode as the gateway.
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const processes: Stack['processes'] = [];
  let nats: NatsServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-stack-'));
  const stop = async () => {
    await Promise.all(
      [...processes].reverse().map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const t = setTimeout(() => child.kill('SIGKILL'), 8000);
            child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    await nats?.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  const run = (name: string, args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', o.output ?? 'inherit', o.output ?? 'inherit'],
    });
    processes.push({ name, child });
    return child;
  };
  try {
    if (!o.nats) nats = await startNatsServer();
    const natsUrl = o.nats ?? nats!.url;
    const base = await freeBase(o.pods);
    const shards = o.shards ?? 1;
    const tokenizer = shippedTokenizerDir('qwen3');
    const sim = run('sim', [
      'sim',
      'serve',
      '--pods',
      String(o.pods),
      '--port',
      String(base),
      '--model',
      DEMO_MODEL,
      '--tokenizer',
      tokenizer,
      ...(o.capacityTokens ? ['--capacity-tokens', String(o.capacityTokens)] : []),
    ]);
    for (let i = 0; i < o.pods; i++)
      await waitHttp(`http://127.0.0.1:${base + 3 * i}/health`, 30_000, `simulated pod ${i}`, sim);
    const publisherPorts: number[] = [];
    const publishers: ChildProcess[] = [];
    for (let i = 0; i < o.pods; i++) {
      const http = base + 3 * i;
      const port = await freePort();
      publisherPorts.push(port);
      publishers.push(
        run(`publisher-${i}`, [
          'publisher',
          '--nats',
          natsUrl,
          '--model',
          DEMO_MODEL,
          '--pod',
          `127.0.0.1:${http}`,
          '--zmq',
          `tcp://127.0.0.1:${http + 1}`,
          '--zmq-replay',
          `tcp://127.0.0.1:${http + 2}`,
          '--metrics-url',
          `http://127.0.0.1:${http}/metrics`,
          '--port',
          String(port),
          '--log-level',
          'warn',
        ]),
      );
    }
    const indexerPorts: number[] = [];
    const indexers: ChildProcess[] = [];
    for (let s = 0; s < shards; s++) {
      const port = await freePort();
      indexerPorts.push(port);
      indexers.push(
        run(`indexer-${s}`, [
          'indexer',
          '--nats',
          natsUrl,
          '--shards',
          String(s),
          '--shard-count',
          String(shards),
          '--port',
          String(port),
          '--log-level',
          'warn',
        ]),
      );
    }
    const config = join(dir, 'router.yaml');
    writeFileSync(
      config,
      `models:\n  ${JSON.stringify(DEMO_MODEL)}:\n    tokenizer: ${JSON.stringify(tokenizer)}\n` +
        (o.policy ? `    policy: ${JSON.stringify(o.policy)}\n` : ''),
    );
    const routerPort = o.port === 0 ? await freePort() : o.port;
    const router = run('router', [
      'router',
      '--nats',
      natsUrl,
      '--index',
      'remote',
      '--port',
      String(routerPort),
      '--config',
      config,
      '--log-level',
      'warn',
    ]);
    for (const p of publisherPorts)
      await waitHttp(
        `http://127.0.0.1:${p}/readyz`,
        30_000,
        'publisher',
        publishers[publisherPorts.indexOf(p)],
      );
    for (const [i, p] of indexerPorts.entries())
      await waitHttp(`http://127.0.0.1:${p}/readyz`, 30_000, 'indexer', indexers[i]);
    await waitHttp(`http://127.0.0.1:${routerPort}/readyz`, 30_000, 'router', router);
    return { url: `http://127.0.0.1:${routerPort}`, natsUrl, processes, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
