/**
 * Pod sharding. Every pod hashes to one of SLOTS fixed slots, and its events go
 * to that slot's subject; an indexer shard i of N owns the slots s with
 * s mod N = i. Publishers therefore never need to know how many shards the
 * indexer runs: resharding is an indexer-side change. N must divide nothing
 * and may be any of 1..SLOTS.
 */
export const SLOTS = 64;

/** FNV-1a over UTF-16 code units: stable, dependency-free, well spread for host:port strings. */
export function slotOf(pod: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < pod.length; i++) {
    h ^= pod.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % SLOTS;
}

function checkShardCount(shardCount: number): void {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > SLOTS) {
    throw new RangeError(`shard count must be an integer in 1..${SLOTS}, got ${shardCount}`);
  }
}

/** The shard owning a slot. Throws RangeError unless slot is in 0..SLOTS-1 and shardCount in 1..SLOTS. */
export function shardOfSlot(slot: number, shardCount: number): number {
  checkShardCount(shardCount);
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) {
    throw new RangeError(`slot must be an integer in 0..${SLOTS - 1}, got ${slot}`);
  }
  return slot % shardCount;
}

/** The shard owning a pod's slot. Throws RangeError unless shardCount is in 1..SLOTS. */
export function shardOf(pod: string, shardCount: number): number {
  return shardOfSlot(slotOf(pod), shardCount);
}

/** The slots shard `shard` of `shardCount` owns, ascending. Throws RangeError for a shard outside the count. */
export function slotsOfShard(shard: number, shardCount: number): number[] {
  checkShardCount(shardCount);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) {
    throw new RangeError(`shard must be an integer in 0..${shardCount - 1}, got ${shard}`);
  }
  const out: number[] = [];
  for (let s = shard; s < SLOTS; s += shardCount) out.push(s);
  return out;
}

/** Parses `all` or a list like `0,2,5-7` against a shard count. */
export function parseShardList(spec: string, shardCount: number): number[] {
  checkShardCount(shardCount);
  if (spec.trim() === 'all') return Array.from({ length: shardCount }, (_, i) => i);
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m)
      throw new RangeError(
        `bad shard list item ${JSON.stringify(part)} (use "all" or e.g. "0,2,5-7")`,
      );
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`bad shard range ${part}`);
    for (let s = a; s <= b; s++) {
      if (s >= shardCount)
        throw new RangeError(`shard ${s} is out of range for ${shardCount} shards`);
      out.add(s);
    }
  }
  return [...out].sort((x, y) => x - y);
}
