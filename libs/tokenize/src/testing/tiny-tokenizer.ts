import type { ModelFiles, TokenizerJson } from '../tokenizer-json.js';

/**
 * A complete, tiny byte-level BPE tokenizer (GPT-2 style pre-tokenizer, 256 byte symbols, a few
 * merges, ChatML special tokens and template) that loads in a millisecond: for tests of code that
 * needs a real tokenizer but not a real vocabulary. Ids: bytes 0–255 in GPT-2 symbol order, then
 * one id per merge from 256, then `<|im_start|>` = 1000, `<|im_end|>` = 1001.
 */
export function tinyTokenizerFiles(): ModelFiles {
  const vocab: Record<string, number> = {};
  BYTE_SYMBOLS.forEach((s, i) => (vocab[s] = i));
  const merges: [string, string][] = [];
  let next = 256;
  for (const [a, b] of [
    ['h', 'e'],
    ['l', 'l'],
    ['he', 'll'],
    ['hell', 'o'],
    ['Ġ', 'w'],
    ['o', 'r'],
    ['Ġw', 'or'],
    ['l', 'd'],
    ['Ġwor', 'ld'],
  ] as const) {
    merges.push([a, b]);
    vocab[a + b] = next++;
  }
  const special = (id: number, content: string) => ({
    id,
    content,
    special: true,
    normalized: false,
    lstrip: false,
    rstrip: false,
    single_word: false,
  });
  const tokenizer: TokenizerJson = {
    version: '1.0',
    added_tokens: [special(1000, '<|im_start|>'), special(1001, '<|im_end|>')],
    normalizer: null,
    pre_tokenizer: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      vocab,
      merges,
      ignore_merges: false,
    } as TokenizerJson['model'],
  };
  const chatTemplate =
    "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  return {
    tokenizer,
    config: { eos_token: '<|im_end|>', chat_template: chatTemplate },
    chatTemplate,
  };
}

/** GPT-2's printable symbol for each byte value. */
const BYTE_SYMBOLS: string[] = (() => {
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable =
      (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  return out;
})();
