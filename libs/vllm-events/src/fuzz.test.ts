import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeVllmBatch } from './decode.js';
import { encodeVllmBatch } from './encode.js';
import { VllmDecodeError } from './errors.js';
import type { VllmEvent, VllmEventBatch, WireShape } from './types.js';

const fixtures = new URL('../fixtures/', import.meta.url);
const valid = readdirSync(fixtures)
  .filter((f) => /^[abc]-.*\.msgpack$/.test(f))
  .map((f) => new Uint8Array(readFileSync(new URL(f, fixtures))));
// A newer engine's payload: unknown u64 fields beyond 2^53 at batch and event level, big extra keys.
valid.push(
  Uint8Array.from(
    new Packr({ useRecords: false }).pack({
      ts: 1.5,
      future_u64: 2n ** 64n - 1n,
      events: [
        {
          type: 'BlockStored',
          block_hashes: [2n ** 63n + 1n, 2],
          parent_block_hash: null,
          token_ids: [1, 2, 3, 4],
          block_size: 2,
          lora_id: null,
          medium: 'GPU',
          extra_keys: [['img', 2n ** 63n], null],
          future_hash: 2n ** 63n,
        },
      ],
    }),
  ),
);

/** A small deterministic PRNG so a failing input can be reproduced from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

/** Every event must be whole: a decoder that returns must return a consistent batch. */
function isWhole(b: VllmEventBatch): boolean {
  if (!Number.isFinite(b.ts)) return false;
  for (const e of b.events) {
    if (e.type === 'AllBlocksCleared') continue;
    if (!(e.blockHashes instanceof Uint32Array) || e.blockHashes.length % 2 !== 0) return false;
    if (e.type === 'BlockStored') {
      const blocks = e.blockHashes.length / 2;
      if (!(e.blockSize > 0)) return false;
      if (e.tokenIds.length !== 0 && e.tokenIds.length !== blocks * e.blockSize) return false;
      if (e.parentBlockHash && e.parentBlockHash.length !== 2) return false;
    }
  }
  return true;
}

function tryDecode(bytes: Uint8Array): 'ok' | 'error' {
  let batch: VllmEventBatch;
  try {
    batch = decodeVllmBatch(bytes);
  } catch (e) {
    if (e instanceof VllmDecodeError) return 'error';
    throw new Error(`decoder threw a foreign error for ${Buffer.from(bytes).toString('hex')}`, {
      cause: e,
    });
  }
  if (!isWhole(batch))
    throw new Error(`half-decoded batch from ${Buffer.from(bytes).toString('hex')}`);
  return 'ok';
}

