import { createBlockKeyer } from '@kvroute/block-keys';
import { connectNats, createRegistry, parseConfig, serveHttp, serviceMain } from '@kvroute/runtime';
import { createApp } from './app.js';
import { INDEXER_USAGE, indexerSettings } from './config.js';
import type { IndexerConfig } from './config.js';
import type { IndexerOptions } from './indexer.js';
import { Indexer } from './indexer.js';

/** The indexer options the settings give (also used by the deploy tests' metric contract). */
export function indexerOptions(config: IndexerConfig): IndexerOptions {
  return {
    shards: config.shards,
    shardCount: config.shardCount,
    memoryBudgetBytes: config.memoryBudget,
    podTimeoutMs: config.podTimeout,
    snapshotTimeoutMs: config.snapshotTimeout,
    instance: config.instance,
  };
}

/** `kvroute indexer`: the composition root. Resolves with the exit code. */
export function indexerMain(argv: string[]): Promise<number> {
  return serviceMain({
    name: 'indexer',
    usage: INDEXER_USAGE,
    settings: indexerSettings,
    argv,
    parse: (a) => parseConfig(indexerSettings, a),
    async start(config, log, life) {
      const registry = createRegistry();
      const { bus } = await connectNats(config, `kvroute-indexer-${config.instance}`, log);
      life.onStop('nats', () => bus.close());
      const indexer = new Indexer(bus, indexerOptions(config), log, registry);
      indexer.start();
      life.onStop('indexer', () => indexer.stop());
      const http = await serveHttp(
        createApp({
          indexer,
          keyer: createBlockKeyer(),
          registry,
          maxBodyBytes: config.maxBodyBytes,
        }),
        config.port,
      );
      life.onStop('http', () => http.close());
      log.info(
        { port: http.port, shards: indexer.shards, shardCount: config.shardCount },
        'indexer started',
      );
    },
  });
}
