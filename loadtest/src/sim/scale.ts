import type { LatencyModel } from '../engine/latency.js';
import type { Workload } from '../workload/types.js';
import type { SessionLinks } from './sessions.js';
import { sessionLinks } from './sessions.js';

/**
 * Time scale for `--load F`: the arrivals of roots (every open-loop request,
 * and the first turn of each closed-loop session) are stretched or compressed
 * so the fleet's offered work with no cache hits (Σ requestWorkMs of all
 * requests, follow-up turns included) is the fraction F of its capacity (pods
 * × wall time) over the span of those arrivals. Think times are the users'
 * and are not scaled, so for sessions F is the steady-state load (session
 * rate × work per session), reached once the run is longer than a session.
 * Returns the factor to multiply root arrival offsets by.
 */
export function loadScale(
  w: Workload,
  pods: number,
  load: number,
  latency: LatencyModel,
  links: SessionLinks = sessionLinks(w.requests),
): number {
  if (!(load > 0) || !Number.isFinite(load))
    throw new RangeError(`load must be a finite number > 0, got ${load}`);
  const r = w.requests;
  const roots = links.roots;
  if (roots.length < 2) return 1;
  let work = 0;
  for (const q of r) work += latency.requestWorkMs(q.inputTokens, q.outputTokens);
  const span = r[roots[roots.length - 1]!]!.arrivalMs - r[roots[0]!]!.arrivalMs;
  if (span <= 0) return 1;
  return work / (pods * load) / span;
}
