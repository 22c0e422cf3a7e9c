export interface PodHealthOptions {
  /** Ejection after the first connect failure; doubles per consecutive failure. 0 disables. */
  baseMs: number;
  /** Longest ejection. */
  maxMs: number;
  now: () => number;
}

interface Ejection {
  /** Consecutive connect failures. */
  failures: number;
  /** The pod gets no request before this time. */
  untilMs: number;
  /** Half-open: while a probe is under way (until this time) no other request goes there. */
  probeUntilMs: number;
}

/** Ejection records of pods that recovered or left long ago are pruned past this many. */
const PRUNE_AT = 1024;

/**
 * A circuit breaker per pod address, fed by the gateway's connection attempts.
 * A connect failure ejects the pod for `baseMs · 2^(failures−1)` (capped at
 * `maxMs`); once that passes the pod is half-open: one request at a time may
 * probe it, and the first connection that succeeds closes the breaker. A pod
 * that refuses connections would otherwise stay first choice for the prefixes
 * it holds (static pods are always live; heartbeats may outlive the engine).
 *
 * O(1) per call; memory: one record per pod with a recent failure.
 */
export class PodHealth {
  private readonly ejections = new Map<string, Ejection>();

  constructor(private readonly options: PodHealthOptions) {}

  /** No pod has ever failed (or every record is gone): everything is admitted. */
  get empty(): boolean {
    return this.ejections.size === 0;
  }

  /** Whether a request may go to `pod` now (not ejected, and no half-open probe under way). */
  admits(pod: string): boolean {
    const e = this.ejections.get(pod);
    if (!e) return true;
    const t = this.options.now();
    return t >= e.untilMs && t >= e.probeUntilMs;
  }

  /**
   * The gateway is connecting to `pod`. Past its ejection this is the half-open probe: other
   * requests stay away for `holdMs` (the connect timeout) or until the outcome is reported.
   */
  attempt(pod: string, holdMs: number): void {
    const e = this.ejections.get(pod);
    if (e && this.options.now() >= e.untilMs) e.probeUntilMs = this.options.now() + holdMs;
  }

  /** Connecting failed: ejects the pod (longer each time). Returns the ejection in ms (0: off). */
  failed(pod: string): number {
    const { baseMs, maxMs, now } = this.options;
    if (baseMs <= 0) return 0;
    const t = now();
    let e = this.ejections.get(pod);
    if (!e) {
      if (this.ejections.size >= PRUNE_AT) this.prune(t);
      e = { failures: 0, untilMs: 0, probeUntilMs: 0 };
      this.ejections.set(pod, e);
    }
    e.failures++;
    const ms = Math.min(maxMs, baseMs * 2 ** Math.min(30, e.failures - 1));
    e.untilMs = t + ms;
    e.probeUntilMs = 0;
    return ms;
  }

  /** A connection was made: the pod is healthy again. */
  reached(pod: string): void {
    this.ejections.delete(pod);
  }

  /** Pods ejected right now, with the ms left. */
  ejected(): Map<string, number> {
    const t = this.options.now();
    const out = new Map<string, number>();
    for (const [pod, e] of this.ejections) if (e.untilMs > t) out.set(pod, e.untilMs - t);
    return out;
  }

  private prune(t: number): void {
    for (const [pod, e] of this.ejections)
      if (t - e.untilMs > this.options.maxMs) this.ejections.delete(pod);
  }
}
