import { freePort } from '@kvroute/runtime/testing';
import type { EncodeOptions, VllmEventBatch } from '@kvroute/vllm-events';
import { encodeVllmBatch } from '@kvroute/vllm-events';
import { Publisher, Router } from 'zeromq';

export interface FakeEngineOptions {
  /** Connect the PUB socket out to this endpoint (engines configured to connect) instead of binding. */
  connectTo?: string;
  /** Serve replays on a ROUTER socket (default true). */
  replay?: boolean;
  /** Batches kept for replay, like vLLM's `buffer_steps` (default 10 000). */
  bufferSteps?: number;
  /** PUB topic frame; null omits the frame as older engines do (default "kv"). */
  topic?: string | null;
  /** Replay replies carry the topic frame too. */
  replayTopicFrame?: boolean;
  /** Replay replies start with an empty delimiter frame (default true, as vLLM). */
  replayEmptyFrame?: boolean;
}

export interface SendOptions extends EncodeOptions {
  /** Buffer the batch for replay but never put it on the PUB socket (a lost message). */
  drop?: boolean;
}

const END_SEQ = (() => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(-1n);
  return b;
})();

const seqFrame = (seq: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
};

/**
 * A stand-in for vLLM's ZmqEventPublisher: a PUB socket sending
 * `[topic, seq, payload]` with seq counting from 0, and a ROUTER socket that
 * answers `[empty, start_seq]` with every buffered batch from start_seq on and
 * an end marker (seq -1, empty payload). Knobs make it misbehave the ways real
 * engines and networks do: lost messages, a short buffer, a silent replay
 * socket, replies without an end marker or with corrupt frames, garbage, a
 * restart.
 */
/**
 * Binds, retrying while the port is still held: a restarted engine rebinds
 * the endpoints its previous process just closed, and ZMQ releases them
 * asynchronously.
 */
async function bindRetrying(
  socket: { bind(endpoint: string): Promise<void> },
  endpoint: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (e) {
      if (attempt >= 100 || !/address already in use/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export class FakeEngine {
  nextSeq = 0;
  /** Start seqs of the replay requests received. */
  readonly replayRequests: number[] = [];
  /** When set, replay requests get no answer (the client times out). */
  silentReplay = false;
  /** When set, replies carry the buffered batches but no end marker (the client times out). */
  omitEndMarker = false;
  /** Frames the next replay reply starts with (a corrupt engine); consumed by it. */
  injectReplay: { seq: number; payload: Uint8Array }[] = [];
  private buffer: { seq: number; payload: Uint8Array }[] = [];
  private pub!: Publisher;
  private router: Router | undefined;
  private serving: Promise<void> = Promise.resolve();

  private constructor(
    readonly pubEndpoint: string,
    readonly replayEndpoint: string | undefined,
    private readonly o: FakeEngineOptions,
  ) {}

  static async start(o: FakeEngineOptions = {}): Promise<FakeEngine> {
    const pubEndpoint = o.connectTo ?? `tcp://127.0.0.1:${await freePort()}`;
    const replay = o.replay ?? true;
    const replayEndpoint = replay ? `tcp://127.0.0.1:${await freePort()}` : undefined;
    const e = new FakeEngine(pubEndpoint, replayEndpoint, o);
    await e.open();
    return e;
  }

  private async open(): Promise<void> {
    this.pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 });
    if (this.o.connectTo) this.pub.connect(this.pubEndpoint);
    else await bindRetrying(this.pub, this.pubEndpoint);
    if (this.replayEndpoint) {
      this.router = new Router({ linger: 0 });
      await bindRetrying(this.router, this.replayEndpoint);
      this.serving = this.serve(this.router);
    }
  }

  private async serve(router: Router): Promise<void> {
    try {
      for await (const [id, ...rest] of router) {
        if (rest.length !== 2 || rest[1]!.byteLength !== 8) continue; // vLLM ignores malformed requests
        const start = Number(rest[1]!.readBigInt64BE());
        this.replayRequests.push(start);
        if (this.silentReplay) continue;
        const head: Buffer[] = [id!];
        if (this.o.replayEmptyFrame ?? true) head.push(Buffer.alloc(0));
        if (this.o.replayTopicFrame) head.push(Buffer.from(this.o.topic ?? 'kv'));
        for (const b of this.injectReplay.splice(0))
          await router.send([...head, seqFrame(b.seq), b.payload]);
        for (const b of this.buffer) {
          if (b.seq >= start) await router.send([...head, seqFrame(b.seq), b.payload]);
        }
        if (!this.omitEndMarker) await router.send([...head, END_SEQ, Buffer.alloc(0)]);
      }
    } catch {
      // closed
    }
  }

  /** Publishes one batch (encoded in the given wire shape); returns its seq. */
  send(batch: VllmEventBatch, o: SendOptions = {}): Promise<number> {
    return this.sendPayload(encodeVllmBatch(batch, o), o.drop);
  }

  async sendPayload(payload: Uint8Array, drop = false): Promise<number> {
    const seq = this.nextSeq++;
    this.buffer.push({ seq, payload });
    const max = this.o.bufferSteps ?? 10_000;
    if (this.buffer.length > max) this.buffer.shift();
    if (!drop) {
      const topic = this.o.topic === undefined ? 'kv' : this.o.topic;
      const frames = [seqFrame(seq), payload];
      await this.pub.send(topic === null ? frames : [Buffer.from(topic), ...frames]);
    }
    return seq;
  }

  /** Sends arbitrary frames on the PUB socket (garbage, broken framing). */
  async sendFrames(frames: Uint8Array[]): Promise<void> {
    await this.pub.send(frames);
  }

  /** Forgets buffered batches before `seq`, as a long-running engine's ring buffer has. */
  trimBuffer(seq: number): void {
    this.buffer = this.buffer.filter((b) => b.seq >= seq);
  }

  /**
   * A new engine process on the same endpoints: seq from 0, empty buffer. With
   * `keepState`, the same process reopening its sockets (subscribers see a
   * disconnect): seq and buffer carry on. `downMs`: how long it stays away.
   */
  async restart(o: { keepState?: boolean; downMs?: number } = {}): Promise<void> {
    await this.closeSockets();
    if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
    if (!o.keepState) {
      this.nextSeq = 0;
      this.buffer = [];
    }
    this.replayRequests.length = 0;
    await this.open();
  }

  private async closeSockets(): Promise<void> {
    this.pub.close();
    this.router?.close();
    await this.serving;
  }

  async close(): Promise<void> {
    await this.closeSockets();
  }
}
