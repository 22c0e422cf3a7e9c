import type { KeySeq } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';
import type { BenchTarget } from './workloads.js';

/**
 * The obvious layout, to compare against: `Map<bigint, Set<string>>` from key
 * to holder pods, and per pod a `Set<bigint>` of its keys for removal. It
 * ignores tiers, speculation and the budget, so it does strictly less work.
 */
export class NaiveIndex implements BenchTarget {
  private readonly holders = new Map<bigint, Set<string>>();
  private readonly byPod = new Map<string, Set<bigint>>();

  apply(pod: string, events: readonly CanonicalEvent[]): void {
    let mine = this.byPod.get(pod);
    if (!mine) this.byPod.set(pod, (mine = new Set()));
    for (const e of events) {
      if (e.kind === 'cleared') {
        for (const k of mine) this.holders.get(k)?.delete(pod);
        mine.clear();
        continue;
      }
      for (let i = 0; i < e.keys.length; i += 2) {
        const k = (BigInt(e.keys[i + 1]!) << 32n) | BigInt(e.keys[i]!);
        if (e.kind === 'stored') {
          let h = this.holders.get(k);
          if (!h) this.holders.set(k, (h = new Set()));
          h.add(pod);
          mine.add(k);
        } else {
          const h = this.holders.get(k);
          h?.delete(pod);
          if (h?.size === 0) this.holders.delete(k);
          mine.delete(k);
        }
      }
    }
  }

  lookup(keys: KeySeq): { matches: { pod: string; total: number }[] } {
    const matches: { pod: string; total: number }[] = [];
    let alive: Set<string> | null = null;
    let i = 0;
    for (; i < keys.length >>> 1; i++) {
      const h = this.holders.get((BigInt(keys[2 * i + 1]!) << 32n) | BigInt(keys[2 * i]!));
      if (!h) break;
      const next: Set<string> = new Set();
      for (const p of alive ?? h) {
        if (h.has(p)) next.add(p);
        else matches.push({ pod: p, total: i });
      }
      alive = next;
      if (alive.size === 0) break;
    }
    for (const p of alive ?? []) matches.push({ pod: p, total: i });
    return { matches };
  }
}
