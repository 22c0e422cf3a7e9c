import type { Command } from './commands.js';
import { commands } from './commands.js';

const VERSION = '0.1.0';

async function help(): Promise<string> {
  const lines = [
    'kvroute — KV-cache index and prefix-aware routing for LLM inference fleets',
    '',
    'usage: kvroute <command> [options]   (kvroute <command> --help for its options)',
    '',
    'commands:',
  ];
  for (const [name, load] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  }
  return lines.join('\n');
}

/** Runs the CLI with the given arguments and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`kvroute: unknown command ${JSON.stringify(name)}\n\n${await help()}\n`);
    return 2;
  }
  const command: Command = await load();
  if (!command.handlesHelp && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`usage: ${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}
