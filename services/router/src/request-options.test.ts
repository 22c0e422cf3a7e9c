import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createRegistry } from '@kvroute/runtime';
import type { ChatOptions, ModelFiles } from '@kvroute/tokenize';
import { createModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import { parseRouteRequest } from './request-body.js';
import { createRouterService } from './service.js';
import type { RouterService } from './service.js';
import { TEST_OPTIONS } from './test-support/raw-pod.js';

/** The tiny tokenizer, with a post-processor that adds <|im_start|> (1000) in front of prompts. */
function withBos(): ModelFiles {
  const f = tinyTokenizerFiles();
  return {
    ...f,
    tokenizer: {
      ...f.tokenizer,
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '<|im_start|>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        special_tokens: {
          '<|im_start|>': { id: '<|im_start|>', ids: [1000], tokens: ['<|im_start|>'] },
        },
      },
    },
  };
}

const tok = createModelTokenizer(withBos(), { model: 'm' });
const keyer = createBlockKeyer();
const text = 'hello world routing blocks '.repeat(20);
const messages = [
  { role: 'system', content: text },
  { role: 'user', content: 'hello world' },
  { role: 'assistant', content: 'hello' },
];
let svc: RouterService;
beforeAll(async () => {
  svc = await createRouterService({
    bus: null,
    log: createLogger('test', 'silent'),
    registry: createRegistry(),
    keyer,
    tokenizers: new Map([['m', tok]]),
    config: {
      defaults: DEFAULT_MODEL_SETTINGS,
      models: { m: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] } },
    },
    options: TEST_OPTIONS,
  });
});
afterAll(() => svc.stop());

/** Routes an OpenAI body; returns the token count and keys the router used. */
async function routed(body: Record<string, unknown>, kind: 'completions' | 'chat' | 'route') {
  const r = await svc.router.route(parseRouteRequest({ model: 'm', ...body }, kind));
  return { promptTokens: r.promptTokens, keys: Array.from(r.keys) };
}
const keysOf = (ids: ArrayLike<number>) => Array.from(keyer.prefixKeys({ model: 'm' }, ids, 16));

describe('vLLM request fields that change tokenization', () => {
  it('add_special_tokens and truncate_prompt_tokens on completions', async () => {
    const plain = tok.encodePrompt(text, { addSpecialTokens: false });
    expect(await routed({ prompt: text, add_special_tokens: false }, 'completions')).toEqual({
      promptTokens: plain.length,
      keys: keysOf(plain),
    });
    const withSpecial = tok.encodePrompt(text);
    expect(withSpecial[0]).toBe(1000);
    expect((await routed({ prompt: text }, 'completions')).keys).toEqual(keysOf(withSpecial));
    // vLLM keeps the last N ids
    const last = withSpecial.subarray(withSpecial.length - 40);
    expect(await routed({ prompt: text, truncate_prompt_tokens: 40 }, 'completions')).toEqual({
      promptTokens: 40,
      keys: keysOf(last),
    });
    expect(
      (await routed({ prompt: [1, 2, 3, 4, 5], truncate_prompt_tokens: 2 }, 'completions'))
        .promptTokens,
    ).toBe(2);
  });

  it('add_generation_prompt, continue_final_message, documents, chat_template, add_special_tokens on chats', async () => {
    const cases: [Record<string, unknown>, ChatOptions][] = [
      [{ add_generation_prompt: false }, { addGenerationPrompt: false }],
      [
        { add_generation_prompt: false, continue_final_message: true },
        { addGenerationPrompt: false, continueFinalMessage: true },
      ],
      [
        {
          documents: [{ title: 'doc', text: 'hello world' }],
          chat_template:
            '{% for d in documents %}{{ d.text }}{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}',
        },
        {
          documents: [{ title: 'doc', text: 'hello world' }],
          chatTemplate:
            '{% for d in documents %}{{ d.text }}{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}',
        },
      ],
      [{ add_special_tokens: true }, { addSpecialTokens: true }],
    ];
    const plain = tok.encodeChat(messages);
    for (const [fields, options] of cases) {
      const want = tok.encodeChat(messages, options);
      expect(Array.from(want)).not.toEqual(Array.from(plain)); // the field matters
      expect(await routed({ messages, ...fields }, 'chat')).toEqual({
        promptTokens: want.length,
        keys: keysOf(want),
      });
      expect((await routed({ messages, ...fields }, 'route')).keys).toEqual(keysOf(want));
    }
    const full = tok.encodeChat(messages);
    expect(await routed({ messages, truncate_prompt_tokens: 30 }, 'chat')).toEqual({
      promptTokens: 30,
      keys: keysOf(full.subarray(full.length - 30)),
    });
  });

  it('answers 400 for fields of the wrong type and for options the tokenizer refuses', async () => {
    for (const [body, kind, field] of [
      [{ prompt: 'x', add_special_tokens: 'yes' }, 'completions', 'add_special_tokens'],
      [{ messages, add_generation_prompt: 1 }, 'chat', 'add_generation_prompt'],
      [{ messages, documents: 'x' }, 'chat', 'documents'],
      [{ messages, chat_template: 5 }, 'chat', 'chat_template'],
      [{ prompt: 'x', truncate_prompt_tokens: 1.5 }, 'completions', 'truncate_prompt_tokens'],
    ] as const) {
      expect(() => parseRouteRequest({ model: 'm', ...body }, kind)).toThrow(field);
    }
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages, continue_final_message: true }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/continue_final_message/);
  });
});
