export { FakeEngine } from './fake-engine.js';
export type { FakeEngineOptions, SendOptions } from './fake-engine.js';
export { MetricsServer, vllmMetricsPage } from './fake-metrics.js';
export type { VllmLoad } from './fake-metrics.js';
