import rust from 'tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModelTokenizer, readModelFiles } from './index.js';
import type { ModelTokenizer, TokenizerJson } from './index.js';
import { shippedModelDir } from './testing/index.js';

// A `single_word` added token matches only when no word character touches it. The Rust library
// tests its neighbours with the regex crate's Unicode `\w` (Alphabetic, marks, Nd, Pc,
// Join_Control) on code points; both engines must agree with the Rust binding.

const WORD = 'xyzzy';
const TEXTS = [
  `a ${WORD} b`, // matched
  `a${WORD} b`,
  `e\u0301${WORD}`, // combining mark before
  `${WORD}\u0301`, // combining mark after
  `\u00b2${WORD}`, // superscript two: a number (No) but not \w, so matched
  `a\u203f${WORD}`, // undertie, connector punctuation
  `\u200d${WORD}`, // zero-width joiner, Join_Control
  `1${WORD}`,
  `_${WORD}`,
  `${WORD}_`,
  `\u{1d400}${WORD}`, // mathematical bold A: a letter outside the BMP (a surrogate pair)
  `${WORD}\u{1d400}`,
  `🙂${WORD}🙂`, // matched
  `中${WORD}`,
  `\u216b${WORD}`, // roman numeral twelve: Nl, Alphabetic
  `${WORD}.${WORD}`, // both matched
];

describe('single_word added tokens (Qwen3 tokenizer.json plus one such token)', () => {
  let fast: ModelTokenizer;
  let library: ModelTokenizer;
  let reference: InstanceType<typeof rust.Tokenizer>;
  let id: number;
  beforeAll(async () => {
    const files = await readModelFiles(shippedModelDir('qwen3'));
    const added = files.tokenizer.added_tokens ?? [];
    // The id the Rust library gives a new token: one past the highest added id.
    id = Math.max(...added.map((t) => t.id)) + 1;
    const tokenizer: TokenizerJson = {
      ...files.tokenizer,
      added_tokens: [
        ...added,
        {
          id,
          content: WORD,
          special: false,
          normalized: false,
          lstrip: false,
          rstrip: false,
          single_word: true,
        },
      ],
    };
    fast = createModelTokenizer({ ...files, tokenizer }, { cacheBytes: 0 });
    library = createModelTokenizer({ ...files, tokenizer }, { cacheBytes: 0, engine: 'library' });
    reference = rust.Tokenizer.fromString(JSON.stringify(tokenizer));
    expect(reference.tokenToId(WORD)).toBe(id);
  });

  it('both engines match the Rust binding at word boundaries', async () => {
    let matched = 0;
    for (const text of TEXTS) {
      const want = [...(await reference.encode(text, null, { addSpecialTokens: false })).getIds()];
      matched += want.filter((t) => t === id).length;
      expect([...fast.encodePrompt(text)], text).toEqual(want);
      expect([...library.encodePrompt(text)], text).toEqual(want);
    }
    expect(matched).toBe(5); // the cases marked "matched" above: the test sees both outcomes
  });
});
