import type { Bus, BusMessage, BusSubscription, RequestManyOptions } from './bus.js';
import type { BusOptions } from './bus.js';
import {
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  defaultHandlerError,
  subjectMatches,
} from './bus.js';

interface Sub {
  pattern: string;
  queue: string | undefined;
  handler: (msg: BusMessage) => void;
  active: boolean;
}

/**
 * An in-process bus with NATS semantics, for the single-process demo and for
 * tests that exercise service logic without a server. Delivery is
 * asynchronous (a microtask queue drained in order), so a publisher never runs
 * subscriber code on its own stack, exactly as over a network.
 */
export function createMemoryBus(options: BusOptions = {}): Bus {
  const onHandlerError = options.onHandlerError ?? defaultHandlerError;
  const subs: Sub[] = [];
  const queue: (() => void)[] = [];
  let scheduled = false;
  let closed = false;
  let inboxSeq = 0;
  const connectionListeners = new Set<(connected: boolean) => void>();
  const roundRobin = new Map<string, number>();

  function drain(): void {
    scheduled = false;
    // Messages published by handlers during the drain are delivered in the same pass, in order.
    // A handler that throws is reported and the drain goes on, as a NATS subscription would.
    for (let i = 0; i < queue.length; i++) {
      try {
        queue[i]!();
      } catch (err) {
        onHandlerError(err);
      }
    }
    queue.length = 0;
  }

  function schedule(fn: () => void): void {
    queue.push(fn);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(drain);
    }
  }

  function deliver(subject: string, data: Uint8Array, reply: string | undefined): number {
    const matching = subs.filter((s) => s.active && subjectMatches(s.pattern, subject));
    const targets: Sub[] = [];
    const groups = new Map<string, Sub[]>();
    for (const s of matching) {
      if (s.queue === undefined) targets.push(s);
      else
        groups.set(`${s.pattern}\u0000${s.queue}`, [
          ...(groups.get(`${s.pattern}\u0000${s.queue}`) ?? []),
          s,
        ]);
    }
    for (const [g, members] of groups) {
      const n = roundRobin.get(g) ?? 0;
      roundRobin.set(g, n + 1);
      targets.push(members[n % members.length]!);
    }
    for (const s of targets) {
      const msg: BusMessage = {
        subject,
        data,
        respond: (out) => {
          if (reply === undefined || closed) return false;
          publish(reply, out);
          return true;
        },
      };
      schedule(() => {
        if (s.active) s.handler(msg);
      });
    }
    return targets.length;
  }

  function publish(subject: string, data: Uint8Array): void {
    if (closed) throw new BusClosedError('bus is closed');
    deliver(subject, data, undefined);
  }

  function subscribe(
    pattern: string,
    handler: (msg: BusMessage) => void,
    options?: { queue?: string },
  ): BusSubscription {
    const s: Sub = { pattern, queue: options?.queue, handler, active: true };
    subs.push(s);
    return {
      unsubscribe: () => {
        s.active = false;
        const i = subs.indexOf(s);
        if (i >= 0) subs.splice(i, 1);
      },
    };
  }

  function request(
    subject: string,
    data: Uint8Array,
    options: { timeoutMs: number },
  ): Promise<Uint8Array> {
    if (closed) return Promise.reject(new BusClosedError('bus is closed'));
    return new Promise((resolve, reject) => {
      const inbox = `_INBOX.one.${++inboxSeq}`;
      const timer = setTimeout(() => {
        sub.unsubscribe();
        reject(
          new BusTimeoutError(`request to ${subject} timed out after ${options.timeoutMs} ms`),
        );
      }, options.timeoutMs);
      const sub = subscribe(inbox, (m) => {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(m.data);
      });
      if (deliver(subject, data, inbox) === 0) {
        clearTimeout(timer);
        sub.unsubscribe();
        reject(new BusNoRespondersError(`no responders for ${subject}`));
      }
    });
  }

  async function* requestMany(
    subject: string,
    data: Uint8Array,
    options: RequestManyOptions,
  ): AsyncIterable<Uint8Array> {
    if (closed) throw new BusClosedError('bus is closed');
    const inbox = `_INBOX.many.${++inboxSeq}`;
    const pending: Uint8Array[] = [];
    let wake: (() => void) | undefined;
    const sub = subscribe(inbox, (m) => {
      pending.push(m.data);
      wake?.();
    });
    try {
      if (deliver(subject, data, inbox) === 0)
        throw new BusNoRespondersError(`no responders for ${subject}`);
      const deadline = Date.now() + options.maxWaitMs;
      const idle = options.idleMs ?? options.maxWaitMs;
      for (;;) {
        while (pending.length > 0) {
          const d = pending.shift()!;
          if (d.byteLength === 0) return;
          yield d;
        }
        const wait = Math.min(idle, deadline - Date.now());
        if (wait <= 0) throw new BusTimeoutError(`reply stream from ${subject} timed out`);
        const woke = await new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), wait);
          wake = () => {
            clearTimeout(t);
            resolve(true);
          };
        });
        wake = undefined;
        if (!woke && pending.length === 0)
          throw new BusTimeoutError(`reply stream from ${subject} stalled`);
      }
    } finally {
      sub.unsubscribe();
    }
  }

  return {
    kind: 'memory',
    publish,
    subscribe,
    request,
    requestMany,
    flush: async () => {
      await new Promise<void>((r) => setImmediate(r));
    },
    isConnected: () => !closed,
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    // Nothing crosses a wire: any size goes.
    maxPayloadBytes: () => Number.POSITIVE_INFINITY,
    close: async () => {
      await new Promise<void>((r) => setImmediate(r));
      if (closed) return;
      closed = true;
      subs.length = 0;
      for (const l of [...connectionListeners]) {
        try {
          l(false);
        } catch (err) {
          onHandlerError(err);
        }
      }
    },
  };
}
