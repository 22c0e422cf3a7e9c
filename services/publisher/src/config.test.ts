import { ConfigError } from '@kvroute/runtime';
import { describe, expect, it } from 'vitest';
import { parsePublisherConfig } from './config.js';

const base = [
  '--nats',
  'nats://127.0.0.1:4222',
  '--model',
  'llama',
  '--pod',
  '10.0.0.7:8000',
  '--zmq',
  'tcp://127.0.0.1:5557',
];

function error(argv: string[], env: Record<string, string> = {}): string {
  try {
    parsePublisherConfig(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('publisher config', () => {
  it('reads flags and KVROUTE_* variables with the documented defaults', () => {
    const c = parsePublisherConfig(base, {});
    expect(c).toMatchObject({
      model: 'llama',
      pod: '10.0.0.7:8000',
      zmqEndpoint: 'tcp://127.0.0.1:5557',
      zmqReplayEndpoint: undefined,
      zmqBind: false,
      topic: undefined,
      role: 'both',
      port: 8090,
      heartbeatIntervalMs: 200,
      coalesceMs: 2,
      maxBlocks: 1_000_000,
    });
    const e = parsePublisherConfig([], {
      KVROUTE_NATS_URL: 'nats://n:4222',
      KVROUTE_MODEL: 'm',
      KVROUTE_POD: 'pod-0.vllm.svc:8000',
      KVROUTE_ZMQ_ENDPOINT: 'tcp://*:5557',
      KVROUTE_ZMQ_REPLAY_ENDPOINT: 'tcp://127.0.0.1:5558',
      KVROUTE_ZMQ_BIND: 'true',
      KVROUTE_TOPIC: 'kv@',
      KVROUTE_METRICS_URL: 'http://127.0.0.1:8000/metrics',
      KVROUTE_ROLE: 'decode',
      KVROUTE_PORT: '9100',
      KVROUTE_HEARTBEAT_INTERVAL: '100ms',
      KVROUTE_COALESCE: '0',
      KVROUTE_MAX_BLOCKS: '5000',
    });
    expect(e).toMatchObject({
      zmqBind: true,
      zmqReplayEndpoint: 'tcp://127.0.0.1:5558',
      topic: 'kv@',
      role: 'decode',
      port: 9100,
      heartbeatIntervalMs: 100,
      coalesceMs: 0,
      maxBlocks: 5000,
    });
    expect(parsePublisherConfig([...base, '--pod', '[::1]:8000'], {}).pod).toBe('[::1]:8000');
  });

  it('names the setting that is missing or invalid', () => {
    expect(error(base.slice(2))).toMatch(/--nats \/ KVROUTE_NATS_URL/);
    expect(error(base.filter((_, i) => i !== 2 && i !== 3))).toMatch(
      /missing required setting --model \/ KVROUTE_MODEL/,
    );
    expect(error([...base, '--pod', 'just-a-host'])).toMatch(/invalid --pod \/ KVROUTE_POD/);
    expect(error([...base, '--zmq', '127.0.0.1:5557'])).toMatch(
      /invalid --zmq \/ KVROUTE_ZMQ_ENDPOINT/,
    );
    expect(error([...base, '--zmq-replay', 'nope'])).toMatch(
      /--zmq-replay \/ KVROUTE_ZMQ_REPLAY_ENDPOINT/,
    );
    expect(error([...base, '--metrics-url', 'ftp://x/metrics'])).toMatch(
      /--metrics-url \/ KVROUTE_METRICS_URL/,
    );
    expect(error([...base, '--role', 'router'])).toMatch(
      /--role \/ KVROUTE_ROLE.*both\|prefill\|decode/,
    );
    expect(error([...base, '--heartbeat-interval', '1s'])).toMatch(
      /--heartbeat-interval.*at most 200/,
    );
    expect(error(base, { KVROUTE_PORT: 'eighty' })).toMatch(/--port \/ KVROUTE_PORT/);
    expect(error([...base, '--max-blocks', '1.5'])).toMatch(/--max-blocks/);
    expect(error([...base, '--frobnicate'])).toMatch(/frobnicate/);
  });

  it('accepts only endpoints, ports and timeouts that can work', () => {
    expect(error([...base, '--zmq', 'tcp://127.0.0.1:*'])).toMatch(
      /invalid --zmq \/ KVROUTE_ZMQ_ENDPOINT.*wildcard port only makes sense with --zmq-bind/,
    );
    expect(
      parsePublisherConfig([...base, '--zmq', 'tcp://*:*', '--zmq-bind'], {}).zmqEndpoint,
    ).toBe('tcp://*:*');
    expect(error([...base, '--zmq-replay', 'tcp://127.0.0.1:*'])).toMatch(
      /--zmq-replay .*wildcard port/,
    );
    expect(error([...base, '--zmq', 'tcp://127.0.0.1:99999'])).toMatch(
      /invalid --zmq .*port must be 1-65535/,
    );
    expect(error([...base, '--zmq', 'tcp://127.0.0.1:0'])).toMatch(/port must be 1-65535/);
    expect(error([...base, '--zmq-replay', 'tcp://h:70000'])).toMatch(/--zmq-replay .*1-65535/);
    expect(parsePublisherConfig([...base, '--zmq', 'ipc:///tmp/kv.sock'], {}).zmqEndpoint).toBe(
      'ipc:///tmp/kv.sock',
    );
    expect(error([...base, '--replay-timeout', '2h'])).toMatch(
      /--replay-timeout \/ KVROUTE_ZMQ_REPLAY_TIMEOUT.*at most 60000/,
    );
    expect(error([...base, '--replay-timeout', '1000h'])).toMatch(/--replay-timeout .*at most/);
    expect(error([...base, '--scrape-timeout', '1m'])).toMatch(/--scrape-timeout.*at most 10000/);
    expect(parsePublisherConfig([...base, '--replay-timeout', '1m'], {}).replayTimeoutMs).toBe(
      60_000,
    );
  });
});
