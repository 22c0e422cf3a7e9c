import type { TraceRequest } from '../workload/types.js';

/** How a replay releases its requests: by the clock (roots) or after a predecessor. */
export interface SessionLinks {
  /** Indices released at their (scaled) arrival time, ascending: every request that follows no other in the list. */
  roots: number[];
  /** next[i]: index of the turn released when request i finishes, or -1. */
  next: Int32Array;
}

/**
 * Links the turns of closed-loop sessions in `reqs` (sorted by arrivalMs).
 * A turn whose previous turn is not in the list (cut away by an offset) is
 * a root like any open-loop request. O(n).
 */
export function sessionLinks(reqs: readonly TraceRequest[]): SessionLinks {
  const n = reqs.length;
  const next = new Int32Array(n).fill(-1);
  const roots: number[] = [];
  // session id → [turn, index] of the latest turn seen
  const last = new Map<number, [number, number]>();
  for (let i = 0; i < n; i++) {
    const s = reqs[i]!.session;
    const prev = s ? last.get(s.id) : undefined;
    if (s) last.set(s.id, [s.turn, i]);
    if (s && prev && prev[0] === s.turn - 1) {
      next[prev[1]] = i;
    } else {
      roots.push(i);
    }
  }
  return { roots, next };
}
