import type { KeySeq } from '@kvroute/block-keys';
import type { LookupResult } from '@kvroute/prefix-index';
import {
  decodeLookupRequest,
  encodeIndexerHeartbeat,
  encodeLookupReply,
  parseShardList,
  shardOf,
  slotsOfShard,
  subjects,
} from '@kvroute/protocol';
import type { Bus, BusSubscription, Logger, Registry } from '@kvroute/runtime';
import { Counter, rateLimited } from '@kvroute/runtime';
import { IndexReplica } from '@kvroute/runtime/replica';

export interface IndexerOptions {
  shards: string;
  shardCount: number;
  memoryBudgetBytes: number;
  podTimeoutMs: number;
  snapshotTimeoutMs: number;
  instance: string;
  /** How often to publish the indexer heartbeat and sweep silent pods. */
  tickMs?: number;
}

/**
 * An indexer replica: an IndexReplica over the slots of the shards it owns,
 * answering each owned shard's lookups in that shard's queue group (so any
 * replica of a shard can answer), and announcing itself so routers know which
 * shards exist and are alive. It joins the queue groups only while its index
 * is ready: a replica still recovering would answer its share of a shard's
 * lookups with empty or partial matches while a synced peer could answer.
 */
export class Indexer {
  readonly shards: number[];
  readonly replica: IndexReplica;
  readonly lookups: Counter<'via'>;
  private readonly subs: BusSubscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private offReady: (() => void) | undefined;
  private readonly warn: ReturnType<typeof rateLimited>;

  constructor(
    private readonly bus: Bus,
    private readonly options: IndexerOptions,
    log: Logger,
    registry: Registry,
    now: () => number = Date.now,
  ) {
    this.shards = parseShardList(options.shards, options.shardCount);
    this.replica = new IndexReplica(
      bus,
      {
        slots: this.shards.flatMap((s) => slotsOfShard(s, options.shardCount)),
        memoryBudgetBytes: options.memoryBudgetBytes,
        podTimeoutMs: options.podTimeoutMs,
        snapshotTimeoutMs: options.snapshotTimeoutMs,
        tickMs: options.tickMs ?? 500,
        metricsPrefix: 'kvroute_indexer',
      },
      log,
      registry,
      now,
    );
    this.lookups = new Counter({
      name: 'kvroute_indexer_lookups_total',
      help: 'lookups answered',
      labelNames: ['via'],
      registers: [registry],
    });
    this.warn = rateLimited(log);
  }

  get instance(): string {
    return this.options.instance;
  }

  get shardCount(): number {
    return this.options.shardCount;
  }

  start(): void {
    this.offReady = this.replica.onReadyChange((ready) => {
      this.serveLookups(ready);
      this.publishHeartbeat(); // routers learn at once, not at the next tick
    });
    this.replica.start();
    this.timer = setInterval(() => this.publishHeartbeat(), this.options.tickMs ?? 500);
    this.timer.unref();
    this.publishHeartbeat();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.offReady?.();
    this.serveLookups(false);
    await this.replica.stop();
  }

  /** Joins (or leaves) every owned shard's lookup queue group. */
  private serveLookups(on: boolean): void {
    if (!on) {
      for (const s of this.subs) s.unsubscribe();
      this.subs.length = 0;
      return;
    }
    if (this.subs.length > 0) return;
    for (const shard of this.shards) {
      this.subs.push(
        this.bus.subscribe(
          subjects.lookupForShard(shard),
          (m) => m.respond(this.answerLookup(m.data, shard)),
          { queue: `kvroute-indexer-shard-${shard}` },
        ),
      );
    }
  }

  /** True while this replica is in its shards' lookup queue groups. */
  get servingLookups(): boolean {
    return this.subs.length > 0;
  }

  ready(): boolean {
    return this.replica.ready();
  }

  lookup(model: string, keys: KeySeq, candidates: readonly string[] | null): LookupResult {
    return this.replica.lookup(model, keys, candidates);
  }

  private answerLookup(data: Uint8Array, shard: number): Uint8Array {
    try {
      const req = decodeLookupRequest(data);
      // Owning several shards, the index holds the pods of all of them; each
      // shard's reply names only that shard's pods, or the gather counts them twice.
      const mine =
        this.shards.length > 1
          ? (pod: string) => shardOf(pod, this.options.shardCount) === shard
          : null;
      const candidates = mine && req.candidates ? req.candidates.filter(mine) : req.candidates;
      let matches =
        candidates?.length === 0
          ? []
          : this.replica.lookup(req.model, req.keys, candidates).matches;
      if (mine && !candidates) matches = matches.filter((m) => mine(m.pod));
      this.lookups.inc({ via: 'bus' });
      return encodeLookupReply({
        shard,
        matches: matches.map((m) => ({ pod: m.pod, gpu: m.gpu, total: m.total })),
        error: null,
      });
    } catch (err) {
      this.replica.metrics.badMessages.inc({ subject: 'lookup' });
      this.warn(
        'bad-lookup',
        { err: String(err) },
        'answered a lookup request that does not decode with an error',
      );
      return encodeLookupReply({ shard, matches: [], error: `bad lookup request: ${String(err)}` });
    }
  }

  private publishHeartbeat(): void {
    if (!this.bus.isConnected()) return;
    try {
      this.bus.publish(
        subjects.indexer(this.options.instance),
        encodeIndexerHeartbeat({
          instance: this.options.instance,
          shards: this.shards,
          shardCount: this.options.shardCount,
          ts: Date.now(),
          ready: this.ready(),
        }),
      );
    } catch (err) {
      this.warn('heartbeat', { err: String(err) }, 'could not publish the indexer heartbeat');
    }
  }
}
