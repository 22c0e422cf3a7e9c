import type { EventBatch, SnapshotChunk } from '@kvroute/protocol';

/**
 * What the indexer must do with one incoming batch for a pod. Batches of a
 * (pod, epoch) must apply in seq order exactly once; anything that breaks the
 * chain (a start with no state, a gap, a new epoch mid-stream) is repaired by a
 * snapshot, with batches arriving meanwhile held and applied after it.
 */
export type SyncAction =
  | { kind: 'apply'; batches: EventBatch[] }
  | { kind: 'reset-and-apply'; batches: EventBatch[] }
  | { kind: 'resync'; reason: 'start' | 'gap' | 'epoch' | 'tail' | 'rejected' }
  | { kind: 'hold' }
  | { kind: 'drop'; reason: 'duplicate' };

/**
 * Batches held while a snapshot is in flight. Past this many the held run is
 * dropped and the snapshot's answer is treated as stale, so a fresh resync
 * follows (the pod's state comes from the next snapshot, never from a hole).
 */
const MAX_HELD = 10_000;

/**
 * Per-pod sequencing, free of I/O so every transition is unit-tested. The
 * caller performs the action (apply to the index, request a snapshot) and
 * reports snapshot results back.
 */
export class PodSync {
  epoch: string | null = null;
  /** Last seq applied in `epoch` (0 = nothing yet). */
  lastSeq = 0;
  syncing = false;
  private held: EventBatch[] = [];
  private overflowed = false;
  private tailSuspect = 0;

  onBatch(b: EventBatch): SyncAction {
    if (this.syncing) {
      if (this.held.length >= MAX_HELD) {
        this.held = [];
        this.overflowed = true;
      }
      this.held.push(b);
      return { kind: 'hold' };
    }
    if (this.epoch === null || b.epoch !== this.epoch) {
      // A (new) epoch from its first batch needs no snapshot: the pod starts empty.
      if (b.seq === 1) return this.startEmpty(b.epoch, [b]);
      return this.startResync(b, this.epoch === null ? 'start' : 'epoch');
    }
    if (b.seq <= this.lastSeq) return { kind: 'drop', reason: 'duplicate' };
    if (b.seq === this.lastSeq + 1) {
      this.lastSeq = b.seq;
      this.tailSuspect = 0;
      return { kind: 'apply', batches: [b] };
    }
    return this.startResync(b, 'gap');
  }

  /**
   * A heartbeat says the publisher has published up to `lastSeq` in `epoch`.
   * Two heartbeats in a row ahead of us with nothing arriving means the tail
   * of the stream was lost (a batch cannot be missed by seq checks if no later
   * one comes): resync.
   */
  onHeartbeat(epoch: string, lastSeq: number): SyncAction | null {
    if (this.syncing) return null;
    if (this.epoch === null || epoch !== this.epoch) {
      // A publisher that has published nothing yet in this epoch (new, or its
      // engine restarted): the pod is known and empty, whatever it held before.
      if (lastSeq === 0) return this.startEmpty(epoch, []);
      // Nothing known yet: fetch the state now. A changed epoch waits one more
      // heartbeat, since the new epoch's first batch may be on its way.
      if (this.epoch === null) return this.startResync(null, 'start');
      if (this.tailSuspect++ >= 1) return this.startResync(null, 'epoch');
      return null;
    }
    if (lastSeq > this.lastSeq) {
      if (this.tailSuspect++ >= 1) return this.startResync(null, 'tail');
      return null;
    }
    this.tailSuspect = 0;
    return null;
  }

  /**
   * The pod starts `epoch` from nothing: its state is exactly `batches`. A
   * heartbeat that was ahead of the old epoch says nothing about this one.
   */
  private startEmpty(epoch: string, batches: EventBatch[]): SyncAction {
    this.epoch = epoch;
    this.lastSeq = batches.at(-1)?.seq ?? 0;
    this.tailSuspect = 0;
    return { kind: 'reset-and-apply', batches };
  }

  private startResync(
    b: EventBatch | null,
    reason: 'start' | 'gap' | 'epoch' | 'tail' | 'rejected',
  ): SyncAction {
    this.syncing = true;
    this.tailSuspect = 0;
    this.overflowed = false;
    this.held = b ? [b] : [];
    return { kind: 'resync', reason };
  }

  /**
   * The snapshot arrived (its last chunk carries epoch and seq). Returns the
   * held batches that apply on top of it, in order; if they do not continue
   * the snapshot without a gap, the caller must resync again (`null`).
   */
  onSnapshot(last: Pick<SnapshotChunk, 'epoch' | 'seq'>): EventBatch[] | null {
    this.epoch = last.epoch;
    this.lastSeq = last.seq;
    if (this.overflowed) {
      // Batches were dropped while waiting: what follows the snapshot has a hole.
      this.overflowed = false;
      this.held = [];
      this.syncing = true;
      return null;
    }
    const later = this.held
      .filter((b) => b.epoch === last.epoch && b.seq > last.seq)
      .sort((x, y) => x.seq - y.seq);
    this.held = [];
    this.syncing = false;
    const out: EventBatch[] = [];
    for (const b of later) {
      if (b.seq === this.lastSeq) continue; // held twice
      if (b.seq !== this.lastSeq + 1) {
        this.syncing = true;
        this.held = later.filter((x) => x.seq > this.lastSeq);
        return null;
      }
      out.push(b);
      this.lastSeq = b.seq;
    }
    return out;
  }

  /** A batch the index refused: the state after it is unknown, so fetch it whole. */
  onRejected(): SyncAction {
    return this.startResync(null, 'rejected');
  }

  /** The snapshot failed; keep holding, the caller retries. */
  onSnapshotFailed(): void {
    this.syncing = true;
  }
}
