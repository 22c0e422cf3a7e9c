import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { deployDir } from './helpers/paths.js';

// The metrics the services export (their contract), with their own labels.
const metrics: Record<string, string[]> = {
  kvroute_router_decisions_total: ['model', 'policy', 'pod'],
  kvroute_router_decision_seconds: [],
  kvroute_router_matched_blocks_total: ['model'],
  kvroute_router_request_blocks_total: ['model'],
  kvroute_router_lookup_timeouts_total: [],
  kvroute_router_candidates: ['model'],
  kvroute_publisher_events_in_total: ['type'],
  kvroute_publisher_batches_out_total: [],
  kvroute_publisher_decode_errors_total: ['reason'],
  kvroute_publisher_gaps_total: [],
  kvroute_publisher_replays_total: [],
  kvroute_publisher_replay_failures_total: [],
  kvroute_publisher_lag_seconds: [],
  kvroute_publisher_snapshots_served_total: [],
  kvroute_publisher_blocks: ['tier'],
  kvroute_indexer_batches_total: [],
  kvroute_indexer_event_lag_seconds: [],
  kvroute_indexer_gaps_total: [],
  kvroute_indexer_resyncs_total: [],
  kvroute_indexer_memory_bytes: [],
  kvroute_indexer_budget_bytes: [],
  kvroute_indexer_blocks: ['tier'],
  kvroute_indexer_lookups_total: [],
  kvroute_indexer_evictions_total: [],
  // prom-client's default process metrics
  process_resident_memory_bytes: [],
  process_cpu_seconds_total: [],
  nodejs_eventloop_lag_p99_seconds: [],
};
const histograms = [
  'kvroute_router_decision_seconds',
  'kvroute_publisher_lag_seconds',
  'kvroute_indexer_event_lag_seconds',
];
// Labels Prometheus attaches to every scraped series.
const targetLabels = ['job', 'pod', 'namespace', 'instance', 'service', 'container'];

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(
  readFileSync(join(deployDir, 'kubernetes/components/monitoring/dashboards/kvroute.json'), 'utf8'),
) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
const queries = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);

/** The metric and label names an expression uses, and where it fails to parse. */
function analyse(expr: string) {
  // Grafana substitutes its variables before Prometheus sees the query.
  const text = expr.replaceAll('$__rate_interval', '1m').replaceAll('$model', '.*');
  const used = { metrics: new Set<string>(), labels: new Set<string>(), errors: [] as number[] };
  parser.parse(text).iterate({
    enter: (n) => {
      if (n.type.isError) used.errors.push(n.from);
      const value = text.slice(n.from, n.to);
      if (n.type.name === 'Identifier' && n.node.parent?.type.name === 'VectorSelector')
        used.metrics.add(value);
      if (n.type.name === 'LabelName') used.labels.add(value);
    },
  });
  return used;
}

const base = (m: string) => {
  for (const h of histograms)
    if (m === `${h}_bucket` || m === `${h}_sum` || m === `${h}_count`) return h;
  return m;
};

describe('Grafana dashboard', () => {
  it('has queries that parse as PromQL and use only exported metrics and their labels', () => {
    expect(queries.length).toBeGreaterThan(15);
    for (const q of queries) {
      const used = analyse(q.expr);
      expect(used.errors, `${q.panel}: ${q.expr}`).toEqual([]);
      expect(used.metrics.size, q.expr).toBeGreaterThan(0);
      const allowed = new Set([...targetLabels]);
      for (const m of used.metrics) {
        const name = base(m);
        expect(Object.keys(metrics), `${q.panel}: unknown metric ${m}`).toContain(name);
        for (const l of metrics[name]!) allowed.add(l);
        if (name !== m) allowed.add('le');
      }
      for (const l of used.labels)
        expect([...allowed], `${q.panel}: label ${l} in ${q.expr}`).toContain(l);
    }
  });

  it('covers hit ratio, decisions per pod, decision latency, event lag, gaps/resyncs and index memory', () => {
    const uses = (...names: string[]) =>
      queries.some((q) => names.every((n) => analyse(q.expr).metrics.has(n)));
    expect(uses('kvroute_router_matched_blocks_total', 'kvroute_router_request_blocks_total')).toBe(
      true,
    );
    expect(
      queries.some((q) => /sum by \(pod\) \(rate\(kvroute_router_decisions_total/.test(q.expr)),
    ).toBe(true);
    expect(uses('kvroute_router_decision_seconds_bucket')).toBe(true);
    expect(uses('kvroute_publisher_lag_seconds_bucket')).toBe(true);
    expect(uses('kvroute_indexer_event_lag_seconds_bucket')).toBe(true);
    for (const m of [
      'kvroute_publisher_gaps_total',
      'kvroute_indexer_gaps_total',
      'kvroute_indexer_resyncs_total',
    ]) {
      expect(uses(m), m).toBe(true);
    }
    expect(uses('kvroute_indexer_memory_bytes')).toBe(true);
    expect(uses('kvroute_indexer_budget_bytes')).toBe(true);
  });

  it('defines the variables its queries use', () => {
    const vars = dashboard.templating.list.map((v) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['datasource', 'model']));
    expect(queries.some((q) => q.expr.includes('$model'))).toBe(true);
  });

  it('rejects a query with a typo (the check can fail)', () => {
    expect(analyse('sum(rate(kvroute_router_decisions_total[1m])').errors.length).toBeGreaterThan(
      0,
    );
    expect(Object.keys(metrics)).not.toContain(
      base([...analyse('kvroute_router_decision_total').metrics][0]!),
    );
  });
});
