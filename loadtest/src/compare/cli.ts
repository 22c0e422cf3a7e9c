import { parseArgs } from 'node:util';
import { isAbsolute, join, resolve } from 'node:path';
import { parsePolicyConfig } from '@kvroute/routing';
import { bundledTrace, packageDir } from '../paths.js';
import type { PresetName } from '@kvroute/routing';
import { numberFlag, UsageError } from '../cli-args.js';
import { LLAMA31_8B_H100, perturbedHardware, rooflineLatency } from '../engine/latency.js';
import { progressBar } from '../sim/progress.js';
import { SIM_BLOCK_SIZE } from '../sim/run-sim.js';
import { readAzure } from '../workload/azure.js';
import { readMooncake } from '../workload/mooncake.js';
import { multiTurn, sharedPrefix } from '../workload/synthetic.js';
import { MULTI_TURN, SHARED_PREFIX } from '../workload/presets.js';
import type { Workload } from '../workload/types.js';
import type { CompareWorkload } from './run-compare.js';
import { ALL_POLICIES, runCompare } from './run-compare.js';
import { resultsTable } from './report.js';

const bundled = bundledTrace();

export const COMPARE_USAGE = `kvroute loadtest compare [options]

  --trace F            Mooncake JSONL or Azure CSV (default: the bundled Mooncake conversation trace)
  --pods N             pods (default 16)
  --capacity-tokens T  KV tokens per pod, ≥ ${SIM_BLOCK_SIZE} (default 1000000; "inf" = unbounded)
  --load F             offered load of the main table (default 0.7)
  --offset N           skip the first N requests of every workload (held-out evaluation)
  --limit N            then replay N requests of every workload only ("inf" = all)
  --sweep L,L,…        loads for the TTFT-vs-load curves (default 0.5,0.7,0.9; "none" to skip)
  --sweep-limit N      requests per sweep run (default 3000)
  --workloads a,b,…    trace, shared-prefix, multi-turn (default: trace); the sweep runs on the first
  --policies a,b,…     subset of: ${ALL_POLICIES.join(', ')}
  --prefill-cost F     engines' FLOP-bound (prefill) time × F (default 1); policies keep their defaults
  --decode-cost F      engines' memory-bound (decode: weight and KV reads) time × F (default 1)
  --out DIR            report directory; a relative DIR is taken from the loadtest package folder,
                       whatever the working directory (default results/latest)
  --progress           progress bars on stderr even when it is not a terminal`;

/** Where `--out` writes: relative paths are taken from the loadtest package folder. */
export function resolveOutDir(out: string | undefined): string {
  const dir = out ?? join('results', 'latest');
  return isAbsolute(dir) ? dir : resolve(packageDir(), dir);
}

interface ParsedCompare {
  workloads: CompareWorkload[];
  policies: PresetName[];
  load: number;
  sweep: number[];
  sweepLimit: number;
  prefillCost: number;
  decodeCost: number;
  outDir: string;
  progress: boolean;
}

