import { randomUUID } from 'node:crypto';
import type { KeySeq } from '@kvroute/block-keys';
import { decodeHeartbeat, subjects } from '@kvroute/protocol';
import type { LoadTracker, MatchDepth, Policy, PodState, RequestInfo } from '@kvroute/routing';
import { createLoadTracker, createPolicy, TTFT_DEFAULTS } from '@kvroute/routing';
import type { BusSubscription } from '@kvroute/runtime';
import { rateLimited } from '@kvroute/runtime';
import { IndexReplica } from '@kvroute/runtime/replica';
import type { ModelSettings } from './config.js';
import { checkStaticPods, routerSettings } from './config.js';
import { RouteError } from './errors.js';
import type { RouterMetrics } from './metrics.js';
import { routerMetrics } from './metrics.js';
import { PodHealth } from './pod-health.js';
import { RemoteIndex } from './remote-index.js';
import type { RouteRequest } from './request-body.js';
import type { RouteResult, RouterDeps } from './router-types.js';
import { routeTokens } from './route-tokens.js';
import { SentRecord } from './sent-record.js';

export type { RouteResult, RouterDeps, RouterOptions } from './router-types.js';

/** A request never reported finished leaves the in-flight accounting after this long. */
const MAX_REQUEST_AGE_MS = 600_000;

/** Bound on remembered model names (a fleet has a handful; a misconfigured one must not grow it). */
const MAX_SEEN_MODELS = 10_000;

/**
 * The routing core shared by the pick API and the gateway: tokens → block keys
 * → per-pod matches (embedded replica or remote shards, plus speculative
 * entries) → policy → decision, with the router's own in-flight accounting.
 */
export class Router {
  readonly tracker: LoadTracker;
  readonly metrics: RouterMetrics;
  readonly replica: IndexReplica | null;
  private readonly remote: RemoteIndex | null;
  /** Connect failures reported by the gateway: ejected pods are no candidates for a while. */
  readonly health: PodHealth;
  /**
   * Where this router sent which prefix: approximate-mode records, and speculative entries
   * when there is no embedded replica (whose own index holds them otherwise).
   */
  private readonly sent: SentRecord;
  /** Pods whose speculative entries in the replica are ignored until then (a connect failure). */
  private readonly distrust = new Map<string, number>();
  private readonly policies = new Map<string, Policy>();
  /**
   * Models ever heard of in heartbeats: once all their pods go quiet they answer 503 (no live
   * pods), not 404 — the tracker forgets silent pods, and remote mode has no index to ask.
   */
  private readonly seenModels = new Set<string>();
  private readonly subs: BusSubscription[] = [];
  private readonly now: () => number;
  private readonly warn: ReturnType<typeof rateLimited>;
  private started = false;

  constructor(private readonly deps: RouterDeps) {
    this.now = deps.now ?? Date.now;
    this.tracker = createLoadTracker({
      now: this.now,
      staleAfterMs: deps.options.podTimeoutMs,
      maxRequestAgeMs: MAX_REQUEST_AGE_MS,
    });
    this.metrics = routerMetrics(deps.registry);
    this.warn = rateLimited(deps.log);
    const { bus, options } = deps;
    this.health = new PodHealth({
      baseMs: options.ejectionTimeMs ?? (routerSettings.ejectionTime.default as number),
      maxMs: options.maxEjectionTimeMs ?? (routerSettings.maxEjectionTime.default as number),
      now: this.now,
    });
    this.sent = new SentRecord(options.memoryBudgetBytes, this.now);
    this.replica =
      bus && options.index === 'embedded'
        ? new IndexReplica(
            bus,
            {
              memoryBudgetBytes: options.memoryBudgetBytes,
              podTimeoutMs: options.podTimeoutMs,
              snapshotTimeoutMs: 5000,
              metricsPrefix: 'kvroute_router_index',
            },
            deps.log,
            deps.registry,
            this.now,
          )
        : null;
    this.remote =
      bus && options.index === 'remote'
        ? new RemoteIndex(bus, options.lookupTimeoutMs, deps.log, this.now)
        : null;
    checkStaticPods(deps.config.models, 'router config');
    for (const [model, s] of Object.entries(deps.config.models))
      for (const pod of s.pods) this.tracker.addStatic(pod, model);
  }

