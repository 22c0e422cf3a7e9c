import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { throughput } from '@kvroute/bench-kit';
import { decodeVllmBatch } from '../src/decode.js';
import { encodeVllmBatch } from '../src/encode.js';
import type { VllmEventBatch, WireShape } from '../src/types.js';

function hashes(n: number, seed: number): Uint32Array {
  return Uint32Array.from({ length: 2 * n }, (_, i) => Math.imul(seed + i, 0x9e3779b1) >>> 0);
}

/** One long prefill: `blocks` blocks of 16 tokens from a 128k vocabulary. */
export function tokenHeavyBatch(blocks: number): VllmEventBatch {
  return {
    ts: 1764000000.25,
    dataParallelRank: 0,
    events: [
      {
        type: 'BlockStored',
        blockHashes: hashes(blocks, 1),
        parentBlockHash: hashes(1, 99),
        tokenIds: Uint32Array.from(
          { length: blocks * 16 },
          (_, i) => (Math.imul(i, 2654435761) >>> 0) % 128_000,
        ),
        blockSize: 16,
        loraId: null,
        medium: 'GPU',
        loraName: null,
        extraKeys: null,
        groupIdx: null,
        kvCacheSpecKind: null,
        kvCacheSpecSlidingWindow: null,
      },
    ],
  };
}

/** One engine step's worth: a block stored for a decoding sequence. */
export function smallBatch(): VllmEventBatch {
  const b = tokenHeavyBatch(1);
  return b;
}

/** `kvroute bench decode`: vLLM payload decoding rate for each wire shape. */
export const benchDecode: Bench = async ({ quick }) => {
  const ms = quick ? 60 : 1200;
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'decode' };
  const heavy = tokenHeavyBatch(750);
  const small = smallBatch();
  let worstMBs = Infinity;
  let worstSmall = Infinity;
  for (const shape of ['array', 'array-map', 'map'] as WireShape[]) {
    const big = encodeVllmBatch(heavy, { shape });
    const tiny = encodeVllmBatch(small, { shape });
    const bigRate = throughput(() => decodeVllmBatch(big), 1, ms).medianOpsPerSec;
    const smallRate = throughput(() => decodeVllmBatch(tiny), 1, ms).medianOpsPerSec;
    const mbs = (bigRate * big.byteLength) / 1e6;
    worstMBs = Math.min(worstMBs, mbs);
    worstSmall = Math.min(worstSmall, smallRate);
    rows.push({
      shape,
      'heavy KB': big.byteLength / 1024,
      'heavy MB/s': mbs,
      'heavy M tokens/s': (bigRate * 12_000) / 1e6,
      'small B': tiny.byteLength,
      'small M batches/s': smallRate / 1e6,
    });
    summary[`heavy_mb_per_s_${shape.replace('-', '_')}`] = Math.round(mbs);
    summary[`small_batches_per_s_${shape.replace('-', '_')}`] = Math.round(smallRate);
  }
  summary.heavy_mb_per_s_min = Math.round(worstMBs);
  summary.small_batches_per_s_min = Math.round(worstSmall);
  return {
    title: 'vLLM KV-event decoding (one core): heavy = 750 blocks × 16 tokens; small = 1 block',
    rows,
    summary,
  };
};
