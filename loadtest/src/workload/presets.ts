import type { MultiTurnOptions, SharedPrefixOptions } from './synthetic.js';

/** The synthetic workloads of the comparison (also `kvroute sim --synthetic`). */
export const SHARED_PREFIX: SharedPrefixOptions = {
  groups: 32,
  promptsPerGroup: 64,
  systemPromptTokens: 4000,
  questionTokens: 400,
  outputTokens: 200,
};
// 2 000 sessions: at load 0.7 on 16 pods they start over ≈ 4.5 minutes, long
// against a session (≈ 70 s of think time plus its answers), so most of the
// run is in steady state at the offered load (with 400 it never got there).
export const MULTI_TURN: MultiTurnOptions = {
  sessions: 2000,
  turnsPerSession: 8,
  systemPromptTokens: 1000,
  userTokens: 300,
  outputTokens: 300,
};
