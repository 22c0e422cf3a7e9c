import type { NatsConnection } from '@nats-io/transport-node';
import { NoRespondersError, TimeoutError, errors } from '@nats-io/transport-node';
import type { Bus, BusMessage, BusOptions, BusSubscription, RequestManyOptions } from './bus.js';
import {
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  defaultHandlerError,
} from './bus.js';

function mapError(e: unknown, subject: string): Error {
  if (
    e instanceof NoRespondersError ||
    (e instanceof Error && e.cause instanceof NoRespondersError)
  ) {
    return new BusNoRespondersError(`no responders for ${subject}`, { cause: e });
  }
  if (e instanceof TimeoutError || (e instanceof Error && e.cause instanceof TimeoutError)) {
    return new BusTimeoutError(`request to ${subject} timed out`, { cause: e });
  }
  if (e instanceof errors.ClosedConnectionError)
    return new BusClosedError('NATS connection is closed', { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

export interface NatsBusOptions extends BusOptions {
  /** `close` gives up draining after this long and closes anyway (default 5 s). */
  drainTimeoutMs?: number;
}

/** nats-server's default `max_payload`, assumed until the server's INFO says otherwise. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * The Bus over a NATS connection (nats.js v3). The caller owns connecting;
 * the bus follows the connection's status from then on.
 */
export function natsBus(nc: NatsConnection, options: NatsBusOptions = {}): Bus {
  const onHandlerError = options.onHandlerError ?? defaultHandlerError;
  const drainTimeoutMs = options.drainTimeoutMs ?? 5000;
  const listeners = new Set<(connected: boolean) => void>();
  let connected = !nc.isClosed();
  let maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  const change = (to: boolean) => {
    if (to === connected) return;
    connected = to;
    for (const l of [...listeners]) {
      try {
        l(to);
      } catch (e) {
        onHandlerError(e);
      }
    }
  };
  void (async () => {
    // The iterator ends when the connection closes (nats.js waits for it to).
    for await (const st of nc.status()) {
      if (st.type === 'disconnect') change(false);
      if (st.type === 'reconnect') {
        maxPayload = nc.info?.max_payload ?? maxPayload;
        change(true);
      }
    }
  })();
  void nc.closed().then(() => change(false));
  return {
    kind: 'nats',
    publish(subject, data) {
      nc.publish(subject, data);
    },
    subscribe(subject, handler, options): BusSubscription {
      const sub = nc.subscribe(subject, {
        ...(options?.queue ? { queue: options.queue } : {}),
        callback: (err, m) => {
          if (err) {
            onHandlerError(err, subject);
            return;
          }
          const msg: BusMessage = {
            subject: m.subject,
            data: m.data,
            respond: (d) => m.respond(d),
          };
          // A throwing handler must not close the connection's reader.
          try {
            handler(msg);
          } catch (e) {
            onHandlerError(e, m.subject);
          }
        },
      });
      return { unsubscribe: () => sub.unsubscribe() };
    },
    async request(subject, data, options) {
      try {
        const m = await nc.request(subject, data, { timeout: options.timeoutMs });
        return m.data;
      } catch (e) {
        throw mapError(e, subject);
      }
    },
    async *requestMany(subject: string, data: Uint8Array, options: RequestManyOptions) {
      let it: AsyncIterable<{ data: Uint8Array }>;
      try {
        it = await nc.requestMany(subject, data, {
          strategy: 'stall',
          maxWait: options.maxWaitMs,
          stall: options.idleMs ?? options.maxWaitMs,
        });
      } catch (e) {
        throw mapError(e, subject);
      }
      let ended = false;
      try {
        for await (const m of it) {
          if (m.data.byteLength === 0) {
            ended = true;
            break;
          }
          yield m.data;
        }
      } catch (e) {
        throw mapError(e, subject);
      }
      if (!ended)
        throw new BusTimeoutError(`reply stream from ${subject} ended without its end marker`);
    },
    async flush() {
      await nc.flush();
    },
    isConnected: () => connected && !nc.isClosed() && !nc.isDraining(),
    onConnectionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    maxPayloadBytes: () => nc.info?.max_payload ?? maxPayload,
    async close() {
      if (nc.isClosed()) return;
      // Draining needs the server: while disconnected it rejects at once or never ends
      // (and reconnect timers would keep the process alive), so it is bounded, then closed.
      if (connected && !nc.isDraining()) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          nc.drain().catch(() => undefined),
          new Promise<void>((r) => (timer = setTimeout(r, drainTimeoutMs))),
        ]);
        clearTimeout(timer);
      }
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    },
  };
}
