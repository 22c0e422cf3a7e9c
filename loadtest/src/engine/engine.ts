import type { BlockKeyer } from '@kvroute/block-keys';
import { createBlockKeyer } from '@kvroute/block-keys';
import { BlockPool } from './block-pool.js';
import type { Seq } from './seq.js';
import { outputToken } from './seq.js';
import type { LatencyModel, StepShape } from './latency.js';
import { rooflineLatency } from './latency.js';
import type { EngineKvEvent, EngineMetrics, EngineRequest, StepResult } from './types.js';

export interface EngineOptions {
  model: string;
  /** KV capacity in tokens (rounded down to blocks); Infinity for an unbounded cache. */
  capacityTokens: number;
  blockSize?: number;
  /** vLLM max_num_batched_tokens: token budget per step (default 8192). */
  maxBatchedTokens?: number;
  /** vLLM max_num_seqs (default 256). */
  maxNumSeqs?: number;
  latency?: LatencyModel;
  /** Vocabulary size for generated output token ids (default 128 256, Llama 3). */
  vocabSize?: number;
  /**
   * Salt of the block hashes' root (default none). A per-engine value makes
   * them unrelated to kvroute's keys for the same model, as vLLM's random
   * NONE_HASH does; callers passing `promptKeys` must then salt theirs too.
   */
  hashSalt?: string;
  /**
   * Report each step's sampled tokens in `StepResult.generated` (default true). The
   * discrete-event replay never reads them, so it turns this off to spare an object per token.
   */
  reportGenerated?: boolean;
}

/**
 * A model of one vLLM (v1) engine, driven by explicit time: `enqueue`
 * requests, then call `step` whenever the previous step has ended; it
 * schedules one continuous-batching step, advances every scheduled request
 * and returns how long the step takes and what it produced.
 *
 * Scheduling follows vLLM's v1 scheduler: running requests first (decode or
 * the next prefill chunk) within the token budget, preempting the most recent
 * running request (recompute) when blocks run out; then waiting requests in
 * arrival order while budget, `maxNumSeqs` and blocks allow, each starting
 * from its longest cached prefix (never the whole prompt: at least one token
 * is computed); one whose prompt and output cannot fit in the whole cache is
 * rejected by the next step without running. Prefill is chunked. Full blocks are cached as soon as they
 * are computed (prompt and output alike). `abort` removes a request between
 * steps, as vLLM does when its client goes away.
 */
export class EngineModel {
  readonly blockSize: number;
  readonly maxBatchedTokens: number;
  readonly maxNumSeqs: number;
  readonly latency: LatencyModel;
  private readonly pool: BlockPool;
  /** Blocks of the whole cache (Infinity when unbounded). */
  private readonly capacityBlocks: number;
  private readonly keyer: BlockKeyer;
  private readonly root: Uint32Array;
  private readonly vocab: number;
  private waiting: Seq[] = [];
  private running: Seq[] = [];
  /** Requests that can never fit in the cache, reported rejected by the next step. */
  private refused: Seq[] = [];
  /** Requests refused, waiting or running, by id: exactly the union of the three queues. */
  private readonly live = new Map<string, Seq>();
  private events: EngineKvEvent[] = [];
  private removed: number[] = [];
  private counters = { queries: 0, hits: 0, preemptions: 0, prompt: 0, generated: 0 };
  private seqSeed = 0;
  private readonly reportGenerated: boolean;

  constructor(options: EngineOptions) {
    this.blockSize = options.blockSize ?? 16;
    this.maxBatchedTokens = options.maxBatchedTokens ?? 8192;
    this.maxNumSeqs = options.maxNumSeqs ?? 256;
    this.latency = options.latency ?? rooflineLatency();
    this.vocab = options.vocabSize ?? 128_256;
    this.reportGenerated = options.reportGenerated ?? true;
    const blocks = Number.isFinite(options.capacityTokens)
      ? Math.floor(options.capacityTokens / this.blockSize)
      : Infinity;
    this.capacityBlocks = blocks;
    this.pool = new BlockPool(blocks, (lo, hi) => this.removed.push(lo, hi));
    this.keyer = createBlockKeyer();
    this.root = this.keyer.rootKey({ model: options.model, salt: options.hashSalt });
  }

