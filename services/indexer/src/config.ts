import { hostname } from 'node:os';
import type { ConfigOf } from '@kvroute/runtime';
import { logLevelSetting, natsSettings, setting } from '@kvroute/runtime';

export const indexerSettings = {
  ...natsSettings,
  port: setting.int({
    flag: 'port',
    env: 'KVROUTE_PORT',
    help: 'HTTP port for the API, health and metrics',
    default: 8081,
    min: 0,
    max: 65535,
  }),
  shards: setting.string({
    flag: 'shards',
    env: 'KVROUTE_SHARDS',
    help: 'shards this replica owns: all, or a list like 0,2,5-7',
    default: 'all',
  }),
  shardCount: setting.int({
    flag: 'shard-count',
    env: 'KVROUTE_SHARD_COUNT',
    help: 'number of index shards in the fleet (1..64)',
    default: 1,
    min: 1,
    max: 64,
  }),
  memoryBudget: setting.bytes({
    flag: 'memory-budget',
    env: 'KVROUTE_MEMORY_BUDGET',
    help: 'index memory budget per model, e.g. 2GiB',
    default: 2 * 1024 ** 3,
    min: 1024 ** 2,
  }),
  podTimeout: setting.duration({
    flag: 'pod-timeout',
    env: 'KVROUTE_POD_TIMEOUT',
    help: 'remove a pod whose heartbeats stop for this long',
    default: 3000,
    min: 100,
  }),
  snapshotTimeout: setting.duration({
    flag: 'snapshot-timeout',
    env: 'KVROUTE_SNAPSHOT_TIMEOUT',
    help: 'give up on a snapshot stream that stalls this long',
    default: 5000,
    min: 50,
  }),
  maxBodyBytes: setting.bytes({
    flag: 'max-body',
    env: 'KVROUTE_MAX_BODY',
    help: 'largest accepted HTTP request body',
    default: 8 * 1024 ** 2,
  }),
  instance: setting.string({
    flag: 'instance',
    env: 'KVROUTE_INSTANCE',
    help: 'name of this replica in indexer heartbeats',
    default: `${hostname()}-${process.pid}`,
  }),
  logLevel: logLevelSetting,
};

export type IndexerConfig = ConfigOf<typeof indexerSettings>;
export const INDEXER_USAGE =
  'kvroute indexer --nats <url> [--port 8081] [--shards all|0,2,5-7] [--shard-count N] [--memory-budget 2GiB]';
