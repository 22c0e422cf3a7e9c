import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { packageDir } from '../paths.js';
import type { SimResult } from '../sim/run-sim.js';
import { resolveOutDir, runCompareCli } from './cli.js';

const out = mkdtempSync(join(tmpdir(), 'kvroute-compare-cli-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function capture() {
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { err: () => err.join('') };
}

const results = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { results: SimResult[] }).results;

describe('kvroute loadtest compare', () => {
  it('exits 2 naming the flag on bad numbers, before any work', async () => {
    const bad: [string[], RegExp][] = [
      [['--sweep-limit', 'abc'], /--sweep-limit must be an integer ≥ 1/],
      [['--sweep-limit', '0'], /--sweep-limit/],
      [['--sweep-limit', 'inf'], /--sweep-limit/],
      [['--limit', '2.5'], /--limit must be an integer ≥ 1/],
      [['--load', 'inf'], /--load must be a number > 0/],
      [['--sweep', '0.5,inf'], /--sweep must be/],
      [['--capacity-tokens', '8'], /--capacity-tokens must be a number ≥ 16/],
      [['--pods', '1e400'], /--pods/],
      [['--offset', '-1'], /--offset/],
      [['--prefill-cost', '0'], /--prefill-cost/],
      [['--workloads', 'trace', '--offset', '999999'], /no requests left/],
    ];
    for (const [args, message] of bad) {
      const io = capture();
      expect(await runCompareCli([...args, '--out', join(out, 'never')])).toBe(2);
      expect(io.err()).toMatch(message);
      vi.restoreAllMocks();
    }
  });

  it('applies --limit to synthetic workloads and --offset to every workload', async () => {
    capture();
    const dir = join(out, 'limited');
    const args = ['--workloads', 'multi-turn,shared-prefix,trace', '--policies', 'round-robin'];
    expect(
      await runCompareCli([
        ...args,
        '--offset',
        '1000',
        '--limit',
        '40',
        '--sweep',
        'none',
        '--out',
        dir,
      ]),
    ).toBe(0);
    const r = results(dir);
    expect(r.map((x) => [x.workload, x.requests])).toEqual([
      ['multi-turn:2000x8[1000:]', 40],
      ['shared-prefix:32x64[1000:]', 40],
      ['mooncake:conversation_trace.jsonl[1000:]', 40],
    ]);
  }, 60_000);

  it('takes a relative --out from the package folder, whatever the working directory', () => {
    expect(resolveOutDir('results/x')).toBe(join(packageDir(), 'results', 'x'));
    expect(resolveOutDir(undefined)).toBe(join(packageDir(), 'results', 'latest'));
    expect(resolveOutDir(join(out, 'abs'))).toBe(join(out, 'abs'));
  });
});
