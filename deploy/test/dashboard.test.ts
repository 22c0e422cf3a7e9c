import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployDir } from './helpers/paths.js';
import { exportedSeries, type Series } from './helpers/service-metrics.js';

// The services' metrics, from their real registries: renaming a metric or a
// label in a service breaks the queries that use it, and this test.
let exported = new Map<string, Series>();
beforeAll(async () => {
  exported = await exportedSeries();
}, 60_000);

// Labels Prometheus attaches to every scraped series.
const targetLabels = ['job', 'pod', 'namespace', 'instance', 'service', 'container'];

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(
  readFileSync(join(deployDir, 'kubernetes/components/monitoring/dashboards/kvroute.json'), 'utf8'),
) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
};
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

/** Metric or label names used by a query that the services do not export. */
function unknownNames(expr: string): string[] {
  const used = analyse(expr);
  const allowed = new Set(targetLabels);
  const unknown: string[] = [];
  for (const m of used.metrics) {
    const series = exported.get(m);
    if (!series) unknown.push(`metric ${m}`);
    for (const l of series?.labels ?? []) allowed.add(l);
  }
  for (const l of used.labels) if (!allowed.has(l)) unknown.push(`label ${l}`);
  return unknown;
}

describe('Grafana dashboard', () => {
  it('has queries that parse as PromQL and use only exported metrics and their labels', () => {
    expect(queries.length).toBeGreaterThan(15);
    for (const q of queries) {
      const used = analyse(q.expr);
      expect(used.errors, `${q.panel}: ${q.expr}`).toEqual([]);
      expect(used.metrics.size, q.expr).toBeGreaterThan(0);
      expect(unknownNames(q.expr), `${q.panel}: ${q.expr}`).toEqual([]);
    }
  });

  it('takes the model variable from an exported metric and label', () => {
    const model = dashboard.templating.list.find((v) => v.name === 'model')!;
    const m = /^label_values\((\w+), *(\w+)\)$/.exec(model.definition ?? '');
    expect(m, model.definition).not.toBeNull();
    expect([...(exported.get(m![1]!)?.labels ?? [])]).toContain(m![2]);
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

  it('rejects a query with a typo, an unknown metric or label (the checks can fail)', () => {
    expect(analyse('sum(rate(kvroute_router_decisions_total[1m])').errors.length).toBeGreaterThan(
      0,
    );
    expect(unknownNames('kvroute_router_decision_total')).toEqual([
      'metric kvroute_router_decision_total',
    ]);
    expect(unknownNames('sum by (tier) (kvroute_router_decisions_total)')).toEqual(['label tier']);
    // Unprefixed process metrics: the services' registries prefix them kvroute_.
    expect(unknownNames('process_resident_memory_bytes')).toEqual([
      'metric process_resident_memory_bytes',
    ]);
  });

  it('reads the label names of the real registries', () => {
    expect(exported.get('kvroute_router_decisions_total')?.labels).toEqual(
      new Set(['model', 'policy', 'pod']),
    );
    expect(exported.get('kvroute_router_decision_seconds_bucket')?.labels).toEqual(new Set(['le']));
    expect(exported.get('kvroute_indexer_memory_bytes')?.labels).toEqual(new Set(['model']));
    expect(exported.get('kvroute_publisher_events_in_total')?.services).toEqual(
      new Set(['publisher']),
    );
    expect(exported.get('kvroute_process_resident_memory_bytes')?.services).toEqual(
      new Set(['router', 'indexer', 'publisher']),
    );
  });
});
