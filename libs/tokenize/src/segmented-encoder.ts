import { LRUCache } from 'lru-cache';
import type { AddedTokenSplitter, SplitSink } from './added-tokens.js';
import { detach } from './detach.js';
import type { PieceEncoder } from './piece-encoder.js';

export interface SegmentedEncoderOptions {
  splitter: AddedTokenSplitter;
  pieces: PieceEncoder;
  /**
   * False when a piece's ids depend on where it sits (a Metaspace pre-tokenizer that prefixes
   * only the first piece): then only whole texts are encoded and cached.
   */
  pieceSafe: boolean;
  /** Encodes a whole text, added tokens included, without special tokens (used when !pieceSafe). */
  encodeWhole: (text: string) => Uint32Array;
  /** Byte budget of the cache of encoded pieces; 0 disables it. */
  cacheBytes: number;
}

/** Entry overhead beyond key and ids, in bytes: an estimate of the Map slot and LRU bookkeeping. */
const ENTRY_OVERHEAD_BYTES = 96;

/**
 * Text → token ids (no special tokens added), caching the ids of each piece between added tokens.
 * Exact: the tokenizer itself never lets a token span an added-token boundary (see
 * added-tokens.ts), so concatenating per-piece ids equals encoding the whole text.
 * Cost: a linear scan for added tokens, one hash lookup per piece, encoding of missed pieces.
 */
export class SegmentedEncoder {
  private readonly cache: LRUCache<string, Uint32Array> | undefined;
  private parts: (Uint32Array | number)[] = [];
  private count = 0;
  private source = '';
  private readonly sink: SplitSink = {
    text: (start, end) => {
      const ids = this.lookup(this.source.slice(start, end), (p) => this.o.pieces.encodePiece(p));
      this.parts.push(ids);
      this.count += ids.length;
    },
    token: (id) => {
      this.parts.push(id);
      this.count++;
    },
  };
  hits = 0;
  misses = 0;
  hitTokens = 0;
  missTokens = 0;

  constructor(private readonly o: SegmentedEncoderOptions) {
    this.cache =
      o.cacheBytes > 0
        ? new LRUCache<string, Uint32Array>({
            maxSize: o.cacheBytes,
            sizeCalculation: (ids, key) => key.length * 2 + ids.byteLength + ENTRY_OVERHEAD_BYTES,
          })
        : undefined;
  }

  get cachedBytes(): number {
    return this.cache?.calculatedSize ?? 0;
  }

  /** Ids of `text` with `prefix` and `suffix` ids around it. */
  encode(
    text: string,
    prefix: readonly number[] = [],
    suffix: readonly number[] = [],
  ): Uint32Array {
    if (!this.o.pieceSafe) return wrap(this.lookup(text, this.o.encodeWhole), prefix, suffix);
    this.parts = [];
    this.count = 0;
    this.source = text;
    try {
      this.o.splitter.split(text, this.sink);
    } finally {
      this.source = '';
    }
    const out = new Uint32Array(prefix.length + this.count + suffix.length);
    out.set(prefix, 0);
    let at = prefix.length;
    for (const p of this.parts) {
      if (typeof p === 'number') out[at++] = p;
      else {
        out.set(p, at);
        at += p.length;
      }
    }
    out.set(suffix, at);
    this.parts = [];
    return out;
  }

  private lookup(key: string, encode: (s: string) => Uint32Array): Uint32Array {
    const hit = this.cache?.get(key);
    if (hit) {
      this.hits++;
      this.hitTokens += hit.length;
      return hit;
    }
    const ids = encode(key);
    this.misses++;
    this.missTokens += ids.length;
    this.cache?.set(detach(key), ids);
    return ids;
  }
}

function wrap(ids: Uint32Array, prefix: readonly number[], suffix: readonly number[]): Uint32Array {
  if (prefix.length === 0 && suffix.length === 0) return ids.slice();
  const out = new Uint32Array(prefix.length + ids.length + suffix.length);
  out.set(prefix, 0);
  out.set(ids, prefix.length);
  out.set(suffix, prefix.length + ids.length);
  return out;
}
