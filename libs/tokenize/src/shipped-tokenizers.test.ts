import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createModelTokenizer,
  loadModelTokenizer,
  readModelFiles,
  TokenizerError,
} from './index.js';
import type { ModelFiles, ModelTokenizer } from './index.js';
import { shippedModelDir, tinyTokenizerFiles } from './testing/index.js';

// Expected ids are the models' published vocabulary ids (Llama 3: tiktoken-derived 128K vocab with
// special tokens from 128000; Qwen2/3: 151643 <|endoftext|>, 151644 <|im_start|>, 151645 <|im_end|>).

describe('Qwen3 (shipped tokenizer.json, loaded from its directory)', () => {
  let qwen: ModelTokenizer;
  beforeAll(async () => {
    qwen = await loadModelTokenizer(shippedModelDir('qwen3'), { model: 'Qwen/Qwen3-0.6B' });
  });

  it('encodes known strings to the published ids and adds no special tokens to prompts', () => {
    expect(qwen.model).toBe('Qwen/Qwen3-0.6B');
    expect(qwen.stats().engine).toBe('byte-level-bpe');
    expect([...qwen.encodePrompt('Hello world')]).toEqual([9707, 1879]);
    expect([...qwen.encodePrompt('<|im_start|>')]).toEqual([151644]);
    expect([...qwen.encodePrompt('<|endoftext|><|im_end|>')]).toEqual([151643, 151645]);
    // Qwen splits digits one by one (\p{N} in its pre-tokenizer).
    expect(qwen.encodePrompt('2024').length).toBe(4);
  });

  it('renders the ChatML format with the generation prompt', () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(qwen.renderChat(messages)).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect([...qwen.encodeChat(messages)]).toEqual([
      151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198,
    ]);
    expect(qwen.renderChat(messages, { addGenerationPrompt: false })).toBe(
      '<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('passes chat_template_kwargs and tools to the template', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    expect(qwen.renderChat(messages, { chatTemplateKwargs: { enable_thinking: false } })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    const tools = [
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
    ];
    const text = qwen.renderChat(messages, { tools });
    expect(text.startsWith('<|im_start|>system\nBe brief.\n\n# Tools\n')).toBe(true);
    expect(text).toContain('"name": "get_time"');
  });

  it('renders assistant tool calls with arguments parsed from JSON, as vLLM does', () => {
    const text = qwen.renderChat([
      { role: 'user', content: 'time?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'now', arguments: '{"tz":"UTC"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: [{ type: 'text', text: '12:00' }] },
    ]);
    expect(text).toContain(
      '<tool_call>\n{"name": "now", "arguments": {"tz": "UTC"}}\n</tool_call>',
    );
    expect(text).toContain('<tool_response>\n12:00\n</tool_response>');
  });

  it('joins text content parts with a newline, as vLLM does for string-content templates', () => {
    const parts = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ];
    expect(qwen.renderChat(parts)).toBe(qwen.renderChat([{ role: 'user', content: 'a\nb' }]));
    expect(qwen.renderChat([{ role: 'user', content: null }])).toBe(
      qwen.renderChat([{ role: 'user', content: '' }]),
    );
  });

  it('passes token-id prompts through and rejects what is not a token id', () => {
    expect([...qwen.encodePrompt([1, 2, 151644])]).toEqual([1, 2, 151644]);
    expect(() => qwen.encodePrompt([1, -2])).toThrow(TokenizerError);
    expect(() => qwen.encodePrompt([1.5])).toThrow(/prompt\[0\]/);
    expect(() => qwen.encodePrompt({} as unknown as string)).toThrow(TokenizerError);
  });

  it('answers bad messages with TokenizerError naming the field, never a crash', () => {
    const bad: [unknown, RegExp][] = [
      ['nope', /messages must be an array/],
      [[null], /messages\[0\] must be an object/],
      [[{ content: 'x' }], /messages\[0\]\.role must be a string/],
      [[{ role: 'user', content: 5 }], /messages\[0\]\.content must be/],
      [
        [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
        /only text parts/,
      ],
      [
        [{ role: 'user', content: [{ type: 'text', text: 7 }] }],
        /content\[0\]\.text must be a string/,
      ],
      [[{ role: 'assistant', content: '', tool_calls: 'x' }], /tool_calls must be an array/],
      [[], /messages must not be empty/],
    ];
    for (const [messages, why] of bad) {
      expect(() => qwen.encodeChat(messages as never)).toThrow(TokenizerError);
      expect(() => qwen.encodeChat(messages as never)).toThrow(why);
    }
  });
});

