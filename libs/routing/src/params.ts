import { PolicyConfigError } from './errors.js';

/** Reads validated numeric parameters of one scorer or picker; unknown keys are rejected. */
export class Params {
  private readonly used = new Set<string>();
  constructor(
    private readonly raw: Record<string, unknown> | undefined,
    private readonly field: string,
  ) {}

  num(key: string, def: number, range: { min?: number; max?: number; int?: boolean } = {}): number {
    this.used.add(key);
    const v = this.raw?.[key];
    if (v === undefined) return def;
    const f = `${this.field}.${key}`;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new PolicyConfigError(f, 'must be a finite number');
    if (range.int && !Number.isInteger(v)) throw new PolicyConfigError(f, 'must be an integer');
    if (range.min !== undefined && v < range.min)
      throw new PolicyConfigError(f, `must be ≥ ${range.min}`);
    if (range.max !== undefined && v > range.max)
      throw new PolicyConfigError(f, `must be ≤ ${range.max}`);
    return v;
  }

  /** Call after reading every parameter: a misspelt key is an error, not a silent default. */
  done(): void {
    for (const k of Object.keys(this.raw ?? {})) {
      if (!this.used.has(k)) throw new PolicyConfigError(`${this.field}.${k}`, 'unknown parameter');
    }
  }
}
