import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo } from './demo.js';
import type { Demo } from './demo.js';

// The one-process demo, used as a user would: the official openai client against its gateway.
describe('kvroute demo end to end', () => {
  let demo: Demo;
  let client: OpenAI;
  const system = `You are the support assistant of a large online bookshop. ${'Answer politely, cite the order number, and never invent stock levels. '.repeat(30)}`;

  beforeAll(async () => {
    demo = await startDemo({ pods: 4, port: 0, timeScale: 20 });
    client = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await demo?.stop();
  });

  it('answers a chat completion and names the pod', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: demo.model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 8 })
      .withResponse();
    expect(data.choices[0]!.message.content!.split(' ').length).toBeGreaterThan(3);
    expect(data.usage?.completion_tokens).toBe(8);
    expect(demo.fleet.pods.map((p) => p.address)).toContain(response.headers.get('x-kvroute-pod'));
  });

  it('streams a chat completion chunk by chunk', async () => {
    const stream = await client.chat.completions.create({
      model: demo.model,
      messages: [{ role: 'user', content: 'Stream to me' }],
      max_tokens: 6,
      stream: true,
    });
    let chunks = 0;
    for await (const c of stream) if (c.choices[0]?.delta?.content) chunks++;
    expect(chunks).toBe(6);
  });

  it('answers a completion', async () => {
    const c = await client.completions.create({
      model: demo.model,
      prompt: 'Once upon a time',
      max_tokens: 5,
    });
    expect(c.usage?.completion_tokens).toBe(5);
  });

  it('sends requests sharing a long prefix to the pod that holds it, which serves it from cache', async () => {
    const pods: (string | null)[] = [];
    const cached: number[] = [];
    for (let i = 0; i < 6; i++) {
      const { data, response } = await client.chat.completions
        .create({
          model: demo.model,
          messages: [
            { role: 'system', content: system },
            { role: 'user', content: `Where is order ${1000 + i}?` },
          ],
          max_tokens: 4,
        })
        .withResponse();
      pods.push(response.headers.get('x-kvroute-pod'));
      if (i > 0)
        cached.push(
          (data.usage as { prompt_tokens_details?: { cached_tokens?: number } })
            .prompt_tokens_details?.cached_tokens ?? 0,
        );
    }
    expect(new Set(pods).size).toBe(1);
    // each follower found the system prompt (~450 tokens) cached on that pod
    for (const c of cached) expect(c).toBeGreaterThan(400);
  });

  it('spreads a burst of distinct cold prefixes across pods', async () => {
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client.completions
          .create({
            model: demo.model,
            prompt: `Unrelated topic ${i}: ${'lorem ipsum '.repeat(40 + i)}`,
            max_tokens: 16,
          })
          .withResponse(),
      ),
    );
    const pods = new Set(responses.map((r) => r.response.headers.get('x-kvroute-pod')));
    expect(pods.size).toBe(4);
  });

  it('serves the cache analytics of its embedded index', async () => {
    const stats = (await (await fetch(`${demo.url}/v1/stats`)).json()) as {
      models: { model: string; pods: unknown[]; distinct_blocks: number }[];
    };
    expect(stats.models[0]!.model).toBe(demo.model);
    expect(stats.models[0]!.pods).toHaveLength(4);
    expect(stats.models[0]!.distinct_blocks).toBeGreaterThan(40);
  });
});
