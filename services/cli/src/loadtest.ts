import type { Command } from './commands.js';
import { UsageError, wantsHelp } from './usage.js';

/** Here rather than beside the e2e runner so that `--help` does not load the whole stack. */
export const E2E_USAGE =
  'kvroute loadtest e2e [--pods 4] [--duration 60] [--rate 6] [--policy default] [--capacity-tokens 1000000] [--seed 1] [--json]';

export const loadtestCommand: Command = {
  summary:
    'compare routing policies on traces (compare), or check the simulator against the real stack (e2e)',
  usage: `kvroute loadtest compare [options]   (see kvroute loadtest compare --help)
       ${E2E_USAGE}`,
  handlesHelp: true,
  subcommands: ['compare', 'e2e'],
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'compare') return (await import('@kvroute/sim')).runCompareCli(rest);
    if (sub === 'e2e') {
      if (wantsHelp(rest)) {
        process.stdout.write(`usage: ${E2E_USAGE}\n`);
        return 0;
      }
      return (await import('./loadtest-e2e.js')).runE2eCli(rest);
    }
    if (sub === '--help' || sub === '-h') {
      process.stdout.write(`usage: ${loadtestCommand.usage}\n`);
      return 0;
    }
    throw new UsageError(
      sub === undefined
        ? 'missing subcommand: compare or e2e'
        : `unknown subcommand ${JSON.stringify(sub)} (known: compare, e2e)`,
    );
  },
};
