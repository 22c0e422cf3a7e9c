import { Publisher, Router } from 'zeromq';

export interface ZmqEventPublisherOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** PUB port; 0 picks a free one. */
  pubPort?: number;
  /** ROUTER replay port; 0 picks a free one. */
  replayPort?: number;
  /** Topic frame of every PUB message (vLLM's default is empty). */
  topic?: string;
  /** Batches kept for replay (vLLM `buffer_steps`, default 10 000). */
  bufferSteps?: number;
  /** PUB high-water mark (vLLM default 100 000). */
  hwm?: number;
  /** A replay client that stops reading is given up on after this long (default 5 s). */
  replaySendTimeoutMs?: number;
}

export interface ZmqEventPublisherStats {
  published: number;
  replayRequests: number;
  /** Replay requests that were not `[identity, empty, start_seq]`: ignored, as vLLM does. */
  malformedReplayRequests: number;
  /** Replays abandoned because the client went away or stopped reading. */
  failedReplays: number;
}

const EMPTY = Buffer.alloc(0);
const END_SEQ = (() => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(-1n);
  return b;
})();

function seqFrame(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

/** vLLM reads the start as an unsigned big-endian int of any length (`int.from_bytes`). */
function readStart(frame: Buffer): number {
  let v = 0n;
  for (const byte of frame) v = (v << 8n) | BigInt(byte);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

function connectable(endpoint: string): string {
  return endpoint.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//127.0.0.1:');
}

/**
 * vLLM's ZmqEventPublisher (vllm/distributed/kv_events.py): a bound PUB socket
 * sending `[topic, seq (u64 BE, from 0), payload]` per batch, and a bound
 * ROUTER that answers `[identity, empty, start_seq]` with
 * `[identity, empty, seq, payload]` for every buffered batch with seq ≥ start,
 * then `[identity, empty, -1 (i64 BE), empty]`. The buffer is a ring of the
 * last `bufferSteps` batches. Unlike vLLM's ROUTER (which drops replies past
 * its high-water mark), replies wait for the client to read, up to a timeout.
 */
export class ZmqEventPublisher {
  readonly stats: ZmqEventPublisherStats = {
    published: 0,
    replayRequests: 0,
    malformedReplayRequests: 0,
    failedReplays: 0,
  };
  private nextSeq = 0;
  private readonly ring: (Uint8Array | undefined)[];
  private sending: Promise<void> = Promise.resolve();
  private serving: Promise<void> = Promise.resolve();
  private readonly topic: Buffer;

  private constructor(
    private readonly pub: Publisher,
    private readonly router: Router,
    /** Where subscribers connect (the bound address, 127.0.0.1 for a wildcard bind). */
    readonly endpoint: string,
    readonly replayEndpoint: string,
    o: ZmqEventPublisherOptions,
  ) {
    this.ring = new Array<Uint8Array | undefined>(o.bufferSteps ?? 10_000);
    this.topic = Buffer.from(o.topic ?? '', 'utf8');
  }

  static async start(o: ZmqEventPublisherOptions = {}): Promise<ZmqEventPublisher> {
    const host = o.host ?? '127.0.0.1';
    const bufferSteps = o.bufferSteps ?? 10_000;
    if (!Number.isInteger(bufferSteps) || bufferSteps < 1)
      throw new RangeError(`bufferSteps must be an integer ≥ 1, got ${bufferSteps}`);
    const port = (p: number | undefined) => (p ? String(p) : '*');
    const pub = new Publisher({ linger: 0, sendHighWaterMark: o.hwm ?? 100_000 });
    const router = new Router({
      linger: 0,
      mandatory: true,
      sendTimeout: o.replaySendTimeoutMs ?? 5000,
    });
    try {
      await pub.bind(`tcp://${host}:${port(o.pubPort)}`);
      await router.bind(`tcp://${host}:${port(o.replayPort)}`);
    } catch (e) {
      pub.close();
      router.close();
      throw e;
    }
    const p = new ZmqEventPublisher(
      pub,
      router,
      connectable(pub.lastEndpoint!),
      connectable(router.lastEndpoint!),
      o,
    );
    p.serving = p.serve();
    return p;
  }

  /** Sequence number the next batch will get (= batches published so far). */
  get seq(): number {
    return this.nextSeq;
  }

  /** Buffers and sends one encoded batch; returns its seq. Sends go out in seq order. */
  publish(payload: Uint8Array): number {
    const seq = this.nextSeq++;
    this.ring[seq % this.ring.length] = payload;
    this.stats.published++;
    const frames = [this.topic, seqFrame(seq), payload];
    // PUB never blocks (it drops at the high-water mark); chaining keeps one send in flight.
    this.sending = this.sending.then(() => this.pub.send(frames)).catch(() => undefined);
    return seq;
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.router) {
        this.stats.replayRequests++;
        if (frames.length !== 3) {
          this.stats.malformedReplayRequests++;
          continue;
        }
        try {
          await this.replay(frames[0]!, readStart(frames[2]!));
        } catch {
          this.stats.failedReplays++;
        }
      }
    } catch {
      // socket closed
    }
  }

  private async replay(identity: Buffer, start: number): Promise<void> {
    const n = this.ring.length;
    const first = Math.max(start, this.nextSeq - n, 0);
    const end = this.nextSeq; // batches published while replying belong to the live stream
    for (let seq = first; seq < end; seq++) {
      // A slot overwritten while this replay waited on a slow client is no longer buffered.
      if (seq < this.nextSeq - n) continue;
      await this.router.send([identity, EMPTY, seqFrame(seq), this.ring[seq % n]!]);
    }
    await this.router.send([identity, EMPTY, END_SEQ, EMPTY]);
  }

  async close(): Promise<void> {
    await this.sending;
    this.pub.close();
    this.router.close();
    await this.serving;
  }
}
