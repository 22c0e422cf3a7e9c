import type { KeySeq } from '@kvroute/block-keys';
import { keyAt, keySeqFrom, sliceKeys } from '@kvroute/block-keys';
import type { CanonicalEvent, Tier } from '@kvroute/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPrefixIndex } from './create-prefix-index.js';
import { MIN_NODES, NodeStore } from './node-store.js';
import type { PodMatch, PodSnapshot, PrefixIndex, PrefixStat } from './prefix-index.js';
import { testKey } from './testing/conformance.js';
import { ReferenceIndex } from './testing/reference-index.js';

/**
 * Random operation sequences against the reference model. Requests share
 * prefixes (a small trie), and one request's keys share home slots in the
 * node table — three at its last slot, two at slot 0, one just before the
 * end — so probe runs collide and wrap around, and backward-shift deletion
 * has to move keys across the end.
 */
const TABLE = new NodeStore(MIN_NODES); // the index's table while it holds fewer than MIN_NODES keys
const homeOf = (id: number) => {
  const k = keySeqFrom([testKey(id)]);
  return TABLE.homeSlot(k[0]!, k[1]!);
};
function idsAtHome(slot: number, count: number): number[] {
  const out: number[] = [];
  for (let id = 100_000; out.length < count; id++) if (homeOf(id) === slot) out.push(id);
  return out;
}
const LAST = TABLE.tableSlots - 1;
const [w0, w1, w2] = idsAtHome(LAST, 3);
const [z0, z1] = idsAtHome(0, 2);
const [y0] = idsAtHome(LAST - 1, 1);
const COLLIDING = [w0!, z0!, w1!, y0!, z1!, w2!];
const REQUESTS: KeySeq[] = [
  [0, 1, 2, 3, 4, 5, 6, 7],
  [0, 1, 2, 10, 11, 12, 13],
  [0, 1, 20, 21, 22],
  COLLIDING,
].map((ids) => keySeqFrom(ids.map(testKey)));
const POD_NAMES = ['a', 'b', 'c', 'd', 'e'];

const span = {
  req: fc.nat(REQUESTS.length - 1),
  from: fc.nat(7),
  len: fc.integer({ min: 0, max: 8 }),
};
const slice = (req: number, from: number, len: number) => {
  const keys = REQUESTS[req]!;
  const n = keys.length / 2;
  const f = Math.min(from, n);
  return { keys: sliceKeys(keys, f, Math.min(n, f + len)), from: f };
};
const pod = fc.constantFrom(...POD_NAMES);
const tier = fc.constantFrom<Tier>('gpu', 'cpu');

const eventArb = fc.oneof(
  fc.record({
    kind: fc.constant('stored' as const),
    ...span,
    tier,
    depth: fc.constantFrom('known', 'unknown', 'parent'),
  }),
  fc.record({ kind: fc.constant('removed' as const), ...span, tier }),
  fc.constant({ kind: 'cleared' as const }),
);
type EventSpec = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('apply' as const),
      pod,
      events: fc.array(eventArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clearPod' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removePod' as const), pod }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('spec' as const),
      pod,
      ...span,
      ttl: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(200) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('import' as const), pod, from: pod, drop: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('manyPods' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('lookup' as const),
      req: span.req,
      candidates: fc.option(
        fc.array(fc.constantFrom(...POD_NAMES, 'zz', 'p35'), { maxLength: 4 }),
        { nil: undefined },
      ),
      includeSpeculative: fc.boolean(),
    }),
  },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toEvent(e: EventSpec): CanonicalEvent {
  if (e.kind === 'cleared') return e;
  const { keys, from } = slice(e.req, e.from, e.len);
  if (e.kind === 'removed') return { kind: 'removed', keys, tier: e.tier };
  const parent =
    e.depth === 'parent' && from > 0 ? sliceKeys(REQUESTS[e.req]!, from - 1, from) : null;
  return { kind: 'stored', keys, tier: e.tier, parent, depth: e.depth === 'known' ? from : -1 };
}

/** A snapshot of `snap` without every `drop`-th entry (so imports differ from plain copies). */
function thin(snap: PodSnapshot, drop: number): PodSnapshot {
  const keep = Array.from(snap.tiers, (_, i) => i).filter(
    (i) => drop === 0 || i % (drop + 1) !== 0,
  );
  const keys = new Uint32Array(keep.length * 2);
  keep.forEach((i, j) => keys.set(snap.keys.subarray(2 * i, 2 * i + 2), 2 * j));
  return {
    keys,
    tiers: Uint8Array.from(keep, (i) => snap.tiers[i]!),
    depths: Uint32Array.from(keep, (i) => snap.depths[i]!),
  };
}

