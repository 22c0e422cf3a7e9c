/**
 * A mistake in how the command was called (a bad flag value, a missing
 * subcommand). `run` prints its message with a pointer to --help and exits 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** True when the arguments ask for help; a `--help` after `--` is a positional, not a request. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const flags = end < 0 ? args : args.slice(0, end);
  return flags.includes('--help') || flags.includes('-h');
}
