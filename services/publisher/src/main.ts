import { connectNats, createRegistry, serveHttp, serviceMain } from '@kvroute/runtime';
import { createApp } from './app.js';
import { parsePublisherConfig, PUBLISHER_USAGE, publisherSettings } from './config.js';
import { createPublisher } from './publisher.js';

/**
 * `kvroute publisher`: the composition root. Parses the config (help on
 * --help), connects NATS, starts the publisher and its HTTP port, and on
 * SIGTERM stops in reverse order. Resolves with the exit code: 0 after a clean
 * stop, 2 for a bad setting, 1 when it cannot start.
 */
export function publisherMain(argv: string[]): Promise<number> {
  return serviceMain({
    name: 'publisher',
    usage: PUBLISHER_USAGE,
    settings: publisherSettings,
    argv,
    parse: parsePublisherConfig,
    async start(config, log, life) {
      const registry = createRegistry();
      const { bus } = await connectNats(config, `kvroute-publisher-${config.pod}`, log, {
        signal: life.signal,
      });
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
    },
  });
}
