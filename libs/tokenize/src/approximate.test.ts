import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approximateTokens, APPROX_CHARS_PER_TOKEN, canonicalChatText } from './index.js';

describe('approximateTokens', () => {
  it('gives one id per 4 UTF-16 units and equal ids for equal full-chunk prefixes', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 80 })
          .map((units) => String.fromCharCode(...units)),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 20 }),
        (prefix, a, b) => {
          const ta = approximateTokens(prefix + a);
          const tb = approximateTokens(prefix + b);
          const shared = Math.floor(prefix.length / APPROX_CHARS_PER_TOKEN);
          let same = true;
          for (let i = 0; i < shared; i++) same &&= ta[i] === tb[i];
          return same && ta.length === Math.ceil((prefix + a).length / APPROX_CHARS_PER_TOKEN);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('tells apart chunks that differ, including a short tail from a padded one', () => {
    const ids = new Set<number>();
    const chunks = ['abcd', 'abce', 'bacd', 'abc', 'abc\0', 'ab', 'a', '\0', '\0\0', 'ﬀ🙂'];
    for (const c of chunks) ids.add(approximateTokens(c)[0]!);
    expect(ids.size).toBe(chunks.length);
    expect([...approximateTokens('')]).toEqual([]);
    // Stable across calls and processes: a pure function of the text.
    expect(approximateTokens('Hello, world!')).toEqual(approximateTokens('Hello, world!'));
  });

  it('spreads ids over the 32-bit range with few collisions', () => {
    const seen = new Set<number>();
    const n = 50_000;
    for (let i = 0; i < n; i++) seen.add(approximateTokens(i.toString(36).padStart(4, '_'))[0]!);
    expect(seen.size).toBeGreaterThan(n - 5);
  });
});

describe('canonicalChatText', () => {
  it('renders messages so that a conversation prefix renders to a text prefix', () => {
    const a = [
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'text', text: 'x' }, 'y'] },
    ];
    const b = [...a, { role: 'assistant', content: 'z' }];
    expect(canonicalChatText(b).startsWith(canonicalChatText(a))).toBe(true);
    expect(canonicalChatText(a)).toBe('\u241esystem\nS\n\n\u241euser\nx\ny\n\n');
    expect(canonicalChatText('junk')).toBe('"junk"');
    expect(canonicalChatText([null, { role: 1, content: 5 }])).toBe('\u241e?\n\n\n\u241e?\n5\n\n');
  });

  it('never throws, even on nesting too deep for JSON.stringify', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    const content = canonicalChatText([{ role: 'user', content: { a: deep } }]);
    expect(content.startsWith('\u241euser\n{"a":[[[')).toBe(true);
    expect(content.length).toBeLessThan(200);
    expect(canonicalChatText([{ role: 'user', content: [deep, 'y'] }])).toMatch(
      /^\u241euser\n\[\[.*….*\]\]\ny\n\n$/,
    );
    expect(canonicalChatText({ deep }).length).toBeLessThan(200);
    // Within the depth limit the text is JSON.stringify's.
    const shallow = { type: 'image_url', image_url: { url: 'u', detail: [1, { a: null }] } };
    expect(canonicalChatText([{ role: 'user', content: [shallow] }])).toBe(
      `\u241euser\n${JSON.stringify(shallow)}\n\n`,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(canonicalChatText([{ role: 'user', content: cyclic }])).toBe(
      '\u241euser\n<unserializable>\n\n',
    );
  });
});
