import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { ConfigError, parseConfig } from './config.js';
import { connectNats, natsConnectionOptions, natsSettings } from './nats.js';
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

describe('NATS settings', () => {
  it('map to nats.js options: servers, user and password, token, TLS files, credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvroute-nats-opts-'));
    try {
      const f = (n: string) => {
        writeFileSync(join(dir, n), 'x');
        return join(dir, n);
      };
      const [ca, cert, key, creds] = [f('ca.pem'), f('cert.pem'), f('key.pem'), f('u.creds')];
      const parse = (argv: string[]) => parseConfig(natsSettings, argv, {});
      const plain = natsConnectionOptions(
        parse([
          '--nats',
          'nats://a:4222, nats://b:4222',
          '--nats-user',
          'u',
          '--nats-password',
          'p',
        ]),
        'svc',
      );
      expect(plain).toMatchObject({
        servers: ['nats://a:4222', 'nats://b:4222'],
        name: 'svc',
        user: 'u',
        pass: 'p',
        maxReconnectAttempts: -1,
      });
      expect(plain.tls).toBeUndefined();
      expect(plain.authenticator).toBeUndefined();
      expect(natsConnectionOptions(parse(['--nats', 'n', '--nats-token', 't']), 's').token).toBe(
        't',
      );
      expect(natsConnectionOptions(parse(['--nats', 'n', '--nats-tls-ca', ca]), 's').tls).toEqual({
        caFile: ca,
      });
      const mtls = ['--nats-tls-ca', ca, '--nats-tls-cert', cert, '--nats-tls-key', key];
      expect(natsConnectionOptions(parse(['--nats', 'n', ...mtls]), 's').tls).toEqual({
        caFile: ca,
        certFile: cert,
        keyFile: key,
      });
      const c = natsConnectionOptions(parse(['--nats', 'n', '--nats-creds', creds]), 's');
      expect(typeof c.authenticator).toBe('function');

      const err = (argv: string[]) => {
        try {
          parse(['--nats', 'n', ...argv]);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          return (e as Error).message;
        }
        return 'accepted';
      };
      expect(err(['--nats-creds', join(dir, 'missing.creds')])).toMatch(
        /--nats-creds \/ KVROUTE_NATS_CREDS \(natsCreds\): cannot read/,
      );
      expect(err(['--nats-tls-ca', join(dir, 'missing.pem')])).toMatch(
        /--nats-tls-ca \/ KVROUTE_NATS_TLS_CA .*cannot read/,
      );
      expect(err(['--nats-tls-key', key])).toMatch(/--nats-tls-key .* needs --nats-tls-cert/);
      expect(err(['--nats-tls-cert', cert])).toMatch(/--nats-tls-cert .* needs --nats-tls-key/);
      expect(err(['--nats-user', 'u'])).toMatch(/--nats-user .* needs --nats-password/);
      expect(err(['--nats-password', 'p'])).toMatch(/--nats-password .* needs --nats-user/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
