import { randomBytes } from 'node:crypto';
import type { CanonicalEvent, EventBatch } from '@kvroute/protocol';
import { encodeEventBatch } from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import { OutageBuffer } from './outage-buffer.js';

export interface OutboxOptions {
  pod: string;
  model: string;
  subject: string;
  /** Longest hold of small batches, ms; 0 flushes every batch on its own. */
  coalesceMs: number;
  /** A pending batch of this many keys goes out at once. */
  flushKeys: number;
  /** Encoded batches held while the bus is disconnected, bytes; past it batches are dropped. */
  outageBufferBytes: number;
  /** Wait after a reconnect before publishing held batches, ms (see OutageBuffer). */
  outageSettleMs: number;
}

export interface OutboxStats {
  published(seq: number, bytes: number): void;
  /** ms from the engine's timestamp of a source batch to its publication. */
  lag(ms: number): void;
  dropped(seq: number, why: 'outage' | 'error'): void;
}

/** A fresh, unique epoch id: sortable by creation time, ≤ 64 chars. */
export function newEpochId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Numbers and publishes canonical batches. Small batches are merged: the
 * first one after a quiet spell goes out on the next turn of the event loop
 * (merging only what arrived in the same turn), and later ones at most one
 * per `coalesceMs`, so a trickle costs no latency and a storm of tiny engine
 * batches becomes a few NATS messages. A batch reaching `flushKeys` keys goes
 * out at once.
 *
 * While the bus is disconnected, encoded batches are held (up to
 * `outageBufferBytes`) and published in order when it is back (OutageBuffer).
 *
 * `seq` counts batches of the current epoch from 1 with no gaps in what was
 * *numbered*: a batch dropped during a NATS outage still consumes its seq, so
 * consumers see the hole and resync by snapshot.
 */
export class Outbox {
  epoch = newEpochId();
  /** The last seq numbered in this epoch (0 before the first). */
  seq = 0;
  private events: CanonicalEvent[] = [];
  private keys = 0;
  private newestTs = 0;
  private sourceTs: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastFlushAt = -Infinity;
  private readonly out: OutageBuffer;

  constructor(
    bus: Bus,
    private readonly o: OutboxOptions,
    stats: OutboxStats,
  ) {
    this.out = new OutageBuffer(
      bus,
      { subject: o.subject, maxBytes: o.outageBufferBytes, settleMs: o.outageSettleMs },
      stats,
    );
  }

  /** Batches waiting for the bus to reconnect. */
  get heldBatches(): number {
    return this.out.length;
  }

  /**
   * The last seq of this epoch that has gone out (or was dropped for good):
   * what a consumer can have seen, so what heartbeats announce. Below `seq`
   * while batches wait for the bus.
   */
  get sentSeq(): number {
    const held = this.out.oldestHeld(this.epoch);
    return held === undefined ? this.seq : held - 1;
  }

  get pendingEvents(): number {
    return this.events.length;
  }

  /** Queues the canonical events of one engine batch (engine time `tsMs`). */
  add(events: CanonicalEvent[], tsMs: number): void {
    for (const e of events) {
      this.events.push(e);
      if (e.kind !== 'cleared') this.keys += e.keys.length >>> 1;
    }
    if (tsMs > this.newestTs) this.newestTs = tsMs;
    this.sourceTs.push(tsMs);
    if (this.keys >= this.o.flushKeys || this.o.coalesceMs === 0) {
      this.flush();
      return;
    }
    if (this.timer || this.immediate) return;
    const wait = this.lastFlushAt + this.o.coalesceMs - performance.now();
    if (wait <= 0) this.immediate = setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), Math.ceil(wait));
  }

  /** Publishes what is pending as one batch (nothing when empty). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    if (this.events.length === 0) return;
    const batch: EventBatch = {
      pod: this.o.pod,
      model: this.o.model,
      epoch: this.epoch,
      seq: ++this.seq,
      ts: this.newestTs,
      events: this.events,
    };
    this.events = [];
    this.keys = 0;
    this.newestTs = 0;
    this.lastFlushAt = performance.now();
    this.out.send({
      epoch: this.epoch,
      seq: batch.seq,
      bytes: encodeEventBatch(batch),
      sourceTs: this.sourceTs,
    });
    this.sourceTs = [];
  }

  /** Ends the epoch: pending events go out in it first; the next batch is seq 1 of a new one. */
  newEpoch(): void {
    this.flush();
    this.epoch = newEpochId();
    this.seq = 0;
  }

  /** Stops the timers (pending events stay until `flush`); batches still held are dropped. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
    this.out.stop();
  }
}