  start(): void {
    const bus = this.deps.bus;
    if (bus) {
      this.subs.push(
        bus.subscribe(subjects.allLoad(), (m) => {
          try {
            const hb = decodeHeartbeat(m.data);
            this.tracker.heartbeat(hb);
            if (this.seenModels.size < MAX_SEEN_MODELS) this.seenModels.add(hb.model);
          } catch (err) {
            this.warn(
              'bad-heartbeat',
              { err: String(err) },
              'dropped a heartbeat that does not decode',
            );
          }
        }),
      );
    }
    this.replica?.start();
    this.remote?.start();
    this.started = true;
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    await this.replica?.stop();
    this.remote?.stop();
    this.started = false;
  }

  ready(): boolean {
    if (!this.started) return false;
    if (this.deps.bus && !this.deps.bus.isConnected()) return false;
    if (this.replica) return this.replica.ready();
    if (this.remote) return this.remote.ready();
    return true;
  }

  settings(model: string): ModelSettings {
    const { models, defaults } = this.deps.config;
    // Own keys only: a request naming "constructor" must not find Object's.
    return Object.hasOwn(models, model) ? models[model]! : defaults;
  }

  /** Models that can take requests now (a live pod), and models configured. */
  models(): { live: string[]; configured: string[] } {
    return { live: this.tracker.models(), configured: Object.keys(this.deps.config.models).sort() };
  }

  private policy(model: string): Policy {
    let p = this.policies.get(model);
    if (!p) {
      p = createPolicy(this.settings(model).policy, { seed: this.deps.options.seed ?? 1 });
      this.policies.set(model, p);
    }
    return p;
  }

