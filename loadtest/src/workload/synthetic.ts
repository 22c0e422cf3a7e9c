import type { Rng } from '@kvroute/routing';
import { createRng } from '@kvroute/routing';
import { fillTokens } from './tokens.js';
import type { TraceRequest, Workload } from './types.js';

/** Poisson arrivals: exponential gaps at `ratePerS`. */
function poisson(rng: Rng, ratePerS: number): () => number {
  let t = 0;
  return () => (t += (-Math.log(1 - rng()) / ratePerS) * 1000);
}

export interface SharedPrefixOptions {
  /** Distinct system prompts (inference-perf `num_groups`). */
  groups: number;
  /** Questions per system prompt (`num_prompts_per_group`). */
  promptsPerGroup: number;
  systemPromptTokens: number;
  questionTokens: number;
  outputTokens: number;
  /** Mean arrival rate, requests/s (Poisson); `--load` rescales it. */
  ratePerS?: number;
  seed?: number;
}

/**
 * inference-perf's `shared_prefix` data: `groups` system prompts of
 * `systemPromptTokens`, each followed by `promptsPerGroup` distinct questions
 * of `questionTokens`; requests in a random order with Poisson arrivals.
 */
export function sharedPrefix(o: SharedPrefixOptions): Workload {
  const rng = createRng(o.seed ?? 1);
  const next = poisson(rng, o.ratePerS ?? 10);
  const pairs: [number, number][] = [];
  for (let g = 0; g < o.groups; g++) for (let q = 0; q < o.promptsPerGroup; q++) pairs.push([g, q]);
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  const n = o.systemPromptTokens + o.questionTokens;
  const requests = pairs.map(([g, q]): TraceRequest => ({
    arrivalMs: next(),
    inputTokens: n,
    outputTokens: o.outputTokens,
    prompt() {
      const out = new Uint32Array(n);
      fillTokens(out, 0, o.systemPromptTokens, 0x5000_0000 + g);
      fillTokens(out, o.systemPromptTokens, o.questionTokens, 0x6000_0000 + g * 65_536 + q);
      return out;
    },
  }));
  return { name: `shared-prefix:${o.groups}x${o.promptsPerGroup}`, requests };
}

export interface MultiTurnOptions {
  sessions: number;
  turnsPerSession: number;
  systemPromptTokens: number;
  /** Tokens of each user message. */
  userTokens: number;
  /** Tokens of each answer; the answer joins the history of the next turn. */
  outputTokens: number;
  /**
   * Mean think time, ms: turn k+1 is sent thinkMs × U(0.5, 1.5) after turn
   * k's answer completes (default 10 000). A user's, so `--load` leaves it alone.
   */
  thinkMs?: number;
  /** New sessions per second (Poisson); `--load` rescales it. */
  sessionRatePerS?: number;
  seed?: number;
}

/**
 * Chat sessions whose history grows: turn k's prompt is the system prompt,
 * then every earlier user message and answer, then the new user message. The
 * answers are fixed token ids the engine emits as its output, so a pod that
 * served turn k holds the blocks of turn k+1's history (vLLM caches output
 * blocks too). Sessions are closed loops (`TraceRequest.session`): a turn is
 * sent a think time after the previous answer completes, so it never arrives
 * before the answer its history contains.
 */
export function multiTurn(o: MultiTurnOptions): Workload {
  const rng = createRng(o.seed ?? 1);
  const nextSession = poisson(rng, o.sessionRatePerS ?? 1);
  const think = o.thinkMs ?? 10_000;
  const requests: TraceRequest[] = [];
  for (let s = 0; s < o.sessions; s++) {
    // Nominal arrival: as if every answer were instant (orders the list; see TraceRequest).
    let at = nextSession();
    const sys = 0x7000_0000 + (s % 4); // a few system prompts shared across sessions
    for (let k = 0; k < o.turnsPerSession; k++) {
      const thinkMs = k === 0 ? 0 : think * (0.5 + rng());
      at += thinkMs;
      const len = o.systemPromptTokens + (k + 1) * o.userTokens + k * o.outputTokens;
      const answer = (turn: number) => 0x2000_0000 + s * 1024 + turn;
      const user = (turn: number) => 0x3000_0000 + s * 1024 + turn;
      requests.push({
        arrivalMs: at,
        session: { id: s, turn: k, thinkMs },
        inputTokens: len,
        outputTokens: o.outputTokens,
        prompt() {
          const out = new Uint32Array(len);
          fillTokens(out, 0, o.systemPromptTokens, sys);
          let at = o.systemPromptTokens;
          for (let t = 0; t <= k; t++) {
            fillTokens(out, at, o.userTokens, user(t));
            at += o.userTokens;
            if (t < k) {
              fillTokens(out, at, o.outputTokens, answer(t));
              at += o.outputTokens;
            }
          }
          return out;
        },
        output() {
          const out = new Uint32Array(o.outputTokens);
          fillTokens(out, 0, o.outputTokens, answer(k));
          return out;
        },
      });
    }
  }
  requests.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { name: `multi-turn:${o.sessions}x${o.turnsPerSession}`, requests };
}
