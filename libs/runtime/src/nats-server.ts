import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A real nats-server (JetStream on, in a temp dir) on a free port: for
 * integration tests, benchmarks and `kvroute stack`.
 */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGKILL when `crash`), keeping its port for `restart`. */
  stop(crash?: boolean): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it for good and removes its storage. */
  dispose(): Promise<void>;
}

/** The repository's installer script, found by walking up from this module (src/ or dist/src/). */
function ensureScript(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'scripts', 'ensure-system-packages.mjs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

let ensured = false;
function ensureInstalled(): void {
  if (ensured) return;
  const script = ensureScript();
  const ok = script
    ? spawnSync(process.execPath, [script, '--only', 'nats-server'], { stdio: 'inherit' })
        .status === 0
    : spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!ok) throw new Error('nats-server is not installed: apt-get install -y nats-server');
  ensured = true;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once something accepts connections on 127.0.0.1:`port`; rejects after `timeoutMs`, or
 * at once when `proc` (the process expected to listen) has exited.
 */
export async function waitForPort(
  port: number,
  { proc, timeoutMs = 10_000 }: { proc?: ChildProcess; timeoutMs?: number } = {},
): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null)
      throw new Error(`process exited with code ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

export async function startNatsServer(extraArgs: string[] = []): Promise<NatsServer> {
  ensureInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-nats-'));
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...extraArgs],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(port, { proc });
  };
  await launch();
  const kill = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  const cleanup = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: (crash = false) => kill(crash ? 'SIGKILL' : 'SIGTERM'),
    restart: launch,
    dispose: async () => {
      await kill('SIGKILL');
      process.off('exit', cleanup);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
