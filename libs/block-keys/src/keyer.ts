import type { KeySeq } from './key-seq.js';
import { Kernel } from './kernel.js';

/**
 * Who a cache entry belongs to. Two requests share block keys only if they
 * share every token before the block under the same model (or LoRA adapter)
 * and cache salt.
 */
export interface ModelIdentity {
  /** Served model name. */
  model: string;
  /** LoRA adapter name; when set it replaces the model name in the root. */
  lora?: string | null | undefined;
  /** Per-request cache isolation salt (vLLM `cache_salt`). */
  salt?: string | null | undefined;
}

/**
 * A model identity the key space cannot represent: model, LoRA and salt are
 * joined by NUL in the root preimage, so none of them may contain one (else
 * two identities could share a root).
 */
export class ModelIdentityError extends Error {
  override name = 'ModelIdentityError';
}

export interface ChainOptions {
  blockSizeTokens: number;
  /** Low and high 32 bits of the key before the first block (a root or an earlier block). */
  parentLo: number;
  parentHi: number;
  /** Canonical extra-key bytes per block (see `encodeExtraKeys`); missing entries mean none. */
  extras?: ReadonlyArray<Uint8Array | null | undefined> | undefined;
  /** Where to write; must hold 2 × blocks. Allocated when absent. The result is a view of it. */
  out?: Uint32Array | undefined;
}

/**
 * Computes chained block keys: key_i = xxh64(key_{i-1} ‖ tokens_i ‖ extra_i, seed 0),
 * the parent as u64 little-endian, tokens as u32 little-endian, full blocks only;
 * key_{-1} = xxh64("kvroute.v1.root\0" + ("lora\0" + lora | "model\0" + model) + "\0" + salt).
 * Model, LoRA and salt must not contain NUL: `rootKey` and `prefixKeys` throw
 * ModelIdentityError for one, as the preimage could not tell the fields apart.
 *
 * Invariants: deterministic across processes and versions (pinned by known-answer
 * tests); tokens must be integers in [0, 2^32) — callers validate at the edge;
 * O(tokens) time. Not re-entrant: one keyer per thread (it owns a wasm memory).
 */
export interface BlockKeyer {
  rootKey(identity: ModelIdentity): KeySeq;
  chain(tokens: ArrayLike<number>, options: ChainOptions): KeySeq;
  /** Root plus chain: the keys of every full block of a request's tokens. */
  prefixKeys(
    identity: ModelIdentity,
    tokens: ArrayLike<number>,
    blockSizeTokens: number,
    out?: Uint32Array,
  ): KeySeq;
}

const ROOT_DOMAIN = 'kvroute.v1.root';
const MAX_ROOTS_CACHED = 4096;
/** Tokens are written from here; the 8 bytes before hold block 0's parent. */
const TOK = 16;

if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new Error('block keys assume a little-endian platform');
}

function toPair(h: bigint): KeySeq {
  return new Uint32Array([Number(h & 0xffff_ffffn), Number(h >> 32n)]);
}

export function createBlockKeyer(): BlockKeyer {
  const k = new Kernel();
  const utf8 = new TextEncoder();
  const roots = new Map<string, KeySeq>();
  const pair = new Uint32Array(2);
  const pair64 = new BigUint64Array(pair.buffer);

  function rootKey(id: ModelIdentity): KeySeq {
    if (id.model.includes('\u0000') || id.lora?.includes('\u0000') || id.salt?.includes('\u0000')) {
      throw new ModelIdentityError('model, LoRA and salt must not contain NUL (U+0000)');
    }
    const name = id.lora ? `lora\u0000${id.lora}` : `model\u0000${id.model}`;
    const cacheKey = `${name}\u0000${id.salt ?? ''}`;
    let key = roots.get(cacheKey);
    if (key === undefined) {
      const bytes = utf8.encode(`${ROOT_DOMAIN}\u0000${cacheKey}`);
      k.ensure(TOK + bytes.byteLength);
      k.u8.set(bytes, TOK);
      key = toPair(k.xxh64(TOK, bytes.byteLength));
      if (roots.size >= MAX_ROOTS_CACHED) roots.clear();
      roots.set(cacheKey, key);
    }
    return key;
  }

  function chain(tokens: ArrayLike<number>, o: ChainOptions): KeySeq {
    const bs = o.blockSizeTokens;
    if (!Number.isInteger(bs) || bs <= 0) throw new RangeError(`bad block size ${bs}`);
    const blocks = Math.floor(tokens.length / bs);
    const out = o.out ? o.out.subarray(0, 2 * blocks) : new Uint32Array(2 * blocks);
    if (out.length < 2 * blocks) throw new RangeError('output too small');
    if (blocks === 0) return out;
    const n = blocks * bs;
    if (o.extras?.some((e) => e && e.byteLength > 0)) {
      chainWithExtras(tokens, blocks, bs, o, out);
      return out;
    }
    const outAt = TOK + 4 * n + ((4 * n) % 8);
    k.ensure(outAt + 8 * blocks);
    const u32 = k.u32;
    if (tokens instanceof Uint32Array) {
      u32.set(tokens.length === n ? tokens : tokens.subarray(0, n), TOK >> 2);
    } else {
      for (let i = 0, j = TOK >> 2; i < n; i++, j++) u32[j] = tokens[i]!;
    }
    pair[0] = o.parentLo;
    pair[1] = o.parentHi;
    k.chain(TOK, blocks, bs, BigInt.asIntN(64, pair64[0]!), outAt);
    out.set(u32.subarray(outAt >> 2, (outAt >> 2) + 2 * blocks));
    return out;
  }

  /** Per-block path for blocks carrying extra keys (multimodal; rare). */
  function chainWithExtras(
    tokens: ArrayLike<number>,
    blocks: number,
    bs: number,
    o: ChainOptions,
    out: Uint32Array,
  ): void {
    let lo = o.parentLo;
    let hi = o.parentHi;
    for (let b = 0; b < blocks; b++) {
      const extra = o.extras?.[b];
      const len = 8 + 4 * bs + (extra?.byteLength ?? 0);
      k.ensure(TOK + len);
      const u32 = k.u32;
      u32[TOK >> 2] = lo;
      u32[(TOK >> 2) + 1] = hi;
      for (let t = 0; t < bs; t++) u32[(TOK >> 2) + 2 + t] = tokens[b * bs + t]!;
      if (extra) k.u8.set(extra, TOK + 8 + 4 * bs);
      pair64[0] = k.xxh64(TOK, len);
      lo = out[2 * b] = pair[0]!;
      hi = out[2 * b + 1] = pair[1]!;
    }
  }

  function prefixKeys(
    identity: ModelIdentity,
    tokens: ArrayLike<number>,
    blockSizeTokens: number,
    out?: Uint32Array,
  ): KeySeq {
    const root = rootKey(identity);
    return chain(tokens, { blockSizeTokens, parentLo: root[0]!, parentHi: root[1]!, out });
  }

  return { rootKey, chain, prefixKeys };
}
