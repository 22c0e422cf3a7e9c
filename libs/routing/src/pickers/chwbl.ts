import type { PodState } from '../types.js';
import type { Picker } from './picker.js';

export interface ChwblParams {
  /** Bound on a pod's load relative to the mean (KubeAI `meanLoadFactor` 125 → 1.25). */
  loadFactor: number;
  /** Points per pod on the ring (KubeAI `replication`, default 256). */
  replication: number;
  /** Tokens of the prompt that form the hash key (rounded down to whole blocks, at least one). */
  prefixTokens: number;
}

/** FNV-1a over a string, then a murmur3 finaliser: well spread 32-bit ring points. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix(h);
}

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

interface Ring {
  points: Uint32Array;
  owner: Int32Array;
}

function buildRing(pods: readonly PodState[], replication: number): Ring {
  const pts: [number, number][] = [];
  pods.forEach((p, i) => {
    for (let r = 0; r < replication; r++) pts.push([hashString(`${p.pod}${r}`), i]);
  });
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return {
    points: Uint32Array.from(pts, (x) => x[0]),
    owner: Int32Array.from(pts, (x) => x[1]),
  };
}

/**
 * KubeAI's PrefixHash load balancing: consistent hashing with bounded loads
 * (CHWBL, Mirrokni et al.). The request's prefix hashes to a ring point; walk
 * clockwise to the first pod whose in-flight load passes
 * `load + 1 ≤ (total + 1) / n × loadFactor`; if none does, the first pod met.
 * KubeAI hashes the first 100 characters of the user message; a token-level
 * router sees no message boundaries, so the key is the block key at
 * `prefixTokens` (a shared system prompt would otherwise send every request
 * to one ring point). Fallbacks: the remaining pods in ring order.
 */
export const chwblPicker = (p: ChwblParams): Picker => {
  let ringKey = '';
  let ring: Ring = { points: new Uint32Array(0), owner: new Int32Array(0) };
  return {
    name: 'chwbl',
    order(input, pods) {
      const names = pods.map((x) => x.pod).join('\u0000');
      if (names !== ringKey) {
        ring = buildRing(pods, p.replication);
        ringKey = names;
      }
      const blocks = input.keys.length >>> 1;
      const at = Math.min(blocks, Math.max(1, Math.floor(p.prefixTokens / input.blockSize))) - 1;
      const h = at >= 0 ? mix(input.keys[2 * at]! ^ mix(input.keys[2 * at + 1]!)) : 0;
      let lo = 0;
      let hi = ring.points.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ring.points[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      const n = pods.length;
      let total = 0;
      for (const x of pods) total += x.inFlight;
      const threshold = ((total + 1) / n) * p.loadFactor;
      const seen = new Set<number>();
      const walk: number[] = [];
      let chosen = -1;
      for (let k = 0; k < ring.points.length && seen.size < n; k++) {
        const i = ring.owner[(lo + k) % ring.points.length]!;
        if (seen.has(i)) continue;
        seen.add(i);
        walk.push(i);
        if (chosen < 0 && (total === 0 || pods[i]!.inFlight + 1 <= threshold)) chosen = i;
      }
      if (chosen < 0) chosen = walk[0]!;
      return [chosen, ...walk.filter((i) => i !== chosen)];
    },
  };
};
