import type { Logger } from '@kvroute/runtime';
import { Dealer, Subscriber } from 'zeromq';
import type { EngineFrame } from './frames.js';
import { FrameParseError, parseEngineFrames, seqBytes } from './frames.js';
import { ReplayError } from './sequencer.js';

export interface ZmqSourceOptions {
  endpoint: string;
  /** Bind the endpoint (engines that connect out) instead of connecting to it. */
  bind: boolean;
  /** Topic prefix; undefined for every topic. */
  topic: string | undefined;
  replayEndpoint: string | undefined;
  /** A replay that sends nothing for this long has failed. */
  replayTimeoutMs: number;
}

export interface ZmqSourceHandlers {
  frame(frame: EngineFrame): void;
  malformed(reason: string): void;
  /** The engine's connection dropped (it may come back as a new process). */
  disconnected(): void;
}

/** Live messages queued in the socket before ZMQ drops the newest (a gap replay then fills). */
const RECEIVE_HWM = 10_000;
const EMPTY = new Uint8Array(0);

/**
 * The engine side: a SUB socket on the engine's PUB endpoint, and replays over
 * a fresh DEALER per request (so a reply to a replay that was given up on can
 * never be mistaken for the next one's).
 */
export class ZmqSource {
  private readonly sub = new Subscriber({ receiveHighWaterMark: RECEIVE_HWM, linger: 0 });
  private readonly dealers = new Set<Dealer>();
  /** Live connections: ours to the engine (connect), or engines' to us (accept, when bound). */
  private peers = 0;
  private bound = false;
  private closing = false;
  private loop: Promise<void> = Promise.resolve();
  private handlers: ZmqSourceHandlers | undefined;

  constructor(
    private readonly options: ZmqSourceOptions,
    private readonly log: Logger,
  ) {}

  /** Subscribed and, when connecting, connected to the engine. */
  get ready(): boolean {
    return this.options.bind ? this.bound : this.peers > 0;
  }

  /** An engine is connected: ours to its endpoint, or (bound) its to ours. */
  get engineConnected(): boolean {
    return this.peers > 0;
  }

  async start(h: ZmqSourceHandlers): Promise<void> {
    const o = this.options;
    this.handlers = h;
    this.sub.events.on('connect', () => this.peers++);
    this.sub.events.on('accept', () => this.peers++);
    this.sub.events.on('disconnect', () => {
      this.peers = Math.max(0, this.peers - 1);
      if (!this.closing) h.disconnected();
    });
    if (o.topic === undefined) this.sub.subscribe();
    else this.sub.subscribe(o.topic);
    if (o.bind) {
      await this.sub.bind(o.endpoint);
      this.bound = true;
    } else {
      this.sub.connect(o.endpoint);
    }
    this.loop = this.receive(h);
    this.log.info({ endpoint: o.endpoint, bind: o.bind, topic: o.topic ?? '' }, 'subscribed');
  }

  private async receive(h: ZmqSourceHandlers): Promise<void> {
    try {
      for await (const frames of this.sub) {
        let f: EngineFrame;
        try {
          f = parseEngineFrames(frames);
        } catch (e) {
          h.malformed(e instanceof FrameParseError ? e.reason : 'frames');
          continue;
        }
        if (f.seq < 0) {
          h.malformed('seq-range'); // an end marker has no place on the live stream
          continue;
        }
        try {
          h.frame(f);
        } catch (e) {
          // A bug downstream must not end the receive loop: that would silence the pod for good.
          this.log.error({ err: String(e), seq: f.seq }, 'engine message handling failed');
        }
      }
    } catch (e) {
      if (!this.closing) this.log.error({ err: String(e) }, 'ZMQ receive loop failed');
    }
  }

  /** Undefined without a replay endpoint. */
  get replay(): ((fromSeq: number) => AsyncIterable<EngineFrame>) | undefined {
    const ep = this.options.replayEndpoint;
    return ep === undefined ? undefined : (from) => this.replayFrom(ep, from);
  }

  private async *replayFrom(endpoint: string, from: number): AsyncGenerator<EngineFrame> {
    const t = this.options.replayTimeoutMs;
    const dealer = new Dealer({ receiveTimeout: t, sendTimeout: t, linger: 0 });
    this.dealers.add(dealer);
    const fail = (e: unknown, what: string): never => {
      const timeout = (e as { code?: unknown }).code === 'EAGAIN';
      throw new ReplayError(
        timeout ? 'timeout' : 'error',
        `replay from ${endpoint} ${timeout ? `timed out ${what}` : `failed ${what}: ${String(e)}`}`,
        { cause: e },
      );
    };
    try {
      dealer.connect(endpoint);
      await dealer.send([EMPTY, seqBytes(from)]).catch((e: unknown) => fail(e, 'sending'));
      for (;;) {
        const frames = await dealer.receive().catch((e: unknown) => fail(e, 'receiving'));
        let f: EngineFrame;
        try {
          f = parseEngineFrames(frames);
        } catch (e) {
          // Without a sequence number the frame cannot be placed; what it held counts as missing.
          this.handlers?.malformed(e instanceof FrameParseError ? e.reason : 'frames');
          continue;
        }
        if (f.seq === -1) return;
        yield f;
      }
    } finally {
      this.dealers.delete(dealer);
      dealer.close();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.sub.close();
    for (const d of this.dealers) d.close();
    this.dealers.clear();
    await this.loop;
  }
}
