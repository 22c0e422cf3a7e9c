import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { parsePolicyConfig } from '@kvroute/routing';
import { bundledTrace, packageDir } from '../paths.js';
import type { PresetName } from '@kvroute/routing';
import { progressBar } from '../sim/progress.js';
import { readAzure } from '../workload/azure.js';
import { readMooncake } from '../workload/mooncake.js';
import { multiTurn, sharedPrefix } from '../workload/synthetic.js';
import { MULTI_TURN, SHARED_PREFIX } from '../workload/presets.js';
import type { CompareWorkload } from './run-compare.js';
import { ALL_POLICIES, runCompare } from './run-compare.js';
import { resultsTable } from './report.js';

const bundled = bundledTrace();

export const COMPARE_USAGE = `kvroute loadtest compare [options]

  --trace F            Mooncake JSONL or Azure CSV (default: the bundled Mooncake conversation trace)
  --pods N             pods (default 16)
  --capacity-tokens T  KV tokens per pod (default 1000000)
  --load F             offered load of the main table (default 0.7)
  --limit N            first N requests of the trace only
  --sweep L,L,…        loads for the TTFT-vs-load curves (default 0.5,0.7,0.9; "none" to skip)
  --sweep-limit N      requests per sweep run (default 3000)
  --workloads a,b,…    trace, shared-prefix, multi-turn (default: trace); the sweep runs on the first
  --policies a,b,…     subset of: ${ALL_POLICIES.join(', ')}
  --out DIR            report directory (default loadtest/results/latest)
  --progress           progress bars on stderr even when it is not a terminal`;

/** `kvroute loadtest compare`: returns the exit code. */
export async function runCompareCli(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: ${COMPARE_USAGE}\n`);
    return 0;
  }
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        pods: { type: 'string', default: '16' },
        'capacity-tokens': { type: 'string', default: '1000000' },
        load: { type: 'string', default: '0.7' },
        limit: { type: 'string' },
        sweep: { type: 'string', default: '0.5,0.7,0.9' },
        'sweep-limit': { type: 'string', default: '3000' },
        workloads: { type: 'string', default: 'trace' },
        policies: { type: 'string' },
        out: { type: 'string' },
        progress: { type: 'boolean', default: false },
      },
    }).values;
  } catch (e) {
    process.stderr.write(
      `kvroute loadtest compare: ${(e as Error).message}\n\nusage: ${COMPARE_USAGE}\n`,
    );
    return 2;
  }
  const bad = (m: string) => {
    process.stderr.write(`kvroute loadtest compare: ${m}\n`);
    return 2;
  };
  const pods = Number(values.pods);
  const capacity =
    values['capacity-tokens'] === 'inf' ? Infinity : Number(values['capacity-tokens']);
  const load = Number(values.load);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const sweep = values.sweep === 'none' ? [] : values.sweep.split(',').map(Number);
  if (!Number.isInteger(pods) || pods < 1) return bad('--pods must be a positive integer');
  if (!(capacity > 0)) return bad('--capacity-tokens must be > 0');
  if (!(load > 0) || sweep.some((l) => !(l > 0))) return bad('loads must be > 0');
  if (limit !== undefined && !(limit >= 1)) return bad('--limit must be ≥ 1');
  let policies: PresetName[] = ALL_POLICIES;
  if (values.policies) {
    try {
      policies = values.policies.split(',').map((p) => parsePolicyConfig(p.trim()).preset!);
    } catch (e) {
      return bad((e as Error).message);
    }
  }
  const trace = values.trace ?? bundled;
  const workloads: CompareWorkload[] = [];
  for (const kind of values.workloads.split(',').map((k) => k.trim())) {
    if (kind === 'trace') {
      try {
        const w = trace.endsWith('.csv') ? readAzure(trace, limit) : readMooncake(trace, limit);
        workloads.push({ workload: w, pods, capacityTokens: capacity });
      } catch (e) {
        return bad((e as Error).message);
      }
    } else if (kind === 'shared-prefix') {
      workloads.push({ workload: sharedPrefix(SHARED_PREFIX), pods, capacityTokens: capacity });
    } else if (kind === 'multi-turn') {
      workloads.push({ workload: multiTurn(MULTI_TURN), pods, capacityTokens: capacity });
    } else {
      return bad(`unknown workload "${kind}" (trace, shared-prefix, multi-turn)`);
    }
  }
  const outDir = values.out ?? join(packageDir(), 'results', 'latest');
  const showProgress = values.progress || process.stderr.isTTY === true;
  const command = `npx kvroute loadtest compare ${argv.join(' ')}`.trim();
  const r = await runCompare({
    workloads,
    policies,
    load,
    sweep,
    sweepLimit: Number(values['sweep-limit']),
    outDir,
    command,
    ...(showProgress ? { onRun: (label: string) => progressBar(label) } : {}),
  });
  for (const w of workloads) {
    process.stdout.write(
      `\n${w.workload.name}\n\n${resultsTable(r.results.filter((x) => x.workload === w.workload.name))}\n`,
    );
  }
  process.stdout.write(`\nreport: ${outDir}/report.md\n`);
  return 0;
}
