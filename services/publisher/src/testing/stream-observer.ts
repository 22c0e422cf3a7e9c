import type { CanonicalEvent, EventBatch, Heartbeat, SnapshotChunk } from '@kvroute/protocol';
import {
  decodeEventBatch,
  decodeHeartbeat,
  decodeSnapshotChunk,
  encodeSnapshotRequest,
  slotOf,
  subjects,
} from '@kvroute/protocol';
import type { Bus, BusSubscription } from '@kvroute/runtime';

/** Polls `cond` until it holds, or throws after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * What one pod's publisher puts on the bus, as a consumer sees it: its event
 * batches and heartbeats, decoded, in arrival order; and its snapshots on request.
 */
export class StreamObserver {
  readonly batches: EventBatch[] = [];
  readonly heartbeats: Heartbeat[] = [];
  private readonly subs: BusSubscription[];

  constructor(
    private readonly bus: Bus,
    readonly model: string,
    readonly pod: string,
  ) {
    this.subs = [
      bus.subscribe(subjects.events(model, slotOf(pod)), (m) => {
        const b = decodeEventBatch(m.data);
        if (b.pod === pod) this.batches.push(b);
      }),
      bus.subscribe(subjects.load(model, pod), (m) =>
        this.heartbeats.push(decodeHeartbeat(m.data)),
      ),
    ];
  }

  /** Every event received, in order, across batches. */
  events(epoch?: string): CanonicalEvent[] {
    return this.batches
      .filter((b) => epoch === undefined || b.epoch === epoch)
      .flatMap((b) => b.events);
  }

  epochs(): string[] {
    return [...new Set(this.batches.map((b) => b.epoch))];
  }

  /** Stored keys received (of one tier), concatenated in order. */
  storedKeys(tier: 'gpu' | 'cpu' = 'gpu', epoch?: string): Uint32Array {
    const parts = this.events(epoch).flatMap((e) =>
      e.kind === 'stored' && e.tier === tier ? [e.keys] : [],
    );
    return Uint32Array.from(parts.flatMap((k) => [...k]));
  }

  async snapshot(chunkKeys = 1000): Promise<SnapshotChunk[]> {
    const out: SnapshotChunk[] = [];
    const req = encodeSnapshotRequest({ pod: this.pod, chunkKeys });
    for await (const d of this.bus.requestMany(subjects.snapshot(this.pod), req, {
      maxWaitMs: 5000,
      idleMs: 2000,
    })) {
      out.push(decodeSnapshotChunk(d));
    }
    return out;
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }
}

/** (key hex, tier) entries of a snapshot, sorted, for comparing sets. */
export function snapshotEntries(chunks: SnapshotChunk[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    for (let i = 0; i < c.tiers.length; i++) {
      out.push(
        `${c.keys[2 * i + 1]!.toString(16)}:${c.keys[2 * i]!.toString(16)}:${c.tiers[i] === 0 ? 'gpu' : 'cpu'}`,
      );
    }
  }
  return out.sort();
}

/** The same (key, tier) form for an expected key sequence. */
export function keyEntries(keys: Uint32Array, tier: 'gpu' | 'cpu' = 'gpu'): string[] {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i += 2)
    out.push(`${keys[i + 1]!.toString(16)}:${keys[i]!.toString(16)}:${tier}`);
  return out;
}
