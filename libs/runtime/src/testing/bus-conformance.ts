import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../bus/bus.js';
import { BusNoRespondersError, BusTimeoutError } from '../bus/bus.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * The behaviour every Bus must have, run against each implementation: the
 * in-process bus must be a faithful stand-in for NATS in the demo.
 */
export function describeBusConformance(
  name: string,
  open: () => Promise<{ a: Bus; b: Bus; done: () => Promise<void> }>,
): void {
  describe(`Bus conformance: ${name}`, () => {
    let a: Bus;
    let b: Bus;
    let done: () => Promise<void>;
    beforeAll(async () => {
      ({ a, b, done } = await open());
    });
    afterAll(async () => {
      await done();
    });

    it('delivers in publish order to every plain subscriber, with wildcards', async () => {
      const got1: string[] = [];
      const got2: string[] = [];
      const s1 = b.subscribe('t.order.*', (m) => got1.push(`${m.subject}=${dec(m.data)}`));
      const s2 = b.subscribe('t.>', (m) => got2.push(dec(m.data)));
      await b.flush();
      for (let i = 0; i < 100; i++) a.publish(`t.order.${i % 3}`, enc(String(i)));
      a.publish('t.order.x.y', enc('deep'));
      await a.flush();
      await until(() => got2.length === 101);
      expect(got1).toHaveLength(100);
      expect(got1[5]).toBe('t.order.2=5');
      expect(got2.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
      s1.unsubscribe();
      s2.unsubscribe();
    });

    it('gives each message of a queue group to exactly one member', async () => {
      const counts = [0, 0];
      const s1 = b.subscribe('t.q', () => counts[0]!++, { queue: 'g' });
      const s2 = b.subscribe('t.q', () => counts[1]!++, { queue: 'g' });
      await b.flush();
      for (let i = 0; i < 200; i++) a.publish('t.q', enc('x'));
      await a.flush();
      await until(() => counts[0]! + counts[1]! === 200);
      await new Promise((r) => setTimeout(r, 50));
      expect(counts[0]! + counts[1]!).toBe(200);
      s1.unsubscribe();
      s2.unsubscribe();
    });

    it('answers requests, and reports timeouts and missing responders as typed errors', async () => {
      const s = b.subscribe('t.echo', (m) => m.respond(enc(`echo:${dec(m.data)}`)));
      const silent = b.subscribe('t.silent', () => undefined);
      await b.flush();
      expect(dec(await a.request('t.echo', enc('hi'), { timeoutMs: 2000 }))).toBe('echo:hi');
      await expect(a.request('t.silent', enc('x'), { timeoutMs: 100 })).rejects.toBeInstanceOf(
        BusTimeoutError,
      );
      await expect(a.request('t.nobody', enc('x'), { timeoutMs: 1000 })).rejects.toBeInstanceOf(
        BusNoRespondersError,
      );
      s.unsubscribe();
      silent.unsubscribe();
    });

    it('streams many replies ended by an empty message, and times out a stalled stream', async () => {
      const s = b.subscribe('t.many', (m) => {
        const n = Number(dec(m.data));
        for (let i = 0; i < n; i++) m.respond(enc(`part${i}`));
        m.respond(new Uint8Array(0));
      });
      const stall = b.subscribe('t.stall', (m) => m.respond(enc('only')));
      await b.flush();
      const parts: string[] = [];
      for await (const d of a.requestMany('t.many', enc('25'), { maxWaitMs: 3000, idleMs: 1000 }))
        parts.push(dec(d));
      expect(parts).toEqual(Array.from({ length: 25 }, (_, i) => `part${i}`));
      const got: string[] = [];
      await expect(
        (async () => {
          for await (const d of a.requestMany('t.stall', enc(''), { maxWaitMs: 2000, idleMs: 150 }))
            got.push(dec(d));
        })(),
      ).rejects.toBeInstanceOf(BusTimeoutError);
      expect(got).toEqual(['only']);
      s.unsubscribe();
      stall.unsubscribe();
    });

    it('keeps delivering when a handler throws', async () => {
      const got: string[] = [];
      const s1 = b.subscribe('t.throw', (m) => {
        if (dec(m.data) === 'bad') throw new Error('handler bug');
        got.push(dec(m.data));
      });
      await b.flush();
      for (const x of ['a', 'bad', 'b', 'bad', 'c']) a.publish('t.throw', enc(x));
      await a.flush();
      await until(() => got.length === 3);
      await new Promise((r) => setTimeout(r, 30));
      expect(got).toEqual(['a', 'b', 'c']);
      s1.unsubscribe();
    });

    it('stops delivering after unsubscribe', async () => {
      let n = 0;
      const s = b.subscribe('t.unsub', () => n++);
      await b.flush();
      a.publish('t.unsub', enc('1'));
      await a.flush();
      await until(() => n === 1);
      s.unsubscribe();
      await b.flush();
      a.publish('t.unsub', enc('2'));
      await a.flush();
      await new Promise((r) => setTimeout(r, 50));
      expect(n).toBe(1);
    });
  });
}