/** Runs one op on an index; returns what it answered (for comparison). */
function run(ix: PrefixIndex, op: Op, clock: { t: number }, snap: PodSnapshot | null): unknown {
  switch (op.op) {
    case 'apply':
      return ix.apply(op.pod, op.events.map(toEvent));
    case 'clearPod':
      return ix.clearPod(op.pod);
    case 'removePod':
      return ix.removePod(op.pod);
    case 'spec': {
      const { keys } = slice(op.req, op.from, op.len);
      return ix.addSpeculative(op.pod, keys, op.ttl);
    }
    case 'advance':
      return void (clock.t += op.ms);
    case 'expire':
      return ix.expireSpeculative();
    case 'import':
      return ix.importPod(op.pod, snap!);
    case 'manyPods':
      for (let i = 0; i < 40; i++) ix.apply(`p${i}`, []);
      return;
    case 'lookup':
      return sorted(ix.lookup(REQUESTS[op.req]!, op).matches);
  }
}

const sorted = (ms: PodMatch[]) => [...ms].sort((a, b) => a.pod.localeCompare(b.pod));
const entries = (s: PodSnapshot) =>
  Array.from(s.tiers, (t, i) => `${s.keys[2 * i]}:${s.keys[2 * i + 1]}:${t}:${s.depths[i]}`).sort();

/** Everything observable, in a canonical form (one comparison per sequence keeps 10k runs fast). */
function observe(ix: PrefixIndex, topLimit: number): unknown {
  const { bytesUsed: _b, budgetBytes: _bb, perPod, ...stats } = ix.stats();
  const byName = <T extends { pod: string }>(xs: T[]) =>
    [...xs].sort((a, b) => a.pod.localeCompare(b.pod));
  return {
    lookups: REQUESTS.map((keys) => [
      sorted(ix.lookup(keys).matches),
      sorted(ix.lookup(keys, { includeSpeculative: false }).matches),
    ]),
    stats,
    perPod: byName(perPod),
    pods: ix.pods().sort(),
    exports: ix
      .pods()
      .sort()
      .map((p) => entries(ix.exportPod(p))),
    top: ix.topPrefixes(topLimit),
  };
}

function expectSameState(ix: PrefixIndex, ref: ReferenceIndex): void {
  const got = observe(ix, 3) as { top: PrefixStat[] };
  const want = observe(ref, 100) as { top: PrefixStat[] };
  // Ties in holder count may be listed in any order: compare counts, then membership.
  const top = got.top;
  const refTop = want.top;
  got.top = [];
  want.top = [];
  if (JSON.stringify(got) !== JSON.stringify(want)) expect(got).toEqual(want);
  expect(top.map((t) => t.holders)).toEqual(refTop.slice(0, 3).map((t) => t.holders));
  for (const t of top) expect(refTop).toContainEqual(t);
}

describe('PrefixIndex against the reference model', () => {
  it('uses keys that collide, and wrap around, in the node table', () => {
    expect(COLLIDING.map(homeOf)).toEqual([LAST, 0, LAST, LAST - 1, 0, LAST]);
    // Fewer distinct keys than MIN_NODES: the index's table never grows away from these homes.
    const distinct = new Set(
      REQUESTS.flatMap((r) => Array.from({ length: r.length / 2 }, (_, i) => keyAt(r, i))),
    );
    expect(distinct.size).toBeLessThan(MIN_NODES);
  });

  it('agrees on every lookup, stat and export over random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 24 }), (ops) => {
        const clock = { t: 1000 };
        const now = () => clock.t;
        const ix = createPrefixIndex({ now, speculativeTtlMs: 150 });
        const ref = new ReferenceIndex({ now, speculativeTtlMs: 150 });
        for (const op of ops) {
          const snap = op.op === 'import' ? thin(ix.exportPod(op.from), op.drop) : null;
          const got = run(ix, op, clock, snap);
          if (op.op === 'advance') clock.t -= op.ms;
          const want = run(ref, op, clock, snap);
          if (JSON.stringify(got) !== JSON.stringify(want)) expect(got).toEqual(want);
        }
        expectSameState(ix, ref);
      }),
      { numRuns: 10_000 },
    );
  });
});