  /** Queues a request (id unique among those waiting or running); the next step considers it. */
  enqueue(req: EngineRequest, _nowMs: number): void {
    if (req.maxOutputTokens < 1) throw new RangeError(`request ${req.id}: maxOutputTokens < 1`);
    if (this.live.has(req.id)) throw new Error(`request ${req.id} is already queued`);
    const bs = this.blockSize;
    const total = req.prompt.length + req.maxOutputTokens;
    const tokens = new Uint32Array(total);
    tokens.set(req.prompt);
    if (req.output) tokens.set(req.output.subarray(0, req.maxOutputTokens), req.prompt.length);
    const keys = new Uint32Array(2 * Math.floor(total / bs));
    const promptBlocks = Math.floor(req.prompt.length / bs);
    if (req.promptKeys && req.promptKeys.length >= 2 * promptBlocks) {
      keys.set(req.promptKeys.subarray(0, 2 * promptBlocks));
    } else if (promptBlocks > 0) {
      this.keyer.chain(req.prompt, {
        blockSizeTokens: bs,
        parentLo: this.root[0]!,
        parentHi: this.root[1]!,
        out: keys.subarray(0, 2 * promptBlocks),
      });
    }
    const s: Seq = {
      id: req.id,
      tokens,
      promptLen: req.prompt.length,
      maxOut: req.maxOutputTokens,
      numOut: 0,
      computed: 0,
      blocks: [],
      keys,
      keysKnown: promptBlocks,
      cachedUpTo: 0,
      firstHitTokens: -1,
      seed: (this.seqSeed = (this.seqSeed + 0x9e3779b9) >>> 0),
      fixedOutput: req.output !== undefined,
    };
    // Prompt and output must fit in the whole cache, or the request would run,
    // preempt itself at the limit and never finish: refuse it up front, as vLLM
    // refuses a request beyond max_model_len.
    if (Math.ceil(total / bs) > this.capacityBlocks) this.refused.push(s);
    else this.waiting.push(s);
    this.live.set(s.id, s);
  }

  /**
   * Removes a waiting or running request, as vLLM does when its client
   * disconnects: its blocks are freed tail first like a finished request's
   * (computed full blocks stay cached, evictable), it generates nothing more
   * and no step reports it again. False, doing nothing, when the engine does
   * not hold `id` (unknown, finished, rejected or already aborted).
   * O(queue length).
   */
  abort(id: string): boolean {
    const s = this.live.get(id);
    if (!s) return false;
    this.live.delete(id);
    const r = this.running.indexOf(s);
    const f = this.refused.indexOf(s);
    if (r >= 0) this.running.splice(r, 1);
    else if (f >= 0) this.refused.splice(f, 1);
    else this.waiting.splice(this.waiting.indexOf(s), 1);
    this.freeBlocks(s);
    return true;
  }

  /**
   * Prompt tokens a waiting or running request found in the prefix cache at
   * its first admission: 0 before it is admitted, undefined when the engine
   * does not hold `id`. (Finished requests report it in `finished`.)
   */
  cachedPromptTokens(id: string): number | undefined {
    const s = this.live.get(id);
    return s ? Math.max(0, s.firstHitTokens) : undefined;
  }

  /** True when a step would do something. */
  get busy(): boolean {
    return this.running.length > 0 || this.waiting.length > 0 || this.refused.length > 0;
  }

  metrics(): EngineMetrics {
    return {
      num_requests_waiting: this.waiting.length,
      num_requests_running: this.running.length,
      kv_cache_usage_perc: this.pool.usage,
      prefix_cache_queries: this.counters.queries,
      prefix_cache_hits: this.counters.hits,
      num_preemptions: this.counters.preemptions,
      prompt_tokens: this.counters.prompt,
      generation_tokens: this.counters.generated,
      num_gpu_blocks: this.pool.totalBlocks,
      block_size: this.blockSize,
    };
  }

