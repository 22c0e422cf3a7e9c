import type { Registry } from '@kvroute/runtime';
import { Counter, Gauge, Histogram, LATENCY_BUCKETS } from '@kvroute/runtime';

export function routerMetrics(registry: Registry) {
  const r = [registry];
  return {
    decisions: new Counter({
      name: 'kvroute_router_decisions_total',
      help: 'routing decisions',
      labelNames: ['model', 'policy', 'pod'],
      registers: r,
    }),
    decisionSeconds: new Histogram({
      name: 'kvroute_router_decision_seconds',
      help: 'time to decide a route (tokenize, look up, pick)',
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    matchedBlocks: new Counter({
      name: 'kvroute_router_matched_blocks_total',
      help: 'request blocks the index confirmed cached on the chosen pod',
      labelNames: ['model'],
      registers: r,
    }),
    requestBlocks: new Counter({
      name: 'kvroute_router_request_blocks_total',
      help: 'full blocks of routed requests',
      labelNames: ['model'],
      registers: r,
    }),
    hitRatio: new Histogram({
      name: 'kvroute_router_predicted_hit_ratio',
      help: 'matched / total blocks per decision',
      buckets: [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1],
      labelNames: ['model'],
      registers: r,
    }),
    lookupTimeouts: new Counter({
      name: 'kvroute_router_lookup_timeouts_total',
      help: 'remote index: shards that timed out (kind=timeout) or had no live replica or responder (kind=missing); lookups with no indexer heard of (kind=no_indexers)',
      labelNames: ['kind'],
      registers: r,
    }),
    candidates: new Gauge({
      name: 'kvroute_router_candidates',
      help: 'live candidate pods at the last decision',
      labelNames: ['model'],
      registers: r,
    }),
    approximate: new Counter({
      name: 'kvroute_router_approximate_total',
      help: 'decisions made in approximate mode (no tokenizer)',
      labelNames: ['model'],
      registers: r,
    }),
    errors: new Counter({
      name: 'kvroute_router_errors_total',
      help: 'requests answered with an error',
      labelNames: ['status'],
      registers: r,
    }),
    ejections: new Counter({
      name: 'kvroute_router_pod_ejections_total',
      help: 'times a pod was ejected (no requests for a while) after refusing a connection',
      labelNames: ['pod'],
      registers: r,
    }),
    ejectedCandidates: new Gauge({
      name: 'kvroute_router_ejected_candidates',
      help: 'live pods left out of the candidates at the last decision because they are ejected',
      labelNames: ['model'],
      registers: r,
    }),
    allEjected: new Counter({
      name: 'kvroute_router_all_ejected_total',
      help: 'decisions made among ejected pods because every candidate was ejected',
      labelNames: ['model'],
      registers: r,
    }),
    upstream: new Counter({
      name: 'kvroute_router_upstream_total',
      help: 'gateway upstream outcomes',
      labelNames: ['outcome'],
      registers: r,
    }),
  };
}

export type RouterMetrics = ReturnType<typeof routerMetrics>;
