export type Cell = string | number;

/** What a benchmark returns: a human table and one flat JSON summary. */
export interface BenchReport {
  title: string;
  rows: Record<string, Cell>[];
  /** Printed last, as one JSON line, when asked for. */
  summary: Record<string, Cell | boolean>;
  notes?: string[];
}

export interface BenchOptions {
  /** Fewer and shorter rounds: for smoke tests of the bench code itself. */
  quick?: boolean;
}

export type Bench = (options: BenchOptions) => Promise<BenchReport>;

/** Formats a number with 3 significant digits and thousands separators. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(abs >= 1 ? 2 : 3);
}

export function renderTable(rows: Record<string, Cell>[]): string {
  if (rows.length === 0) return '';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: Cell | undefined) => (typeof v === 'number' ? fmt(v) : (v ?? ''));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals.map((v, i) => (i === 0 ? v.padEnd(width[i]!) : v.padStart(width[i]!))).join('  ');
  return [
    line(cols),
    line(width.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => cell(r[c])))),
  ].join('\n');
}

export function renderReport(report: BenchReport, json: boolean): string {
  const parts = [`# ${report.title}`, renderTable(report.rows)];
  if (report.notes?.length) parts.push(report.notes.join('\n'));
  if (json) parts.push(JSON.stringify(report.summary));
  return parts.join('\n\n');
}
