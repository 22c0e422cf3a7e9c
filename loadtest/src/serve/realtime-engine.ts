import type { EngineModel } from '../engine/engine.js';
import type { EngineRequest, StepResult } from '../engine/types.js';

export type FinishReason = 'length' | 'rejected' | 'abort';

export interface FinishInfo {
  reason: FinishReason;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache at the request's first admission. */
  cachedTokens: number;
}

/** Where one request's output goes. Calls arrive in order: `tokens`* then one `finish`. */
export interface RequestSink {
  /** Output token ids produced by one engine step (usually one); a view, copy to keep. */
  tokens(ids: Uint32Array): void;
  finish(info: FinishInfo): void;
}

export interface RealtimeEngineOptions {
  /** Model milliseconds per wall millisecond (10 = the latency model runs 10× faster). Default 1. */
  timeScale?: number;
  /** Called at the end of every step, before its tokens reach the sinks (KV events, counters). */
  onStepEnd?(result: StepResult): void;
  /** A sink or `onStepEnd` threw: reported here, the loop goes on. */
  onError?(error: unknown): void;
}

interface Live {
  sink: RequestSink;
  /** Output tokens handed to the sink. */
  sent: number;
}

/** Behind by more than this (a stalled event loop), the clock restarts instead of racing to catch up. */
const MAX_LAG_MS = 100;

/**
 * Drives an `EngineModel` on the real clock, as vLLM's engine core loop runs:
 * a step is scheduled when the previous one ends; it lasts the latency
 * model's duration divided by the time scale; its results (KV events, tokens,
 * finished requests) take effect when it ends. Requests submitted or aborted
 * during a step are seen by the next one. Step ends are placed on a model
 * clock, so timer granularity does not accumulate into drift.
 *
 * Invariant: the loop is idle (no timer) iff the engine had nothing to do at
 * the end of the last step; `submit` restarts it.
 */
export class RealtimeEngine {
  private readonly live = new Map<string, Live>();
  /** Aborted ids the engine still holds: applied before the next step. */
  private aborts: string[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private pending: StepResult | null = null;
  /** Wall and model clocks at the same instant, the reference for step ends. */
  private baseWallMs = 0;
  private baseModelMs = 0;
  /** Model time: the sum of all step durations, monotonic. */
  private modelMs = 0;
  private closed = false;
  private slipMs = 0;
  readonly timeScale: number;

  constructor(
    readonly engine: EngineModel,
    private readonly options: RealtimeEngineOptions = {},
  ) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0) || !Number.isFinite(this.timeScale))
      throw new RangeError(`timeScale must be a finite number > 0, got ${this.timeScale}`);
  }

  /**
   * Wall milliseconds the loop fell behind the scaled latency model and gave
   * up catching up on (the server's own work per step exceeded the scaled
   * step time): 0 while the simulation keeps its clock.
   */
  get clockSlipMs(): number {
    return this.slipMs;
  }

  /** Requests submitted and not yet finished or aborted. */
  get liveRequests(): number {
    return this.live.size;
  }

  /** Queues a request (unique id); its sink hears of every step that produces its tokens. */
  submit(req: EngineRequest, sink: RequestSink): void {
    if (this.closed) throw new Error('engine closed');
    if (this.live.has(req.id) || this.aborts.includes(req.id))
      throw new Error(`duplicate request id ${req.id}`);
    this.engine.enqueue(req, this.modelNow());
    this.live.set(req.id, { sink, sent: 0 });
    if (this.timer === undefined) {
      this.baseWallMs = performance.now();
      this.baseModelMs = this.modelMs;
      this.timer = setImmediate(() => this.tick());
    }
  }

  /**
   * Stops a request (client gone): its sink gets `finish('abort')` now; the
   * engine frees its blocks between steps, as vLLM processes aborts.
   */
  abort(id: string): void {
    const l = this.live.get(id);
    if (!l) return;
    this.live.delete(id);
    // A request whose last step is still in flight has left the engine already.
    const cachedTokens =
      this.engine.cachedPromptTokens(id) ??
      this.pending?.finished.find((f) => f.id === id)?.cachedTokens ??
      0;
    this.aborts.push(id);
    if (this.timer === undefined) this.applyAborts();
    this.safely(() => l.sink.finish({ reason: 'abort', outputTokens: l.sent, cachedTokens }));
  }

  /** Stops the loop and aborts every live request. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    for (const id of [...this.live.keys()]) this.abort(id);
    this.applyAborts();
  }

  private modelNow(): number {
    return this.modelMs;
  }

  private tick(): void {
    this.timer = undefined;
    if (this.closed) return;
    const done = this.pending;
    this.pending = null;
    if (done) this.deliver(done);
    this.applyAborts();
    const r = this.engine.step(this.modelNow());
    if (!r) return;
    this.pending = r;
    this.modelMs += r.durationMs;
    const now = performance.now();
    let due = this.baseWallMs + (this.modelMs - this.baseModelMs) / this.timeScale;
    if (now - due > MAX_LAG_MS) {
      this.slipMs += now - due;
      this.baseWallMs = now;
      this.baseModelMs = this.modelMs;
      due = now;
    }
    const wait = due - now;
    this.timer = wait >= 1 ? setTimeout(() => this.tick(), wait) : setImmediate(() => this.tick());
  }

  private deliver(r: StepResult): void {
    if (this.options.onStepEnd) this.safely(() => this.options.onStepEnd!(r));
    for (const g of r.generated) {
      const l = this.live.get(g.id);
      if (!l) continue;
      l.sent += g.tokens.length;
      this.safely(() => l.sink.tokens(g.tokens));
    }
    for (const f of r.finished) {
      const l = this.live.get(f.id);
      if (!l) continue;
      this.live.delete(f.id);
      const info: FinishInfo = {
        reason: f.rejected ? 'rejected' : 'length',
        outputTokens: f.outputTokens,
        cachedTokens: f.cachedTokens,
      };
      this.safely(() => l.sink.finish(info));
    }
  }

  private applyAborts(): void {
    for (const id of this.aborts) this.engine.abort(id);
    this.aborts = [];
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.options.onError?.(e);
    }
  }
}
