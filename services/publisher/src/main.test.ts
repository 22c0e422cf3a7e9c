import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Bus } from '@kvroute/runtime';
import { freePort, startNatsServer } from '@kvroute/runtime/testing';
import { describe, expect, it, vi } from 'vitest';
import { publisherMain } from './main.js';
import { FakeEngine } from './testing/fake-engine.js';
import { batch, connectBus, stored, tokens } from './testing/rig.js';
import { StreamObserver, until } from './testing/stream-observer.js';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Runs `publisherMain` in a child process exactly as the CLI would, from the TypeScript sources. */
function runMain(args: string[]) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@kvroute/source',
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(main)}); process.exitCode = await m.publisherMain(process.argv.slice(1));`,
      '--',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KVROUTE_LOG_LEVEL: 'warn' } },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, exit, out: () => out, err: () => err };
}

describe('kvroute publisher (publisherMain)', () => {
  it('exits 2 naming the bad setting, and prints help', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const args = ['--nats', 'nats://127.0.0.1:1', '--model', 'm', '--pod', '10.0.0.1:8000'];
      expect(await publisherMain([...args, '--zmq', 'localhost:5557'])).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/invalid --zmq \/ KVROUTE_ZMQ_ENDPOINT/);
      expect(await publisherMain(args)).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/missing required setting --zmq/);
      const zmq = ['--zmq', 'tcp://127.0.0.1:5557'];
      expect(await publisherMain([...args, ...zmq, '--nats-creds', '/nonexistent/x.creds'])).toBe(
        2,
      );
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(
        /invalid --nats-creds \/ KVROUTE_NATS_CREDS \(natsCreds\): cannot read/,
      );
      expect(await publisherMain([...args, ...zmq, '--nats-tls-key', '/etc/hostname'])).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/--nats-tls-key .* needs --nats-tls-cert/);
      expect(await publisherMain(['--help'])).toBe(0);
      expect(String(out.mock.calls.at(-1)?.[0])).toMatch(/--zmq-replay/);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  });

  it('serves, then on SIGTERM publishes a leaving heartbeat and exits 0', async () => {
    const nats = await startNatsServer();
    const engine = await FakeEngine.start();
    let obs: Bus | undefined;
    try {
      obs = await connectBus(nats.url, 'observer');
      const pod = '10.9.0.1:8000';
      const observer = new StreamObserver(obs, 'main-model', pod);
      const port = await freePort();
      const run = runMain([
        ...['--nats', nats.url, '--model', 'main-model', '--pod', pod, '--port', String(port)],
        ...['--zmq', engine.pubEndpoint, '--zmq-replay', engine.replayEndpoint!],
      ]);
      await until(() => observer.heartbeats.length > 0, 15_000, 'heartbeats from the child');
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      await engine.send(batch(stored([1, 2], null, tokens(2, 1))));
      await until(() => observer.batches.length === 1, 5000, 'a batch from the child');
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/kvroute_publisher_batches_out_total 1/);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      await until(() => observer.heartbeats.at(-1)?.state === 'leaving', 3000, 'leaving heartbeat');
      expect(observer.heartbeats.at(-1)!.lastSeq).toBe(1);
    } finally {
      await obs?.close();
      await engine.close();
      await nats.dispose();
    }
  });

  it('on SIGTERM during a NATS outage, stops and exits 0 instead of waiting for NATS', async () => {
    const nats = await startNatsServer();
    const engine = await FakeEngine.start();
    try {
      const port = await freePort();
      const run = runMain([
        ...['--nats', nats.url, '--model', 'm', '--pod', '10.9.0.2:8000', '--port', String(port)],
        ...[
          '--log-level',
          'info',
          '--zmq',
          engine.pubEndpoint,
          '--zmq-replay',
          engine.replayEndpoint!,
        ],
      ]);
      const readyz = async () =>
        (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status;
      for (let s = await readyz(); s !== 200; s = await readyz())
        await new Promise((r) => setTimeout(r, 100));
      await nats.stop();
      for (let s = await readyz(); s !== 503; s = await readyz())
        await new Promise((r) => setTimeout(r, 50));
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(run.err()).toMatch(/publisher stopped/);
    } finally {
      await engine.close();
      await nats.dispose();
    }
  }, 30_000);

  it('on SIGTERM while still connecting to NATS, gives up starting and exits 0', async () => {
    const port = await freePort();
    const run = runMain([
      ...['--nats', `nats://127.0.0.1:${await freePort()}`, '--model', 'm', '--log-level', 'info'],
      ...['--pod', '10.9.0.3:8000', '--port', String(port), '--zmq', 'tcp://127.0.0.1:5999'],
    ]);
    await until(() => /cannot reach NATS yet/.test(run.err()), 15_000, 'a connection attempt');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    expect(run.err()).toMatch(/"msg":"stopping"/);
    expect(run.err()).not.toMatch(/failed to start/);
  }, 30_000);
});
