import { describe, expect, it } from 'vitest';
import { parsePolicyConfig } from './config.js';
import { PolicyConfigError } from './errors.js';
import { createPolicy } from './policy.js';
import { makePicker, makeScorer } from './registry.js';

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyConfigError);
    return (e as PolicyConfigError).field;
  }
  throw new Error('did not throw');
}

describe('policy config', () => {
  it('accepts presets, custom scorers and preset overrides', () => {
    expect(parsePolicyConfig('llm-d')).toEqual({ preset: 'llm-d' });
    const c = parsePolicyConfig({
      scorers: [
        { name: 'prefix-cache', weight: 3 },
        { name: 'queue', weight: 1 },
      ],
      picker: { name: 'max-score' },
    });
    expect(createPolicy(c).name).toBe('custom');
    expect(
      createPolicy({ preset: 'dynamo', picker: { name: 'softmax', params: { temperature: 0.5 } } })
        .name,
    ).toBe('dynamo');
    expect(createPolicy({ preset: 'llm-d', scorers: [{ name: 'queue', weight: 1 }] }).name).toBe(
      'llm-d',
    );
  });

  it('names the bad field', () => {
    expect(fieldOf(() => parsePolicyConfig({ preset: 'nginx' }))).toBe('preset');
    expect(fieldOf(() => parsePolicyConfig(42))).toBe('policy');
    expect(fieldOf(() => parsePolicyConfig({}))).toBe('policy');
    expect(fieldOf(() => parsePolicyConfig({ presets: 'x' }))).toBe('presets');
    expect(fieldOf(() => parsePolicyConfig({ scorers: {} }))).toBe('scorers');
    expect(fieldOf(() => parsePolicyConfig({ scorers: [{ name: 'nope', weight: 1 }] }))).toBe(
      'scorers[0].name',
    );
    expect(fieldOf(() => parsePolicyConfig({ scorers: [{ name: 'queue', weight: -1 }] }))).toBe(
      'scorers[0].weight',
    );
    expect(
      fieldOf(() => parsePolicyConfig({ scorers: [{ name: 'queue', weight: 1, extra: 1 }] })),
    ).toBe('scorers[0].extra');
    expect(fieldOf(() => parsePolicyConfig({ picker: { name: 'best' } }))).toBe('picker.name');
    expect(fieldOf(() => parsePolicyConfig({ picker: { name: 'softmax', params: [] } }))).toBe(
      'picker.params',
    );
    expect(
      fieldOf(() => createPolicy({ picker: { name: 'softmax', params: { temperature: -1 } } })),
    ).toBe('picker.params.temperature');
    expect(
      fieldOf(() => createPolicy({ picker: { name: 'chwbl', params: { loadFactr: 2 } } })),
    ).toBe('picker.params.loadFactr');
    expect(
      fieldOf(() =>
        createPolicy({ scorers: [{ name: 'ttft', weight: 1, params: { stepMs: 'x' } }] }),
      ),
    ).toBe('scorers[0].params.stepMs');
  });

  it('rejects Object.prototype names like any other unknown name', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(fieldOf(() => parsePolicyConfig({ preset: name }))).toBe('preset');
      expect(fieldOf(() => parsePolicyConfig({ scorers: [{ name, weight: 1 }] }))).toBe(
        'scorers[0].name',
      );
      expect(fieldOf(() => parsePolicyConfig({ picker: { name } }))).toBe('picker.name');
      expect(() => parsePolicyConfig({ preset: name })).toThrow(/unknown preset/);
      expect(fieldOf(() => makeScorer(name, undefined, 'scorers[0]'))).toBe('scorers[0].name');
      expect(fieldOf(() => makePicker(name, undefined, 'picker'))).toBe('picker.name');
    }
  });
});
