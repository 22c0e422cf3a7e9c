import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readMooncake } from '../workload/mooncake.js';
import { runCompare } from './run-compare.js';

const trace = fileURLToPath(new URL('../../traces/conversation_trace.jsonl', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'kvroute-compare-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('runCompare', () => {
  it('runs each policy on the same workload and writes a report with SVG charts', async () => {
    const r = await runCompare({
      workloads: [{ workload: readMooncake(trace, 150), pods: 3, capacityTokens: 200_000 }],
      policies: ['round-robin', 'default'],
      load: 0.6,
      sweep: [0.4],
      outDir: out,
      command: 'test',
    });
    expect(r.results.map((x) => x.policy)).toEqual(['round-robin', 'default']);
    expect(r.sweep).toHaveLength(2);
    expect(r.results.every((x) => x.requests === 150)).toBe(true);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\| round-robin \| \d+\.\d%/);
    expect(md).toMatch(/hit rate ≥ 2× round-robin/);
    for (const f of ['hit-rate.svg', 'ttft.svg', 'ttft-p50-vs-load.svg', 'ttft-p95-vs-load.svg']) {
      expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
    }
    expect(existsSync(join(out, 'results.json'))).toBe(true);
  });
});
