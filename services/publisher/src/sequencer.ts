import type { EngineFrame } from './frames.js';

export type UncoveredReason = 'no-endpoint' | 'timeout' | 'error' | 'buffer-short';

/** The sequencer's way out: every effect it has goes through these. */
export interface SequencerHooks {
  /** Applies one engine batch; called exactly once per seq, in increasing seq order. */
  apply(frame: EngineFrame, replayed: boolean): void;
  /**
   * Fetches the engine's buffered batches from `fromSeq` on, in order; ends at
   * the end marker. Throws ReplayError when the replay fails.
   * Absent when the engine has no replay endpoint.
   */
  replay: ((fromSeq: number) => AsyncIterable<EngineFrame>) | undefined;
  /** A sequence gap was seen (live seq jumped ahead). */
  gap(fromSeq: number, toSeq: number): void;
  replayStarted(fromSeq: number): void;
  /** A replay failed outright (timeout, socket error); what it leaves missing is reported by `uncovered`. */
  replayFailed(reason: 'timeout' | 'error', cause: unknown): void;
  /** Batches [fromSeq, toSeq) are lost for good. `toSeq` is what follows. */
  uncovered(reason: UncoveredReason, fromSeq: number, toSeq: number, cause?: unknown): void;
  /** The live sequence went backwards: a new engine process. */
  restarted(fromSeq: number, toSeq: number): void;
}

/** How a replay fails: no reply in time, or anything else (socket errors). */
export class ReplayError extends Error {
  override name = 'ReplayError';
  constructor(
    readonly reason: 'timeout' | 'error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Live messages held while a replay runs; past this the newest are dropped (and re-fetched later). */
const MAX_PENDING = 100_000;

/**
 * Orders the engine's batches: live ones from the SUB socket and replayed ones
 * from the ROUTER socket become one stream applied exactly once, in seq order.
 *
 * - Start: replay from 0 (the first live messages are always lost to the ZMQ
 *   slow-joiner effect); live messages wait meanwhile.
 * - Live seq jumps ahead: replay the missed range; live messages wait.
 * - Replay returns a seq past the one needed, fails, or makes no progress: the
 *   range is uncovered (the hook decides how to recover) and the stream goes on.
 * - Live seq at or below the previous live seq, or below the next expected
 *   one after the engine's socket disconnected: the engine restarted; its
 *   stream starts over from 0. (Before any live message and without a
 *   disconnect, a seq below the expected one is a late duplicate of a
 *   replayed batch: live and replay travel on different sockets.)
 *
 * Single-threaded: `live` may be called at any time, including while a replay
 * is being awaited; a generation counter retires replays overtaken by a restart.
 */
export class Sequencer {
  /** The next engine seq to apply; -1 before the first message when there is no replay. */
  private next = -1;
  private lastLive = -1;
  private replaying = false;
  private pending: EngineFrame[] = [];
  private generation = 0;
  private stopped = false;
  private peerLost = false;
  /** Replays in a row that brought nothing new. */
  private barren = 0;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly hooks: SequencerHooks) {}

  /** The next engine seq expected (for status pages). */
  get expected(): number {
    return this.next;
  }

  start(): void {
    if (this.hooks.replay) {
      this.next = 0;
      this.replayFrom(0);
    }
  }

  /** Stops replaying; resolves when an ongoing replay has let go. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    await this.running;
  }

  /** The engine's socket disconnected: the next live message may come from a new process. */
  disconnected(): void {
    this.peerLost = true;
  }

  live(frame: EngineFrame): void {
    if (this.stopped) return;
    const seq = frame.seq;
    const restarted = seq <= this.lastLive || (this.peerLost && seq < this.next);
    this.peerLost = false;
    if (restarted) {
      this.generation++; // a replay of the old engine is worthless now
      this.replaying = false;
      this.pending = [];
      this.barren = 0;
      this.hooks.restarted(Math.max(this.next, this.lastLive + 1), seq);
      this.next = 0;
    }
    this.lastLive = seq;
    if (this.replaying) {
      if (this.pending.length < MAX_PENDING) this.pending.push(frame);
      return;
    }
    this.offer(frame);
  }

  /** The in-order path while no replay runs. */
  private offer(frame: EngineFrame): void {
    const seq = frame.seq;
    if (this.next < 0) {
      // No replay endpoint: whatever came before the first message is out of reach.
      if (seq > 0) this.hooks.uncovered('no-endpoint', 0, seq);
      this.next = seq;
    }
    if (seq < this.next) return; // already applied (from a replay)
    if (seq > this.next) {
      this.hooks.gap(this.next, seq);
      if (this.hooks.replay) {
        this.pending.push(frame);
        this.replayFrom(this.next);
        return;
      }
      this.hooks.uncovered('no-endpoint', this.next, seq);
      this.next = seq;
    }
    this.hooks.apply(frame, false);
    this.next = seq + 1;
  }

  private replayFrom(from: number): void {
    this.replaying = true;
    const gen = ++this.generation;
    this.hooks.replayStarted(from);
    this.running = this.runReplay(from, gen);
  }

  private async runReplay(from: number, gen: number): Promise<void> {
    let failure: { reason: 'timeout' | 'error'; cause: unknown } | undefined;
    try {
      for await (const f of this.hooks.replay!(from)) {
        if (gen !== this.generation) return;
        if (f.seq < this.next) continue;
        if (f.seq > this.next) {
          this.hooks.uncovered('buffer-short', this.next, f.seq);
          this.next = f.seq;
        }
        this.hooks.apply(f, true);
        this.next = f.seq + 1;
      }
    } catch (cause) {
      if (gen !== this.generation) return;
      failure = { reason: cause instanceof ReplayError ? cause.reason : 'error', cause };
      this.hooks.replayFailed(failure.reason, cause);
    }
    if (gen !== this.generation) return;
    this.replaying = false;
    // Only a replay that had a hole to fill can be barren; an idle engine's is just empty.
    this.barren = this.next > from || this.pending.length === 0 ? 0 : this.barren + 1;
    this.drain(failure);
  }

  /** Applies the live messages held during a replay; asks again if a hole remains. */
  private drain(failure: { reason: UncoveredReason; cause: unknown } | undefined): void {
    const held = this.pending;
    this.pending = [];
    for (let i = 0; i < held.length; i++) {
      const f = held[i]!;
      if (f.seq < this.next) continue;
      if (f.seq > this.next) {
        // A replay that failed, or twice brought nothing new, will not do better at once.
        // (Once is allowed: the engine may have published the missing batches just after
        // serving a replay that came too early.)
        if (failure === undefined && this.barren < 2) {
          this.pending = held.slice(i);
          this.hooks.gap(this.next, f.seq);
          this.replayFrom(this.next);
          return;
        }
        this.hooks.uncovered(failure?.reason ?? 'buffer-short', this.next, f.seq, failure?.cause);
        this.next = f.seq;
      }
      this.hooks.apply(f, false);
      this.next = f.seq + 1;
    }
  }
}
