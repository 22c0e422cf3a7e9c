import { inspect } from 'node:util';
import type { Command } from './commands.js';
import { commands } from './commands.js';
import { UsageError, wantsHelp } from './usage.js';

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

/** node:util parseArgs rejections: unknown flags, missing or unexpected values. */
function isParseArgsError(e: unknown): boolean {
  return (
    e instanceof Error &&
    'code' in e &&
    typeof e.code === 'string' &&
    e.code.startsWith('ERR_PARSE_ARGS_')
  );
}

/** Errors that mean the command was called wrongly (exit 2), not that it failed (exit 1). */
async function isUsageError(e: unknown): Promise<boolean> {
  if (e instanceof UsageError || isParseArgsError(e)) return true;
  // Imported here so that the happy path of `kvroute bench` never loads NATS or HTTP code.
  const [{ ConfigError }, { PolicyConfigError }] = await Promise.all([
    import('@kvroute/runtime'),
    import('@kvroute/routing'),
  ]);
  return e instanceof ConfigError || e instanceof PolicyConfigError;
}

/** Stack traces are for debugging the CLI itself, not for someone who mistyped a flag. */
const DEBUG_LEVELS = new Set(['debug', 'trace']);

async function report(label: string, e: unknown): Promise<number> {
  const message = e instanceof Error ? e.message : String(e);
  if (await isUsageError(e)) {
    process.stderr.write(`${label}: ${message}\n(${label} --help for usage)\n`);
    return 2;
  }
  if (DEBUG_LEVELS.has(process.env.KVROUTE_LOG_LEVEL ?? '')) {
    process.stderr.write(`${label}: ${inspect(e)}\n`);
  } else {
    process.stderr.write(`${label}: ${message}\n(KVROUTE_LOG_LEVEL=debug shows the stack trace)\n`);
  }
  return 1;
}

/**
 * Runs the CLI with the given arguments and returns the exit code: 0 on
 * success and for --help, 2 for a usage or configuration mistake, 1 when the
 * command fails.
 */
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
  const sub = rest[0] !== undefined && command.subcommands?.includes(rest[0]) ? rest[0] : undefined;
  const label = sub ? `kvroute ${name} ${sub}` : `kvroute ${name}`;
  try {
    if (!command.handlesHelp && wantsHelp(rest)) {
      process.stdout.write(`usage: ${command.usage}\n`);
      return 0;
    }
    return await command.run(rest);
  } catch (e) {
    return report(label, e);
  }
}
