/** One request of a workload, before load scaling. */
export interface TraceRequest {
  /** Arrival, ms from the workload's start (non-decreasing across the list). */
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /** The prompt's token ids (built on demand: workloads can be large). */
  prompt(): Uint32Array;
  /** The tokens the model answers with, when the workload fixes them (multi-turn history). */
  output?(): Uint32Array;
}

export interface Workload {
  name: string;
  requests: TraceRequest[];
}
