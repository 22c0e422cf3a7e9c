import { createBlockKeyer } from '@kvroute/block-keys';
import { createLogger, createRegistry } from '@kvroute/runtime';
import { createModelTokenizer } from '@kvroute/tokenize';
import { tinyTokenizerFiles } from '@kvroute/tokenize/testing';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_SETTINGS } from './config.js';
import { createRouterService } from './service.js';
import { TEST_OPTIONS } from './test-support/raw-pod.js';

const pods = ['10.0.0.1:1', '10.0.0.2:1', '10.0.0.3:1', '10.0.0.4:1'];

describe("the router's record of where it sent what", () => {
  it('keeps prefix affinity among static pods with a tokenizer past the speculative TTL', async () => {
    const svc = await createRouterService({
      bus: null,
      log: createLogger('test', 'silent'),
      registry: createRegistry(),
      keyer: createBlockKeyer(),
      tokenizers: new Map([['m', createModelTokenizer(tinyTokenizerFiles(), { model: 'm' })]]),
      config: {
        defaults: DEFAULT_MODEL_SETTINGS,
        models: { m: { ...DEFAULT_MODEL_SETTINGS, policy: { preset: 'llm-d' }, pods } },
      },
      options: { ...TEST_OPTIONS, speculativeTtlMs: 100 },
    });
    try {
      const route = async (system: number, q: string, candidates?: string[]) => {
        const res = await svc.app.request('/v1/route', {
          method: 'POST',
          body: JSON.stringify({
            model: 'm',
            messages: [
              { role: 'system', content: `You are assistant number ${system}. `.repeat(60) },
              { role: 'user', content: q },
            ],
            ...(candidates ? { candidates } : {}),
          }),
        });
        return (await res.json()) as { pod: string; mode: string };
      };
      // Each prefix placed on its own pod first.
      for (let s = 0; s < 4; s++) expect((await route(s, 'a', [pods[s]!])).mode).toBe('tokens');
      // No index will ever confirm them: the record must outlive the speculative TTL.
      await new Promise((r) => setTimeout(r, 250));
      for (let s = 0; s < 4; s++)
        for (let i = 0; i < 2; i++) expect((await route(s, `b${i}`)).pod).toBe(pods[s]);
    } finally {
      await svc.stop();
    }
  });
});
