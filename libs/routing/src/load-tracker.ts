import type { Heartbeat, PodRole } from '@kvroute/protocol';
import type { PodLoad, PodState } from './types.js';

export interface RequestInfo {
  promptTokens: number;
  /** Prompt tokens the pod is expected to compute (not served from its cache). */
  uncachedTokens: number;
  expectedOutputTokens?: number;
}

/**
 * Per-router view of pod load: heartbeats plus the router's own accounting of
 * the requests it routed. Pure: the clock is injected, nothing runs by itself.
 *
 * Invariants: `live` is sorted by pod name; in-flight counters never go
 * negative; a request is counted at most once, from `requestStarted` until
 * `requestFinished` or until it is older than `maxRequestAgeMs` (callers of a
 * pick API may never report). All operations are O(1) amortised except `live`
 * (O(pods log pods)) and `models`, where pods are those held (see
 * `forgetAfterMs`), not every pod ever seen.
 */
export interface LoadTracker {
  /** Records a heartbeat; `state: 'leaving'` removes the pod at once. */
  heartbeat(h: Heartbeat): void;
  /** A pod from a static list: always live, never expires, until a `leaving` heartbeat. */
  addStatic(pod: string, model: string, role?: PodRole): void;
  /** Pods of `model` heard from within `staleAfterMs` (static pods always), sorted by name. */
  live(model: string): PodState[];
  requestStarted(pod: string, id: string, info: RequestInfo): void;
  /** Prefill done: the request's uncached tokens no longer count as pending prefill. */
  firstToken(id: string): void;
  /** Ends the request's accounting; also expires requests older than `maxRequestAgeMs`. */
  requestFinished(id: string): void;
  /** Models with at least one live pod, sorted. */
  models(): string[];
  /**
   * Pods held in memory: live, stale-but-not-yet-forgotten, static, and pods
   * known only from requests routed to them. O(1); for a gauge.
   */
  trackedPods(): number;
}

export interface LoadTrackerOptions {
  now: () => number;
  /** A pod missing heartbeats this long drops out of `live` (default 3000). */
  staleAfterMs?: number;
  /**
   * A non-static pod missing heartbeats this long, with no request of this
   * router in flight, is forgotten (default 10 × staleAfterMs): pods that die
   * without a `leaving` heartbeat would otherwise stay in memory and in every
   * `live` scan for good. Long enough that a pod merely restarting or briefly
   * cut off keeps its entry; a forgotten pod that speaks again starts afresh.
   * Raised to staleAfterMs if below it.
   */
  forgetAfterMs?: number;
  /** Requests never reported finished are forgotten after this long (default 600 000). */
  maxRequestAgeMs?: number;
}

interface Accounting {
  inFlight: number;
  inFlightPrefillTokens: number;
  inFlightPrefilling: number;
  inFlightTokens: number;
}

interface PodEntry extends Accounting {
  load: PodLoad;
  isStatic: boolean;
}

interface Tracked {
  pod: string;
  startedMs: number;
  uncached: number;
  tokens: number;
  prefilling: boolean;
}

