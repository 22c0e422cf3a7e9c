import { describe, expect, it } from 'vitest';
import { parseRouterConfig } from './config.js';
import type { RouteError } from './errors.js';
import { parseRouteRequest } from './request-body.js';

const fail = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return `${(e as RouteError).status ?? ''} ${(e as Error).message}`;
  }
};

describe('route request bodies', () => {
  it('accept token ids, prompts (first of a batch) and messages', () => {
    expect(parseRouteRequest({ model: 'm', token_ids: [1, 2] }, 'route').tokenIds).toEqual(
      Uint32Array.of(1, 2),
    );
    expect(parseRouteRequest({ model: 'm', prompt: ['a', 'b'] }, 'completions').prompt).toBe('a');
    expect(parseRouteRequest({ model: 'm', prompt: [[5, 6]] }, 'completions').prompt).toEqual([
      5, 6,
    ]);
    const chat = parseRouteRequest(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 7, cache_salt: 's' },
      'chat',
    );
    expect(chat).toMatchObject({
      messages: [{ role: 'user', content: 'hi' }],
      maxTokens: 7,
      cacheSalt: 's',
    });
  });

  it('name what is wrong', () => {
    expect(fail(() => parseRouteRequest(null, 'route'))).toMatch(/400 body must be a JSON object/);
    expect(fail(() => parseRouteRequest({ token_ids: [1] }, 'route'))).toMatch(/400 `model`/);
    // NUL would alias another key-space identity; a lone surrogate has no subject token.
    expect(fail(() => parseRouteRequest({ model: 'm\0', token_ids: [1] }, 'route'))).toMatch(
      /400 `model` must not contain a NUL/,
    );
    expect(fail(() => parseRouteRequest({ model: 'm\ud800', token_ids: [1] }, 'route'))).toMatch(
      /400 `model` is not well-formed/,
    );
    expect(
      fail(() => parseRouteRequest({ model: 'm', token_ids: [1], lora: 'a\0b' }, 'route')),
    ).toMatch(/400 `lora` must not contain a NUL/);
    expect(
      fail(() => parseRouteRequest({ model: 'm', token_ids: [1], cache_salt: '\0' }, 'route')),
    ).toMatch(/400 `cache_salt` must not contain a NUL/);
    expect(fail(() => parseRouteRequest({ model: 'm' }, 'route'))).toMatch(
      /400 the request has no tokens/,
    );
    expect(
      fail(() => parseRouteRequest({ model: 'm', token_ids: [1], prompt: 'x' }, 'route')),
    ).toMatch(/only one of/);
    expect(fail(() => parseRouteRequest({ model: 'm', token_ids: [1, 2 ** 32] }, 'route'))).toMatch(
      /token_ids\[1\]/,
    );
    expect(fail(() => parseRouteRequest({ model: 'm', prompt: 5 }, 'completions'))).toMatch(
      /`prompt` must be/,
    );
    expect(fail(() => parseRouteRequest({ model: 'm', messages: [] }, 'chat'))).toMatch(
      /non-empty array/,
    );
    expect(fail(() => parseRouteRequest({ model: 'm', messages: ['hi'] }, 'chat'))).toMatch(
      /messages\[0\]/,
    );
    expect(fail(() => parseRouteRequest({ model: 'm', prompt: 'x' }, 'chat'))).toMatch(
      /give `messages`/,
    );
    expect(
      fail(() => parseRouteRequest({ model: 'm', prompt: 'x', candidates: [1] }, 'route')),
    ).toMatch(/candidates/);
  });

  it('refuse values nested deeper than any chat needs, before anything recurses into them', () => {
    const deep = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
    const part = { type: 'image_url', x: deep(20_000) };
    expect(
      fail(() =>
        parseRouteRequest({ model: 'm', messages: [{ role: 'user', content: [part] }] }, 'chat'),
      ),
    ).toMatch(/^400 .*nested deeper than 64 levels/);
    expect(
      fail(() =>
        parseRouteRequest(
          { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [deep(100)] },
          'chat',
        ),
      ),
    ).toMatch(/^400 `tools` is nested deeper/);
    // a realistic tool schema passes
    const schema = { type: 'object', properties: { a: { type: 'array', items: deep(20) } } };
    expect(
      fail(() =>
        parseRouteRequest(
          { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [schema] },
          'chat',
        ),
      ),
    ).toBe('ok');
  });
});

describe('router config file', () => {
  it('reads per-model policy, tokenizer, block size and static pods over defaults', () => {
    const c = parseRouterConfig(`
defaults:
  policy: llm-d
  blockSize: 32
models:
  llama:
    policy: { preset: dynamo }
    pods: ["10.0.0.1:8000"]
  qwen: {}
`);
    expect(c.defaults.policy).toEqual({ preset: 'llm-d' });
    expect(c.models.llama).toMatchObject({
      policy: { preset: 'dynamo' },
      blockSize: 32,
      pods: ['10.0.0.1:8000'],
    });
    expect(c.models.qwen!.policy).toEqual({ preset: 'llm-d' });
  });

  it('rejects unknown keys and bad values, naming them', () => {
    expect(fail(() => parseRouterConfig('models: { m: { polcy: x } }'))).toMatch(
      /models\.m\.polcy is not a known setting/,
    );
    expect(fail(() => parseRouterConfig('models: { m: { policy: { preset: nope } } }'))).toMatch(
      /models\.m\.policy/,
    );
    expect(fail(() => parseRouterConfig('models: { m: { pods: [nohost] } }'))).toMatch(/host:port/);
    expect(fail(() => parseRouterConfig('[1, 2]'))).toMatch(/top level/);
    expect(fail(() => parseRouterConfig('extra: 1'))).toMatch(/unknown top-level key extra/);
  });

  it('rejects a static pod listed under two models, naming both', () => {
    const text =
      'models: { a: { pods: ["10.0.0.1:8000"] }, b: { pods: ["10.0.0.2:8000", "10.0.0.1:8000"] } }';
    expect(fail(() => parseRouterConfig(text))).toMatch(
      /pod 10\.0\.0\.1:8000 is listed under models\.a and models\.b/,
    );
    expect(parseRouterConfig('models: { a: { pods: ["h:1", "h:1"] } }').models.a!.pods).toEqual([
      'h:1',
      'h:1',
    ]);
  });
});

describe('router config model names', () => {
  it('keeps a model named __proto__ as a model, not as the prototype', () => {
    const c = parseRouterConfig('models: { __proto__: { pods: ["h:1"] }, m: {} }');
    expect(Object.keys(c.models).sort()).toEqual(['__proto__', 'm']);
    expect(Object.hasOwn(c.models, '__proto__')).toBe(true);
    expect(Object.hasOwn(c.models, 'constructor')).toBe(false);
  });
});
