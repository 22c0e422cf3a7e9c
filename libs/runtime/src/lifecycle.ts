import type { Logger } from './log.js';

const stoppingProcess = new AbortController();

/**
 * Aborted when SIGTERM/SIGINT reaches a `Lifecycle.untilSignal`: waits that
 * would hold a start up (connecting, retrying) give up on it. Signals belong
 * to the process, so this does too.
 */
export const processStopping: AbortSignal = stoppingProcess.signal;

/** Once `untilSignal` has its code, the process exits this long after even if handles stay open. */
const EXIT_FALLBACK_MS = 2000;

/**
 * A composition root's stop list: components register how to stop as they
 * start, and stop runs them in reverse order (dependents before dependencies).
 */
export class Lifecycle {
  private readonly stops: { name: string; fn: () => Promise<void> | void }[] = [];
  private stopping: Promise<void> | undefined;
  private starting: Promise<unknown> = Promise.resolve();
  private readonly aborter = new AbortController();
  private readonly handlers: [NodeJS.Signals, () => void][] = [];
  /** Aborted when stopping begins: a start still under way gives up. */
  readonly signal: AbortSignal = this.aborter.signal;

  constructor(private readonly log: Logger) {}

  onStop(name: string, fn: () => Promise<void> | void): void {
    this.stops.push({ name, fn });
  }

  /**
   * Marks `p` as the start under way: a stop begun meanwhile waits for it to
   * settle, so whatever it registered is stopped too.
   */
  whileStarting<T>(p: Promise<T>): Promise<T> {
    this.starting = p.catch(() => undefined);
    return p;
  }

  stop(): Promise<void> {
    this.aborter.abort();
    this.stopping ??= (async () => {
      await this.starting;
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
   * Handlers are installed at once, so call it before starting. Once it has
   * its code the process exits within EXIT_FALLBACK_MS even if something
   * (a socket, a reconnect timer) still holds the event loop.
   */
  untilSignal(graceMs = 25_000): Promise<number> {
    return new Promise((resolve) => {
      const done = (code: number) => {
        this.unwatch();
        setTimeout(() => process.exit(code), EXIT_FALLBACK_MS).unref();
        resolve(code);
      };
      const onSignal = (sig: NodeJS.Signals) => {
        if (this.stopping) process.exit(130);
        stoppingProcess.abort();
        this.log.info({ signal: sig }, 'stopping');
        const t = setTimeout(() => {
          this.log.error('stop took too long');
          done(1);
        }, graceMs);
        t.unref();
        void this.stop().then(() => {
          clearTimeout(t);
          done(0);
        });
      };
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        const h = () => onSignal(sig);
        this.handlers.push([sig, h]);
        process.on(sig, h);
      }
    });
  }

  /** Removes the signal handlers (a start that failed on its own). */
  unwatch(): void {
    for (const [sig, h] of this.handlers.splice(0)) process.off(sig, h);
  }
}
