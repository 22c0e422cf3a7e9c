import { createBlockKeyer } from '@kvroute/block-keys';
import {
  ConfigError,
  connectNats,
  createLogger,
  createRegistry,
  Lifecycle,
  parseConfig,
  renderHelp,
  serveHttp,
} from '@kvroute/runtime';
import { createApp } from './app.js';
import { INDEXER_USAGE, indexerSettings } from './config.js';
import type { IndexerConfig } from './config.js';
import { Indexer } from './indexer.js';

/** `kvroute indexer`: the composition root. Resolves with the exit code. */
export async function indexerMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${renderHelp(INDEXER_USAGE, indexerSettings)}\n`);
    return 0;
  }
  let config: IndexerConfig;
  try {
    config = parseConfig(indexerSettings, argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute indexer: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger('indexer', config.logLevel);
  const life = new Lifecycle(log);
  try {
    const registry = createRegistry();
    const { bus } = await connectNats(config, `kvroute-indexer-${config.instance}`, log);
    life.onStop('nats', () => bus.close());
    const indexer = new Indexer(
      bus,
      {
        shards: config.shards,
        shardCount: config.shardCount,
        memoryBudgetBytes: config.memoryBudget,
        podTimeoutMs: config.podTimeout,
        snapshotTimeoutMs: config.snapshotTimeout,
        instance: config.instance,
      },
      log,
      registry,
    );
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
    return await life.untilSignal();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute indexer: ${e.message}\n`);
      await life.stop();
      return 2;
    }
    log.fatal({ err: String(e) }, 'indexer failed');
    await life.stop();
    return 1;
  }
}
