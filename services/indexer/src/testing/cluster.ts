/** Helpers shared by the indexer's tests. */
import { keySeqFrom } from '@kvroute/block-keys';
import type { KeySeq } from '@kvroute/block-keys';
import { createLogger } from '@kvroute/runtime';
import type { FakePublisher } from '@kvroute/runtime/testing';

export const MODEL = 'llama';
export const log = createLogger('test', 'silent');
export const until = async (cond: () => boolean, ms = 8000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A request's keys: a shared prefix of `shared` blocks, then `own` blocks unique to `tag`. */
export function requestKeys(tag: number, shared: number, own: number): KeySeq {
  const vals: bigint[] = [];
  for (let i = 0; i < shared; i++) vals.push(1000n + BigInt(i));
  for (let i = 0; i < own; i++) vals.push(BigInt(tag) * 1_000_000n + BigInt(i));
  return keySeqFrom(vals);
}

/** The answer a correct index must give, computed from the publishers' own block sets. */
export function expected(pubs: FakePublisher[], keys: KeySeq) {
  const out = new Map<string, { gpu: number; total: number }>();
  for (const p of pubs) {
    const holds = (i: number, tier?: string) =>
      [...p.blocks.values()].some(
        (b) =>
          b.key[0] === keys[2 * i] && b.key[1] === keys[2 * i + 1] && (!tier || b.tier === tier),
      );
    let total = 0;
    while (total < keys.length / 2 && holds(total)) total++;
    let gpu = 0;
    while (gpu < keys.length / 2 && holds(gpu, 'gpu')) gpu++;
    if (total > 0) out.set(p.pod, { gpu, total });
  }
  return out;
}

export function asMap(matches: readonly { pod: string; gpu: number; total: number }[]) {
  return new Map(
    matches.filter((m) => m.total > 0).map((m) => [m.pod, { gpu: m.gpu, total: m.total }]),
  );
}
