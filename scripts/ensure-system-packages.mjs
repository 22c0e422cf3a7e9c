#!/usr/bin/env node
// Makes sure Debian's nats-server is installed: the integration tests start a
// real one. As root it installs it; otherwise it names the command that does.
import { spawnSync } from 'node:child_process';

const has = () => spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;

if (!has()) {
  if (process.getuid?.() !== 0) {
    console.error('nats-server is missing. Install it with: sudo apt-get install -y nats-server');
    process.exit(1);
  }
  console.error('nats-server is missing: installing it from Debian packages…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
  if (!run(['install', '-y', '-q', 'nats-server'])) {
    run(['update', '-q']);
    if (!run(['install', '-y', '-q', 'nats-server'])) {
      console.error('could not install nats-server: run apt-get install -y nats-server');
      process.exit(1);
    }
  }
  if (!has()) {
    console.error('nats-server still not found on PATH after installing it');
    process.exit(1);
  }
}
