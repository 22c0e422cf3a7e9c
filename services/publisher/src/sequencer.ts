import type { EngineFrame } from './frames.js';

export type UncoveredReason = 'no-endpoint' | 'timeout' | 'error' | 'buffer-short';

/** Why the stream is taken to come from a new engine process. */
export type RestartReason =
  /** Live seq at or below the previous live one, or below the expected one after a disconnect. */
  | 'seq-backwards'
  /** After a disconnect, the engine's replay of the last applied batch differs or is missing. */
  | 'replay-mismatch'
  /** Live seqs far below what a replay delivered: the replayed seqs were not this engine's. */
  | 'stream-broken';

/** A frame as the sequencer sees it. */
export interface SequencedFrame extends EngineFrame {
  /** Whether the payload decoded: only then is the seq trusted for gaps and restarts. */
  readonly decoded: boolean;
}

/** The sequencer's way out: every effect it has goes through these. */
export interface SequencerHooks<F extends SequencedFrame = SequencedFrame> {
  /** Applies one engine batch; called exactly once per seq, in increasing seq order. */
  apply(frame: F, replayed: boolean): void;
  /**
   * Fetches the engine's buffered batches from `fromSeq` on, in order; ends at
   * the end marker. Throws ReplayError when the replay fails.
   * Absent when the engine has no replay endpoint.
   */
  replay: ((fromSeq: number) => AsyncIterable<F>) | undefined;
  /** A sequence gap was seen (live seq jumped ahead). */
  gap(fromSeq: number, toSeq: number): void;
  replayStarted(fromSeq: number): void;
  /** A replay failed outright (timeout, socket error); what it leaves missing is reported by `uncovered`. */
  replayFailed(reason: 'timeout' | 'error', cause: unknown): void;
  /** Batches [fromSeq, toSeq) are lost for good. `toSeq` is what follows. */
  uncovered(reason: UncoveredReason, fromSeq: number, toSeq: number, cause?: unknown): void;
  /** A new engine process: its stream starts over from 0. `fromSeq` is what the old one would have sent next. */
  restarted(fromSeq: number, toSeq: number, reason: RestartReason): void;
  /**
   * A frame set aside unapplied: its payload does not decode and it is not
   * the very next batch, or its seq is out of any plausible range.
   */
  discarded(frame: F, reason: 'payload' | 'seq-range'): void;
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

/** Live messages held while a replay runs; past this the newest are dropped (and re-fetched after). */
const MAX_PENDING = 100_000;

/**
 * How far a replayed seq may run ahead of the newest live one, and live seqs
 * trail what a replay delivered. Live messages queue on the way (the engine's
 * send queue and ours, ~10^5 at most) while a replay is answered at once;
 * past this window a seq is not the engine's current count but corruption.
 */
export const SEQ_WINDOW = 1_000_000;

/**
 * Orders the engine's batches: live ones from the SUB socket and replayed ones
 * from the ROUTER socket become one stream applied exactly once, in seq order.
 *
 * - Start: replay from 0 (the first live messages are always lost to the ZMQ
 *   slow-joiner effect); live messages wait meanwhile.
 * - Live seq jumps ahead: replay the missed range; live messages wait. Once
 *   the held ones are applied, anything newer that was dropped for room is
 *   replayed as well.
 * - Replay returns a seq past the one needed, fails without progress, or
 *   twice brings nothing new: the range is uncovered (the hook decides how to
 *   recover) and the stream goes on. A replay that made progress before
 *   failing (an engine that omits the end marker) counts as finished.
 * - Live seq at or below the previous live seq, or below the next expected
 *   one after the engine's socket disconnected: the engine restarted; its
 *   stream starts over from 0. (Before any live message and without a
 *   disconnect, a seq below the expected one is a late duplicate of a
 *   replayed batch: live and replay travel on different sockets.)
 * - After a disconnect, a live seq at or above the expected one may still be
 *   a new engine that has already counted past the old one: the last applied
 *   batch is replayed and compared byte for byte; a different or missing one
 *   is a restart.
 * - Frames whose payload does not decode never move `lastLive` nor start a
 *   replay: a garbage seq must not pass for a gap or a restart. One is
 *   consumed (applied, so the hook counts it) only when it is exactly the
 *   next expected batch. A replayed seq more than SEQ_WINDOW past the newest
 *   live one is discarded; live seqs more than SEQ_WINDOW below the expected
 *   one mean it was pushed there by such a seq: the stream is resynced.
 *
 * Single-threaded: `live` may be called at any time, including while a replay
 * is being awaited; a generation counter retires replays overtaken by a restart.
 */
export class Sequencer<F extends SequencedFrame = SequencedFrame> {
  /** The next engine seq to apply; -1 before the first message when there is no replay. */
  private next = -1;
  /** The newest live seq whose payload decoded; -1 before any. */
  private lastLive = -1;
  /** The last frame applied: what a replay after a disconnect must reproduce. */
  private lastApplied: F | undefined;
  private replaying = false;
  private pending: F[] = [];
  /** While a replay checks the engine after a disconnect: the held frames from the disconnect on. */
  private checkHeldFrom: number | undefined;
  private generation = 0;
  private stopped = false;
  private peerLost = false;
  /** Replays in a row that brought nothing new. */
  private barren = 0;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly hooks: SequencerHooks<F>) {}

