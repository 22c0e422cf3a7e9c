import { cpuBlocks, uncachedTokens } from '../match.js';
import type { Scorer } from './scorer.js';

/**
 * Engine cost figures the estimate uses. Defaults describe Llama-3.1-8B on
 * one H100 under vLLM (the load simulator's reference model, see
 * loadtest/README.md); set them for other hardware.
 */
export interface TtftParams {
  /** Marginal prefill cost per prompt token, ms. */
  prefillMsPerToken: number;
  /** Fixed cost of one engine step (scheduling + one read of the weights), ms. */
  stepMs: number;
  /** Extra step cost per running (decoding) sequence, ms. */
  decodeMsPerSeq: number;
  /** Engine token budget per step (vLLM max_num_batched_tokens). */
  maxBatchedTokens: number;
  /**
   * Time to bring one CPU-offloaded token's KV back to the GPU, ms: a CPU
   * hit is loaded, not recomputed. Llama-3.1-8B holds 128 KiB of KV per
   * token (32 layers × 8 KV heads × 128 dims × K and V × 2 bytes); 0.004
   * ms/token is ≈ 33 GB/s, half of PCIe 5.0 x16's 64 GB/s allowing for
   * block-sized copies, and a ninth of the prefill cost. Added to the
   * estimate outside the step budget: the engine loads while others run.
   */
  cpuLoadMsPerToken: number;
  /**
   * A cached token is credited (1 + affinity) × its prefill time (the
   * affinity part × the policy's cpuWeight for a CPU-only one): reusing a
   * pod's cache also spares the fleet a second copy of the prefix (cache
   * space) and its recomputation later, which matters most when the fleet is
   * saturated. 0 = pure time-to-first-token. A fixed credit (`backlogMs` 0)
   * helps a saturated fleet but melts pods on multi-turn chat at moderate
   * load; scaled by backlog it keeps both (loadtest/README.md). Default 8.
   */
  affinity: number;
  /**
   * The credit scales with fleet backlog: × min(1, shortest pod queue ÷
   * backlogMs). While some pod has no queue there is spare capacity and no
   * credit; once every pod has `backlogMs` of queued prefill, the full credit.
   * 0 = always the full credit. Default 500.
   */
  backlogMs: number;
}

export const TTFT_DEFAULTS: TtftParams = {
  prefillMsPerToken: 0.036,
  stepMs: 8.4,
  decodeMsPerSeq: 0.033,
  maxBatchedTokens: 8192,
  cpuLoadMsPerToken: 0.004,
  affinity: 8,
  backlogMs: 500,
};

/**
 * Estimated time to first token on each pod (ms): the pod's pending prefill
 * (this router's in-flight uncached tokens, plus engine-queued requests this
 * router does not know of, sized like this one) followed by this request's
 * uncached tokens, processed in chunks of the step budget left after the
 * running sequences' decode tokens, plus the load of its CPU-only cached
 * tokens. Score = best estimate ÷ own estimate.
 */
export const ttftScorer = (p: TtftParams, cpuWeight: number): Scorer => ({
  name: 'ttft',
  score(input, pods) {
    const est = new Float64Array(pods.length);
    const cachedTokens = new Float64Array(pods.length);
    let minQueueMs = Infinity;
    pods.forEach((pod, i) => {
      const own = uncachedTokens(input, pod.pod);
      const cpuTokens = cpuBlocks(input, pod.pod) * input.blockSize;
      cachedTokens[i] = input.promptTokens - own;
      const unknownQueued = Math.max(0, pod.waiting - pod.inFlightPrefilling);
      const pending = pod.inFlightPrefillTokens + unknownQueued * input.promptTokens;
      const running = Math.max(pod.running, pod.inFlight - pod.inFlightPrefilling);
      const perStep = Math.max(1, p.maxBatchedTokens - running);
      const cost = (tokens: number) =>
        tokens * p.prefillMsPerToken +
        Math.ceil(tokens / perStep) * (p.stepMs + running * p.decodeMsPerSeq);
      est[i] = cost(pending + own);
      if (cpuTokens > 0) {
        est[i]! += cpuTokens * p.cpuLoadMsPerToken;
        cachedTokens[i] = Math.max(0, cachedTokens[i]! - (1 - cpuWeight) * cpuTokens);
      }
      minQueueMs = Math.min(minQueueMs, pending > 0 ? cost(pending) : 0);
    });
    // Credit for reuse beyond this request's own saving (see `affinity`, `backlogMs`).
    const pressure = p.backlogMs > 0 ? Math.min(1, minQueueMs / p.backlogMs) : 1;
    let best = Infinity;
    for (let i = 0; i < est.length; i++) {
      est[i]! -= p.affinity * pressure * cachedTokens[i]! * p.prefillMsPerToken;
      if (est[i]! < best) best = est[i]!;
    }
    // Shift so every estimate is positive when affinity credits push some below zero.
    const shift = best <= 0 ? 1 - best : 0;
    const scores = Float64Array.from(est, (e) => (best + shift) / (e + shift));
    return { scores, detail: { label: 'ttftMs', values: est } };
  },
});
