/**
 * Translates a pre-tokenizer `Split` pattern from tokenizer.json (Oniguruma syntax, as the Rust
 * tokenizers library runs it) into an equivalent JavaScript RegExp, or returns undefined when the
 * pattern uses a construct whose meaning differs between the two engines and is not translated.
 *
 * Translated: `(?i:…)` groups of literals (JS on Node 20 has no inline modifiers) and `\s` / `\S`,
 * which Oniguruma reads as Unicode White_Space (includes U+0085, excludes U+FEFF) while JS `\s`
 * differs in exactly those two code points. Refused: `\d \w \b \h` and their negations, `.`,
 * backreferences, atomic groups and possessive quantifiers.
 */

const WHITE_SPACE = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

export function translateSplitPattern(source: string): RegExp | undefined {
  let out = '';
  let inClass = false;
  let caseless = -1; // paren depth of an open (?i: group, -1 when none
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1];
      if (n === undefined) return undefined;
      i++;
      if (n === 's') {
        out += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      } else if (n === 'S') {
        if (inClass) return undefined;
        out += `[^${WHITE_SPACE}]`;
      } else if ('dDwWbBhHAzZGkK0123456789'.includes(n)) {
        return undefined;
      } else if (n === 'p' || n === 'P') {
        const close = source.indexOf('}', i);
        if (source[i + 1] !== '{' || close < 0) return undefined;
        out += '\\' + source.slice(i, close + 1);
        i = close;
      } else {
        out += '\\' + n;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[') return undefined; // nested classes / set operations
      out += c;
      continue;
    }
    if (c === '[') {
      if (caseless >= 0) return undefined;
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') out += '\\' + source[++i]; // a leading ] is literal in Oniguruma
      continue;
    }
    if (c === '(') {
      if (source.startsWith('(?i:', i)) {
        if (caseless >= 0) return undefined;
        caseless = depth;
        depth++;
        out += '(?:';
        i += 3;
        continue;
      }
      if (source[i + 1] === '?' && !/^\(\?(?::|=|!)/.test(source.slice(i, i + 3))) return undefined;
      depth++;
      out += c;
      continue;
    }
    if (c === ')') {
      depth--;
      if (depth === caseless) caseless = -1;
      out += c;
      continue;
    }
    if (c === '.') return undefined;
    if ((c === '+' || c === '*' || c === '?' || c === '}') && source[i + 1] === '+')
      return undefined;
    if (caseless >= 0 && /[a-zA-Z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  if (inClass || depth !== 0) return undefined;
  try {
    return new RegExp(out, 'gu');
  } catch {
    return undefined;
  }
}
