import type { SimResult } from '../sim/run-sim.js';

const ms = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
const x = (v: number) => `${v.toFixed(2)}×`;

/** The results table of one workload, one row per policy. */
export function resultsTable(rows: SimResult[]): string {
  const head =
    '| policy | hit rate | TTFT p50 ms | TTFT p95 ms | TTFT p99 ms | e2e p50 ms | e2e p95 ms | output tok/s | load imbalance | preemptions |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const body = rows.map(
    (r) =>
      `| ${r.policy} | ${pct(r.hit_rate)} | ${ms(r.ttft_p50_ms)} | ${ms(r.ttft_p95_ms)} | ${ms(r.ttft_p99_ms)} | ${ms(r.e2e_p50_ms)} | ${ms(r.e2e_p95_ms)} | ${ms(r.output_tokens_per_s)} | ${r.load_imbalance.toFixed(3)} | ${r.preemptions} |`,
  );
  return [head, ...body].join('\n');
}

/** `default` against round-robin and the best peer preset, with the project's goals. */
export function goalCheck(rows: SimResult[]): string {
  const by = new Map(rows.map((r) => [r.policy, r]));
  const d = by.get('default');
  const rr = by.get('round-robin');
  if (!d || !rr) return '';
  const peers = rows.filter((r) => !['default', 'round-robin', 'random'].includes(r.policy));
  const best = peers.reduce<SimResult | undefined>(
    (b, r) => (!b || r.ttft_p95_ms < b.ttft_p95_ms ? r : b),
    undefined,
  );
  const line = (goal: string, value: string, ok: boolean) =>
    `| ${goal} | ${value} | ${ok ? 'met' : 'not met'} |`;
  const out = [
    '| goal | measured | |',
    '| --- | --- | --- |',
    line('hit rate ≥ 2× round-robin', x(d.hit_rate / rr.hit_rate), d.hit_rate >= 2 * rr.hit_rate),
    line(
      'TTFT p50 ≤ 0.65× round-robin',
      x(d.ttft_p50_ms / rr.ttft_p50_ms),
      d.ttft_p50_ms <= 0.65 * rr.ttft_p50_ms,
    ),
    line(
      'TTFT p95 ≤ 0.5× round-robin',
      x(d.ttft_p95_ms / rr.ttft_p95_ms),
      d.ttft_p95_ms <= 0.5 * rr.ttft_p95_ms,
    ),
  ];
  if (best) {
    out.push(
      line(
        `TTFT p95 ≤ best peer (${best.policy})`,
        x(d.ttft_p95_ms / best.ttft_p95_ms),
        d.ttft_p95_ms <= best.ttft_p95_ms,
      ),
    );
  }
  out.push(line('load imbalance ≤ 1.2', d.load_imbalance.toFixed(3), d.load_imbalance <= 1.2));
  return out.join('\n');
}

export function renderReport(o: {
  command: string;
  /** Name of the engines' latency model. */
  latency: string;
  load: number;
  results: SimResult[];
  sweep: SimResult[];
  charts: string[];
}): string {
  const workloads = [...new Set(o.results.map((r) => r.workload))];
  const parts = [
    '# Routing policy comparison',
    '',
    'Produced by:',
    '',
    '```sh',
    o.command,
    '```',
    '',
    'Every policy replays the same requests with the same arrival times and seed on the same',
    'simulated fleet (loadtest/README.md describes the engine and latency model). Hit rate is the',
    'token-weighted share of prompt tokens served from the prefix cache, fleet-wide; load imbalance',
    'is max ÷ mean of per-pod busy time.',
    '',
    `Engine latency model: ${o.latency}.`,
    '',
  ];
  for (const w of workloads) {
    const rows = o.results.filter((r) => r.workload === w);
    const r0 = rows[0]!;
    parts.push(
      `## ${w} — ${r0.pods} pods, ${r0.capacity_tokens?.toLocaleString('en-US') ?? 'unbounded'} KV tokens per pod, load ${o.load}`,
      '',
      `${r0.requests} requests.`,
      '',
      resultsTable(rows),
      '',
    );
    const g = goalCheck(rows);
    if (g) parts.push('Goals (`default` against the others):', '', g, '');
  }
  if (o.sweep.length > 0) {
    const loads = [...new Set(o.sweep.map((r) => r.load))];
    parts.push(
      `## TTFT vs offered load — ${o.sweep[0]!.workload}, ${o.sweep[0]!.requests} requests`,
      '',
    );
    parts.push(`| policy | ${loads.map((l) => `p50 / p95 @${l}`).join(' | ')} |`);
    parts.push(`| --- | ${loads.map(() => '---:').join(' | ')} |`);
    for (const p of [...new Set(o.sweep.map((r) => r.policy))]) {
      const cells = loads.map((l) => {
        const r = o.sweep.find((s) => s.policy === p && s.load === l);
        return r ? `${ms(r.ttft_p50_ms)} / ${ms(r.ttft_p95_ms)}` : '–';
      });
      parts.push(`| ${p} | ${cells.join(' | ')} |`);
    }
    parts.push('');
  }
  parts.push('## Charts', '', ...o.charts.map((c) => `![${c}](${c})`), '');
  return parts.join('\n');
}
