import { accessSync, constants, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Typed configuration from flags and environment variables, parsed once.
 * Precedence: flag, then environment, then default. Every problem names the
 * setting (flag and variable) so an operator can fix it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'bytes' | 'duration';

interface Spec<T> {
  kind: Kind;
  flag: string;
  env?: string;
  help: string;
  default?: T;
  required?: boolean;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** The value names a file that must exist and be readable (checked at parse). */
  file?: boolean;
  /** Keys of settings that must be set too whenever this one is. */
  requires?: readonly string[];
}

export type Setting<T> = Spec<T> & { readonly __type?: T };

export const setting = {
  string: (s: Omit<Spec<string>, 'kind'>): Setting<string> => ({ ...s, kind: 'string' }),
  optString: (
    s: Omit<Spec<string>, 'kind' | 'default' | 'required'>,
  ): Setting<string | undefined> => ({
    ...s,
    kind: 'string',
  }),
  int: (s: Omit<Spec<number>, 'kind'>): Setting<number> => ({ ...s, kind: 'int' }),
  number: (s: Omit<Spec<number>, 'kind'>): Setting<number> => ({ ...s, kind: 'number' }),
  bool: (s: Omit<Spec<boolean>, 'kind'>): Setting<boolean> => ({ ...s, kind: 'bool' }),
  /** Sizes like `2GiB`, `512MiB`, `1e9`; parsed to bytes. */
  bytes: (s: Omit<Spec<number>, 'kind'>): Setting<number> => ({ ...s, kind: 'bytes' }),
  /** Durations like `3s`, `250ms`, `1m`; parsed to milliseconds. */
  duration: (s: Omit<Spec<number>, 'kind'>): Setting<number> => ({ ...s, kind: 'duration' }),
};

export type Schema = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Schema> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
  t: 1e12,
  tb: 1e12,
  tib: 1024 ** 4,
};
const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, '': 1 };
/** Timers (setTimeout, socket timeouts) take a signed 32-bit count of ms; past it they fire at once. */
const MAX_DURATION_MS = 2 ** 31 - 1;

export function parseBytes(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined)
    throw new RangeError(`not a size: ${JSON.stringify(text)} (use e.g. 2GiB, 512MiB)`);
  return Math.round(Number(m[1]) * unit);
}

export function parseDuration(text: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h|)\s*$/.exec(text);
  if (!m) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 250ms, 3s)`);
  return Number(m[1]) * TIME_UNITS[m[2]!]!;
}

function name(key: string, s: Spec<unknown>): string {
  return `--${s.flag}${s.env ? ` / ${s.env}` : ''} (${key})`;
}

function coerce(key: string, s: Spec<unknown>, raw: string | boolean): unknown {
  const bad = (why: string): never => {
    throw new ConfigError(`invalid ${name(key, s)}: ${why}`);
  };
  let v: unknown;
  switch (s.kind) {
    case 'string':
      v = String(raw);
      if (s.choices && !s.choices.includes(v as string))
        bad(`expected one of ${s.choices.join('|')}, got ${JSON.stringify(raw)}`);
      if (v === '') bad('must not be empty');
      if (s.file) {
        try {
          accessSync(v as string, constants.R_OK);
          if (!statSync(v as string).isFile()) bad(`${JSON.stringify(v)} is not a file`);
        } catch (e) {
          if (e instanceof ConfigError) throw e;
          bad(
            `cannot read ${JSON.stringify(v)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
          );
        }
      }
      return v;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      return bad(`expected true or false, got ${JSON.stringify(raw)}`);
    case 'int':
    case 'number':
      v = Number(raw);
      if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v))
        bad(`expected a number, got ${JSON.stringify(raw)}`);
      if (s.kind === 'int' && !Number.isInteger(v))
        bad(`expected an integer, got ${JSON.stringify(raw)}`);
      break;
    case 'bytes':
    case 'duration':
      try {
        v = s.kind === 'bytes' ? parseBytes(String(raw)) : parseDuration(String(raw));
      } catch (e) {
        bad((e as Error).message);
      }
      if (s.kind === 'duration' && (v as number) > MAX_DURATION_MS)
        bad(`must be at most ${MAX_DURATION_MS} ms (about 24 days), got ${JSON.stringify(raw)}`);
      break;
  }
  const n = v as number;
  if (s.min !== undefined && n < s.min) bad(`must be at least ${s.min}, got ${n}`);
  if (s.max !== undefined && n > s.max) bad(`must be at most ${s.max}, got ${n}`);
  return n;
}

/**
 * Parses argv and env against a schema. Unknown flags and missing required
 * settings are ConfigErrors. `--help` is left to the caller (see `renderHelp`).
 */
export function parseConfig<S extends Schema>(
  schema: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigOf<S> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const s of Object.values(schema))
    options[s.flag] = { type: s.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) {
    const fromFlag = values[s.flag];
    const fromEnv = s.env ? env[s.env] : undefined;
    const raw = fromFlag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
    if (raw !== undefined) out[key] = coerce(key, s, raw);
    else if (s.default !== undefined) out[key] = s.default;
    else if (s.required)
      throw new ConfigError(`missing required setting ${name(key, s)}: ${s.help}`);
    else out[key] = undefined;
  }
  for (const [key, s] of Object.entries(schema)) {
    if (out[key] === undefined) continue;
    for (const other of s.requires ?? []) {
      const o = schema[other];
      if (o && out[other] === undefined)
        throw new ConfigError(`${name(key, s)} needs ${name(other, o)} as well`);
    }
  }
  return out as ConfigOf<S>;
}

export function renderHelp(usage: string, schema: Schema): string {
  const rows = Object.values(schema).map((s) => {
    const left = `  --${s.flag}${s.kind === 'bool' ? '' : ' <value>'}`;
    const def =
      s.default !== undefined ? ` (default ${String(s.default)})` : s.required ? ' (required)' : '';
    return `${left.padEnd(30)} ${s.help}${def}${s.env ? ` [${s.env}]` : ''}`;
  });
  return `usage: ${usage}\n\n${rows.join('\n')}`;
}
