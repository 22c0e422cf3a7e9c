// Direct entry for running from the source tree: `npm run -w @kvroute/sim kvroute -- sim …`
// (the same commands as `npx kvroute sim` / `npx kvroute loadtest compare`).
import { runSimCli } from './sim/cli.js';

const [cmd, ...rest] = process.argv.slice(2);
const run = async (): Promise<number> => {
  if (cmd === 'sim') return runSimCli(rest);
  if (cmd === 'compare') return (await import('./compare/cli.js')).runCompareCli(rest);
  process.stderr.write('usage: main.ts sim|compare [options]\n');
  return 2;
};
process.exitCode = await run();
