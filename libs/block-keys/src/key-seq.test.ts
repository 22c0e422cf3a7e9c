import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileChainWat, renderModule } from '../wasm/build.mjs';
import { encodeExtraKeys, ExtraKeyError } from './extra-keys.js';
import {
  keyAt,
  keyFromHex,
  keySeqBytes,
  keySeqFrom,
  keySeqFromBytes,
  keySeqToBigInts,
  keyToHex,
} from './key-seq.js';

describe('KeySeq', () => {
  it('round-trips u64 values through halves, hex and bytes', () => {
    const values = [0n, 1n, 7n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
    const seq = keySeqFrom(values);
    expect(keySeqToBigInts(seq)).toEqual(values);
    expect(keySeqToBigInts(keySeqFromBytes(keySeqBytes(seq)))).toEqual(values);
    expect(keyToHex(seq[10]!, seq[11]!)).toBe('ffffffffffffffff');
    expect(keyFromHex('0000000100000002')).toEqual([2, 1]);
    expect(keyAt(keySeqFrom([12345]), 0)).toBe(12345n);
  });

  it('prints signed halves as their u32 form', () => {
    expect(keyToHex(-1, 0)).toBe('00000000ffffffff');
    expect(keyToHex(5, -2)).toBe('fffffffe00000005');
  });

  it('rejects values that are not u64 and misaligned byte lengths', () => {
    expect(() => keySeqFrom([-1])).toThrow(RangeError);
    expect(() => keySeqFrom([2n ** 64n])).toThrow(RangeError);
    expect(() => keySeqFrom([1.5])).toThrow(RangeError);
    expect(() => keySeqFromBytes(new Uint8Array(7))).toThrow(RangeError);
    expect(() => keyFromHex('xyz')).toThrow(RangeError);
  });

  it('decodes keys from unaligned bytes', () => {
    const raw = new Uint8Array(17);
    raw.set(keySeqBytes(keySeqFrom([2n ** 40n + 3n, 9n])), 1);
    expect(keySeqToBigInts(keySeqFromBytes(raw.subarray(1)))).toEqual([2n ** 40n + 3n, 9n]);
  });
});

describe('extra keys encoding', () => {
  it('encodes integers alike whether number or bigint, and distinguishes types', () => {
    expect(encodeExtraKeys([5, 'a'])).toEqual(encodeExtraKeys([5n, 'a']));
    expect(encodeExtraKeys(['5'])).not.toEqual(encodeExtraKeys([5]));
    expect(encodeExtraKeys([['a', 0]])).not.toEqual(encodeExtraKeys(['a', 0]));
    expect(encodeExtraKeys(new Uint8Array([1, 2]))).not.toEqual(encodeExtraKeys([1, 2]));
    expect(encodeExtraKeys({ b: 1, a: 2 })).toEqual(encodeExtraKeys({ a: 2, b: 1 }));
  });

  it('rejects what has no stable encoding', () => {
    expect(() => encodeExtraKeys([NaN])).toThrow(ExtraKeyError);
    expect(() => encodeExtraKeys([() => 1])).toThrow(ExtraKeyError);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(() => encodeExtraKeys(deep)).toThrow(ExtraKeyError);
  });
});

describe('xxh64 kernel', () => {
  it('is the module compiled from wasm/chain.wat (never edited by hand)', async () => {
    const src = readFileSync(new URL('./chain-wasm.ts', import.meta.url), 'utf8');
    expect(src).toBe(renderModule(await compileChainWat()));
  });
});
