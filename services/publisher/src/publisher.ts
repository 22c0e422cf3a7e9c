import type { BlockKeyer } from '@kvroute/block-keys';
import { createBlockKeyer } from '@kvroute/block-keys';
import type { PodRole } from '@kvroute/protocol';
import { slotOf, subjects } from '@kvroute/protocol';
import type { Bus, BusSubscription, Logger, Registry } from '@kvroute/runtime';
import { rateLimited } from '@kvroute/runtime';
import { VllmDecodeError } from '@kvroute/vllm-events';
import { BlockTable, CPU, GPU } from './block-table.js';
import type { PublisherConfig } from './config.js';
import { publisherSettings } from './config.js';
import type { DecodedFrame } from './frames.js';
import { decodeFrame } from './frames.js';
import { Heartbeater } from './heartbeat.js';
import { publisherMetrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { Sequencer } from './sequencer.js';
import { answerSnapshot } from './snapshot.js';
import { TranslateError, Translator } from './translate.js';
import { ZmqSource } from './zmq-source.js';

type CoreKeys =
  | 'zmqReplayEndpoint'
  | 'zmqBind'
  | 'topic'
  | 'metricsUrl'
  | 'role'
  | 'heartbeatIntervalMs'
  | 'coalesceMs'
  | 'maxBlocks'
  | 'blockSize'
  | 'replayTimeoutMs'
  | 'scrapeTimeoutMs'
  | 'outageBufferBytes';

/** What the core needs: the identity and the engine endpoint; everything else has the CLI's defaults. */
export type PublisherOptions = Pick<PublisherConfig, 'model' | 'pod' | 'zmqEndpoint'> &
  Partial<Pick<PublisherConfig, CoreKeys>>;

export interface PublisherDeps {
  bus: Bus;
  config: PublisherOptions;
  log: Logger;
  registry: Registry;
  keyer?: BlockKeyer;
}

export interface PublisherStatus {
  pod: string;
  model: string;
  epoch: string;
  lastSeq: number;
  /** The next engine seq expected (-1 before the first message without replay). */
  engineSeq: number;
  zmqReady: boolean;
  busConnected: boolean;
  engineUp: boolean;
  blocks: { gpu: number; cpu: number };
}

export interface Publisher {
  start(): Promise<void>;
  /** Publishes what it has, sends the `leaving` heartbeat, closes its sockets. Idempotent. */
  stop(): Promise<void>;
  ready(): boolean;
  status(): PublisherStatus;
}

/**
 * A canonical batch this large goes out without waiting to coalesce: 64 keys
 * are ~600 bytes on the wire, where per-message overhead stops mattering, and
 * a vLLM step storing a few prompts' blocks is past it.
 */
const FLUSH_KEYS = 64;

/**
 * After NATS comes back, batches held through the outage wait this long:
 * consumers reconnect on their own timers (nats.js: 500 ms + up to 100 ms of
 * jitter between attempts), and what reaches the server before they have
 * resubscribed is lost to them (they would resync by snapshot).
 */
const OUTAGE_SETTLE_MS = 1000;

const def = <K extends CoreKeys>(o: PublisherOptions, k: K): NonNullable<PublisherConfig[K]> =>
  (o[k] ?? publisherSettings[k].default) as NonNullable<PublisherConfig[K]>;

/**
 * The sidecar's core over any Bus (NATS in production, the in-process bus in
 * the one-process demo): engine ZMQ stream → sequencer → decode → canonical
 * keys → coalesced batches; snapshots; heartbeats.
 */
export function createPublisher(deps: PublisherDeps): Publisher {
  const { bus, config: c, registry } = deps;
  const log = deps.log.child({ component: 'publisher' });
  const warn = rateLimited(log);
  const { model, pod } = c;
  const table = new BlockTable(def(c, 'maxBlocks'));
  const m = publisherMetrics(registry, table);
  let blockSizeSeen = 0;

  const outbox = new Outbox(
    bus,
    {
      pod,
      model,
      subject: subjects.events(model, slotOf(pod)),
      coalesceMs: def(c, 'coalesceMs'),
      flushKeys: FLUSH_KEYS,
      outageBufferBytes: def(c, 'outageBufferBytes'),
      outageSettleMs: OUTAGE_SETTLE_MS,
    },
    {
      published: (_seq, bytes) => {
        m.batchesOut.inc();
        m.bytesOut.inc(bytes);
      },
      lag: (ms) => m.lag.observe(ms / 1000),
      dropped: (seq, why) => {
        m.dropped.inc({ reason: why });
        warn('dropped', { seq, reason: why }, 'canonical batch not published');
      },
    },
  );

  const translator = new Translator(model, deps.keyer ?? createBlockKeyer(), table, {
    eventIn: (type) => m.eventsIn.inc({ type }),
    unresolvedParent: (n) => m.unresolvedParent.inc(n),
    unknownHash: (n) => m.unknownHash.inc(n),
    capacityDrop: (n) => {
      m.capacityDrops.inc(n);
      warn('capacity', { maxBlocks: table.maxBlocks }, 'block table full: raise --max-blocks');
    },
    ignoredGroup: () => m.ignored.inc({ reason: 'group' }),
  });

  const decodeError = (reason: string, err: unknown) => {
    m.decodeErrors.inc({ reason });
    warn(`decode:${reason}`, { reason, err: String(err) }, 'engine message rejected');
  };

  const rejected = (e: unknown) => {
    if (e instanceof VllmDecodeError || e instanceof TranslateError) decodeError(e.reason, e);
    else decodeError('internal', e);
  };

  const apply = (f: DecodedFrame, replayed: boolean) => {
    m.engineBatches.inc({ source: replayed ? 'replay' : 'live' });
    const batch = f.batch;
    if (!batch) return rejected(f.error);
    let events;
    try {
      events = translator.translate(batch);
    } catch (e) {
      return rejected(e);
    }
    for (const e of batch.events) {
      if (e.type === 'BlockStored') blockSizeSeen = e.blockSize;
    }
    const tsMs = Number.isFinite(batch.ts) && batch.ts > 0 ? batch.ts * 1000 : Date.now();
    if (events.length > 0) outbox.add(events, tsMs);
  };

  /** Drops the pod's claims when events are lost: the index must never hold blocks we may have lost. */
  const newEpoch = (reason: 'gap' | 'restart') => {
    // Nothing announced in this epoch means nothing to retract.
    const anything =
      outbox.seq > 0 || outbox.pendingEvents > 0 || table.count(GPU) + table.count(CPU) > 0;
    if (reason === 'restart') table.reset();
    else table.markAllAbsent();
    if (!anything) return;
    outbox.newEpoch();
    m.epochs.inc({ reason });
    log.warn({ reason, epoch: outbox.epoch }, 'new epoch');
  };

  const zmq = new ZmqSource(
    {
      endpoint: c.zmqEndpoint,
      bind: def(c, 'zmqBind'),
      topic: c.topic,
      replayEndpoint: c.zmqReplayEndpoint,
      replayTimeoutMs: def(c, 'replayTimeoutMs'),
    },
    log,
  );
  const replayRaw = zmq.replay;
  const sequencer = new Sequencer<DecodedFrame>({
    apply,
    replay:
      replayRaw &&
      async function* (from) {
        for await (const f of replayRaw(from)) yield decodeFrame(f);
      },
    gap: (from, to) => {
      m.gaps.inc();
      log.info({ from, to }, 'engine sequence gap');
    },
    replayStarted: (from) => {
      m.replays.inc();
      log.info({ from }, 'replaying from the engine');
    },
    replayFailed: (reason, err) => {
      m.replayFailures.inc({ reason });
      warn(`replay:${reason}`, { reason, err: String(err) }, 'replay failed');
    },
    uncovered: (reason, from, to) => {
      if (reason === 'buffer-short') m.replayFailures.inc({ reason });
      m.lostBatches.inc({ reason }, to - from);
      warn(
        `lost:${reason}`,
        { reason, from, to },
        'engine batches lost for good: the pod starts a new epoch with no blocks',
      );
      newEpoch('gap');
    },
    restarted: (from, to, reason) => {
      log.warn(
        { lastSeq: from - 1, seq: to, reason },
        'engine restarted: following its new stream',
      );
      newEpoch('restart');
    },
    discarded: (f, reason) =>
      reason === 'payload' ? rejected(f.error) : decodeError(reason, `engine seq ${f.seq}`),
  });

  const heart = new Heartbeater(
    bus,
    {
      pod,
      model,
      role: def(c, 'role') as PodRole,
      intervalMs: def(c, 'heartbeatIntervalMs'),
      metricsUrl: c.metricsUrl,
      scrapeTimeoutMs: def(c, 'scrapeTimeoutMs'),
      defaultBlockSize: def(c, 'blockSize'),
    },
    // Only what has gone out: a seq still held for the bus would read as a lost tail.
    {
      epoch: () => outbox.epoch,
      lastSeq: () => outbox.sentSeq,
      blockSizeSeen: () => blockSizeSeen,
      engineConnected: () => zmq.engineConnected,
    },
    {
      sent: (state) => m.heartbeats.inc({ state }),
      scrapeFailed: (reason, err) => {
        m.scrapeFailures.inc({ reason });
        warn(`scrape:${reason}`, { reason, err: String(err) }, "engine's metrics scrape failed");
      },
    },
  );

  let snapshotSub: BusSubscription | undefined;
  let stopping: Promise<void> | undefined;

  return {
    async start() {
      snapshotSub = bus.subscribe(subjects.snapshot(pod), (msg) => {
        if (stopping) return;
        try {
          const served = answerSnapshot(msg, {
            pod,
            model,
            table,
            flush: () => outbox.flush(),
            epoch: () => outbox.epoch,
            lastSeq: () => outbox.seq,
            maxPayloadBytes: () => bus.maxPayloadBytes(),
          });
          if (served) m.snapshots.inc();
          else warn('snapshot', {}, 'unreadable snapshot request');
        } catch (e) {
          warn('snapshot-reply', { err: String(e) }, 'could not answer a snapshot request');
        }
      });
      await zmq.start({
        frame: (f) => sequencer.live(decodeFrame(f)),
        malformed: (reason) => decodeError(reason, 'bad ZMQ framing'),
        disconnected: () => sequencer.disconnected(),
      });
      sequencer.start();
      heart.start();
      log.info({ pod, model, epoch: outbox.epoch }, 'publisher started');
    },
    stop() {
      stopping ??= (async () => {
        const replayDone = sequencer.stop();
        await zmq.close();
        await replayDone;
        heart.stop();
        outbox.flush();
        outbox.stop();
        heart.leaving();
        snapshotSub?.unsubscribe();
        await Promise.race([
          bus.flush().catch(() => undefined),
          new Promise((r) => setTimeout(r, 2000).unref()),
        ]);
        log.info({ epoch: outbox.epoch, lastSeq: outbox.seq }, 'publisher stopped');
      })();
      return stopping;
    },
    ready: () => zmq.ready && bus.isConnected(),
    status: () => ({
      pod,
      model,
      epoch: outbox.epoch,
      lastSeq: outbox.seq,
      engineSeq: sequencer.expected,
      zmqReady: zmq.ready,
      busConnected: bus.isConnected(),
      engineUp: heart.engineUp,
      blocks: { gpu: table.count(GPU), cpu: table.count(CPU) },
    }),
  };
}
