/** One request of a workload, before load scaling. */
export interface TraceRequest {
  /**
   * Arrival, ms from the workload's start (non-decreasing across the list).
   * For a follow-up turn of a session, the nominal arrival had every earlier
   * answer been instant (session start + the think times so far): it orders
   * the list, while the simulator sends the turn `session.thinkMs` after the
   * previous turn's answer completes.
   */
  arrivalMs: number;
  inputTokens: number;
  outputTokens: number;
  /** The prompt's token ids (built on demand: workloads can be large). */
  prompt(): Uint32Array;
  /** The tokens the model answers with, when the workload fixes them (multi-turn history). */
  output?(): Uint32Array;
  /** Set on requests of a closed-loop session (multi-turn chat). */
  session?: SessionTurn;
}

/**
 * A turn of a closed-loop session: turn `turn` (0 = first) of session `id`.
 * Turn k+1 is sent `thinkMs` after turn k finishes (completes or is
 * rejected), so it never overtakes the answer its prompt contains. Turns of
 * one session have strictly increasing nominal `arrivalMs`.
 */
export interface SessionTurn {
  id: number;
  turn: number;
  /** User think time before this turn, after the previous turn finished (0 for turn 0). */
  thinkMs: number;
}

export interface Workload {
  name: string;
  requests: TraceRequest[];
}
