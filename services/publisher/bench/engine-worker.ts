import { decodeEventBatch, slotOf, subjects } from '@kvroute/protocol';
import type { NatsSettings } from '@kvroute/runtime';
import { connectNats, createLogger } from '@kvroute/runtime';
import { Publisher } from 'zeromq';
import { enginePayloads, RELAY_SUBJECT } from './workload.js';

/**
 * The other side of the publisher, in its own process: the engine's PUB socket
 * and a NATS consumer of the canonical stream. Both stamp times with the same
 * high-resolution wall clock, so send → delivery latency is one subtraction.
 */
export interface WorkerInit {
  natsUrl: string;
  model: string;
  pod: string;
}

export interface PhaseRequest {
  batches: number;
  blocks: number;
  /** Batches per second; 0 sends as fast as the socket takes them. */
  rate: number;
  seed: number;
}

export interface PhaseResult {
  sendMs: Float64Array;
  /** Delivery time of the i-th stored event (the i-th engine batch), ms. */
  recvMs: Float64Array;
  received: number;
  receivedBlocks: number;
}

const clock = () => performance.timeOrigin + performance.now();
const init = JSON.parse(process.argv[2]!) as WorkerInit;
const send = (m: unknown) => process.send!(m);
const pub = new Publisher({ sendHighWaterMark: 1_000_000, linger: 0 });
await pub.bind('tcp://127.0.0.1:*');
const log = createLogger('bench-consumer', 'silent');
const { bus } = await connectNats({ natsUrl: init.natsUrl } as NatsSettings, 'bench-consumer', log);

let recv: number[] = [];
let blocks = 0;
bus.subscribe(subjects.events(init.model, slotOf(init.pod)), (m) => {
  const now = clock();
  for (const e of decodeEventBatch(m.data).events) {
    if (e.kind !== 'stored') continue;
    recv.push(now);
    blocks += e.keys.length >>> 1;
  }
});
// The transport floor: engine payloads relayed untouched, one message per engine batch.
bus.subscribe(RELAY_SUBJECT, () => {
  recv.push(clock());
  blocks += 1;
});
await bus.flush();

let seq = 0;
const topic = Buffer.from('kv@bench');
const seqFrame = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

async function run(p: PhaseRequest): Promise<PhaseResult> {
  const payloads = enginePayloads(p.batches, p.blocks, p.seed);
  recv = [];
  blocks = 0;
  const sendMs = new Float64Array(p.batches);
  const t0 = clock() + 5;
  for (let i = 0; i < p.batches; i++) {
    if (p.rate > 0) {
      const wait = t0 + (i * 1000) / p.rate - clock();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    sendMs[i] = clock();
    await pub.send([topic, seqFrame(seq++), payloads[i]!]);
  }
  const deadline = clock() + 10_000;
  while (recv.length < p.batches && clock() < deadline) await new Promise((r) => setTimeout(r, 5));
  return { sendMs, recvMs: Float64Array.from(recv), received: recv.length, receivedBlocks: blocks };
}

process.on('message', (msg: { phase?: PhaseRequest; close?: boolean }) => {
  if (msg.close) {
    void bus.close().then(() => {
      pub.close();
      process.disconnect();
    });
    return;
  }
  if (msg.phase) void run(msg.phase).then(send);
});
send({ endpoint: pub.lastEndpoint });
