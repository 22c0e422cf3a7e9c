export {
  decodeEventBatch,
  decodeHeartbeat,
  decodeIndexerHeartbeat,
  decodeLookupReply,
  decodeLookupRequest,
  decodeSnapshotChunk,
  decodeSnapshotRequest,
  encodeEventBatch,
  encodeHeartbeat,
  encodeIndexerHeartbeat,
  encodeLookupReply,
  encodeLookupRequest,
  encodeSnapshotChunk,
  encodeSnapshotRequest,
} from './codec.js';
export { ProtocolError } from './errors.js';
export { PROTOCOL_VERSION } from './messages.js';
export { parseShardList, shardOf, shardOfSlot, slotOf, slotsOfShard, SLOTS } from './sharding.js';
export { decodeToken, encodeToken, modelOfSubject, PREFIX, subjects } from './subjects.js';
export type {
  CanonicalEvent,
  EventBatch,
  Heartbeat,
  IndexerHeartbeat,
  LookupReply,
  LookupRequest,
  PodMatch,
  PodRole,
  SnapshotChunk,
  SnapshotRequest,
  Tier,
} from './messages.js';
