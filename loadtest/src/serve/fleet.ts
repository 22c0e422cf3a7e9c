import type { WireShape } from '@kvroute/vllm-events';
import type { EngineOptions } from '../engine/engine.js';
import type { SimPod } from './sim-pod.js';
import { startSimPod } from './sim-pod.js';
import { loadRequestTokenizer } from './tokenization.js';

export interface SimFleetOptions {
  pods: number;
  /** Served model name. */
  model: string;
  /** A Hugging Face model directory, or `qwen3` / `llama3` (tokenizers shipped in npm); absent = approximate ids. */
  tokenizerDir?: string;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Pod i serves HTTP on basePort + 3i, KV events on +1, replay on +2; 0 (default) = free ports. */
  basePort?: number;
  timeScale?: number;
  capacityTokens?: number;
  wireShape?: WireShape;
  bytesHashes?: boolean;
  engine?: Partial<EngineOptions>;
  /** ZMQ topic frame (default empty, as vLLM). */
  topic?: string;
  onError?(error: unknown): void;
}

export interface SimFleetPod {
  name: string;
  /** host:port of the HTTP server. */
  address: string;
  /** tcp://host:port to connect a SUB socket to. */
  zmqEndpoint: string;
  replayEndpoint: string;
  metricsUrl: string;
}

export interface SimFleet {
  pods: SimFleetPod[];
  /** The running pods, for tests and tools that reach into the engines. */
  handles: SimPod[];
  stop(): Promise<void>;
}

/** Starts `pods` simulated vLLM pods sharing one tokenizer; stops every started pod on failure. */
export async function startSimFleet(options: SimFleetOptions): Promise<SimFleet> {
  const n = options.pods;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`pods must be an integer ≥ 1, got ${n}`);
  const base = options.basePort ?? 0;
  if (!Number.isInteger(base) || base < 0 || base + 3 * n - 1 > 65_535)
    throw new RangeError(`basePort ${base} leaves no room for ${n} pods (3 ports each)`);
  const tokenizer = await loadRequestTokenizer(options.tokenizerDir, options.model);
  const handles: SimPod[] = [];
  const stop = async () => {
    await Promise.all(handles.map((p) => p.stop()));
  };
  try {
    for (let i = 0; i < n; i++) {
      const port = (k: number) => (base === 0 ? 0 : base + 3 * i + k);
      handles.push(
        await startSimPod({
          model: options.model,
          tokenizer,
          httpPort: port(0),
          pubPort: port(1),
          replayPort: port(2),
          host: options.host,
          timeScale: options.timeScale,
          capacityTokens: options.capacityTokens,
          wireShape: options.wireShape,
          bytesHashes: options.bytesHashes,
          engine: options.engine,
          topic: options.topic,
          onError: options.onError,
        }),
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    pods: handles.map((p, i) => ({
      name: `sim-${i}`,
      address: p.address,
      zmqEndpoint: p.zmqEndpoint,
      replayEndpoint: p.replayEndpoint,
      metricsUrl: p.metricsUrl,
    })),
    handles,
    stop,
  };
}
