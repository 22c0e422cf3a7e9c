import { readFileSync } from 'node:fs';
import type { PolicyConfig } from '@kvroute/routing';
import { parsePolicyConfig, PolicyConfigError } from '@kvroute/routing';
import type { ConfigOf } from '@kvroute/runtime';
import { ConfigError, logLevelSetting, natsSettings, setting } from '@kvroute/runtime';
import { parse as parseYaml } from 'yaml';

const { natsUrl, ...natsOptional } = natsSettings;

export const routerSettings = {
  natsUrl: setting.optString({
    flag: 'nats',
    env: natsUrl.env!,
    help: 'NATS server URL(s); omit to route among static pods only',
  }),
  ...natsOptional,
  port: setting.int({
    flag: 'port',
    env: 'KVROUTE_PORT',
    help: 'HTTP port',
    default: 8080,
    min: 0,
    max: 65535,
  }),
  index: setting.string({
    flag: 'index',
    env: 'KVROUTE_INDEX',
    help: 'embedded: consume the event stream here; remote: ask indexer shards',
    default: 'embedded',
    choices: ['embedded', 'remote'],
  }),
  config: setting.optString({
    flag: 'config',
    env: 'KVROUTE_CONFIG',
    help: 'YAML or JSON file: per-model policy, tokenizer, block size, static pods',
  }),
  podTimeout: setting.duration({
    flag: 'pod-timeout',
    env: 'KVROUTE_POD_TIMEOUT',
    help: 'a pod missing heartbeats this long gets no requests',
    default: 3000,
    min: 100,
  }),
  lookupTimeout: setting.duration({
    flag: 'lookup-timeout',
    env: 'KVROUTE_LOOKUP_TIMEOUT',
    help: 'remote index: wait this long for shard replies',
    default: 50,
    min: 1,
  }),
  speculativeTtl: setting.duration({
    flag: 'speculative-ttl',
    env: 'KVROUTE_SPECULATIVE_TTL',
    help: 'how long a routed prefix counts as cached before events confirm it',
    default: 5000,
    min: 0,
  }),
  memoryBudget: setting.bytes({
    flag: 'memory-budget',
    env: 'KVROUTE_MEMORY_BUDGET',
    help: 'embedded index memory budget per model',
    default: 1024 ** 3,
    min: 1024 ** 2,
  }),
  maxBodyBytes: setting.bytes({
    flag: 'max-body',
    env: 'KVROUTE_MAX_BODY',
    help: 'largest accepted request body',
    default: 16 * 1024 ** 2,
  }),
  upstreamTimeout: setting.duration({
    flag: 'upstream-timeout',
    env: 'KVROUTE_UPSTREAM_TIMEOUT',
    help: 'gateway: time allowed for a pod to start answering',
    default: 600_000,
    min: 100,
  }),
  connectTimeout: setting.duration({
    flag: 'connect-timeout',
    env: 'KVROUTE_CONNECT_TIMEOUT',
    help: 'gateway: time allowed to connect to a pod before trying the next',
    default: 3000,
    min: 10,
  }),
  routeMaxTokens: setting.int({
    flag: 'route-max-tokens',
    env: 'KVROUTE_ROUTE_MAX_TOKENS',
    help: 'leading tokens of a request routed on (text is cut at 4 characters a token first)',
    default: 131_072,
    min: 256,
  }),
  bodyIdleTimeout: setting.duration({
    flag: 'body-idle-timeout',
    env: 'KVROUTE_BODY_IDLE_TIMEOUT',
    help: 'gateway: longest silence between two chunks of a response before it is cut',
    default: 300_000,
    min: 100,
  }),
  ejectionTime: setting.duration({
    flag: 'ejection-time',
    env: 'KVROUTE_EJECTION_TIME',
    help: 'gateway: a pod that refuses a connection gets no requests this long, doubling per failure (0: never ejected)',
    default: 2000,
    min: 0,
  }),
  maxEjectionTime: setting.duration({
    flag: 'max-ejection-time',
    env: 'KVROUTE_MAX_EJECTION_TIME',
    help: 'gateway: the longest ejection',
    default: 60_000,
    min: 0,
  }),
  logLevel: logLevelSetting,
};

export type RouterSettings = ConfigOf<typeof routerSettings>;
export const ROUTER_USAGE =
  'kvroute router --nats <url> [--index embedded|remote] [--port 8080] [--config file]';

/** Per-model settings from the config file. */
export interface ModelSettings {
  policy: PolicyConfig;
  /** Directory holding tokenizer.json (and tokenizer_config.json); none → approximate mode for text. */
  tokenizer?: string;
  /** Used until heartbeats tell the engine's block size. */
  blockSize: number;
  /** Pods for setups without publishers: always candidates. */
  pods: string[];
  /** Expected output tokens when a request does not say (for load estimates). */
  expectedOutputTokens: number;
}

