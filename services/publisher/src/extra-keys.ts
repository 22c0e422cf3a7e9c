import { encodeExtraKeys } from '@kvroute/block-keys';
import type { BlockStored } from '@kvroute/vllm-events';

/**
 * How vLLM's per-block `extra_keys` map onto our keys.
 *
 * vLLM builds each block's extra hash keys as one tuple, in this order: the
 * LoRA name (older engines: the LoRA int id), multimodal identifiers (tuples),
 * the request's `cache_salt` (a plain string, in block 0 only), prompt-embedding
 * hashes (bytes). Our key puts the model identity in the root instead, so:
 *
 * - an element equal to the event's `lora_name` (or, as a number, its
 *   `lora_id`) is dropped: the LoRA adapter is already in the root;
 * - in block 0 a plain string that is not the LoRA name is the cache salt: it
 *   goes into the root (the last such string, as vLLM appends the salt after the
 *   multimodal identifiers);
 * - everything else — multimodal identifiers, prompt-embedding hashes, any
 *   element a newer engine adds — is folded, in order, into that block's
 *   `extra_i` with `encodeExtraKeys`. A block whose tuple is empty after this
 *   has no extra bytes, so a text-only request keys exactly as the router
 *   computes it from token ids, model/LoRA and salt.
 */
export interface SplitExtraKeys {
  salt: string | null;
  /** Canonical extra bytes per block, or undefined when no block has any. */
  extras: (Uint8Array | null)[] | undefined;
}

/** Throws ExtraKeyError when an element cannot be encoded (the batch is then rejected whole). */
export function splitExtraKeys(e: BlockStored): SplitExtraKeys {
  const per = e.extraKeys;
  if (per === null) return { salt: null, extras: undefined };
  let salt: string | null = null;
  let extras: (Uint8Array | null)[] | undefined;
  for (let b = 0; b < per.length; b++) {
    const tuple = per[b];
    if (!tuple || tuple.length === 0) continue;
    const rest: unknown[] = [];
    for (const x of tuple) {
      if (e.loraName !== null && x === e.loraName) continue;
      if (e.loraId !== null && typeof x === 'number' && x === e.loraId) continue;
      if (b === 0 && typeof x === 'string') {
        if (salt !== null) rest.push(salt);
        salt = x;
        continue;
      }
      rest.push(x);
    }
    if (rest.length === 0) continue;
    extras ??= new Array<Uint8Array | null>(per.length).fill(null);
    extras[b] = encodeExtraKeys(rest);
  }
  return { salt, extras };
}
