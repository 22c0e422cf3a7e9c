import { encodeExtraKeys } from '@kvroute/block-keys';
import type { BlockStored } from '@kvroute/vllm-events';
import { describe, expect, it } from 'vitest';
import { splitExtraKeys } from './extra-keys.js';

const ev = (
  extraKeys: BlockStored['extraKeys'],
  loraName: string | null = null,
  loraId: number | null = null,
): BlockStored => ({
  type: 'BlockStored',
  blockHashes: new Uint32Array(2 * (extraKeys?.length ?? 1)),
  parentBlockHash: null,
  tokenIds: new Uint32Array(0),
  blockSize: 16,
  loraId,
  medium: null,
  loraName,
  extraKeys,
  groupIdx: null,
  kvCacheSpecKind: null,
  kvCacheSpecSlidingWindow: null,
});

describe('vLLM extra keys', () => {
  it('drops the LoRA name, lifts the salt into the root, folds the rest per block', () => {
    const mm = ['mm-hash-a', 0];
    const embeds = new Uint8Array([1, 2, 3]);
    const r = splitExtraKeys(
      ev([['adapter', mm, 'salt-1', embeds], ['adapter', mm], null], 'adapter'),
    );
    expect(r.salt).toBe('salt-1');
    expect(r.extras).toEqual([encodeExtraKeys([mm, embeds]), encodeExtraKeys([mm]), null]);
  });

  it('gives text-only blocks no extra bytes', () => {
    expect(splitExtraKeys(ev([['adapter', 's'], ['adapter']], 'adapter'))).toEqual({
      salt: 's',
      extras: undefined,
    });
    expect(splitExtraKeys(ev(null))).toEqual({ salt: null, extras: undefined });
    expect(splitExtraKeys(ev([[7], []], null, 7))).toEqual({ salt: null, extras: undefined });
  });

  it('keeps a plain string outside block 0 as an extra key', () => {
    const r = splitExtraKeys(ev([null, ['x']]));
    expect(r.salt).toBeNull();
    expect(r.extras).toEqual([null, encodeExtraKeys(['x'])]);
  });

  it('throws on elements that cannot be encoded', () => {
    expect(() => splitExtraKeys(ev([[NaN]]))).toThrow(/not finite/);
  });
});
