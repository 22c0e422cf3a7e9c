export { decodeVllmBatch } from './decode.js';
export { encodeVllmBatch } from './encode.js';
export { VllmDecodeError } from './errors.js';
export type { DecodeErrorReason } from './errors.js';
export type { EncodeOptions } from './encode.js';
export type {
  AllBlocksCleared,
  BlockRemoved,
  BlockStored,
  HashSeq,
  VllmEvent,
  VllmEventBatch,
  WireShape,
} from './types.js';
