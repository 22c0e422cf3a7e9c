import { Dealer, Subscriber } from 'zeromq';

/**
 * Minimal clients of a pod's surfaces, written from vLLM's side of the
 * protocol (not the publisher service's): for tests and for poking a running
 * simulator by hand.
 */
export interface ZmqMessage {
  frames: Buffer[];
  /** Second-to-last frame as a signed 64-bit big-endian int (-1 is the replay end marker). */
  seq: number;
  payload: Buffer;
}

function toMessage(frames: Buffer[]): ZmqMessage {
  const seqFrame = frames.at(-2);
  if (!seqFrame || seqFrame.byteLength !== 8)
    throw new Error(`unexpected ZMQ message of ${frames.length} frames`);
  return { frames, seq: Number(seqFrame.readBigInt64BE()), payload: frames.at(-1)! };
}

/** A SUB socket collecting every KV-event message of one engine. */
export class KvTap {
  readonly messages: ZmqMessage[] = [];
  private readonly sub = new Subscriber({ linger: 0 });
  private loop: Promise<void> = Promise.resolve();
  private waiters: (() => void)[] = [];

  static connect(endpoint: string, topic = ''): KvTap {
    const t = new KvTap();
    t.sub.subscribe(topic);
    t.sub.connect(endpoint);
    t.loop = t.receive();
    return t;
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        this.messages.push(toMessage(frames));
        for (const w of this.waiters.splice(0)) w();
      }
    } catch {
      // closed
    }
  }

  /** Resolves once `predicate` holds over the messages so far; rejects after `timeoutMs`. */
  async waitFor(predicate: (m: ZmqMessage[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `KvTap: condition not met in ${timeoutMs} ms (${this.messages.length} messages)`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.sub.close();
    await this.loop;
  }
}

/**
 * Asks a replay ROUTER for every batch from `fromSeq` (vLLM's protocol: a
 * DEALER sends `[empty, start_seq]`) and returns the replies up to and
 * including the end marker (seq -1).
 */
export async function replayFrom(
  endpoint: string,
  fromSeq: number,
  timeoutMs = 5000,
): Promise<ZmqMessage[]> {
  const dealer = new Dealer({ linger: 0, receiveTimeout: timeoutMs });
  try {
    dealer.connect(endpoint);
    const start = Buffer.alloc(8);
    start.writeBigUInt64BE(BigInt(fromSeq));
    await dealer.send([Buffer.alloc(0), start]);
    const out: ZmqMessage[] = [];
    for (;;) {
      const m = toMessage(await dealer.receive());
      out.push(m);
      if (m.seq === -1) return out;
    }
  } finally {
    dealer.close();
  }
}

/** One sample of a Prometheus text page: `name{labels}` → value. */
export interface PromPage {
  value(name: string, labels?: Record<string, string>): number | undefined;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Fetches and parses a `/metrics` page (sample lines; label values without escapes). */
export async function scrapeMetrics(url: string): Promise<PromPage> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  const samples: PromPage['samples'] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g))
      labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return {
    samples,
    value(name, want = {}) {
      const s = samples.find(
        (x) => x.name === name && Object.entries(want).every(([k, v]) => x.labels[k] === v),
      );
      return s?.value;
    },
  };
}
