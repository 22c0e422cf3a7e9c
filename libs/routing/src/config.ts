import { PolicyConfigError } from './errors.js';
import { PRESETS } from './presets.js';
import { own, pickers, scorers } from './registry.js';
import type { PickerConfig, PolicyConfig, PresetName, ScorerConfig } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function params(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new PolicyConfigError(field, 'must be an object');
  return v;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], field: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new PolicyConfigError(field ? `${field}.${k}` : k, 'unknown key');
  }
}

/**
 * Validates a YAML/JSON-parsed policy config: a preset name, or scorers with
 * weights plus a picker, or a preset with parts overridden; optionally the
 * weight of CPU-offloaded blocks (`cpuWeight`). A string is taken
 * as a preset name. Checks names and shapes (parameter values are checked by
 * createPolicy). Throws PolicyConfigError naming the bad field.
 */
export function parsePolicyConfig(raw: unknown): PolicyConfig {
  if (typeof raw === 'string') raw = { preset: raw };
  if (!isObject(raw)) throw new PolicyConfigError('policy', 'must be an object or a preset name');
  onlyKeys(raw, ['preset', 'scorers', 'picker', 'cpuWeight'], '');
  const out: PolicyConfig = {};
  if (raw.preset !== undefined) {
    if (typeof raw.preset !== 'string' || !own(PRESETS, raw.preset)) {
      throw new PolicyConfigError(
        'preset',
        `unknown preset ${JSON.stringify(raw.preset)} (known: ${Object.keys(PRESETS).join(', ')})`,
      );
    }
    out.preset = raw.preset as PresetName;
  }
  if (raw.scorers !== undefined) {
    if (!Array.isArray(raw.scorers)) throw new PolicyConfigError('scorers', 'must be an array');
    out.scorers = raw.scorers.map((s: unknown, i): ScorerConfig => {
      const f = `scorers[${i}]`;
      if (!isObject(s)) throw new PolicyConfigError(f, 'must be an object');
      onlyKeys(s, ['name', 'weight', 'params'], f);
      if (typeof s.name !== 'string' || !own(scorers, s.name)) {
        throw new PolicyConfigError(
          `${f}.name`,
          `unknown scorer ${JSON.stringify(s.name)} (known: ${Object.keys(scorers).join(', ')})`,
        );
      }
      if (typeof s.weight !== 'number' || !Number.isFinite(s.weight) || s.weight < 0) {
        throw new PolicyConfigError(`${f}.weight`, 'must be a finite number ≥ 0');
      }
      const p = params(s.params, `${f}.params`);
      return p ? { name: s.name, weight: s.weight, params: p } : { name: s.name, weight: s.weight };
    });
  }
  if (raw.picker !== undefined) {
    const p = raw.picker;
    if (!isObject(p)) throw new PolicyConfigError('picker', 'must be an object');
    onlyKeys(p, ['name', 'params'], 'picker');
    if (typeof p.name !== 'string' || !own(pickers, p.name)) {
      throw new PolicyConfigError(
        'picker.name',
        `unknown picker ${JSON.stringify(p.name)} (known: ${Object.keys(pickers).join(', ')})`,
      );
    }
    const pp = params(p.params, 'picker.params');
    out.picker = (pp ? { name: p.name, params: pp } : { name: p.name }) satisfies PickerConfig;
  }
  if (raw.cpuWeight !== undefined) {
    const w = raw.cpuWeight;
    if (typeof w !== 'number' || !(w >= 0 && w <= 1)) {
      throw new PolicyConfigError('cpuWeight', 'must be a number from 0 to 1');
    }
    out.cpuWeight = w;
  }
  if (out.preset === undefined && out.scorers === undefined && out.picker === undefined) {
    throw new PolicyConfigError('policy', 'needs a preset, scorers or a picker');
  }
  return out;
}
