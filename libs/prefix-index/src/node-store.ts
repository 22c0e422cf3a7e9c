/**
 * One record per distinct block key ("node"), in one Uint32Array, plus an
 * open-addressing table from the key's two u32 halves to the node id.
 *
 * Record layout (NODE_STRIDE u32 words, 28 bytes):
 *   [F_LO, F_HI]  the key
 *   F_DEPTH       position in its request, UNKNOWN_DEPTH when not known
 *   F_STAMP       recency tick of the last store or lookup that touched it
 *   F_META        real-holder count (COUNT_MASK) | M_LIVE | M_SPEC
 *   F_SLOT        one holder inline ((pod << 2) | tier bits), or a holder-set
 *                 slot when the node has several holders; the next free id
 *                 when the record is free
 *   F_NEXT        id + 1 of the node last seen after this one in a stored
 *                 chain or a lookup (0 = none): a hint, checked against the
 *                 key, that lets a walk skip the table probe
 *
 * Table: pairs [hash32, id + 1] (0 = empty), linear probing, backward-shift
 * deletion, load ≤ MAX_LOAD, any size (not a power of two) so it can grow in
 * steps that fit the byte budget. The slot is chosen by multiply-shift on the
 * hash (order-preserving), and the hash is kept in the table, so: a probe
 * rejects a mismatch without touching any record (a hit reads its record next
 * anyway, to check the key); deletion never reads records; and a rehash walks
 * the old table in order and writes the new one almost sequentially — it was
 * 58% of ingest time when it re-read each record's key at random.
 *
 * Invariants: ids are stable while a node lives and reused after it is freed;
 * a free record has F_META = 0.
 */
export const NODE_STRIDE = 7;
export const F_LO = 0;
export const F_HI = 1;
export const F_DEPTH = 2;
export const F_STAMP = 3;
export const F_META = 4;
export const F_SLOT = 5;
export const F_NEXT = 6;

/** Tier bits of a residency. */
export const GPU = 1;
export const CPU = 2;

export const UNKNOWN_DEPTH = 0xffff_ffff;
export const COUNT_MASK = 0x00ff_ffff;
export const M_LIVE = 1 << 28;
export const M_SPEC = 1 << 29;

const MAX_LOAD = 0.5;
/** Nodes a store starts with at least (the index's store when no expectedBlocks is given). */
export const MIN_NODES = 64;

/** 32-bit mix of both halves (engine-style small or sequential keys spread too). */
function hash(lo: number, hi: number): number {
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 0;
}
const TWO_NEG_32 = 2 ** -32;

/** Bytes a store of `cap` nodes occupies (records plus table). */
export function nodeStoreBytes(cap: number): number {
  return cap * NODE_STRIDE * 4 + tableSlots(cap) * 8 + markWords(cap) * 4;
}

const markWords = (cap: number) => (cap + 31) >>> 5;

function tableSlots(cap: number): number {
  return Math.max(16, Math.ceil(cap / MAX_LOAD) + 1);
}

export class NodeStore {
  nodes: Uint32Array;
  /** A bit per node id for callers' set operations (list dedupe); all clear between uses. */
  marks: Int32Array;
  private table: Uint32Array;
  private slots: number;
  private cap: number;
  /** Ids below this have been handed out at least once. */
  high = 0;
  private freeHead = -1;
  live = 0;

  constructor(initialCap = 64) {
    this.cap = initialCap;
    this.nodes = new Uint32Array(initialCap * NODE_STRIDE);
    this.marks = new Int32Array(markWords(initialCap));
    this.slots = tableSlots(initialCap);
    this.table = new Uint32Array(this.slots * 2);
  }

  get capacity(): number {
    return this.cap;
  }

  get byteLength(): number {
    return this.nodes.byteLength + this.table.byteLength + this.marks.byteLength;
  }

  get full(): boolean {
    return this.live >= this.cap;
  }

  private home(h: number): number {
    const i = ((h >>> 0) * this.slots * TWO_NEG_32) | 0;
    return i < this.slots ? i : this.slots - 1;
  }

  /** Table slots (changes when the store grows). */
  get tableSlots(): number {
    return this.slots;
  }

  /** The table slot a key's probe starts at (lets tests build keys that collide). */
  homeSlot(lo: number, hi: number): number {
    return this.home(hash(lo, hi));
  }

  /**
   * The node id of a key, trying first the successor hint of the node `after`
   * (-1 for none) — a walk along a chain usually hits it without probing the
   * table — and recording the answer as that node's new hint. -1 when absent.
   */
  findAfter(after: number, lo: number, hi: number): number {
    if (after < 0) return this.find(lo, hi);
    const nodes = this.nodes;
    const hint = nodes[after * NODE_STRIDE + F_NEXT]! - 1;
    if (hint >= 0) {
      const b = hint * NODE_STRIDE;
      if (nodes[b + F_LO] === lo && nodes[b + F_HI] === hi && (nodes[b + F_META]! & M_LIVE) !== 0) {
        return hint;
      }
    }
    const id = this.find(lo, hi);
    if (id >= 0) nodes[after * NODE_STRIDE + F_NEXT] = id + 1;
    return id;
  }

