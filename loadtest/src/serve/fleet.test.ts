import { approximateTokens, canonicalChatText } from '@kvroute/tokenize';
import { decodeVllmBatch } from '@kvroute/vllm-events';
import { describe, expect, it } from 'vitest';
import { simServeCli } from './cli.js';
import { startSimFleet } from './fleet.js';
import { replayFrom, scrapeMetrics } from './test-clients.js';

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

describe('startSimFleet', () => {
  it('starts pods on their own ports, with gauges that move under load and vLLM cache info', async () => {
    const fleet = await startSimFleet({
      pods: 2,
      model: 'm',
      timeScale: 5,
      capacityTokens: 64_000,
      wireShape: 'array',
      bytesHashes: true,
      engine: { maxNumSeqs: 1 },
    });
    try {
      const [a, b] = fleet.pods;
      expect(
        new Set(fleet.pods.flatMap((p) => [p.address, p.zmqEndpoint, p.replayEndpoint])).size,
      ).toBe(6);
      expect((await fetch(`http://${b!.address}/health`)).status).toBe(200);

      const info = (await scrapeMetrics(a!.metricsUrl)).samples.find(
        (s) => s.name === 'vllm:cache_config_info',
      );
      expect(info).toMatchObject({
        value: 1,
        labels: { block_size: '16', num_gpu_blocks: '4000', engine: '0' },
      });

      // Three long requests on an engine that runs one at a time: one running, two waiting.
      const ac = new AbortController();
      const url = `http://${a!.address}/v1/completions`;
      const pending = [1, 2, 3].map((i) =>
        post(
          url,
          { model: 'm', prompt: `request ${i} `.repeat(40), max_tokens: 10_000 },
          ac.signal,
        ).catch(() => null),
      );
      let m = await scrapeMetrics(a!.metricsUrl);
      for (let i = 0; i < 250 && m.value('vllm:num_requests_waiting') !== 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
        m = await scrapeMetrics(a!.metricsUrl);
      }
      expect(m.value('vllm:num_requests_waiting', { model_name: 'm', engine: '0' })).toBe(2);
      expect(m.value('vllm:num_requests_running')).toBe(1);
      expect(m.value('vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
      expect(m.value('vllm:gpu_cache_usage_perc')).toBe(m.value('vllm:kv_cache_usage_perc'));
      ac.abort();
      await Promise.all(pending);

      // Approximate ids (no tokenizer) are the router's: 4 characters per pseudo-token.
      const messages = [{ role: 'user', content: 'x'.repeat(200) }];
      const r = (await (
        await post(`http://${b!.address}/v1/chat/completions`, { messages, max_tokens: 1 })
      ).json()) as {
        usage: { prompt_tokens: number };
      };
      const ids = approximateTokens(canonicalChatText(messages));
      expect(r.usage.prompt_tokens).toBe(ids.length);
      // The array wire shape with bytes hashes decodes, and carries those ids.
      const replay = await replayFrom(b!.replayEndpoint, 0);
      const stored = replay
        .filter((x) => x.seq >= 0)
        .flatMap((x) => decodeVllmBatch(x.payload).events)
        .find((e) => e.type === 'BlockStored');
      expect(stored?.type === 'BlockStored' && [...stored.tokenIds]).toEqual([
        ...ids.subarray(0, 48),
      ]);
    } finally {
      await fleet.stop();
    }
    await expect(fetch(`http://${fleet.pods[0]!.address}/health`)).rejects.toThrow();
  });
});

describe('kvroute sim serve', () => {
  it('prints each pod’s endpoints, serves until stopped, and exits 0', async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    const run = simServeCli(
      ['--pods', '2', '--port', '0', '--time-scale', '10', '--model', 'demo'],
      {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
        signal: ac.signal,
      },
    );
    for (let i = 0; i < 200 && lines.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(lines).toHaveLength(3);
    const pods = lines
      .slice(1)
      .map((l) =>
        /^(sim-\d)\s+(http:\S+)\s+kv-events (tcp:\S+)\s+replay (tcp:\S+)\s+metrics (\S+)$/.exec(l),
      );
    expect(pods.map((p) => p?.[1])).toEqual(['sim-0', 'sim-1']);
    const res = await post(`${pods[1]![2]}/v1/completions`, {
      model: 'demo',
      prompt: 'hello',
      max_tokens: 3,
    });
    expect(
      ((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens,
    ).toBe(3);
    ac.abort();
    expect(await run).toBe(0);
  });

  it('rejects bad arguments with exit code 2', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };
    expect(await simServeCli(['--wire-shape', 'json'], io)).toBe(2);
    expect(await simServeCli(['--pods', '0'], io)).toBe(2);
    expect(await simServeCli(['--bogus'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/--wire-shape must be array, array-map or map/);
  });
});
