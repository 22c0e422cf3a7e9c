import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelTokenizer, TokenizerError } from './index.js';
import type { ModelTokenizer } from './index.js';
import { shippedModelDir } from './testing/index.js';

// vLLM hands templates `[tool.model_dump() for tool in request.tools]`; Qwen3 prints each with
// tojson, so field order and the nulls of missing fields are tokens of the prompt.

const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
];
const toolsBlock = (lines: string[]): string => `<tools>\n${lines.join('\n')}\n</tools>`;

describe('tools as vLLM dumps them', () => {
  let qwen: ModelTokenizer;
  beforeAll(async () => {
    qwen = await loadModelTokenizer(shippedModelDir('qwen3'));
  });

  it('adds missing description/parameters as null, in the declared field order', () => {
    const raw = [
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
    ];
    expect(qwen.renderChat(messages, { tools: raw })).toContain(
      toolsBlock([
        '{"type": "function", "function": {"name": "get_time", "description": null, "parameters": {"type": "object"}}}',
      ]),
    );
    const dumped = [
      {
        type: 'function',
        function: { name: 'get_time', description: null, parameters: { type: 'object' } },
      },
    ];
    expect([...qwen.encodeChat(messages, { tools: raw })]).toEqual([
      ...qwen.encodeChat(messages, { tools: dumped }),
    ]);
  });

  it('orders declared fields first and keeps unknown fields after them, in request order', () => {
    const tools = [
      {
        function: {
          parameters: { type: 'object', properties: {} },
          strict: true,
          name: 'f',
          description: 'd',
        },
        x: 1,
      },
      { type: 'function', function: { name: 'g' } },
    ];
    expect(qwen.renderChat(messages, { tools })).toContain(
      toolsBlock([
        '{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}, "strict": true}, "x": 1}',
        '{"type": "function", "function": {"name": "g", "description": null, "parameters": null}}',
      ]),
    );
    expect(tools[0]).not.toHaveProperty('type'); // the request is not modified
  });

  it('answers tools vLLM refuses with TokenizerError naming the field', () => {
    const bad: [unknown, RegExp][] = [
      ['x', /tools must be an array/],
      [[null], /tools\[0\] must be an object/],
      [[{ type: 'code', function: { name: 'f' } }], /tools\[0\]\.type must be "function"/],
      [[{ type: 'function' }], /tools\[0\]\.function must be an object/],
      [[{ function: { description: 'd' } }], /tools\[0\]\.function\.name must be a string/],
      [[{ function: { name: 'f', description: 1 } }], /description must be a string or null/],
      [[{ function: { name: 'f', parameters: [] } }], /parameters must be an object/],
    ];
    for (const [tools, why] of bad) {
      expect(() => qwen.encodeChat(messages, { tools })).toThrow(TokenizerError);
      expect(() => qwen.renderChat(messages, { tools })).toThrow(why);
    }
    expect(qwen.renderChat(messages, { tools: null })).toBe(qwen.renderChat(messages));
  });
});
