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

/** What to do once a snapshot has arrived, given the batches held meanwhile. */
export type SnapshotAction =
  /** Import the snapshot, then apply these held batches on top of it, in order. */
  | { kind: 'import-and-apply'; batches: EventBatch[] }
  /** The snapshot is of a dead engine: empty the pod and apply the new epoch's batches. */
  | { kind: 'reset-and-apply'; batches: EventBatch[] }
  /**
   * Fetch another snapshot at once. `gap`: the held batches do not continue this
   * one, which is still the best state meanwhile; `epoch`: the publisher moved to
   * an epoch this snapshot is not of, so the pod is emptied until the next.
   */
  | { kind: 'resync'; reason: 'gap' | 'epoch' };

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
  /** The epoch the pod was in when the pending snapshot was asked for. */
  private syncFrom: string | null = null;

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
    this.syncFrom = this.epoch;
    this.tailSuspect = 0;
    this.overflowed = false;
    this.held = b ? [b] : [];
    return { kind: 'resync', reason };
  }

  /**
   * The snapshot arrived (its last chunk carries epoch and seq). Usually the
   * held batches after its seq apply on top. But when batches of an epoch that
   * is neither the snapshot's nor the one the pod was in before were held, the
   * engine restarted after answering (held batches are in arrival order; the
   * last such epoch is the newest): the snapshot is of a dead engine, and the
   * new epoch's run from seq 1 is the pod's whole state. Anything that does not
   * continue without a gap is fetched again.
   */
  onSnapshot(last: Pick<SnapshotChunk, 'epoch' | 'seq'>): SnapshotAction {
    this.epoch = last.epoch;
    this.lastSeq = last.seq;
    if (this.overflowed) {
      // Batches were dropped while waiting: what follows the snapshot has a hole.
      this.overflowed = false;
      this.held = [];
      this.syncing = true;
      this.syncFrom = this.epoch;
      return { kind: 'resync', reason: 'gap' };
    }
    const newer = this.held.findLast((b) => b.epoch !== last.epoch && b.epoch !== this.syncFrom);
    const current = newer?.epoch ?? last.epoch;
    const run = this.held.filter((b) => b.epoch === current).sort((x, y) => x.seq - y.seq);
    this.held = [];
    this.syncing = false;
    if (current !== last.epoch) {
      this.epoch = current;
      this.lastSeq = 0;
      this.tailSuspect = 0;
      const next = this.continueRun(run);
      if (next) return { kind: 'reset-and-apply', batches: next };
      // Nothing held needs keeping: the next snapshot is taken after all of it.
      this.syncing = true;
      this.syncFrom = current;
      return { kind: 'resync', reason: 'epoch' };
    }
    const next = this.continueRun(run);
    if (next) return { kind: 'import-and-apply', batches: next };
    this.syncing = true;
    this.syncFrom = this.epoch;
    this.held = run.filter((x) => x.seq > this.lastSeq);
    return { kind: 'resync', reason: 'gap' };
  }

  /**
   * The batches of `sorted` (one epoch, by seq) that follow `lastSeq`, advancing
   * it; null when they leave a gap. Batches held twice count once.
   */
  private continueRun(sorted: readonly EventBatch[]): EventBatch[] | null {
    const out: EventBatch[] = [];
    let seq = this.lastSeq;
    for (const b of sorted) {
      if (b.seq <= seq) continue;
      if (b.seq !== seq + 1) return null;
      out.push(b);
      seq = b.seq;
    }
    this.lastSeq = seq;
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
