import { describe, expect, it } from 'vitest';
import { detectContentFormat } from './chat-template.js';
import { createModelTokenizer } from './index.js';
import { toConversation } from './messages.js';
import { tinyTokenizerFiles } from './testing/index.js';

describe('detectContentFormat (vLLM "auto")', () => {
  it('reads templates that loop over content as "openai", others as "string"', () => {
    expect(detectContentFormat("{% for m in messages %}{{ m['content'] }}{% endfor %}")).toBe(
      'string',
    );
    expect(
      detectContentFormat(
        "{% for m in messages %}{% for c in m['content'] %}{{ c.text }}{% endfor %}{% endfor %}",
      ),
    ).toBe('openai');
    expect(
      detectContentFormat(
        '{%- for m in messages %}{%- for part in m.content | selectattr("type") %}{% endfor %}{% endfor %}',
      ),
    ).toBe('openai');
    expect(
      detectContentFormat(
        '{% for m in messages %}{% set c = m.content %}{% for x in c %}{{ x }}{% endfor %}{% endfor %}',
      ),
    ).toBe('openai');
  });
});

describe('toConversation (vLLM parse_chat_messages)', () => {
  it('keeps the fields vLLM keeps and drops the rest', () => {
    const [user, assistant, tool] = toConversation(
      [
        { role: 'user', content: 'hi', name: 'ann', extra: 1 },
        {
          role: 'assistant',
          content: null,
          reasoning: 'thought',
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'f', arguments: 'not json' } },
          ],
        },
        {
          role: 'tool',
          tool_call_id: 'a',
          content: [
            { type: 'text', text: 'x' },
            { type: 'text', text: 'y' },
          ],
        },
      ],
      'openai',
    );
    expect(user).toEqual({ role: 'user', content: [{ type: 'text', text: 'hi' }], name: 'ann' });
    expect(assistant).toEqual({
      role: 'assistant',
      content: [],
      reasoning: 'thought',
      reasoning_content: 'thought',
      tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: {} } }],
    });
    // Tool results are joined into a string even for templates that take parts.
    expect(tool).toEqual({ role: 'tool', content: 'x\ny', tool_call_id: 'a' });
  });

  it('keeps an empty tool_calls list, drops a null one, and skips text parts without text', () => {
    const [m] = toConversation(
      [
        {
          role: 'assistant',
          content: [{ type: 'text' }, { type: 'refusal', refusal: 'no' }],
          tool_calls: [],
        },
      ],
      'string',
    );
    expect(m).toEqual({ role: 'assistant', content: 'no', tool_calls: [] });
    const [n] = toConversation([{ role: 'assistant', content: 'x', tool_calls: null }], 'string');
    expect(n).toEqual({ role: 'assistant', content: 'x' });
  });
});

describe('templates that take content parts', () => {
  it('receive {type: "text"} parts and render them', () => {
    const files = tinyTokenizerFiles();
    const t = createModelTokenizer({
      ...files,
      chatTemplate:
        "{% for m in messages %}<|im_start|>{{ m.role }}:{% for c in m['content'] %}[{{ c.text }}]{% endfor %}<|im_end|>{% endfor %}",
    });
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'a' }, 'b'] }];
    expect(t.renderChat(messages)).toBe('<|im_start|>user:[a][b]<|im_end|>');
    expect(t.renderChat([{ role: 'user', content: 'c' }])).toBe('<|im_start|>user:[c]<|im_end|>');
  });
});
