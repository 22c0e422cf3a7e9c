import type { KeySeq } from '@kvroute/block-keys';
import { keySeqBytes } from '@kvroute/block-keys';
import type { CanonicalEvent, Heartbeat, Tier } from '@kvroute/protocol';
import {
  decodeSnapshotRequest,
  encodeEventBatch,
  encodeHeartbeat,
  encodeSnapshotChunk,
  slotOf,
  subjects,
} from '@kvroute/protocol';
import type { Bus, BusSubscription } from './bus/bus.js';

/**
 * A publisher that speaks the canonical protocol over a real Bus, for tests
 * and benchmarks of consumers (indexer, router) without ZMQ or an engine: it keeps a pod's block
 * set, publishes batches with gap-free seqs, heartbeats, and answers snapshots.
 * `lose()` skips publishing the next batch while still applying it, as a
 * message lost on the wire would.
 */
export class FakePublisher {
  epoch: string;
  seq = 0;
  readonly blocks = new Map<string, { key: KeySeq; tier: Tier; depth: number }>();
  private sub: BusSubscription | undefined;
  private dropNext = 0;
  snapshotsServed = 0;

  constructor(
    private readonly bus: Bus,
    readonly pod: string,
    readonly model: string,
    private readonly load: Partial<Heartbeat> = {},
  ) {
    this.epoch = `e${Math.random().toString(36).slice(2, 8)}`;
  }

  start(): this {
    this.sub = this.bus.subscribe(subjects.snapshot(this.pod), (m) => {
      const req = decodeSnapshotRequest(m.data);
      this.snapshotsServed++;
      const all = [...this.blocks.values()];
      const chunk = Math.max(1, req.chunkKeys);
      const count = Math.max(1, Math.ceil(all.length / chunk));
      for (let i = 0; i < count; i++) {
        const part = all.slice(i * chunk, (i + 1) * chunk);
        const keys = new Uint32Array(2 * part.length);
        part.forEach((b, j) => keys.set(b.key, 2 * j));
        m.respond(
          encodeSnapshotChunk({
            pod: this.pod,
            model: this.model,
            epoch: this.epoch,
            seq: this.seq,
            index: i,
            last: i === count - 1,
            keys,
            tiers: Uint8Array.from(part.map((b) => (b.tier === 'gpu' ? 0 : 1))),
            depths: Uint32Array.from(part.map((b) => (b.depth < 0 ? 0xffffffff : b.depth))),
          }),
        );
      }
      m.respond(new Uint8Array(0));
    });
    return this;
  }

  stop(): void {
    this.sub?.unsubscribe();
  }

  /** The next `n` batches are applied but never reach the bus. */
  lose(n = 1): void {
    this.dropNext += n;
  }

  private id(key: KeySeq, i: number, tier: Tier): string {
    return `${key[2 * i]}:${key[2 * i + 1]}:${tier}`;
  }

  publish(events: CanonicalEvent[]): void {
    for (const e of events) {
      if (e.kind === 'stored') {
        for (let i = 0; i < e.keys.length / 2; i++) {
          this.blocks.set(this.id(e.keys, i, e.tier), {
            key: e.keys.slice(2 * i, 2 * i + 2),
            tier: e.tier,
            depth: e.depth < 0 ? -1 : e.depth + i,
          });
        }
      } else if (e.kind === 'removed') {
        for (let i = 0; i < e.keys.length / 2; i++) this.blocks.delete(this.id(e.keys, i, e.tier));
      } else {
        this.blocks.clear();
      }
    }
    this.seq++;
    if (this.dropNext > 0) {
      this.dropNext--;
      return;
    }
    this.bus.publish(
      subjects.events(this.model, slotOf(this.pod)),
      encodeEventBatch({
        pod: this.pod,
        model: this.model,
        epoch: this.epoch,
        seq: this.seq,
        ts: Date.now(),
        events,
      }),
    );
  }

  store(keys: KeySeq, tier: Tier = 'gpu', depth = 0): void {
    this.publish([{ kind: 'stored', parent: null, keys, tier, depth }]);
  }

  remove(keys: KeySeq, tier: Tier = 'gpu'): void {
    this.publish([{ kind: 'removed', keys, tier }]);
  }

  /** Engine restart: a new epoch with an empty block set. */
  restart(): void {
    this.epoch = `e${Math.random().toString(36).slice(2, 8)}`;
    this.seq = 0;
    this.blocks.clear();
  }

  heartbeat(state: 'up' | 'leaving' = 'up'): void {
    this.bus.publish(
      subjects.load(this.model, this.pod),
      encodeHeartbeat({
        pod: this.pod,
        model: this.model,
        role: 'both',
        epoch: this.epoch,
        ts: Date.now(),
        state,
        waiting: 0,
        running: 0,
        kvUsage: 0,
        blockSize: 16,
        capacityBlocks: 1000,
        lastSeq: this.seq,
        intervalMs: 200,
        ...this.load,
      }),
    );
  }

  /** Bytes of every key this pod holds (any tier), for comparing states. */
  keyBytes(): Uint8Array[] {
    return [...this.blocks.values()].map((b) => keySeqBytes(b.key));
  }
}
