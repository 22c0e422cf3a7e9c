import { KeyTable } from '@kvroute/block-keys';
import type { Tier } from '@kvroute/protocol';

export const GPU = 1;
export const CPU = 2;
/** A tier bit: GPU or CPU (any offloaded medium). */
export type TierBit = typeof GPU | typeof CPU;
const PRESENT = GPU | CPU;
/** The slot waits in the absent queue (at most once). */
const QUEUED = 4;
export const UNKNOWN_DEPTH = 0xffff_ffff;

export const tierOfBit = (b: TierBit): Tier => (b === GPU ? 'gpu' : 'cpu');

/**
 * The pod's blocks: engine hash → (canonical key, depth, tiers), in flat typed
 * arrays. One slot per engine block:
 *
 *   hash 8 B + key 8 B + depth 4 B + flags 1 B + absent-queue 4 B = 25 B
 *   + the hash index (KeyTable, load ≤ 0.5: 24–48 B)                = 49–73 B
 *
 * and slot arrays grow by doubling (so up to 2× the 25 B while growing).
 *
 * A block removed from every tier stays *known* (its key still resolves a
 * later token-less store or a child's parent: the engine hash → key mapping is
 * fixed for the engine's lifetime) until its slot is needed: when `maxBlocks`
 * slots are in use, the oldest absent slot is recycled. When every slot holds
 * a present block, `put` refuses (returns -1) and the caller drops the block:
 * the index then misses it (a false negative), never the reverse.
 *
 * Invariants: present counts per tier equal the number of slots with that bit;
 * every lookup and update is O(1) expected; nothing allocates per block.
 */
export class BlockTable {
  private readonly index = new KeyTable(1024);
  private hashes: Uint32Array;
  private keys: Uint32Array;
  private depths: Uint32Array;
  private flags: Uint8Array;
  /** Ring of slots that went absent, oldest first. */
  private queue: Int32Array;
  private qHead = 0;
  private qLen = 0;
  private used = 0;
  private readonly present = [0, 0, 0];

  constructor(
    readonly maxBlocks: number,
    initialSlots = 1024,
  ) {
    const n = Math.max(1, Math.min(initialSlots, maxBlocks));
    this.hashes = new Uint32Array(2 * n);
    this.keys = new Uint32Array(2 * n);
    this.depths = new Uint32Array(n);
    this.flags = new Uint8Array(n);
    this.queue = new Int32Array(n);
  }

  /** Blocks held in a tier. */
  count(bit: TierBit): number {
    return this.present[bit]!;
  }

  /** Slots in use (present or known-absent). */
  get known(): number {
    return this.index.size;
  }

  get byteLength(): number {
    return (
      this.index.byteLength +
      this.hashes.byteLength +
      this.keys.byteLength +
      this.depths.byteLength +
      this.flags.byteLength +
      this.queue.byteLength
    );
  }

  /** Slot of an engine hash, or -1. */
  lookup(hashLo: number, hashHi: number): number {
    return this.index.get(hashLo, hashHi);
  }

  keyLo(slot: number): number {
    return this.keys[2 * slot]!;
  }

  keyHi(slot: number): number {
    return this.keys[2 * slot + 1]!;
  }

  /** Position in its request, or UNKNOWN_DEPTH. */
  depth(slot: number): number {
    return this.depths[slot]!;
  }

  /**
   * Records a block in a tier (creating or refreshing its entry). Returns the
   * slot, or -1 when every slot holds a present block.
   */
  put(
    hashLo: number,
    hashHi: number,
    keyLo: number,
    keyHi: number,
    depth: number,
    bit: TierBit,
  ): number {
    let slot = this.index.get(hashLo, hashHi);
    if (slot < 0) {
      slot = this.allocate();
      if (slot < 0) return -1;
      this.index.set(hashLo, hashHi, slot);
      this.hashes[2 * slot] = hashLo;
      this.hashes[2 * slot + 1] = hashHi;
      this.flags[slot] = 0;
    }
    this.keys[2 * slot] = keyLo;
    this.keys[2 * slot + 1] = keyHi;
    this.depths[slot] = depth;
    this.add(slot, bit);
    return slot;
  }

