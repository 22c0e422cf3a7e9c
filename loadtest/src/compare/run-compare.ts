import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PresetName } from '@kvroute/routing';
import type { SimResult } from '../sim/run-sim.js';
import { runSim } from '../sim/run-sim.js';
import type { LatencyModel } from '../engine/latency.js';
import { rooflineLatency } from '../engine/latency.js';
import type { Workload } from '../workload/types.js';
import { barChart, lineChart, renderSvg } from './charts.js';
import { renderReport } from './report.js';

export const ALL_POLICIES: PresetName[] = [
  'round-robin',
  'random',
  'least-loaded',
  'llm-d',
  'dynamo',
  'kubeai',
  'sglang',
  'default',
];

export interface CompareWorkload {
  workload: Workload;
  pods: number;
  capacityTokens: number;
  /** Replay only the first N requests. */
  limit?: number;
}

export interface CompareOptions {
  workloads: CompareWorkload[];
  policies?: PresetName[];
  /** Offered load of the main table. */
  load: number;
  /** Loads of the TTFT-vs-load curves, run on the first workload (limited to `sweepLimit` requests). */
  sweep?: number[];
  sweepLimit?: number;
  /** Where report.md, results.json and the SVG charts go. */
  outDir: string;
  /** The command line that produced the report (written into it). */
  command: string;
  /** The engines' step-time model (default: the reference roofline). Policies keep their own parameters. */
  latency?: LatencyModel;
  seed?: number;
  onRun?: (label: string) => { update: (d: number, t: number, v: number) => void; end: () => void };
}

export interface CompareResult {
  results: SimResult[];
  sweep: SimResult[];
}

/**
 * Runs every policy on the same workloads at the same load (same seed, same
 * arrivals), plus a load sweep on the first workload, and writes a Markdown
 * report with SVG charts to `outDir`.
 */
export async function runCompare(o: CompareOptions): Promise<CompareResult> {
  const policies = o.policies ?? ALL_POLICIES;
  const latency = o.latency ?? rooflineLatency();
  const one = (w: CompareWorkload, policy: PresetName, load: number, limit?: number) => {
    const p = o.onRun?.(`${policy} @${load} ${w.workload.name}`);
    const r = runSim({
      workload: w.workload,
      pods: w.pods,
      policy,
      capacityTokens: w.capacityTokens,
      load,
      limit: limit ?? w.limit,
      latency,
      seed: o.seed ?? 1,
      ...(p ? { onProgress: p.update } : {}),
    });
    p?.end();
    return r;
  };
  const results: SimResult[] = [];
  for (const w of o.workloads) for (const policy of policies) results.push(one(w, policy, o.load));
  const sweep: SimResult[] = [];
  const first = o.workloads[0];
  if (first) {
    for (const load of o.sweep ?? []) {
      for (const policy of policies)
        sweep.push(one(first, policy, load, o.sweepLimit ?? first.limit));
    }
  }

  mkdirSync(o.outDir, { recursive: true });
  const main = results.filter((r) => r.workload === first?.workload.name);
  const charts: [string, Promise<string>][] = [
    [
      'hit-rate.svg',
      renderSvg(
        barChart(
          `Prefix-cache hit rate — ${first?.workload.name ?? ''}`,
          main.map((r) => ({ policy: r.policy, hit: r.hit_rate })),
          'policy',
          'hit',
          'token-weighted hit rate',
        ),
      ),
    ],
    [
      'ttft.svg',
      renderSvg(
        barChart(
          `TTFT — ${first?.workload.name ?? ''}, load ${o.load}`,
          main.flatMap((r) => [
            { policy: r.policy, stat: 'p50', ms: r.ttft_p50_ms },
            { policy: r.policy, stat: 'p95', ms: r.ttft_p95_ms },
          ]),
          'policy',
          'ms',
          'TTFT (ms)',
          'stat',
        ),
      ),
    ],
  ];
  if (sweep.length > 0) {
    for (const stat of ['p50', 'p95'] as const) {
      charts.push([
        `ttft-${stat}-vs-load.svg`,
        renderSvg(
          lineChart(
            `TTFT ${stat} vs offered load — ${first?.workload.name ?? ''}`,
            sweep.map((r) => ({
              policy: r.policy,
              load: r.load ?? 0,
              ms: stat === 'p50' ? r.ttft_p50_ms : r.ttft_p95_ms,
            })),
            'load',
            'ms',
            'offered load (fraction of fleet capacity)',
            `TTFT ${stat} (ms, log)`,
            'policy',
          ),
        ),
      ]);
    }
  }
  for (const [name, svg] of charts) writeFileSync(join(o.outDir, name), await svg);
  writeFileSync(
    join(o.outDir, 'results.json'),
    `${JSON.stringify({ command: o.command, latency: latency.name, results, sweep }, null, 2)}\n`,
  );
  writeFileSync(
    join(o.outDir, 'report.md'),
    renderReport({
      command: o.command,
      latency: latency.name,
      load: o.load,
      results,
      sweep,
      charts: charts.map((c) => c[0]),
    }),
  );
  return { results, sweep };
}
