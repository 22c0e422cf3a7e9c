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
 * [A-Za-z0-9_-] is written `~XX` (upper-case hex of its UTF-8 bytes), so dots,
 * slashes, wildcards and spaces never leak into the subject hierarchy.
 *
 * The encoding is one-to-one: names must be well-formed UTF-16 (a lone
 * surrogate has no UTF-8 form), and a token decodes only if it is exactly what
 * the encoder writes (no escaped safe byte, no lower-case hex, valid UTF-8).
 * Both directions throw RangeError otherwise.
 */
export const PREFIX = 'kvroute.v1';

const SAFE = /^[A-Za-z0-9_-]$/;
const LONE_SURROGATE = /\p{Cs}/u; // with the u flag, paired surrogates read as one code point
const utf8Out = new TextEncoder();
const utf8In = new TextDecoder('utf-8', { fatal: true });

export function encodeToken(name: string): string {
  if (name.length === 0) throw new RangeError('subject token must not be empty');
  if (LONE_SURROGATE.test(name))
    throw new RangeError(`name is not well-formed UTF-16: ${JSON.stringify(name)}`);
  let out = '';
  for (const ch of name) {
    if (SAFE.test(ch)) {
      out += ch;
    } else {
      for (const b of utf8Out.encode(ch))
        out += `~${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

export function decodeToken(token: string): string {
  const bad = (why: string, cause?: unknown) =>
    new RangeError(`not an encoded subject token (${why}): ${JSON.stringify(token)}`, { cause });
  if (!/^(?:[A-Za-z0-9_-]|~[0-9A-F]{2})+$/.test(token)) throw bad('bad character or escape');
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      const b = parseInt(token.slice(i + 1, i + 3), 16);
      if (b < 0x80 && SAFE.test(String.fromCharCode(b))) throw bad('escaped safe byte');
      bytes.push(b);
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  try {
    return utf8In.decode(Uint8Array.from(bytes));
  } catch (cause) {
    throw bad('not UTF-8', cause);
  }
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
