#!/usr/bin/env node
// The kvroute executable. Runs the compiled CLI; on a checkout that has not
// been built yet (npm ci builds it in `prepare`), builds it first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  process.stderr.write('kvroute: first run, building…\n');
  const r = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
