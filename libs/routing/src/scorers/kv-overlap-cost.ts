import { cpuBlocks, uncachedTokens } from '../match.js';
import type { Scorer } from './scorer.js';

export interface KvOverlapCostParams {
  /** Dynamo `--kv-overlap-score-weight` (default 1). */
  overlapScoreWeight: number;
  /** A CPU-only block counts as (1 − cpuWeight) of a block to prefill (MatchOptions). */
  cpuWeight: number;
}

/**
 * NVIDIA Dynamo's KV router cost, per worker:
 * `logit = overlap_score_weight × potential_prefill_blocks + potential_active_blocks`,
 * where potential prefill blocks are the worker's active prefill tokens plus
 * this request's tokens past its cached overlap (a CPU-only block overlaps at
 * `cpuWeight`), in blocks, and potential active blocks are the blocks of the
 * worker's active sequences plus this request's. Logits are divided by the largest (as Dynamo does) and the score
 * is 1 − normalised logit, so the argmax score is Dynamo's argmin cost.
 *
 * Difference: Dynamo counts a worker's active blocks as a set (shared prefix
 * blocks once); the router's accounting sums per request.
 */
export const kvOverlapCostScorer = (p: KvOverlapCostParams): Scorer => ({
  name: 'kv-overlap-cost',
  score(input, pods) {
    const bs = input.blockSize;
    const requestBlocks = Math.ceil(input.promptTokens / bs);
    const logits = new Float64Array(pods.length);
    let max = 0;
    pods.forEach((pod, i) => {
      let own = uncachedTokens(input, pod.pod);
      const cpu = cpuBlocks(input, pod.pod);
      if (cpu > 0) own += (1 - p.cpuWeight) * cpu * bs;
      const prefillBlocks = (pod.inFlightPrefillTokens + own) / bs;
      const activeBlocks = Math.ceil(pod.inFlightTokens / bs) + requestBlocks;
      const logit = p.overlapScoreWeight * prefillBlocks + activeBlocks;
      logits[i] = logit;
      if (logit > max) max = logit;
    });
    const scores = Float64Array.from(logits, (l) => (max > 0 ? 1 - l / max : 1));
    return { scores, detail: { label: 'costBlocks', values: logits } };
  },
});
