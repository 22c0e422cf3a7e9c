import type { BlockKeyer } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';
import type { BlockRemoved, BlockStored, VllmEventBatch } from '@kvroute/vllm-events';
import type { BlockTable, TierBit } from './block-table.js';
import { CPU, GPU, tierOfBit, UNKNOWN_DEPTH } from './block-table.js';
import type { SplitExtraKeys } from './extra-keys.js';
import { splitExtraKeys } from './extra-keys.js';

/** What translation could not carry over; each is a count of blocks (or events). */
export interface TranslateStats {
  eventIn(type: 'BlockStored' | 'BlockRemoved' | 'AllBlocksCleared'): void;
  /** Blocks skipped because their parent's engine hash is unknown. */
  unresolvedParent(blocks: number): void;
  /** Removed or token-less stored blocks whose engine hash is unknown. */
  unknownHash(blocks: number): void;
  /** Blocks not tracked because every slot holds a present block. */
  capacityDrop(blocks: number): void;
  /** Events of secondary KV-cache groups (group_idx > 0), ignored. */
  ignoredGroup(): void;
}

/** A batch that cannot be translated at all; nothing of it was applied. */
export class TranslateError extends Error {
  override name = 'TranslateError';
  constructor(
    readonly reason: 'extra-keys' | 'identity',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Medium "GPU" (any case) or none → gpu; anything else (CPU, disk, …) → the offloaded tier. */
export const mediumBit = (medium: string | null): TierBit =>
  medium === null || medium === 'GPU' || medium.toUpperCase() === 'GPU' ? GPU : CPU;

/**
 * Turns decoded vLLM batches into canonical events, keeping the pod's
 * BlockTable in step. `translate` first prepares everything that can fail
 * (extra-key encoding) and only then touches the table, so a rejected batch
 * leaves no trace. Not re-entrant (shares one scratch buffer).
 */
export class Translator {
  private scratch = new Uint32Array(2 * 256);

  constructor(
    private readonly model: string,
    private readonly keyer: BlockKeyer,
    private readonly table: BlockTable,
    private readonly stats: TranslateStats,
  ) {}

  /** Throws TranslateError (before any change) or returns the canonical events. */
  translate(batch: VllmEventBatch): CanonicalEvent[] {
    const split: (SplitExtraKeys | undefined)[] = [];
    for (const e of batch.events) {
      // Block keys refuse a NUL in the LoRA name or salt (it would alias another identity);
      // refusing here, before the table is touched, keeps the batch all-or-nothing.
      if (e.type === 'BlockStored' && e.loraName?.includes('\0'))
        throw new TranslateError('identity', 'lora_name contains a NUL character');
      if (e.type !== 'BlockStored' || e.extraKeys === null) {
        split.push(undefined);
        continue;
      }
      let s: SplitExtraKeys;
      try {
        s = splitExtraKeys(e);
      } catch (cause) {
        throw new TranslateError('extra-keys', `cannot encode extra_keys: ${String(cause)}`, {
          cause,
        });
      }
      if (s.salt?.includes('\0'))
        throw new TranslateError('identity', 'cache salt in extra_keys contains a NUL character');
      split.push(s);
    }
    const out: CanonicalEvent[] = [];
    batch.events.forEach((e, i) => {
      this.stats.eventIn(e.type);
      if (e.type === 'AllBlocksCleared') {
        this.table.markAllAbsent();
        out.push({ kind: 'cleared' });
        return;
      }
      // Hybrid models emit one stream per KV-cache group; group 0 holds the full-attention
      // blocks a prefix match is about, the others (sliding window, mamba) would only alias them.
      if (e.groupIdx !== null && e.groupIdx > 0) {
        this.stats.ignoredGroup();
        return;
      }
      const ev = e.type === 'BlockStored' ? this.stored(e, split[i]) : this.removed(e);
      if (ev) out.push(ev);
    });
    return out;
  }

  private stored(e: BlockStored, split: SplitExtraKeys | undefined): CanonicalEvent | null {
    const bit = mediumBit(e.medium);
    const hashes = e.blockHashes;
    const n = hashes.length >>> 1;
    if (n === 0) return null;
    if (e.tokenIds.length === 0) return this.storedWithoutTokens(hashes, bit);

    let parentLo: number;
    let parentHi: number;
    let depth0: number;
    if (e.parentBlockHash === null) {
      const lora = e.loraName ?? (e.loraId !== null ? `lora-id:${e.loraId}` : null);
      const root = this.keyer.rootKey({ model: this.model, lora, salt: split?.salt ?? null });
      parentLo = root[0]!;
      parentHi = root[1]!;
      depth0 = 0;
    } else {
      const p = this.table.lookup(e.parentBlockHash[0]!, e.parentBlockHash[1]!);
      if (p < 0) {
        this.stats.unresolvedParent(n);
        return null;
      }
      parentLo = this.table.keyLo(p);
      parentHi = this.table.keyHi(p);
      const pd = this.table.depth(p);
      depth0 = pd === UNKNOWN_DEPTH ? UNKNOWN_DEPTH : pd + 1;
    }
    if (this.scratch.length < 2 * n) this.scratch = new Uint32Array(2 * n);
    const keys = this.keyer.chain(e.tokenIds, {
      blockSizeTokens: e.blockSize,
      parentLo,
      parentHi,
      extras: split?.extras,
      out: this.scratch,
    });
    let kept = 0;
    for (; kept < n; kept++) {
      const depth = depth0 === UNKNOWN_DEPTH ? UNKNOWN_DEPTH : depth0 + kept;
      const slot = this.table.put(
        hashes[2 * kept]!,
        hashes[2 * kept + 1]!,
        keys[2 * kept]!,
        keys[2 * kept + 1]!,
        depth,
        bit,
      );
      if (slot < 0) break;
    }
    // A block that cannot be tracked could never be removed: neither it nor its
    // descendants in this event are announced.
    if (kept < n) this.stats.capacityDrop(n - kept);
    if (kept === 0) return null;
    return {
      kind: 'stored',
      parent: Uint32Array.of(parentLo, parentHi),
      keys: keys.slice(0, 2 * kept),
      tier: tierOfBit(bit),
      depth: depth0 === UNKNOWN_DEPTH ? -1 : depth0,
    };
  }

  /** A store without tokens (e.g. an offload to CPU) names blocks the table already knows. */
  private storedWithoutTokens(hashes: Uint32Array, bit: TierBit): CanonicalEvent | null {
    const n = hashes.length >>> 1;
    const keys = new Uint32Array(2 * n);
    let m = 0;
    let depth0 = -1;
    let chained = true;
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const s = this.table.lookup(hashes[2 * i]!, hashes[2 * i + 1]!);
      if (s < 0) {
        unknown++;
        continue;
      }
      this.table.add(s, bit);
      const d = this.table.depth(s);
      if (m === 0) depth0 = d === UNKNOWN_DEPTH ? -1 : d;
      else if (depth0 < 0 || d !== depth0 + m) chained = false;
      keys[2 * m] = this.table.keyLo(s);
      keys[2 * m + 1] = this.table.keyHi(s);
      m++;
    }
    if (unknown > 0) this.stats.unknownHash(unknown);
    if (m === 0) return null;
    return {
      kind: 'stored',
      parent: null,
      keys: keys.slice(0, 2 * m),
      tier: tierOfBit(bit),
      depth: chained ? depth0 : -1,
    };
  }

  private removed(e: BlockRemoved): CanonicalEvent | null {
    const bit = mediumBit(e.medium);
    const hashes = e.blockHashes;
    const n = hashes.length >>> 1;
    const keys = new Uint32Array(2 * n);
    let m = 0;
    let unknown = 0;
    for (let i = 0; i < n; i++) {
      const s = this.table.lookup(hashes[2 * i]!, hashes[2 * i + 1]!);
      if (s < 0) {
        unknown++;
        continue;
      }
      // A known block not held in this tier (already removed, or lost in a gap): nothing to say.
      if (!this.table.remove(s, bit)) continue;
      keys[2 * m] = this.table.keyLo(s);
      keys[2 * m + 1] = this.table.keyHi(s);
      m++;
    }
    if (unknown > 0) this.stats.unknownHash(unknown);
    if (m === 0) return null;
    return { kind: 'removed', keys: keys.slice(0, 2 * m), tier: tierOfBit(bit) };
  }
}
