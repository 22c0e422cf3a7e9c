import { beforeAll, describe, expect, it } from 'vitest';
import { render, type Build } from './helpers/builds.js';
import type { K8sObject } from './helpers/kubectl.js';
import { admits, type Pod } from './helpers/network-policy.js';
import {
  container,
  env,
  find,
  lwsTemplate,
  template,
  type Container,
  type PodTemplate,
} from './helpers/objects.js';

// The model-server side: the publisher sidecar on the example Deployment and
// LeaderWorkerSet, without TLS (single-node) and with the TLS component
// (production), and the network policies in front of them.

const vllmBuilds = [
  'vllm',
  'vllm-production',
  'vllm-multi-node',
  'vllm-production-multi-node',
] as const satisfies readonly Build[];
let rendered = {} as Record<(typeof vllmBuilds)[number], K8sObject[]>;
let kvroute: K8sObject[] = [];

beforeAll(() => {
  const { production, ...models } = render([...vllmBuilds, 'production']);
  rendered = models as typeof rendered;
  kvroute = production;
}, 300_000);

const deployment = (b: 'vllm' | 'vllm-production') =>
  template(find(rendered[b], 'Deployment', 'vllm'));
const leader = (b: 'vllm-multi-node' | 'vllm-production-multi-node') =>
  lwsTemplate(find(rendered[b], 'LeaderWorkerSet', 'vllm-multinode'), 'leaderTemplate');
const worker = (b: 'vllm-multi-node' | 'vllm-production-multi-node') =>
  lwsTemplate(find(rendered[b], 'LeaderWorkerSet', 'vllm-multinode'), 'workerTemplate');
const TLS_DIR = '/etc/kvroute/nats-tls';

/** The TLS settings a pod template's publisher carries: env, mount, Secret volume. */
function tlsOf(t: PodTemplate) {
  const pub = container(t, 'kvroute-publisher');
  const mount = pub.volumeMounts?.find((m) => m.mountPath === TLS_DIR);
  return {
    env: env(pub).KVROUTE_NATS_TLS_CA?.value,
    mount,
    volume: t.spec.volumes?.find((v) => v.name === mount?.name),
    secretVolumes: (t.spec.volumes ?? []).filter((v) => v.secret),
  };
}

