import { describe, expect, it } from 'vitest';
import type { EngineFrame } from './frames.js';
import type { SequencerHooks } from './sequencer.js';
import { ReplayError, Sequencer } from './sequencer.js';

const f = (seq: number): EngineFrame => ({ seq, payload: new Uint8Array([seq & 0xff]) });
const tick = () => new Promise((r) => setTimeout(r, 1));

/** An engine's replay buffer in memory; each reply yields asynchronously so live messages interleave. */
function harness(opts: { buffer?: () => number[]; fail?: () => boolean } | null) {
  const log: string[] = [];
  const hooks: SequencerHooks = {
    apply: (fr, replayed) => log.push(`${replayed ? 'r' : 'l'}${fr.seq}`),
    replay:
      opts === null
        ? undefined
        : async function* (from) {
            await tick();
            if (opts.fail?.()) throw new ReplayError('timeout', 'no answer');
            for (const s of opts.buffer?.() ?? []) {
              if (s < from) continue;
              await tick();
              yield f(s);
            }
          },
    gap: (a, b) => log.push(`gap ${a}-${b}`),
    replayStarted: (a) => log.push(`replay ${a}`),
    replayFailed: (r) => log.push(`failed ${r}`),
    uncovered: (r, a, b) => log.push(`lost ${r} ${a}-${b}`),
    restarted: (a, b) => log.push(`restart ${a}->${b}`),
  };
  return { log, seq: new Sequencer(hooks) };
}

const settle = async (s: Sequencer) => {
  for (let i = 0; i < 50; i++) await tick();
  await s.stop();
};

describe('Sequencer', () => {
  it('replays from 0 at start and merges live messages that arrive meanwhile, each once', async () => {
    let engine = [0, 1, 2];
    const { log, seq } = harness({ buffer: () => engine });
    seq.start();
    engine = [0, 1, 2, 3, 4];
    seq.live(f(3));
    seq.live(f(4));
    await settle(seq);
    expect(log.filter((l) => /^[lr]\d/.test(l)).map((l) => l.slice(1))).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
    ]);
  });

  it('fills a live gap by replay, then carries on live', async () => {
    const { log, seq } = harness({ buffer: () => [0, 1, 2, 3, 4, 5] });
    seq.start();
    await settle(seq);
    const s2 = harness({ buffer: () => [0, 1, 2, 3, 4, 5, 6] });
    s2.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    s2.seq.live(f(7)); // 6 was never delivered live... but 0..6 came by replay
    await settle(s2.seq);
    expect(log.at(-1)).toBe('r5');
    expect(s2.log.slice(-2)).toEqual(['r6', 'l7']);
  });

  it('asks again when a hole remains after a replay, and gives up after two barren ones', async () => {
    let buffer: number[] = [];
    const { log, seq } = harness({ buffer: () => buffer });
    seq.start();
    for (let i = 0; i < 10; i++) await tick();
    buffer = [0, 1, 2];
    seq.live(f(2)); // 0 and 1 were lost to the slow joiner: replay again
    await settle(seq);
    expect(log).toEqual(['replay 0', 'gap 0-2', 'replay 0', 'r0', 'r1', 'r2']);

    const h = harness({ buffer: () => [] });
    h.seq.start();
    for (let i = 0; i < 10; i++) await tick();
    h.seq.live(f(3));
    await settle(h.seq);
    expect(h.log).toEqual([
      'replay 0',
      'gap 0-3',
      'replay 0',
      'gap 0-3',
      'replay 0',
      'lost buffer-short 0-3',
      'l3',
    ]);
  });

  it('reports a replay buffer that starts too late, and a replay that fails', async () => {
    const { log, seq } = harness({ buffer: () => [5, 6] });
    seq.start();
    await settle(seq);
    expect(log).toEqual(['replay 0', 'lost buffer-short 0-5', 'r5', 'r6']);

    let fail = false;
    const h = harness({ buffer: () => [0], fail: () => fail });
    h.seq.start();
    for (let i = 0; i < 10; i++) await tick();
    fail = true;
    h.seq.live(f(4));
    await settle(h.seq);
    expect(h.log).toEqual([
      'replay 0',
      'r0',
      'gap 1-4',
      'replay 1',
      'failed timeout',
      'lost timeout 1-4',
      'l4',
    ]);
  });

  it('detects an engine restart and starts over from 0', async () => {
    const { log, seq } = harness({ buffer: () => [0, 1] });
    seq.start();
    for (let i = 0; i < 10; i++) await tick();
    seq.live(f(2));
    seq.live(f(3));
    seq.live(f(0)); // a new engine
    seq.live(f(1));
    await settle(seq);
    expect(log).toEqual(['replay 0', 'r0', 'r1', 'l2', 'l3', 'restart 4->0', 'l0', 'l1']);
  });

  it('after a disconnect, a seq below the expected one is a restart, before that a late duplicate', async () => {
    const a = harness({ buffer: () => [0, 1, 2, 3] });
    a.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    a.seq.live(f(2)); // a late live copy of a replayed batch
    await settle(a.seq);
    expect(a.log).toEqual(['replay 0', 'r0', 'r1', 'r2', 'r3']);

    let buffer = [0, 1, 2, 3];
    const b = harness({ buffer: () => buffer });
    b.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    buffer = [0, 1];
    b.seq.disconnected();
    b.seq.live(f(1));
    await settle(b.seq);
    expect(b.log.slice(5)).toEqual(['restart 4->1', 'gap 0-1', 'replay 0', 'r0', 'r1']);
  });

  it('without a replay endpoint, reports what it cannot recover and goes on', async () => {
    const { log, seq } = harness(null);
    seq.start();
    seq.live(f(5));
    seq.live(f(6));
    seq.live(f(9));
    await settle(seq);
    expect(log).toEqual([
      'lost no-endpoint 0-5',
      'l5',
      'l6',
      'gap 7-9',
      'lost no-endpoint 7-9',
      'l9',
    ]);
  });
});