  /**
   * Decides where one request goes. Throws RouteError for requests that cannot be routed.
   * `lifetime: 'estimated'` (the pick API, whose callers may never report back) ends the
   * request's in-flight accounting after its estimated prefill and generation time unless
   * `/v1/route/done` ends it sooner; the gateway tracks the real lifetime.
   */
  async route(
    req: RouteRequest,
    explain = false,
    lifetime: 'tracked' | 'estimated' = 'tracked',
  ): Promise<RouteResult> {
    const t0 = performance.now();
    const model = req.model;
    let live = this.tracker.live(model).filter((p) => p.role !== 'decode');
    if (live.length === 0) {
      const known =
        Object.hasOwn(this.deps.config.models, model) ||
        this.seenModels.has(model) ||
        this.replica?.model(model) !== undefined;
      if (!known)
        throw new RouteError(
          404,
          `unknown model ${JSON.stringify(model)}: no pod serves it`,
          'invalid_request_error',
          'model_not_found',
        );
      throw new RouteError(
        503,
        `no live pods for model ${JSON.stringify(model)}`,
        'service_unavailable',
        'no_live_pods',
      );
    }
    if (req.candidates) {
      const allowed = new Set(req.candidates);
      live = live.filter((p) => allowed.has(p.pod));
      if (live.length === 0)
        throw new RouteError(
          503,
          'none of the given candidates is a live pod of this model',
          'service_unavailable',
          'no_live_candidates',
        );
    }
    live = this.admitted(model, live);
    this.metrics.candidates.set({ model }, live.length);
    const { ids, mode, promptTokens } = routeTokens(
      req,
      this.deps.tokenizers.get(model) ?? this.deps.defaultTokenizer,
      this.deps.options.routeMaxTokens ?? (routerSettings.routeMaxTokens.default as number),
    );
    const blockSize =
      live.find((p) => p.blockSize > 0)?.blockSize ?? this.settings(model).blockSize;
    const keys: KeySeq = this.deps.keyer.prefixKeys(
      { model, lora: req.lora, salt: req.cacheSalt },
      ids,
      blockSize,
    );
    const totalBlocks = keys.length / 2;
    const candidates = live.map((p) => p.pod);

    const matches = new Map<string, MatchDepth>();
    let partial = false;
    const inReplica = mode === 'tokens' && this.replica !== null;
    if (inReplica) {
      for (const m of this.replica!.lookup(model, keys, candidates, true).matches) {
        const speculative = this.distrusted(m.pod) ? m.total : m.speculative;
        matches.set(m.pod, { gpu: m.gpu, total: m.total, speculative });
      }
    } else if (mode === 'tokens' && this.remote) {
      const r = await this.remote.lookup(model, keys, candidates);
      if (r.timedOut.length > 0)
        this.metrics.lookupTimeouts.inc({ kind: 'timeout' }, r.timedOut.length);
      if (r.missing.length > 0)
        this.metrics.lookupTimeouts.inc({ kind: 'missing' }, r.missing.length);
      if (r.noIndexers) this.metrics.lookupTimeouts.inc({ kind: 'no_indexers' });
      partial = r.noIndexers || r.timedOut.length + r.missing.length > 0;
      for (const [pod, m] of r.matches)
        matches.set(pod, { gpu: m.gpu, total: m.total, speculative: m.total });
    }
    // Confirmed blocks plus where this router sent the prefix: the longer run counts.
    if (!inReplica) {
      for (const m of this.sent.lookup(model, keys, candidates)) {
        if (m.speculative === 0) continue;
        const prev = matches.get(m.pod) ?? { gpu: 0, total: 0, speculative: 0 };
        if (m.speculative > prev.speculative)
          matches.set(m.pod, { ...prev, speculative: m.speculative });
      }
    }

    // max_tokens bounds the output; most answers stop well before it (and clients send huge ones).
    const expectedOutputTokens = Math.min(
      req.maxTokens ?? Infinity,
      this.settings(model).expectedOutputTokens,
    );
    const decision = this.policy(model).pick(
      {
        model,
        blockSize,
        promptTokens,
        totalBlocks,
        matches,
        keys,
        expectedOutputTokens,
      },
      live,
      explain,
    );
    const chosen = matches.get(decision.pod);
    const matchedBlocks = mode === 'tokens' ? Math.min(totalBlocks, chosen?.total ?? 0) : 0;
    const approximateBlocks =
      mode === 'approximate' ? Math.min(totalBlocks, chosen?.speculative ?? 0) : 0;

    // The chosen pod will hold this prefix in a moment; say so before its events arrive.
    this.mark(model, decision.pod, keys, mode);
    const cachedBlocks = Math.max(matchedBlocks, approximateBlocks, chosen?.speculative ?? 0);
    const requestId = randomUUID();
    const info: RequestInfo = {
      promptTokens,
      uncachedTokens: Math.max(1, promptTokens - Math.min(totalBlocks, cachedBlocks) * blockSize),
      expectedOutputTokens,
    };
    this.tracker.requestStarted(decision.pod, requestId, info);
    if (lifetime === 'estimated') this.expireLater(requestId, info);

    this.metrics.decisions.inc({ model, policy: decision.policy, pod: decision.pod });
    if (mode === 'approximate') {
      // Pseudo-blocks are not engine blocks: kept out of the hit-ratio series.
      this.metrics.approximate.inc({ model });
    } else {
      this.metrics.requestBlocks.inc({ model }, totalBlocks);
      this.metrics.matchedBlocks.inc({ model }, matchedBlocks);
      if (totalBlocks > 0) this.metrics.hitRatio.observe({ model }, matchedBlocks / totalBlocks);
    }
    this.metrics.decisionSeconds.observe((performance.now() - t0) / 1000);
    return {
      decision,
      requestId,
      model,
      mode,
      promptTokens,
      totalBlocks,
      matchedBlocks,
      approximateBlocks,
      partial,
      info,
      keys,
      stream: req.stream === true,
      ...(decision.scores ? { scores: decision.scores } : {}),
    };
  }

  /** Candidates not ejected; all of them when every one is (the gateway still tries them). */
  private admitted(model: string, live: PodState[]): PodState[] {
    if (this.health.empty) {
      this.metrics.ejectedCandidates.set({ model }, 0);
      return live;
    }
    const ok = live.filter((p) => this.health.admits(p.pod));
    this.metrics.ejectedCandidates.set({ model }, live.length - ok.length);
    if (ok.length > 0) return ok;
    this.metrics.allEjected.inc({ model });
    return live;
  }

