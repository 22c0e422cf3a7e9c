import { effectiveBlocks } from '../match.js';
import type { PodState } from '../types.js';
import type { Picker } from './picker.js';

export interface CacheAwareParams {
  /** Minimum match ratio for cache routing (sgl-router `--cache-threshold`, default 0.5). */
  cacheThreshold: number;
  /** sgl-router `--balance-abs-threshold` (default 32). */
  balanceAbsThreshold: number;
  /** sgl-router `--balance-rel-threshold` (default 1.0001). */
  balanceRelThreshold: number;
  /** Weight of CPU-only blocks in the match ratio (MatchOptions). */
  cpuWeight: number;
}

/**
 * Tokens the pod's cache holds, standing in for the size of sgl-router's
 * per-worker tree: the engine's KV usage (as of its last heartbeat), or the
 * router's own in-flight tokens when larger — those grow at once with every
 * routed request, as sgl-router's tree does, where the heartbeat lags.
 */
function cacheTokens(p: PodState): number {
  return Math.max(p.kvUsage * p.capacityBlocks * p.blockSize, p.inFlightTokens);
}

/**
 * SGLang router's `cache_aware` policy. Load is the router's in-flight count
 * per pod. When imbalanced — `max − min > abs` and `max > rel × min` — the
 * least-loaded pod wins (shortest queue). Otherwise the pod with the highest
 * prefix match ratio (matched ÷ request blocks) wins if that ratio exceeds the
 * threshold (CPU-only blocks at `cpuWeight`), else the pod with the smallest cache (`cacheTokens`; ties go to
 * the least-loaded), as sgl-router sends it to the worker with the smallest
 * tree. sgl-router matches against an approximate tree of the requests it
 * routed; here the index's speculative depth (which records every routed
 * request) plus confirmed events play that part. Fallbacks: by load.
 */
export const cacheAwarePicker = (p: CacheAwareParams): Picker => ({
  name: 'cache-aware',
  order(input, pods, _totals, rng) {
    const byLoad = pods
      .map((x, i) => [x.inFlight, i] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map((x) => x[1]);
    const min = pods[byLoad[0]!]!.inFlight;
    const max = pods[byLoad.at(-1)!]!.inFlight;
    const imbalanced = max - min > p.balanceAbsThreshold && max > min * p.balanceRelThreshold;
    let chosen = byLoad[0]!;
    if (!imbalanced) {
      let best = -1;
      let bestRatio = 0;
      let ties = 0;
      if (input.totalBlocks > 0) {
        pods.forEach((x, i) => {
          const ratio = effectiveBlocks(input, x.pod, p.cpuWeight) / input.totalBlocks;
          if (ratio > bestRatio) {
            bestRatio = ratio;
            best = i;
            ties = 1;
          } else if (ratio === bestRatio && best >= 0 && rng() * ++ties < 1) {
            best = i;
          }
        });
      }
      if (best >= 0 && bestRatio > p.cacheThreshold) chosen = best;
      else {
        // Smallest cache; walking in load order makes the least-loaded win ties.
        let smallest = Infinity;
        for (const i of byLoad) {
          const size = cacheTokens(pods[i]!);
          if (size < smallest) {
            smallest = size;
            chosen = i;
          }
        }
      }
    }
    return [chosen, ...byLoad.filter((i) => i !== chosen)];
  },
});