  /** Sets a tier bit; true when it was not set. */
  add(slot: number, bit: TierBit): boolean {
    const f = this.flags[slot]!;
    if (f & bit) return false;
    this.flags[slot] = f | bit;
    this.present[bit]!++;
    return true;
  }

  /** Clears a tier bit; true when it was set. A block left in no tier becomes recyclable. */
  remove(slot: number, bit: TierBit): boolean {
    const f = this.flags[slot]!;
    if (!(f & bit)) return false;
    this.flags[slot] = f & ~bit;
    this.present[bit]!--;
    if (!(f & ~bit & PRESENT)) this.enqueue(slot);
    return true;
  }

  /** Every block leaves every tier; keys stay known. O(slots). */
  markAllAbsent(): void {
    for (let s = 0; s < this.used; s++) {
      if (this.flags[s]! & PRESENT) {
        this.flags[s] = this.flags[s]! & ~PRESENT;
        this.enqueue(s);
      }
    }
    this.present[GPU] = this.present[CPU] = 0;
  }

  /** Forgets everything (a restarted engine hashes differently). */
  reset(): void {
    this.index.clear();
    this.used = 0;
    this.qHead = this.qLen = 0;
    this.present[GPU] = this.present[CPU] = 0;
  }

  /** Calls fn once per (block, tier) held, in slot order. */
  forEachPresent(fn: (keyLo: number, keyHi: number, bit: TierBit, depth: number) => void): void {
    for (let s = 0; s < this.used; s++) {
      const f = this.flags[s]!;
      if (f & GPU) fn(this.keys[2 * s]!, this.keys[2 * s + 1]!, GPU, this.depths[s]!);
      if (f & CPU) fn(this.keys[2 * s]!, this.keys[2 * s + 1]!, CPU, this.depths[s]!);
    }
  }

  private enqueue(slot: number): void {
    if (this.flags[slot]! & QUEUED) return;
    this.flags[slot] = this.flags[slot]! | QUEUED;
    this.queue[(this.qHead + this.qLen) % this.queue.length] = slot;
    this.qLen++;
  }

  private allocate(): number {
    if (this.used < this.flags.length) return this.used++;
    if (this.used < this.maxBlocks) {
      this.grow(Math.min(this.maxBlocks, 2 * this.flags.length));
      return this.used++;
    }
    // Full: recycle the oldest slot that is still absent.
    while (this.qLen > 0) {
      const s = this.queue[this.qHead]!;
      this.qHead = (this.qHead + 1) % this.queue.length;
      this.qLen--;
      const f = this.flags[s]!;
      this.flags[s] = f & ~QUEUED;
      if (!(f & PRESENT)) {
        this.index.delete(this.hashes[2 * s]!, this.hashes[2 * s + 1]!);
        return s;
      }
    }
    return -1;
  }

  private grow(n: number): void {
    const copy = <T extends Uint32Array | Uint8Array>(
      a: T,
      make: (len: number) => T,
      k: number,
    ) => {
      const b = make(k * n);
      b.set(a);
      return b;
    };
    this.hashes = copy(this.hashes, (l) => new Uint32Array(l), 2);
    this.keys = copy(this.keys, (l) => new Uint32Array(l), 2);
    this.depths = copy(this.depths, (l) => new Uint32Array(l), 1);
    this.flags = copy(this.flags, (l) => new Uint8Array(l), 1);
    // The ring is linearised into the larger array, oldest first.
    const q = new Int32Array(n);
    for (let i = 0; i < this.qLen; i++) q[i] = this.queue[(this.qHead + i) % this.queue.length]!;
    this.queue = q;
    this.qHead = 0;
  }
}
