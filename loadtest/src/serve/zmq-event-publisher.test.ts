import { Dealer } from 'zeromq';
import { afterEach, describe, expect, it } from 'vitest';
import { KvTap, replayFrom } from './test-clients.js';
import { ZmqEventPublisher } from './zmq-event-publisher.js';

const payload = (i: number) => Buffer.from(`batch-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ZmqEventPublisher (vLLM ZmqEventPublisher wire behaviour, real sockets)', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  it('publishes [topic, seq from 0 as u64 BE, payload] on a bound PUB socket', async () => {
    const p = await ZmqEventPublisher.start({ topic: 'kv@pod-a' });
    open.push(p);
    expect(p.endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const tap = KvTap.connect(p.endpoint, 'kv@');
    open.push(tap);
    await sleep(300); // a SUB's subscription reaches the PUB asynchronously (ZMQ slow joiner)
    for (let i = 0; i < 3; i++) expect(p.publish(payload(i))).toBe(i);
    await tap.waitFor((m) => m.length === 3);
    expect(tap.messages.map((m) => m.frames.length)).toEqual([3, 3, 3]);
    expect(tap.messages.map((m) => m.frames[0]!.toString())).toEqual([
      'kv@pod-a',
      'kv@pod-a',
      'kv@pod-a',
    ]);
    expect(tap.messages.map((m) => m.frames[1]!.toString('hex'))).toEqual([
      '0000000000000000',
      '0000000000000001',
      '0000000000000002',
    ]);
    expect(tap.messages.map((m) => m.payload.toString())).toEqual([
      'batch-0',
      'batch-1',
      'batch-2',
    ]);
    expect(p.stats.published).toBe(3);
  });

  it('replays every buffered seq ≥ start, then the -1 end marker with an empty payload', async () => {
    const p = await ZmqEventPublisher.start({ bufferSteps: 3 });
    open.push(p);
    for (let i = 0; i < 5; i++) p.publish(payload(i));
    const all = await replayFrom(p.replayEndpoint, 0);
    // The DEALER sees [empty, seq, payload]: the ROUTER strips the identity.
    expect(all.map((m) => m.frames.length)).toEqual([3, 3, 3, 3]);
    expect(all.map((m) => m.frames[0]!.byteLength)).toEqual([0, 0, 0, 0]);
    expect(all.map((m) => m.seq)).toEqual([2, 3, 4, -1]);
    expect(all.map((m) => m.payload.toString())).toEqual(['batch-2', 'batch-3', 'batch-4', '']);
    expect(all.at(-1)!.frames[1]!.toString('hex')).toBe('ffffffffffffffff');
    expect((await replayFrom(p.replayEndpoint, 4)).map((m) => m.seq)).toEqual([4, -1]);
    expect((await replayFrom(p.replayEndpoint, 9)).map((m) => m.seq)).toEqual([-1]);
    expect(p.stats.replayRequests).toBe(3);
  });

  it('ignores and counts a malformed replay request, and still answers the next one', async () => {
    const p = await ZmqEventPublisher.start();
    open.push(p);
    p.publish(payload(0));
    const d = new Dealer({ linger: 0, receiveTimeout: 3000 });
    try {
      d.connect(p.replayEndpoint);
      await d.send([Buffer.alloc(8)]); // no empty delimiter: [identity, start] at the ROUTER
      await d.send([Buffer.alloc(0), Buffer.alloc(8)]);
      const first = await d.receive();
      expect(Number(first[1]!.readBigInt64BE())).toBe(0);
      expect(first[2]!.toString()).toBe('batch-0');
      expect(Number((await d.receive())[1]!.readBigInt64BE())).toBe(-1);
    } finally {
      d.close();
    }
    expect(p.stats.malformedReplayRequests).toBe(1);
    expect(p.stats.replayRequests).toBe(2);
  });
});
