/**
 * NATS subjects of the canonical protocol, built in one place.
 *
 *   kvroute.v1.events.<model>.<slot>     canonical event batches
 *   kvroute.v1.load.<model>.<pod>        publisher heartbeats (load, liveness, leaving)
 *   kvroute.v1.lookup.<model>.<shard>    lookup request/reply (queue group per shard)
 *   kvroute.v1.snapshot.<pod>            a publisher's full block set, chunked
 *   kvroute.v1.indexer.<instance>        indexer heartbeats (which shards are served)
 *
 * Names become subject tokens with a reversible escape: every byte outside
 * [A-Za-z0-9_-] is written `~XX` (hex of its UTF-8 bytes), so dots, slashes,
 * wildcards and spaces never leak into the subject hierarchy.
 */
export const PREFIX = 'kvroute.v1';

const SAFE = /^[A-Za-z0-9_-]$/;

export function encodeToken(name: string): string {
  if (name.length === 0) throw new RangeError('subject token must not be empty');
  let out = '';
  for (const ch of name) {
    if (SAFE.test(ch)) {
      out += ch;
    } else {
      for (const b of new TextEncoder().encode(ch))
        out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

export function decodeToken(token: string): string {
  if (!/^(?:[A-Za-z0-9_-]|~[0-9A-F]{2})+$/.test(token)) {
    throw new RangeError(`not an encoded subject token: ${JSON.stringify(token)}`);
  }
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
}

export const subjects = {
  events: (model: string, slot: number) => `${PREFIX}.events.${encodeToken(model)}.${slot}`,
  allEvents: () => `${PREFIX}.events.>`,
  /** Every model's events in one slot: what an indexer shard subscribes to. */
  eventsForSlot: (slot: number) => `${PREFIX}.events.*.${slot}`,
  load: (model: string, pod: string) => `${PREFIX}.load.${encodeToken(model)}.${encodeToken(pod)}`,
  allLoad: () => `${PREFIX}.load.>`,
  lookup: (model: string, shard: number) => `${PREFIX}.lookup.${encodeToken(model)}.${shard}`,
  /** Every model's lookups for one shard. */
  lookupForShard: (shard: number) => `${PREFIX}.lookup.*.${shard}`,
  snapshot: (pod: string) => `${PREFIX}.snapshot.${encodeToken(pod)}`,
  indexer: (instance: string) => `${PREFIX}.indexer.${encodeToken(instance)}`,
  allIndexers: () => `${PREFIX}.indexer.*`,
} as const;

/** Reads the model back out of an events, load or lookup subject. */
export function modelOfSubject(subject: string): string {
  const parts = subject.split('.');
  const token = parts[3];
  if (parts.length < 5 || token === undefined)
    throw new RangeError(`no model in subject ${subject}`);
  return decodeToken(token);
}