export function createLoadTracker(options: LoadTrackerOptions): LoadTracker {
  const now = options.now;
  const staleAfterMs = options.staleAfterMs ?? 3000;
  const forgetAfterMs = Math.max(staleAfterMs, options.forgetAfterMs ?? 10 * staleAfterMs);
  const maxRequestAgeMs = options.maxRequestAgeMs ?? 600_000;
  const pods = new Map<string, PodEntry>();
  // Insertion order is start order (the clock never goes back), so expiry scans from the front.
  const requests = new Map<string, Tracked>();
  // Accounting for pods not (yet, or no longer) known from heartbeats.
  const orphan = new Map<string, Accounting>();

  const zero = (): Accounting => ({
    inFlight: 0,
    inFlightPrefillTokens: 0,
    inFlightPrefilling: 0,
    inFlightTokens: 0,
  });

  function accountOf(pod: string): Accounting {
    const e = pods.get(pod);
    if (e) return e;
    let a = orphan.get(pod);
    if (!a) orphan.set(pod, (a = zero()));
    return a;
  }

  function ensure(pod: string, model: string, role: PodRole, isStatic: boolean): PodEntry {
    let e = pods.get(pod);
    if (!e) {
      const acc = orphan.get(pod) ?? zero();
      orphan.delete(pod);
      e = {
        ...acc,
        isStatic,
        load: {
          pod,
          model,
          role,
          waiting: 0,
          running: 0,
          kvUsage: 0,
          capacityBlocks: 0,
          blockSize: 0,
          lastHeartbeatMs: 0,
        },
      };
      pods.set(pod, e);
    }
    return e;
  }

  function release(t: Tracked): void {
    const a = accountOf(t.pod);
    a.inFlight = Math.max(0, a.inFlight - 1);
    a.inFlightTokens = Math.max(0, a.inFlightTokens - t.tokens);
    if (t.prefilling) {
      a.inFlightPrefilling = Math.max(0, a.inFlightPrefilling - 1);
      a.inFlightPrefillTokens = Math.max(0, a.inFlightPrefillTokens - t.uncached);
    }
  }

  function expire(): void {
    const cutoff = now() - maxRequestAgeMs;
    for (const [id, t] of requests) {
      if (t.startedMs > cutoff) break;
      requests.delete(id);
      release(t);
      forgetIdleOrphan(t.pod);
    }
  }

  function forgetIdleOrphan(pod: string): void {
    const a = orphan.get(pod);
    if (a && a.inFlight === 0) orphan.delete(pod);
  }

  /** Deletes the pod if forgotten (see `forgetAfterMs`); true if it was. Safe while iterating `pods`. */
  function forget(pod: string, e: PodEntry, t: number): boolean {
    if (e.isStatic || e.inFlight > 0 || t - e.load.lastHeartbeatMs <= forgetAfterMs) return false;
    pods.delete(pod);
    return true;
  }

  function isLive(e: PodEntry, t: number): boolean {
    return e.isStatic || t - e.load.lastHeartbeatMs <= staleAfterMs;
  }

  return {
    heartbeat(h) {
      if (h.state === 'leaving') {
        const e = pods.get(h.pod);
        if (e) {
          pods.delete(h.pod);
          // Requests still running there finish later; keep their accounting consistent.
          if (e.inFlight > 0) orphan.set(h.pod, { ...e });
        }
        return;
      }
      const e = ensure(h.pod, h.model, h.role, false);
      // Field by field: Object.assign here turned the record into a slow
      // dictionary-mode object, and live() copies it on every decision.
      const l = e.load;
      l.model = h.model;
      l.role = h.role;
      l.waiting = h.waiting;
      l.running = h.running;
      l.kvUsage = h.kvUsage;
      l.capacityBlocks = h.capacityBlocks;
      l.blockSize = h.blockSize;
      l.lastHeartbeatMs = now();
    },

    addStatic(pod, model, role = 'both') {
      const e = ensure(pod, model, role, true);
      e.isStatic = true;
      e.load.model = model;
      e.load.role = role;
    },

    live(model) {
      const t = now();
      const out: PodState[] = [];
      for (const [name, e] of pods) {
        if (forget(name, e, t) || e.load.model !== model || !isLive(e, t)) continue;
        const l = e.load;
        out.push({
          pod: l.pod,
          model: l.model,
          role: l.role,
          waiting: l.waiting,
          running: l.running,
          kvUsage: l.kvUsage,
          capacityBlocks: l.capacityBlocks,
          blockSize: l.blockSize,
          lastHeartbeatMs: l.lastHeartbeatMs,
          inFlight: e.inFlight,
          inFlightPrefillTokens: e.inFlightPrefillTokens,
          inFlightPrefilling: e.inFlightPrefilling,
          inFlightTokens: e.inFlightTokens,
        });
      }
      return out.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
    },

    requestStarted(pod, id, info) {
      expire();
      const old = requests.get(id);
      if (old) {
        requests.delete(id);
        release(old);
      }
      const uncached = Math.max(0, info.uncachedTokens);
      const tokens = Math.max(0, info.promptTokens) + Math.max(0, info.expectedOutputTokens ?? 0);
      const t: Tracked = { pod, startedMs: now(), uncached, tokens, prefilling: true };
      requests.set(id, t);
      const a = accountOf(pod);
      a.inFlight++;
      a.inFlightTokens += tokens;
      a.inFlightPrefilling++;
      a.inFlightPrefillTokens += uncached;
    },

    firstToken(id) {
      const t = requests.get(id);
      if (!t || !t.prefilling) return;
      t.prefilling = false;
      const a = accountOf(t.pod);
      a.inFlightPrefilling = Math.max(0, a.inFlightPrefilling - 1);
      a.inFlightPrefillTokens = Math.max(0, a.inFlightPrefillTokens - t.uncached);
    },

    requestFinished(id) {
      const t = requests.get(id);
      if (t) {
        requests.delete(id);
        release(t);
        forgetIdleOrphan(t.pod);
      }
      expire();
    },

    models() {
      const t = now();
      const set = new Set<string>();
      for (const [name, e] of pods) if (!forget(name, e, t) && isLive(e, t)) set.add(e.load.model);
      return [...set].sort();
    },

    trackedPods() {
      return pods.size + orphan.size;
    },
  };
}
