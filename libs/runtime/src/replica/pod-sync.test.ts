import { describe, expect, it } from 'vitest';
import type { EventBatch } from '@kvroute/protocol';
import { PodSync } from './pod-sync.js';
import type { SnapshotAction } from './pod-sync.js';

const b = (seq: number, epoch = 'e1'): EventBatch => ({
  pod: 'p:1',
  model: 'm',
  epoch,
  seq,
  ts: 1,
  events: [],
});
const seqs = (a: SnapshotAction) => ('batches' in a ? a.batches.map((x) => x.seq) : null);

describe('PodSync', () => {
  it('applies a stream from seq 1 in order and drops duplicates', () => {
    const s = new PodSync();
    expect(s.onBatch(b(1))).toEqual({ kind: 'reset-and-apply', batches: [b(1)] });
    expect(s.onBatch(b(2)).kind).toBe('apply');
    expect(s.onBatch(b(2))).toEqual({ kind: 'drop', reason: 'duplicate' });
    expect(s.onBatch(b(3)).kind).toBe('apply');
    expect(s.lastSeq).toBe(3);
  });

  it('resyncs on a start mid-stream, holds batches meanwhile and applies those after the snapshot', () => {
    const s = new PodSync();
    expect(s.onBatch(b(5))).toEqual({ kind: 'resync', reason: 'start' });
    expect(s.onBatch(b(6)).kind).toBe('hold');
    expect(s.onBatch(b(8)).kind).toBe('hold');
    expect(s.onBatch(b(7)).kind).toBe('hold');
    // the snapshot was taken after seq 6: 5 and 6 are inside it, 7 and 8 apply on top
    expect(seqs(s.onSnapshot({ epoch: 'e1', seq: 6 }))).toEqual([7, 8]);
    expect(s.syncing).toBe(false);
    expect(s.onBatch(b(9)).kind).toBe('apply');
  });

  it('resyncs on a gap, and again when held batches do not continue the snapshot', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    expect(s.onBatch(b(3))).toEqual({ kind: 'resync', reason: 'gap' });
    s.onBatch(b(6));
    expect(s.onSnapshot({ epoch: 'e1', seq: 4 })).toEqual({ kind: 'resync', reason: 'gap' });
    expect(s.syncing).toBe(true);
    const after = s.onSnapshot({ epoch: 'e1', seq: 5 });
    expect([after.kind, seqs(after)]).toEqual(['import-and-apply', [6]]);
  });

  it('starts a new epoch from its first batch without a snapshot, and resyncs one joined late', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(2));
    expect(s.onBatch(b(1, 'e2'))).toEqual({ kind: 'reset-and-apply', batches: [b(1, 'e2')] });
    expect(s.onBatch(b(9, 'e3'))).toEqual({ kind: 'resync', reason: 'epoch' });
    expect(s.onBatch(b(10, 'e2')).kind).toBe('hold');
    expect(s.onSnapshot({ epoch: 'e3', seq: 9 })).toEqual({
      kind: 'import-and-apply',
      batches: [],
    });
  });

  it('detects a lost tail from heartbeats ahead of what arrived, after two in a row', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    expect(s.onHeartbeat('e1', 1)).toBeNull();
    expect(s.onHeartbeat('e1', 2)).toBeNull();
    expect(s.onHeartbeat('e1', 2)).toEqual({ kind: 'resync', reason: 'tail' });
  });

  it('does not carry a heartbeat-ahead count over an engine restart into the new epoch', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(2));
    // the heartbeat of the new epoch overtakes its first batch
    expect(s.onHeartbeat('e2', 1)).toBeNull();
    expect(s.onBatch(b(1, 'e2')).kind).toBe('reset-and-apply');
    // e2/2 is on its way: one heartbeat ahead is not yet a lost tail
    expect(s.onHeartbeat('e2', 2)).toBeNull();
    expect(s.onBatch(b(2, 'e2')).kind).toBe('apply');
  });

  it('starts a known pod empty at once when a heartbeat shows a new epoch with nothing published', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(2));
    expect(s.onHeartbeat('e2', 0)).toEqual({ kind: 'reset-and-apply', batches: [] });
    expect([s.epoch, s.lastSeq]).toEqual(['e2', 0]);
    expect(s.onHeartbeat('e2', 0)).toBeNull();
    expect(s.onBatch(b(1, 'e2')).kind).toBe('apply');
  });

  it('fetches state at once for a pod first seen by heartbeat, and knows an empty one', () => {
    const s = new PodSync();
    expect(s.onHeartbeat('e1', 4)).toEqual({ kind: 'resync', reason: 'start' });
    const t = new PodSync();
    expect(t.onHeartbeat('e1', 0)).toEqual({ kind: 'reset-and-apply', batches: [] });
    expect(t.onBatch(b(1)).kind).toBe('apply');
  });
});

