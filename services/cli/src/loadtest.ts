import type { Command } from './commands.js';

export const loadtestCommand: Command = {
  summary:
    'compare routing policies on traces (compare), or check the simulator against the real stack (e2e)',
  usage: `kvroute loadtest compare [options]   (see kvroute loadtest compare --help)
       kvroute loadtest e2e [--pods 4] [--duration 60] [--rate 6] [--policy default] [--json]`,
  handlesHelp: true,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === 'compare') return (await import('@kvroute/sim')).runCompareCli(rest);
    if (sub === 'e2e') return (await import('./loadtest-e2e.js')).runE2eCli(rest);
    process.stderr.write(`usage: ${loadtestCommand.usage}\n`);
    return 2;
  },
};