  /** The next engine seq expected (for status pages). */
  get expected(): number {
    return this.next;
  }

  start(): void {
    if (this.hooks.replay) {
      this.next = 0;
      this.replayFrom(0, false);
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

  live(frame: F): void {
    if (this.stopped) return;
    if (!frame.decoded) {
      if (this.replaying) this.hold(frame);
      else this.place(frame, false);
      return;
    }
    const seq = frame.seq;
    const peerLost = this.peerLost;
    this.peerLost = false;
    if (seq <= this.lastLive || (peerLost && seq < this.next)) {
      this.restart(seq, 'seq-backwards');
    } else if (seq < this.next - SEQ_WINDOW) {
      this.restart(seq, 'stream-broken');
    } else if (peerLost && this.hooks.replay && this.lastApplied) {
      this.lastLive = seq;
      this.checkHeldFrom ??= this.pending.length;
      this.hold(frame);
      this.replayFrom(this.lastApplied.seq, true);
      return;
    }
    this.lastLive = seq;
    if (this.replaying) {
      this.hold(frame);
      return;
    }
    this.offer(frame);
  }

  private hold(frame: F): void {
    if (this.pending.length < MAX_PENDING) this.pending.push(frame);
  }

  private applyFrame(frame: F, replayed: boolean): void {
    this.hooks.apply(frame, replayed);
    this.next = frame.seq + 1;
    this.lastApplied = frame;
  }

  /** An undecodable frame: consumed where it fits exactly, else set aside. */
  private place(frame: F, replayed: boolean): void {
    if (frame.seq === this.next) this.applyFrame(frame, replayed);
    else this.hooks.discarded(frame, 'payload');
  }

  private restart(
    seq: number,
    reason: RestartReason,
    from = Math.max(this.next, this.lastLive + 1),
  ): void {
    this.generation++; // a replay of the old engine is worthless now
    this.replaying = false;
    this.pending = [];
    this.checkHeldFrom = undefined;
    this.barren = 0;
    this.hooks.restarted(from, seq, reason);
    this.next = 0;
    this.lastApplied = undefined;
  }

  /** The in-order path while no replay runs. */
  private offer(frame: F): void {
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
        this.replayFrom(this.next, false);
        return;
      }
      this.hooks.uncovered('no-endpoint', this.next, seq);
    }
    this.applyFrame(frame, false);
  }

