import { keySeqFrom } from '@kvroute/block-keys';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeEventBatch,
  decodeHeartbeat,
  decodeIndexerHeartbeat,
  decodeLookupReply,
  decodeLookupRequest,
  decodeSnapshotChunk,
  decodeSnapshotRequest,
  encodeEventBatch,
  encodeHeartbeat,
  encodeIndexerHeartbeat,
  encodeLookupReply,
  encodeLookupRequest,
  encodeSnapshotChunk,
  encodeSnapshotRequest,
} from './codec.js';
import { ProtocolError } from './errors.js';
import type { EventBatch, Heartbeat } from './messages.js';
import { parseShardList, shardOf, shardOfSlot, SLOTS, slotOf, slotsOfShard } from './sharding.js';
import { decodeToken, encodeToken, modelOfSubject, subjects } from './subjects.js';

describe('subjects', () => {
  it('encode any model or pod name into one safe token, reversibly', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }), (name) => {
        const t = encodeToken(name);
        expect(t).toMatch(/^[A-Za-z0-9_~-]+$/);
        expect(decodeToken(t)).toBe(name);
      }),
      { numRuns: 2000 },
    );
    expect(encodeToken('meta-llama/Llama-3.1-8B')).toBe('meta-llama~2FLlama-3~2E1-8B');
    expect(subjects.events('a.b', 3)).toBe('kvroute.v1.events.a~2Eb.3');
    expect(subjects.load('m', '10.0.0.1:8000')).toBe('kvroute.v1.load.m.10~2E0~2E0~2E1~3A8000');
    expect(modelOfSubject(subjects.lookup('Qwen/Qwen3 *>', 0))).toBe('Qwen/Qwen3 *>');
  });

  it('reject tokens that were not produced by the encoder', () => {
    expect(() => decodeToken('a.b')).toThrow(RangeError);
    expect(() => decodeToken('~zz')).toThrow(RangeError);
    expect(() => decodeToken('~FF')).toThrow(RangeError); // not UTF-8
    expect(() => decodeToken('~C3')).toThrow(RangeError); // a truncated sequence
    expect(() => modelOfSubject('kvroute.v1.events.~C3.0')).toThrow(RangeError);
    expect(() => encodeToken('')).toThrow(RangeError);
  });

  it('keep the encoding one-to-one: lone surrogates and escapes of safe bytes are refused', () => {
    for (const lone of ['a\uD800b', '\uDC00', 'x\uDBFF']) {
      expect(() => encodeToken(lone)).toThrow(RangeError);
    }
    expect(decodeToken(encodeToken('a\u{1F600}b'))).toBe('a\u{1F600}b'); // a surrogate pair is fine
    // ~41 is 'A', ~2D '-', ~5F '_', ~30 '0': the encoder writes those bytes bare, never escaped
    for (const t of ['~41', 'x~2D', '~5F', '~30', 'a~7A']) {
      expect(() => decodeToken(t)).toThrow(RangeError);
    }
    expect(decodeToken('a~2Eb')).toBe('a.b');
    // every token that decodes is the encoder's own output for what it decodes to
    const piece = fc.oneof(
      fc.constantFrom('a', 'Z', '9', '_', '-'),
      fc.nat(255).map((b) => `~${b.toString(16).toUpperCase().padStart(2, '0')}`),
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (pieces) => {
        const t = pieces.join('');
        let name: string;
        try {
          name = decodeToken(t);
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError);
          return;
        }
        expect(encodeToken(name)).toBe(t);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('sharding', () => {
  it('spreads pods over every slot and every shard owns a disjoint set of slots', () => {
    const counts = new Array<number>(SLOTS).fill(0);
    for (let i = 0; i < 6400; i++) counts[slotOf(`10.0.${i >> 8}.${i & 255}:8000`)]!++;
    expect(Math.min(...counts)).toBeGreaterThan(50);
    for (const n of [1, 2, 3, 7, 64]) {
      const all = Array.from({ length: n }, (_, s) => slotsOfShard(s, n)).flat();
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: SLOTS }, (_, i) => i));
      expect(slotsOfShard(shardOf('p:1', n), n)).toContain(slotOf('p:1'));
    }
  });

  it('refuse shard counts outside 1..64 and shards outside the count', () => {
    for (const n of [0, -1, 65, 1.5, NaN, Infinity]) {
      expect(() => shardOf('p:1', n)).toThrow(RangeError);
      expect(() => shardOfSlot(0, n)).toThrow(RangeError);
      expect(() => slotsOfShard(0, n)).toThrow(RangeError);
    }
    for (const s of [-1, 4, 1.5, NaN]) expect(() => slotsOfShard(s, 4)).toThrow(RangeError);
    for (const slot of [-1, SLOTS, 0.5]) expect(() => shardOfSlot(slot, 4)).toThrow(RangeError);
    expect(slotsOfShard(3, 4)).toHaveLength(SLOTS / 4);
    expect(shardOfSlot(SLOTS - 1, 64)).toBe(SLOTS - 1);
  });

  it('parses shard lists and names bad ones', () => {
    expect(parseShardList('all', 3)).toEqual([0, 1, 2]);
    expect(parseShardList('0,2,5-7', 8)).toEqual([0, 2, 5, 6, 7]);
    expect(() => parseShardList('8', 8)).toThrow(/out of range/);
    expect(() => parseShardList('x', 8)).toThrow(/bad shard list item/);
    expect(() => parseShardList('3-1', 8)).toThrow(/bad shard range/);
    expect(() => parseShardList('all', 65)).toThrow(/shard count/);
  });
});

