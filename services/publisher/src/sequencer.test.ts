import { describe, expect, it } from 'vitest';
import type { SequencedFrame, SequencerHooks } from './sequencer.js';
import { ReplayError, SEQ_WINDOW, Sequencer } from './sequencer.js';

/** A frame of engine `e` (its payload tells engines apart, as real payloads do). */
const f = (seq: number, o: { decoded?: boolean; e?: number } = {}): SequencedFrame => ({
  seq,
  payload: new Uint8Array([o.e ?? 0, seq & 0xff]),
  decoded: o.decoded ?? true,
});
const tick = () => new Promise((r) => setTimeout(r, 1));

/**
 * An engine's replay buffer in memory; each reply yields asynchronously so
 * live messages interleave. `end: false` leaves out the end marker: the
 * reply then fails with a timeout after what it had.
 */
function harness(
  opts: {
    buffer?: () => (number | SequencedFrame)[];
    fail?: () => boolean;
    end?: () => boolean;
  } | null,
) {
  const log: string[] = [];
  const hooks: SequencerHooks = {
    apply: (fr, replayed) => log.push(`${replayed ? 'r' : 'l'}${fr.seq}`),
    replay:
      opts === null
        ? undefined
        : async function* (from) {
            await tick();
            if (opts.fail?.()) throw new ReplayError('timeout', 'no answer');
            for (const b of opts.buffer?.() ?? []) {
              const fr = typeof b === 'number' ? f(b) : b;
              if (fr.seq < from) continue;
              await tick();
              yield fr;
            }
            if (opts.end?.() === false) throw new ReplayError('timeout', 'no end marker');
          },
    gap: (a, b) => log.push(`gap ${a}-${b}`),
    replayStarted: (a) => log.push(`replay ${a}`),
    replayFailed: (r) => log.push(`failed ${r}`),
    uncovered: (r, a, b) => log.push(`lost ${r} ${a}-${b}`),
    restarted: (a, b, why) => log.push(`restart ${a}->${b} ${why}`),
    discarded: (fr, why) => log.push(`discard ${why} ${fr.seq}`),
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
    let engine = [0, 1, 2];
    const { log, seq } = harness({ buffer: () => engine });
    seq.start();
    for (let i = 0; i < 20; i++) await tick();
    seq.live(f(3));
    engine = [0, 1, 2, 3, 4, 5];
    seq.live(f(6)); // 4 and 5 never came live
    seq.live(f(7));
    await settle(seq);
    expect(log).toEqual([
      'replay 0',
      'r0',
      'r1',
      'r2',
      'l3',
      'gap 4-6',
      'replay 4',
      'r4',
      'r5',
      'l6',
      'l7',
    ]);
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
    expect(log).toEqual([
      'replay 0',
      'r0',
      'r1',
      'l2',
      'l3',
      'restart 4->0 seq-backwards',
      'l0',
      'l1',
    ]);
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
    expect(b.log.slice(5)).toEqual([
      'restart 4->1 seq-backwards',
      'gap 0-1',
      'replay 0',
      'r0',
      'r1',
    ]);
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

  it('never lets a frame whose payload does not decode pass for a gap or a restart', async () => {
    const { log, seq } = harness({ buffer: () => [0, 1] });
    seq.start();
    for (let i = 0; i < 20; i++) await tick();
    seq.live(f(2 ** 40, { decoded: false })); // corrupt: far ahead
    seq.live(f(0, { decoded: false })); // corrupt: behind
    seq.live(f(2, { decoded: false })); // garbage in its place: consumed, no replay asked for it
    seq.live(f(3));
    seq.live(f(4));
    await settle(seq);
    expect(log).toEqual([
      'replay 0',
      'r0',
      'r1',
      'discard payload 1099511627776',
      'discard payload 0',
      'l2',
      'l3',
      'l4',
    ]);

    // Held during a replay, it is consumed in its place or set aside, never trusted for its seq.
    const h = harness({ buffer: () => [0, 1] });
    h.seq.start();
    h.seq.live(f(5, { decoded: false }));
    h.seq.live(f(2, { decoded: false }));
    h.seq.live(f(3));
    await settle(h.seq);
    expect(h.log).toEqual(['replay 0', 'r0', 'r1', 'discard payload 5', 'l2', 'l3']);
  });

  it('discards an implausible replayed seq, and resyncs when one has pushed the expected seq ahead', async () => {
    // Live seqs known: a replayed seq far past them is corruption.
    let engine: (number | SequencedFrame)[] = [0];
    const a = harness({ buffer: () => engine });
    a.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    engine = [0, 1, 2 ** 40, 2];
    a.seq.live(f(3)); // 1 and 2 missed live
    await settle(a.seq);
    expect(a.log).toEqual([
      'replay 0',
      'r0',
      'gap 1-3',
      'replay 1',
      'r1',
      `discard seq-range ${2 ** 40}`,
      'r2',
      'l3',
    ]);

    // At start nothing bounds the replay; the first live seq shows the stream was not the engine's.
    let buffer = [2 ** 40];
    const b = harness({ buffer: () => buffer });
    b.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    buffer = [0, 1, 2];
    b.seq.live(f(3));
    b.seq.live(f(4));
    await settle(b.seq);
    expect(b.log).toEqual([
      'replay 0',
      `lost buffer-short 0-${2 ** 40}`,
      `r${2 ** 40}`,
      `restart ${2 ** 40 + 1}->3 stream-broken`,
      'gap 0-3',
      'replay 0',
      'r0',
      'r1',
      'r2',
      'l3',
      'l4',
    ]);
    expect(2 ** 40 - 3).toBeGreaterThan(SEQ_WINDOW);
  });

  it('after a disconnect, replays the last applied batch to tell the same engine from a new one', async () => {
    // The same engine, back after publishing 4 and 5 unseen: the check passes, the gap is filled.
    let engine = [0, 1, 2, 3];
    const same = harness({ buffer: () => engine });
    same.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    same.seq.disconnected();
    engine = [0, 1, 2, 3, 4, 5];
    same.seq.live(f(5));
    await settle(same.seq);
    expect(same.log).toEqual(['replay 0', 'r0', 'r1', 'r2', 'r3', 'replay 3', 'r4', 'r5']);

    // A new engine that has already counted past the old one: its seq 1 is another batch.
    let buffer: SequencedFrame[] = [f(0), f(1)];
    const next = harness({ buffer: () => buffer });
    next.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    next.seq.disconnected();
    buffer = [0, 1, 2, 3, 4, 5].map((i) => f(i, { e: 1 }));
    next.seq.live(f(5, { e: 1 }));
    await settle(next.seq);
    expect(next.log).toEqual([
      'replay 0',
      'r0',
      'r1',
      'replay 1',
      'restart 2->5 replay-mismatch',
      'replay 0',
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
    ]);

    // An engine that cannot show the batch again (silent replay socket) is not trusted either.
    let fail = false;
    const mute = harness({ buffer: () => [0], fail: () => fail });
    mute.seq.start();
    for (let i = 0; i < 20; i++) await tick();
    mute.seq.disconnected();
    fail = true;
    mute.seq.live(f(1));
    for (let i = 0; i < 20; i++) await tick();
    fail = false;
    await settle(mute.seq);
    expect(mute.log.slice(0, 5)).toEqual([
      'replay 0',
      'r0',
      'replay 0',
      'failed timeout',
      'restart 1->1 replay-mismatch',
    ]);
  });

  it('takes a replay that made progress but never sent its end marker as finished, and asks again', async () => {
    let buffer = [0, 1, 2, 3];
    const { log, seq } = harness({ buffer: () => buffer, end: () => false });
    seq.start();
    for (let i = 0; i < 30; i++) await tick();
    buffer = [0, 1, 2, 3, 4, 5, 6];
    seq.live(f(6));
    await settle(seq);
    expect(log).toEqual([
      'replay 0',
      'r0',
      'r1',
      'r2',
      'r3',
      'failed timeout',
      'gap 4-6',
      'replay 4',
      'r4',
      'r5',
      'r6',
      'failed timeout',
    ]);
  });

  it('fetches the live messages dropped for room while a replay ran', async () => {
    const n = 100_010;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let buffer: number[] = [];
    const applied: number[] = [];
    const lost: string[] = [];
    const seq = new Sequencer({
      apply: (fr) => applied.push(fr.seq),
      replay: async function* (from) {
        const served = buffer; // what the engine held when asked
        await gate;
        for (const s of served) if (s >= from) yield f(s);
      },
      gap: () => undefined,
      replayStarted: () => undefined,
      replayFailed: () => undefined,
      uncovered: (r, a, b) => lost.push(`${r} ${a}-${b}`),
      restarted: () => undefined,
      discarded: () => undefined,
    });
    seq.start(); // the start replay is slow: a burst arrives meanwhile
    for (let i = 0; i < n; i++) seq.live(f(i));
    buffer = Array.from({ length: n }, (_, i) => i);
    release();
    for (let i = 0; i < 20 && applied.length < n; i++) await tick();
    await seq.stop();
    expect(lost).toEqual([]);
    expect(applied.length).toBe(n);
    expect(applied.at(-1)).toBe(n - 1);
    expect(seq.expected).toBe(n);
  });
});
