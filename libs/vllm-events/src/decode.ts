import { VllmDecodeError } from './errors.js';
import { NameSet } from './name-set.js';
import type { Kind } from './reader.js';
import { Reader } from './reader.js';
import { readHash, readTokens, readValue, skipValue } from './reader-values.js';
import type { BlockRemoved, BlockStored, HashSeq, VllmEvent, VllmEventBatch } from './types.js';

/** Upper bound on `block_size`; anything larger is a corrupt payload, not a model. */
const MAX_BLOCK_SIZE = 1 << 16;

const BATCH_KEYS = new NameSet(['ts', 'events', 'data_parallel_rank']);
const TAGS = ['BlockStored', 'BlockRemoved', 'AllBlocksCleared'] as const;
const TAG_BYTES = new NameSet(TAGS);
/** BlockStored fields in declaration order (positional order of the array shape). */
const STORED = [
  'block_hashes',
  'parent_block_hash',
  'token_ids',
  'block_size',
  'lora_id',
  'medium',
  'lora_name',
  'extra_keys',
  'group_idx',
  'kv_cache_spec_kind',
  'kv_cache_spec_sliding_window',
] as const;
/** Map-shape keys: every known field, and the tag. Fields are numbered by their index here. */
const EVENT_KEYS = [...STORED, 'type'] as const;
const EVENT_KEY_BYTES = new NameSet(EVENT_KEYS);
const F = Object.fromEntries(EVENT_KEYS.map((k, i) => [k, i])) as Record<
  (typeof EVENT_KEYS)[number],
  number
>;
const STORED_IDS: readonly number[] = STORED.map((_, i) => i);
const REMOVED_IDS: readonly number[] = [F.block_hashes, F.medium, F.group_idx];
const NO_IDS: readonly number[] = [];
const MEDIA = ['GPU', 'CPU'];
const MEDIA_BYTES = new NameSet(MEDIA);

/**
 * Decodes one vLLM KV-event payload (the last ZMQ frame) in any of the three
 * wire shapes: array or map batch; array (tag first, positional, trailing
 * defaults omitted) or map (`type` tag) events. Unknown fields are skipped.
 *
 * Returns a fully built batch or throws `VllmDecodeError` naming the reason and
 * the path; it never returns a partial batch and never throws anything else.
 */
export function decodeVllmBatch(payload: Uint8Array): VllmEventBatch {
  if (payload.byteLength === 0) throw new VllmDecodeError('empty', '$', 'payload is empty');
  const r: Reader = new Reader(payload);
  let batch: VllmEventBatch;
  const n = r.tryArray('');
  if (n >= 0) {
    if (n < 2) r.fail('not-a-batch', '', `batch array has ${n} fields, needs ts and events`);
    const ts = r.number('ts');
    const events = readEvents(r);
    const rank = n > 2 ? r.optInt('data_parallel_rank') : null;
    for (let i = 3; i < n; i++) skipValue(r, '');
    batch = { ts, events, dataParallelRank: rank };
  } else {
    const m = r.tryMap('');
    if (m < 0)
      r.fail('not-a-batch', '', `expected an array or map batch, got ${kindWord(r.kind(''))}`);
    let ts: number | undefined;
    let events: VllmEvent[] | undefined;
    let rank: number | null = null;
    for (let i = 0; i < m; i++) {
      const key = r.match('', BATCH_KEYS);
      if (key === 0) ts = r.number('ts');
      else if (key === 1) events = readEvents(r);
      else if (key === 2) rank = r.optInt('data_parallel_rank');
      else {
        if (key === -2) skipValue(r, ''); // a non-string key
        skipValue(r, '');
      }
    }
    if (ts === undefined || events === undefined)
      r.fail('not-a-batch', '', 'batch map needs ts and events');
    batch = { ts, events, dataParallelRank: rank };
  }
  if (!r.done) r.fail('msgpack', '', `${payload.byteLength - r.pos} trailing bytes`);
  return batch;
}

function kindWord(k: Kind): string {
  return ['nil', 'bool', 'int', 'float', 'string', 'bytes', 'array', 'map', 'ext'][k]!;
}

function readEvents(r: Reader): VllmEvent[] {
  const n = r.tryArray('events');
  if (n < 0)
    r.fail('not-a-batch', 'events', `expected an array, got ${kindWord(r.kind('events'))}`);
  const out = new Array<VllmEvent>(n);
  for (let i = 0; i < n; i++) {
    r.event = i;
    out[i] = readEvent(r);
  }
  r.event = -1;
  return out;
}

/** Fields of any event, gathered before the tag is known (map keys come in any order). */
class Fields {
  tag = -1;
  blockHashes: HashSeq | undefined = undefined;
  parent: HashSeq | null = null;
  tokens: Uint32Array | undefined = undefined;
  blockSize: number | undefined = undefined;
  loraId: number | null = null;
  medium: string | null = null;
  loraName: string | null = null;
  extraKeys: unknown = null;
  groupIdx: number | null = null;
  specKind: string | null = null;
  window: number | null = null;
}

