/** Whether a replica's index can answer lookups as well as any synced peer, and if not why. */
export interface Readiness {
  ready: boolean;
  /**
   * Why not ready (null when ready): `stopped`; `disconnected` from the bus;
   * `warming-up` (live pods may not have announced themselves yet); `syncing`
   * (a known pod has no complete state yet: see `unsyncedPods`).
   */
  reason: 'stopped' | 'disconnected' | 'warming-up' | 'syncing' | null;
  /** Time left of the warm-up, ms (0 once over). */
  warmupLeftMs: number;
  /** Pods never synced or fetching a snapshot now, sorted. Listed even when ready. */
  unsyncedPods: string[];
}

/** What the gate needs to know of a pod. */
export interface PodSyncState {
  pod: string;
  /** A complete state was applied once (snapshot, or a start from empty). */
  firstSyncDone: boolean;
  /** A snapshot is being fetched. */
  syncing: boolean;
}

/**
 * The readiness rule of an index replica, free of I/O. After start, and again
 * after the bus comes back from a disconnection (messages may have been lost),
 * the replica warms up: it waits until every live pod must have announced
 * itself — three heartbeat intervals (the largest seen), at most the pod
 * timeout, since a pod silent that long is removed anyway; three so that a
 * lost tail, which two heartbeats reveal, is being repaired by then — and then
 * until every known pod holds a complete state. Once there it stays ready
 * while connected: a pod that joins later syncs like it would on every
 * replica of its shard, so this one answers as well as any.
 */
export class ReadinessGate {
  private phase: 'down' | 'warming' | 'ready' = 'down';
  private downReason: 'stopped' | 'disconnected' = 'stopped';
  private warmupFromMs = 0;
  private intervalMs = 0;

  constructor(private readonly podTimeoutMs: number) {}

  /** The warm-up starts (at start, and when the bus comes back). */
  begin(nowMs: number): void {
    this.phase = 'warming';
    this.warmupFromMs = nowMs;
  }

  down(reason: 'stopped' | 'disconnected'): void {
    this.phase = 'down';
    this.downReason = reason;
  }

  /** A heartbeat advertised this interval; returns the warm-up end if it moved. */
  heartbeatInterval(ms: number): number | null {
    if (!(ms > this.intervalMs)) return null;
    this.intervalMs = ms;
    return this.phase === 'warming' ? this.warmupEndMs() : null;
  }

  warmupEndMs(): number {
    const waitMs =
      this.intervalMs > 0 ? Math.min(this.podTimeoutMs, 3 * this.intervalMs) : this.podTimeoutMs;
    return this.warmupFromMs + waitMs;
  }

  /** O(pods). Moves from warming to ready when the rule holds. */
  evaluate(nowMs: number, pods: Iterable<PodSyncState>): Readiness {
    const unsyncedPods: string[] = [];
    for (const p of pods) if (!p.firstSyncDone || p.syncing) unsyncedPods.push(p.pod);
    unsyncedPods.sort();
    const warmupLeftMs = this.phase === 'warming' ? Math.max(0, this.warmupEndMs() - nowMs) : 0;
    if (this.phase === 'warming' && warmupLeftMs === 0 && unsyncedPods.length === 0)
      this.phase = 'ready';
    const reason =
      this.phase === 'ready'
        ? null
        : this.phase === 'down'
          ? this.downReason
          : warmupLeftMs > 0
            ? 'warming-up'
            : 'syncing';
    return { ready: reason === null, reason, warmupLeftMs, unsyncedPods };
  }
}
