import type { KeySeq } from '@kvroute/block-keys';
import { keySeqBytes, keySeqFromBytes } from '@kvroute/block-keys';
import { Packr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import type {
  CanonicalEvent,
  EventBatch,
  Heartbeat,
  IndexerHeartbeat,
  LookupReply,
  LookupRequest,
  PodMatch,
  PodRole,
  SnapshotChunk,
  SnapshotRequest,
  Tier,
} from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';

const packr = new Packr({ useRecords: false, int64AsType: 'number', mapsAsObjects: true });

type Obj = Record<string, unknown>;

function pack(kind: string, body: Obj): Uint8Array {
  return packr.pack({ v: PROTOCOL_VERSION, k: kind, ...body });
}

function unpack(bytes: Uint8Array, kind: string): Obj {
  let m: unknown;
  try {
    m = packr.unpack(bytes);
  } catch (cause) {
    throw new ProtocolError('$', `not msgpack (${String(cause)})`, { cause });
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new ProtocolError('$', 'not a map');
  const o = m as Obj;
  if (o.v !== PROTOCOL_VERSION)
    throw new ProtocolError('v', `unsupported protocol version ${String(o.v)}`);
  if (o.k !== kind) throw new ProtocolError('k', `expected a ${kind} message, got ${String(o.k)}`);
  return o;
}

const str = (o: Obj, f: string, max = 1024): string => {
  const v = o[f];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new ProtocolError(f, `expected a non-empty string of at most ${max} chars`);
  }
  return v;
};
/** Field `f` of `o` as a finite number in [min, max]; errors name `path` (the field's full path). */
const num = (o: Obj, f: string, min = -Infinity, max = Infinity, path = f): number => {
  const v = o[f];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new ProtocolError(path, `expected a number in [${min}, ${max}]`);
  }
  return v;
};
const int = (o: Obj, f: string, min = 0, max = Number.MAX_SAFE_INTEGER, path = f): number => {
  const v = num(o, f, min, max, path);
  if (!Number.isInteger(v)) throw new ProtocolError(path, 'expected an integer');
  return v;
};
const bin = (v: unknown, f: string): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw new ProtocolError(f, 'expected bytes');
  return v;
};
const keys = (v: unknown, f: string): KeySeq => {
  const b = bin(v, f);
  if (b.byteLength % 8 !== 0)
    throw new ProtocolError(f, `key bytes length ${b.byteLength} is not a multiple of 8`);
  return keySeqFromBytes(b);
};
const keyBytes = (k: KeySeq): Uint8Array => keySeqBytes(k);
const tierOf = (v: unknown, f: string): Tier => {
  if (v === 0) return 'gpu';
  if (v === 1) return 'cpu';
  throw new ProtocolError(f, 'tier must be 0 (gpu) or 1 (cpu)');
};
const tierCode = (t: Tier): number => (t === 'gpu' ? 0 : 1);
const array = (o: Obj, f: string): unknown[] => {
  const v = o[f];
  if (!Array.isArray(v)) throw new ProtocolError(f, 'expected an array');
  return v;
};

// ---- event batches -------------------------------------------------------

export function encodeEventBatch(b: EventBatch): Uint8Array {
  return pack('events', {
    pod: b.pod,
    model: b.model,
    epoch: b.epoch,
    seq: b.seq,
    ts: b.ts,
    events: b.events.map((e) => {
      switch (e.kind) {
        case 'stored':
          return {
            t: 's',
            p: e.parent ? keyBytes(e.parent) : null,
            k: keyBytes(e.keys),
            r: tierCode(e.tier),
            d: e.depth,
          };
        case 'removed':
          return { t: 'r', k: keyBytes(e.keys), r: tierCode(e.tier) };
        case 'cleared':
          return { t: 'c' };
      }
    }),
  });
}

