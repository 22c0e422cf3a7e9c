import type { SnapshotChunk } from '@kvroute/protocol';
import { decodeSnapshotRequest, encodeSnapshotChunk } from '@kvroute/protocol';
import type { BusMessage } from '@kvroute/runtime';
import type { BlockTable } from './block-table.js';
import { CPU, GPU } from './block-table.js';

/** Keys per chunk at most, whatever the request asks (≈ 13 bytes a key on the wire). */
export const MAX_CHUNK_KEYS = 65_536;
const END = new Uint8Array(0);

export interface SnapshotSource {
  pod: string;
  model: string;
  table: BlockTable;
  /** Publishes whatever is pending, so the snapshot's seq covers every applied event. */
  flush(): void;
  epoch(): string;
  lastSeq(): number;
}

/**
 * Answers one snapshot request with the pod's full block set: one chunk per
 * `chunkKeys` (block, tier) entries — a block held in two tiers appears twice —
 * always at least one chunk, the last flagged `last`, then the empty message
 * that ends a `requestMany` stream. Runs synchronously, so no event is applied
 * between the flush and the last chunk: the set is exactly the state after
 * `seq`. A request that does not decode, or names another pod, gets only the
 * end marker. Returns whether a snapshot was served.
 */
export function answerSnapshot(msg: BusMessage, src: SnapshotSource): boolean {
  let chunkKeys: number;
  try {
    const req = decodeSnapshotRequest(msg.data);
    if (req.pod !== src.pod) throw new Error(`request for pod ${req.pod}`);
    chunkKeys = Math.min(MAX_CHUNK_KEYS, req.chunkKeys);
  } catch {
    msg.respond(END);
    return false;
  }
  src.flush();
  const epoch = src.epoch();
  const seq = src.lastSeq();
  const total = src.table.count(GPU) + src.table.count(CPU);
  const chunks = Math.max(1, Math.ceil(total / chunkKeys));
  let index = 0;
  let n = 0;
  // One buffer for every chunk: encoding copies it.
  const cur = alloc(Math.min(chunkKeys, total));
  const emit = (last: boolean) => {
    const c: SnapshotChunk = {
      pod: src.pod,
      model: src.model,
      epoch,
      seq,
      index: index++,
      last,
      keys: cur.keys.subarray(0, 2 * n),
      tiers: cur.tiers.subarray(0, n),
      depths: cur.depths.subarray(0, n),
    };
    msg.respond(encodeSnapshotChunk(c));
  };
  src.table.forEachPresent((lo, hi, bit, depth) => {
    cur.keys[2 * n] = lo;
    cur.keys[2 * n + 1] = hi;
    cur.tiers[n] = bit === GPU ? 0 : 1;
    cur.depths[n] = depth;
    if (++n === chunkKeys && index < chunks - 1) {
      emit(false);
      n = 0;
    }
  });
  emit(true);
  msg.respond(END);
  return true;
}

function alloc(n: number) {
  return { keys: new Uint32Array(2 * n), tiers: new Uint8Array(n), depths: new Uint32Array(n) };
}
