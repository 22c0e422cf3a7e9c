import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { WireShape } from '@kvroute/vllm-events';
import { encodeVllmBatch } from '@kvroute/vllm-events';
import { EngineModel } from '../engine/engine.js';
import type { EngineOptions } from '../engine/engine.js';
import { toVllmBatch } from './kv-events.js';
import { createServeApp } from './openai-app.js';
import { RealtimeEngine } from './realtime-engine.js';
import type { RequestTokenizer } from './tokenization.js';
import { VllmMetrics } from './vllm-metrics.js';
import { ZmqEventPublisher } from './zmq-event-publisher.js';

export interface SimPodOptions {
  /** Served model name (HTTP `model`, metrics `model_name`). */
  model: string;
  tokenizer: RequestTokenizer;
  /** Interface for HTTP and ZMQ (default 127.0.0.1). */
  host?: string;
  /** 0 (default) picks free ports. */
  httpPort?: number;
  pubPort?: number;
  replayPort?: number;
  /** Model time per wall time (default 1). */
  timeScale?: number;
  /** KV capacity in tokens (default 1 000 000). */
  capacityTokens?: number;
  engine?: Partial<EngineOptions>;
  wireShape?: WireShape;
  bytesHashes?: boolean;
  /** ZMQ topic frame (vLLM default: empty). */
  topic?: string;
  /** Batches kept for replay (default 10 000). */
  bufferSteps?: number;
  /** vLLM `max_model_len` (default: the KV capacity, at most 131 072). */
  maxModelLen?: number;
  /** Output tokens when a request sets no max_tokens (default 64). */
  defaultMaxTokens?: number;
  /** Salt of the engine's block hashes (default random, as vLLM's NONE_HASH). */
  hashSalt?: string;
  /** A bug surfaced while serving (bad input is answered with 4xx, never reported here); default: stderr. */
  onError?(error: unknown): void;
}

export interface SimPod {
  /** host:port of the HTTP server. */
  readonly address: string;
  readonly url: string;
  readonly metricsUrl: string;
  /** Where a SUB socket connects for KV events. */
  readonly zmqEndpoint: string;
  readonly replayEndpoint: string;
  readonly engine: EngineModel;
  readonly driver: RealtimeEngine;
  readonly publisher: ZmqEventPublisher;
  stop(): Promise<void>;
}

export const DEFAULT_CAPACITY_TOKENS = 1_000_000;
const MAX_MODEL_LEN = 131_072;

/**
 * One simulated vLLM pod: the engine model on the real clock behind an
 * OpenAI-compatible HTTP server with vLLM's `/metrics`, publishing its KV
 * events over ZMQ PUB with a replay ROUTER. The engine's block hashes chain
 * from a per-pod random root (vLLM's random NONE_HASH), so they are never
 * kvroute's keys: consumers must recompute keys from the token ids.
 */
export async function startSimPod(o: SimPodOptions): Promise<SimPod> {
  const host = o.host ?? '127.0.0.1';
  const capacityTokens = o.capacityTokens ?? o.engine?.capacityTokens ?? DEFAULT_CAPACITY_TOKENS;
  const hashSalt = o.hashSalt ?? o.engine?.hashSalt ?? randomBytes(8).toString('hex');
  const onError =
    o.onError ??
    ((e: unknown) =>
      process.stderr.write(`sim pod: ${e instanceof Error ? e.stack : String(e)}\n`));
  const engine = new EngineModel({ ...o.engine, capacityTokens, model: o.model, hashSalt });
  const publisher = await ZmqEventPublisher.start({
    host,
    pubPort: o.pubPort ?? 0,
    replayPort: o.replayPort ?? 0,
    topic: o.topic,
    bufferSteps: o.bufferSteps,
  });
  const encode = { shape: o.wireShape ?? 'map', bytesHashes: o.bytesHashes ?? false } as const;
  // Steps only run after a request arrives, when `metrics` exists.
  const driver = new RealtimeEngine(engine, {
    timeScale: o.timeScale ?? 1,
    onStepEnd(r) {
      metrics.onStepEnd();
      if (r.events.length === 0) return;
      const batch = toVllmBatch(r.events, engine.blockSize, Date.now() / 1000);
      publisher.publish(encodeVllmBatch(batch, encode));
    },
    onError,
  });
  const metrics = new VllmMetrics({
    model: o.model,
    engine,
    clockSlipMs: () => driver.clockSlipMs,
  });
  const capacity = Number.isFinite(capacityTokens)
    ? Math.floor(capacityTokens / engine.blockSize) * engine.blockSize
    : MAX_MODEL_LEN;
  const app = createServeApp({
    limits: {
      model: o.model,
      maxModelLen: o.maxModelLen ?? Math.min(capacity, MAX_MODEL_LEN),
      defaultMaxTokens: o.defaultMaxTokens ?? 64,
    },
    tokenizer: o.tokenizer,
    engine: driver,
    metrics,
    onError,
  });
  let server: Server;
  let port: number;
  try {
    [server, port] = await new Promise<[Server, number]>((resolve, reject) => {
      const s = serve(
        { fetch: app.fetch, port: o.httpPort ?? 0, hostname: host },
        (info: AddressInfo) => resolve([s as Server, info.port]),
      );
      s.once('error', reject);
    });
  } catch (e) {
    driver.close();
    await publisher.close();
    throw e;
  }
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${h}:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    address: `${h}:${port}`,
    url,
    metricsUrl: `${url}/metrics`,
    zmqEndpoint: publisher.endpoint,
    replayEndpoint: publisher.replayEndpoint,
    engine,
    driver,
    publisher,
    stop() {
      stopped ??= (async () => {
        // Requests end first (streams close, whole responses answer), then connections.
        driver.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          setImmediate(() => server.closeAllConnections());
        });
        await publisher.close();
      })();
      return stopped;
    },
  };
}
