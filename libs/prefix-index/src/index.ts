export { createPrefixIndex } from './create-prefix-index.js';
export { BitsetPrefixIndex } from './bitset-index.js';
export { InvalidInputError } from './validate.js';
export type { BitsetIndexOptions } from './bitset-index.js';
export type {
  IndexStats,
  LookupOptions,
  LookupResult,
  PodMatch,
  PodSnapshot,
  PodStats,
  PrefixIndex,
  PrefixIndexOptions,
  PrefixStat,
} from './prefix-index.js';
