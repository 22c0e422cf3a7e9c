import type { K8sObject } from './kubectl.js';

/**
 * NetworkPolicy ingress semantics, enough to ask "may this pod reach that
 * one on this port" of rendered policies: a pod selected by no policy of its
 * namespace admits everything; a selected pod admits what any selecting
 * policy's rules admit (policies add up). A peer with only a podSelector
 * means pods of the policy's namespace; namespaces carry the
 * kubernetes.io/metadata.name label the API server sets. Numeric ports only.
 */
export interface Pod {
  namespace: string;
  labels: Record<string, string>;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface Rule {
  from?: Peer[];
  ports?: { protocol?: string; port?: number | string; endPort?: number }[];
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes?: string[];
  ingress?: Rule[];
}

export function matches(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value!)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : undefined;
    if (ok === undefined) throw new Error(`unknown selector operator ${e.operator}`);
    if (!ok) return false;
  }
  return true;
}

function peerAdmits(peer: Peer, policyNamespace: string, from: Pod): boolean {
  if (peer.ipBlock) throw new Error('ipBlock peers are not modelled');
  const nsLabels = { 'kubernetes.io/metadata.name': from.namespace };
  const nsOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, nsLabels)
    : from.namespace === policyNamespace;
  const podOk = peer.podSelector ? matches(peer.podSelector, from.labels) : true;
  return nsOk && podOk;
}

function ruleAdmits(rule: Rule, policyNamespace: string, from: Pod, port: number): boolean {
  const peers = rule.from ?? [];
  if (peers.length > 0 && !peers.some((p) => peerAdmits(p, policyNamespace, from))) return false;
  const ports = rule.ports ?? [];
  if (ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    if (typeof p.port !== 'number') throw new Error(`named port ${p.port} is not modelled`);
    return p.endPort === undefined ? p.port === port : port >= p.port && port <= p.endPort;
  });
}

/** Whether the policies admit a TCP connection from `from` to `to` on `port`. */
export function admits(policies: K8sObject[], from: Pod, to: Pod, port: number): boolean {
  const selecting = policies
    .filter((p) => p.kind === 'NetworkPolicy' && (p.metadata.namespace ?? '') === to.namespace)
    .map((p) => p.spec as PolicySpec)
    .filter((s) => (s.policyTypes ?? ['Ingress']).includes('Ingress'))
    .filter((s) => matches(s.podSelector, to.labels));
  if (selecting.length === 0) return true;
  return selecting.some((s) =>
    (s.ingress ?? []).some((r) => ruleAdmits(r, to.namespace, from, port)),
  );
}
