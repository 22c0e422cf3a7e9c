import type { MatchOptions } from '../match.js';
import { effectiveBlocks, lowerIsBetter, requestLoad } from '../match.js';
import type { Scorer } from './scorer.js';

/**
 * GIE / llm-d `prefix-cache-scorer`: the fraction of the request's blocks the
 * pod holds from block 0 (matched blocks ÷ total blocks), CPU-only blocks at
 * the policy's weight.
 */
export const prefixCacheScorer = (m: MatchOptions): Scorer => ({
  name: 'prefix-cache',
  score(input, pods) {
    const scores = new Float64Array(pods.length);
    if (input.totalBlocks > 0) {
      pods.forEach(
        (p, i) => (scores[i] = effectiveBlocks(input, p.pod, m.cpuWeight) / input.totalBlocks),
      );
    }
    return { scores };
  },
});

/** GIE / llm-d `kv-cache-utilization-scorer`: 1 − KV usage. */
export const kvUtilizationScorer = (): Scorer => ({
  name: 'kv-cache-utilization',
  score(_input, pods) {
    return { scores: Float64Array.from(pods, (p) => 1 - Math.min(1, Math.max(0, p.kvUsage))) };
  },
});

/**
 * GIE / llm-d `queue-scorer`: min-max normalised engine waiting-queue length,
 * shortest queue → 1, longest → 0, all equal → 1.
 */
export const queueScorer = (): Scorer => ({
  name: 'queue',
  score(_input, pods) {
    const raw = Float64Array.from(pods, (p) => p.waiting);
    return { scores: lowerIsBetter(raw), detail: { label: 'waiting', values: raw } };
  },
});

/** Least-loaded: min-max normalised request load (max of router in-flight and engine waiting+running). */
export const loadScorer = (): Scorer => ({
  name: 'load',
  score(_input, pods) {
    const raw = Float64Array.from(pods, requestLoad);
    return { scores: lowerIsBetter(raw), detail: { label: 'requests', values: raw } };
  },
});
