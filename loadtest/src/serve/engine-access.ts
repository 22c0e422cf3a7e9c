import type { EngineModel } from '../engine/engine.js';

/**
 * The parts of `EngineModel`'s internal state the real-time server needs and
 * the model does not (yet) expose: a request's progress and generated token
 * ids after each step, and aborting a request (vLLM frees its blocks, tail
 * first, leaving full computed blocks in the prefix cache). Everything here is
 * read or changed only between steps. The shape is checked when a pod starts
 * and at every enqueue, so a change to the engine model fails loudly with
 * `EngineShapeError` instead of streaming garbage.
 */
export interface SeqView {
  readonly id: string;
  /** Output tokens generated so far (never decreases, kept across preemption). */
  readonly numOut: number;
  readonly promptLen: number;
  /** Prompt then output token ids; `tokens[promptLen + k]` is output token k once numOut > k. */
  readonly tokens: Uint32Array;
  blocks: number[];
}

interface Internals {
  waiting: SeqView[];
  running: SeqView[];
  pool: { release(block: number): void };
}

export class EngineShapeError extends Error {
  override name = 'EngineShapeError';
}

function internals(engine: EngineModel): Internals {
  return engine as unknown as Internals;
}

/** Throws EngineShapeError unless `engine` has the internal fields this module relies on. */
export function checkEngineShape(engine: EngineModel): void {
  const e = internals(engine);
  if (
    !Array.isArray(e.waiting) ||
    !Array.isArray(e.running) ||
    typeof e.pool?.release !== 'function'
  )
    throw new EngineShapeError(
      'EngineModel internals changed (waiting/running/pool.release): update loadtest/src/serve/engine-access.ts',
    );
}

/** The request just enqueued under `id` (the last waiting one). O(1). */
export function lastEnqueued(engine: EngineModel, id: string): SeqView {
  const s = internals(engine).waiting.at(-1);
  if (
    !s ||
    s.id !== id ||
    typeof s.numOut !== 'number' ||
    typeof s.promptLen !== 'number' ||
    !(s.tokens instanceof Uint32Array) ||
    !Array.isArray(s.blocks)
  )
    throw new EngineShapeError(
      `EngineModel internals changed: request ${id} is not the last waiting sequence with numOut/promptLen/tokens/blocks`,
    );
  return s;
}

/**
 * Removes `seq` from the engine as vLLM's abort does: out of the waiting or
 * running queue, its blocks released tail first (cached ones stay reusable).
 * Returns false when the engine no longer holds it (it finished). O(queue).
 */
export function abortSeq(engine: EngineModel, seq: SeqView): boolean {
  engine.firstHitTokens.delete(seq.id);
  return engine.abort(seq.id);
}

/** Prompt tokens found cached when the request was first admitted, and forgets it (the map only grows otherwise). */
export function takeCachedTokens(engine: EngineModel, id: string): number {
  const m = engine.firstHitTokens;
  const n = m.get(id) ?? 0;
  m.delete(id);
  return n;
}
