import type { Rng } from '../rng.js';
import type { PodState, RouteInput } from '../types.js';

/**
 * Orders the candidates, best first: element 0 is the pick, the rest are the
 * fallbacks. `totals` are the weighted scorer sums (all zero when the policy
 * has no scorers). Returns a permutation of candidate indices.
 */
export interface Picker {
  readonly name: string;
  order(input: RouteInput, pods: readonly PodState[], totals: Float64Array, rng: Rng): number[];
}

/** Indices sorted by `key` descending, ties in a random order. */
export function sortDescRandomTies(key: ArrayLike<number>, rng: Rng): number[] {
  const tie = Array.from({ length: key.length }, () => rng());
  return Array.from({ length: key.length }, (_, i) => i).sort(
    (a, b) => key[b]! - key[a]! || tie[a]! - tie[b]!,
  );
}
