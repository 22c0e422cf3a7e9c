import type { PodState, RouteInput } from './types.js';

/**
 * Weight of a CPU-offloaded block against a GPU-resident one (1) and a miss
 * (0) in every policy's match, unless the policy sets `cpuWeight`. A CPU hit
 * spares the prefill but costs a transfer back to the GPU, and the index's
 * tier boundary is coarse (the run past the leading GPU blocks may mix
 * tiers); the midpoint keeps GPU > CPU > miss without claiming a precision
 * the figures do not have. It also matches llm-d's tiered prefix-cache guide,
 * where one GPU and one CPU prefix scorer of equal weight score a GPU-held
 * prefix (also in CPU, as offloading stores every block) twice a CPU-only one.
 */
export const DEFAULT_CPU_WEIGHT = 0.5;

/** How a policy weighs its pods' matches; the same for all its scorers and its picker. */
export interface MatchOptions {
  /** See DEFAULT_CPU_WEIGHT; 0..1. */
  cpuWeight: number;
}

/**
 * Leading blocks of the request a pod is taken to hold, in any tier: the
 * deepest of its confirmed and speculative runs, capped at the request's
 * blocks. The prefill a pod skips; ranking uses `effectiveBlocks`.
 */
export function matchedBlocks(input: RouteInput, pod: string): number {
  const m = input.matches.get(pod);
  if (!m) return 0;
  return Math.min(input.totalBlocks, Math.max(m.total, m.speculative));
}

/**
 * Of `matchedBlocks`, those confirmed only past the leading GPU run, taken as
 * CPU-resident: blocks gpu..total−1, capped at the request's blocks. The
 * speculative tail (blocks past `total`) belongs to a request just routed
 * there, which computes them on the GPU.
 */
export function cpuBlocks(input: RouteInput, pod: string): number {
  const m = input.matches.get(pod);
  if (!m) return 0;
  const cap = input.totalBlocks;
  return Math.max(0, Math.min(cap, m.total) - Math.min(cap, m.gpu));
}

/**
 * The match every policy ranks by: `gpu + cpuWeight × (total − gpu)` plus the
 * speculative tail, capped at the request's blocks — `matchedBlocks` with
 * CPU-only blocks discounted. When every block is in GPU memory it is exactly
 * `matchedBlocks` (no arithmetic on it), whatever the weight. O(1).
 */
export function effectiveBlocks(input: RouteInput, pod: string, cpuWeight: number): number {
  const m = input.matches.get(pod);
  if (!m) return 0;
  const cap = input.totalBlocks;
  const full = Math.min(cap, Math.max(m.total, m.speculative));
  const cpu = Math.min(cap, m.total) - Math.min(cap, m.gpu);
  return cpu > 0 ? full - (1 - cpuWeight) * cpu : full;
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