function readEvent(r: Reader): VllmEvent {
  const f = new Fields();
  const n = r.tryArray('');
  if (n >= 0) {
    if (n === 0) r.fail('unknown-event', '[0]', 'event array has no tag');
    f.tag = r.match('[0]', TAG_BYTES);
    if (f.tag < 0) {
      if (f.tag === -2) skipValue(r, '[0]');
      r.fail('unknown-event', '[0]', 'unknown event tag');
    }
    const order = f.tag === 0 ? STORED_IDS : f.tag === 1 ? REMOVED_IDS : NO_IDS;
    for (let j = 1; j < n; j++) {
      const id = order[j - 1];
      if (id !== undefined) readField(r, f, id);
      else skipValue(r, `[${j}]`);
    }
  } else {
    const m = r.tryMap('');
    if (m < 0)
      r.fail('wrong-type', '', `expected an array or map event, got ${kindWord(r.kind(''))}`);
    for (let j = 0; j < m; j++) {
      const k = r.match('', EVENT_KEY_BYTES);
      if (k === -2) {
        skipValue(r, '');
        skipValue(r, '');
      } else if (k === -1) {
        skipValue(r, ''); // a field from a newer engine: ignored
      } else if (k === F.type) {
        f.tag = r.match('type', TAG_BYTES);
        if (f.tag === -2) skipValue(r, 'type');
      } else {
        readField(r, f, k);
      }
    }
  }
  switch (f.tag) {
    case 0:
      return stored(r, f);
    case 1:
      return removed(r, f);
    case 2:
      return { type: 'AllBlocksCleared' };
    default:
      return r.fail('unknown-event', 'type', 'unknown or missing event type');
  }
}

function readField(r: Reader, f: Fields, id: number): void {
  const name = EVENT_KEYS[id]!;
  switch (id) {
    case 0: // block_hashes
      f.blockHashes = hashSeq(r);
      return;
    case 1: // parent_block_hash
      if (!r.nil()) {
        f.parent = new Uint32Array(2);
        readHash(r, f.parent, 0, name);
      }
      return;
    case 2: // token_ids
      f.tokens = readTokens(r, name);
      return;
    case 3: // block_size
      f.blockSize = r.int(name);
      return;
    case 4: // lora_id
      f.loraId = r.optInt(name);
      return;
    case 5: // medium
      f.medium = r.internedStr(name, MEDIA_BYTES);
      return;
    case 6: // lora_name
      f.loraName = r.optStr(name);
      return;
    case 7: // extra_keys
      f.extraKeys = r.nil() ? null : readValue(r, name);
      return;
    case 8: // group_idx
      f.groupIdx = r.optInt(name);
      return;
    case 9: // kv_cache_spec_kind
      f.specKind = r.optStr(name);
      return;
    case 10: // kv_cache_spec_sliding_window
      f.window = r.optInt(name);
      return;
  }
}

function hashSeq(r: Reader): HashSeq {
  const n = r.array('block_hashes', 'an array of hashes');
  const out = new Uint32Array(2 * n);
  for (let j = 0; j < n; j++) readHash(r, out, j, 'block_hashes', j);
  return out;
}

function stored(r: Reader, f: Fields): BlockStored {
  if (f.blockHashes === undefined || f.tokens === undefined || f.blockSize === undefined) {
    return r.fail('missing-field', '', 'BlockStored needs block_hashes, token_ids and block_size');
  }
  const bs = f.blockSize;
  if (bs <= 0 || bs > MAX_BLOCK_SIZE)
    r.fail('wrong-type', 'block_size', `block size ${bs} out of range`);
  const blocks = f.blockHashes.length >>> 1;
  if (f.tokens.length !== 0 && f.tokens.length !== blocks * bs) {
    r.fail('token-count', 'token_ids', `${f.tokens.length} tokens for ${blocks} blocks of ${bs}`);
  }
  return {
    type: 'BlockStored',
    blockHashes: f.blockHashes,
    parentBlockHash: f.parent,
    tokenIds: f.tokens,
    blockSize: bs,
    loraId: f.loraId,
    medium: f.medium,
    loraName: f.loraName,
    extraKeys: extraKeys(r, f.extraKeys, blocks),
    groupIdx: f.groupIdx,
    kvCacheSpecKind: f.specKind,
    kvCacheSpecSlidingWindow: f.window,
  };
}

function extraKeys(r: Reader, v: unknown, blocks: number): BlockStored['extraKeys'] {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v)) return r.fail('wrong-type', 'extra_keys', 'expected an array');
  if (v.length !== blocks)
    r.fail('wrong-type', 'extra_keys', `${v.length} entries for ${blocks} blocks`);
  return v.map((x: unknown, j: number) => {
    if (x === null || x === undefined) return null;
    if (!Array.isArray(x)) r.fail('wrong-type', 'extra_keys', 'expected an array or nil', j);
    return x as readonly unknown[];
  });
}

function removed(r: Reader, f: Fields): BlockRemoved {
  if (f.blockHashes === undefined)
    return r.fail('missing-field', '', 'BlockRemoved needs block_hashes');
  return {
    type: 'BlockRemoved',
    blockHashes: f.blockHashes,
    medium: f.medium,
    groupIdx: f.groupIdx,
  };
}
