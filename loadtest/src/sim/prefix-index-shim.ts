// TEMPORARY stand-in for @kvroute/prefix-index until it exports createPrefixIndex;
// same API subset (apply, lookup with candidates, addSpeculative, removePod). Delete once it lands.
import type { KeySeq } from '@kvroute/block-keys';
import { KeyTable } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';

export interface PodMatch {
  pod: string;
  gpu: number;
  total: number;
  speculative: number;
}

export interface SimPrefixIndex {
  apply(pod: string, events: readonly CanonicalEvent[]): void;
  lookup(keys: KeySeq, options: { candidates: readonly string[] }): { matches: PodMatch[] };
  addSpeculative(pod: string, keys: KeySeq, ttlMs?: number): void;
  removePod(pod: string): void;
}

export function createPrefixIndex(o: {
  budgetBytes?: number;
  speculativeTtlMs?: number;
  now: () => number;
}): SimPrefixIndex {
  const held = new Map<string, KeyTable>();
  const spec = new Map<string, KeyTable>();
  const ttl = o.speculativeTtlMs ?? 5000;
  const table = (m: Map<string, KeyTable>, pod: string) => {
    let t = m.get(pod);
    if (!t) m.set(pod, (t = new KeyTable(1024)));
    return t;
  };
  return {
    apply(pod, events) {
      const t = table(held, pod);
      for (const e of events) {
        if (e.kind === 'cleared') t.clear();
        else if (e.kind === 'stored')
          for (let i = 0; i < e.keys.length; i += 2) t.set(e.keys[i]!, e.keys[i + 1]!, 1);
        else for (let i = 0; i < e.keys.length; i += 2) t.delete(e.keys[i]!, e.keys[i + 1]!);
      }
    },
    lookup(keys, { candidates }) {
      const now = o.now();
      const n = keys.length >>> 1;
      return {
        matches: candidates.map((pod) => {
          const h = held.get(pod);
          const s = spec.get(pod);
          let total = 0;
          while (h && total < n && h.has(keys[2 * total]!, keys[2 * total + 1]!)) total++;
          let sp = total;
          for (; sp < n; sp++) {
            const lo = keys[2 * sp]!;
            const hi = keys[2 * sp + 1]!;
            if (h?.has(lo, hi)) continue;
            const exp = s ? s.get(lo, hi) : -1;
            if (exp < 0 || exp < now) break;
          }
          return { pod, gpu: total, total, speculative: sp };
        }),
      };
    },
    addSpeculative(pod, keys, ttlMs = ttl) {
      const s = table(spec, pod);
      const until = Math.min(0x7fff_ffff, Math.ceil(o.now() + ttlMs));
      if (s.size > 1 << 20) s.clear();
      for (let i = 0; i < keys.length; i += 2) s.set(keys[i]!, keys[i + 1]!, until);
    },
    removePod(pod) {
      held.delete(pod);
      spec.delete(pod);
    },
  };
}
