import type { NatsSettings, Registry } from '@kvroute/runtime';
import { connectNats, createLogger, Registry as PromRegistry } from '@kvroute/runtime';
import type { Bus } from '@kvroute/runtime';
import type { VllmEventBatch, BlockStored, BlockRemoved, VllmEvent } from '@kvroute/vllm-events';
import type { Publisher, PublisherOptions } from '../publisher.js';
import { createPublisher } from '../publisher.js';
import type { FakeEngineOptions } from './fake-engine.js';
import { FakeEngine } from './fake-engine.js';
import { StreamObserver, until } from './stream-observer.js';

export const silentLog = createLogger('test', process.env.KVROUTE_TEST_LOG ?? 'silent');

export async function connectBus(url: string, name: string): Promise<Bus> {
  const s = { natsUrl: url } as NatsSettings;
  return (await connectNats(s, name, silentLog, { timeoutMs: 10_000 })).bus;
}

let n = 0;

export interface Rig {
  engine: FakeEngine;
  publisher: Publisher;
  observer: StreamObserver;
  registry: Registry;
  pod: string;
  model: string;
  close(): Promise<void>;
}

/**
 * An engine stand-in, a publisher on `pubBus` subscribed to it, and an
 * observer on `obsBus`; resolves once the publisher's SUB socket is connected
 * (and a moment more for the subscription to reach the engine's PUB).
 */
export async function startRig(
  pubBus: Bus,
  obsBus: Bus,
  o: {
    engine?: FakeEngineOptions;
    config?: Partial<PublisherOptions>;
    bindPort?: number;
    /** Runs on the engine before the publisher starts (what it sends then, only a replay can bring). */
    beforeStart?: (engine: FakeEngine) => Promise<void>;
  } = {},
): Promise<Rig> {
  n++;
  const pod = `10.1.0.${n}:8000`;
  const model = `model-${n}/test`;
  const bindEndpoint = o.bindPort ? `tcp://127.0.0.1:${o.bindPort}` : undefined;
  const registry = new PromRegistry();
  const observer = new StreamObserver(obsBus, model, pod);
  await obsBus.flush();
  let engine: FakeEngine | undefined;
  if (!bindEndpoint) engine = await FakeEngine.start(o.engine);
  if (engine && o.beforeStart) await o.beforeStart(engine);
  const publisher = createPublisher({
    bus: pubBus,
    config: {
      model,
      pod,
      zmqEndpoint: bindEndpoint ?? engine!.pubEndpoint,
      zmqReplayEndpoint: engine?.replayEndpoint,
      zmqBind: bindEndpoint !== undefined,
      heartbeatIntervalMs: 50,
      ...o.config,
    },
    log: silentLog,
    registry,
  });
  await publisher.start();
  if (bindEndpoint) engine = await FakeEngine.start({ ...o.engine, connectTo: bindEndpoint });
  if (!bindEndpoint) await until(() => publisher.ready(), 5000, 'ZMQ connected');
  await new Promise((r) => setTimeout(r, 150));
  const e = engine!;
  return {
    engine: e,
    publisher,
    observer,
    registry,
    pod,
    model,
    close: async () => {
      await publisher.stop();
      observer.close();
      await e.close();
    },
  };
}

/** Sum of a metric's values matching the labels. */
export async function metric(
  r: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = r.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
    )
    .filter((v) => !('metricName' in v) || v.metricName === name || v.metricName === undefined)
    .reduce((s, v) => s + v.value, 0);
}

export const BS = 16;

/** Deterministic tokens for `blocks` blocks. */
export function tokens(blocks: number, seed: number): Uint32Array {
  return Uint32Array.from(
    { length: blocks * BS },
    (_, i) => ((Math.imul(seed + 1, 2654435761) + i * 7919) % 120_000) >>> 0,
  );
}

export const hashes = (...h: number[]): Uint32Array =>
  Uint32Array.from(h.flatMap((x) => [x >>> 0, 0x5eed]));

export function stored(
  h: number[],
  parent: number | null,
  toks: Uint32Array,
  extra: Partial<BlockStored> = {},
): BlockStored {
  return {
    type: 'BlockStored',
    blockHashes: hashes(...h),
    parentBlockHash: parent === null ? null : hashes(parent),
    tokenIds: toks,
    blockSize: BS,
    loraId: null,
    medium: 'GPU',
    loraName: null,
    extraKeys: null,
    groupIdx: null,
    kvCacheSpecKind: null,
    kvCacheSpecSlidingWindow: null,
    ...extra,
  };
}

export const removed = (h: number[], medium: string | null = 'GPU'): BlockRemoved => ({
  type: 'BlockRemoved',
  blockHashes: hashes(...h),
  medium,
  groupIdx: null,
});

export const batch = (...events: VllmEvent[]): VllmEventBatch => ({
  ts: Date.now() / 1000,
  events,
  dataParallelRank: 0,
});
