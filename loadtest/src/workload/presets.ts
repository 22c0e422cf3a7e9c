import type { MultiTurnOptions, SharedPrefixOptions } from './synthetic.js';

/** The synthetic workloads of the comparison (also `kvroute sim --synthetic`). */
export const SHARED_PREFIX: SharedPrefixOptions = {
  groups: 32,
  promptsPerGroup: 64,
  systemPromptTokens: 4000,
  questionTokens: 400,
  outputTokens: 200,
};
export const MULTI_TURN: MultiTurnOptions = {
  sessions: 400,
  turnsPerSession: 8,
  systemPromptTokens: 1000,
  userTokens: 300,
  outputTokens: 300,
};
