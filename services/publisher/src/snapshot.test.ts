import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSnapshotChunk, encodeSnapshotRequest, subjects } from '@kvroute/protocol';
import type { Bus, BusTimeoutError } from '@kvroute/runtime';
import type { NatsServer } from '@kvroute/runtime/testing';
import { startNatsServer } from '@kvroute/runtime/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { Rig } from './testing/rig.js';
import { batch, connectBus, startRig, stored, tokens } from './testing/rig.js';
import { until } from './testing/stream-observer.js';

const dir = mkdtempSync(join(tmpdir(), 'kvroute-snapshot-'));
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** A nats-server whose max_payload is `bytes`, a connection to it, and a publisher on it. */
async function setup(bytes: number): Promise<{ bus: Bus; r: Rig }> {
  const conf = join(dir, `max-${bytes}.conf`);
  writeFileSync(conf, `max_payload: ${bytes}\n`);
  const nats: NatsServer = await startNatsServer(['-c', conf]);
  const bus = await connectBus(nats.url, 'snapshot');
  const r = await startRig(bus, bus, { config: { coalesceMs: 0 } });
  closers.push(async () => {
    await r.close();
    await bus.close();
    await nats.dispose();
  });
  return { bus, r };
}

/** Every reply of one snapshot request, raw, as the indexer asks for it (65 536 keys a chunk). */
async function snapshot(bus: Bus, pod: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const req = encodeSnapshotRequest({ pod, chunkKeys: 65_536 });
  for await (const d of bus.requestMany(subjects.snapshot(pod), req, {
    maxWaitMs: 5000,
    idleMs: 1000,
  }))
    out.push(d);
  return out;
}

describe('snapshots on a NATS server with a small max_payload', () => {
  it('come in chunks the server takes, however many keys a chunk is asked for', async () => {
    const { bus, r } = await setup(64 * 1024);
    for (let i = 0; i < 120; i++) {
      const ids = Array.from({ length: 100 }, (_, j) => 1 + i * 100 + j);
      await r.engine.send(batch(stored(ids, null, tokens(100, i))));
    }
    await until(() => r.publisher.status().blocks.gpu === 12_000, 10_000, '12 000 blocks');
    const replies = await snapshot(bus, r.pod);
    expect(replies.length).toBeGreaterThanOrEqual(3); // 12 000 × 13 bytes in ≤ 64 KiB chunks
    for (const d of replies) expect(d.byteLength).toBeLessThanOrEqual(64 * 1024);
    const chunks = replies.map(decodeSnapshotChunk);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    expect(chunks.at(-1)!.last).toBe(true);
    const keys = new Set<string>();
    for (const c of chunks)
      for (let i = 0; i < c.tiers.length; i++) keys.add(`${c.keys[2 * i + 1]}:${c.keys[2 * i]}`);
    expect(keys.size).toBe(12_000);
  });

  it('that cannot be sent still end with the end marker, so the requester does not wait it out', async () => {
    // An empty chunk here is 126 bytes, one with a block 139: no chunk holding one fits.
    const { bus, r } = await setup(130);
    await r.engine.send(batch(stored([1], null, tokens(1, 1))));
    await until(() => r.publisher.status().blocks.gpu === 1, 5000, 'a block');
    const started = Date.now();
    let replies: Uint8Array[] | BusTimeoutError;
    try {
      replies = await snapshot(bus, r.pod);
    } catch (e) {
      replies = e as BusTimeoutError;
    }
    expect(replies).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000); // under the 1 s idle timeout: not waited out
  });
});
