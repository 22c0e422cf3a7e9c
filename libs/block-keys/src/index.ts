export {
  keyAt,
  keyCount,
  keyFromHex,
  keySeqBytes,
  keySeqFrom,
  keySeqFromBytes,
  keySeqToBigInts,
  keyToHex,
  sliceKeys,
} from './key-seq.js';
export { createBlockKeyer, ModelIdentityError } from './keyer.js';
export { encodeExtraKeys, ExtraKeyError } from './extra-keys.js';
export type { KeySeq } from './key-seq.js';
export type { BlockKeyer, ChainOptions, ModelIdentity } from './keyer.js';
export { KeyTable } from './key-table.js';