describe('publisher sidecar', () => {
  it('applies to the example vLLM Deployment: both containers, env, ports, vLLM flags', () => {
    const t = deployment('vllm');
    expect(t.spec.containers.map((c) => c.name).sort()).toEqual(['kvroute-publisher', 'vllm']);
    expect(t.metadata?.labels?.['kvroute.io/publisher']).toBe('true');

    const engine = container(t, 'vllm');
    expect(engine.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    const args = engine.args ?? [];
    expect(args).toContain('--enable-prefix-caching');
    const cfg = args[args.indexOf('--kv-events-config') + 1]!;
    expect(JSON.parse(cfg)).toEqual({
      enable_kv_cache_events: true,
      publisher: 'zmq',
      endpoint: 'tcp://*:5557',
      replay_endpoint: 'tcp://*:5558',
      topic: 'kv-events',
    });

    const pub = container(t, 'kvroute-publisher');
    expect(pub.args).toEqual(['publisher']);
    expect(pub.ports).toEqual([{ name: 'kvroute-metrics', containerPort: 8090 }]);
    const e = env(pub);
    expect(e.POD_IP?.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    // $(POD_IP) expands only when POD_IP is declared earlier in the list.
    const names = pub.env!.map((x) => x.name);
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('KVROUTE_POD'));
    expect(e.KVROUTE_POD?.value).toBe('$(POD_IP):8000');
    expect(e.KVROUTE_MODEL?.valueFrom).toEqual({
      fieldRef: { fieldPath: "metadata.annotations['kvroute.io/model']" },
    });
    expect(t.metadata?.annotations?.['kvroute.io/model']).toBe('Qwen/Qwen2.5-7B-Instruct');
    expect(e.KVROUTE_ZMQ_ENDPOINT?.value).toBe('tcp://127.0.0.1:5557');
    expect(e.KVROUTE_ZMQ_REPLAY_ENDPOINT?.value).toBe('tcp://127.0.0.1:5558');
    expect(e.KVROUTE_TOPIC?.value).toBe('kv-events');
    expect(e.KVROUTE_METRICS_URL?.value).toBe('http://127.0.0.1:8000/metrics');
    expect(e.KVROUTE_NATS_USER?.value).toBe('publisher');
    expect(e.KVROUTE_NATS_PASSWORD?.valueFrom).toEqual({
      secretKeyRef: { name: 'kvroute-nats-client', key: 'publisher-password' },
    });
  });

  it('is the same container in the LeaderWorkerSet leader, with and without TLS, and absent from its workers', () => {
    for (const [dep, lws] of [
      ['vllm', 'vllm-multi-node'],
      ['vllm-production', 'vllm-production-multi-node'],
    ] as const) {
      const expected = container(deployment(dep), 'kvroute-publisher');
      expect(container(leader(lws), 'kvroute-publisher'), lws).toEqual(expected);
      expect(leader(lws).metadata?.labels?.['kvroute.io/publisher']).toBe('true');
      expect(worker(lws).spec.containers.map((c) => c.name)).toEqual(['vllm-worker']);
    }
  });

  it('mounts only volumes the pod declares', () => {
    for (const t of [
      deployment('vllm'),
      deployment('vllm-production'),
      leader('vllm-multi-node'),
      leader('vllm-production-multi-node'),
    ]) {
      const volumes = t.spec.volumes!.map((v) => v.name);
      for (const c of t.spec.containers)
        for (const m of c.volumeMounts ?? [])
          expect(volumes, `${c.name} ${m.name}`).toContain(m.name);
    }
  });

  it('without the TLS component: no CA setting and no Secret volume, so no ca.crt is needed', () => {
    for (const t of [deployment('vllm'), leader('vllm-multi-node')]) {
      const tls = tlsOf(t);
      expect(tls.env).toBeUndefined();
      expect(tls.mount).toBeUndefined();
      expect(tls.secretVolumes).toEqual([]);
    }
  });

  it('with the TLS component (production): the CA from kvroute-nats-client, mounted where the setting points', () => {
    for (const t of [deployment('vllm-production'), leader('vllm-production-multi-node')]) {
      const tls = tlsOf(t);
      expect(tls.env).toBe(`${TLS_DIR}/ca.crt`);
      expect(tls.mount?.readOnly).toBe(true);
      expect(tls.volume?.secret).toEqual({
        secretName: 'kvroute-nats-client',
        defaultMode: 0o444,
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      });
    }
    // The component changes the publisher and the volumes, nothing else.
    const strip = (t: PodTemplate, c: Container) =>
      t.spec.containers.filter((x) => x.name !== c.name);
    const plain = deployment('vllm');
    const tls = deployment('vllm-production');
    expect(strip(tls, container(tls, 'kvroute-publisher'))).toEqual(
      strip(plain, container(plain, 'kvroute-publisher')),
    );
    expect(worker('vllm-production-multi-node')).toEqual(worker('vllm-multi-node'));
  });

  it('puts every model-server object in the models namespace', () => {
    for (const [build, objs] of Object.entries(rendered))
      for (const o of objs)
        expect(o.metadata.namespace, `${build} ${o.metadata.name}`).toBe('models');
  });
});

describe('model-server network policies', () => {
  const labels = (t: PodTemplate, extra: Record<string, string>) => ({
    ...t.metadata?.labels,
    ...extra,
  });
  // Labels the LWS controller adds to every pod of a group.
  const lwsPod = (t: PodTemplate, name = 'vllm-multinode', group = '0'): Pod => ({
    namespace: 'models',
    labels: labels(t, {
      'leaderworkerset.sigs.k8s.io/name': name,
      'leaderworkerset.sigs.k8s.io/group-index': group,
    }),
  });

  it('let the pods of a LeaderWorkerSet reach each other on every port (Ray, NCCL)', () => {
    const policies = rendered['vllm-multi-node'];
    const lead = lwsPod(leader('vllm-multi-node'));
    const work = lwsPod(worker('vllm-multi-node'));
    // Ray head, a Ray worker port, NCCL's run-time ports, and the API.
    for (const port of [6379, 10002, 29500, 45123, 8000]) {
      expect(admits(policies, work, lead, port), `worker → leader :${port}`).toBe(true);
      expect(admits(policies, lead, work, port), `leader → worker :${port}`).toBe(true);
    }
  });

  it('keep everyone else to the API and metrics ports of a leader, and off the workers', () => {
    const policies = rendered['vllm-multi-node'];
    const lead = lwsPod(leader('vllm-multi-node'));
    const work = lwsPod(worker('vllm-multi-node'));
    const router: Pod = {
      namespace: 'kvroute',
      labels: template(find(kvroute, 'Deployment', 'kvroute-router')).metadata!.labels!,
    };
    const prometheus: Pod = {
      namespace: 'monitoring',
      labels: { 'app.kubernetes.io/name': 'prometheus' },
    };
    const stranger: Pod = { namespace: 'models', labels: { app: 'other' } };
    const otherLws = lwsPod(worker('vllm-multi-node'), 'another-model');
    expect(admits(policies, router, lead, 8000)).toBe(true);
    expect(admits(policies, prometheus, lead, 8090)).toBe(true);
    for (const port of [6379, 5557, 5558, 29500]) {
      expect(admits(policies, router, lead, port), `router → leader :${port}`).toBe(false);
      expect(admits(policies, stranger, lead, port), `stranger → leader :${port}`).toBe(false);
      expect(admits(policies, otherLws, lead, port), `other LWS → leader :${port}`).toBe(false);
      expect(admits(policies, stranger, work, port), `stranger → worker :${port}`).toBe(false);
    }
    expect(admits(policies, stranger, lead, 8000)).toBe(false);
  });

  it('leave the Deployment example as before: API from the router, ZMQ pod-local', () => {
    const policies = rendered.vllm;
    const pod: Pod = { namespace: 'models', labels: deployment('vllm').metadata!.labels! };
    const router: Pod = {
      namespace: 'kvroute',
      labels: template(find(kvroute, 'Deployment', 'kvroute-router')).metadata!.labels!,
    };
    const gateway: Pod = { namespace: 'edge', labels: { 'kvroute.io/router-client': 'true' } };
    expect(admits(policies, router, pod, 8000)).toBe(true);
    expect(admits(policies, gateway, pod, 8000)).toBe(true);
    expect(admits(policies, router, pod, 5557)).toBe(false);
    expect(admits(policies, gateway, pod, 8090)).toBe(false);
    expect(policies.filter((p) => p.kind === 'NetworkPolicy').map((p) => p.metadata.name)).toEqual([
      'vllm-kvroute',
    ]);
  });

  it('the evaluator can deny: without the group policy, Ray to the leader is cut off', () => {
    const only = rendered['vllm-multi-node'].filter(
      (p) => p.metadata.name !== 'vllm-multinode-group',
    );
    const lead = lwsPod(leader('vllm-multi-node'));
    const work = lwsPod(worker('vllm-multi-node'));
    expect(admits(only, work, lead, 6379)).toBe(false);
    expect(admits(only, lead, work, 6379)).toBe(true);
  });
});
