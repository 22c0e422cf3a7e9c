import { parseRouterConfig } from '@kvroute/router';
import { beforeAll, describe, expect, it } from 'vitest';
import { render, type Build } from './helpers/builds.js';
import type { K8sObject } from './helpers/kubectl.js';
import {
  kindOf,
  podTemplate,
  schemaErrors,
  unknownFieldErrors,
  type Typed,
} from './helpers/k8s-schema.js';
import {
  container,
  env,
  find,
  lwsTemplate,
  podTemplates,
  spec,
  template,
  type Container,
} from './helpers/objects.js';

let rendered = {} as Record<Build, K8sObject[]>;

beforeAll(() => {
  rendered = render();
}, 300_000);

describe('rendered manifests', () => {
  it('validate against the OpenAPI schemas of their kinds, with no unknown field', () => {
    const typed: Typed[] = [];
    let lwsTemplates = 0;
    for (const [build, objs] of Object.entries(rendered)) {
      for (const o of objs) {
        const label = `${build}: ${o.kind}/${o.metadata.name}`;
        // No schema ships for the LeaderWorkerSet CRD: its pod templates are checked.
        if (o.kind === 'LeaderWorkerSet') {
          for (const role of ['leaderTemplate', 'workerTemplate'] as const) {
            const t = lwsTemplate(o, role);
            expect(schemaErrors(t, podTemplate), `${label} ${role}`).toEqual([]);
            typed.push({ label: `${label} ${role}`, kind: podTemplate, value: t });
            lwsTemplates++;
          }
          continue;
        }
        const kind = kindOf(o);
        expect(schemaErrors(o, kind), label).toEqual([]);
        typed.push({ label, kind, value: o });
      }
    }
    expect(lwsTemplates).toBe(4);
    expect(unknownFieldErrors(typed)).toEqual([]);
  });

  it('catches a misspelt field and a wrong type (the checks can fail)', () => {
    const router = structuredClone(find(rendered.production, 'Deployment', 'kvroute-router'));
    const c = template(router).spec.containers[0] as unknown as Record<string, unknown>;
    c.readinesProbe = c.readinessProbe;
    const errors = unknownFieldErrors([{ label: 'typo', kind: kindOf(router), value: router }]);
    expect(errors.join('\n')).toMatch(/readinesProbe/);
    (template(router).spec.containers[0]!.ports![0] as { containerPort: unknown }).containerPort =
      'http';
    expect(schemaErrors(router, kindOf(router)).join('\n')).toMatch(/containerPort/);
  });

  it('puts every kvroute object in the kvroute namespace', () => {
    for (const build of ['single-node', 'production'] as const) {
      for (const o of rendered[build]) {
        if (o.kind !== 'Namespace') expect(o.metadata.namespace, o.metadata.name).toBe('kvroute');
      }
    }
  });

  it('runs no container as root, with a read-only root, no capabilities and RuntimeDefault seccomp', () => {
    const templates = Object.values(rendered).flatMap(podTemplates);
    expect(templates.length).toBeGreaterThanOrEqual(12);
    for (const [where, t] of templates) {
      expect(t.spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(t.spec.automountServiceAccountToken, where).toBe(false);
      for (const c of t.spec.containers) {
        const sc = c.securityContext ?? {};
        const label = `${where} ${c.name}`;
        expect(sc.runAsNonRoot ?? t.spec.securityContext?.runAsNonRoot, label).toBe(true);
        expect(sc.allowPrivilegeEscalation, label).toBe(false);
        expect(sc.readOnlyRootFilesystem, label).toBe(true);
        expect(sc.capabilities, label).toEqual({ drop: ['ALL'] });
        expect(sc.seccompProfile, label).toEqual({ type: 'RuntimeDefault' });
        for (const r of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[r], `${label} request ${r}`).toBeDefined();
          expect(c.resources?.limits?.[r], `${label} limit ${r}`).toBeDefined();
        }
      }
    }
  });

  it('gives each production indexer shard group its own shards, replicas and disruption budget', () => {
    const prod = rendered.production;
    const groups = prod.filter(
      (o) => o.kind === 'Deployment' && o.metadata.name.startsWith('kvroute-indexer-shard-'),
    );
    expect(groups.map((g) => g.metadata.name).sort()).toEqual([
      'kvroute-indexer-shard-0',
      'kvroute-indexer-shard-1',
    ]);
    groups.forEach((g) => {
      const shard = g.metadata.name.slice(-1);
      const e = env(container(template(g), 'indexer'));
      expect(e.KVROUTE_SHARDS?.value).toBe(shard);
      expect(e.KVROUTE_SHARD_COUNT?.value).toBe('2');
      expect(spec(g).replicas).toBe(2);
      const selector = (spec(g).selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(selector['kvroute.io/shard']).toBe(shard);
      const pdb = find(prod, 'PodDisruptionBudget', g.metadata.name);
      expect(spec(pdb).selector).toEqual(spec(g).selector);
      expect(spec(pdb).maxUnavailable).toBe(1);
    });
    const single = find(rendered['single-node'], 'Deployment', 'kvroute-indexer');
    expect(env(container(template(single), 'indexer')).KVROUTE_SHARDS?.value).toBe('all');
  });

  it('runs the router with health probes, an autoscaler and a disruption budget', () => {
    for (const build of ['single-node', 'production'] as const) {
      const objs = rendered[build];
      const router = container(template(find(objs, 'Deployment', 'kvroute-router')), 'router');
      expect(router.args).toEqual(['router']);
      expect(router.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(router.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      const hpa = find(objs, 'HorizontalPodAutoscaler', 'kvroute-router');
      expect((spec(hpa).scaleTargetRef as { name: string }).name).toBe('kvroute-router');
      find(objs, 'PodDisruptionBudget', 'kvroute-router');
      expect(find(objs, 'Service', 'kvroute-router')).toBeDefined();
    }
    expect(
      spec(find(rendered.production, 'HorizontalPodAutoscaler', 'kvroute-router')).minReplicas,
    ).toBe(3);
  });

  it('gives the router a config file the router itself accepts, mounted where KVROUTE_CONFIG points', () => {
    for (const objs of [rendered['single-node'], rendered.production]) {
      const conf = objs.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('kvroute-router-config'),
      );
      const text = (conf!.data as Record<string, string>)['router.yaml']!;
      expect(parseRouterConfig(text, 'router.yaml').defaults.policy).toEqual({ preset: 'default' });
      const c = container(template(find(objs, 'Deployment', 'kvroute-router')), 'router');
      expect(env(c).KVROUTE_CONFIG?.value).toBe('/etc/kvroute/router.yaml');
      const mounts =
        (c as { volumeMounts?: { name: string; mountPath: string }[] }).volumeMounts ?? [];
      expect(mounts).toContainEqual(
        expect.objectContaining({ name: 'config', mountPath: '/etc/kvroute' }),
      );
    }
  });

  it('clusters NATS in production and points every client at it with its own credentials', () => {
    const prod = rendered.production;
    expect(spec(find(prod, 'StatefulSet', 'kvroute-nats')).replicas).toBe(3);
    expect(spec(find(rendered['single-node'], 'StatefulSet', 'kvroute-nats')).replicas).toBe(1);
    const conf = prod.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('kvroute-nats-config'),
    );
    const data = conf!.data as Record<string, string>;
    expect(data['cluster.conf']).toMatch(/kvroute-nats-2\.kvroute-nats-headless/);
    expect(data['tls.conf']).toMatch(/cert_file/);
    const clients: [string, Container][] = [
      ['router', container(template(find(prod, 'Deployment', 'kvroute-router')), 'router')],
      [
        'indexer',
        container(template(find(prod, 'Deployment', 'kvroute-indexer-shard-0')), 'indexer'),
      ],
    ];
    for (const [user, c] of clients) {
      const e = env(c);
      expect(e.KVROUTE_NATS_URL?.value).toBe('nats://kvroute-nats.kvroute.svc:4222');
      expect(e.KVROUTE_NATS_USER?.value).toBe(user);
      expect(e.KVROUTE_NATS_PASSWORD?.valueFrom).toEqual({
        secretKeyRef: { name: 'kvroute-nats-auth', key: `${user}-password` },
      });
      expect(e.KVROUTE_NATS_TLS_CA?.value).toBe('/etc/kvroute/nats-tls/ca.crt');
      expect(c.volumeMounts?.map((m) => m.mountPath)).toContain('/etc/kvroute/nats-tls');
    }
  });

  it('denies by default and opens only the expected paths', () => {
    const policies = rendered.production.filter((o) => o.kind === 'NetworkPolicy');
    const deny = policies.find((p) => p.metadata.name === 'kvroute-default-deny')!;
    expect(spec(deny)).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const ports = (name: string, dir: 'ingress' | 'egress') =>
      (
        (spec(policies.find((p) => p.metadata.name === name)!)[dir] ?? []) as {
          ports: { port: number }[];
        }[]
      )
        .flatMap((r) => r.ports.map((p) => p.port))
        .sort((a, b) => a - b);
    expect(ports('kvroute-nats', 'ingress')).toEqual([4222, 6222, 8222]);
    expect(ports('kvroute-router', 'ingress')).toEqual([8080]);
    expect(ports('kvroute-router', 'egress')).toEqual([4222, 8000]);
    expect(ports('kvroute-indexer', 'ingress')).toEqual([8081]);
    expect(ports('kvroute-indexer', 'egress')).toEqual([4222]);
  });
});
