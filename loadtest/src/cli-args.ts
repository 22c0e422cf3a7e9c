/** Bad command-line input: the CLIs print the message and exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface NumberFlag {
  /** Smallest accepted value (inclusive unless `minExclusive`). */
  min: number;
  minExclusive?: boolean;
  integer?: boolean;
  /** Accept `inf` / `Infinity` (only where unbounded means something: cache size, request count). */
  allowInf?: boolean;
}

/**
 * Parses the value of `--name`. Only finite numbers ≥ `min` pass (and
 * integers when asked); `inf` only where `allowInf`. Anything else is a
 * UsageError naming the flag, so no NaN or infinite value reaches the
 * simulator (an infinite load or delay would silently mean "everything at
 * t = 0" or "events never arrive").
 */
export function numberFlag(name: string, raw: string, o: NumberFlag): number {
  if (o.allowInf && (raw === 'inf' || raw === 'Infinity')) return Infinity;
  const n = raw.trim() === '' ? NaN : Number(raw);
  const kind = o.integer ? 'an integer' : 'a number';
  const inf = o.allowInf ? ' (or inf)' : '';
  const low = o.minExclusive ? n <= o.min : n < o.min;
  if (!Number.isFinite(n) || low || (o.integer && !Number.isInteger(n)))
    throw new UsageError(
      `--${name} must be ${kind} ${o.minExclusive ? '>' : '≥'} ${o.min}${inf}, got "${raw}"`,
    );
  return n;
}
