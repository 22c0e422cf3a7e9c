import { createBlockKeyer } from '@kvroute/block-keys';
import type { BlockStored } from '@kvroute/vllm-events';
import { decodeVllmBatch } from '@kvroute/vllm-events';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimPod } from './sim-pod.js';
import { startSimPod } from './sim-pod.js';
import { KvTap, replayFrom, scrapeMetrics } from './test-clients.js';
import type { RequestTokenizer } from './tokenization.js';
import { loadRequestTokenizer } from './tokenization.js';

const MODEL = 'Qwen/Qwen3-0.6B';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(20);
  }
}

const storedOf = (tap: KvTap): BlockStored[] =>
  tap.messages.flatMap((m) =>
    decodeVllmBatch(m.payload).events.filter((e): e is BlockStored => e.type === 'BlockStored'),
  );

describe('a simulated vLLM pod (Qwen3 tokenizer, real HTTP and ZMQ)', () => {
  let tok: RequestTokenizer;
  let pod: SimPod;
  let client: OpenAI;
  let tap: KvTap;

  beforeAll(async () => {
    tok = await loadRequestTokenizer('qwen3', MODEL);
    pod = await startSimPod({ model: MODEL, tokenizer: tok, timeScale: 5 });
    client = new OpenAI({ baseURL: `${pod.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    tap = KvTap.connect(pod.zmqEndpoint);
    await sleep(300); // let the subscription reach the PUB socket before the first batch
  });
  afterAll(async () => {
    await tap?.close();
    await pod?.stop();
  });

  it('serves /health, /v1/models and OpenAI errors', async () => {
    expect((await fetch(`${pod.url}/health`)).status).toBe(200);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([MODEL]);
    await expect(client.completions.create({ model: 'other', prompt: 'x' })).rejects.toMatchObject({
      status: 404,
    });
    await expect(client.completions.create({ model: MODEL, prompt: '' })).rejects.toMatchObject({
      status: 400,
    });
    await expect(
      client.completions.create({ model: MODEL, prompt: 'x', max_tokens: 2_000_000 }),
    ).rejects.toThrow(/maximum context length/);
    const bad = await fetch(`${pod.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
  });

  it('answers completions for text, token-id and batched prompts with usage and filler text', async () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    const ids = [...tok.prompt(text)];
    const r = await client.completions.create({ model: MODEL, prompt: text, max_tokens: 7 });
    expect(r.usage).toMatchObject({
      prompt_tokens: ids.length,
      completion_tokens: 7,
      total_tokens: ids.length + 7,
    });
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.choices[0]!.text.split(' ')).toHaveLength(7);
    const byIds = await client.completions.create({ model: MODEL, prompt: ids, max_tokens: 3 });
    expect(byIds.usage!.prompt_tokens).toBe(ids.length);
    const batch = await client.completions.create({
      model: MODEL,
      prompt: [text, 'other'],
      max_tokens: 3,
    });
    expect(batch.usage!.prompt_tokens).toBe(ids.length);
    // Default max_tokens when the request sets none.
    const dflt = await client.completions.create({ model: MODEL, prompt: text });
    expect(dflt.usage!.completion_tokens).toBe(64);
  });

  it('streams chat as OpenAI chunks as engine steps produce tokens, with the usage chunk last', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about prefix caching.' }];
    const promptTokens = tok.chat(messages, {}).length;
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_completion_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const content = chunks.slice(1, -1);
    // One chunk per engine step (one token each, alone on the engine), unless the server's writer
    // fell behind and merged steps, as vLLM's output collector does.
    expect(content.length).toBeGreaterThan(1);
    expect(content.length).toBeLessThanOrEqual(10);
    expect(content.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(content.at(-1)!.choices[0]!.finish_reason).toBe('length');
    const text = content.map((c) => c.choices[0]!.delta.content).join('');
    expect(text.split(' ')).toHaveLength(10);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: 10 });
  });

  it('streams while the request still runs, and a client disconnect aborts it and frees its blocks', async () => {
    const stream = await client.completions.create({
      model: MODEL,
      prompt: 'Count slowly. '.repeat(50),
      max_tokens: 20_000,
      stream: true,
    });
    let seen = 0;
    let runningAtFirstChunk: number | undefined;
    for await (const c of stream) {
      if (seen++ === 0) {
        const m = await scrapeMetrics(pod.metricsUrl);
        runningAtFirstChunk = m.value('vllm:num_requests_running', { model_name: MODEL });
        expect(m.value('vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
      }
      expect(c.choices[0]!.text.length).toBeGreaterThan(0);
      if (seen === 5) break; // leaving the loop closes the connection
    }
    expect(runningAtFirstChunk).toBe(1);
    const after = await until(
      () => scrapeMetrics(pod.metricsUrl),
      (m) => m.value('vllm:num_requests_running') === 0,
    );
    expect(after.value('vllm:num_requests_running')).toBe(0);
    expect(after.value('vllm:kv_cache_usage_perc')).toBe(0);
    expect(after.value('vllm:request_success_total', { finished_reason: 'abort' })).toBe(1);
  });

  it('aborts a non-streaming request whose client goes away', async () => {
    const ac = new AbortController();
    const pending = fetch(`${pod.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Wait for it.', max_tokens: 20_000 }),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    const busy = await until(
      () => scrapeMetrics(pod.metricsUrl),
      (m) => m.value('vllm:num_requests_running') === 1,
    );
    expect(busy.value('vllm:num_requests_running')).toBe(1);
    ac.abort();
    expect(await pending).toBeInstanceOf(Error);
    const idle = await until(
      () => scrapeMetrics(pod.metricsUrl),
      (m) => m.value('vllm:num_requests_running') === 0,
    );
    expect(idle.value('vllm:num_requests_running')).toBe(0);
    expect(idle.value('vllm:kv_cache_usage_perc')).toBe(0);
  });

  it('publishes BlockStored of the prompt tokens with engine hashes that are not kvroute keys', async () => {
    const text = 'A distinctive prompt about routing requests to caches. '.repeat(8);
    const ids = tok.prompt(text);
    const full = Math.floor(ids.length / 16) * 16;
    const before = tap.messages.length;
    await client.completions.create({ model: MODEL, prompt: text, max_tokens: 2 });
    await tap.waitFor((m) => m.length > before);
    const first = storedOf(tap).find(
      (e) => e.tokenIds[0] === ids[0] && e.parentBlockHash === null && e.tokenIds.length === full,
    );
    expect(first).toBeDefined();
    expect([...first!.tokenIds]).toEqual([...ids.subarray(0, full)]);
    expect(first!).toMatchObject({ blockSize: 16, medium: 'GPU' });
    expect(first!.blockHashes.length).toBe((2 * full) / 16);
    const ours = createBlockKeyer().prefixKeys({ model: MODEL }, ids, 16);
    expect(ours.length).toBe(first!.blockHashes.length);
    for (let j = 0; j < ours.length; j += 2)
      expect([first!.blockHashes[j], first!.blockHashes[j + 1]]).not.toEqual([
        ours[j],
        ours[j + 1],
      ]);
  });

  it('replays exactly the buffered batches, byte for byte, then the end marker', async () => {
    const published = pod.publisher.seq;
    expect(published).toBeGreaterThan(0);
    const replay = await replayFrom(pod.replayEndpoint, 0);
    expect(replay.map((m) => m.seq)).toEqual([...Array(published).keys(), -1]);
    for (const live of tap.messages)
      expect(replay[live.seq]!.payload.equals(live.payload)).toBe(true);
    const tail = await replayFrom(pod.replayEndpoint, published - 1);
    expect(tail.map((m) => m.seq)).toEqual([published - 1, -1]);
  });

  it('serves a shared long prefix from the prefix cache and counts the hits in /metrics', async () => {
    const shared = 'You are a careful assistant that answers questions about caches. '.repeat(30);
    const m0 = await scrapeMetrics(pod.metricsUrl);
    const a = await client.completions.create({
      model: MODEL,
      prompt: `${shared}First question?`,
      max_tokens: 2,
    });
    const b = await client.completions.create({
      model: MODEL,
      prompt: `${shared}Second, different question?`,
      max_tokens: 2,
    });
    const sharedTokens = tok.prompt(shared).length;
    type Details = { prompt_tokens_details: { cached_tokens: number } };
    const cachedA = (a.usage as unknown as Details).prompt_tokens_details.cached_tokens;
    const cachedB = (b.usage as unknown as Details).prompt_tokens_details.cached_tokens;
    expect(cachedA).toBe(0);
    expect(cachedB).toBeGreaterThanOrEqual(Math.floor((sharedTokens - 1) / 16) * 16);
    expect(cachedB).toBeLessThan(b.usage!.prompt_tokens);
    const m1 = await scrapeMetrics(pod.metricsUrl);
    const delta = (name: string) => m1.value(name)! - m0.value(name)!;
    expect(delta('vllm:prefix_cache_hits_total')).toBe(cachedB);
    // vLLM counts a lookup of the request's tokens at admission: its prompt.
    expect(delta('vllm:prefix_cache_queries_total')).toBe(
      a.usage!.prompt_tokens + b.usage!.prompt_tokens,
    );
    expect(delta('vllm:prompt_tokens_total')).toBe(a.usage!.prompt_tokens + b.usage!.prompt_tokens);
    expect(delta('vllm:generation_tokens_total')).toBe(4);
    expect(
      m1.value('vllm:time_to_first_token_seconds_count')! -
        m0.value('vllm:time_to_first_token_seconds_count')!,
    ).toBe(2);
    expect(
      m1.value('vllm:e2e_request_latency_seconds_count')! -
        m0.value('vllm:e2e_request_latency_seconds_count')!,
    ).toBe(2);
  });
});
