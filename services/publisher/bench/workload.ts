import type { VllmEvent } from '@kvroute/vllm-events';
import { encodeVllmBatch } from '@kvroute/vllm-events';

export const BLOCK_TOKENS = 16;
/** Where the transport-floor relay puts engine payloads untouched. */
export const RELAY_SUBJECT = 'bench.relay';
/** A stored block is removed again this many batches later: a steady-state cache. */
const EVICT_AFTER = 50;
/** Every this many batches a new request starts (parent null); the rest extend the chain. */
const NEW_REQUEST_EVERY = 20;

/**
 * Engine payloads as vLLM's array-shaped msgspec encoder writes them: each
 * batch stores `blocks` blocks of 16 tokens (extending the running request, or
 * starting a new one) and removes the blocks stored EVICT_AFTER batches
 * earlier. Encoded ahead of time so the sender only sends.
 */
export function enginePayloads(batches: number, blocks: number, seed = 1): Uint8Array[] {
  const out: Uint8Array[] = [];
  let state = seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % 128_000;
  };
  const hashOf = (batch: number, j: number) => seed * 1e7 + batch * blocks + j + 1;
  for (let i = 0; i < batches; i++) {
    const hashes = new Uint32Array(2 * blocks);
    for (let j = 0; j < blocks; j++) hashes[2 * j] = hashOf(i, j);
    const events: VllmEvent[] = [
      {
        type: 'BlockStored',
        blockHashes: hashes,
        parentBlockHash:
          i % NEW_REQUEST_EVERY === 0 ? null : Uint32Array.of(hashOf(i - 1, blocks - 1), 0),
        tokenIds: Uint32Array.from({ length: blocks * BLOCK_TOKENS }, rand),
        blockSize: BLOCK_TOKENS,
        loraId: null,
        medium: 'GPU',
        loraName: null,
        extraKeys: null,
        groupIdx: null,
        kvCacheSpecKind: null,
        kvCacheSpecSlidingWindow: null,
      },
    ];
    if (i >= EVICT_AFTER) {
      const old = new Uint32Array(2 * blocks);
      for (let j = 0; j < blocks; j++) old[2 * j] = hashOf(i - EVICT_AFTER, j);
      events.push({ type: 'BlockRemoved', blockHashes: old, medium: 'GPU', groupIdx: null });
    }
    out.push(
      encodeVllmBatch(
        { ts: 1_764_000_000 + i / 1000, events, dataParallelRank: 0 },
        { shape: 'array' },
      ),
    );
  }
  return out;
}
