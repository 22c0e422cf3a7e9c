/**
 * Step-time model of one engine step, a roofline over the batch: the linear
 * layers cost the larger of one read of the weights (memory-bound) and their
 * FLOPs for every batched token (compute-bound); attention costs the larger of
 * its FLOPs and one read of the KV cache it attends to; plus a fixed
 * scheduling overhead. See loadtest/README.md for the reference figures.
 */
export interface LatencyModel {
  readonly name: string;
  /** One step: `tokens` batched tokens, attention FLOP units and KV tokens read. */
  stepMs(batch: StepShape): number;
  /**
   * Work of a request on an otherwise busy engine with no cache hit (ms):
   * marginal linear + attention cost of its prompt and its output tokens.
   * Defines "offered load" (`--load`): independent of any policy.
   */
  requestWorkMs(promptTokens: number, outputTokens: number): number;
}

export interface StepShape {
  /** Tokens processed by the linear layers (prefill chunk tokens + one per decode). */
  tokens: number;
  /** Σ over scheduled chunks of q × (context before the chunk + q/2): causal attention pairs. */
  attentionPairs: number;
  /** Σ over scheduled chunks of context tokens whose KV is read (before + within the chunk). */
  kvTokensRead: number;
}

export interface HardwareModel {
  name: string;
  /** Parameters (for the linear FLOPs: 2 per parameter per token). */
  params: number;
  weightBytes: number;
  layers: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  bytesPerValue: number;
  peakFlops: number;
  memBytesPerS: number;
  /** Achieved fraction of peak for GEMMs, for attention, and of memory bandwidth. */
  gemmEfficiency: number;
  attentionEfficiency: number;
  memEfficiency: number;
  stepOverheadMs: number;
}

/**
 * Llama-3.1-8B (32 layers, 32 query / 8 KV heads of 128, 8.03 B parameters,
 * BF16) on one H100 SXM5 (989 TFLOPS dense BF16, 3.35 TB/s HBM3).
 */
export const LLAMA31_8B_H100: HardwareModel = {
  name: 'llama-3.1-8b/h100-sxm',
  params: 8.03e9,
  weightBytes: 16.06e9,
  layers: 32,
  qHeads: 32,
  kvHeads: 8,
  headDim: 128,
  bytesPerValue: 2,
  peakFlops: 989e12,
  memBytesPerS: 3.35e12,
  gemmEfficiency: 0.5,
  attentionEfficiency: 0.4,
  memEfficiency: 0.7,
  stepOverheadMs: 1,
};

/**
 * `h` with its FLOP-bound time (linear layers and attention compute: prefill)
 * multiplied by `prefillCost` and its memory-bound time (reads of the weights
 * and the KV cache: decode) by `decodeCost`; the step overhead is unchanged.
 * For checking how a policy tuned on `h` fares when the real engine differs.
 */
export function perturbedHardware(
  h: HardwareModel,
  prefillCost: number,
  decodeCost: number,
): HardwareModel {
  if (!(prefillCost > 0 && decodeCost > 0 && Number.isFinite(prefillCost + decodeCost)))
    throw new RangeError(`cost factors must be finite and > 0, got ${prefillCost}, ${decodeCost}`);
  return {
    ...h,
    name: `${h.name} (prefill ×${prefillCost}, decode ×${decodeCost})`,
    peakFlops: h.peakFlops / prefillCost,
    memBytesPerS: h.memBytesPerS / decodeCost,
  };
}

/** Bytes of KV cache per token: K and V, per layer, per KV head. */
export function kvBytesPerToken(h: HardwareModel): number {
  return 2 * h.layers * h.kvHeads * h.headDim * h.bytesPerValue;
}

export function rooflineLatency(h: HardwareModel = LLAMA31_8B_H100): LatencyModel {
  const gemmFlopsPerMs = (h.peakFlops * h.gemmEfficiency) / 1000;
  const attnFlopsPerMs = (h.peakFlops * h.attentionEfficiency) / 1000;
  const memBytesPerMs = (h.memBytesPerS * h.memEfficiency) / 1000;
  const linearFlopsPerToken = 2 * h.params;
  // QKᵀ and AV: 2 FLOPs per multiply-add, 2 matmuls, every query head of every layer.
  const attnFlopsPerPair = 4 * h.layers * h.qHeads * h.headDim;
  const kvBytes = kvBytesPerToken(h);
  const weightsMs = h.weightBytes / memBytesPerMs;
  const linearMsPerToken = linearFlopsPerToken / gemmFlopsPerMs;
  const attnMsPerPair = attnFlopsPerPair / attnFlopsPerMs;
  const kvMsPerToken = kvBytes / memBytesPerMs;
  return {
    name: h.name,
    stepMs({ tokens, attentionPairs, kvTokensRead }) {
      if (tokens <= 0) return 0;
      const linear = Math.max(weightsMs, tokens * linearMsPerToken);
      const attention = Math.max(attentionPairs * attnMsPerPair, kvTokensRead * kvMsPerToken);
      return h.stepOverheadMs + linear + attention;
    },
    requestWorkMs(promptTokens, outputTokens) {
      const prefill =
        promptTokens * linearMsPerToken + ((promptTokens * promptTokens) / 2) * attnMsPerPair;
      const ctx = promptTokens + outputTokens / 2;
      const decode = outputTokens * (linearMsPerToken + ctx * kvMsPerToken);
      return prefill + decode;
    },
  };
}
