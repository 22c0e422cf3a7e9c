import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createRegistry } from '@kvroute/runtime';
import { createModelTokenizer } from '@kvroute/tokenize';
import type { ModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import type { RouteRequest } from './request-body.js';
import { routeTokens } from './route-tokens.js';
import { createRouterService } from './service.js';
import type { RouterService } from './service.js';
import { TEST_OPTIONS } from './test-support/raw-pod.js';

const tok: ModelTokenizer = createModelTokenizer(tinyTokenizerFiles(), { model: 'm' });
const words = (n: number) =>
  Array.from({ length: n }, (_, i) => ['hello', 'world', 'routing', 'blocks'][i % 4]).join(' ');

describe('the prefix a request is routed on', () => {
  it('is at most maxTokens long, cut before a word, and exact up to there', () => {
    const text = words(20_000); // ~140 000 chars
    const full = tok.encodePrompt(text);
    const r = routeTokens({ model: 'm', prompt: text }, tok, 1000);
    expect(r.mode).toBe('tokens');
    expect(r.ids.length).toBeLessThanOrEqual(1000);
    expect(r.ids.length).toBeGreaterThan(900);
    expect(Array.from(r.ids)).toEqual(Array.from(full.subarray(0, r.ids.length)));
    // the whole prompt's size is estimated from the share that was tokenized
    expect(Math.abs(r.promptTokens - full.length) / full.length).toBeLessThan(0.05);
    // short prompts are tokenized whole
    const short = routeTokens({ model: 'm', prompt: words(10) }, tok, 1000);
    expect(Array.from(short.ids)).toEqual(Array.from(tok.encodePrompt(words(10))));
  });

  it('caps chats, token ids and approximate mode the same way', () => {
    const messages = [
      { role: 'system', content: words(20_000) },
      { role: 'user', content: 'hi' },
    ];
    const full = tok.encodeChat(messages);
    const chat = routeTokens({ model: 'm', messages }, tok, 1000);
    expect(chat.ids.length).toBeLessThanOrEqual(1000);
    expect(Array.from(chat.ids)).toEqual(Array.from(full.subarray(0, chat.ids.length)));
    const small = [{ role: 'user', content: 'hello world' }];
    expect(Array.from(routeTokens({ model: 'm', messages: small }, tok, 1000).ids)).toEqual(
      Array.from(tok.encodeChat(small)),
    );
    const ids: RouteRequest = { model: 'm', tokenIds: new Uint32Array(5000).fill(7) };
    expect(routeTokens(ids, tok, 1000)).toMatchObject({ promptTokens: 5000 });
    expect(routeTokens(ids, tok, 1000).ids.length).toBe(1000);
    const approx = routeTokens({ model: 'm', prompt: words(20_000) }, undefined, 1000);
    expect(approx.mode).toBe('approximate');
    expect(approx.ids.length).toBe(1000);
  });
});

describe('truncate_prompt_tokens on a text over the routing cap', () => {
  it('gives the last N tokens exactly from a tail window, or routes the tail approximately', () => {
    const text = words(20_000);
    const full = tok.encodePrompt(text);
    const r = routeTokens({ model: 'm', prompt: text, truncatePromptTokens: 300 }, tok, 1000);
    expect(r).toMatchObject({ mode: 'tokens', promptTokens: 300 });
    expect(Array.from(r.ids)).toEqual(Array.from(full.subarray(full.length - 300)));
    // N this large needs more text than the cap allows: routed on the tail, approximately
    const big = routeTokens({ model: 'm', prompt: text, truncatePromptTokens: 900 }, tok, 1000);
    expect(big.mode).toBe('approximate');
    expect(big.ids.length).toBe(900);
  });
});

const services: RouterService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
});

describe('routing a huge prompt', () => {
  it('tokenizes only the capped prefix and reports the whole prompt’s estimated size', async () => {
    const svc = await createRouterService({
      bus: null,
      log: createLogger('test', 'silent'),
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map([['m', tok]]),
      config: {
        defaults: DEFAULT_MODEL_SETTINGS,
        models: { m: { ...DEFAULT_MODEL_SETTINGS, pods: ['10.0.0.1:1'] } },
      },
      options: { ...TEST_OPTIONS, maxBodyBytes: 8 << 20, routeMaxTokens: 2048 },
    });
    services.push(svc);
    const before = tok.stats().missTokens + tok.stats().hitTokens;
    const res = await svc.app.request('/v1/route', {
      method: 'POST',
      body: JSON.stringify({ model: 'm', prompt: words(300_000) }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { total_blocks: number; prompt_tokens: number };
    expect(body.total_blocks).toBeLessThanOrEqual(2048 / 16);
    expect(body.prompt_tokens).toBeGreaterThan(1_000_000);
    // the tokenizer saw about the cap, not the ~2 M-character prompt
    expect(tok.stats().missTokens + tok.stats().hitTokens - before).toBeLessThan(4 * 2048);
  });
});