describe('Llama 3 Instruct (shipped tokenizer.json)', () => {
  let llama: ModelTokenizer;
  let files: ModelFiles;
  beforeAll(async () => {
    // The loader's read step, kept to build variants below without reading 9 MB again.
    files = await readModelFiles(shippedModelDir('llama3'));
    llama = createModelTokenizer(files, { model: 'meta-llama/Meta-Llama-3-8B-Instruct' });
  });

  it('encodes known strings and special tokens to the published ids', () => {
    expect(llama.model).toBe('meta-llama/Meta-Llama-3-8B-Instruct');
    expect([...llama.encodePrompt('<|begin_of_text|>')]).toEqual([128000]);
    expect([...llama.encodePrompt('<|eot_id|><|start_header_id|>')]).toEqual([128009, 128006]);
    expect([...llama.encodePrompt('Hello world')]).toEqual([9906, 1917]);
    // Llama 3 groups up to three digits.
    expect([...llama.encodePrompt('2024')]).toEqual([...llama.encodePrompt('202')].concat([19]));
  });

  it('renders the documented Llama 3 chat format', () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(llama.renderChat(messages)).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect([...llama.encodeChat(messages)]).toEqual([
      128000, 128006, 882, 128007, 271, 13347, 128009, 128006, 78191, 128007, 271,
    ]);
  });

  it('follows the post-processor of the tokenizer.json it is given for prompts', () => {
    // This package ships the first Llama 3 release, whose post-processor adds nothing; the
    // current release adds <|begin_of_text|> through TemplateProcessing.
    expect([...llama.encodePrompt('Hi')]).toEqual([13347]);
    const current = createModelTokenizer({
      ...files,
      tokenizer: {
        ...files.tokenizer,
        post_processor: {
          type: 'Sequence',
          processors: [
            { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
            {
              type: 'TemplateProcessing',
              single: [
                { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
                { Sequence: { id: 'A', type_id: 0 } },
              ],
              pair: [],
              special_tokens: {
                '<|begin_of_text|>': {
                  id: '<|begin_of_text|>',
                  ids: [128000],
                  tokens: ['<|begin_of_text|>'],
                },
              },
            },
          ],
        },
      },
    });
    expect([...current.encodePrompt('Hi')]).toEqual([128000, 13347]);
    // The chat path never adds them on top of the template.
    expect(current.encodeChat([{ role: 'user', content: 'Hi' }])[1]).toBe(128006);
    // transformers' Llama tokenizer classes rebuild the post-processor from add_bos_token.
    const llamaClass = createModelTokenizer({
      ...files,
      config: { ...files.config, tokenizer_class: 'LlamaTokenizerFast' },
    });
    expect([...llamaClass.encodePrompt('Hi')]).toEqual([128000, 13347]);
  });
});

describe('loading a model directory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvroute-tokenize-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads tokenizer.json, the config and chat_template.jinja, which wins over the config', async () => {
    const tiny = tinyTokenizerFiles();
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tiny.tokenizer));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tiny.config));
    const fromConfig = await loadModelTokenizer(dir);
    expect(fromConfig.model).toBe(basename(dir));
    // "hello" merges fully; " world" too (GPT-2 pre-tokenizer keeps the space with the word).
    expect([...fromConfig.encodePrompt('hello world')]).toEqual([259, 264]);
    expect([...fromConfig.encodeChat([{ role: 'user', content: 'hello' }])]).toEqual([
      ...[1000, ...fromConfig.encodePrompt('user\nhello'), 1001],
      ...[...fromConfig.encodePrompt('\n'), 1000, ...fromConfig.encodePrompt('assistant\n')],
    ]);
    await writeFile(
      join(dir, 'chat_template.jinja'),
      '{% for m in messages %}[{{ m.role }}|{{ m.content }}|{{ eos_token }}]{% endfor %}',
    );
    const fromJinja = await loadModelTokenizer(dir, { model: 'custom' });
    expect(fromJinja.model).toBe('custom');
    expect(fromJinja.renderChat([{ role: 'user', content: 'x' }])).toBe('[user|x|<|im_end|>]');
    expect([...fromJinja.encodeChat([{ role: 'user', content: 'x' }])].at(-2)).toBe(1001);
  });

  it('gives the same ids from the library engine on the same files', () => {
    const fast = createModelTokenizer(tinyTokenizerFiles());
    const library = createModelTokenizer(tinyTokenizerFiles(), { engine: 'library' });
    for (const text of ['hello world', 'hellohello  world\n', 'héllo 🙂 <|im_end|>world']) {
      expect([...fast.encodePrompt(text)]).toEqual([...library.encodePrompt(text)]);
    }
  });

  it('falls back to whole-text encoding for a position-dependent pre-tokenizer', () => {
    const files = tinyTokenizerFiles();
    const model = {
      ...files.tokenizer.model!,
      vocab: { ...files.tokenizer.model!.vocab, '▁': 999 },
    };
    const metaspace = {
      type: 'Metaspace',
      replacement: '▁',
      prepend_scheme: 'first',
      split: false,
    };
    const t = createModelTokenizer({
      ...files,
      tokenizer: { ...files.tokenizer, model, pre_tokenizer: metaspace },
    });
    expect(t.stats()).toMatchObject({ engine: 'library', segmentCache: false });
    // Only the text's first piece gets the "▁" prefix, so pieces cannot be encoded alone.
    const ids = [...t.encodePrompt('hello<|im_end|>hello')];
    expect(ids[0]).toBe(999);
    expect(ids.filter((id) => id === 999)).toHaveLength(1);
    expect([...t.encodePrompt('hello<|im_end|>hello')]).toEqual(ids);
    expect(t.stats().hits).toBe(1);
  });

  it('fails with a clear error for a missing or malformed directory', async () => {
    await expect(loadModelTokenizer(join(dir, 'absent'))).rejects.toThrow(
      /tokenizer\.json not found/,
    );
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'tokenizer.json'), '{not json');
    await expect(loadModelTokenizer(bad)).rejects.toThrow(/not valid JSON/);
  });

  it('answers a model without a chat template, or a failing one, with TokenizerError', () => {
    const { tokenizer } = tinyTokenizerFiles();
    const t = createModelTokenizer({ tokenizer, config: {} });
    expect([...t.encodePrompt('hello')]).toEqual([259]);
    expect(() => t.encodeChat([{ role: 'user', content: 'x' }])).toThrow(/no chat template/);
    const broken = createModelTokenizer({
      tokenizer,
      config: {},
      chatTemplate: '{{ raise_exception("roles must alternate") }}',
    });
    expect(() => broken.renderChat([{ role: 'user', content: 'x' }])).toThrow(
      new TokenizerError('chat template failed: roles must alternate'),
    );
    expect(() =>
      createModelTokenizer({ tokenizer, config: {}, chatTemplate: '{% for %}' }),
    ).toThrow(/chat template does not parse/);
  });
});
