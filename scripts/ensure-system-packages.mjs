#!/usr/bin/env node
// Makes sure the Debian packages the tests run for real are installed:
// nats-server (integration tests), nginx with its JavaScript module (the
// gateway example). As root it installs what is missing; otherwise it names
// the command that does. `--only nats-server` limits the check.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const onPath = (bin) => spawnSync(bin, ['-v'], { stdio: 'ignore' }).error === undefined;

const wanted = [
  {
    pkg: 'nats-server',
    present: () => spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0,
  },
  { pkg: 'nginx', present: () => onPath('nginx') || existsSync('/usr/sbin/nginx') },
  {
    pkg: 'libnginx-mod-http-js',
    present: () => existsSync('/usr/lib/nginx/modules/ngx_http_js_module.so'),
  },
];

const only = process.argv.indexOf('--only');
const scope = only >= 0 ? wanted.filter((w) => w.pkg === process.argv[only + 1]) : wanted;
const missing = scope.filter((w) => !w.present()).map((w) => w.pkg);

if (missing.length > 0) {
  const cmd = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`missing Debian packages: ${missing.join(', ')}. Install them with: sudo ${cmd}`);
    process.exit(1);
  }
  console.error(`installing Debian packages: ${missing.join(', ')}…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  const install = ['install', '-y', '-q', '--no-install-recommends', ...missing];
  if (!run(install)) {
    run(['update', '-q']);
    if (!run(install)) {
      console.error(`could not install ${missing.join(', ')}: run ${cmd}`);
      process.exit(1);
    }
  }
  const still = scope.filter((w) => !w.present()).map((w) => w.pkg);
  if (still.length > 0) {
    console.error(`still missing after installing: ${still.join(', ')}`);
    process.exit(1);
  }
}
