import { describe, expect, it } from 'vitest';
import { translateSplitPattern } from './split-regex.js';

const LLAMA3 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const pieces = (re: RegExp, s: string) => s.match(re) ?? [];

describe('translateSplitPattern', () => {
  it('expands case-insensitive groups and keeps the pattern meaning', () => {
    const re = translateSplitPattern(LLAMA3)!;
    expect(pieces(re, "I'LL see 12345 ok?!\n\nyes")).toEqual([
      'I',
      "'LL",
      ' see',
      ' ',
      '123',
      '45',
      ' ok',
      '?!\n\n',
      'yes',
    ]);
  });

  it('reads \\s as Unicode White_Space, as Oniguruma does (U+0085 yes, U+FEFF no)', () => {
    const re = translateSplitPattern('\\s+|[^\\s]+')!;
    expect(pieces(re, 'a\u0085b')).toEqual(['a', '\u0085', 'b']);
    expect(pieces(re, 'a\ufeffb')).toEqual(['a\ufeffb']);
    expect(pieces(translateSplitPattern('\\S+')!, 'x\u0085\ufeff')).toEqual(['x', '\ufeff']);
  });

  it('refuses constructs whose meaning differs between the engines', () => {
    for (const p of [
      '\\d+',
      '\\w',
      '\\bx',
      '.',
      'a++',
      '(?>a)',
      '[[a]]',
      '(?<n>a)',
      '[\\S]',
      '(',
    ]) {
      expect(translateSplitPattern(p)).toBeUndefined();
    }
  });
});
