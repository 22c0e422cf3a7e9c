import fc from 'fast-check';
import rust from 'tokenizers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModelTokenizer, readModelFiles } from './index.js';
import type { ChatMessage, ModelTokenizer } from './index.js';
import { shippedModelDir } from './testing/index.js';
import type { ShippedModel } from './testing/index.js';

/**
 * The engine tokenizes with the Rust `tokenizers` library (through transformers). Its official
 * Node binding is the reference here: both encoders of this package must give its ids exactly,
 * and the piece cache must never change a result (cached == uncached == whole text at once).
 */

// Fragments chosen to hit every alternative of the Llama 3 / Qwen pre-tokenizer patterns, the
// code points where JS and Oniguruma disagree on \s (U+0085, U+FEFF), NFC-composable sequences,
// lone surrogates, and added tokens with text glued to them.
const FRAGMENTS = [
  'a',
  'Z',
  'hello',
  ' world',
  '  ',
  ' ',
  '\n',
  '\n\n',
  '\r\n',
  '\t',
  ' \n ',
  '1',
  '23',
  '4567',
  '.',
  ',',
  '!?',
  '...',
  "'s",
  "'T",
  "'ll",
  "n't",
  'é',
  'e\u0301',
  'A\u030a',
  '中文',
  '한국어',
  '🙂',
  '👩‍💻',
  '\u0085',
  '\ufeff',
  '\u00a0',
  '\u3000',
  '\u200b',
  '\u2028',
  '\ud800',
  '١٢٣',
  'ß',
  'İ',
  '<|im_start|>',
  '<|im_end|>',
  '<|eot_id|>',
  '<|begin_of_text|>',
  '<think>',
  '</think>',
  '<|im_start',
  'im_end|>',
  '```ts\n',
  '{"a": 1}',
  '---',
  '\\n',
  'x\u0300\u0301',
  'ǅ',
];

const textArb = fc.oneof(
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

const SYSTEM_PROMPTS = [
  'You are a helpful assistant. Answer concisely and cite sources when you can.',
  'You are kvroute-bot.\n\nRules:\n1. Be brief.\n2. Use Markdown.\n',
  '',
];
const WORDS = [
  'the',
  ' cache',
  ' block',
  '\n',
  '\n\n',
  '  ',
  'Hello',
  '!',
  '42',
  '🙂',
  'é',
  'e\u0301',
  '<|im_end|>',
  '<|eot_id|>',
  '<think>',
  '</think>',
  '```',
  ' ',
  '\t',
  'ok.',
  "'s",
  '中文',
];
const chatTextArb = fc.oneof(
  fc.array(fc.constantFrom(...WORDS), { maxLength: 30 }).map((a) => a.join('')),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const contentArb = fc.oneof(
  textArb,
  fc
    .array(textArb, { minLength: 1, maxLength: 3 })
    .map((ts) => ts.map((text) => ({ type: 'text', text }))),
);
const conversationArb = fc
  .tuple(
    fc.constantFrom(...SYSTEM_PROMPTS),
    fc.array(fc.tuple(contentArb, chatTextArb), { minLength: 1, maxLength: 6 }),
    fc.boolean(),
  )
  .map(([system, turns, generation]) => {
    const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    turns.forEach(([user, assistant], i) => {
      messages.push({ role: 'user', content: user });
      if (i < turns.length - 1) messages.push({ role: 'assistant', content: assistant });
    });
    return { messages, generation };
  });

for (const name of ['qwen3', 'llama3'] as ShippedModel[]) {
  describe(name, () => {
    let fast: ModelTokenizer;
    let library: ModelTokenizer;
    let cached: ModelTokenizer;
    let tiny: ModelTokenizer;
    let reference: InstanceType<typeof rust.Tokenizer>;
    beforeAll(async () => {
      const files = await readModelFiles(shippedModelDir(name));
      fast = createModelTokenizer(files, { cacheBytes: 0 });
      library = createModelTokenizer(files, { cacheBytes: 0, engine: 'library' });
      cached = createModelTokenizer(files);
      tiny = createModelTokenizer(files, { cacheBytes: 4096 });
      reference = rust.Tokenizer.fromFile(`${shippedModelDir(name)}/tokenizer.json`);
      expect(fast.stats().engine).toBe('byte-level-bpe');
      expect(library.stats().engine).toBe('library');
    });
    const rustIds = async (text: string, addSpecialTokens: boolean) =>
      Array.from((await reference.encode(text, null, { addSpecialTokens })).getIds());

    it('both encoders equal Rust on random text: tricky fragments, graphemes, raw code units', async () => {
      await fc.assert(
        fc.asyncProperty(textArb, async (text) => {
          const want = await rustIds(text, true);
          expect([...fast.encodePrompt(text)]).toEqual(want);
          expect([...library.encodePrompt(text)]).toEqual(want);
        }),
        { numRuns: 300, seed: 20240607 },
      );
    });

    it('the byte-level encoder equals Rust on a long document', async () => {
      const doc = FRAGMENTS.join(' lorem ipsum ').repeat(20);
      const want = await rustIds(doc, true);
      expect(want.length).toBeGreaterThan(3000);
      expect([...fast.encodePrompt(doc)]).toEqual(want);
    });

    it('cached == uncached == Rust on the whole text, over random multi-turn conversations', async () => {
      await fc.assert(
        fc.asyncProperty(conversationArb, chatTextArb, async ({ messages, generation }, next) => {
          // Each conversation is replayed one turn longer: its history then comes from the cache.
          const grown = [
            ...messages,
            { role: 'assistant', content: next },
            { role: 'user', content: next },
          ];
          for (const conversation of [messages, grown]) {
            const options = { addGenerationPrompt: generation };
            const want = await rustIds(cached.renderChat(conversation, options), false);
            expect([...cached.encodeChat(conversation, options)]).toEqual(want);
            expect([...fast.encodeChat(conversation, options)]).toEqual(want);
            expect([...tiny.encodeChat(conversation, options)]).toEqual(want);
          }
        }),
        { numRuns: 100, seed: 7 },
      );
      const s = cached.stats();
      expect(s.segmentCache).toBe(true);
      expect(s.hits).toBeGreaterThan(s.misses); // system prompts and history repeat
      expect(fast.stats().hits).toBe(0);
      expect(tiny.stats().cachedBytes).toBeLessThanOrEqual(4096);
    });

    it('caches prompts too, with special tokens added around cached pieces', async () => {
      const prompt = `${SYSTEM_PROMPTS[1]}<|im_end|>${SYSTEM_PROMPTS[0]}<|eot_id|>tail`;
      const first = cached.encodePrompt(prompt);
      const before = cached.stats().hits;
      const second = cached.encodePrompt(prompt);
      expect(cached.stats().hits).toBeGreaterThan(before);
      expect([...second]).toEqual([...first]);
      second[0] = 999; // results are copies: mutating one never corrupts the cache
      expect([...cached.encodePrompt(prompt)]).toEqual([...first]);
      expect([...first]).toEqual(await rustIds(prompt, true));
    });
  });
}
