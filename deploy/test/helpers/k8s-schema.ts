import { dirname, join } from 'node:path';
import ts from 'typescript';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PodTemplateSpec, Service } from 'kubernetes-models/v1';
import {
  PodMonitor,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { K8sObject } from './kubectl.js';
import { deployDir } from './paths.js';

/**
 * Validation against the Kubernetes (and Prometheus Operator) OpenAPI
 * schemas, in two passes:
 *  - `schemaErrors`: the schemas compiled to ajv validators by
 *    kubernetes-models (required fields, types, formats, enums, patterns);
 *  - `unknownFieldErrors`: the OpenAPI schemas allow unknown fields, the API
 *    server's strict field validation does not, so every object is also
 *    type-checked against the models' TypeScript interfaces, whose excess
 *    property checks catch a misspelt field at any depth.
 */
interface Kind {
  model: new (data: never) => { validate(): void };
  module: string;
  type: string;
}

const kinds: Record<string, Kind> = {
  'v1/Namespace': {
    model: Namespace,
    module: 'kubernetes-models/v1/Namespace',
    type: 'INamespace',
  },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'v1/ConfigMap': {
    model: ConfigMap,
    module: 'kubernetes-models/v1/ConfigMap',
    type: 'IConfigMap',
  },
  'apps/v1/Deployment': {
    model: Deployment,
    module: 'kubernetes-models/apps/v1/Deployment',
    type: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    module: 'kubernetes-models/apps/v1/StatefulSet',
    type: 'IStatefulSet',
  },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    type: 'INetworkPolicy',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1/PodMonitor': {
    model: PodMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor',
    type: 'IPodMonitor',
  },
};

/** A pod template inside a custom resource (LeaderWorkerSet) is checked as a PodTemplateSpec. */
export const podTemplate: Kind = {
  model: PodTemplateSpec,
  module: 'kubernetes-models/v1/PodTemplateSpec',
  type: 'IPodTemplateSpec',
};

export function kindOf(obj: K8sObject): Kind {
  const kind = kinds[`${obj.apiVersion}/${obj.kind}`];
  if (!kind) throw new Error(`no schema registered for ${obj.apiVersion} ${obj.kind}`);
  return kind;
}

/** ajv errors of one object against its kind's schema; empty when valid. */
export function schemaErrors(obj: unknown, kind: Kind): string[] {
  try {
    new kind.model(obj as never).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

export interface Typed {
  /** Shown in error messages: where the object came from. */
  label: string;
  kind: Kind;
  value: unknown;
}

/** Unknown or mistyped fields, one message per finding, all objects in one compile. */
export function unknownFieldErrors(objects: Typed[]): string[] {
  const file = join(deployDir, 'test', '__manifests__.ts');
  const modules = new Map<string, string>();
  for (const o of objects) modules.set(o.kind.type, o.kind.module);
  let source = '';
  for (const [type, module] of modules) source += `import type { ${type} } from '${module}';\n`;
  const lineOf: string[] = [];
  objects.forEach((o, i) => {
    const start = source.split('\n').length;
    source += `export const o${i}: ${o.kind.type} = ${JSON.stringify(o.value, null, 1)};\n`;
    for (let l = start; l <= source.split('\n').length; l++) lineOf[l] = o.label;
  });
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    baseUrl: dirname(file),
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  host.readFile = (name) => (name === file ? source : readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    return `${lineOf[line] ?? d.file.fileName}: ${text} (${d.file.text.split('\n')[line - 1]?.trim()})`;
  });
}
