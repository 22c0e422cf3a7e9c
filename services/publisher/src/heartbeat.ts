import type { Heartbeat, PodRole } from '@kvroute/protocol';
import { encodeHeartbeat, subjects } from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import type { EngineLoad } from './engine-load.js';
import { EngineLoadError, readEngineLoad } from './engine-load.js';
import { PromParseError } from './prom-text.js';

class HttpStatusError extends Error {
  override name = 'HttpStatusError';
}

function failureReason(e: unknown, aborted: boolean): string {
  if (aborted) return 'timeout';
  if (e instanceof PromParseError) return 'parse';
  if (e instanceof EngineLoadError) return 'not-vllm';
  if (e instanceof HttpStatusError) return 'http-status';
  return 'connect';
}

export interface HeartbeatOptions {
  pod: string;
  model: string;
  role: PodRole;
  intervalMs: number;
  /** The engine's Prometheus page; without it load is reported as zeros. */
  metricsUrl: string | undefined;
  scrapeTimeoutMs: number;
  /** Block size announced until the engine reports one. */
  defaultBlockSize: number;
}

/** What the heartbeat reads from the rest of the publisher. */
export interface HeartbeatSource {
  epoch(): string;
  lastSeq(): number;
  /** Block size seen in the engine's events, 0 before any. */
  blockSizeSeen(): number;
  /** Whether the engine's event socket is connected (the engine process is there). */
  engineConnected(): boolean;
}

export interface HeartbeatStats {
  sent(state: Heartbeat['state']): void;
  scrapeFailed(reason: string, err: unknown): void;
}

/** Consecutive failed scrapes after which the pod stops heartbeating. */
const FAILED_SCRAPES = 2;

/**
 * Publishes the pod's heartbeat every `intervalMs` and, when a metrics URL is
 * set, scrapes the engine on the same beat (one scrape in flight at a time;
 * each heartbeat carries the latest result). The heartbeat doubles as the
 * engine's liveness: after FAILED_SCRAPES failed scrapes in a row, or no good
 * scrape for 2 intervals + one timeout, heartbeats stop until the engine
 * answers again, so routers drop the pod. Without a metrics URL the engine's
 * ZMQ connection stands in: heartbeats stop once it has been down for as long
 * (2 intervals + one scrape timeout, so a quick reconnect does not flap).
 * Nothing is sent while the bus is disconnected (a stale heartbeat is worse
 * than none).
 */
export class Heartbeater {
  private timer: NodeJS.Timeout | undefined;
  private load: EngineLoad | undefined;
  private failures = 0;
  private lastOkAt = 0;
  /** Last time the engine's socket was seen connected (start counts: it is connecting). */
  private lastLinkedAt = 0;
  private inFlight: AbortController | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly o: HeartbeatOptions,
    private readonly source: HeartbeatSource,
    private readonly stats: HeartbeatStats,
  ) {}

  /** Whether the engine answers its metrics page, or without one, holds its event socket. */
  get engineUp(): boolean {
    const staleMs = 2 * this.o.intervalMs + this.o.scrapeTimeoutMs;
    const now = Date.now();
    if (this.o.metricsUrl === undefined) {
      if (this.source.engineConnected()) this.lastLinkedAt = now;
      return this.lastLinkedAt > 0 && now - this.lastLinkedAt <= staleMs;
    }
    return this.failures < FAILED_SCRAPES && this.lastOkAt > 0 && now - this.lastOkAt <= staleMs;
  }

  start(): void {
    this.lastLinkedAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.o.intervalMs);
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
  }

  /** The last word: routers remove the pod at once. */
  leaving(): void {
    this.send('leaving');
  }

  private tick(): void {
    if (this.o.metricsUrl !== undefined && !this.inFlight) void this.scrape(this.o.metricsUrl);
    if (this.engineUp) this.send('up');
  }

  private async scrape(url: string): Promise<void> {
    const ac = new AbortController();
    this.inFlight = ac;
    const timer = setTimeout(() => ac.abort(), this.o.scrapeTimeoutMs);
    try {
      const res = await fetch(url, { signal: ac.signal, headers: { accept: 'text/plain' } });
      const body = await res.text();
      if (!res.ok) throw new HttpStatusError(`HTTP ${res.status}`);
      this.load = readEngineLoad(body);
      this.failures = 0;
      this.lastOkAt = Date.now();
    } catch (e) {
      if (this.timer === undefined) return; // stopped
      this.failures++;
      this.stats.scrapeFailed(failureReason(e, ac.signal.aborted), e);
    } finally {
      clearTimeout(timer);
      this.inFlight = undefined;
    }
  }

  private send(state: Heartbeat['state']): void {
    if (!this.bus.isConnected()) return;
    const l = this.load;
    const seen = this.source.blockSizeSeen();
    const hb: Heartbeat = {
      pod: this.o.pod,
      model: this.o.model,
      role: this.o.role,
      epoch: this.source.epoch(),
      ts: Date.now(),
      state,
      waiting: l?.waiting ?? 0,
      running: l?.running ?? 0,
      kvUsage: l?.kvUsage ?? 0,
      blockSize: l?.blockSize || seen || this.o.defaultBlockSize,
      capacityBlocks: l?.capacityBlocks ?? 0,
      lastSeq: this.source.lastSeq(),
      intervalMs: this.o.intervalMs,
    };
    try {
      this.bus.publish(subjects.load(this.o.model, this.o.pod), encodeHeartbeat(hb));
      this.stats.sent(state);
    } catch {
      // A closed bus: nobody to tell.
    }
  }
}
