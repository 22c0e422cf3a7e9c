import type { KeySeq } from '@kvroute/block-keys';
import { keyAt, keySeqFrom, sliceKeys } from '@kvroute/block-keys';
import type { CanonicalEvent, Tier } from '@kvroute/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPrefixIndex } from './create-prefix-index.js';
import type { PrefixIndex } from './prefix-index.js';
import { testKey } from './testing/conformance.js';
import { ReferenceIndex } from './testing/reference-index.js';

/**
 * Under a budget far too small for the work, the index evicts constantly.
 * It may forget anything, but every depth it reports must be backed by blocks
 * the (never-evicting) reference still holds, or by live speculative entries.
 */
const BUDGET = 10 * 1024;
const REQUESTS: KeySeq[] = Array.from({ length: 6 }, (_, r) =>
  keySeqFrom(
    Array.from({ length: 60 }, (_, i) => testKey(i < 10 * (r % 3) ? i : 1000 * (r + 1) + i)),
  ),
);
const N = 60;

const span = {
  req: fc.nat(REQUESTS.length - 1),
  from: fc.nat(N - 1),
  len: fc.integer({ min: 1, max: N }),
};
const pod = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('store' as const),
      pod,
      ...span,
      tier: fc.constantFrom<Tier>('gpu', 'cpu'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('remove' as const),
      pod,
      ...span,
      tier: fc.constantFrom<Tier>('gpu', 'cpu'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const), pod }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removePod' as const), pod }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('spec' as const), pod, ...span }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.nat(120) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('import' as const), pod, from: pod }) },
);

/** Every speculative add, ignoring the "already held" skip: an upper bound on what may be speculative. */
class SpecBound {
  private readonly until = new Map<string, Map<bigint, number>>();
  add(pod: string, keys: KeySeq, expires: number): void {
    const m = this.until.get(pod) ?? new Map<bigint, number>();
    for (let i = 0; i < keys.length / 2; i++) {
      const k = keyAt(keys, i);
      m.set(k, Math.max(m.get(k) ?? -Infinity, expires));
    }
    this.until.set(pod, m);
  }
  drop(pod: string): void {
    this.until.delete(pod);
  }
  has(pod: string, key: bigint, now: number): boolean {
    return (this.until.get(pod)?.get(key) ?? -Infinity) > now;
  }
}

function checkSound(ix: PrefixIndex, ref: ReferenceIndex, bound: SpecBound, now: number): void {
  const heldBy = new Map<string, Set<bigint>>();
  const heldOf = (pod: string) => {
    let held = heldBy.get(pod);
    if (!held) {
      const snap = ref.exportPod(pod);
      held = new Set(Array.from(snap.tiers, (_, i) => keyAt(snap.keys, i)));
      heldBy.set(pod, held);
    }
    return held;
  };
  for (const keys of REQUESTS) {
    const want = new Map(
      ref.lookup(keys, { includeSpeculative: false }).matches.map((m) => [m.pod, m]),
    );
    for (const got of ix.lookup(keys).matches) {
      const w = want.get(got.pod) ?? { gpu: 0, total: 0 };
      if (!(
        got.gpu <= w.gpu &&
        got.total <= w.total &&
        got.gpu <= got.total &&
        got.total <= got.speculative
      )) {
        expect.fail(`${JSON.stringify(got)} is not backed by the reference's ${JSON.stringify(w)}`);
      }
      const held = got.speculative > got.total ? heldOf(got.pod) : null;
      for (let i = got.total; i < got.speculative; i++) {
        const k = keyAt(keys, i);
        if (!held!.has(k) && !bound.has(got.pod, k, now)) {
          expect.fail(`${got.pod} reported speculative block ${i} it never had`);
        }
      }
    }
  }
  const s = ix.stats();
  if (s.residencies !== s.perPod.reduce((a, p) => a + p.blocks, 0))
    expect.fail('residency count drifted');
  if (s.budgetOverruns === 0 && s.bytesUsed > s.budgetBytes) {
    expect.fail(`${s.bytesUsed} bytes used over a budget of ${s.budgetBytes}`);
  }
}

describe('PrefixIndex under a tiny budget', () => {
  it('never reports a block it does not hold', () => {
    let evictions = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 10, maxLength: 40 }), (ops) => {
        let t = 1000;
        const now = () => t;
        const ix = createPrefixIndex({ budgetBytes: BUDGET, now, speculativeTtlMs: 200 });
        const ref = new ReferenceIndex({ now, speculativeTtlMs: 200 });
        const bound = new SpecBound();
        for (const op of ops) {
          if (op.op === 'advance') t += op.ms;
          else if (op.op === 'clear') [ix, ref].forEach((x) => x.clearPod(op.pod));
          else if (op.op === 'removePod') {
            [ix, ref].forEach((x) => x.removePod(op.pod));
            bound.drop(op.pod);
          } else if (op.op === 'import') {
            // From the index's own export: a subset of what the reference holds for that pod.
            const snap = ix.exportPod(op.from);
            ix.importPod(op.pod, snap);
            ref.importPod(op.pod, snap);
          } else {
            const keys = sliceKeys(REQUESTS[op.req]!, op.from, Math.min(N, op.from + op.len));
            if (op.op === 'spec') {
              [ix, ref].forEach((x) => x.addSpeculative(op.pod, keys));
              bound.add(op.pod, keys, t + 200);
            } else {
              const e: CanonicalEvent =
                op.op === 'store'
                  ? { kind: 'stored', keys, tier: op.tier, parent: null, depth: op.from }
                  : { kind: 'removed', keys, tier: op.tier };
              [ix, ref].forEach((x) => x.apply(op.pod, [e]));
            }
          }
          if (op.op !== 'advance') checkSound(ix, ref, bound, t);
        }
        evictions += ix.stats().evictions;
      }),
      { numRuns: 1000 },
    );
    // The budget really was too small: otherwise this run proved nothing.
    expect(evictions).toBeGreaterThan(1000);
  });
});
