import { parseArgs } from 'node:util';
import { createPolicy, parsePolicyConfig, PolicyConfigError, PRESETS } from '@kvroute/routing';
import type { PolicyConfig, PresetName } from '@kvroute/routing';
import { readAzure } from '../workload/azure.js';
import { readMooncake, TraceFormatError } from '../workload/mooncake.js';
import { multiTurn, sharedPrefix } from '../workload/synthetic.js';
import type { Workload } from '../workload/types.js';
import { MULTI_TURN, SHARED_PREFIX } from '../workload/presets.js';
import { numberFlag, UsageError } from '../cli-args.js';
import { progressBar } from './progress.js';
import type { SimResult } from './run-sim.js';
import { runSim, SIM_BLOCK_SIZE } from './run-sim.js';

export const SIM_USAGE = `kvroute sim --trace <file.jsonl|file.csv> --pods N --policy <name> [options]

  --trace F            Mooncake JSONL (hash_ids) or Azure 2023 CSV; or --synthetic instead
  --synthetic KIND     shared-prefix | multi-turn (generated workloads)
  --pods N             model-server pods (default 16)
  --policy NAME|JSON   ${Object.keys(PRESETS).join(' | ')} (default: default),
                       or a policy config as JSON: {"scorers":[…],"picker":{…}}
  --capacity-tokens T  KV capacity per pod in tokens, ≥ ${SIM_BLOCK_SIZE} (one block; default 1000000; "inf" = unbounded)
  --load F             scale arrivals so offered no-cache work is F × fleet capacity
  --limit N            replay the first N requests only ("inf" = all)
  --kv-delay-ms D      KV event delivery delay to the index (default 50)
  --seed S             random seed (default 1)
  --json               print one JSON result object as the last line
  --progress           progress bar on stderr even when it is not a terminal`;

export interface ParsedSim {
  workload: Workload;
  pods: number;
  policy: PresetName | PolicyConfig;
  capacityTokens: number;
  load: number | undefined;
  limit: number | undefined;
  kvEventDelayMs: number;
  seed: number;
  json: boolean;
  progress: boolean;
}

/** Parses `kvroute sim` arguments; throws UsageError (exit code 2) on bad input. */
export function parseSimArgs(argv: string[]): ParsedSim {
  const { values } = parseArgs({
    args: argv,
    options: {
      trace: { type: 'string' },
      synthetic: { type: 'string' },
      pods: { type: 'string' },
      policy: { type: 'string' },
      'capacity-tokens': { type: 'string' },
      load: { type: 'string' },
      limit: { type: 'string' },
      'kv-delay-ms': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean', default: false },
      progress: { type: 'boolean', default: false },
    },
  });
  const pods = numberFlag('pods', values.pods ?? '16', { min: 1, integer: true });
  const limitN =
    values.limit === undefined
      ? undefined
      : numberFlag('limit', values.limit, { min: 1, integer: true, allowInf: true });
  // Validated before the trace is read: a bad flag is reported without minutes of work first.
  const capacityTokens = numberFlag('capacity-tokens', values['capacity-tokens'] ?? '1000000', {
    min: SIM_BLOCK_SIZE,
    allowInf: true,
  });
  const load =
    values.load === undefined
      ? undefined
      : numberFlag('load', values.load, { min: 0, minExclusive: true });
  const kvEventDelayMs = numberFlag('kv-delay-ms', values['kv-delay-ms'] ?? '50', { min: 0 });
  const seed = numberFlag('seed', values.seed ?? '1', { min: 0 });
  let policy: PresetName | PolicyConfig;
  try {
    const raw = values.policy ?? 'default';
    const c = parsePolicyConfig(
      raw.trimStart().startsWith('{') ? (JSON.parse(raw) as unknown) : raw,
    );
    policy = c.preset && !c.scorers && !c.picker ? c.preset : c;
    createPolicy(c); // parameter values are checked here, before any work
  } catch (e) {
    if (e instanceof PolicyConfigError || e instanceof SyntaxError) {
      throw new UsageError(`--policy: ${e.message}`);
    }
    throw e;
  }
  let workload: Workload;
  if (values.trace && values.synthetic)
    throw new UsageError('give --trace or --synthetic, not both');
  if (values.trace) {
    workload = values.trace.endsWith('.csv')
      ? readAzure(values.trace, limitN)
      : readMooncake(values.trace, limitN);
  } else if (values.synthetic === 'shared-prefix') {
    workload = sharedPrefix(SHARED_PREFIX);
  } else if (values.synthetic === 'multi-turn') {
    workload = multiTurn(MULTI_TURN);
  } else {
    throw new UsageError(
      values.synthetic
        ? `unknown --synthetic ${values.synthetic}`
        : '--trace or --synthetic is required',
    );
  }
  return {
    workload,
    pods,
    policy,
    capacityTokens,
    load,
    limit: limitN,
    kvEventDelayMs,
    seed,
    json: values.json,
    progress: values.progress || process.stderr.isTTY === true,
  };
}

export function formatResult(r: SimResult): string {
  const f = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
  return [
    `policy ${r.policy} · ${r.workload} · ${r.pods} pods · load ${r.load ?? 'trace'} · ${r.completed}/${r.requests} completed (${r.rejected} rejected)`,
    `hit rate ${(r.hit_rate * 100).toFixed(1)}% · TTFT p50/p95/p99 ${f(r.ttft_p50_ms)}/${f(r.ttft_p95_ms)}/${f(r.ttft_p99_ms)} ms · e2e p50/p95 ${f(r.e2e_p50_ms)}/${f(r.e2e_p95_ms)} ms`,
    `${f(r.output_tokens_per_s)} output tokens/s · load imbalance ${f(r.load_imbalance, 3)} · ${r.preemptions} preemptions · ${f(r.virtual_s)} s virtual in ${f(r.wall_s, 1)} s`,
  ].join('\n');
}

/** `kvroute sim`: returns the exit code (0 ok, 2 usage or input error). */
export async function runSimCli(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: ${SIM_USAGE}\n`);
    return 0;
  }
  let a: ParsedSim;
  try {
    a = parseSimArgs(argv);
  } catch (e) {
    if (
      e instanceof UsageError ||
      e instanceof TraceFormatError ||
      (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ||
      (e as { code?: string }).code === 'ENOENT'
    ) {
      process.stderr.write(`kvroute sim: ${(e as Error).message}\n\nusage: ${SIM_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const bar = a.progress
    ? progressBar(`sim ${typeof a.policy === 'string' ? a.policy : 'custom'}`)
    : undefined;
  const r = runSim({
    workload: a.workload,
    pods: a.pods,
    policy: a.policy,
    capacityTokens: a.capacityTokens,
    load: a.load,
    limit: a.limit,
    kvEventDelayMs: a.kvEventDelayMs,
    seed: a.seed,
    ...(bar ? { onProgress: bar.update } : {}),
  });
  bar?.end();
  process.stdout.write(`${formatResult(r)}\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
