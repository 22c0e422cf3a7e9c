import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { connectNats } from './nats.js';
import type { NatsSettings } from './nats.js';
import type { NatsServer } from './nats-server.js';
import { freePort, startNatsServer } from './nats-server.js';

const log = createLogger('test', 'silent');
const settings = (natsUrl: string, more: Partial<NatsSettings> = {}) =>
  ({ natsUrl, ...more }) as NatsSettings;

describe('connectNats', () => {
  let dir: string;
  let server: NatsServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvroute-nats-'));
    writeFileSync(join(dir, 'auth.conf'), 'authorization { user: a, password: b }\n');
    server = await startNatsServer(['-c', join(dir, 'auth.conf')]);
  });
  afterAll(async () => {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with credentials, and gives up at once when the server refuses them', async () => {
    const { nc, bus } = await connectNats(
      settings(server.url, { natsUser: 'a', natsPassword: 'b' }),
      't',
      log,
    );
    expect(bus.isConnected()).toBe(true);
    await bus.close();
    expect(nc.isClosed()).toBe(true);
    // No timeout given: only the refusal can end this.
    await expect(
      connectNats(settings(server.url, { natsUser: 'a', natsPassword: 'x' }), 't', log),
    ).rejects.toThrow(/refused the credentials/);
  });

  it('keeps retrying an absent server until stopped, or until its timeout', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const ac = new AbortController();
    const pending = connectNats(settings(url), 't', log, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 700));
    ac.abort();
    await expect(pending).rejects.toThrow(/stopped while connecting/);
    await expect(connectNats(settings(url), 't', log, { timeoutMs: 300 })).rejects.toThrow(
      /cannot connect to NATS/,
    );
  });
});
