import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/kvroute.js', import.meta.url));
const kvroute = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

// These run the built executable exactly as `npx kvroute` does.
describe('kvroute executable', () => {
  it('lists its commands with --help', () => {
    const r = kvroute('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/commands:/);
    expect(r.stdout).toMatch(/bench/);
  });

  it('rejects an unknown command with exit code 2', () => {
    const r = kvroute('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('prints a benchmark table and one JSON line last', () => {
    const r = kvroute('bench', 'keys', '--json', '--quick');
    expect(r.status).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(last.bench).toBe('keys');
    expect(last.blocks_per_s).toBeGreaterThan(0);
  });
});