export interface RouterFileConfig {
  defaults: ModelSettings;
  models: Record<string, ModelSettings>;
}

export const DEFAULT_MODEL_SETTINGS: ModelSettings = {
  policy: { preset: 'default' },
  blockSize: 16,
  pods: [],
  expectedOutputTokens: 256,
};

function modelSettings(raw: unknown, base: ModelSettings, where: string): ModelSettings {
  if (raw === undefined || raw === null) return base;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${where} must be a mapping`);
  const r = raw as Record<string, unknown>;
  const known = ['policy', 'tokenizer', 'blockSize', 'pods', 'expectedOutputTokens'];
  for (const k of Object.keys(r))
    if (!known.includes(k))
      throw new ConfigError(`${where}.${k} is not a known setting (${known.join(', ')})`);
  const out: ModelSettings = { ...base };
  if (r.policy !== undefined) {
    try {
      out.policy = parsePolicyConfig(
        typeof r.policy === 'string' ? { preset: r.policy } : r.policy,
      );
    } catch (e) {
      if (e instanceof PolicyConfigError) throw new ConfigError(`${where}.policy: ${e.message}`);
      throw e;
    }
  }
  if (r.tokenizer !== undefined) {
    if (typeof r.tokenizer !== 'string' || r.tokenizer === '')
      throw new ConfigError(`${where}.tokenizer must be a directory path`);
    out.tokenizer = r.tokenizer;
  }
  if (r.blockSize !== undefined) {
    if (typeof r.blockSize !== 'number' || !Number.isInteger(r.blockSize) || r.blockSize < 1)
      throw new ConfigError(`${where}.blockSize must be a positive integer`);
    out.blockSize = r.blockSize;
  }
  if (r.pods !== undefined) {
    if (
      !Array.isArray(r.pods) ||
      !r.pods.every((p) => typeof p === 'string' && /^[^\s:]+:\d+$/.test(p))
    ) {
      throw new ConfigError(`${where}.pods must be a list of host:port`);
    }
    out.pods = r.pods as string[];
  }
  if (r.expectedOutputTokens !== undefined) {
    if (typeof r.expectedOutputTokens !== 'number' || r.expectedOutputTokens < 0)
      throw new ConfigError(`${where}.expectedOutputTokens must be a non-negative number`);
    out.expectedOutputTokens = r.expectedOutputTokens;
  }
  return out;
}

/**
 * A static pod serves one model: pods are tracked by address (load, in-flight requests), so
 * one address under two models would be counted as the later one only, and the first model
 * would find no pod. Throws ConfigError naming the pod and both models.
 */
export function checkStaticPods(models: Readonly<Record<string, ModelSettings>>, source: string) {
  const owner = new Map<string, string>();
  for (const [model, s] of Object.entries(models)) {
    for (const pod of s.pods) {
      const other = owner.get(pod);
      if (other !== undefined && other !== model)
        throw new ConfigError(
          `${source}: pod ${pod} is listed under models.${other} and models.${model}; a pod serves one model (give each model its own pods)`,
        );
      owner.set(pod, model);
    }
  }
}

/** Parses the router config file (YAML or JSON; JSON is YAML). */
export function parseRouterConfig(text: string, source = 'config'): RouterFileConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError(`${source}: the top level must be a mapping`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (k !== 'defaults' && k !== 'models')
      throw new ConfigError(`${source}: unknown top-level key ${k} (defaults, models)`);
  const defaults = modelSettings(r.defaults, DEFAULT_MODEL_SETTINGS, `${source}: defaults`);
  // Keys come from the file: a model may be called "__proto__" and must stay a model.
  const models = Object.create(null) as Record<string, ModelSettings>;
  if (r.models !== undefined) {
    if (typeof r.models !== 'object' || r.models === null || Array.isArray(r.models))
      throw new ConfigError(`${source}: models must be a mapping of model name to settings`);
    for (const [name, m] of Object.entries(r.models))
      models[name] = modelSettings(m, defaults, `${source}: models.${name}`);
  }
  checkStaticPods(models, source);
  return { defaults, models };
}

export function loadRouterConfig(path: string | undefined): RouterFileConfig {
  if (!path) return { defaults: DEFAULT_MODEL_SETTINGS, models: {} };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `cannot read --config / KVROUTE_CONFIG file ${path}: ${(e as Error).message}`,
    );
  }
  return parseRouterConfig(text, path);
}
