import type { LatencyModel } from '../engine/latency.js';
import type { Workload } from '../workload/types.js';

/**
 * Time scale for `--load F`: arrivals are stretched or compressed so the
 * fleet's offered work with no cache hits (Σ requestWorkMs) is the fraction F
 * of its capacity (pods × wall time) over the trace's span. Returns the
 * factor to multiply arrival offsets by.
 */
export function loadScale(w: Workload, pods: number, load: number, latency: LatencyModel): number {
  if (!(load > 0)) throw new RangeError(`load must be > 0, got ${load}`);
  const r = w.requests;
  if (r.length < 2) return 1;
  let work = 0;
  for (const q of r) work += latency.requestWorkMs(q.inputTokens, q.outputTokens);
  const span = r[r.length - 1]!.arrivalMs - r[0]!.arrivalMs;
  if (span <= 0) return 1;
  return work / (pods * load) / span;
}
