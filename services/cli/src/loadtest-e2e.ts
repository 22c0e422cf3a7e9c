import { parseArgs } from 'node:util';
import type { Cell } from '@kvroute/bench-kit';
import { percentile, renderTable } from '@kvroute/bench-kit';
import type { SimResult, Workload } from '@kvroute/sim';
import { runSim, sharedPrefix } from '@kvroute/sim';
import { DEMO_MODEL } from './demo.js';
import { checkPolicyFlag } from './policy-flag.js';
import { startStack } from './stack.js';
import { UsageError } from './usage.js';

export interface E2eOptions {
  pods: number;
  durationS: number;
  ratePerS: number;
  policy: string;
  capacityTokens: number;
  seed: number;
}

export interface E2eSide {
  requests: number;
  failed: number;
  hit_rate: number;
  ttft_p50_ms: number;
  ttft_p95_ms: number;
  e2e_p50_ms: number;
  e2e_p95_ms: number;
}

/**
 * The inference-perf style shared-prefix workload both sides replay: groups of
 * requests sharing a long system prompt, Poisson arrivals at a modest rate.
 */
export function e2eWorkload(o: E2eOptions): Workload {
  const total = Math.max(1, Math.round(o.durationS * o.ratePerS));
  const groups = 8;
  return sharedPrefix({
    groups,
    promptsPerGroup: Math.ceil(total / groups),
    systemPromptTokens: 2048,
    questionTokens: 256,
    outputTokens: 64,
    ratePerS: o.ratePerS,
    seed: o.seed,
  });
}

interface Outcome {
  ok: boolean;
  ttftMs: number;
  e2eMs: number;
  promptTokens: number;
  cachedTokens: number;
}

/** One streamed completion through the gateway, timed at the client. */
async function send(url: string, prompt: Uint32Array, maxTokens: number): Promise<Outcome> {
  const t0 = performance.now();
  let ttft = NaN;
  let usage:
    { prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } } | undefined;
  try {
    const res = await fetch(`${url}/v1/completions`, {
      // A stalled stream must end the request, not the run.
      signal: AbortSignal.timeout(120_000),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: DEMO_MODEL,
        prompt: Array.from(prompt),
        max_tokens: maxTokens,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return { ok: false, ttftMs: NaN, e2eMs: NaN, promptTokens: 0, cachedTokens: 0 };
    }
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 2);
        if (!event.startsWith('data:')) continue;
        const data = event.slice(5).trim();
        if (data === '[DONE]') continue;
        const j = JSON.parse(data) as { choices?: { text?: string }[]; usage?: typeof usage };
        if (Number.isNaN(ttft) && j.choices?.[0]?.text) ttft = performance.now() - t0;
        if (j.usage) usage = j.usage;
      }
    }
    return {
      ok: true,
      ttftMs: ttft,
      e2eMs: performance.now() - t0,
      promptTokens: usage?.prompt_tokens ?? prompt.length,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    };
  } catch {
    return { ok: false, ttftMs: NaN, e2eMs: NaN, promptTokens: 0, cachedTokens: 0 };
  }
}

function summarise(outcomes: Outcome[]): E2eSide {
  const ok = outcomes.filter((o) => o.ok);
  const ttft = Float64Array.from(ok.map((o) => o.ttftMs)).sort();
  const e2e = Float64Array.from(ok.map((o) => o.e2eMs)).sort();
  const prompt = ok.reduce((s, o) => s + o.promptTokens, 0);
  return {
    requests: outcomes.length,
    failed: outcomes.length - ok.length,
    hit_rate: prompt > 0 ? ok.reduce((s, o) => s + o.cachedTokens, 0) / prompt : 0,
    ttft_p50_ms: percentile(ttft, 50),
    ttft_p95_ms: percentile(ttft, 95),
    e2e_p50_ms: percentile(e2e, 50),
    e2e_p95_ms: percentile(e2e, 95),
  };
}

/**
 * Replays one workload twice: in real time through the whole distributed
 * stack (simulated pods, publishers, NATS, indexer, router gateway) with an
 * open-loop load generator, and on the discrete-event simulator with the same
 * engine model, policy and fleet. The two must agree within the stated
 * tolerance, which is what licenses the simulator's long-trace results.
 */
export async function runE2e(
  o: E2eOptions,
  log: (s: string) => void = () => undefined,
): Promise<{ realtime: E2eSide; des: SimResult }> {
  const workload = e2eWorkload(o);
  const requests = workload.requests.filter((r) => r.arrivalMs <= o.durationS * 1000);
  const des = runSim({
    workload: { ...workload, requests },
    pods: o.pods,
    policy: o.policy as 'default',
    capacityTokens: o.capacityTokens,
    model: DEMO_MODEL,
    kvEventDelayMs: 5,
    seed: o.seed,
  });
  log(`discrete-event run done: ${des.requests} requests`);
  const stack = await startStack({
    pods: o.pods,
    port: 0,
    output: 'ignore',
    capacityTokens: o.capacityTokens,
    policy: o.policy,
  });
  try {
    log(`stack up at ${stack.url}; replaying ${requests.length} requests over ${o.durationS} s`);
    const t0 = performance.now();
    const pending = requests.map(async (r) => {
      const wait = r.arrivalMs - (performance.now() - t0);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      return send(stack.url, r.prompt(), r.outputTokens);
    });
    const realtime = summarise(await Promise.all(pending));
    return { realtime, des };
  } finally {
    await stack.stop();
  }
}

const FLAG: Record<string, string> = {
  durationS: 'duration',
  ratePerS: 'rate',
  capacityTokens: 'capacity-tokens',
};

export async function runE2eCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pods: { type: 'string', default: '4' },
      duration: { type: 'string', default: '60' },
      rate: { type: 'string', default: '6' },
      policy: { type: 'string', default: 'default' },
      'capacity-tokens': { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const o: E2eOptions = {
    pods: Number(values.pods),
    durationS: Number(values.duration),
    ratePerS: Number(values.rate),
    policy: values.policy,
    capacityTokens: Number(values['capacity-tokens']),
    seed: Number(values.seed),
  };
  const bad = Object.entries(o).find(
    ([k, v]) =>
      typeof v === 'number' &&
      (!Number.isFinite(v) || v <= 0 || (k === 'pods' && !Number.isInteger(v))),
  );
  if (bad) throw new UsageError(`--${FLAG[bad[0]] ?? bad[0]} must be a positive number`);
  checkPolicyFlag(o.policy);
  const { realtime, des } = await runE2e(o, (s) => process.stderr.write(`${s}\n`));
  const rows: Record<string, Cell>[] = [];
  const keys = ['hit_rate', 'ttft_p50_ms', 'ttft_p95_ms', 'e2e_p50_ms', 'e2e_p95_ms'] as const;
  for (const k of keys) {
    const a = realtime[k];
    const b = des[k];
    rows.push({
      metric: k,
      'real-time stack': a,
      'discrete-event': b,
      'ratio rt/des': b === 0 ? NaN : a / b,
    });
  }
  process.stdout.write(
    `# real-time stack vs discrete-event simulator (${o.pods} pods, ${o.policy}, ${realtime.requests} requests, ${realtime.failed} failed)\n\n${renderTable(rows)}\n`,
  );
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ pods: o.pods, policy: o.policy, requests: realtime.requests, failed: realtime.failed, realtime, des: Object.fromEntries(keys.map((k) => [k, des[k]])) })}\n`,
    );
  }
  return realtime.failed > 0 ? 1 : 0;
}