const batch: EventBatch = {
  pod: '10.0.0.1:8000',
  model: 'llama',
  epoch: 'e1',
  seq: 7,
  ts: 1764000000250,
  events: [
    { kind: 'stored', parent: null, keys: keySeqFrom([1n, 2n ** 64n - 1n]), tier: 'gpu', depth: 0 },
    {
      kind: 'stored',
      parent: keySeqFrom([2n ** 64n - 1n]),
      keys: keySeqFrom([3n]),
      tier: 'cpu',
      depth: -1,
    },
    { kind: 'removed', keys: keySeqFrom([1n]), tier: 'gpu' },
    { kind: 'cleared' },
  ],
};
const hb: Heartbeat = {
  pod: 'p:1',
  model: 'llama',
  role: 'both',
  epoch: 'e1',
  ts: 1,
  state: 'up',
  waiting: 2,
  running: 3,
  kvUsage: 0.5,
  blockSize: 16,
  capacityBlocks: 1000,
  lastSeq: 7,
  intervalMs: 200,
};

describe('canonical messages', () => {
  it('round-trip every message type', () => {
    expect(decodeEventBatch(encodeEventBatch(batch))).toEqual(batch);
    expect(decodeHeartbeat(encodeHeartbeat(hb))).toEqual(hb);
    const req = { model: 'm', keys: keySeqFrom([5n, 6n]), candidates: ['a:1'] };
    expect(decodeLookupRequest(encodeLookupRequest(req))).toEqual(req);
    const rep = { shard: 1, matches: [{ pod: 'a:1', gpu: 2, total: 3 }], error: null };
    expect(decodeLookupReply(encodeLookupReply(rep))).toEqual(rep);
    expect(decodeSnapshotRequest(encodeSnapshotRequest({ pod: 'a:1', chunkKeys: 10 }))).toEqual({
      pod: 'a:1',
      chunkKeys: 10,
    });
    const chunk = {
      pod: 'a:1',
      model: 'm',
      epoch: 'e',
      seq: 3,
      index: 0,
      last: true,
      keys: keySeqFrom([1n, 2n]),
      tiers: Uint8Array.of(0, 1),
      depths: Uint32Array.of(0, 0xffffffff),
    };
    expect(decodeSnapshotChunk(encodeSnapshotChunk(chunk))).toEqual(chunk);
    const ih = { instance: 'i', shards: [0, 2], shardCount: 4, ts: 5, ready: true };
    expect(decodeIndexerHeartbeat(encodeIndexerHeartbeat(ih))).toEqual(ih);
  });

  it('keeps key sequences that are views into a larger buffer intact', () => {
    const big = keySeqFrom([9n, 10n, 11n]);
    const view = big.subarray(2, 6);
    const b = {
      ...batch,
      events: [{ kind: 'removed' as const, keys: view, tier: 'gpu' as const }],
    };
    expect(decodeEventBatch(encodeEventBatch(b)).events[0]).toEqual({
      kind: 'removed',
      keys: keySeqFrom([10n, 11n]),
      tier: 'gpu',
    });
  });

  it('rejects wrong versions, kinds, types and ranges with the field named', () => {
    const packr = new Packr({ useRecords: false });
    const field = (f: () => unknown) => {
      try {
        f();
        return 'decoded';
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        return (e as ProtocolError).field;
      }
    };
    expect(field(() => decodeEventBatch(Uint8Array.of(0x92, 0x01)))).toBe('$');
    expect(field(() => decodeEventBatch(packr.pack({ v: 2, k: 'events' })))).toBe('v');
    expect(field(() => decodeEventBatch(encodeHeartbeat(hb)))).toBe('k');
    expect(field(() => decodeHeartbeat(encodeHeartbeat({ ...hb, kvUsage: 1.5 })))).toBe('kvUsage');
    expect(field(() => decodeHeartbeat(encodeHeartbeat({ ...hb, role: 'x' as 'both' })))).toBe(
      'role',
    );
    expect(field(() => decodeEventBatch(encodeEventBatch({ ...batch, seq: 0 })))).toBe('seq');
    const badKeys = packr.pack({
      v: 1,
      k: 'events',
      pod: 'p',
      model: 'm',
      epoch: 'e',
      seq: 1,
      ts: 1,
      events: [{ t: 'r', k: new Uint8Array(7), r: 0 }],
    });
    expect(field(() => decodeEventBatch(badKeys))).toBe('events[0].k');
    const badTier = packr.pack({
      v: 1,
      k: 'events',
      pod: 'p',
      model: 'm',
      epoch: 'e',
      seq: 1,
      ts: 1,
      events: [{ t: 'r', k: new Uint8Array(8), r: 3 }],
    });
    expect(field(() => decodeEventBatch(badTier))).toBe('events[0].r');
    const badReply = packr.pack({
      v: 1,
      k: 'lookup-reply',
      shard: 0,
      pods: ['a'],
      gpu: [2],
      total: [1],
      error: null,
    });
    expect(field(() => decodeLookupReply(badReply))).toBe('pods[0]');
  });

  it('rejects lookup replies whose counts are not block counts, or that name a pod twice', () => {
    const packr = new Packr({ useRecords: false });
    const reply = (pods: string[], gpu: unknown[], total: unknown[]) =>
      packr.pack({ v: 1, k: 'lookup-reply', shard: 0, pods, gpu, total, error: null });
    const field = (bytes: Uint8Array) => {
      try {
        decodeLookupReply(bytes);
        return 'decoded';
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        return (e as ProtocolError).field;
      }
    };
    expect(field(reply(['a'], [NaN], [NaN]))).toBe('pods[0]');
    expect(field(reply(['a'], [0], [Infinity]))).toBe('pods[0]');
    expect(field(reply(['a'], [1.5], [2]))).toBe('pods[0]');
    expect(field(reply(['a'], [1], [2.5]))).toBe('pods[0]');
    expect(field(reply(['a'], [-1], [0]))).toBe('pods[0]');
    expect(field(reply(['a'], [2 ** 53], [2 ** 53]))).toBe('pods[0]');
    expect(field(reply(['a', 'b', 'a'], [1, 1, 2], [1, 1, 2]))).toBe('pods[2]');
    expect(field(reply(['a', 'b'], [0, 3], [1, 3]))).toBe('decoded');
  });

  it('names the event field of a bad stored-event depth', () => {
    const packr = new Packr({ useRecords: false });
    const stored = (d: unknown) =>
      packr.pack({
        v: 1,
        k: 'events',
        pod: 'p',
        model: 'm',
        epoch: 'e',
        seq: 1,
        ts: 1,
        events: [{ t: 'c' }, { t: 's', p: null, k: new Uint8Array(8), r: 0, d }],
      });
    for (const d of ['x', -2, 1.5, 2 ** 32]) {
      try {
        decodeEventBatch(stored(d));
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
        expect((e as ProtocolError).field).toBe('events[1].d');
      }
    }
  });
});
