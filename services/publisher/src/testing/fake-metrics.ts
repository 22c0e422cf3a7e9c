import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VllmLoad {
  waiting: number;
  running: number;
  /** 0..1 */
  usage: number;
  blockSize: number;
  gpuBlocks: number;
  /** Series carry `engine="i"` for i < engines (data parallel); default 1. */
  engines?: number;
  /** Name the usage gauge `vllm:gpu_cache_usage_perc` as engines before v0.10 did. */
  legacyUsage?: boolean;
}

/**
 * A `/metrics` page as vLLM's Prometheus client writes it: HELP/TYPE lines,
 * labelled gauges, the `cache_config_info` info gauge carrying its settings as
 * labels, counters, a histogram, and process metrics around them.
 */
export function vllmMetricsPage(l: VllmLoad, model = 'meta-llama/Llama-3.1-8B-Instruct'): string {
  const engines = l.engines ?? 1;
  const usageName = l.legacyUsage ? 'vllm:gpu_cache_usage_perc' : 'vllm:kv_cache_usage_perc';
  const per = (name: string, total: number) =>
    Array.from(
      { length: engines },
      (_, e) => `${name}{engine="${e}",model_name="${model}"} ${(total / engines).toFixed(1)}`,
    ).join('\n');
  return `# HELP python_gc_objects_collected_total Objects collected during gc
# TYPE python_gc_objects_collected_total counter
python_gc_objects_collected_total{generation="0"} 14502.0
python_gc_objects_collected_total{generation="1"} 3211.0
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
${per('vllm:num_requests_running', l.running)}
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
${per('vllm:num_requests_waiting', l.waiting)}
# HELP ${usageName} KV-Cache usage. 1 means 100 percent usage.
# TYPE ${usageName} gauge
${Array.from({ length: engines }, (_, e) => `${usageName}{engine="${e}",model_name="${model}"} ${l.usage}`).join('\n')}
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="${model}"} 1.2345e+06
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="${model}"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.5",model_name="${model}"} 42.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="${model}"} 57.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="${model}"} 57.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="${model}"} 12.75
# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig
# TYPE vllm:cache_config_info gauge
${Array.from(
  { length: engines },
  (_, e) =>
    `vllm:cache_config_info{block_size="${l.blockSize}",cache_dtype="auto",calculate_kv_scales="False",cpu_offload_gb="0",enable_prefix_caching="True",engine="${e}",gpu_memory_utilization="0.9",is_attention_free="False",num_cpu_blocks="None",num_gpu_blocks="${Math.round(l.gpuBlocks / engines)}",num_gpu_blocks_override="None",prefix_caching_hash_algo="sha256",sliding_window="None",swap_space="4",swap_space_bytes="4294967296"} 1.0`,
).join('\n')}
`;
}

/** A real HTTP server answering GET /metrics with `page()`; stoppable and restartable on its port. */
export class MetricsServer {
  private server: Server | undefined;
  port = 0;

  constructor(public page: () => string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/metrics`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(this.page());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening and cuts open connections: the engine is gone. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
