import type { PodState, RouteInput } from './types.js';

/**
 * Leading blocks of the request a pod is taken to hold: the deepest of its
 * confirmed (any tier) and speculative runs, capped at the request's blocks.
 */
export function matchedBlocks(input: RouteInput, pod: string): number {
  const m = input.matches.get(pod);
  if (!m) return 0;
  return Math.min(input.totalBlocks, Math.max(m.total, m.speculative));
}

/**
 * Prompt tokens a pod would compute: everything past its cached prefix. The
 * engine always computes at least the last prompt token (vLLM never serves a
 * whole prompt from cache), hence the floor of 1.
 */
export function uncachedTokens(input: RouteInput, pod: string): number {
  const cached = matchedBlocks(input, pod) * input.blockSize;
  return Math.max(Math.min(1, input.promptTokens), input.promptTokens - cached);
}

/** Min-max normalisation where lower raw values are better; all equal → 1 (GIE's neutral score). */
export function lowerIsBetter(raw: Float64Array): Float64Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of raw) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = max === min ? 1 : (max - raw[i]!) / (max - min);
  return out;
}

/** The load signal of load-only policies: the larger of the router's and the engine's counts. */
export function requestLoad(p: PodState): number {
  return Math.max(p.inFlight, p.waiting + p.running);
}
