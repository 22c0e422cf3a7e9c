export {
  asyncLatencies,
  collectGarbage,
  latencies,
  median,
  memoryBytes,
  percentile,
  throughput,
} from './measure.js';
export { fmt, renderReport, renderTable } from './report.js';
export type { Throughput } from './measure.js';
export type { Bench, BenchOptions, BenchReport, Cell } from './report.js';
