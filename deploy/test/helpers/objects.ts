import type { K8sObject } from './kubectl.js';

/** The parts of rendered objects the tests read, typed loosely. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}
export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
export interface Volume {
  name: string;
  secret?: { secretName: string; optional?: boolean; items?: { key: string; path: string }[] };
  [source: string]: unknown;
}
export interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  volumes?: Volume[];
  automountServiceAccountToken?: boolean;
}
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
export type LwsRole = 'leaderTemplate' | 'workerTemplate';

export const spec = (o: K8sObject) => o.spec as Record<string, unknown>;
export const template = (o: K8sObject) => spec(o).template as PodTemplate;

export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
}

export const env = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

export function container(t: PodTemplate, name: string): Container {
  const c = t.spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** A LeaderWorkerSet's leader or worker pod template. */
export function lwsTemplate(o: K8sObject, role: LwsRole): PodTemplate {
  const t = (spec(o).leaderWorkerTemplate as Record<LwsRole, PodTemplate | undefined>)[role];
  if (!t) throw new Error(`${o.metadata.name} has no ${role}`);
  return t;
}

/** Every pod template in a build (LeaderWorkerSets' too), with where it came from. */
export function podTemplates(objs: K8sObject[]): [string, PodTemplate][] {
  return objs.flatMap((o): [string, PodTemplate][] => {
    const where = `${o.kind}/${o.metadata.name}`;
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') return [[where, template(o)]];
    if (o.kind === 'LeaderWorkerSet')
      return (['leaderTemplate', 'workerTemplate'] as const).map((r) => [
        `${where} ${r}`,
        lwsTemplate(o, r),
      ]);
    return [];
  });
}
