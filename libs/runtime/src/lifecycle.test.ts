import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.js';
import { createLogger } from './log.js';

const log = createLogger('test', 'silent');

describe('Lifecycle', () => {
  it('stops in reverse order, and a stop begun during a start waits for it and stops what it started', async () => {
    const life = new Lifecycle(log);
    const order: string[] = [];
    let finishStart!: () => void;
    const start = life.whileStarting(
      (async () => {
        life.onStop('a', () => void order.push('a'));
        await new Promise<void>((r) => (finishStart = r));
        // Started after the stop was asked for: it must be stopped all the same.
        life.onStop('b', () => void order.push('b'));
      })(),
    );
    const stopped = life.stop();
    expect(life.signal.aborted).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    finishStart();
    await start;
    await stopped;
    expect(order).toEqual(['b', 'a']);
    expect(life.stop()).toBe(stopped);
  });
});