describe('PodSync: the engine restarts while a snapshot is in flight', () => {
  it('drops a snapshot of the old epoch when the new epoch is held from seq 1, and applies that run', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(2));
    expect(s.onBatch(b(4))).toEqual({ kind: 'resync', reason: 'gap' });
    expect(s.onBatch(b(2, 'e2')).kind).toBe('hold');
    expect(s.onBatch(b(1, 'e2')).kind).toBe('hold');
    expect(s.onSnapshot({ epoch: 'e1', seq: 4 })).toEqual({
      kind: 'reset-and-apply',
      batches: [b(1, 'e2'), b(2, 'e2')],
    });
    expect([s.epoch, s.lastSeq, s.syncing]).toEqual(['e2', 2, false]);
    expect(s.onBatch(b(3, 'e2')).kind).toBe('apply');
    // the heartbeats of the new epoch agree: no resync follows
    expect(s.onHeartbeat('e2', 3)).toBeNull();
    expect(s.onHeartbeat('e2', 3)).toBeNull();
  });

  it('fetches again at once when the new epoch is held from a later seq, or with a hole', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(3));
    s.onBatch(b(5, 'e2'));
    expect(s.onSnapshot({ epoch: 'e1', seq: 3 })).toEqual({ kind: 'resync', reason: 'epoch' });
    expect(s.syncing).toBe(true);
    expect(s.onBatch(b(6, 'e2')).kind).toBe('hold');
    expect(seqs(s.onSnapshot({ epoch: 'e2', seq: 5 }))).toEqual([6]);

    const t = new PodSync();
    t.onBatch(b(1));
    t.onBatch(b(3));
    t.onBatch(b(1, 'e2'));
    t.onBatch(b(3, 'e2'));
    expect(t.onSnapshot({ epoch: 'e1', seq: 3 })).toEqual({ kind: 'resync', reason: 'epoch' });
  });

  it('ignores held batches of the epoch the snapshot replaced', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    s.onBatch(b(3)); // gap; the engine restarts before answering
    expect(s.onSnapshot({ epoch: 'e2', seq: 4 })).toEqual({
      kind: 'import-and-apply',
      batches: [],
    });
    expect([s.epoch, s.lastSeq]).toEqual(['e2', 4]);
  });
});

describe('PodSync limits', () => {
  it('drops the held run past its bound and resyncs again rather than applying across a hole', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    expect(s.onBatch(b(3)).kind).toBe('resync');
    for (let seq = 4; seq < 4 + 10_001; seq++) s.onBatch(b(seq));
    expect(s.onSnapshot({ epoch: 'e1', seq: 2 })).toEqual({ kind: 'resync', reason: 'gap' });
    expect(s.syncing).toBe(true);
    expect(s.onSnapshot({ epoch: 'e1', seq: 20_000 })).toEqual({
      kind: 'import-and-apply',
      batches: [],
    });
  });

  it('fetches the whole state after a batch the index refused', () => {
    const s = new PodSync();
    s.onBatch(b(1));
    expect(s.onRejected()).toEqual({ kind: 'resync', reason: 'rejected' });
    expect(s.onBatch(b(2)).kind).toBe('hold');
    expect(seqs(s.onSnapshot({ epoch: 'e1', seq: 1 }))).toEqual([2]);
  });
});
