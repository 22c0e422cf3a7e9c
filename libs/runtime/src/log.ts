import { destination, pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** JSON lines on stderr, one logger per service; children carry component names. */
export function createLogger(name: string, level: string = 'info'): Logger {
  return pino({ name, level, base: { svc: name } }, destination({ dest: 2, sync: false }));
}

/**
 * Logs a given kind of event at most once per interval, then reports how many
 * were suppressed: garbage from the network must not flood the log.
 */
export function rateLimited(logger: Logger, intervalMs = 5000) {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (kind: string, fields: Record<string, unknown>, message: string): void => {
    const now = Date.now();
    const seen = last.get(kind);
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    last.set(kind, { at: now, suppressed: 0 });
    logger.warn({ kind, ...fields, ...(suppressed ? { suppressed } : {}) }, message);
  };
}
