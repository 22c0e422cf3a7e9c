import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Indexer, indexerOptions, indexerSettings } from '@kvroute/indexer';
import { createPublisher, parsePublisherConfig } from '@kvroute/publisher';
import {
  createRouterService,
  parseRouterConfig,
  routerServiceOptions,
  routerSettings,
} from '@kvroute/router';
import type { Registry } from '@kvroute/runtime';
import { createLogger, createMemoryBus, createRegistry, parseConfig } from '@kvroute/runtime';
import { parseYamlStream } from './kubectl.js';
import { container, template } from './objects.js';
import { deployDir } from './paths.js';

/**
 * The metrics the three services export, read from their real registries:
 * each service is built as its composition root (`*Main`) builds it, from the
 * settings its manifest gives (the literal env values), over an in-process
 * bus instead of NATS, and never started. Keys are the series names a query
 * sees (a histogram's `_bucket`, `_sum` and `_count`), values the label
 * names each carries and the services exporting it.
 */
export interface Series {
  labels: Set<string>;
  services: Set<string>;
}

type Service = 'router' | 'indexer' | 'publisher';

/**
 * A manifest container's env: literal values with `$(VAR)` expanded, a
 * stand-in for each Secret reference, `extra` for the downward API.
 */
function manifestEnv(file: string, name: string, extra: Record<string, string> = {}) {
  const [obj] = parseYamlStream(readFileSync(join(deployDir, file), 'utf8'), file);
  const env: Record<string, string> = { ...extra };
  for (const e of container(template(obj!), name).env ?? []) {
    if (e.name in extra) continue;
    if (e.valueFrom?.secretKeyRef) env[e.name] = 'stand-in-secret';
    else if (e.value !== undefined)
      env[e.name] = e.value.replace(/\$\((\w+)\)/g, (m, v: string) => env[v] ?? m);
  }
  return env;
}

async function registries(): Promise<[Service, Registry][]> {
  const bus = createMemoryBus();
  const log = createLogger('deploy-test', 'silent');
  const out: [Service, Registry][] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const routerEnv = manifestEnv('kubernetes/base/router/deployment.yaml', 'router');
    const rc = parseConfig(routerSettings, [], routerEnv);
    const routerRegistry = createRegistry();
    const router = await createRouterService({
      bus,
      // The router.yaml the ConfigMap mounts at KVROUTE_CONFIG.
      config: parseRouterConfig(
        readFileSync(join(deployDir, 'kubernetes/base/router/router.yaml'), 'utf8'),
        'router.yaml',
      ),
      log,
      registry: routerRegistry,
      options: routerServiceOptions(rc),
    });
    stops.push(() => router.stop());
    out.push(['router', routerRegistry]);

    const ic = parseConfig(
      indexerSettings,
      [],
      manifestEnv('kubernetes/indexer-shard/deployment.yaml', 'indexer'),
    );
    const indexerRegistry = createRegistry();
    new Indexer(bus, indexerOptions(ic), log, indexerRegistry);
    out.push(['indexer', indexerRegistry]);

    const pc = parsePublisherConfig(
      [],
      manifestEnv('vllm/deployment/publisher-sidecar.yaml', 'kvroute-publisher', {
        POD_IP: '10.0.0.1',
        KVROUTE_MODEL: 'm',
      }),
    );
    const publisherRegistry = createRegistry();
    createPublisher({ bus, config: pc, log, registry: publisherRegistry });
    out.push(['publisher', publisherRegistry]);
    return out;
  } finally {
    for (const stop of stops) await stop();
    await bus.close();
  }
}

// prom-client keeps each metric's label names on the metric; its typings do not list them.
const labelNamesOf = (m: unknown) => (m as { labelNames?: readonly string[] }).labelNames ?? [];

export async function exportedSeries(): Promise<Map<string, Series>> {
  const series = new Map<string, Series>();
  const add = (name: string, labels: readonly string[], service: Service) => {
    const s = series.get(name) ?? { labels: new Set<string>(), services: new Set<string>() };
    for (const l of labels) s.labels.add(l);
    s.services.add(service);
    series.set(name, s);
  };
  for (const [service, registry] of await registries()) {
    for (const m of registry.getMetricsAsArray()) {
      const labels = labelNamesOf(m);
      const type = String(m.type);
      if (type === 'histogram') {
        add(`${m.name}_bucket`, [...labels, 'le'], service);
        add(`${m.name}_sum`, labels, service);
        add(`${m.name}_count`, labels, service);
      } else if (type === 'summary') {
        add(m.name, [...labels, 'quantile'], service);
        add(`${m.name}_sum`, labels, service);
        add(`${m.name}_count`, labels, service);
      } else {
        add(m.name, labels, service);
      }
    }
  }
  return series;
}
