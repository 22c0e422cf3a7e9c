import type { PrefixIndex } from '@kvroute/prefix-index';
import { createPrefixIndex } from '@kvroute/prefix-index';
import type { ReplicaMetrics } from './metrics.js';
import { dropModelSeries, exportIndexStats } from './metrics.js';

export interface ModelView {
  model: string;
  index: PrefixIndex;
  /** Tokens per block, from the pods' heartbeats; 0 until one arrived. */
  blockSize: number;
}

interface ModelRecord {
  view: ModelView;
  /** Events applied since `rateSinceMs`, and the events/s of the last full window. */
  rateCount: number;
  rateSinceMs: number;
  perSec: number;
  /** Smoothed engine-to-index lag, ms; null before the first batch. */
  lagMs: number | null;
  gaps: number;
  resyncs: number;
  /** Evictions already added to the evictions counter. */
  evictionsExported: number;
}

/**
 * One prefix index per model (the memory budget applies to each), with the
 * per-model figures that stats and metrics report. A model is dropped with
 * all of them when its last pod goes, so nothing grows with models that come
 * and go.
 */
export class ModelViews {
  private readonly records = new Map<string, ModelRecord>();

  constructor(
    private readonly metrics: ReplicaMetrics,
    private readonly options: { memoryBudgetBytes: number; speculativeTtlMs?: number | undefined },
    private readonly now: () => number,
  ) {}

  get(model: string): ModelView | undefined {
    return this.records.get(model)?.view;
  }

  names(): string[] {
    return [...this.records.keys()].sort();
  }

  /** The model's view, created (empty) on first use. */
  viewFor(model: string): ModelView {
    return this.record(model).view;
  }

  private record(model: string): ModelRecord {
    let r = this.records.get(model);
    if (!r) {
      const { memoryBudgetBytes, speculativeTtlMs } = this.options;
      r = {
        view: {
          model,
          index: createPrefixIndex({
            budgetBytes: memoryBudgetBytes,
            now: this.now,
            ...(speculativeTtlMs ? { speculativeTtlMs } : {}),
          }),
          blockSize: 0,
        },
        rateCount: 0,
        rateSinceMs: this.now(),
        perSec: 0,
        lagMs: null,
        gaps: 0,
        resyncs: 0,
        evictionsExported: 0,
      };
      this.records.set(model, r);
      this.metrics.budget.set({ model }, memoryBudgetBytes);
    }
    return r;
  }

  /** A batch of `events` events applied `lagMs` after the engine emitted it. */
  applied(model: string, events: number, lagMs: number): void {
    const r = this.record(model);
    r.rateCount += events;
    r.lagMs = 0.9 * (r.lagMs ?? lagMs) + 0.1 * lagMs;
  }

  count(model: string, what: 'gaps' | 'resyncs'): void {
    this.record(model)[what]++;
  }

  counts(model: string): { gaps: number; resyncs: number } {
    const r = this.records.get(model);
    return { gaps: r?.gaps ?? 0, resyncs: r?.resyncs ?? 0 };
  }

  eventLagMs(model: string): number {
    return Math.round((this.records.get(model)?.lagMs ?? 0) * 100) / 100;
  }

  eventsPerSecond(model: string): number {
    return this.records.get(model)?.perSec ?? 0;
  }

  drop(model: string): void {
    if (this.records.delete(model)) dropModelSeries(this.metrics, model);
  }

  /** Closes rate windows of a second or more and refreshes every model's gauges. O(models · pods). */
  refresh(): void {
    const now = this.now();
    for (const [model, r] of this.records) {
      const dt = (now - r.rateSinceMs) / 1000;
      if (dt >= 1) {
        r.perSec = r.rateCount / dt;
        r.rateCount = 0;
        r.rateSinceMs = now;
      }
      // Every model, including those filled only by snapshots (no batch applied yet).
      r.evictionsExported = exportIndexStats(
        this.metrics,
        model,
        r.view.index.stats(),
        r.evictionsExported,
      );
    }
  }
}
