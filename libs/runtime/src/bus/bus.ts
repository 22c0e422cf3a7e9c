/**
 * The transport seam. Services speak to this interface; NATS is one
 * implementation and an in-process bus (for the single-process demo and fast
 * tests) is the other. Both pass the same conformance suite.
 *
 * Semantics (both implementations): subjects are dot-separated tokens, `*`
 * matches one token and `>` the rest; subscribers with the same queue name
 * share messages (one of them gets each); delivery to a subscription is in
 * publish order; handlers run asynchronously from `publish`.
 */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Answers a request; false when the message was not a request. */
  respond(data: Uint8Array): boolean;
}

export interface BusSubscription {
  unsubscribe(): void;
}

export interface RequestManyOptions {
  /** Give up after this long in total. */
  maxWaitMs: number;
  /** Give up when no reply arrived for this long (default maxWaitMs). */
  idleMs?: number;
}

export interface Bus {
  readonly kind: 'nats' | 'memory';
  publish(subject: string, data: Uint8Array): void;
  subscribe(
    subject: string,
    handler: (msg: BusMessage) => void,
    options?: { queue?: string },
  ): BusSubscription;
  /** One reply, or BusTimeoutError / BusNoRespondersError. */
  request(subject: string, data: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array>;
  /**
   * A stream of replies from one responder, ended by an empty message (the
   * sentinel, not yielded). Throws BusTimeoutError when the stream stalls.
   */
  requestMany(
    subject: string,
    data: Uint8Array,
    options: RequestManyOptions,
  ): AsyncIterable<Uint8Array>;
  /** Resolves when everything published so far has reached the server. */
  flush(): Promise<void>;
  /** Whether the bus can currently deliver (NATS: connected). */
  isConnected(): boolean;
  /**
   * Calls `listener` each time `isConnected()` changes (NATS: disconnect,
   * reconnect, close), after the change. Returns the function that removes it.
   * What is published while disconnected may be lost (nats.js drops its
   * outbound buffer on every dial): hold it and publish it again on `true`.
   */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  /**
   * The largest message `publish` and `respond` accept, in bytes (NATS: the
   * server's `max_payload`; Infinity for the in-process bus).
   */
  maxPayloadBytes(): number;
  /**
   * Delivers pending messages and closes; bounded in time: while disconnected,
   * or when draining stalls, it closes without delivering.
   */
  close(): Promise<void>;
}

export interface BusOptions {
  /**
   * Called when a subscription handler throws or a subscription fails (e.g.
   * a permissions violation). Delivery goes on; the default writes to stderr.
   */
  onHandlerError?: (err: unknown, subject?: string) => void;
}

export function defaultHandlerError(err: unknown, subject?: string): void {
  process.stderr.write(`bus subscription${subject ? ` ${subject}` : ''} failed: ${String(err)}\n`);
}

export class BusTimeoutError extends Error {
  override name = 'BusTimeoutError';
}

export class BusNoRespondersError extends Error {
  override name = 'BusNoRespondersError';
}

export class BusClosedError extends Error {
  override name = 'BusClosedError';
}

/** NATS subject matching: `*` one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const t = p[i]!;
    if (t === '>') return s.length > i;
    if (i >= s.length) return false;
    if (t !== '*' && t !== s[i]) return false;
  }
  return p.length === s.length;
}
