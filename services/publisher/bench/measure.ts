import { memoryBytes, percentile, throughput } from '@kvroute/bench-kit';
import { createBlockKeyer } from '@kvroute/block-keys';
import { encodeEventBatch } from '@kvroute/protocol';
import type { Bus } from '@kvroute/runtime';
import { decodeVllmBatch } from '@kvroute/vllm-events';
import { Subscriber } from 'zeromq';
import { BlockTable, GPU } from '../src/block-table.js';
import { Translator } from '../src/translate.js';
import type { PhaseResult } from './engine-worker.js';
import { enginePayloads, RELAY_SUBJECT } from './workload.js';

/** Decode + canonical keys + table + encode on one core, no sockets: the publisher's ceiling. */
export function pipelineBlocksPerSec(ms: number): number {
  const payloads = enginePayloads(2000, 10, 9);
  const noop = () => undefined;
  const t = new Translator('bench-model', createBlockKeyer(), new BlockTable(1 << 20), {
    eventIn: noop,
    unresolvedParent: noop,
    unknownHash: noop,
    capacityDrop: noop,
    ignoredGroup: noop,
  });
  let i = 0;
  const r = throughput(
    () => {
      const events = t.translate(decodeVllmBatch(payloads[i++ % payloads.length]!));
      encodeEventBatch({ pod: 'p:1', model: 'm', epoch: 'e', seq: i, ts: 1, events });
    },
    10,
    ms,
  );
  return r.medianOpsPerSec;
}

/** Heap + array-buffer bytes per tracked block, from a table filled with `n` present blocks. */
export function bytesPerBlock(n: number): number {
  const before = memoryBytes();
  const t = new BlockTable(n);
  for (let i = 0; i < n; i++) t.put(Math.imul(i + 1, 0x9e3779b1) >>> 0, i, i, i, 0, GPU);
  const after = memoryBytes();
  if (t.count(GPU) !== n) throw new Error('table did not fill');
  return (after - before) / n;
}

/** The floor under the publisher: a bare SUB socket relaying each payload to NATS untouched. */
export function startRelay(endpoint: string, bus: Bus): { close(): Promise<void> } {
  const sub = new Subscriber({ receiveHighWaterMark: 100_000, linger: 0 });
  sub.subscribe();
  sub.connect(endpoint);
  const loop = (async () => {
    for await (const frames of sub) bus.publish(RELAY_SUBJECT, frames[frames.length - 1]!);
  })().catch(() => undefined);
  return {
    close: async () => {
      sub.close();
      await loop;
    },
  };
}

export interface Latency {
  p50: number;
  p99: number;
}

/** Per engine batch, send → delivery; NaN when not every batch arrived (the pairing would be off). */
export function latency(r: PhaseResult, batches: number): Latency {
  if (r.received !== batches) return { p50: NaN, p99: NaN };
  const d = Float64Array.from(r.recvMs, (t, i) => t - r.sendMs[i]!).sort();
  return { p50: percentile(d, 50), p99: percentile(d, 99) };
}
