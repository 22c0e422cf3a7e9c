import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeVllmBatch } from './decode.js';
import { VllmDecodeError } from './errors.js';

const packr = new Packr({ useRecords: false });
const stored = (hashes: unknown[], tokens: unknown[], extra: unknown[] = []) =>
  packr.pack([1.5, [['BlockStored', hashes, null, tokens, 2, null, 'GPU', null, ...extra]], 0]);

function reason(payload: Uint8Array): string {
  try {
    decodeVllmBatch(payload);
    return 'decoded';
  } catch (e) {
    expect(e).toBeInstanceOf(VllmDecodeError);
    return `${(e as VllmDecodeError).reason} ${(e as VllmDecodeError).path}`;
  }
}

describe('decodeVllmBatch', () => {
  it('normalises every int width and sign of a hash to u64', () => {
    const b = decodeVllmBatch(stored([7, -1, 2n ** 63n + 5n, -(2n ** 40n), 70000], []));
    const e = b.events[0]!;
    if (e.type !== 'BlockStored') throw new Error('unreachable');
    expect(Array.from(e.blockHashes)).toEqual([
      7, 0, 0xffffffff, 0xffffffff, 5, 0x80000000, 0, 0xffffff00, 70000, 0,
    ]);
  });

  it('takes the last 8 bytes of a bytes hash, big-endian, left-padding short ones', () => {
    const long = Uint8Array.from({ length: 32 }, (_, i) => i);
    const b = decodeVllmBatch(stored([long, Uint8Array.of(1, 2)], []));
    const e = b.events[0]!;
    if (e.type !== 'BlockStored') throw new Error('unreachable');
    expect(Array.from(e.blockHashes)).toEqual([0x1c1d1e1f, 0x18191a1b, 0x0102, 0]);
  });

  it('accepts token ids in any msgpack int encoding and rejects non-u32 ones', () => {
    const ok = decodeVllmBatch(stored([1], [2n ** 32n - 1n, 5n]));
    expect(ok.events[0]).toMatchObject({ tokenIds: Uint32Array.of(0xffffffff, 5) });
    expect(reason(stored([1], [1, -1]))).toBe('wrong-type $.events[0].token_ids[1]');
    expect(reason(stored([1], [1, 2.5]))).toBe('wrong-type $.events[0].token_ids[1]');
    expect(reason(stored([1], [1, 2n ** 32n]))).toBe('wrong-type $.events[0].token_ids[1]');
    expect(reason(stored([1], [1, 'x']))).toBe('wrong-type $.events[0].token_ids[1]');
  });

  it('skips unknown trailing positional fields and unknown map fields of any shape', () => {
    const extra = [null, 0, 'full', 128, { nested: [1, [2, { deep: true }]] }, 3.25];
    expect(decodeVllmBatch(stored([1], [1, 2], extra)).events).toHaveLength(1);
    const map = packr.pack({
      ts: 1,
      future: { a: [1, 2, 3] },
      events: [{ type: 'AllBlocksCleared', whatever: [null] }],
    });
    expect(decodeVllmBatch(map).events).toEqual([{ type: 'AllBlocksCleared' }]);
  });

  it('skips unknown ints of any width, u64 and i64 beyond 2^53 included', () => {
    const big = [2n ** 64n - 1n, 2n ** 63n, -(2n ** 63n), 2n ** 53n];
    // after the four known optional fields (extra_keys … kv_cache_spec_sliding_window)
    const trailing = [null, null, null, null, ...big];
    expect(decodeVllmBatch(stored([1], [1, 2], trailing)).events).toHaveLength(1);
    const st = {
      type: 'BlockStored',
      block_hashes: [1],
      parent_block_hash: null,
      token_ids: [1, 2],
    };
    const map = packr.pack({
      ts: 1,
      future: 2n ** 63n,
      events: [
        { ...st, block_size: 2, future_hash: 2n ** 64n - 1n, nested: [{ x: -(2n ** 62n) }] },
      ],
    });
    expect(decodeVllmBatch(map).events).toHaveLength(1);
  });

  it('matches keys and tags written as str8, str16 or str32 (valid non-minimal msgpack)', () => {
    const ascii = (s: string) => [...Buffer.from(s)];
    const forms = [
      (s: string) => [0xd9, s.length, ...ascii(s)],
      (s: string) => [0xda, 0, s.length, ...ascii(s)],
      (s: string) => [0xdb, 0, 0, 0, s.length, ...ascii(s)],
    ];
    for (const str of forms) {
      // {ts: 1, events: [{type: 'BlockRemoved', block_hashes: [7], medium: 'GPU'}]}
      const payload = Uint8Array.from([
        ...[0x82, ...str('ts'), 1, ...str('events'), 0x91, 0x83],
        ...[...str('type'), ...str('BlockRemoved'), ...str('block_hashes'), 0x91, 7],
        ...[...str('medium'), ...str('GPU')],
      ]);
      expect(decodeVllmBatch(payload).events).toEqual([
        { type: 'BlockRemoved', blockHashes: Uint32Array.of(7, 0), medium: 'GPU', groupIdx: null },
      ]);
    }
  });

  it('rejects a batch with trailing bytes, lengths beyond the payload and deep garbage', () => {
    const ok = stored([1], []);
    expect(reason(Uint8Array.from([...ok, 0]))).toBe('msgpack $');
    // an array32 header claiming 2^32 - 1 elements in a 10-byte payload
    expect(reason(Uint8Array.of(0x92, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff, 0, 0, 0))).toMatch(
      /^msgpack/,
    );
    // 100k nested arrays in an unknown field: skipped without recursion, then truncated
    const deep = new Uint8Array(100_010).fill(0x91);
    deep.set([0x94, 0x01, 0x90, 0xc0]);
    expect(reason(deep)).toMatch(/^msgpack/);
  });

  it('names missing fields and missing tags', () => {
    expect(reason(packr.pack([1, [['BlockStored', [1]]]]))).toBe('missing-field $.events[0]');
    expect(reason(packr.pack([1, [{ block_hashes: [1] }]]))).toBe('unknown-event $.events[0].type');
    expect(reason(packr.pack([1, [[]]]))).toBe('unknown-event $.events[0][0]');
    expect(reason(packr.pack({ ts: 1 }))).toBe('not-a-batch $');
    expect(reason(packr.pack([1, 'x']))).toBe('not-a-batch $.events');
    expect(reason(packr.pack([1, [['BlockStored', [1], null, [1, 2], 0]]]))).toBe(
      'wrong-type $.events[0].block_size',
    );
  });

  it('checks extra keys are per block', () => {
    const ok = decodeVllmBatch(stored([1, 2], [], [[['img', 0], null]]));
    expect(ok.events[0]).toMatchObject({ extraKeys: [['img', 0], null] });
    const big = decodeVllmBatch(
      stored([1], [], [[['img', 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)]]]),
    );
    expect(big.events[0]).toMatchObject({
      extraKeys: [['img', 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)]],
    });
    expect(reason(stored([1, 2], [], [[['img', 0]]]))).toBe('wrong-type $.events[0].extra_keys');
    expect(reason(stored([1], [], [['x']]))).toBe('wrong-type $.events[0].extra_keys[0]');
  });
});
