import { createBlockKeyer, encodeExtraKeys } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';
import type { BlockRemoved, BlockStored, VllmEvent } from '@kvroute/vllm-events';
import { describe, expect, it } from 'vitest';
import { BlockTable, CPU, GPU } from './block-table.js';
import { TranslateError, Translator } from './translate.js';

const keyer = createBlockKeyer();
const BS = 16;
const tokens = (n: number, seed: number) =>
  Uint32Array.from({ length: n * BS }, (_, i) => (seed * 7919 + i * 31) % 50_000);
const hashes = (...h: number[]) => Uint32Array.from(h.flatMap((x) => [x, 0xabc]));
const cat = (...a: Uint32Array[]) => Uint32Array.from(a.flatMap((x) => [...x]));

function stored(
  h: number[],
  parent: number | null,
  toks: Uint32Array,
  extra: Partial<BlockStored> = {},
): BlockStored {
  return {
    type: 'BlockStored',
    blockHashes: hashes(...h),
    parentBlockHash: parent === null ? null : hashes(parent),
    tokenIds: toks,
    blockSize: BS,
    loraId: null,
    medium: 'GPU',
    loraName: null,
    extraKeys: null,
    groupIdx: null,
    kvCacheSpecKind: null,
    kvCacheSpecSlidingWindow: null,
    ...extra,
  };
}
const removed = (
  h: number[],
  medium: string | null = 'GPU',
  groupIdx: number | null = null,
): BlockRemoved => ({
  type: 'BlockRemoved',
  blockHashes: hashes(...h),
  medium,
  groupIdx,
});

function setup(maxBlocks = 1000) {
  const table = new BlockTable(maxBlocks, 4);
  const stats = { unresolved: 0, unknown: 0, capacity: 0, ignored: 0, events: [] as string[] };
  const t = new Translator('m', keyer, table, {
    eventIn: (type) => stats.events.push(type),
    unresolvedParent: (n) => (stats.unresolved += n),
    unknownHash: (n) => (stats.unknown += n),
    capacityDrop: (n) => (stats.capacity += n),
    ignoredGroup: () => stats.ignored++,
  });
  const run = (...events: VllmEvent[]) => t.translate({ ts: 1, events, dataParallelRank: null });
  return { table, stats, run };
}

