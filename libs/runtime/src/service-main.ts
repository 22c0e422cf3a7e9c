import type { Schema } from './config.js';
import { ConfigError, renderHelp, setting } from './config.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './log.js';
import { createLogger, LOG_LEVELS } from './log.js';

/** The `--log-level` setting every service takes. */
export const logLevelSetting = setting.string({
  flag: 'log-level',
  env: 'KVROUTE_LOG_LEVEL',
  help: 'log level',
  default: 'info',
  choices: LOG_LEVELS,
});

export interface ServiceMainOptions<C extends { logLevel: string }> {
  /** `kvroute <name>`: also the logger's name. */
  name: string;
  usage: string;
  settings: Schema;
  argv: string[];
  /** Parses and validates argv and env once; throws ConfigError naming the bad setting. */
  parse(argv: string[]): C;
  /** Builds and starts the service, registering how to stop each part on `life`. */
  start(config: C, log: Logger, life: Lifecycle): Promise<void>;
}

/**
 * The shared shape of a service's composition root: help on --help (exit 0),
 * a named ConfigError (exit 2, also when `start` throws one), start, then run
 * until SIGTERM/SIGINT and stop in reverse order (exit 0), or exit 1 when
 * starting fails. The signal handlers are in place before `start`: a signal
 * during startup aborts `life.signal` (and `processStopping`, which
 * `connectNats` watches), and once the start has given up, whatever it had
 * started is stopped as after a normal run.
 */
export async function serviceMain<C extends { logLevel: string }>(
  o: ServiceMainOptions<C>,
): Promise<number> {
  if (o.argv.includes('--help') || o.argv.includes('-h')) {
    process.stdout.write(`${renderHelp(o.usage, o.settings)}\n`);
    return 0;
  }
  let config: C;
  try {
    config = o.parse(o.argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute ${o.name}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger(o.name, config.logLevel);
  const life = new Lifecycle(log);
  const exit = life.untilSignal();
  try {
    await life.whileStarting(o.start(config, log, life));
  } catch (e) {
    if (life.signal.aborted) return exit;
    life.unwatch();
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute ${o.name}: ${e.message}\n`);
      await life.stop();
      return 2;
    }
    log.fatal({ err: String(e) }, `${o.name} failed to start`);
    await life.stop();
    return 1;
  }
  return exit;
}
