export type {
  Bus,
  BusMessage,
  BusOptions,
  BusSubscription,
  RequestManyOptions,
} from './bus/bus.js';
export {
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  subjectMatches,
} from './bus/bus.js';
export { createMemoryBus } from './bus/memory-bus.js';
export { natsBus } from './bus/nats-bus.js';
export {
  ConfigError,
  parseBytes,
  parseConfig,
  parseDuration,
  renderHelp,
  setting,
} from './config.js';
export type { ConfigOf, Schema, Setting } from './config.js';
export { serveHttp } from './http.js';
export type { HttpServer } from './http.js';
export { Lifecycle, processStopping } from './lifecycle.js';
export { createLogger, LOG_LEVELS, rateLimited } from './log.js';
export type { Logger } from './log.js';
export { Counter, createRegistry, Gauge, Histogram, LATENCY_BUCKETS, Registry } from './metrics.js';
export { connectNats, natsConnectionOptions, natsSettings } from './nats.js';
export type { ConnectNatsOptions, NatsHandle, NatsSettings } from './nats.js';
export { freePort, startNatsServer, waitForPort } from './nats-server.js';
export type { NatsServer } from './nats-server.js';
export { FakePublisher } from './fake-publisher.js';
export { logLevelSetting, serviceMain } from './service-main.js';
export type { ServiceMainOptions } from './service-main.js';
