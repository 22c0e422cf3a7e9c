import type { KeySeq } from '@kvroute/block-keys';
import type { LookupResult } from '@kvroute/prefix-index';
import type { EventBatch } from '@kvroute/protocol';
import { decodeEventBatch, decodeHeartbeat, SLOTS, slotOf, subjects } from '@kvroute/protocol';
import type { Registry } from 'prom-client';
import type { Bus, BusSubscription } from '../bus/bus.js';
import type { Logger } from '../log.js';
import { rateLimited } from '../log.js';
import type { ReplicaMetrics } from './metrics.js';
import { replicaMetrics } from './metrics.js';
import type { ModelView } from './model-views.js';
import { ModelViews } from './model-views.js';
import { PodSync } from './pod-sync.js';
import type { SyncAction } from './pod-sync.js';
import type { Readiness } from './readiness.js';
import { ReadinessGate } from './readiness.js';
import { fetchSnapshot, mergeChunks } from './snapshot-fetch.js';

export interface IndexReplicaOptions {
  /** Event slots to consume (pod sharding); default every slot. */
  slots?: readonly number[];
  memoryBudgetBytes: number;
  podTimeoutMs: number;
  snapshotTimeoutMs: number;
  speculativeTtlMs?: number;
  /** How often to sweep silent pods and refresh gauges. */
  tickMs?: number;
  /** Metric name prefix, e.g. `kvroute_indexer`. */
  metricsPrefix: string;
}

export interface PodEntry {
  pod: string;
  model: string;
  sync: PodSync;
  /** Last message of any kind (batch or heartbeat), for diagnostics. */
  lastSeenMs: number;
  /** Last heartbeat (or creation): a pod is removed when heartbeats stop, whatever else arrives. */
  lastHeartbeatMs: number;
  blockSize: number;
  /** A complete state was applied once (a snapshot, or a start from empty); readiness waits for it. */
  firstSyncDone: boolean;
  resyncAttempt: number;
}

/**
 * A live copy of the prefix index for a set of pods: consumes their canonical
 * event streams from the bus, keeps one prefix index per model (the memory
 * budget applies per model), follows heartbeats for liveness, and repairs any
 * break in a pod's stream with a snapshot from its publisher. The indexer
 * service serves lookups from it; a router in embedded mode holds one itself.
 */
