import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect,
  createInbox,
  PermissionViolationError,
  type NatsConnection,
} from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPackages } from './helpers/debian.js';
import { ensureKubectl, kustomizeBuild } from './helpers/kubectl.js';
import { freePort, waitForPort } from '@kvroute/runtime';
import { deployDir } from './helpers/paths.js';

// The NATS configuration the production overlay renders (auth, per-role
// permissions, TLS, cluster), run by a real nats-server with a test CA.

const passwords = { publisher: 'pub-secret', indexer: 'idx-secret', router: 'rtr-secret' };
type Role = keyof typeof passwords;

let dir = '';
let server: ChildProcess | undefined;
let port = 0;
const open: NatsConnection[] = [];

function openssl(args: string[]) {
  const r = spawnSync('openssl', args, { cwd: join(dir, 'tls'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

beforeAll(async () => {
  ensureDebianPackages(['nats-server'], ['nats-server', '--version']);
  const objs = kustomizeBuild(ensureKubectl(), join(deployDir, 'kubernetes/overlays/production'));
  const config = objs.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('kvroute-nats-config'),
  );
  const data = config!.data as Record<string, string>;

  dir = mkdtempSync(join(tmpdir(), 'kvroute-nats-'));
  mkdirSync(join(dir, 'tls'));
  mkdirSync(join(dir, 'conf'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=kvroute test CA',
  ]);
  openssl(['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=kvroute-nats']);
  writeFileSync(
    join(dir, 'tls', 'ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);

  // The files as mounted in the pod, but for the paths of this machine.
  const local: [string, string][] = [
    ['/etc/nats-tls/', `${join(dir, 'tls')}/`],
    ['/data/jetstream', join(dir, 'js')],
    ['/var/run/nats/nats.pid', join(dir, 'nats.pid')],
  ];
  for (const [from] of local) {
    expect(Object.values(data).join('\n'), from).toContain(from);
  }
  for (const [file, text] of Object.entries(data)) {
    const here = local.reduce((t, [from, to]) => t.replaceAll(from, to), text);
    writeFileSync(join(dir, 'conf', file), here);
  }
  port = await freePort();
  const args = [
    '-c',
    join(dir, 'conf', 'nats.conf'),
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-m',
    String(await freePort()),
    '--cluster',
    `nats://127.0.0.1:${await freePort()}`,
  ];
  server = spawn('nats-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      POD_NAME: 'kvroute-nats-0',
      KVROUTE_PUBLISHER_PASSWORD: passwords.publisher,
      KVROUTE_INDEXER_PASSWORD: passwords.indexer,
      KVROUTE_ROUTER_PASSWORD: passwords.router,
    },
  });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<never>((_, reject) =>
    server!.once('exit', (code) => reject(new Error(`nats-server exited (${code}):\n${log}`))),
  );
  await Promise.race([waitForPort(port), exited]);
}, 300_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close()));
  if (server && server.exitCode === null) {
    const done = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await done;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Client {
  nc: NatsConnection;
  violations: PermissionViolationError[];
}

async function as(role: Role): Promise<Client> {
  const nc = await connect({
    servers: `127.0.0.1:${port}`,
    user: role,
    pass: passwords[role],
    tls: { caFile: join(dir, 'tls', 'ca.crt') },
    reconnect: false,
  });
  open.push(nc);
  const violations: PermissionViolationError[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error' && s.error instanceof PermissionViolationError)
        violations.push(s.error);
    }
  })();
  return { nc, violations };
}

// The server answers in order, so a violation is read before flush()'s PONG;
// the status iterator hands it over in microtasks, all run before setImmediate.
async function settled(c: Client): Promise<void> {
  await c.nc.flush();
  await new Promise((r) => setImmediate(r));
}

async function canPublish(c: Client, subject: string): Promise<boolean> {
  const before = c.violations.length;
  c.nc.publish(subject, 'x');
  await settled(c);
  return !c.violations
    .slice(before)
    .some((v) => v.operation === 'publish' && v.subject === subject);
}

async function canSubscribe(c: Client, subject: string): Promise<boolean> {
  const before = c.violations.length;
  const sub = c.nc.subscribe(subject);
  await settled(c);
  sub.unsubscribe();
  return !c.violations
    .slice(before)
    .some((v) => v.operation === 'subscription' && v.subject === subject);
}

const S = {
  events: 'kvroute.v1.events.m.7',
  load: 'kvroute.v1.load.m.pod',
  lookup: 'kvroute.v1.lookup.m.0',
  snapshot: 'kvroute.v1.snapshot.pod',
  indexer: 'kvroute.v1.indexer.idx-0',
  other: 'other.subject',
};
type Subject = keyof typeof S;

// [role, may publish to, may subscribe to]: everything else is denied.
const matrix: [Role, Subject[], Subject[]][] = [
  ['publisher', ['events', 'load'], ['snapshot']],
  ['indexer', ['indexer', 'snapshot'], ['events', 'load', 'lookup']],
  ['router', ['lookup', 'snapshot'], ['load', 'indexer', 'events']],
];

describe('NATS configuration (production overlay)', () => {
  it.each(matrix)(
    'lets the %s publish and subscribe only where its role needs',
    async (role, pub, sub) => {
      const c = await as(role);
      const all = Object.keys(S) as Subject[];
      const published = [];
      for (const s of all) if (await canPublish(c, S[s])) published.push(s);
      expect(published.sort()).toEqual([...pub].sort());
      const subscribed = [];
      for (const s of all) if (await canSubscribe(c, S[s])) subscribed.push(s);
      expect(subscribed.sort()).toEqual([...sub].sort());
    },
  );

  it('carries a lookup from a router to an indexer and its reply back', async () => {
    const indexer = await as('indexer');
    const router = await as('router');
    const shard = indexer.nc.subscribe('kvroute.v1.lookup.*.0', { queue: 'shard-0' });
    void (async () => {
      for await (const m of shard) m.respond(`matches for ${m.string()}`);
    })();
    await indexer.nc.flush();
    const reply = await router.nc.request(S.lookup, 'keys', { timeout: 5000 });
    expect(reply.string()).toBe('matches for keys');
  });

  it('streams a chunked snapshot from a publisher to the indexer that asked', async () => {
    const publisher = await as('publisher');
    const indexer = await as('indexer');
    const snap = publisher.nc.subscribe(S.snapshot);
    void (async () => {
      for await (const m of snap)
        for (let i = 0; i < 3; i++) publisher.nc.publish(m.reply!, `chunk ${i}`);
    })();
    await publisher.nc.flush();
    const inbox = createInbox();
    const chunks = indexer.nc.subscribe(inbox, { max: 3 });
    indexer.nc.publish(S.snapshot, 'all', { reply: inbox });
    const got: string[] = [];
    for await (const m of chunks) got.push(m.string());
    expect(got).toEqual(['chunk 0', 'chunk 1', 'chunk 2']);
  });

  it('refuses a wrong password, and a client that does not trust the CA', async () => {
    await expect(
      connect({
        servers: `127.0.0.1:${port}`,
        user: 'router',
        pass: 'wrong',
        tls: { caFile: join(dir, 'tls', 'ca.crt') },
        reconnect: false,
      }),
    ).rejects.toThrow(/Authorization/i);
    await expect(
      connect({
        servers: `127.0.0.1:${port}`,
        user: 'router',
        pass: passwords.router,
        reconnect: false,
      }),
    ).rejects.toThrow();
  });
});
