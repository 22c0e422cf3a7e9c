import type { ConfigOf } from '@kvroute/runtime';
import { ConfigError, logLevelSetting, natsSettings, parseConfig, setting } from '@kvroute/runtime';

/** Everything `kvroute publisher` accepts, as flags and `KVROUTE_*` environment variables. */
export const publisherSettings = {
  ...natsSettings,
  model: setting.string({
    flag: 'model',
    env: 'KVROUTE_MODEL',
    help: 'served model name (the block-key root and the subject of every message)',
    required: true,
  }),
  pod: setting.string({
    flag: 'pod',
    env: 'KVROUTE_POD',
    help: "the engine's serving address host:port: the identity the router returns",
    required: true,
  }),
  zmqEndpoint: setting.string({
    flag: 'zmq',
    env: 'KVROUTE_ZMQ_ENDPOINT',
    help: "the engine's KV-event PUB endpoint, e.g. tcp://127.0.0.1:5557",
    required: true,
  }),
  zmqReplayEndpoint: setting.optString({
    flag: 'zmq-replay',
    env: 'KVROUTE_ZMQ_REPLAY_ENDPOINT',
    help: "the engine's replay ROUTER endpoint; without it, missed events cannot be recovered",
  }),
  zmqBind: setting.bool({
    flag: 'zmq-bind',
    env: 'KVROUTE_ZMQ_BIND',
    help: 'bind the event endpoint (for engines that connect out) instead of connecting',
    default: false,
  }),
  topic: setting.optString({
    flag: 'topic',
    env: 'KVROUTE_TOPIC',
    help: 'subscribe to this topic prefix only (default: every topic)',
  }),
  metricsUrl: setting.optString({
    flag: 'metrics-url',
    env: 'KVROUTE_METRICS_URL',
    help: "the engine's Prometheus endpoint, e.g. http://127.0.0.1:8000/metrics",
  }),
  role: setting.string({
    flag: 'role',
    env: 'KVROUTE_ROLE',
    help: 'what the pod serves',
    default: 'both',
    choices: ['both', 'prefill', 'decode'],
  }),
  port: setting.int({
    flag: 'port',
    env: 'KVROUTE_PORT',
    help: 'HTTP port for /healthz, /readyz and /metrics',
    default: 8090,
    min: 0,
    max: 65535,
  }),
  heartbeatIntervalMs: setting.duration({
    flag: 'heartbeat-interval',
    env: 'KVROUTE_HEARTBEAT_INTERVAL',
    help: 'heartbeat (and engine scrape) period; at most 200ms keeps the ≥ 5 Hz contract',
    default: 200,
    min: 10,
    max: 200,
  }),
  coalesceMs: setting.duration({
    flag: 'coalesce',
    env: 'KVROUTE_COALESCE',
    help: 'longest time small engine batches are held to merge them (0: never hold)',
    default: 2,
    min: 0,
    max: 100,
  }),
  maxBlocks: setting.int({
    flag: 'max-blocks',
    env: 'KVROUTE_MAX_BLOCKS',
    help: 'engine blocks tracked at most (GPU + offloaded), about 50–75 bytes each',
    default: 1_000_000,
    min: 16,
    max: 100_000_000,
  }),
  blockSize: setting.int({
    flag: 'block-size',
    env: 'KVROUTE_BLOCK_SIZE',
    help: 'tokens per block to announce until the engine reports its own',
    default: 16,
    min: 1,
    max: 65536,
  }),
  replayTimeoutMs: setting.duration({
    flag: 'replay-timeout',
    env: 'KVROUTE_ZMQ_REPLAY_TIMEOUT',
    help: 'give up on a replay that sends nothing for this long',
    default: 2000,
    min: 10,
    max: 60_000,
  }),
  scrapeTimeoutMs: setting.duration({
    flag: 'scrape-timeout',
    env: 'KVROUTE_SCRAPE_TIMEOUT',
    help: "give up on one scrape of the engine's /metrics after this long",
    default: 500,
    min: 10,
    max: 10_000,
  }),
  outageBufferBytes: setting.bytes({
    flag: 'outage-buffer',
    env: 'KVROUTE_OUTAGE_BUFFER',
    help: 'event bytes held for NATS while disconnected; beyond it batches are dropped (and counted)',
    default: 8 * 1024 ** 2,
    min: 0,
  }),
  logLevel: logLevelSetting,
};

export type PublisherConfig = ConfigOf<typeof publisherSettings>;

export const PUBLISHER_USAGE =
  'kvroute publisher --nats <url> --model <name> --pod <host:port> --zmq <endpoint> [--zmq-replay <endpoint>] [options]';

const ZMQ_ENDPOINT = /^(?:tcp:\/\/(\S+):(\d{1,5}|\*)|ipc:\/\/\S+|inproc:\/\/\S+)$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * Parses and validates once. Every problem is a ConfigError naming the flag and
 * the environment variable, so the operator knows what to fix.
 */
export function parsePublisherConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): PublisherConfig {
  const c = parseConfig(publisherSettings, argv, env);
  const bad = (key: keyof typeof publisherSettings, why: string): never => {
    const s = publisherSettings[key];
    throw new ConfigError(`invalid --${s.flag}${s.env ? ` / ${s.env}` : ''} (${key}): ${why}`);
  };
  const pod = HOST_PORT.exec(c.pod);
  if (!pod || Number(pod[2]) > 65535)
    bad('pod', `expected the engine's serving address host:port, got ${JSON.stringify(c.pod)}`);
  const endpointProblem = endpoint(c.zmqEndpoint, c.zmqBind);
  if (endpointProblem) bad('zmqEndpoint', endpointProblem);
  const replayProblem =
    c.zmqReplayEndpoint === undefined ? undefined : endpoint(c.zmqReplayEndpoint, false);
  if (replayProblem) bad('zmqReplayEndpoint', replayProblem);
  if (c.metricsUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(c.metricsUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      bad('metricsUrl', `expected an http(s) URL, got ${c.metricsUrl}`);
  }
  return c;
}

/** Why a ZMQ endpoint is unusable, or undefined. The replay endpoint is always connected to. */
function endpoint(text: string, bind: boolean): string | undefined {
  const m = ZMQ_ENDPOINT.exec(text);
  if (!m) return `expected tcp://host:port, ipc://path or inproc://name, got ${text}`;
  const port = m[2];
  if (port === undefined) return undefined; // ipc, inproc
  if (port === '*') {
    return bind ? undefined : `a wildcard port only makes sense with --zmq-bind, got ${text}`;
  }
  const n = Number(port);
  return n >= 1 && n <= 65535 ? undefined : `port must be 1-65535, got ${text}`;
}
