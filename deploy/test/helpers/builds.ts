import { join } from 'node:path';
import { ensureKubectl, kustomizeBuild, type K8sObject } from './kubectl.js';
import { deployDir } from './paths.js';

/** Everything a user applies with `kubectl apply -k`: each must render. */
export const builds = {
  'single-node': 'kubernetes/overlays/single-node',
  production: 'kubernetes/overlays/production',
  vllm: 'vllm/deployment',
  'vllm-production': 'vllm/overlays/production',
  'vllm-multi-node': 'vllm/multi-node',
  'vllm-production-multi-node': 'vllm/overlays/production-multi-node',
} as const;
export type Build = keyof typeof builds;

/** `kustomize build` of the given builds (all by default). */
export function render(names: readonly Build[] = Object.keys(builds) as Build[]) {
  const kubectl = ensureKubectl();
  const out = {} as Record<Build, K8sObject[]>;
  for (const name of names) out[name] = kustomizeBuild(kubectl, join(deployDir, builds[name]));
  return out;
}
