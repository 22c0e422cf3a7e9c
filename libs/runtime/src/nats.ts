import { readFileSync } from 'node:fs';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { connect, credsAuthenticator, errors } from '@nats-io/transport-node';
import type { Bus } from './bus/bus.js';
import { natsBus } from './bus/nats-bus.js';
import { ConfigError, setting } from './config.js';
import type { ConfigOf } from './config.js';
import { processStopping } from './lifecycle.js';
import type { Logger } from './log.js';
import { rateLimited } from './log.js';

/** The NATS settings every service takes, as flags and environment variables. */
export const natsSettings = {
  natsUrl: setting.string({
    flag: 'nats',
    env: 'KVROUTE_NATS_URL',
    help: 'NATS server URL(s), comma-separated',
    required: true,
  }),
  natsCreds: setting.optString({
    flag: 'nats-creds',
    env: 'KVROUTE_NATS_CREDS',
    help: 'NATS credentials file (JWT + NKey seed)',
    file: true,
  }),
  natsUser: setting.optString({
    flag: 'nats-user',
    env: 'KVROUTE_NATS_USER',
    help: 'NATS user name',
    requires: ['natsPassword'],
  }),
  natsPassword: setting.optString({
    flag: 'nats-password',
    env: 'KVROUTE_NATS_PASSWORD',
    help: 'NATS password',
    requires: ['natsUser'],
  }),
  natsToken: setting.optString({
    flag: 'nats-token',
    env: 'KVROUTE_NATS_TOKEN',
    help: 'NATS auth token',
  }),
  natsTlsCa: setting.optString({
    flag: 'nats-tls-ca',
    env: 'KVROUTE_NATS_TLS_CA',
    help: 'CA bundle to verify the NATS server (enables TLS)',
    file: true,
  }),
  natsTlsCert: setting.optString({
    flag: 'nats-tls-cert',
    env: 'KVROUTE_NATS_TLS_CERT',
    help: 'client certificate for NATS mutual TLS',
    file: true,
    requires: ['natsTlsKey'],
  }),
  natsTlsKey: setting.optString({
    flag: 'nats-tls-key',
    env: 'KVROUTE_NATS_TLS_KEY',
    help: 'client key for NATS mutual TLS',
    file: true,
    requires: ['natsTlsCert'],
  }),
};

export type NatsSettings = ConfigOf<typeof natsSettings>;

/**
 * The nats.js options for the settings (already checked by `parseConfig`:
 * files readable, cert with key, user with password). Throws ConfigError when
 * the credentials file cannot be read after all.
 */
export function natsConnectionOptions(s: NatsSettings, name: string): ConnectionOptions {
  const o: ConnectionOptions = {
    servers: s.natsUrl
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    name,
    // Keep trying forever: a sidecar must ride out NATS restarts.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
  };
  if (s.natsCreds) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(s.natsCreds);
    } catch (e) {
      throw new ConfigError(
        `cannot read --nats-creds / KVROUTE_NATS_CREDS (natsCreds) ${s.natsCreds}: ${String(e)}`,
      );
    }
    o.authenticator = credsAuthenticator(creds);
  }
  if (s.natsUser) o.user = s.natsUser;
  if (s.natsPassword) o.pass = s.natsPassword;
  if (s.natsToken) o.token = s.natsToken;
  if (s.natsTlsCa || s.natsTlsCert) {
    o.tls = {
      ...(s.natsTlsCa ? { caFile: s.natsTlsCa } : {}),
      ...(s.natsTlsCert ? { certFile: s.natsTlsCert } : {}),
      ...(s.natsTlsKey ? { keyFile: s.natsTlsKey } : {}),
    };
  }
  return o;
}

export interface NatsHandle {
  nc: NatsConnection;
  bus: Bus;
}

export interface ConnectNatsOptions {
  /** Give up on the first connection after this long (default: never, as reconnects). */
  timeoutMs?: number;
  /** Abandons connecting (default `processStopping`: SIGTERM during startup). */
  signal?: AbortSignal;
}

/** The server said no: retrying with the same settings cannot succeed. */
const refusal = (e: unknown) =>
  e instanceof errors.AuthorizationError || e instanceof errors.UserAuthenticationExpiredError;

/**
 * Connects, retrying until it succeeds — NATS may start after the service, as
 * it may restart later — unless the server refuses the credentials, `timeoutMs`
 * passes or `signal` aborts (each throws). Then logs every status change; the
 * bus follows connectedness.
 */
export async function connectNats(
  s: NatsSettings,
  name: string,
  log: Logger,
  o: ConnectNatsOptions = {},
): Promise<NatsHandle> {
  const opts = natsConnectionOptions(s, name);
  const signal = o.signal ?? processStopping;
  const deadline = Date.now() + (o.timeoutMs ?? Number.POSITIVE_INFINITY);
  const retrying = rateLimited(log, 10_000);
  let stop: () => void = () => undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    stop = () => resolve('aborted');
    signal.addEventListener('abort', stop, { once: true });
  });
  let nc: NatsConnection | undefined;
  let lastError: unknown;
  try {
    while (!nc) {
      if (signal.aborted) throw new Error('stopped while connecting to NATS');
      if (Date.now() >= deadline)
        throw new Error(`cannot connect to NATS at ${s.natsUrl}: ${String(lastError)}`, {
          cause: lastError,
        });
      const attempt = connect({
        ...opts,
        timeout: Math.min(5000, Math.max(500, deadline - Date.now())),
      });
      const r = await Promise.race([
        attempt.then(
          (c) => ({ c }),
          (e: unknown) => ({ e }),
        ),
        aborted,
      ]);
      if (r === 'aborted') {
        void attempt.then((c) => c.close()).catch(() => undefined);
        continue;
      }
      if ('c' in r) {
        nc = r.c;
        break;
      }
      if (refusal(r.e))
        throw new Error(`NATS at ${s.natsUrl} refused the credentials: ${String(r.e)}`, {
          cause: r.e,
        });
      lastError = r.e;
      retrying('connect', { err: String(r.e) }, 'cannot reach NATS yet, retrying');
      await Promise.race([new Promise((r) => setTimeout(r, 500)), aborted]);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  const conn = nc;
  void (async () => {
    for await (const st of conn.status()) {
      if (st.type === 'disconnect' || st.type === 'reconnect' || st.type === 'error') {
        log.warn(
          { status: st.type, server: 'server' in st ? st.server : undefined },
          `NATS ${st.type}`,
        );
      }
    }
  })();
  const warn = rateLimited(log);
  const bus = natsBus(conn, {
    onHandlerError: (err, subject) =>
      warn(
        `subscription:${subject ?? ''}`,
        { subject, err: String(err) },
        'NATS subscription error',
      ),
  });
  log.info({ server: conn.getServer() }, 'connected to NATS');
  return { nc: conn, bus };
}