  /**
   * Reads the home slots of keys [from, to) of `keys` without acting on them:
   * independent loads the CPU overlaps, so the probes that follow find their
   * cache lines present instead of missing one after another.
   */
  prefetch(keys: Uint32Array, from: number, to: number): void {
    const table = this.table;
    let sink = 0;
    for (let i = from; i < to; i++)
      sink ^= table[2 * this.home(hash(keys[2 * i]!, keys[2 * i + 1]!)) + 1]!;
    this.sink ^= sink;
  }

  /** Keeps prefetch loads observable (never read otherwise). */
  sink = 0;

  /** Records `next` as the successor hint of `id`. */
  link(id: number, next: number): void {
    this.nodes[id * NODE_STRIDE + F_NEXT] = next + 1;
  }

  /** The node id of a key, or -1. */
  find(lo: number, hi: number): number {
    const table = this.table;
    const nodes = this.nodes;
    const slots = this.slots;
    const h = hash(lo, hi);
    let i = this.home(h);
    for (;;) {
      const v = table[2 * i + 1]!;
      if (v === 0) return -1;
      if (table[2 * i] === h) {
        const b = (v - 1) * NODE_STRIDE;
        if (nodes[b + F_LO] === lo && nodes[b + F_HI] === hi) return v - 1;
      }
      if (++i === slots) i = 0;
    }
  }

  /**
   * The node of a key, created (live, no holders, unknown depth) when absent
   * and the store is not full — one probe either way. Returns -1 when the key
   * is absent and the store is full.
   */
  findOrInsert(lo: number, hi: number, stamp: number): number {
    const table = this.table;
    const nodes = this.nodes;
    const slots = this.slots;
    const h = hash(lo, hi);
    let i = this.home(h);
    for (;;) {
      const v = table[2 * i + 1]!;
      if (v === 0) break;
      if (table[2 * i] === h) {
        const b = (v - 1) * NODE_STRIDE;
        if (nodes[b + F_LO] === lo && nodes[b + F_HI] === hi) return v - 1;
      }
      if (++i === slots) i = 0;
    }
    if (this.live >= this.cap) return -1;
    const id = this.newRecord(lo, hi, stamp);
    table[2 * i] = h;
    table[2 * i + 1] = id + 1;
    return id;
  }

  /** Creates the node of a key that is not present. Requires `!full`. */
  insert(lo: number, hi: number, stamp: number): number {
    const id = this.newRecord(lo, hi, stamp);
    this.place(hash(lo, hi), id + 1);
    return id;
  }

  private newRecord(lo: number, hi: number, stamp: number): number {
    let id = this.freeHead;
    if (id >= 0) this.freeHead = this.nodes[id * NODE_STRIDE + F_SLOT]! | 0;
    else id = this.high++;
    const b = id * NODE_STRIDE;
    const nodes = this.nodes;
    nodes[b + F_LO] = lo;
    nodes[b + F_HI] = hi;
    nodes[b + F_DEPTH] = UNKNOWN_DEPTH;
    nodes[b + F_STAMP] = stamp;
    nodes[b + F_META] = M_LIVE;
    nodes[b + F_SLOT] = 0;
    nodes[b + F_NEXT] = 0;
    this.live++;
    return id;
  }

  private place(h: number, v: number): void {
    const table = this.table;
    const slots = this.slots;
    let i = this.home(h);
    while (table[2 * i + 1] !== 0) if (++i === slots) i = 0;
    table[2 * i] = h;
    table[2 * i + 1] = v;
  }

  /** Frees a live node: removes its key from the table and recycles the id. */
  remove(id: number): void {
    const nodes = this.nodes;
    const b = id * NODE_STRIDE;
    const table = this.table;
    const slots = this.slots;
    let i = this.home(hash(nodes[b + F_LO]!, nodes[b + F_HI]!));
    while (table[2 * i + 1] !== id + 1) if (++i === slots) i = 0;
    // Backward shift: pull later members of the probe run into the hole.
    let hole = i;
    let j = i;
    for (;;) {
      if (++j === slots) j = 0;
      const v = table[2 * j + 1]!;
      if (v === 0) break;
      const home = this.home(table[2 * j]!);
      const inRange = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!inRange) {
        table[2 * hole] = table[2 * j]!;
        table[2 * hole + 1] = v;
        hole = j;
      }
    }
    table[2 * hole + 1] = 0;
    nodes[b + F_META] = 0;
    nodes[b + F_SLOT] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  /** Grows to `cap` nodes (ids are kept; the table is rebuilt). */
  grow(cap: number): void {
    if (cap <= this.cap) return;
    const nodes = new Uint32Array(cap * NODE_STRIDE);
    nodes.set(this.nodes);
    this.nodes = nodes;
    this.marks = new Int32Array(markWords(cap));
    this.cap = cap;
    const old = this.table;
    this.slots = tableSlots(cap);
    this.table = new Uint32Array(this.slots * 2);
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== 0) this.place(old[i]!, old[i + 1]!);
  }

  isLive(id: number): boolean {
    return id >= 0 && id < this.high && (this.nodes[id * NODE_STRIDE + F_META]! & M_LIVE) !== 0;
  }
}
