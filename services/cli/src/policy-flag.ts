import { parsePolicyConfig, PolicyConfigError } from '@kvroute/routing';
import { UsageError } from './usage.js';

/** Names a bad `--policy` preset before anything starts, rather than midway through a run. */
export function checkPolicyFlag(preset: string): void {
  try {
    parsePolicyConfig(preset);
  } catch (e) {
    if (e instanceof PolicyConfigError)
      throw new UsageError(`--policy: ${e.message}`, { cause: e });
    throw e;
  }
}
