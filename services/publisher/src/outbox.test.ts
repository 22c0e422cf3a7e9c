import type { CanonicalEvent, EventBatch } from '@kvroute/protocol';
import { decodeEventBatch } from '@kvroute/protocol';
import { createMemoryBus } from '@kvroute/runtime';
import { describe, expect, it } from 'vitest';
import { Outbox } from './outbox.js';

const ev = (k: number, n = 1): CanonicalEvent => ({
  kind: 'stored',
  parent: null,
  keys: Uint32Array.from({ length: 2 * n }, (_, i) => k + i),
  tier: 'gpu',
  depth: 0,
});

function setup(coalesceMs: number) {
  const bus = createMemoryBus();
  const got: EventBatch[] = [];
  bus.subscribe('out', (m) => got.push(decodeEventBatch(m.data)));
  const lags: number[] = [];
  const box = new Outbox(
    bus,
    {
      pod: 'p:1',
      model: 'm',
      subject: 'out',
      coalesceMs,
      flushKeys: 64,
      outageBufferBytes: 1 << 20,
      outageSettleMs: 0,
    },
    { published: () => undefined, lag: (ms) => lags.push(ms), dropped: () => undefined },
  );
  return { box, got, lags };
}
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Outbox', () => {
  it('sends the first batch after a quiet spell on the next turn, and merges what follows within the window', async () => {
    // A window long enough that a loaded machine's slow turn does not end it.
    const { box, got, lags } = setup(300);
    box.add([ev(1)], Date.now() - 5);
    await turn();
    await turn();
    expect(got.map((b) => b.seq)).toEqual([1]);
    box.add([ev(2)], Date.now());
    box.add([ev(3), ev(4)], Date.now());
    await turn();
    expect(got).toHaveLength(1); // held: the last flush was under 300 ms ago
    await sleep(400);
    expect(got.map((b) => [b.seq, b.events.length])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(lags).toHaveLength(3); // one per source batch
    expect(lags[0]).toBeGreaterThanOrEqual(5);
  });

  it('flushes a large batch at once and numbers every epoch from 1', async () => {
    const { box, got } = setup(1000);
    box.add([ev(1, 64)], 0);
    await turn();
    box.add([ev(2)], 0);
    const first = box.epoch;
    box.newEpoch(); // the pending event goes out in the old epoch first
    box.add([{ kind: 'cleared' }], 0);
    box.flush();
    await turn();
    expect(got.map((b) => [b.epoch === first, b.seq])).toEqual([
      [true, 1],
      [true, 2],
      [false, 1],
    ]);
  });

  it('with no coalescing, sends each batch by itself', async () => {
    const { box, got } = setup(0);
    for (let i = 0; i < 5; i++) box.add([ev(i)], 0);
    await turn();
    expect(got.map((b) => b.seq)).toEqual([1, 2, 3, 4, 5]);
  });
});
