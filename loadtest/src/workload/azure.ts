import { readFileSync } from 'node:fs';
import { TraceFormatError } from './mooncake.js';
import { fillTokens } from './tokens.js';
import type { TraceRequest, Workload } from './types.js';

/**
 * Azure LLM inference trace 2023 (Splitwise): `TIMESTAMP,ContextTokens,
 * GeneratedTokens`. Arrivals and lengths only — prompts carry no shared
 * content, so every prompt gets unique tokens (the arrival process and the
 * length mix are what this workload tests).
 */
export function readAzure(path: string, limit = Infinity): Workload {
  const lines = readFileSync(path, 'utf8').split('\n');
  const requests: TraceRequest[] = [];
  let t0 = NaN;
  for (let i = 1; i < lines.length && requests.length < limit; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [ts, ctx, gen] = line.split(',');
    // "2023-11-16 18:15:46.6805900": 7 fractional digits, beyond Date's precision.
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)?$/.exec(ts ?? '');
    const input = Number(ctx);
    const output = Number(gen);
    if (!m || !Number.isInteger(input) || input <= 0 || !Number.isInteger(output) || output < 0) {
      throw new TraceFormatError(`${path}:${i + 1}: not an Azure trace line`);
    }
    const ms = Date.parse(`${m[1]}T${m[2]}Z`) + Number(m[3] ?? 0) * 1000;
    if (Number.isNaN(t0)) t0 = ms;
    const id = requests.length;
    requests.push({
      arrivalMs: ms - t0,
      inputTokens: input,
      outputTokens: Math.max(1, output),
      prompt() {
        const out = new Uint32Array(input);
        fillTokens(out, 0, input, 0x4000_0000 + id);
        return out;
      },
    } satisfies TraceRequest);
  }
  requests.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { name: `azure:${path.split('/').pop()}`, requests };
}
