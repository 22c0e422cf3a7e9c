import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineModel } from '../engine/engine.js';
import type { EngineMetrics } from '../engine/types.js';

export interface VllmMetricsOptions {
  /** Served model name: the `model_name` label. */
  model: string;
  engine: EngineModel;
  /** Wall ms the real-time loop fell behind its latency model (exported as a simulator counter). */
  clockSlipMs?: () => number;
}

/** vLLM's TTFT buckets (v1 PrometheusStatLogger), seconds. */
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
  160, 640, 2560,
];
/** vLLM's request latency buckets, seconds. */
const REQUEST_BUCKETS = [
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];

type CounterField =
  | 'prefix_cache_queries'
  | 'prefix_cache_hits'
  | 'prompt_tokens'
  | 'generation_tokens'
  | 'num_preemptions';

/**
 * The series of vLLM's `/metrics` a router reads (counter samples carry
 * `_total` as Python's prometheus_client writes them), under vLLM's names and
 * labels (`model_name`, `engine="0"`): scheduler gauges and KV usage read from
 * the engine at scrape time, token and prefix-cache counters advanced at the
 * end of every step, TTFT and end-to-end latency histograms (wall-clock
 * seconds as clients see them), and `vllm:cache_config_info`.
 */
export class VllmMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<CounterField, Counter.Internal>();
  private readonly last: Record<CounterField, number> = {
    prefix_cache_queries: 0,
    prefix_cache_hits: 0,
    prompt_tokens: 0,
    generation_tokens: 0,
    num_preemptions: 0,
  };
  private readonly ttft: Histogram;
  private readonly e2e: Histogram;
  private readonly success: Counter;
  private readonly labels: { model_name: string; engine: string };

  constructor(private readonly o: VllmMetricsOptions) {
    const registers = [this.registry];
    const labelNames = ['model_name', 'engine'] as const;
    this.labels = { model_name: o.model, engine: '0' };
    const engine = o.engine;
    const labels = this.labels;
    const gauge = (name: string, help: string, read: (m: EngineMetrics) => number) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.set(labels, read(engine.metrics()));
        },
      });
    gauge(
      'vllm:num_requests_running',
      'Number of requests in model execution batches.',
      (m) => m.num_requests_running,
    );
    gauge(
      'vllm:num_requests_waiting',
      'Number of requests waiting to be processed.',
      (m) => m.num_requests_waiting,
    );
    gauge(
      'vllm:kv_cache_usage_perc',
      'KV-cache usage. 1 means 100 percent usage.',
      (m) => m.kv_cache_usage_perc,
    );
    gauge(
      'vllm:gpu_cache_usage_perc',
      'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.',
      (m) => m.kv_cache_usage_perc,
    );
    const counter = (field: CounterField, name: string, help: string) =>
      this.counters.set(field, new Counter({ name, help, labelNames, registers }).labels(labels));
    counter(
      'prefix_cache_queries',
      'vllm:prefix_cache_queries_total',
      'Prefix cache queries, in terms of number of queried tokens.',
    );
    counter(
      'prefix_cache_hits',
      'vllm:prefix_cache_hits_total',
      'Prefix cache hits, in terms of number of cached tokens.',
    );
    counter('prompt_tokens', 'vllm:prompt_tokens_total', 'Number of prefill tokens processed.');
    counter(
      'generation_tokens',
      'vllm:generation_tokens_total',
      'Number of generation tokens processed.',
    );
    counter(
      'num_preemptions',
      'vllm:num_preemptions_total',
      'Cumulative number of preemption from the engine.',
    );
    for (const c of this.counters.values()) c.inc(0);
    this.success = new Counter({
      name: 'vllm:request_success_total',
      help: 'Count of successfully processed requests.',
      labelNames: [...labelNames, 'finished_reason'],
      registers,
    });
    this.ttft = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Histogram of time to first token in seconds.',
      labelNames,
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.e2e = new Histogram({
      name: 'vllm:e2e_request_latency_seconds',
      help: 'Histogram of e2e request latency in seconds.',
      labelNames,
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.ttft.zero(labels);
    this.e2e.zero(labels);
    const slip = o.clockSlipMs;
    if (slip)
      new Counter({
        name: 'kvroute_sim_clock_slip_seconds_total',
        help: 'Simulator only: wall time the step loop fell behind its scaled latency model (0 while it keeps up).',
        registers,
        collect() {
          this.reset();
          this.inc(slip() / 1000);
        },
      });
    const m = engine.metrics();
    // vLLM exports every CacheConfig field as a label of a gauge fixed at 1.
    new Gauge({
      name: 'vllm:cache_config_info',
      help: 'Information of the LLMEngine CacheConfig',
      labelNames: [
        'block_size',
        'cache_dtype',
        'enable_prefix_caching',
        'num_cpu_blocks',
        'num_gpu_blocks',
        'prefix_caching_hash_algo',
        'engine',
      ],
      registers,
    }).set(
      {
        block_size: String(m.block_size),
        cache_dtype: 'auto',
        enable_prefix_caching: 'True',
        num_cpu_blocks: 'None',
        num_gpu_blocks: Number.isFinite(m.num_gpu_blocks) ? String(m.num_gpu_blocks) : 'None',
        prefix_caching_hash_algo: 'xxhash',
        engine: '0',
      },
      1,
    );
  }

  /** Advances the counters to the engine's totals; call at the end of each step. */
  onStepEnd(): void {
    const m = this.o.engine.metrics();
    for (const [field, c] of this.counters) {
      const d = m[field] - this.last[field];
      if (d > 0) c.inc(d);
      this.last[field] = m[field];
    }
  }

  observeFirstToken(seconds: number): void {
    this.ttft.observe(this.labels, seconds);
  }

  /** A request that ran to its end (`length`); aborted ones count under `abort` only. */
  observeFinished(reason: 'length' | 'abort', e2eSeconds: number): void {
    this.success.inc({ ...this.labels, finished_reason: reason });
    if (reason === 'length') this.e2e.observe(this.labels, e2eSeconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
