import type { SpecBatch } from './speculative.js';

/**
 * A registered pod. `list` holds the ids of the nodes it holds, appended when
 * it becomes a holder and never removed eagerly: an entry is live only while
 * the node still has this pod as a holder (ids are reused, so a stale entry may
 * even point at a node the pod holds again — hence the dedupe in compaction).
 * Invariant: every node the pod holds appears in list[0, len) at least once.
 */
export interface PodState {
  id: number;
  name: string;
  list: Int32Array;
  len: number;
  /** Distinct nodes held (= residencies of this pod). */
  live: number;
  gpuBlocks: number;
  cpuBlocks: number;
  /** Speculative batches added for this pod that may still hold entries. */
  specBatches: SpecBatch[];
  specBatchesPruneAt: number;
  /** Where eviction from this pod's own list looks next (a CLOCK hand over list positions). */
  evictHand: number;
}

/** Rough bytes of a pod's JS objects besides its list (state, name, map entry). */
export const POD_OVERHEAD_BYTES = 256;
const INITIAL_LIST = 16;

/**
 * Pod names ↔ small dense ids (reused after removal), and the bitset of live ids.
 * A pod is registered by its first event, snapshot or speculative entry, but
 * only the first two make it *reported* (`reported`, in that order): a pod
 * known only by the router's speculative entries is no engine state.
 */
export class PodRegistry {
  readonly byName = new Map<string, PodState>();
  /** Pods that have had an event or snapshot applied, in the order of the first. */
  readonly reported = new Map<string, PodState>();
  readonly byId: (PodState | undefined)[] = [];
  private freeIds: number[] = [];
  /** Bit per live pod id, `words` words. */
  active: Int32Array;
  words: number;
  listBytes = 0;

  constructor(words: number) {
    this.words = words;
    this.active = new Int32Array(words);
  }

  get size(): number {
    return this.byName.size;
  }

  get byteLength(): number {
    return this.listBytes + this.byName.size * POD_OVERHEAD_BYTES + this.active.byteLength;
  }

  get(name: string): PodState | undefined {
    return this.byName.get(name);
  }

  /** The id a new pod would get (lets the caller widen bitsets first). */
  nextId(): number {
    return this.freeIds.length > 0 ? this.freeIds[this.freeIds.length - 1]! : this.byId.length;
  }

  register(name: string): PodState {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.byId.length;
    if (id >= this.words * 32) throw new RangeError('pod bitset too narrow; call setWords first');
    const pod: PodState = {
      id,
      name,
      list: new Int32Array(INITIAL_LIST),
      len: 0,
      live: 0,
      gpuBlocks: 0,
      cpuBlocks: 0,
      specBatches: [],
      specBatchesPruneAt: 16,
      evictHand: 0,
    };
    this.listBytes += pod.list.byteLength;
    this.byName.set(name, pod);
    this.byId[id] = pod;
    this.active[id >>> 5]! |= 1 << (id & 31);
    return pod;
  }

  /** Makes a registered pod appear in pods() and stats (idempotent). */
  report(pod: PodState): void {
    if (!this.reported.has(pod.name)) this.reported.set(pod.name, pod);
  }

  unregister(pod: PodState): void {
    this.listBytes -= pod.list.byteLength;
    this.byName.delete(pod.name);
    this.reported.delete(pod.name);
    this.byId[pod.id] = undefined;
    this.active[pod.id >>> 5]! &= ~(1 << (pod.id & 31));
    this.freeIds.push(pod.id);
  }

  setWords(words: number): void {
    if (words <= this.words) return;
    const a = new Int32Array(words);
    a.set(this.active);
    this.active = a;
    this.words = words;
  }

  /** Replaces a pod's list array (growth or shrink), keeping list[0, len). */
  resizeList(pod: PodState, cap: number): void {
    const list = new Int32Array(Math.max(INITIAL_LIST, cap));
    list.set(pod.list.subarray(0, pod.len));
    this.listBytes += list.byteLength - pod.list.byteLength;
    pod.list = list;
  }

  /**
   * Keeps the entries `held` accepts, once each, in order. `marks` is a bitset
   * over node ids, all clear on entry and on return. O(len); called when the
   * list is full, so amortized over the appends that filled it.
   */
  compact(pod: PodState, held: (id: number) => boolean, marks: Int32Array): void {
    const list = pod.list;
    let n = 0;
    for (let i = 0; i < pod.len; i++) {
      const id = list[i]!;
      const w = id >>> 5;
      const bit = 1 << (id & 31);
      if ((marks[w]! & bit) !== 0 || !held(id)) continue;
      marks[w]! |= bit;
      list[n++] = id;
    }
    for (let i = 0; i < n; i++) marks[list[i]! >>> 5] = 0;
    pod.len = n;
    if (list.length > 4 * INITIAL_LIST && n < list.length / 4) this.resizeList(pod, n * 2);
  }
}
