import type { VllmEvent, VllmEventBatch } from '@kvroute/vllm-events';
import type { EngineKvEvent } from '../engine/types.js';

/**
 * One engine step's KV events as the vLLM batch its scheduler publishes:
 * `BlockStored` with the blocks' token ids, parent hash and block size on the
 * GPU medium, `BlockRemoved` on GPU, `AllBlocksCleared`. Token ids are copied
 * (the engine's views die with their request). `tsSeconds` is the wall clock,
 * as vLLM's `time.time()`.
 */
export function toVllmBatch(
  events: readonly EngineKvEvent[],
  blockSize: number,
  tsSeconds: number,
  dataParallelRank = 0,
): VllmEventBatch {
  return { ts: tsSeconds, events: events.map((e) => toVllmEvent(e, blockSize)), dataParallelRank };
}

function toVllmEvent(e: EngineKvEvent, blockSize: number): VllmEvent {
  switch (e.type) {
    case 'stored':
      return {
        type: 'BlockStored',
        blockHashes: e.hashes,
        parentBlockHash: e.parent,
        tokenIds: e.tokens.slice(),
        blockSize,
        loraId: null,
        medium: 'GPU',
        loraName: null,
        extraKeys: null,
        groupIdx: null,
        kvCacheSpecKind: null,
        kvCacheSpecSlidingWindow: null,
      };
    case 'removed':
      return { type: 'BlockRemoved', blockHashes: e.hashes, medium: 'GPU', groupIdx: null };
    case 'cleared':
      return { type: 'AllBlocksCleared' };
  }
}