export class IndexReplica {
  readonly metrics: ReplicaMetrics;
  private readonly ownedSlots = new Set<number>();
  private readonly models: ModelViews;
  private readonly pods = new Map<string, PodEntry>();
  private readonly subs: BusSubscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private readonly warn: ReturnType<typeof rateLimited>;
  private readonly gate: ReadinessGate;
  private readonly readyListeners = new Set<(ready: boolean) => void>();
  private lastReady = false;
  private offConnection: (() => void) | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly options: IndexReplicaOptions,
    private readonly log: Logger,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    for (const slot of options.slots ?? Array.from({ length: SLOTS }, (_, i) => i))
      this.ownedSlots.add(slot);
    this.metrics = replicaMetrics(registry, options.metricsPrefix);
    this.models = new ModelViews(this.metrics, options, now);
    this.warn = rateLimited(log);
    this.gate = new ReadinessGate(options.podTimeoutMs);
  }

  eventLagMs(model: string): number {
    return this.models.eventLagMs(model);
  }

  counts(model: string): { gaps: number; resyncs: number } {
    return this.models.counts(model);
  }

  owns(pod: string): boolean {
    return this.ownedSlots.has(slotOf(pod));
  }

  start(): void {
    if (this.ownedSlots.size === SLOTS) {
      this.subs.push(this.bus.subscribe(subjects.allEvents(), (m) => this.onEvents(m.data)));
    } else {
      for (const slot of this.ownedSlots) {
        this.subs.push(
          this.bus.subscribe(subjects.eventsForSlot(slot), (m) => this.onEvents(m.data)),
        );
      }
    }
    this.subs.push(this.bus.subscribe(subjects.allLoad(), (m) => this.onHeartbeat(m.data)));
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 500);
    this.timer.unref();
    this.started = true;
    this.offConnection = this.bus.onConnectionChange((connected) => this.onConnection(connected));
    this.onConnection(this.bus.isConnected());
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    this.offConnection?.();
    this.started = false;
    this.gate.down('stopped');
    this.readiness();
  }

  /** See `readiness()`. */
  ready(): boolean {
    return this.readiness().ready;
  }

  /**
   * Not ready from start until live pods have announced themselves and every
   * known pod holds a complete state (ReadinessGate has the rule); again after
   * the bus comes back from a disconnection. O(pods).
   */
  readiness(): Readiness {
    const r = this.gate.evaluate(this.now(), this.syncStates());
    if (r.ready !== this.lastReady) {
      this.lastReady = r.ready;
      this.log.info({ ready: r.ready, unsynced: r.unsyncedPods.length }, 'readiness changed');
      for (const l of this.readyListeners) l(r.ready);
    }
    return r;
  }

  /** Calls `listener` on every change of `ready()`; returns the function that removes it. */
  onReadyChange(listener: (ready: boolean) => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  private *syncStates() {
    for (const e of this.pods.values())
      yield { pod: e.pod, firstSyncDone: e.firstSyncDone, syncing: e.sync.syncing };
  }

  private onConnection(connected: boolean): void {
    if (!this.started) return;
    if (connected) {
      // Nothing was heard while away: every pod gets a full timeout to be heard again.
      const now = this.now();
      for (const e of this.pods.values()) e.lastHeartbeatMs = Math.max(e.lastHeartbeatMs, now);
      this.gate.begin(now);
      this.checkAt(this.gate.warmupEndMs());
    } else {
      this.gate.down('disconnected');
    }
    this.readiness();
  }

  /** Re-evaluates readiness at `atMs`, so the end of the warm-up is noticed when it comes. */
  private checkAt(atMs: number): void {
    setTimeout(() => this.started && this.readiness(), Math.max(0, atMs - this.now()) + 1).unref();
  }

  model(name: string): ModelView | undefined {
    return this.models.get(name);
  }

  modelNames(): string[] {
    return this.models.names();
  }

  podEntries(): PodEntry[] {
    return [...this.pods.values()];
  }

  lookup(
    model: string,
    keys: KeySeq,
    candidates: readonly string[] | null,
    includeSpeculative = false,
  ): LookupResult {
    const view = this.models.get(model);
    if (!view) return { matches: [] };
    return view.index.lookup(keys, { includeSpeculative, ...(candidates ? { candidates } : {}) });
  }

  eventsPerSecond(model: string): number {
    return this.models.eventsPerSecond(model);
  }

  // ---- inbound -----------------------------------------------------------

  private viewFor(model: string): ModelView {
    return this.models.viewFor(model);
  }

  private entryFor(pod: string, model: string): PodEntry {
    let e = this.pods.get(pod);
    // The address came back serving another model without saying it was leaving:
    // what is filed under the old model is a dead engine's, and its sync state too.
    if (e && e.model !== model) {
      this.removePod(pod, 'model');
      e = undefined;
    }
    if (!e) {
      e = {
        pod,
        model,
        sync: new PodSync(),
        lastSeenMs: this.now(),
        lastHeartbeatMs: this.now(),
        blockSize: 0,
        firstSyncDone: false,
        resyncAttempt: 0,
      };
      this.pods.set(pod, e);
      this.viewFor(model);
    }
    return e;
  }

  private onEvents(data: Uint8Array): void {
    let batch: EventBatch;
    try {
      batch = decodeEventBatch(data);
    } catch (err) {
      this.metrics.badMessages.inc({ subject: 'events' });
      this.warn('bad-events', { err: String(err) }, 'dropped an event batch that does not decode');
      return;
    }
    if (!this.owns(batch.pod)) return;
    const e = this.entryFor(batch.pod, batch.model);
    e.lastSeenMs = this.now();
    this.perform(e, e.sync.onBatch(batch));
  }

  private onHeartbeat(data: Uint8Array): void {
    let hb;
    try {
      hb = decodeHeartbeat(data);
    } catch (err) {
      this.metrics.badMessages.inc({ subject: 'load' });
      this.warn('bad-heartbeat', { err: String(err) }, 'dropped a heartbeat that does not decode');
      return;
    }
    const warmupEnd = this.gate.heartbeatInterval(hb.intervalMs);
    if (warmupEnd !== null) this.checkAt(warmupEnd);
    if (!this.owns(hb.pod)) return;
    if (hb.state === 'leaving') {
      this.removePod(hb.pod, 'leaving');
      return;
    }
    const e = this.entryFor(hb.pod, hb.model);
    e.lastSeenMs = this.now();
    e.lastHeartbeatMs = e.lastSeenMs;
    e.blockSize = hb.blockSize;
    const view = this.viewFor(hb.model);
    if (hb.blockSize > 0) view.blockSize = hb.blockSize;
    const action = e.sync.onHeartbeat(hb.epoch, hb.lastSeq);
    if (action) this.perform(e, action);
  }

  private perform(e: PodEntry, action: SyncAction): void {
    switch (action.kind) {
      case 'apply':
        this.applyBatches(e, action.batches);
        return;
      case 'reset-and-apply':
        this.viewFor(e.model).index.removePod(e.pod);
        this.applyBatches(e, action.batches);
        this.synced(e);
        return;
      case 'resync':
        this.metrics.gaps.inc({ reason: action.reason });
        if (action.reason !== 'start') this.models.count(e.model, 'gaps');
        this.log.info({ pod: e.pod, reason: action.reason }, 'resyncing pod from a snapshot');
        void this.resync(e);
        return;
      case 'hold':
        return;
      case 'drop':
        if (action.reason === 'duplicate') this.metrics.duplicates.inc();
        return;
    }
  }

  private applyBatches(e: PodEntry, batches: EventBatch[]): void {
    const view = this.viewFor(e.model);
    const now = this.now();
    for (const b of batches) {
      try {
        view.index.apply(e.pod, b.events);
      } catch (err) {
        // The index validates before applying, so nothing of this batch is in; what
        // follows would build on a hole, so the pod's state is fetched whole instead.
        this.metrics.badMessages.inc({ subject: 'events' });
        this.warn(
          'rejected-batch',
          { pod: e.pod, seq: b.seq, err: String(err) },
          'the index refused a batch; resyncing the pod',
        );
        this.perform(e, e.sync.onRejected());
        return;
      }
      this.metrics.batches.inc();
      for (const ev of b.events) this.metrics.events.inc({ kind: ev.kind });
      const lag = Math.max(0, now - b.ts);
      this.metrics.lag.observe(lag / 1000);
      this.models.applied(e.model, b.events.length, lag);
    }
  }

  private async resync(e: PodEntry): Promise<void> {
    e.resyncAttempt++;
    try {
      const { chunks, last } = await fetchSnapshot(this.bus, e.pod, this.options.snapshotTimeoutMs);
      // Removed meanwhile, perhaps back already as a new entry: this answer is not its state.
      if (this.pods.get(e.pod) !== e) return;
      const after = e.sync.onSnapshot(last);
      e.resyncAttempt = 0;
      this.metrics.resyncs.inc({ result: 'ok' });
      this.models.count(e.model, 'resyncs');
      const index = this.viewFor(e.model).index;
      switch (after.kind) {
        case 'import-and-apply':
          index.importPod(e.pod, mergeChunks(chunks));
          this.applyBatches(e, after.batches);
          this.synced(e);
          return;
        case 'reset-and-apply':
          this.perform(e, after);
          return;
        case 'resync':
          if (after.reason === 'gap') index.importPod(e.pod, mergeChunks(chunks));
          else index.removePod(e.pod);
          this.metrics.gaps.inc({ reason: after.reason });
          this.models.count(e.model, 'gaps');
          void this.resync(e);
          return;
      }
    } catch (err) {
      this.metrics.resyncs.inc({ result: 'failed' });
      e.sync.onSnapshotFailed();
      this.warn(
        `resync-${e.pod}`,
        { pod: e.pod, err: String(err), attempt: e.resyncAttempt },
        'snapshot failed, will retry',
      );
      if (!this.pods.has(e.pod) || !this.started) return;
      const delay = Math.min(5000, 100 * 2 ** Math.min(6, e.resyncAttempt));
      setTimeout(() => {
        if (this.pods.get(e.pod) === e && this.started) void this.resync(e);
      }, delay).unref();
    }
  }

  /** The pod holds a complete state (unless applying found a hole and it is syncing again). */
  private synced(e: PodEntry): void {
    if (!e.sync.syncing) e.firstSyncDone = true;
    if (!this.lastReady) this.readiness();
  }

  private removePod(pod: string, reason: 'leaving' | 'silent' | 'model'): void {
    const e = this.pods.get(pod);
    if (!e) return;
    this.pods.delete(pod);
    this.models.get(e.model)?.index.removePod(pod);
    this.metrics.podsRemoved.inc({ reason });
    this.log.info({ pod, model: e.model, reason }, 'removed pod');
    if (!this.lastReady) this.readiness();
    for (const p of this.pods.values()) if (p.model === e.model) return;
    this.models.drop(e.model);
  }

  private tick(): void {
    const now = this.now();
    // While the bus is away silence says nothing about the pods.
    if (this.bus.isConnected()) {
      for (const e of [...this.pods.values()]) {
        if (now - e.lastHeartbeatMs > this.options.podTimeoutMs) this.removePod(e.pod, 'silent');
      }
    }
    this.readiness();
    this.models.refresh();
  }
}
