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

/** The Bus over a NATS connection (nats.js v3). The caller owns connecting. */
export function natsBus(nc: NatsConnection, options: BusOptions = {}): Bus {
  const onHandlerError = options.onHandlerError ?? defaultHandlerError;
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
    isConnected: () => !nc.isClosed() && !nc.isDraining(),
    async close() {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}
