import type { Picker } from './picker.js';
import { sortDescRandomTies } from './picker.js';

/** llm-d / GIE `max-score-picker`: highest weighted score, random among ties. */
export const maxScorePicker = (): Picker => ({
  name: 'max-score',
  order: (_input, _pods, totals, rng) => sortDescRandomTies(totals, rng),
});

/** Uniformly random order. */
export const randomPicker = (): Picker => ({
  name: 'random',
  order: (_input, pods, _totals, rng) => sortDescRandomTies(new Float64Array(pods.length), rng),
});

/**
 * Cycles through the candidates (sorted by name) with one counter per
 * policy; fallbacks continue the cycle.
 */
export const roundRobinPicker = (): Picker => {
  let next = 0;
  return {
    name: 'round-robin',
    order(_input, pods) {
      const n = pods.length;
      const start = next % n;
      next = (start + 1) % Number.MAX_SAFE_INTEGER;
      return Array.from({ length: n }, (_, i) => (start + i) % n);
    },
  };
};

/**
 * NVIDIA Dynamo's worker selection over cost logits (here `1 − score`, the
 * logit divided by the largest): temperature 0 takes the lowest cost with a
 * random tie-break; above 0 it samples softmax(−logit / (max − min) / T).
 * Fallbacks follow by cost.
 */
export const softmaxPicker = (temperature: number): Picker => ({
  name: 'softmax',
  order(_input, pods, totals, rng) {
    const byScore = sortDescRandomTies(totals, rng);
    if (temperature <= 0 || pods.length < 2) return byScore;
    const logits = Array.from(totals, (s) => 1 - s);
    const min = Math.min(...logits);
    const max = Math.max(...logits);
    if (max === min) return sortDescRandomTies(new Float64Array(pods.length), rng);
    const scaled = logits.map((l) => -l / (max - min) / temperature);
    const top = Math.max(...scaled);
    const w = scaled.map((v) => Math.exp(v - top));
    const sum = w.reduce((a, b) => a + b, 0);
    let u = rng() * sum;
    let chosen = byScore[0]!;
    for (let i = 0; i < w.length; i++) {
      u -= w[i]!;
      if (u <= 0) {
        chosen = i;
        break;
      }
    }
    return [chosen, ...byScore.filter((i) => i !== chosen)];
  },
});
