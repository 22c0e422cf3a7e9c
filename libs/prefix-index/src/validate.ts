import type { CanonicalEvent } from '@kvroute/protocol';
import type { PodSnapshot, PrefixIndexOptions } from './prefix-index.js';

/** Input the index refuses as a whole; nothing of the call was applied. */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * Options are configuration, not traffic: a bad one is a RangeError at
 * construction. Every number must be finite (an infinite expectedBlocks would
 * size nothing, an infinite TTL never expires), budgetBytes > 0, the rest >= 0.
 */
export function checkOptions(o: PrefixIndexOptions): void {
  const finite = (name: string, v: number | undefined, min: number, strict: boolean) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (strict && v === min)) {
      throw new RangeError(
        `${name} must be a finite number ${strict ? '>' : '>='} ${min}, got ${v}`,
      );
    }
  };
  finite('budgetBytes', o.budgetBytes, 0, true);
  finite('speculativeTtlMs', o.speculativeTtlMs, 0, false);
  finite('expectedBlocks', o.expectedBlocks, 0, false);
}

/** A speculative TTL given per call: finite and >= 0 (0 adds nothing). */
export function checkTtl(ttlMs: unknown): void {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new InvalidInputError('ttlMs', `expected a finite number >= 0, got ${String(ttlMs)}`);
  }
}

function keySeqOk(keys: unknown): keys is Uint32Array {
  return keys instanceof Uint32Array && keys.length % 2 === 0;
}

export function checkKeys(keys: unknown, field: string): void {
  if (!keySeqOk(keys))
    throw new InvalidInputError(field, 'expected a KeySeq (Uint32Array of even length)');
}

export function checkPod(pod: unknown): void {
  if (typeof pod !== 'string' || pod.length === 0) {
    throw new InvalidInputError('pod', 'expected a non-empty string');
  }
}

/** Validates every event before any is applied, so a bad batch changes nothing. */
export function checkEvents(events: readonly CanonicalEvent[]): void {
  if (!Array.isArray(events)) throw new InvalidInputError('events', 'expected an array');
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Partial<Record<string, unknown>> | undefined;
    const f = `events[${i}]`;
    if (typeof e !== 'object' || e === null) throw new InvalidInputError(f, 'expected an event');
    switch (e.kind) {
      case 'stored':
        checkKeys(e.keys, `${f}.keys`);
        if (e.parent !== null && !(keySeqOk(e.parent) && e.parent.length === 2)) {
          throw new InvalidInputError(`${f}.parent`, 'expected null or one key');
        }
        if (e.tier !== 'gpu' && e.tier !== 'cpu')
          throw new InvalidInputError(`${f}.tier`, 'expected gpu or cpu');
        if (
          !Number.isInteger(e.depth) ||
          (e.depth as number) < -1 ||
          (e.depth as number) >= 0xffff_ffff
        ) {
          throw new InvalidInputError(`${f}.depth`, 'expected an integer >= -1');
        }
        break;
      case 'removed':
        checkKeys(e.keys, `${f}.keys`);
        if (e.tier !== 'gpu' && e.tier !== 'cpu')
          throw new InvalidInputError(`${f}.tier`, 'expected gpu or cpu');
        break;
      case 'cleared':
        break;
      default:
        throw new InvalidInputError(`${f}.kind`, `unknown event kind ${String(e.kind)}`);
    }
  }
}

export function checkSnapshot(s: PodSnapshot): void {
  if (typeof s !== 'object' || s === null)
    throw new InvalidInputError('snapshot', 'expected an object');
  checkKeys(s.keys, 'snapshot.keys');
  const n = s.keys.length >>> 1;
  if (!(s.tiers instanceof Uint8Array) || s.tiers.length !== n) {
    throw new InvalidInputError('snapshot.tiers', `expected a Uint8Array of ${n}`);
  }
  if (!(s.depths instanceof Uint32Array) || s.depths.length !== n) {
    throw new InvalidInputError('snapshot.depths', `expected a Uint32Array of ${n}`);
  }
  for (let i = 0; i < n; i++) {
    if (s.tiers[i]! > 1) throw new InvalidInputError(`snapshot.tiers[${i}]`, 'expected 0 or 1');
  }
}
