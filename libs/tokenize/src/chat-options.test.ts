import { beforeAll, describe, expect, it } from 'vitest';
import { createModelTokenizer, readModelFiles, TokenizerError } from './index.js';
import type { ModelFiles, ModelTokenizer } from './index.js';
import { shippedModelDir } from './testing/index.js';

// vLLM request fields that change the rendered text or the ids: add_generation_prompt,
// continue_final_message, documents, chat_template, add_special_tokens.

/** The current Llama 3 release's post-processor: TemplateProcessing adding <|begin_of_text|>. */
const withBos = (files: ModelFiles): ModelFiles => ({
  ...files,
  tokenizer: {
    ...files.tokenizer,
    post_processor: {
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
  },
});

const prefill = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Sure, here ' },
];

describe('chat and prompt options (vLLM request fields)', () => {
  let qwen: ModelTokenizer;
  let llama: ModelTokenizer;
  let llamaBos: ModelTokenizer;
  beforeAll(async () => {
    const [q, l] = await Promise.all([
      readModelFiles(shippedModelDir('qwen3')),
      readModelFiles(shippedModelDir('llama3')),
    ]);
    qwen = createModelTokenizer(q);
    llama = createModelTokenizer(l);
    llamaBos = createModelTokenizer(withBos(l));
  });

  it('continueFinalMessage leaves the final message open, keeping spacing the template keeps', () => {
    const closed = qwen.renderChat(prefill, { addGenerationPrompt: false });
    expect(closed.endsWith('Sure, here <|im_end|>\n')).toBe(true);
    const open = { addGenerationPrompt: false, continueFinalMessage: true };
    expect(qwen.renderChat(prefill, open)).toBe(
      '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nSure, here ',
    );
    expect([...qwen.encodeChat(prefill, open)]).toEqual([
      ...qwen.encodeChat([{ role: 'user', content: 'Hi' }]),
      ...qwen.encodePrompt('<think>\n\n</think>\n\nSure, here '),
    ]);
    // The Llama 3 template trims content: the cut falls after the stripped text.
    expect(llama.renderChat(prefill, open)).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nSure, here',
    );
  });

  it('refuses continueFinalMessage with addGenerationPrompt, which defaults to true', () => {
    for (const o of [
      { continueFinalMessage: true },
      { continueFinalMessage: true, addGenerationPrompt: true },
    ]) {
      expect(() => qwen.encodeChat(prefill, o)).toThrow(TokenizerError);
      expect(() => qwen.renderChat(prefill, o)).toThrow(/continue_final_message/);
    }
    expect(() =>
      qwen.renderChat([{ role: 'user', content: 'x' }], {
        addGenerationPrompt: false,
        continueFinalMessage: true,
        chatTemplate: '{{ messages[0].role }}',
      }),
    ).toThrow(/does not render the final message/);
  });

  it('passes documents to the template and renders a per-request chatTemplate', () => {
    const template =
      '{% for d in documents or [] %}[{{ d.title }}: {{ d.text }}]{% endfor %}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}';
    const documents = [{ title: 'doc', text: 'body' }];
    const text = qwen.renderChat([{ role: 'user', content: 'Hi' }], {
      chatTemplate: template,
      documents,
    });
    expect(text).toBe('[doc: body]<|im_start|>user\nHi<|im_end|>\n');
    expect([
      ...qwen.encodeChat([{ role: 'user', content: 'Hi' }], { chatTemplate: template }),
    ]).toEqual([151644, 872, 198, 13048, 151645, 198]);
    // The model's own template sees documents too; absent, it sees null.
    const probe = '{{ documents | tojson }}';
    expect(qwen.renderChat(prefill, { chatTemplate: probe })).toBe('null');
    expect(qwen.renderChat(prefill, { chatTemplate: probe, documents })).toBe(
      '[{"title": "doc", "text": "body"}]',
    );
    // The override wins over the model's template, including its tool_use selection.
    expect(
      qwen.renderChat(prefill, { chatTemplate: 'T', tools: [{ function: { name: 'f' } }] }),
    ).toBe('T');
  });

  it("keeps an empty tool_calls list, as vLLM does, for templates testing 'tool_calls' in message", () => {
    const probe =
      "{% for m in messages %}{{ m.role }}:{{ 'tool_calls' in m }}:{{ m.tool_calls | length if 'tool_calls' in m else '-' }};{% endfor %}";
    const messages = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a', tool_calls: [] },
      { role: 'assistant', content: 'b', tool_calls: null },
    ];
    expect(qwen.renderChat(messages, { chatTemplate: probe })).toBe(
      'user:false:-;assistant:true:0;assistant:false:-;',
    );
  });

  it('answers a request template that does not parse, or bad documents, with TokenizerError', () => {
    expect(() => qwen.renderChat(prefill, { chatTemplate: '{% for %}' })).toThrow(TokenizerError);
    expect(() => qwen.renderChat(prefill, { chatTemplate: '{% for %}' })).toThrow(
      /chat_template: chat template does not parse/,
    );
    expect(() => qwen.renderChat(prefill, { documents: 'doc' as unknown as unknown[] })).toThrow(
      /documents must be an array/,
    );
    // Many distinct templates: each renders its own text (the compiled ones are an LRU).
    for (let i = 0; i < 40; i++)
      expect(qwen.renderChat(prefill, { chatTemplate: `#${i}` })).toBe(`#${i}`);
  });

  it('addSpecialTokens: prompts add the post-processor tokens by default, chat does not', () => {
    expect([...llamaBos.encodePrompt('Hi')]).toEqual([128000, 13347]);
    expect([...llamaBos.encodePrompt('Hi', { addSpecialTokens: true })]).toEqual([128000, 13347]);
    expect([...llamaBos.encodePrompt('Hi', { addSpecialTokens: false })]).toEqual([13347]);
    expect([...llamaBos.encodePrompt([5, 6], { addSpecialTokens: true })]).toEqual([5, 6]);
    const chat = [{ role: 'user', content: 'Hi' }];
    const plain = [...llamaBos.encodeChat(chat)];
    expect(plain.slice(0, 2)).toEqual([128000, 128006]);
    expect([...llamaBos.encodeChat(chat, { addSpecialTokens: false })]).toEqual(plain);
    // As vLLM with add_special_tokens=true: the template's BOS and the post-processor's.
    expect([...llamaBos.encodeChat(chat, { addSpecialTokens: true })]).toEqual([128000, ...plain]);
  });
});
