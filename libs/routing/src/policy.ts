import type { Picker } from './pickers/picker.js';
import { PRESETS } from './presets.js';
import { makePicker, makeScorer } from './registry.js';
import { createRng } from './rng.js';
import type { Scorer } from './scorers/scorer.js';
import { parsePolicyConfig } from './config.js';
import { NoCandidateError } from './errors.js';
import type { MatchOptions } from './match.js';
import { DEFAULT_CPU_WEIGHT } from './match.js';
import type { Decision, PodScore, PodState, Policy, PolicyConfig, RouteInput } from './types.js';

/**
 * Builds a policy: the preset's scorers and picker unless the config gives
 * its own. Throws PolicyConfigError naming the bad field. `seed` makes random
 * tie-breaks and sampling reproducible (default 1).
 */
export function createPolicy(config: PolicyConfig, options: { seed?: number } = {}): Policy {
  const c = parsePolicyConfig(config);
  const preset = c.preset ? PRESETS[c.preset] : undefined;
  const scorerCfg = c.scorers ?? preset?.scorers ?? PRESETS.default.scorers;
  const pickerCfg = c.picker ?? preset?.picker ?? PRESETS.default.picker;
  const match: MatchOptions = { cpuWeight: c.cpuWeight ?? DEFAULT_CPU_WEIGHT };
  const weighted: { scorer: Scorer; weight: number }[] = scorerCfg.map((s, i) => ({
    scorer: makeScorer(s.name, s.params, `scorers[${i}]`, match),
    weight: s.weight,
  }));
  const picker: Picker = makePicker(pickerCfg.name, pickerCfg.params, 'picker', match);
  const rng = createRng(options.seed ?? 1);
  // A preset keeps its name when parts are overridden: the name says where the policy started.
  const name = c.preset ?? 'custom';

  return {
    name,
    pick(input: RouteInput, candidates: readonly PodState[], explain = false): Decision {
      if (candidates.length === 0) throw new NoCandidateError('pick needs at least one candidate');
      // Decode-only pods never take a request through pick, not even as the last resort.
      const pods = candidates.some((p) => p.role === 'decode')
        ? candidates.filter((p) => p.role !== 'decode')
        : candidates;
      if (pods.length === 0) {
        throw new NoCandidateError('pick needs a candidate that is not decode-only');
      }
      const totals = new Float64Array(pods.length);
      const parts: Record<string, number>[] | undefined = explain
        ? pods.map(() => ({}))
        : undefined;
      for (const { scorer, weight } of weighted) {
        const r = scorer.score(input, pods);
        for (let i = 0; i < pods.length; i++) {
          totals[i]! += weight * r.scores[i]!;
          if (parts) {
            parts[i]![scorer.name] = r.scores[i]!;
            if (r.detail) parts[i]![r.detail.label] = r.detail.values[i]!;
          }
        }
      }
      const order = picker.order(input, pods, totals, rng);
      const decision: Decision = {
        pod: pods[order[0]!]!.pod,
        fallbacks: order.slice(1).map((i) => pods[i]!.pod),
        policy: name,
      };
      if (parts) {
        decision.scores = pods.map((p, i): PodScore => ({
          pod: p.pod,
          total: totals[i]!,
          parts: parts[i]!,
        }));
      }
      return decision;
    },
  };
}
