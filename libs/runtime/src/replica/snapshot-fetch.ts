import type { PodSnapshot } from '@kvroute/prefix-index';
import type { SnapshotChunk } from '@kvroute/protocol';
import { decodeSnapshotChunk, encodeSnapshotRequest, subjects } from '@kvroute/protocol';
import type { Bus } from '../bus/bus.js';

/** A pod's whole block set as its publisher answered: chunks in order, the last one flagged. */
export interface FetchedSnapshot {
  chunks: SnapshotChunk[];
  /** Carries the epoch and seq the snapshot stands at. */
  last: SnapshotChunk;
}

/**
 * Asks `pod`'s publisher for its block set. Throws (BusTimeoutError,
 * BusNoRespondersError, or a plain Error for a malformed stream) unless every
 * chunk arrived in order up to the last; the stream may stall `idleMs` between
 * chunks and last 20 × that in all.
 */
export async function fetchSnapshot(
  bus: Bus,
  pod: string,
  idleMs: number,
): Promise<FetchedSnapshot> {
  const chunks: SnapshotChunk[] = [];
  for await (const data of bus.requestMany(
    subjects.snapshot(pod),
    encodeSnapshotRequest({ pod, chunkKeys: 65_536 }),
    { maxWaitMs: idleMs * 20, idleMs },
  )) {
    const c = decodeSnapshotChunk(data);
    if (c.index !== chunks.length) throw new Error(`snapshot chunk ${c.index} out of order`);
    chunks.push(c);
    if (c.last) break;
  }
  const last = chunks.at(-1);
  if (!last?.last) throw new Error('snapshot ended without its last chunk');
  return { chunks, last };
}

/** Concatenates snapshot chunks into one pod snapshot. */
export function mergeChunks(chunks: readonly SnapshotChunk[]): PodSnapshot {
  let n = 0;
  for (const c of chunks) n += c.tiers.length;
  const keys = new Uint32Array(2 * n);
  const tiers = new Uint8Array(n);
  const depths = new Uint32Array(n);
  let o = 0;
  for (const c of chunks) {
    keys.set(c.keys, 2 * o);
    tiers.set(c.tiers, o);
    depths.set(c.depths, o);
    o += c.tiers.length;
  }
  return { keys, tiers, depths };
}
