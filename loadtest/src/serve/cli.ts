import { parseArgs } from 'node:util';
import type { WireShape } from '@kvroute/vllm-events';
import type { NumberFlag } from '../cli-args.js';
import { numberFlag, UsageError } from '../cli-args.js';
import type { SimFleetOptions } from './fleet.js';
import { startSimFleet } from './fleet.js';

export const SIM_SERVE_USAGE = `kvroute sim serve --pods N [options]

Simulated vLLM pods on the real clock: OpenAI HTTP, /metrics, KV events over ZMQ.

  --pods N             pods to start (default 2)
  --port P             pod i: HTTP P+3i, ZMQ PUB P+3i+1, replay P+3i+2 (default 8000; 0 = free ports)
  --host H             interface to bind (default 127.0.0.1)
  --model M            served model name (default Qwen/Qwen3-0.6B)
  --tokenizer T        qwen3 | llama3 (shipped in npm) | a model directory; default: kvroute's
                       approximate ids (the router's no-tokenizer mode)
  --time-scale F       run the latency model F× faster than real time (default 1)
  --capacity-tokens T  KV capacity per pod in tokens, ≥ 16 (one block; default 1000000)
  --wire-shape S       array | array-map | map (default map, current vLLM)
  --bytes-hashes       block hashes as 32-byte strings instead of ints
  --topic T            ZMQ topic frame (default empty, as vLLM)`;

export interface SimServeIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stops the fleet when aborted (in place of SIGTERM / SIGINT). */
  signal?: AbortSignal;
}

export function parseSimServeArgs(argv: string[]): SimFleetOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      pods: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      model: { type: 'string' },
      tokenizer: { type: 'string' },
      'time-scale': { type: 'string' },
      'capacity-tokens': { type: 'string' },
      'wire-shape': { type: 'string' },
      'bytes-hashes': { type: 'boolean', default: false },
      topic: { type: 'string' },
    },
  });
  const shape = values['wire-shape'] ?? 'map';
  if (shape !== 'array' && shape !== 'array-map' && shape !== 'map')
    throw new UsageError(`--wire-shape must be array, array-map or map, got ${shape}`);
  const flag = (name: string, raw: string | undefined, def: number, o: NumberFlag) =>
    raw === undefined ? def : numberFlag(name, raw, o);
  const timeScale = flag('time-scale', values['time-scale'], 1, { min: 0, minExclusive: true });
  return {
    pods: flag('pods', values.pods, 2, { min: 1, integer: true }),
    basePort: flag('port', values.port, 8000, { min: 0, integer: true }),
    host: values.host ?? '127.0.0.1',
    model: values.model ?? 'Qwen/Qwen3-0.6B',
    tokenizerDir: values.tokenizer,
    timeScale,
    capacityTokens: flag('capacity-tokens', values['capacity-tokens'], 1_000_000, {
      min: 16,
      integer: true,
    }),
    wireShape: shape as WireShape,
    bytesHashes: values['bytes-hashes'],
    topic: values.topic,
  };
}

/**
 * `kvroute sim serve`: starts the fleet, prints one line per pod, runs until
 * SIGTERM / SIGINT (or `io.signal`), then stops it. Exit code 0, 2 on bad
 * arguments, 1 when the fleet cannot start.
 */
export async function simServeCli(argv: string[], io: SimServeIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  if (argv.includes('--help') || argv.includes('-h')) {
    out(`usage: ${SIM_SERVE_USAGE}`);
    return 0;
  }
  let options: SimFleetOptions;
  try {
    options = parseSimServeArgs(argv);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`kvroute sim serve: ${(e as Error).message}\n\nusage: ${SIM_SERVE_USAGE}`);
      return 2;
    }
    throw e;
  }
  let failures = 0;
  const fleet = await startSimFleet({
    ...options,
    onError: (e) => {
      if (failures++ < 10) err(`sim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    },
  }).catch((e: unknown) => {
    err(`kvroute sim serve: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  });
  if (!fleet) return 1;
  out(
    `${fleet.pods.length} simulated vLLM pods · model ${options.model} · time scale ${options.timeScale} · tokenizer ${options.tokenizerDir ?? 'approximate'}`,
  );
  for (const p of fleet.pods)
    out(
      `${p.name}  http://${p.address}  kv-events ${p.zmqEndpoint}  replay ${p.replayEndpoint}  metrics ${p.metricsUrl}`,
    );
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGTERM', done);
      process.off('SIGINT', done);
      io.signal?.removeEventListener('abort', done);
      resolve();
    };
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
    if (io.signal?.aborted) done();
    io.signal?.addEventListener('abort', done, { once: true });
  });
  await fleet.stop();
  return 0;
}