export function decodeEventBatch(bytes: Uint8Array): EventBatch {
  const o = unpack(bytes, 'events');
  const events = array(o, 'events').map((raw, i): CanonicalEvent => {
    const f = `events[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new ProtocolError(f, 'expected a map');
    const e = raw as Obj;
    switch (e.t) {
      case 's': {
        const parent = e.p === null || e.p === undefined ? null : keys(e.p, `${f}.p`);
        if (parent && parent.length !== 2)
          throw new ProtocolError(`${f}.p`, 'parent must be one key');
        return {
          kind: 'stored',
          parent,
          keys: keys(e.k, `${f}.k`),
          tier: tierOf(e.r, `${f}.r`),
          depth: int(e, 'd', -1, 0xffff_fffe, `${f}.d`),
        };
      }
      case 'r':
        return { kind: 'removed', keys: keys(e.k, `${f}.k`), tier: tierOf(e.r, `${f}.r`) };
      case 'c':
        return { kind: 'cleared' };
      default:
        throw new ProtocolError(`${f}.t`, `unknown event kind ${String(e.t)}`);
    }
  });
  return {
    pod: str(o, 'pod'),
    model: str(o, 'model'),
    epoch: str(o, 'epoch', 64),
    seq: int(o, 'seq', 1),
    ts: num(o, 'ts', 0),
    events,
  };
}

// ---- heartbeats ----------------------------------------------------------

const ROLES: readonly PodRole[] = ['both', 'prefill', 'decode'];

export function encodeHeartbeat(h: Heartbeat): Uint8Array {
  return pack('load', { ...h });
}

export function decodeHeartbeat(bytes: Uint8Array): Heartbeat {
  const o = unpack(bytes, 'load');
  const role = o.role as PodRole;
  if (!ROLES.includes(role)) throw new ProtocolError('role', `expected one of ${ROLES.join(', ')}`);
  if (o.state !== 'up' && o.state !== 'leaving')
    throw new ProtocolError('state', "expected 'up' or 'leaving'");
  return {
    pod: str(o, 'pod'),
    model: str(o, 'model'),
    role,
    epoch: str(o, 'epoch', 64),
    ts: num(o, 'ts', 0),
    state: o.state,
    waiting: int(o, 'waiting'),
    running: int(o, 'running'),
    kvUsage: num(o, 'kvUsage', 0, 1),
    blockSize: int(o, 'blockSize', 1),
    capacityBlocks: int(o, 'capacityBlocks'),
    lastSeq: int(o, 'lastSeq'),
    intervalMs: int(o, 'intervalMs', 1),
  };
}

// ---- lookups -------------------------------------------------------------

export function encodeLookupRequest(r: LookupRequest): Uint8Array {
  return pack('lookup', { model: r.model, keys: keyBytes(r.keys), candidates: r.candidates });
}

export function decodeLookupRequest(bytes: Uint8Array): LookupRequest {
  const o = unpack(bytes, 'lookup');
  let candidates: string[] | null = null;
  if (o.candidates !== null && o.candidates !== undefined) {
    candidates = array(o, 'candidates').map((c, i) => {
      if (typeof c !== 'string' || c.length === 0)
        throw new ProtocolError(`candidates[${i}]`, 'expected a pod name');
      return c;
    });
  }
  return { model: str(o, 'model'), keys: keys(o.keys, 'keys'), candidates };
}

export function encodeLookupReply(r: LookupReply): Uint8Array {
  // Columns, not an array of maps: replies carry one entry per pod, often many.
  return pack('lookup-reply', {
    shard: r.shard,
    pods: r.matches.map((m) => m.pod),
    gpu: r.matches.map((m) => m.gpu),
    total: r.matches.map((m) => m.total),
    error: r.error,
  });
}

export function decodeLookupReply(bytes: Uint8Array): LookupReply {
  const o = unpack(bytes, 'lookup-reply');
  const pods = array(o, 'pods');
  const gpu = array(o, 'gpu');
  const total = array(o, 'total');
  if (gpu.length !== pods.length || total.length !== pods.length) {
    throw new ProtocolError('pods', 'pods, gpu and total must have equal lengths');
  }
  const seen = new Set<string>();
  const matches: PodMatch[] = pods.map((p, i) => {
    const g = gpu[i];
    const t = total[i];
    // Block counts: integers with 0 <= gpu <= total; one entry per pod.
    if (
      typeof p !== 'string' ||
      !Number.isSafeInteger(g) ||
      !Number.isSafeInteger(t) ||
      (g as number) < 0 ||
      (t as number) < (g as number)
    ) {
      throw new ProtocolError(`pods[${i}]`, 'gpu and total must be integers, 0 <= gpu <= total');
    }
    if (seen.has(p)) throw new ProtocolError(`pods[${i}]`, `pod ${p} appears twice`);
    seen.add(p);
    return { pod: p, gpu: g as number, total: t as number };
  });
  const error = o.error;
  if (error !== null && error !== undefined && typeof error !== 'string')
    throw new ProtocolError('error', 'expected a string');
  return { shard: int(o, 'shard'), matches, error: (error as string | null | undefined) ?? null };
}

// ---- snapshots -----------------------------------------------------------

export function encodeSnapshotRequest(r: SnapshotRequest): Uint8Array {
  return pack('snapshot', { ...r });
}

export function decodeSnapshotRequest(bytes: Uint8Array): SnapshotRequest {
  const o = unpack(bytes, 'snapshot');
  return { pod: str(o, 'pod'), chunkKeys: int(o, 'chunkKeys', 1) };
}

export function encodeSnapshotChunk(c: SnapshotChunk): Uint8Array {
  return pack('snapshot-chunk', {
    pod: c.pod,
    model: c.model,
    epoch: c.epoch,
    seq: c.seq,
    index: c.index,
    last: c.last,
    keys: keyBytes(c.keys),
    tiers: c.tiers,
    depths: new Uint8Array(c.depths.buffer, c.depths.byteOffset, c.depths.byteLength),
  });
}

export function decodeSnapshotChunk(bytes: Uint8Array): SnapshotChunk {
  const o = unpack(bytes, 'snapshot-chunk');
  const k = keys(o.keys, 'keys');
  const tiers = bin(o.tiers, 'tiers');
  const depthBytes = bin(o.depths, 'depths');
  const n = k.length / 2;
  if (tiers.byteLength !== n || depthBytes.byteLength !== 4 * n) {
    throw new ProtocolError('tiers', 'keys, tiers and depths must describe the same blocks');
  }
  for (const t of tiers) if (t > 1) throw new ProtocolError('tiers', 'tier must be 0 or 1');
  const depths = new Uint32Array(n);
  new Uint8Array(depths.buffer).set(depthBytes);
  if (typeof o.last !== 'boolean') throw new ProtocolError('last', 'expected a boolean');
  return {
    pod: str(o, 'pod'),
    model: str(o, 'model'),
    epoch: str(o, 'epoch', 64),
    seq: int(o, 'seq'),
    index: int(o, 'index'),
    last: o.last,
    keys: k,
    tiers: Uint8Array.from(tiers),
    depths,
  };
}

// ---- indexer heartbeats --------------------------------------------------

export function encodeIndexerHeartbeat(h: IndexerHeartbeat): Uint8Array {
  return pack('indexer', { ...h });
}

export function decodeIndexerHeartbeat(bytes: Uint8Array): IndexerHeartbeat {
  const o = unpack(bytes, 'indexer');
  const shardCount = int(o, 'shardCount', 1, 64);
  const shards = array(o, 'shards').map((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s >= shardCount) {
      throw new ProtocolError(`shards[${i}]`, 'shard out of range');
    }
    return s;
  });
  if (typeof o.ready !== 'boolean') throw new ProtocolError('ready', 'expected a boolean');
  return { instance: str(o, 'instance'), shards, shardCount, ts: num(o, 'ts', 0), ready: o.ready };
}
