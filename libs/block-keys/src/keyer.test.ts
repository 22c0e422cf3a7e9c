import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { encodeExtraKeys } from './extra-keys.js';
import { keyAt, keySeqToBigInts } from './key-seq.js';
import { createBlockKeyer, ModelIdentityError } from './keyer.js';

const keyer = createBlockKeyer();
const id = { model: 'llama-3-8b' };
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

/** Independent reference: the definition, spelled out with xxhash-wasm and bigints. */
async function referenceKeys(
  rootName: string,
  tokens: number[],
  bs: number,
  extras: (Uint8Array | null)[] = [],
): Promise<bigint[]> {
  const { h64Raw } = await xxhash();
  let parent = h64Raw(new TextEncoder().encode(`kvroute.v1.root\u0000${rootName}`));
  const out: bigint[] = [];
  for (let b = 0; b + bs <= tokens.length; b += bs) {
    const extra = extras[b / bs] ?? new Uint8Array(0);
    const buf = new Uint8Array(8 + 4 * bs + extra.byteLength);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, parent, true);
    for (let t = 0; t < bs; t++) dv.setUint32(8 + 4 * t, tokens[b + t]!, true);
    buf.set(extra, 8 + 4 * bs);
    parent = h64Raw(buf);
    out.push(parent);
  }
  return out;
}

describe('block keys', () => {
  it('match the definition computed independently with xxhash-wasm', async () => {
    const tokens = range(16 * 40 + 7, 1000);
    const got = keySeqToBigInts(keyer.prefixKeys(id, tokens, 16));
    expect(got).toEqual(await referenceKeys('model\u0000llama-3-8b\u0000', tokens, 16));
  });

  it('agree with the reference for random token runs, block sizes and extras', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 0xffff_ffff }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        async (tokens, bs, withExtras) => {
          const blocks = Math.floor(tokens.length / bs);
          const extras = withExtras
            ? range(blocks).map((i) => (i % 2 ? null : encodeExtraKeys(['img', i])))
            : [];
          const got = keyer.prefixKeys({ model: 'm', salt: 's' }, tokens, bs);
          const gotExtras = withExtras
            ? keyer.chain(tokens, {
                blockSizeTokens: bs,
                parentLo: keyer.rootKey({ model: 'm', salt: 's' })[0]!,
                parentHi: keyer.rootKey({ model: 'm', salt: 's' })[1]!,
                extras,
              })
            : got;
          expect(keySeqToBigInts(gotExtras)).toEqual(
            await referenceKeys('model\u0000m\u0000s', tokens, bs, extras),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('are pinned by known answers so the key space never drifts', () => {
    const k = keyer.prefixKeys({ model: 'llama-3-8b' }, range(48), 16);
    expect(keySeqToBigInts(k).map((x) => x.toString(16))).toMatchInlineSnapshot(`
      [
        "f0b241b3a7013ecb",
        "c2658b1299758171",
        "5e578bcbc8f7339f",
      ]
    `);
    const lora = keyer.prefixKeys(
      { model: 'llama-3-8b', lora: 'sql', salt: 'tenant-a' },
      range(4),
      4,
    );
    expect(keyAt(lora, 0).toString(16)).toMatchInlineSnapshot(`"fb9e0a50b9e52cb"`);
  });

  it('give equal keys for equal prefixes and diverge from the first changed token on', () => {
    const a = range(16 * 8);
    const b = [...a];
    b[16 * 3 + 5] = 999_999;
    const ka = keySeqToBigInts(keyer.prefixKeys(id, a, 16));
    const kb = keySeqToBigInts(keyer.prefixKeys(id, b, 16));
    expect(kb.slice(0, 3)).toEqual(ka.slice(0, 3));
    for (let i = 3; i < 8; i++) expect(kb[i]).not.toEqual(ka[i]);
  });

  it('separate model, LoRA and salt key spaces', () => {
    const t = range(64);
    const spaces = [
      { model: 'a' },
      { model: 'b' },
      { model: 'a', lora: 'x' },
      { model: 'a', lora: 'y' },
      { model: 'a', salt: 's1' },
      { model: 'a', lora: 'x', salt: 's1' },
      { model: 'x' }, // a base model named like an adapter is still another space
    ];
    const all = new Set<bigint>();
    for (const s of spaces) for (const k of keySeqToBigInts(keyer.prefixKeys(s, t, 16))) all.add(k);
    expect(all.size).toBe(spaces.length * 4);
    // the adapter replaces the model name: same adapter on any base gives the same keys
    expect(keyer.rootKey({ model: 'a', lora: 'x' })).toEqual(
      keyer.rootKey({ model: 'b', lora: 'x' }),
    );
  });

  it('refuse a NUL in model, LoRA or salt, which would let two identities share a root', () => {
    // Unrefused, {model: 'x', salt: 'y\0z'} and {model: 'x\0y', salt: 'z'} hash the same preimage.
    const bad = [
      { model: 'x', salt: 'y\0z' },
      { model: 'x\0y', salt: 'z' },
      { model: 'a', lora: 'x\0' },
      { model: 'a\0', lora: 'x' },
    ];
    for (const b of bad) {
      expect(() => keyer.rootKey(b)).toThrow(ModelIdentityError);
      expect(() => keyer.prefixKeys(b, range(16), 16)).toThrow(ModelIdentityError);
    }
    // a refused identity is never cached under the string of a valid one
    keyer.rootKey({ model: 'x', salt: 'y' });
    expect(() => keyer.rootKey({ model: 'x\0y' })).toThrow(ModelIdentityError);
  });

  it('ignore a partial trailing block', () => {
    const full = keyer.prefixKeys(id, range(32), 16);
    expect(keyer.prefixKeys(id, range(47), 16)).toEqual(full);
    expect(keyer.prefixKeys(id, range(15), 16).length).toBe(0);
  });

  it('give the same keys for arrays and typed arrays, with and without an output buffer', () => {
    const t = Array.from(randomBytes(4 * 16 * 10)).map((x) => x * 77);
    const a = keyer.prefixKeys(id, t, 16);
    const out = new Uint32Array(128);
    expect(keyer.prefixKeys(id, Uint32Array.from(t), 16, out)).toEqual(a);
    expect(out.subarray(0, a.length)).toEqual(a);
  });

  it('continue a chain from any block', () => {
    const t = range(16 * 6);
    const all = keyer.prefixKeys(id, t, 16);
    const tail = keyer.chain(t.slice(16 * 2), {
      blockSizeTokens: 16,
      parentLo: all[2]!,
      parentHi: all[3]!,
    });
    expect(tail).toEqual(all.subarray(4));
  });

  it('grow the kernel memory for very long prompts', () => {
    const t = new Uint32Array(300_000).map((_, i) => i);
    const keys = keyer.prefixKeys(id, t, 16);
    expect(keys.length).toBe(2 * (300_000 / 16));
    expect(keyer.prefixKeys(id, t.subarray(0, 160), 16)).toEqual(keys.subarray(0, 20));
  });
});
