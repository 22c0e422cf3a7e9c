import type { Bus } from '@kvroute/runtime';
import type { OutboxStats } from './outbox.js';

/** A numbered, encoded canonical batch on its way to the bus. */
export interface Encoded {
  epoch: string;
  seq: number;
  bytes: Uint8Array;
  /** Engine timestamps (ms) of the source batches, for the lag histogram. */
  sourceTs: number[];
}

export interface OutageBufferOptions {
  subject: string;
  /** Bytes held at most; a batch that does not fit is dropped and counted. */
  maxBytes: number;
  /**
   * Wait after a reconnect before publishing what was held: consumers
   * reconnect on their own timers (nats.js: 500 ms + jitter), and what
   * reaches the server before their subscriptions is lost to them.
   */
  settleMs: number;
}

/**
 * The way out to the bus. nats.js drops whatever was published while
 * disconnected on its next dial, so while the bus is down batches are held
 * here instead, in order and within `maxBytes`, and published once it is
 * back (after `settleMs`). A batch arriving while others are held queues
 * behind them, so consumers always receive a prefix of the numbered stream.
 */
export class OutageBuffer {
  private held: Encoded[] = [];
  private heldBytes = 0;
  private settle: NodeJS.Timeout | undefined;
  private readonly unlisten: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly o: OutageBufferOptions,
    private readonly stats: OutboxStats,
  ) {
    this.unlisten = bus.onConnectionChange((up) => {
      clearTimeout(this.settle);
      this.settle = undefined;
      if (up && this.held.length > 0)
        this.settle = setTimeout(() => {
          this.settle = undefined;
          this.release();
        }, o.settleMs);
    });
  }

  /** Batches waiting for the bus. */
  get length(): number {
    return this.held.length;
  }

  /** The seq of the oldest batch of `epoch` still held, or undefined. */
  oldestHeld(epoch: string): number | undefined {
    return this.held.find((h) => h.epoch === epoch)?.seq;
  }

  /** Publishes the batch now, or holds it (dropping it past the bound). */
  send(b: Encoded): void {
    if (this.held.length === 0 && this.bus.isConnected()) {
      this.publish(b);
      return;
    }
    if (this.heldBytes + b.bytes.byteLength > this.o.maxBytes) {
      this.stats.dropped(b.seq, 'outage');
      return;
    }
    this.held.push(b);
    this.heldBytes += b.bytes.byteLength;
  }

  /** Stops waiting for the bus: what is still held is dropped and counted. */
  stop(): void {
    clearTimeout(this.settle);
    this.settle = undefined;
    this.unlisten();
    for (const h of this.held) this.stats.dropped(h.seq, 'outage');
    this.held = [];
    this.heldBytes = 0;
  }

  /** Publishes held batches in order while the bus stays connected. */
  private release(): void {
    let i = 0;
    while (i < this.held.length && this.bus.isConnected()) {
      const h = this.held[i++]!;
      this.heldBytes -= h.bytes.byteLength;
      this.publish(h);
    }
    this.held = this.held.slice(i);
  }

  private publish(b: Encoded): void {
    try {
      this.bus.publish(this.o.subject, b.bytes);
    } catch {
      this.stats.dropped(b.seq, 'error');
      return;
    }
    const now = Date.now();
    for (const ts of b.sourceTs) this.stats.lag(Math.max(0, now - ts));
    this.stats.published(b.seq, b.bytes.byteLength);
  }
}
