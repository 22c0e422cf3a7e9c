import type { PickerConfig, PresetName, ScorerConfig } from './types.js';

export interface Preset {
  scorers: ScorerConfig[];
  picker: PickerConfig;
  /** Where the preset comes from (shown in the README). */
  source: string;
}

/** The peers' policies, as their sources define them (see README for citations). */
export const PRESETS: Record<PresetName, Preset> = {
  'round-robin': { scorers: [], picker: { name: 'round-robin' }, source: 'plain round-robin' },
  random: { scorers: [], picker: { name: 'random' }, source: 'uniform random' },
  'least-loaded': {
    scorers: [{ name: 'load', weight: 1 }],
    picker: { name: 'max-score' },
    source: 'fewest requests (router in-flight or engine waiting+running)',
  },
  'llm-d': {
    scorers: [
      { name: 'prefix-cache', weight: 2 },
      { name: 'kv-cache-utilization', weight: 1 },
      { name: 'queue', weight: 1 },
    ],
    picker: { name: 'max-score' },
    source: 'llm-d inference-scheduler / GIE scorers, weights 2:1:1, max-score picker',
  },
  dynamo: {
    scorers: [{ name: 'kv-overlap-cost', weight: 1, params: { overlapScoreWeight: 1 } }],
    picker: { name: 'softmax', params: { temperature: 0 } },
    source: 'NVIDIA Dynamo KV router cost function, temperature 0',
  },
  kubeai: {
    scorers: [],
    picker: { name: 'chwbl', params: { loadFactor: 1.25, replication: 256 } },
    source: 'KubeAI PrefixHash (CHWBL), meanLoadFactor 125, replication 256',
  },
  sglang: {
    scorers: [],
    picker: {
      name: 'cache-aware',
      params: { cacheThreshold: 0.5, balanceAbsThreshold: 32, balanceRelThreshold: 1.0001 },
    },
    source: 'sgl-router cache_aware defaults',
  },
  default: {
    scorers: [{ name: 'ttft', weight: 1 }],
    picker: { name: 'max-score' },
    source: 'kvroute: estimated time to first token',
  },
};
