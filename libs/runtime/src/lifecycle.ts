import type { Logger } from './log.js';

/**
 * A composition root's stop list: components register how to stop as they
 * start, and stop runs them in reverse order (dependents before dependencies).
 */
export class Lifecycle {
  private readonly stops: { name: string; fn: () => Promise<void> | void }[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  onStop(name: string, fn: () => Promise<void> | void): void {
    this.stops.push({ name, fn });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const { name, fn } of [...this.stops].reverse()) {
        try {
          await fn();
        } catch (e) {
          this.log.error({ err: String(e), component: name }, 'error while stopping');
        }
      }
    })();
    return this.stopping;
  }

  /**
   * Resolves with exit code 0 after SIGTERM/SIGINT has stopped everything
   * (a second signal exits at once), or 1 if stopping takes over `graceMs`.
   */
  untilSignal(graceMs = 25_000): Promise<number> {
    return new Promise((resolve) => {
      const onSignal = (sig: string) => {
        if (this.stopping) process.exit(130);
        this.log.info({ signal: sig }, 'stopping');
        const t = setTimeout(() => {
          this.log.error('stop took too long');
          resolve(1);
        }, graceMs);
        t.unref();
        void this.stop().then(() => {
          clearTimeout(t);
          resolve(0);
        });
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
    });
  }
}
