import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

/**
 * A throwaway nats-server on a free loopback port. (The test harness in
 * @kvroute/runtime/testing exists only for TypeScript sources; `kvroute bench`
 * runs compiled code.)
 */
export async function startBenchNats(): Promise<{ url: string; stop(): void }> {
  const port = await new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => {
    proc.once('error', (e) =>
      reject(new Error(`cannot start nats-server (apt-get install nats-server): ${e.message}`)),
    );
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([
      failed,
      new Promise<boolean>((resolve) => {
        const c = connect(port, '127.0.0.1');
        c.once('connect', () => (c.destroy(), resolve(true)));
        c.once('error', () => resolve(false));
      }),
    ]);
    if (up) break;
    if (Date.now() > deadline) throw new Error('nats-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `nats://127.0.0.1:${port}`, stop: () => proc.kill('SIGKILL') };
}
