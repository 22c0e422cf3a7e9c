import { readFileSync } from 'node:fs';
import { fillTokens } from './tokens.js';
import type { TraceRequest, Workload } from './types.js';

/** Tokens per Mooncake `hash_ids` entry. */
export const MOONCAKE_BLOCK_TOKENS = 512;

export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError';
}

interface Line {
  timestamp: number;
  input_length: number;
  output_length: number;
  hash_ids: number[];
}

/**
 * Reads a Mooncake trace (JSONL: timestamp ms, input_length, output_length,
 * hash_ids of chained 512-token blocks). Each hash id becomes 512
 * deterministic token ids (equal ids → equal tokens, so the prefix structure
 * is exact); the prompt is the blocks' tokens cut at input_length (the last
 * block partial). A malformed line is an error naming the line.
 */
export function readMooncake(path: string, limit = Infinity): Workload {
  const text = readFileSync(path, 'utf8');
  const requests: TraceRequest[] = [];
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    if (raw.trim() === '') continue;
    if (requests.length >= limit) break;
    let l: Line;
    try {
      l = JSON.parse(raw) as Line;
    } catch (e) {
      throw new TraceFormatError(`${path}:${lineNo}: not JSON`, { cause: e });
    }
    const ok =
      Number.isFinite(l.timestamp) &&
      Number.isInteger(l.input_length) &&
      l.input_length > 0 &&
      Number.isInteger(l.output_length) &&
      Array.isArray(l.hash_ids) &&
      l.hash_ids.length * MOONCAKE_BLOCK_TOKENS >= l.input_length &&
      l.hash_ids.every((h) => Number.isInteger(h) && h >= 0);
    if (!ok) throw new TraceFormatError(`${path}:${lineNo}: not a Mooncake trace line`);
    requests.push(mooncakeRequest(l));
  }
  requests.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { name: `mooncake:${path.split('/').pop()}`, requests };
}

function mooncakeRequest(l: Line): TraceRequest {
  const ids = l.hash_ids;
  const n = l.input_length;
  return {
    arrivalMs: l.timestamp,
    inputTokens: n,
    // vLLM generates at least one token; a few trace lines say 0.
    outputTokens: Math.max(1, l.output_length),
    prompt() {
      const out = new Uint32Array(n);
      for (let b = 0; b * MOONCAKE_BLOCK_TOKENS < n; b++) {
        const from = b * MOONCAKE_BLOCK_TOKENS;
        fillTokens(out, from, Math.min(MOONCAKE_BLOCK_TOKENS, n - from), ids[b]! + 1);
      }
      return out;
    },
  };
}
