import { BitsetPrefixIndex } from './bitset-index.js';
import type { PrefixIndex, PrefixIndexOptions } from './prefix-index.js';

/** The prefix index: typed arrays, hybrid inline/bitset holders (see README). */
export function createPrefixIndex(options?: PrefixIndexOptions): PrefixIndex {
  return new BitsetPrefixIndex(options);
}