describe('decoder under garbage', () => {
  it('meets 100k random byte strings with a typed error or a whole batch', () => {
    const r = rng(0xc0ffee);
    let errors = 0;
    for (let i = 0; i < 100_000; i++) {
      const bytes = new Uint8Array(Math.floor(r() * 64));
      for (let j = 0; j < bytes.length; j++) bytes[j] = r() * 256;
      // Bias the first byte to a msgpack array or map header so the decoder gets past byte 0.
      if (bytes.length > 0 && r() < 0.5) bytes[0] = r() < 0.5 ? 0x92 + Math.floor(r() * 2) : 0x82;
      if (tryDecode(bytes) === 'error') errors++;
    }
    expect(errors).toBeGreaterThan(90_000);
  });

  it('meets 100k mutations of valid payloads with a typed error or a whole batch', () => {
    const r = rng(0xbeef);
    const outcomes = { ok: 0, error: 0 };
    for (let i = 0; i < 100_000; i++) {
      const base = valid[i % valid.length]!;
      let bytes = base.slice();
      const kind = Math.floor(r() * 4);
      if (kind === 0) {
        for (let m = 0; m < 1 + r() * 4; m++) bytes[Math.floor(r() * bytes.length)] = r() * 256;
      } else if (kind === 1) {
        bytes = bytes.subarray(0, Math.floor(r() * bytes.length));
      } else if (kind === 2) {
        const at = Math.floor(r() * bytes.length);
        bytes = Uint8Array.from([...bytes.subarray(0, at), r() * 256, ...bytes.subarray(at)]);
      } else {
        const at = Math.floor(r() * bytes.length);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
      }
      outcomes[tryDecode(bytes)]++;
    }
    // Both outcomes must occur: mutations of non-structural bytes (a token id) stay valid.
    expect(outcomes.ok).toBeGreaterThan(1000);
    expect(outcomes.error).toBeGreaterThan(10_000);
  });

  it('does not let a "__proto__" key in a map payload pollute anything', () => {
    const event = new Map<string, unknown>([
      ['type', 'BlockRemoved'],
      ['block_hashes', [1]],
      ['__proto__', { polluted: 1 }],
    ]);
    const payload = new Packr({ useRecords: false }).pack(
      new Map<string, unknown>([
        ['ts', 1],
        ['events', [event]],
      ]),
    );
    expect(tryDecode(payload)).toBe('ok');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const hashSeqArb = (min: number, max: number) =>
  fc.array(u64, { minLength: min, maxLength: max }).map((hs) => {
    const out = new Uint32Array(hs.length * 2);
    hs.forEach((h, i) => {
      out[2 * i] = Number(h & 0xffff_ffffn);
      out[2 * i + 1] = Number(h >> 32n);
    });
    return out;
  });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });

/**
 * An extra key as the decoder returns it: strings, safe ints as numbers, and
 * 64-bit ints (which msgpackr packs as int64/uint64) as bigints up to 2^64.
 */
const extraKeyArb = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
);
const storedArb = fc
  .record({
    hashes: hashSeqArb(1, 4),
    parent: opt(hashSeqArb(1, 1)),
    bs: fc.integer({ min: 1, max: 32 }),
    withTokens: fc.boolean(),
    loraId: opt(fc.nat(100)),
    medium: opt(fc.constantFrom('GPU', 'CPU', 'DISK')),
    loraName: opt(fc.string({ maxLength: 8 })),
    groupIdx: opt(fc.nat(3)),
    extra: fc.boolean(),
    extraKeys: fc.array(opt(fc.array(extraKeyArb, { maxLength: 3 })), {
      minLength: 4,
      maxLength: 4,
    }),
    specKind: opt(fc.constantFrom('full_attention', 'sliding_window', 'mamba')),
    window: opt(fc.nat(1 << 20)),
    seed: fc.nat(),
  })
  .map((r): VllmEvent => ({
    type: 'BlockStored',
    blockHashes: r.hashes,
    parentBlockHash: r.parent,
    tokenIds: r.withTokens
      ? Uint32Array.from(
          { length: (r.hashes.length / 2) * r.bs },
          (_, i) => (r.seed + i * 7919) >>> 0,
        )
      : new Uint32Array(0),
    blockSize: r.bs,
    loraId: r.loraId,
    medium: r.medium,
    loraName: r.loraName,
    extraKeys: r.extra ? r.extraKeys.slice(0, r.hashes.length / 2) : null,
    groupIdx: r.groupIdx,
    kvCacheSpecKind: r.specKind,
    kvCacheSpecSlidingWindow: r.window,
  }));
const removedArb = fc
  .record({
    hashes: hashSeqArb(0, 4),
    medium: opt(fc.constantFrom('GPU', 'CPU')),
    g: opt(fc.nat(3)),
  })
  .map((r): VllmEvent => ({
    type: 'BlockRemoved',
    blockHashes: r.hashes,
    medium: r.medium,
    groupIdx: r.g,
  }));
const batchArb = fc.record({
  ts: fc.double({ min: 0, max: 2e9, noNaN: true }),
  events: fc.array(
    fc.oneof(storedArb, removedArb, fc.constant<VllmEvent>({ type: 'AllBlocksCleared' })),
    {
      maxLength: 6,
    },
  ),
  dataParallelRank: opt(fc.nat(8)),
});

describe('encoder and decoder', () => {
  it('round-trip any batch in every shape, with int and bytes hashes', () => {
    fc.assert(
      fc.property(
        batchArb,
        fc.constantFrom<WireShape>('array', 'array-map', 'map'),
        fc.boolean(),
        (batch, shape, bytesHashes) => {
          const decoded = decodeVllmBatch(encodeVllmBatch(batch, { shape, bytesHashes }));
          expect(decoded).toEqual(batch);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('emit what vLLM emits: trailing defaults dropped in array shape, small hashes as ints', () => {
    const batch: VllmEventBatch = {
      ts: 1,
      dataParallelRank: null,
      events: [
        { type: 'BlockRemoved', blockHashes: Uint32Array.of(7, 0), medium: 'GPU', groupIdx: null },
      ],
    };
    // [1, [["BlockRemoved", [7], "GPU"]]]
    expect(Buffer.from(encodeVllmBatch(batch, { shape: 'array' })).toString('hex')).toBe(
      '920191' + '93ac426c6f636b52656d6f766564' + '9107' + 'a3475055',
    );
  });
});
