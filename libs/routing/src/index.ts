export { createLoadTracker } from './load-tracker.js';
export { createPolicy } from './policy.js';
export { parsePolicyConfig } from './config.js';
export { NoCandidateError, PolicyConfigError } from './errors.js';
export { createRng } from './rng.js';
export type { Rng } from './rng.js';
export { PRESETS } from './presets.js';
export { TTFT_DEFAULTS } from './scorers/ttft.js';
export {
  cpuBlocks,
  DEFAULT_CPU_WEIGHT,
  effectiveBlocks,
  matchedBlocks,
  uncachedTokens,
} from './match.js';
export type { MatchOptions } from './match.js';
export type { LoadTracker, LoadTrackerOptions, RequestInfo } from './load-tracker.js';
export type { Preset } from './presets.js';
export type {
  Decision,
  MatchDepth,
  PickerConfig,
  PodLoad,
  PodRole,
  PodScore,
  PodState,
  Policy,
  PolicyConfig,
  PresetName,
  RouteInput,
  ScorerConfig,
} from './types.js';