describe('Translator', () => {
  it('recomputes canonical keys from tokens, chaining through engine hashes', () => {
    const { run, table } = setup();
    const a = tokens(4, 1);
    const b = tokens(2, 2);
    const full = keyer.prefixKeys({ model: 'm' }, cat(a, b), BS);
    const root = keyer.rootKey({ model: 'm' });
    const [e1, e2] = run(stored([10, 11, 12, 13], null, a), stored([14, 15], 13, b));
    expect(e1).toEqual({
      kind: 'stored',
      parent: root,
      keys: full.slice(0, 8),
      tier: 'gpu',
      depth: 0,
    });
    expect(e2).toEqual({
      kind: 'stored',
      parent: full.slice(6, 8),
      keys: full.slice(8, 12),
      tier: 'gpu',
      depth: 4,
    });
    expect(table.count(GPU)).toBe(6);
  });

  it('puts LoRA and cache salt in the root and multimodal keys in extra_i', () => {
    const { run } = setup();
    const a = tokens(2, 3);
    const mm = ['img-1', 5];
    const [e] = run(
      stored([1, 2], null, a, { loraName: 'ad', extraKeys: [['ad', mm, 'salty'], ['ad']] }),
    );
    const root = keyer.rootKey({ model: 'm', lora: 'ad', salt: 'salty' });
    const want = keyer.chain(a, {
      blockSizeTokens: BS,
      parentLo: root[0]!,
      parentHi: root[1]!,
      extras: [encodeExtraKeys([mm]), null],
    });
    expect((e as { keys: Uint32Array }).keys).toEqual(want);
    // Text-only with a salt: exactly what the router computes from tokens, model/LoRA and salt.
    const [t] = run(stored([3], null, tokens(1, 4), { loraName: 'ad', extraKeys: [['ad', 's']] }));
    expect((t as { keys: Uint32Array }).keys).toEqual(
      keyer.prefixKeys({ model: 'm', lora: 'ad', salt: 's' }, tokens(1, 4), BS),
    );
  });

  it('skips blocks under an unknown parent and counts them', () => {
    const { run, stats, table } = setup();
    expect(run(stored([5, 6], 999, tokens(2, 5)))).toEqual([]);
    expect(stats.unresolved).toBe(2);
    expect(table.known).toBe(0);
  });

  it('resolves token-less offloads and removals through the map, per tier', () => {
    const { run, stats, table } = setup();
    const a = tokens(3, 6);
    const k = keyer.prefixKeys({ model: 'm' }, a, BS);
    run(stored([1, 2, 3], null, a));
    const [cpu] = run(stored([1, 2, 77], null, new Uint32Array(0), { medium: 'CPU' }));
    expect(cpu).toEqual({
      kind: 'stored',
      parent: null,
      keys: k.slice(0, 4),
      tier: 'cpu',
      depth: 0,
    });
    expect(stats.unknown).toBe(1);
    const out = run(removed([2, 3, 88]), removed([2]), removed([2], 'CPU'));
    expect(out).toEqual([
      { kind: 'removed', keys: k.slice(2, 6), tier: 'gpu' },
      { kind: 'removed', keys: k.slice(2, 4), tier: 'cpu' },
    ] satisfies CanonicalEvent[]);
    expect(stats.unknown).toBe(2);
    expect([table.count(GPU), table.count(CPU)]).toEqual([1, 1]);
    // A block that left every tier still resolves a later child.
    const [child] = run(stored([4], 3, tokens(1, 7)));
    expect((child as { depth: number }).depth).toBe(3);
  });

  it('ignores secondary KV-cache groups and clears on AllBlocksCleared', () => {
    const { run, stats, table } = setup();
    run(stored([1], null, tokens(1, 8)));
    expect(run(stored([2], null, tokens(1, 9), { groupIdx: 1 }), removed([1], 'GPU', 2))).toEqual(
      [],
    );
    expect(stats.ignored).toBe(2);
    expect(run({ type: 'AllBlocksCleared' })).toEqual([{ kind: 'cleared' }]);
    expect(table.count(GPU)).toBe(0);
    expect(stats.events).toEqual([
      'BlockStored',
      'BlockStored',
      'BlockRemoved',
      'AllBlocksCleared',
    ]);
  });

  it('rejects a batch whose extra keys cannot be encoded before changing anything', () => {
    const { run, table } = setup();
    expect(() =>
      run(
        stored([1], null, tokens(1, 1)),
        stored([2], null, tokens(1, 2), { extraKeys: [[{ bad: Symbol('x') }]] }),
      ),
    ).toThrow(TranslateError);
    expect(table.known).toBe(0);
  });

  it('rejects a batch with a NUL in a LoRA name or salt before changing anything', () => {
    const { run, table } = setup();
    for (const bad of [{ loraName: 'a\0b' }, { extraKeys: [['s\0alt']] }]) {
      let err: unknown;
      try {
        run(stored([1], null, tokens(1, 1)), stored([2], null, tokens(1, 2), bad));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TranslateError);
      expect((err as TranslateError).reason).toBe('identity');
      expect(table.known).toBe(0);
    }
  });

  it('announces only the blocks it can track when the table is full', () => {
    const { run, stats } = setup(16);
    const [e] = run(
      stored(
        Array.from({ length: 20 }, (_, i) => i),
        null,
        tokens(20, 3),
      ),
    );
    expect((e as { keys: Uint32Array }).keys.length).toBe(32);
    expect(stats.capacity).toBe(4);
  });
});
