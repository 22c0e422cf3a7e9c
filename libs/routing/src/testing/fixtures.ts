import type { MatchDepth, PodState, RouteInput } from '../types.js';

/** A pod state with everything idle, overridden by `over`. */
export function pod(name: string, over: Partial<PodState> = {}): PodState {
  return {
    pod: name,
    model: 'm',
    role: 'both',
    waiting: 0,
    running: 0,
    kvUsage: 0,
    capacityBlocks: 1000,
    blockSize: 16,
    lastHeartbeatMs: 0,
    inFlight: 0,
    inFlightPrefillTokens: 0,
    inFlightPrefilling: 0,
    inFlightTokens: 0,
    ...over,
  };
}

/**
 * A request of `blocks` full 16-token blocks whose keys start from `seed`
 * (equal seeds give equal keys), with per-pod matches in blocks: a number is
 * a run held in GPU memory, a MatchDepth gives the tiers.
 */
export function request(
  blocks: number,
  matches: Record<string, number | MatchDepth> = {},
  seed = 1,
): RouteInput {
  const keys = new Uint32Array(2 * blocks);
  for (let i = 0; i < blocks; i++) {
    keys[2 * i] = Math.imul(seed, 0x9e3779b1) ^ i;
    keys[2 * i + 1] = seed;
  }
  const m = new Map<string, MatchDepth>();
  for (const [p, d] of Object.entries(matches)) {
    m.set(p, typeof d === 'number' ? { gpu: d, total: d, speculative: d } : d);
  }
  return {
    model: 'm',
    blockSize: 16,
    promptTokens: blocks * 16,
    totalBlocks: blocks,
    matches: m,
    keys,
  };
}