  /**
   * How long a routed prefix is recorded on the pod it went to: until an index can confirm
   * it (the speculative TTL), or — approximate mode, or static pods with neither replica nor
   * remote index — the long "where I sent it" lifetime, the only affinity there is.
   */
  private recordTtlMs(mode: 'tokens' | 'approximate'): number {
    const { approximateTtlMs = 600_000, speculativeTtlMs } = this.deps.options;
    return mode === 'approximate' || (!this.replica && !this.remote)
      ? approximateTtlMs
      : speculativeTtlMs;
  }

  /**
   * Connecting to `pod` failed: eject it, and forget what was recorded as sent there (it
   * holds none of it: it never got this request, and an engine that restarted starts cold).
   */
  unreachable(result: RouteResult, pod: string): void {
    if (this.health.failed(pod) > 0) this.metrics.ejections.inc({ pod });
    this.sent.forget(result.model, pod);
    // The replica's index has no per-pod removal of speculative entries: ignore them until the
    // last one made before now has expired.
    if (this.replica) this.distrust.set(pod, this.now() + this.deps.options.speculativeTtlMs);
  }

  /** Whether the pod's speculative entries in the replica predate a connect failure. */
  private distrusted(pod: string): boolean {
    const until = this.distrust.get(pod);
    if (until === undefined) return false;
    if (this.now() < until) return true;
    this.distrust.delete(pod);
    return false;
  }

  /**
   * Marks `keys` as about to be cached on `pod`: in the embedded replica's index when it has
   * one (keys the pod already holds cost nothing there), else in the router's own record.
   */
  private mark(model: string, pod: string, keys: KeySeq, mode: 'tokens' | 'approximate'): void {
    const ttl = this.recordTtlMs(mode);
    if (mode === 'approximate' || !this.replica) this.sent.mark(model, pod, keys, ttl);
    else if (ttl > 0 && keys.length > 0)
      this.replica.model(model)?.index.addSpeculative(pod, keys, ttl);
  }

  /** The gateway is connecting to `pod` (for an ejected pod, its one half-open probe). */
  connecting(pod: string, holdMs: number): void {
    this.health.attempt(pod, holdMs);
  }

  /** The gateway got a connection to `pod`: it is healthy. */
  reached(pod: string): void {
    this.health.reached(pod);
  }

  /** The gateway tries the request on another pod: its accounting and its prefix record go there. */
  moved(result: RouteResult, pod: string): void {
    this.tracker.requestFinished(result.requestId);
    const info = { ...result.info, uncachedTokens: result.info.promptTokens };
    this.tracker.requestStarted(pod, result.requestId, info);
    this.mark(result.model, pod, result.keys, result.mode);
  }

  /** Estimated prefill time of a request, at most the tracker's own bound. */
  private prefillMs(info: RequestInfo): number {
    const p = TTFT_DEFAULTS;
    return Math.min(MAX_REQUEST_AGE_MS, info.uncachedTokens * p.prefillMsPerToken + p.stepMs);
  }

  /**
   * A non-streamed answer comes whole at the end, so the gateway cannot see prefill end:
   * the request stops counting as prefilling after its estimated prefill time.
   */
  prefillEndsLater(result: RouteResult): void {
    const id = result.requestId;
    setTimeout(() => this.tracker.firstToken(id), this.prefillMs(result.info)).unref();
  }

  /**
   * Ends a pick-API request's accounting after its estimated prefill and generation time,
   * at most the tracker's own bound (a timer past 2^31 − 1 ms would fire at once).
   */
  private expireLater(id: string, info: RequestInfo): void {
    const p = TTFT_DEFAULTS;
    const prefillMs = this.prefillMs(info);
    const totalMs = Math.min(
      MAX_REQUEST_AGE_MS,
      prefillMs + (info.expectedOutputTokens ?? 0) * p.stepMs,
    );
    setTimeout(() => this.tracker.firstToken(id), prefillMs).unref();
    setTimeout(() => this.tracker.requestFinished(id), totalMs).unref();
  }

  firstToken(requestId: string): void {
    this.tracker.firstToken(requestId);
  }

  finished(requestId: string): void {
    this.tracker.requestFinished(requestId);
  }
}