  private replayFrom(from: number, check: boolean): void {
    this.replaying = true;
    const gen = ++this.generation;
    this.hooks.replayStarted(from);
    this.running = this.runReplay(from, gen, check);
  }

  private async runReplay(from: number, gen: number, check: boolean): Promise<void> {
    const startNext = this.next;
    let failure: { reason: 'timeout' | 'error'; cause: unknown } | undefined;
    let unchecked = check;
    try {
      for await (const f of this.hooks.replay!(from)) {
        if (gen !== this.generation) return;
        if (unchecked) {
          if (f.seq < from) continue;
          if (f.seq !== from || !sameBytes(f.payload, this.lastApplied!.payload)) {
            this.restartAfterCheck();
            return;
          }
          unchecked = false;
          continue;
        }
        this.replayed(f);
      }
    } catch (cause) {
      if (gen !== this.generation) return;
      failure = { reason: cause instanceof ReplayError ? cause.reason : 'error', cause };
      this.hooks.replayFailed(failure.reason, cause);
    }
    if (gen !== this.generation) return;
    // Nothing vouches for the stream when the engine could not show the batch again.
    if (unchecked) return this.restartAfterCheck();
    this.checkHeldFrom = undefined;
    this.replaying = false;
    // Progress before a failure (e.g. an engine that never sends the end marker): what is
    // still missing is asked for again rather than given up.
    if (this.next > startNext) failure = undefined;
    // Only a replay that had a hole to fill can be barren; an idle engine's is just empty.
    const hole = this.pending.length > 0 || this.lastLive >= this.next;
    this.barren = this.next > startNext || !hole ? 0 : this.barren + 1;
    this.drain(failure);
  }

  /** One replayed frame, in the engine's order. */
  private replayed(f: F): void {
    if (f.seq < this.next) return;
    if (!f.decoded) return this.place(f, true);
    if (this.lastLive >= 0 && f.seq > Math.max(this.lastLive, this.next) + SEQ_WINDOW) {
      this.hooks.discarded(f, 'seq-range');
      return;
    }
    if (f.seq > this.next) this.hooks.uncovered('buffer-short', this.next, f.seq);
    this.applyFrame(f, true);
  }

  /** The engine after a disconnect is not the one we followed: start over, keeping what it sent since. */
  private restartAfterCheck(): void {
    const since = this.pending.slice(this.checkHeldFrom ?? 0);
    // lastLive is already the new engine's.
    this.restart(this.lastLive, 'replay-mismatch', this.next);
    this.pending = since;
    this.replayFrom(0, false);
  }

  /** Applies the live messages held during a replay; asks again if a hole remains. */
  private drain(failure: { reason: UncoveredReason; cause: unknown } | undefined): void {
    // A replay that failed, or twice brought nothing new, will not do better at once.
    // (Once is allowed: the engine may have published the missing batches just after
    // serving a replay that came too early.)
    const askAgain = failure === undefined && this.barren < 2;
    const held = this.pending;
    this.pending = [];
    for (let i = 0; i < held.length; i++) {
      const f = held[i]!;
      if (!f.decoded) {
        this.place(f, false);
        continue;
      }
      if (f.seq < this.next) continue;
      if (f.seq > this.next) {
        if (askAgain) {
          this.pending = held.slice(i);
          this.hooks.gap(this.next, f.seq);
          this.replayFrom(this.next, false);
          return;
        }
        this.hooks.uncovered(failure?.reason ?? 'buffer-short', this.next, f.seq, failure?.cause);
      }
      this.applyFrame(f, false);
    }
    // Newer live messages were dropped for room while the replay ran: the engine still has them.
    if (this.lastLive >= this.next) {
      const to = this.lastLive + 1;
      if (askAgain) {
        this.hooks.gap(this.next, to);
        this.replayFrom(this.next, false);
        return;
      }
      this.hooks.uncovered(failure?.reason ?? 'buffer-short', this.next, to, failure?.cause);
      this.next = to;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
