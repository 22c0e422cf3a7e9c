import type { Bus, NatsSettings } from '@kvroute/runtime';
import {
  ConfigError,
  connectNats,
  createRegistry,
  parseConfig,
  serveHttp,
  serviceMain,
} from '@kvroute/runtime';
import type { RouterFileConfig } from './config.js';
import { loadRouterConfig, ROUTER_USAGE, routerSettings } from './config.js';
import type { RouterSettings } from './config.js';
import type { RouterServiceOptions } from './service.js';
import { createRouterService } from './service.js';

/** The service options the settings give (also used by the deploy tests' metric contract). */
export function routerServiceOptions(config: RouterSettings): RouterServiceOptions {
  return {
    index: config.index as 'embedded' | 'remote',
    podTimeoutMs: config.podTimeout,
    lookupTimeoutMs: config.lookupTimeout,
    speculativeTtlMs: config.speculativeTtl,
    memoryBudgetBytes: config.memoryBudget,
    maxBodyBytes: config.maxBodyBytes,
    connectTimeoutMs: config.connectTimeout,
    upstreamTimeoutMs: config.upstreamTimeout,
    bodyIdleTimeoutMs: config.bodyIdleTimeout,
    routeMaxTokens: config.routeMaxTokens,
    ejectionTimeMs: config.ejectionTime,
    maxEjectionTimeMs: config.maxEjectionTime,
  };
}

/** Settings and the config file, validated together: either can name the problem. */
function parse(argv: string[]): RouterSettings & { file: RouterFileConfig } {
  const settings = parseConfig(routerSettings, argv);
  const file = loadRouterConfig(settings.config);
  const hasStatic = Object.values(file.models).some((m) => m.pods.length > 0);
  if (!settings.natsUrl && !hasStatic) {
    throw new ConfigError(
      'missing required setting --nats / KVROUTE_NATS_URL (or static pods in --config)',
    );
  }
  if (!settings.natsUrl && settings.index === 'remote')
    throw new ConfigError('--index remote needs --nats / KVROUTE_NATS_URL');
  return { ...settings, file };
}

/** `kvroute router`: the composition root. Resolves with the exit code. */
export function routerMain(argv: string[]): Promise<number> {
  return serviceMain({
    name: 'router',
    usage: ROUTER_USAGE,
    settings: routerSettings,
    argv,
    parse,
    async start(config, log, life) {
      const registry = createRegistry();
      let bus: Bus | null = null;
      if (config.natsUrl) {
        const nats = await connectNats(config as NatsSettings, 'kvroute-router', log);
        bus = nats.bus;
        life.onStop('nats', () => nats.bus.close());
      }
      const svc = await createRouterService({
        bus,
        config: config.file,
        log,
        registry,
        options: routerServiceOptions(config),
      });
      life.onStop('router', () => svc.stop());
      const http = await serveHttp(svc.app, config.port);
      life.onStop('http', () => http.close());
      log.info({ port: http.port, index: config.index }, 'router started');
    },
  });
}
