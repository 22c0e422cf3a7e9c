import type { KeySeq } from '@kvroute/block-keys';
import type { IndexerHeartbeat } from '@kvroute/protocol';
import {
  decodeIndexerHeartbeat,
  decodeLookupReply,
  encodeLookupRequest,
  subjects,
} from '@kvroute/protocol';
import type { Bus, BusSubscription, Logger } from '@kvroute/runtime';
import { BusNoRespondersError, BusTimeoutError, rateLimited } from '@kvroute/runtime';

export interface RemoteLookup {
  matches: Map<string, { gpu: number; total: number }>;
  /** Shards with no live replica (nothing asked) or no responder. */
  missing: number[];
  timedOut: number[];
  /** No indexer heard of (so not even the shard count is known): nothing was asked. */
  noIndexers: boolean;
}

/** How long an indexer stays known without heartbeats. */
const INDEXER_STALE_MS = 3000;

/**
 * The sharded index seen from a router: learns which shards exist from indexer
 * heartbeats, scatters a lookup to every shard (each answered by one replica
 * of its queue group) and gathers what arrives within a tight timeout. Missing
 * or slow shards make the answer partial, never late.
 */
export class RemoteIndex {
  private readonly indexers = new Map<string, { hb: IndexerHeartbeat; seenMs: number }>();
  private sub: BusSubscription | undefined;
  private readonly warn: ReturnType<typeof rateLimited>;

  constructor(
    private readonly bus: Bus,
    private readonly timeoutMs: number,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.warn = rateLimited(log);
  }

  start(): void {
    this.sub = this.bus.subscribe(subjects.allIndexers(), (m) => {
      try {
        const hb = decodeIndexerHeartbeat(m.data);
        this.indexers.set(hb.instance, { hb, seenMs: this.now() });
      } catch (err) {
        this.warn(
          'bad-indexer-heartbeat',
          { err: String(err) },
          'dropped an indexer heartbeat that does not decode',
        );
      }
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** The fleet's shard count (the newest heartbeat's) and the shards with a live, ready replica. */
  shards(): { shardCount: number; live: Set<number> } {
    let shardCount = 0;
    let newest = -1;
    const live = new Set<number>();
    for (const [instance, { hb, seenMs }] of this.indexers) {
      if (this.now() - seenMs > INDEXER_STALE_MS) {
        this.indexers.delete(instance);
        continue;
      }
      if (hb.ts > newest) {
        newest = hb.ts;
        shardCount = hb.shardCount;
      }
    }
    for (const { hb } of this.indexers.values()) {
      if (hb.shardCount === shardCount && hb.ready) for (const s of hb.shards) live.add(s);
    }
    return { shardCount, live };
  }

  ready(): boolean {
    const { shardCount, live } = this.shards();
    return shardCount > 0 && live.size === shardCount;
  }

  async lookup(
    model: string,
    keys: KeySeq,
    candidates: readonly string[] | null,
  ): Promise<RemoteLookup> {
    const { shardCount, live } = this.shards();
    const out: RemoteLookup = {
      matches: new Map(),
      missing: [],
      timedOut: [],
      noIndexers: shardCount === 0,
    };
    const request = encodeLookupRequest({
      model,
      keys,
      candidates: candidates ? [...candidates] : null,
    });
    await Promise.all(
      Array.from({ length: shardCount }, async (_, shard) => {
        if (!live.has(shard)) {
          out.missing.push(shard);
          return;
        }
        try {
          const reply = decodeLookupReply(
            await this.bus.request(subjects.lookup(model, shard), request, {
              timeoutMs: this.timeoutMs,
            }),
          );
          if (reply.error)
            this.warn(
              `shard-error-${shard}`,
              { shard, error: reply.error },
              'an indexer shard answered with an error',
            );
          for (const m of reply.matches) {
            const prev = out.matches.get(m.pod);
            if (!prev || m.total > prev.total)
              out.matches.set(m.pod, { gpu: m.gpu, total: m.total });
          }
        } catch (err) {
          if (err instanceof BusTimeoutError) out.timedOut.push(shard);
          else if (err instanceof BusNoRespondersError) out.missing.push(shard);
          else {
            out.missing.push(shard);
            this.warn(
              `shard-fail-${shard}`,
              { shard, err: String(err) },
              'lookup to an indexer shard failed',
            );
          }
        }
      }),
    );
    return out;
  }
}
