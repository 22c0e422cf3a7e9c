import { PolicyConfigError } from './errors.js';
import type { MatchOptions } from './match.js';
import { DEFAULT_CPU_WEIGHT } from './match.js';
import { Params } from './params.js';
import { cacheAwarePicker } from './pickers/cache-aware.js';
import { chwblPicker } from './pickers/chwbl.js';
import type { Picker } from './pickers/picker.js';
import { maxScorePicker, randomPicker, roundRobinPicker, softmaxPicker } from './pickers/simple.js';
import { kvOverlapCostScorer } from './scorers/kv-overlap-cost.js';
import type { Scorer } from './scorers/scorer.js';
import {
  kvUtilizationScorer,
  loadScorer,
  prefixCacheScorer,
  queueScorer,
} from './scorers/simple.js';
import { TTFT_DEFAULTS, ttftScorer } from './scorers/ttft.js';

type Factory<T> = (params: Params, match: MatchOptions) => T;

/**
 * The table's own entry for `name`, or undefined. `name in table` and a bare
 * `table[name]` would also find Object.prototype members ('constructor',
 * 'toString'), which pass validation and then fail on every pick.
 */
export function own<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

const noParams =
  <T>(make: () => T): Factory<T> =>
  (p) => {
    p.done();
    return make();
  };

export const scorers: Record<string, Factory<Scorer>> = {
  'prefix-cache': (p, m) => {
    p.done();
    return prefixCacheScorer(m);
  },
  'kv-cache-utilization': noParams(kvUtilizationScorer),
  queue: noParams(queueScorer),
  load: noParams(loadScorer),
  'kv-overlap-cost': (p, m) => {
    const s = kvOverlapCostScorer({
      overlapScoreWeight: p.num('overlapScoreWeight', 1, { min: 0 }),
      cpuWeight: m.cpuWeight,
    });
    p.done();
    return s;
  },
  ttft: (p, m) => {
    const d = TTFT_DEFAULTS;
    const s = ttftScorer(
      {
        prefillMsPerToken: p.num('prefillMsPerToken', d.prefillMsPerToken, { min: 0 }),
        stepMs: p.num('stepMs', d.stepMs, { min: 0 }),
        decodeMsPerSeq: p.num('decodeMsPerSeq', d.decodeMsPerSeq, { min: 0 }),
        maxBatchedTokens: p.num('maxBatchedTokens', d.maxBatchedTokens, { min: 1, int: true }),
        cpuLoadMsPerToken: p.num('cpuLoadMsPerToken', d.cpuLoadMsPerToken, { min: 0 }),
        affinity: p.num('affinity', d.affinity, { min: 0 }),
        backlogMs: p.num('backlogMs', d.backlogMs, { min: 0 }),
      },
      m.cpuWeight,
    );
    p.done();
    return s;
  },
};

export const pickers: Record<string, Factory<Picker>> = {
  'max-score': noParams(maxScorePicker),
  random: noParams(randomPicker),
  'round-robin': noParams(roundRobinPicker),
  softmax: (p) => {
    const s = softmaxPicker(p.num('temperature', 0, { min: 0 }));
    p.done();
    return s;
  },
  chwbl: (p) => {
    const s = chwblPicker({
      loadFactor: p.num('loadFactor', 1.25, { min: 1 }),
      replication: p.num('replication', 256, { min: 1, max: 65536, int: true }),
      prefixTokens: p.num('prefixTokens', 1024, { min: 1, int: true }),
    });
    p.done();
    return s;
  },
  'cache-aware': (p, m) => {
    const s = cacheAwarePicker({
      cacheThreshold: p.num('cacheThreshold', 0.5, { min: 0, max: 1 }),
      balanceAbsThreshold: p.num('balanceAbsThreshold', 32, { min: 0 }),
      balanceRelThreshold: p.num('balanceRelThreshold', 1.0001, { min: 1 }),
      cpuWeight: m.cpuWeight,
    });
    p.done();
    return s;
  },
};

export function makeScorer(
  name: string,
  params: Record<string, unknown> | undefined,
  field: string,
  match: MatchOptions = { cpuWeight: DEFAULT_CPU_WEIGHT },
): Scorer {
  const f = own(scorers, name);
  if (!f)
    throw new PolicyConfigError(
      `${field}.name`,
      `unknown scorer "${name}" (known: ${Object.keys(scorers).join(', ')})`,
    );
  return f(new Params(params, `${field}.params`), match);
}

export function makePicker(
  name: string,
  params: Record<string, unknown> | undefined,
  field: string,
  match: MatchOptions = { cpuWeight: DEFAULT_CPU_WEIGHT },
): Picker {
  const f = own(pickers, name);
  if (!f)
    throw new PolicyConfigError(
      `${field}.name`,
      `unknown picker "${name}" (known: ${Object.keys(pickers).join(', ')})`,
    );
  return f(new Params(params, `${field}.params`), match);
}
