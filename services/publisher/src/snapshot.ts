import type { SnapshotChunk } from '@kvroute/protocol';
import { decodeSnapshotRequest, encodeSnapshotChunk } from '@kvroute/protocol';
import type { BusMessage } from '@kvroute/runtime';
import type { BlockTable } from './block-table.js';
import { CPU, GPU } from './block-table.js';

/** Keys per chunk at most, whatever the request asks (13 bytes a key on the wire). */
export const MAX_CHUNK_KEYS = 65_536;
/** Wire bytes per (key, tier, depth) entry: an 8-byte key, a tier byte, a 4-byte depth. */
const ENTRY_BYTES = 13;
/** Room for msgpack headers that grow with a chunk's size (bin8 → bin32 for each array). */
const HEADER_SLACK = 64;
const END = new Uint8Array(0);

export interface SnapshotSource {
  pod: string;
  model: string;
  table: BlockTable;
  /** Publishes whatever is pending, so the snapshot's seq covers every applied event. */
  flush(): void;
  epoch(): string;
  lastSeq(): number;
  /** The largest message the bus takes, bytes (NATS: the server's max_payload). */
  maxPayloadBytes(): number;
}

/**
 * Answers one snapshot request with the pod's full block set: one chunk per
 * `chunkKeys` (block, tier) entries — a block held in two tiers appears twice,
 * and no chunk is larger than the bus takes — always at least one chunk, the
 * last flagged `last`, then the empty message that ends a `requestMany`
 * stream. Runs synchronously, so no event is applied between the flush and
 * the last chunk: the set is exactly the state after `seq`. A request that
 * does not decode, or names another pod, gets only the end marker; so does
 * one whose answer fails midway (the requester sees no last chunk and tries
 * again) — the failure is then rethrown. Returns whether a snapshot was served.
 */
export function answerSnapshot(msg: BusMessage, src: SnapshotSource): boolean {
  let asked: number;
  try {
    const req = decodeSnapshotRequest(msg.data);
    if (req.pod !== src.pod) throw new Error(`request for pod ${req.pod}`);
    asked = req.chunkKeys;
  } catch {
    msg.respond(END);
    return false;
  }
  try {
    serve(msg, src, asked);
  } catch (e) {
    msg.respond(END);
    throw e;
  }
  msg.respond(END);
  return true;
}

function serve(msg: BusMessage, src: SnapshotSource, asked: number): void {
  src.flush();
  const epoch = src.epoch();
  const seq = src.lastSeq();
  const chunk = (index: number, last: boolean, n: number, cur: Entries): SnapshotChunk => ({
    pod: src.pod,
    model: src.model,
    epoch,
    seq,
    index,
    last,
    keys: cur.keys.subarray(0, 2 * n),
    tiers: cur.tiers.subarray(0, n),
    depths: cur.depths.subarray(0, n),
  });
  const fixed = encodeSnapshotChunk(chunk(0, true, 0, alloc(0))).byteLength + HEADER_SLACK;
  const fit = Math.floor((src.maxPayloadBytes() - fixed) / ENTRY_BYTES);
  const chunkKeys = Math.max(1, Math.min(MAX_CHUNK_KEYS, asked, fit));
  const total = src.table.count(GPU) + src.table.count(CPU);
  const chunks = Math.max(1, Math.ceil(total / chunkKeys));
  let index = 0;
  let n = 0;
  // One buffer for every chunk: encoding copies it.
  const cur = alloc(Math.min(chunkKeys, total));
  const emit = (last: boolean) => {
    msg.respond(encodeSnapshotChunk(chunk(index++, last, n, cur)));
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
}

interface Entries {
  keys: Uint32Array;
  tiers: Uint8Array;
  depths: Uint32Array;
}

function alloc(n: number): Entries {
  return { keys: new Uint32Array(2 * n), tiers: new Uint8Array(n), depths: new Uint32Array(n) };
}