  /** Runs one step starting at `nowMs`; null when there is nothing to do. */
  step(_nowMs: number): StepResult | null {
    if (!this.busy) return null;
    const result: StepResult = {
      durationMs: 0,
      events: [],
      firstTokens: [],
      generated: [],
      finished: [],
      prefillTokens: 0,
      decodeSeqs: 0,
      preempted: 0,
    };
    for (const s of this.refused) {
      this.live.delete(s.id);
      result.finished.push({ id: s.id, outputTokens: 0, rejected: true, cachedTokens: 0 });
    }
    this.refused = [];
    const scheduled: [Seq, number][] = [];
    let budget = this.maxBatchedTokens;
    let preempted = false;

    for (let i = 0; i < this.running.length && budget > 0;) {
      const s = this.running[i]!;
      const n = Math.min(s.promptLen + s.numOut - s.computed, budget);
      let ok = this.grow(s, s.computed + n);
      while (!ok) {
        const victim = this.running.pop()!;
        this.preempt(victim);
        result.preempted++;
        preempted = true;
        if (victim === s) break;
        ok = this.grow(s, s.computed + n);
      }
      if (!ok) break;
      scheduled.push([s, n]);
      budget -= n;
      i++;
    }

    if (!preempted) {
      while (this.waiting.length > 0 && budget > 0 && this.running.length < this.maxNumSeqs) {
        const s = this.waiting[0]!;
        if (!this.admit(s, budget)) break;
        this.waiting.shift();
        this.running.push(s);
        const n = Math.min(s.promptLen + s.numOut - s.computed, budget);
        scheduled.push([s, n]);
        budget -= n;
      }
    }

    const shape: StepShape = { tokens: 0, attentionPairs: 0, kvTokensRead: 0 };
    for (const [s, n] of scheduled) {
      shape.tokens += n;
      shape.attentionPairs += n * (s.computed + n / 2);
      shape.kvTokensRead += s.computed + n;
      if (s.computed + n > s.promptLen + s.numOut - 1 && s.computed >= s.promptLen)
        result.decodeSeqs++;
      else result.prefillTokens += n;
    }
    result.durationMs = this.latency.stepMs(shape);

    for (const [s, n] of scheduled) this.advance(s, n, result);
    this.running = this.running.filter((s) => s.numOut < s.maxOut);
    this.flushRemoved();
    result.events = this.events;
    this.events = [];
    return result;
  }

  /** Drops every cached block not in use (vLLM reset_prefix_cache); emits AllBlocksCleared. */
  clearCache(): void {
    this.flushRemoved();
    this.pool.clearCache();
    this.events.push({ type: 'cleared' });
  }

  /** Ensures `s` has blocks for `tokens` tokens. */
  private grow(s: Seq, tokens: number): boolean {
    const need = Math.ceil(tokens / this.blockSize) - s.blocks.length;
    if (need <= 0) return true;
    if (!this.pool.canAllocate(need)) return false;
    for (let k = 0; k < need; k++) s.blocks.push(this.pool.allocate());
    return true;
  }

  /** Admits a waiting request from its longest cached prefix, if its first chunk fits. */
  private admit(s: Seq, budget: number): boolean {
    const bs = this.blockSize;
    const numTokens = s.promptLen + s.numOut;
    const limit = Math.min(s.keysKnown, Math.floor((numTokens - 1) / bs));
    const hits: number[] = [];
    let freeHits = 0;
    for (let j = 0; j < limit; j++) {
      const id = this.pool.lookup(s.keys[2 * j]!, s.keys[2 * j + 1]!);
      if (id < 0) break;
      hits.push(id);
      if (this.pool.isFree(id)) freeHits++;
    }
    const computed = hits.length * bs;
    const n = Math.min(numTokens - computed, budget);
    const need = Math.ceil((computed + n) / bs) - hits.length;
    if (!this.pool.canAllocate(need + freeHits)) return false;
    this.counters.queries += numTokens;
    this.counters.hits += computed;
    if (s.firstHitTokens < 0) {
      s.firstHitTokens = computed;
      this.counters.prompt += s.promptLen;
    }
    for (const id of hits) this.pool.touch(id);
    s.blocks = hits;
    s.computed = computed;
    s.cachedUpTo = hits.length;
    for (let k = 0; k < need; k++) s.blocks.push(this.pool.allocate());
    return true;
  }