/** Parses `kvroute loadtest compare` arguments; throws UsageError on bad input. */
function parseCompareArgs(argv: string[]): ParsedCompare {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' },
      pods: { type: 'string', default: '16' },
      'capacity-tokens': { type: 'string', default: '1000000' },
      load: { type: 'string', default: '0.7' },
      offset: { type: 'string', default: '0' },
      limit: { type: 'string' },
      sweep: { type: 'string', default: '0.5,0.7,0.9' },
      'sweep-limit': { type: 'string', default: '3000' },
      workloads: { type: 'string', default: 'trace' },
      policies: { type: 'string' },
      'prefill-cost': { type: 'string', default: '1' },
      'decode-cost': { type: 'string', default: '1' },
      out: { type: 'string' },
      progress: { type: 'boolean', default: false },
    },
  });
  const positive = { min: 0, minExclusive: true };
  const pods = numberFlag('pods', values.pods, { min: 1, integer: true });
  const capacity = numberFlag('capacity-tokens', values['capacity-tokens'], {
    min: SIM_BLOCK_SIZE,
    allowInf: true,
  });
  const load = numberFlag('load', values.load, positive);
  const offset = numberFlag('offset', values.offset, { min: 0, integer: true });
  const limit =
    values.limit === undefined
      ? Infinity
      : numberFlag('limit', values.limit, { min: 1, integer: true, allowInf: true });
  const sweep =
    values.sweep === 'none'
      ? []
      : values.sweep.split(',').map((l) => numberFlag('sweep', l, positive));
  const sweepLimit = numberFlag('sweep-limit', values['sweep-limit'], { min: 1, integer: true });
  const prefillCost = numberFlag('prefill-cost', values['prefill-cost'], positive);
  const decodeCost = numberFlag('decode-cost', values['decode-cost'], positive);
  let policies: PresetName[] = ALL_POLICIES;
  if (values.policies) {
    try {
      policies = values.policies.split(',').map((p) => parsePolicyConfig(p.trim()).preset!);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const trace = values.trace ?? bundled;
  const cut = (w: Workload): Workload =>
    offset === 0 ? w : { name: `${w.name}[${offset}:]`, requests: w.requests.slice(offset) };
  const workloads: CompareWorkload[] = [];
  for (const kind of values.workloads.split(',').map((k) => k.trim())) {
    let w: Workload;
    if (kind === 'trace') {
      try {
        const n = offset + limit;
        w = trace.endsWith('.csv') ? readAzure(trace, n) : readMooncake(trace, n);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    } else if (kind === 'shared-prefix') {
      w = sharedPrefix(SHARED_PREFIX);
    } else if (kind === 'multi-turn') {
      w = multiTurn(MULTI_TURN);
    } else {
      throw new UsageError(`unknown workload "${kind}" (trace, shared-prefix, multi-turn)`);
    }
    w = cut(w);
    if (w.requests.length === 0)
      throw new UsageError(`--offset ${offset}: ${w.name} has no requests left`);
    workloads.push({
      workload: w,
      pods,
      capacityTokens: capacity,
      ...(Number.isFinite(limit) ? { limit } : {}),
    });
  }
  return {
    workloads,
    policies,
    load,
    sweep,
    sweepLimit,
    prefillCost,
    decodeCost,
    outDir: resolveOutDir(values.out),
    progress: values.progress,
  };
}

/** `kvroute loadtest compare`: returns the exit code (0 ok, 2 usage or input error). */
export async function runCompareCli(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: ${COMPARE_USAGE}\n`);
    return 0;
  }
  let a: ParsedCompare;
  try {
    a = parseCompareArgs(argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (e instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS') || code === 'ENOENT') {
      process.stderr.write(
        `kvroute loadtest compare: ${(e as Error).message}\n\nusage: ${COMPARE_USAGE}\n`,
      );
      return 2;
    }
    throw e;
  }
  const showProgress = a.progress || process.stderr.isTTY === true;
  const latency =
    a.prefillCost === 1 && a.decodeCost === 1
      ? rooflineLatency()
      : rooflineLatency(perturbedHardware(LLAMA31_8B_H100, a.prefillCost, a.decodeCost));
  const r = await runCompare({
    workloads: a.workloads,
    policies: a.policies,
    load: a.load,
    sweep: a.sweep,
    sweepLimit: a.sweepLimit,
    outDir: a.outDir,
    command: `npx kvroute loadtest compare ${argv.join(' ')}`.trim(),
    latency,
    ...(showProgress ? { onRun: (label: string) => progressBar(label) } : {}),
  });
  for (const w of a.workloads) {
    process.stdout.write(
      `\n${w.workload.name}\n\n${resultsTable(r.results.filter((x) => x.workload === w.workload.name))}\n`,
    );
  }
  process.stdout.write(`\nreport: ${join(a.outDir, 'report.md')}\n`);
  return 0;
}
