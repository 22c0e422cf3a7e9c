import type { PodState, RouteInput } from '../types.js';

/**
 * Scores every candidate in [0,1], higher is better, in candidate order.
 * `detail`, when present, carries a raw figure per candidate for `explain`
 * (its label names the unit, e.g. `ttftMs`).
 */
export interface Scorer {
  readonly name: string;
  score(input: RouteInput, pods: readonly PodState[]): ScoreResult;
}

export interface ScoreResult {
  scores: Float64Array;
  detail?: { label: string; values: Float64Array };
}
