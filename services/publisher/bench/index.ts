import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchReport } from '@kvroute/bench-kit';
import type { NatsSettings } from '@kvroute/runtime';
import { connectNats, createLogger, Registry } from '@kvroute/runtime';
import type { Publisher } from '../src/publisher.js';
import { createPublisher } from '../src/publisher.js';
import type { PhaseRequest, PhaseResult, WorkerInit } from './engine-worker.js';
import type { Latency } from './measure.js';
import { bytesPerBlock, latency, pipelineBlocksPerSec, startRelay } from './measure.js';
import { startNatsServer } from '@kvroute/runtime';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms3 = (x: number) => Number(x.toFixed(3));

/**
 * `kvroute bench publisher`: one publisher between a real ZMQ engine socket
 * and a real nats-server. The engine and the NATS consumer run in a child
 * process; latency is engine ZMQ send → canonical batch delivered to a NATS
 * subscriber at 10k blocks/s in two shapes, next to the floor (the same
 * traffic relayed untouched) and to coalescing turned off, all in one run;
 * throughput is a flat-out burst.
 */
export const benchPublisher: Bench = async ({ quick }) => {
  const nats = await startNatsServer();
  const model = 'bench-model';
  const pod = '10.255.0.1:8000';
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const init: WorkerInit = { natsUrl: nats.url, model, pod };
  const engine = fork(
    fileURLToPath(new URL(`./engine-worker.${ext}`, import.meta.url)),
    [JSON.stringify(init)],
    {
      serialization: 'advanced',
    },
  );
  const endpoint = ((await once(engine, 'message')) as [{ endpoint: string }])[0].endpoint;
  const log = createLogger('bench', 'silent');
  const { bus } = await connectNats({ natsUrl: nats.url } as NatsSettings, 'bench-publisher', log);
  const phase = async (p: PhaseRequest): Promise<PhaseResult> => {
    engine.send({ phase: p });
    return ((await once(engine, 'message')) as [PhaseResult])[0];
  };
  const warmUp = () => phase({ batches: 200, blocks: 10, rate: 1000, seed: 1 }); // the slow joiner loses the first
  const vllmLike = {
    name: 'vLLM-like: 100 blocks/batch, 100 batches/s',
    blocks: 100,
    rate: 100,
    batches: quick ? 50 : 500,
  };
  const small = {
    name: 'small: 10 blocks/batch, 1000 batches/s',
    blocks: 10,
    rate: 1000,
    batches: quick ? 500 : 5000,
  };
  let seed = 2;
  const run = async (s: typeof small) => latency(await phase({ ...s, seed: seed++ }), s.batches);
  let publisher: Publisher | undefined;
  const startPublisher = async (coalesceMs: number) => {
    const registry = new Registry();
    publisher = createPublisher({
      bus,
      config: { model, pod, zmqEndpoint: endpoint, coalesceMs },
      log,
      registry,
    });
    await publisher.start();
    while (!publisher.ready()) await sleep(10);
    await sleep(300);
    await warmUp();
    return async () =>
      (await registry.getSingleMetric('kvroute_publisher_batches_out_total')!.get()).values[0]!
        .value;
  };
  try {
    const rows: BenchReport['rows'] = [];
    const row = (name: string, l: Latency, msgsPerBatch?: number) =>
      rows.push({
        case: name,
        'p50 ms': l.p50,
        'p99 ms': l.p99,
        ...(msgsPerBatch === undefined ? {} : { 'NATS msgs/batch': msgsPerBatch }),
      });

    const relay = startRelay(endpoint, bus);
    await sleep(300);
    await warmUp();
    const floor = [await run(vllmLike), await run(small)];
    await relay.close();
    row(`floor (bare relay), ${vllmLike.name}`, floor[0]!);
    row(`floor (bare relay), ${small.name}`, floor[1]!);

    let out = await startPublisher(2);
    const lat: Latency[] = [];
    for (const s of [vllmLike, small]) {
      const before = await out();
      lat.push(await run(s));
      row(`publisher, coalesce 2 ms, ${s.name}`, lat.at(-1)!, ((await out()) - before) / s.batches);
    }
    const burst = quick ? 2000 : 20_000;
    // Through the publisher: every engine batch applied and its canonical batch handed to NATS.
    const target = publisher!.status().engineSeq + burst;
    const done = (async () => {
      while (publisher!.status().engineSeq < target || publisher!.status().busConnected === false)
        await sleep(1);
      return performance.timeOrigin + performance.now();
    })();
    const b = await phase({ batches: burst, blocks: 10, rate: 0, seed: seed++ });
    const appliedAt = await done;
    const blocksPerSec = (burst * 10) / ((appliedAt - b.sendMs[0]!) / 1000);
    const deliveredPerSec =
      b.receivedBlocks / ((b.recvMs[b.recvMs.length - 1]! - b.sendMs[0]!) / 1000);
    await publisher!.stop();

    out = await startPublisher(0);
    const before = await out();
    const uncoalesced = await run(small);
    row(
      `publisher, coalesce 0, ${small.name}`,
      uncoalesced,
      ((await out()) - before) / small.batches,
    );
    rows.push({
      case: `burst of ${burst} × 10 blocks: through the publisher`,
      'blocks/s': blocksPerSec,
    });
    rows.push({ case: `… and delivered (${b.received} batches)`, 'blocks/s': deliveredPerSec });
    const ceiling = pipelineBlocksPerSec(quick ? 100 : 1500);
    rows.push({ case: 'decode + keys + table + encode, one core, no I/O', 'blocks/s': ceiling });
    const perBlock = bytesPerBlock(quick ? 100_000 : 1_000_000);
    rows.push({
      case: `block table holding ${quick ? '100k' : '1M'} blocks`,
      'bytes/block': perBlock,
    });
    return {
      title: 'publisher: engine ZMQ send → canonical batch delivered by a real nats-server',
      rows,
      notes: [
        'floor: the same traffic relayed ZMQ → NATS by a bare SUB socket (no decoding, keys, or coalescing), same run.',
        'Latency per engine batch; engine + consumer in one child process, nats-server in another, on a shared 2-core machine.',
      ],
      summary: {
        bench: 'publisher',
        blocks_per_s: Math.round(blocksPerSec),
        delivered_blocks_per_s: Math.round(deliveredPerSec),
        latency_p50_ms: ms3(lat[1]!.p50),
        latency_p99_ms: ms3(lat[1]!.p99),
        latency_p50_ms_vllm_like: ms3(lat[0]!.p50),
        latency_p99_ms_vllm_like: ms3(lat[0]!.p99),
        latency_p50_ms_coalesce_0: ms3(uncoalesced.p50),
        latency_p99_ms_coalesce_0: ms3(uncoalesced.p99),
        latency_p50_ms_floor: ms3(floor[1]!.p50),
        latency_p99_ms_floor: ms3(floor[1]!.p99),
        pipeline_blocks_per_s: Math.round(ceiling),
        bytes_per_block: Math.round(perBlock),
      },
    };
  } finally {
    await publisher?.stop();
    await bus.close();
    engine.send({ close: true });
    await once(engine, 'exit');
    await nats.dispose();
  }
};
