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
import type { NatsSettings } from '@kvroute/runtime';
import { loadRouterConfig, ROUTER_USAGE, routerSettings } from './config.js';
import type { RouterSettings } from './config.js';
import { createRouterService } from './service.js';

/** `kvroute router`: the composition root. Resolves with the exit code. */
export async function routerMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${renderHelp(ROUTER_USAGE, routerSettings)}\n`);
    return 0;
  }
  let settings: RouterSettings;
  let config;
  try {
    settings = parseConfig(routerSettings, argv);
    config = loadRouterConfig(settings.config);
    const hasStatic = Object.values(config.models).some((m) => m.pods.length > 0);
    if (!settings.natsUrl && !hasStatic) {
      throw new ConfigError(
        'missing required setting --nats / KVROUTE_NATS_URL (or static pods in --config)',
      );
    }
    if (!settings.natsUrl && settings.index === 'remote')
      throw new ConfigError('--index remote needs --nats / KVROUTE_NATS_URL');
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kvroute router: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger('router', settings.logLevel);
  const life = new Lifecycle(log);
  try {
    const registry = createRegistry();
    let bus = null;
    if (settings.natsUrl) {
      ({ bus } = await connectNats(settings as NatsSettings, 'kvroute-router', log));
      const b = bus;
      life.onStop('nats', () => b.close());
    }
    const svc = await createRouterService({
      bus,
      config,
      log,
      registry,
      options: {
        index: settings.index as 'embedded' | 'remote',
        podTimeoutMs: settings.podTimeout,
        lookupTimeoutMs: settings.lookupTimeout,
        speculativeTtlMs: settings.speculativeTtl,
        memoryBudgetBytes: settings.memoryBudget,
        maxBodyBytes: settings.maxBodyBytes,
        connectTimeoutMs: settings.connectTimeout,
        upstreamTimeoutMs: settings.upstreamTimeout,
      },
    });
    life.onStop('router', () => svc.stop());
    const http = await serveHttp(svc.app, settings.port);
    life.onStop('http', () => http.close());
    log.info({ port: http.port, index: settings.index }, 'router started');
    return await life.untilSignal();
  } catch (e) {
    log.fatal({ err: String(e) }, 'router failed');
    await life.stop();
    return 1;
  }
}
