import type { KeySeq } from '@kvroute/block-keys';
import type { CanonicalEvent } from '@kvroute/protocol';

/** Deterministic xorshift32 in [0, 1) — the same workload on every run. */
export function rng(seed = 0x9e37_79b9): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** `n` random 64-bit keys (chained keys are xxh64 outputs: uniformly random). */
export function randomKeys(n: number, rand: () => number): KeySeq {
  const out = new Uint32Array(2 * n);
  for (let i = 0; i < out.length; i++) out[i] = (rand() * 4294967296) >>> 0;
  return out;
}

export const storedEvent = (
  keys: KeySeq,
  depth = -1,
  tier: 'gpu' | 'cpu' = 'gpu',
): CanonicalEvent => ({
  kind: 'stored',
  parent: null,
  keys,
  tier,
  depth,
});

/** The minimal surface the benchmarks drive, so a naive layout can run the same work. */
export interface BenchTarget {
  apply(pod: string, events: readonly CanonicalEvent[]): void;
  lookup(keys: KeySeq): { matches: unknown[] };
}

export interface PromptScenario {
  prompt: KeySeq;
  pods: string[];
  /** Blocks of the prompt each pod holds (GPU first, the last quarter of it in CPU). */
  depths: number[];
}

/**
 * A prompt of `blocks` keys held by `pods` pods to various depths (pod 0 all
 * of it, the rest uniformly random), plus `background` unrelated blocks per pod
 * in 32-block chains so the key table is realistically large.
 */
export function buildPromptScenario(
  target: BenchTarget,
  blocks: number,
  pods: number,
  background: number,
  seed: number,
): PromptScenario {
  const rand = rng(seed);
  const prompt = randomKeys(blocks, rand);
  const names = Array.from({ length: pods }, (_, i) => `10.0.${i >> 8}.${i & 255}:8000`);
  const depths = names.map((_, i) => (i === 0 ? blocks : Math.floor(rand() * (blocks + 1))));
  names.forEach((pod, i) => {
    const d = depths[i]!;
    const gpu = Math.ceil(d * 0.75);
    target.apply(pod, [
      storedEvent(prompt.subarray(0, 2 * gpu), 0, 'gpu'),
      storedEvent(prompt.subarray(2 * gpu, 2 * d), gpu, 'cpu'),
    ]);
    for (let b = 0; b < background; b += 32) {
      target.apply(pod, [storedEvent(randomKeys(Math.min(32, background - b), rand), 0)]);
    }
  });
  return { prompt, pods: names, depths };
}

/**
 * The memory workload: `pods` pods each holding `perPod` blocks — a
 * `sharedShare` of them in 64-block chains drawn from a pool of common prefixes
 * (system prompts, few-shot templates), the rest in unique 64-block chains. Keys are written
 * into one reused buffer, so the only memory that stays is the target's.
 */
export function fillMixed(
  target: BenchTarget,
  pods: number,
  perPod: number,
  sharedShare: number,
  pool: KeySeq,
  seed: number,
): number {
  const rand = rng(seed);
  const poolChains = pool.length / 128;
  const buf = new Uint32Array(128);
  let residencies = 0;
  for (let p = 0; p < pods; p++) {
    const pod = `10.1.${p >> 8}.${p & 255}:8000`;
    const shared = new Set<number>();
    const sharedChains = Math.min(poolChains, Math.round((perPod * sharedShare) / 64));
    while (shared.size < sharedChains) shared.add(Math.floor(rand() * poolChains));
    for (const c of shared) {
      target.apply(pod, [storedEvent(pool.subarray(c * 128, c * 128 + 128), 0)]);
      residencies += 64;
    }
    let held = shared.size * 64;
    while (held < perPod) {
      const n = Math.min(64, perPod - held);
      for (let i = 0; i < 2 * n; i++) buf[i] = (rand() * 4294967296) >>> 0;
      target.apply(pod, [storedEvent(buf.subarray(0, 2 * n), 0)]);
      held += n;
      residencies += n;
    }
  }
  return residencies;
}
