import { Packr } from 'msgpackr';
import type { HashSeq, VllmEvent, VllmEventBatch, WireShape } from './types.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

export interface EncodeOptions {
  /** Which of the three wire shapes to emit (default `map`, current vLLM). */
  shape?: WireShape;
  /**
   * Emit hashes as 32-byte strings (as engines hashing with sha256 do) whose
   * last 8 bytes are the u64, instead of msgpack ints.
   */
  bytesHashes?: boolean;
}

/**
 * Encodes a batch the way vLLM's msgspec encoder does: array shapes put fields
 * in declaration order and drop trailing fields left at their default, map
 * shapes drop fields left at their default, and every int is packed in its
 * smallest msgpack form (so small hashes are plain ints).
 */
export function encodeVllmBatch(batch: VllmEventBatch, options: EncodeOptions = {}): Uint8Array {
  const shape = options.shape ?? 'map';
  const bytes = options.bytesHashes ?? false;
  const events = batch.events.map((e) => encodeEvent(e, shape, bytes));
  if (shape === 'map') {
    const m: Record<string, unknown> = { ts: batch.ts, events };
    if (batch.dataParallelRank !== null) m.data_parallel_rank = batch.dataParallelRank;
    return packr.pack(m);
  }
  return packr.pack(trimTrailing([batch.ts, events, batch.dataParallelRank], 2));
}

function encodeEvent(e: VllmEvent, shape: WireShape, bytes: boolean): unknown {
  const fields = eventFields(e, bytes);
  if (shape === 'array')
    return trimTrailing([e.type, ...fields.map(([, v]) => v)], requiredCount(e) + 1);
  const m: Record<string, unknown> = { type: e.type };
  fields.forEach(([k, v], i) => {
    if (i < requiredCount(e) || v !== null) m[k] = v;
  });
  return m;
}

/** Fields without a default in vLLM's structs: always emitted. */
function requiredCount(e: VllmEvent): number {
  if (e.type === 'BlockStored') return 7; // up to lora_name
  if (e.type === 'BlockRemoved') return 2; // block_hashes, medium
  return 0;
}

function eventFields(e: VllmEvent, bytes: boolean): [string, unknown][] {
  switch (e.type) {
    case 'BlockStored':
      return [
        ['block_hashes', hashes(e.blockHashes, bytes)],
        ['parent_block_hash', e.parentBlockHash ? hashes(e.parentBlockHash, bytes)[0] : null],
        ['token_ids', Array.from(e.tokenIds)],
        ['block_size', e.blockSize],
        ['lora_id', e.loraId],
        ['medium', e.medium],
        ['lora_name', e.loraName],
        ['extra_keys', e.extraKeys],
        ['group_idx', e.groupIdx],
        ['kv_cache_spec_kind', e.kvCacheSpecKind],
        ['kv_cache_spec_sliding_window', e.kvCacheSpecSlidingWindow],
      ];
    case 'BlockRemoved':
      return [
        ['block_hashes', hashes(e.blockHashes, bytes)],
        ['medium', e.medium],
        ['group_idx', e.groupIdx],
      ];
    case 'AllBlocksCleared':
      return [];
  }
}

function trimTrailing(a: unknown[], keep: number): unknown[] {
  let n = a.length;
  while (n > keep && (a[n - 1] === null || a[n - 1] === undefined)) n--;
  return a.slice(0, n);
}

function hashes(seq: HashSeq, bytes: boolean): unknown[] {
  const out: unknown[] = [];
  for (let j = 0; j < seq.length >>> 1; j++) {
    const lo = seq[2 * j]!;
    const hi = seq[2 * j + 1]!;
    if (bytes) {
      const b = new Uint8Array(32);
      const dv = new DataView(b.buffer);
      dv.setUint32(24, hi);
      dv.setUint32(28, lo);
      for (let x = 0; x < 24; x++) b[x] = (lo * (x + 1) + hi) & 0xff; // arbitrary high bytes
      out.push(b);
    } else if (hi === 0) {
      out.push(lo); // a small int, packed in its smallest form as msgspec does
    } else {
      // msgpackr packs large JS numbers as float64; a bigint keeps an int64/uint64 form
      out.push((BigInt(hi) << 32n) | BigInt(lo));
    }
  }
  return out;
}
