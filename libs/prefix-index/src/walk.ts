import type { KeySeq } from '@kvroute/block-keys';
import { H_BITS } from './holder-sets.js';
import type { IndexCore } from './index-core.js';
import { COUNT_MASK, F_META, F_SLOT, F_STAMP, GPU, M_SPEC, NODE_STRIDE } from './node-store.js';

/**
 * The lookup walk: three running sets of pods (bitsets over pod ids) —
 * still unbroken in GPU, in any tier, in any tier or speculative — are
 * intersected with each key's holders in order. A pod leaving a set gets its
 * depth there. The walk stops at the first key nobody continues through, so
 * its cost is O(matched depth · words + pods), with no allocation.
 * Invariant: aliveG ⊆ aliveT ⊆ aliveS, so gpu ≤ total ≤ speculative.
 */
export class Walker {
  aliveG = new Int32Array(1);
  aliveT = new Int32Array(1);
  aliveS = new Int32Array(1);
  /** Per pod id, valid for the ids in the mask of the last run. */
  depthG = new Int32Array(32);
  depthT = new Int32Array(32);
  depthS = new Int32Array(32);

  get byteLength(): number {
    return 3 * (this.aliveG.byteLength + this.depthG.byteLength);
  }

  private fit(words: number): void {
    if (this.aliveG.length >= words) return;
    this.aliveG = new Int32Array(words);
    this.aliveT = new Int32Array(words);
    this.aliveS = new Int32Array(words);
    this.depthG = new Int32Array(32 * words);
    this.depthT = new Int32Array(32 * words);
    this.depthS = new Int32Array(32 * words);
  }

  /** Walks `keys` for the pods in `mask` (words of bits), stamping every node it passes. */
  run(core: IndexCore, keys: KeySeq, mask: Int32Array, useSpec: boolean): void {
    const W = core.words;
    this.fit(W);
    const aG = this.aliveG;
    const aT = this.aliveT;
    const aS = this.aliveS;
    const dG = this.depthG;
    const dT = this.depthT;
    const dS = this.depthS;
    let any = 0;
    for (let w = 0; w < W; w++) {
      const m = mask[w]!;
      aG[w] = m;
      aT[w] = m;
      aS[w] = m;
      any |= m;
    }
    const store = core.store;
    const nodes = store.nodes;
    const hd = core.holders.data;
    const stride = core.holders.stride;
    const extAt = core.extAt;
    const spec = core.spec;
    const tick = core.tick;
    const n = keys.length >>> 1;
    let i = 0;
    let prev = -1;
    for (; any !== 0 && i < n; i++) {
      const id = store.findAfter(prev, keys[2 * i]!, keys[2 * i + 1]!);
      if (id < 0) break;
      prev = id;
      const b = id * NODE_STRIDE;
      nodes[b + F_STAMP] = tick;
      const meta = nodes[b + F_META]!;
      const count = meta & COUNT_MASK;
      const sb = useSpec && (meta & M_SPEC) !== 0 ? spec.bitsOf(id) : -1;
      const sp = spec.pool;
      let eb = -1;
      let inlineWord = -1;
      let inlineBit = 0;
      let inlineGpu = false;
      if (count >= extAt) {
        eb = nodes[b + F_SLOT]! * stride + H_BITS;
      } else if (count === 1) {
        const slot = nodes[b + F_SLOT]!;
        inlineWord = slot >>> 7;
        inlineBit = 1 << ((slot >>> 2) & 31);
        inlineGpu = (slot & GPU) !== 0;
      }
      any = 0;
      for (let w = 0; w < W; w++) {
        let g = 0;
        let a = 0;
        if (eb >= 0) {
          g = hd[eb + w]!;
          a = g | hd[eb + W + w]!;
        } else if (w === inlineWord) {
          a = inlineBit;
          if (inlineGpu) g = inlineBit;
        }
        const s = sb >= 0 ? a | sp[sb + w]! : a;
        let cur = aG[w]!;
        let next = cur & g;
        if (next !== cur) {
          mark(dG, w, cur ^ next, i);
          aG[w] = next;
        }
        cur = aT[w]!;
        next = cur & a;
        if (next !== cur) {
          mark(dT, w, cur ^ next, i);
          aT[w] = next;
        }
        cur = aS[w]!;
        next = cur & s;
        if (next !== cur) {
          mark(dS, w, cur ^ next, i);
          aS[w] = next;
        }
        any |= next;
      }
    }
    // Whoever is still in a set matched through key i - 1 (or every key).
    for (let w = 0; w < W; w++) {
      mark(dG, w, aG[w]!, i);
      mark(dT, w, aT[w]!, i);
      mark(dS, w, aS[w]!, i);
    }
  }
}

function mark(depths: Int32Array, w: number, bits: number, depth: number): void {
  while (bits !== 0) {
    const low = bits & -bits;
    depths[w * 32 + 31 - Math.clz32(low)] = depth;
    bits ^= low;
  }
}