  private preempt(s: Seq): void {
    this.freeBlocks(s);
    s.computed = 0;
    s.cachedUpTo = 0;
    this.counters.preemptions++;
    this.waiting.unshift(s);
  }

  private advance(s: Seq, n: number, result: StepResult): void {
    s.computed += n;
    if (s.computed >= s.promptLen + s.numOut) {
      // The step sampled a token: the first after the prompt, or the next decode token.
      const pos = s.promptLen + s.numOut;
      if (!s.fixedOutput && pos < s.tokens.length)
        s.tokens[pos] = outputToken(s.seed, s.numOut, this.vocab);
      s.numOut++;
      this.counters.generated++;
      if (s.numOut === 1) result.firstTokens.push(s.id);
      if (this.reportGenerated)
        result.generated.push({ id: s.id, tokens: s.tokens.subarray(pos, pos + 1) });
    }
    this.cacheFullBlocks(s);
    if (s.numOut >= s.maxOut) {
      this.freeBlocks(s);
      this.live.delete(s.id);
      const cachedTokens = s.firstHitTokens;
      result.finished.push({ id: s.id, outputTokens: s.numOut, rejected: false, cachedTokens });
    }
  }

  /** Releases a request's blocks tail first, so its tail is evicted before its prefix. */
  private freeBlocks(s: Seq): void {
    for (let j = s.blocks.length - 1; j >= 0; j--) this.pool.release(s.blocks[j]!);
    s.blocks = [];
  }

  /** Registers the blocks completed by this step and reports the newly cached run. */
  private cacheFullBlocks(s: Seq): void {
    const bs = this.blockSize;
    const full = Math.floor(s.computed / bs);
    if (full <= s.cachedUpTo) return;
    let runStart = -1;
    const flush = (end: number) => {
      if (runStart < 0) return;
      this.flushRemoved();
      this.events.push({
        type: 'stored',
        hashes: s.keys.slice(2 * runStart, 2 * end),
        parent: runStart > 0 ? s.keys.slice(2 * runStart - 2, 2 * runStart) : null,
        tokens: s.tokens.subarray(runStart * bs, end * bs),
        depth: runStart,
      });
      runStart = -1;
    };
    for (let j = s.cachedUpTo; j < full; j++) {
      if (j >= s.keysKnown) this.keyOutputBlock(s, j);
      if (this.pool.register(s.blocks[j]!, s.keys[2 * j]!, s.keys[2 * j + 1]!)) {
        if (runStart < 0) runStart = j;
      } else {
        flush(j);
      }
    }
    flush(full);
    s.cachedUpTo = full;
  }

  private keyOutputBlock(s: Seq, j: number): void {
    const bs = this.blockSize;
    const parentLo = j > 0 ? s.keys[2 * j - 2]! : this.root[0]!;
    const parentHi = j > 0 ? s.keys[2 * j - 1]! : this.root[1]!;
    this.keyer.chain(s.tokens.subarray(j * bs, (j + 1) * bs), {
      blockSizeTokens: bs,
      parentLo,
      parentHi,
      out: s.keys.subarray(2 * j, 2 * j + 2),
    });
    s.keysKnown = j + 1;
  }

  private flushRemoved(): void {
    if (this.removed.length === 0) return;
    this.events.push({ type: 'removed', hashes: Uint32Array.from(this.removed) });
    this.removed = [];
  }
}
