import {
  ConfigError,
  connectNats,
  createLogger,
  createRegistry,
  Lifecycle,
  renderHelp,
  serveHttp,
} from '@kvroute/runtime';
import { createApp } from './app.js';
import type { PublisherConfig } from './config.js';
import { parsePublisherConfig, PUBLISHER_USAGE, publisherSettings } from './config.js';
import { createPublisher } from './publisher.js';

/**
 * `kvroute publisher`: the composition root. Parses the config (help on
 * --help), connects NATS, starts the publisher and its HTTP port, and on
 * SIGTERM stops in reverse order. Resolves with the exit code: 0 after a clean
 * stop, 2 for a bad setting, 1 when it cannot start.
 */
export async function publisherMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${renderHelp(PUBLISHER_USAGE, publisherSettings)}\n`);
    return 0;
  }
  let config: PublisherConfig;
  try {
    config = parsePublisherConfig(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute publisher: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger('publisher', config.logLevel);
  const life = new Lifecycle(log);
  try {
    const registry = createRegistry();
    const { bus } = await connectNats(config, `kvroute-publisher-${config.pod}`, log);
    life.onStop('nats', () => bus.close());
    const publisher = createPublisher({ bus, config, log, registry });
    life.onStop('publisher', () => publisher.stop());
    await publisher.start();
    const http = await serveHttp(
      createApp({ registry, ready: publisher.ready, status: publisher.status }),
      config.port,
    );
    life.onStop('http', () => http.close());
    log.info({ port: http.port }, 'publisher serving HTTP');
    return await life.untilSignal();
  } catch (e) {
    log.fatal({ err: String(e) }, 'publisher failed');
    await life.stop();
    return 1;
  }
}
