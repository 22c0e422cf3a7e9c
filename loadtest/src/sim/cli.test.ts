import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSimCli } from './cli.js';

const trace = fileURLToPath(new URL('../../traces/conversation_trace.jsonl', import.meta.url));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  return { out: () => out.join(''), err: () => err.join('') };
}

afterEach(() => vi.restoreAllMocks());

describe('kvroute sim', () => {
  it('prints a summary and, with --json, one JSON object as the last line', async () => {
    const io = capture();
    const code = await runSimCli([
      '--trace',
      trace,
      '--pods',
      '2',
      '--policy',
      'llm-d',
      '--limit',
      '100',
      '--load',
      '0.5',
      '--capacity-tokens',
      '500000',
      '--json',
    ]);
    expect(code).toBe(0);
    const last = JSON.parse(io.out().trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(last).toMatchObject({ policy: 'llm-d', requests: 100, pods: 2, load: 0.5 });
    for (const k of [
      'hit_rate',
      'ttft_p50_ms',
      'ttft_p95_ms',
      'ttft_p99_ms',
      'e2e_p50_ms',
      'e2e_p95_ms',
      'output_tokens_per_s',
      'load_imbalance',
    ]) {
      expect(typeof last[k]).toBe('number');
    }
  });

  it('accepts a policy config as JSON', async () => {
    const io = capture();
    const policy =
      '{"scorers":[{"name":"ttft","weight":1,"params":{"affinity":0}}],"picker":{"name":"max-score"}}';
    expect(
      await runSimCli([
        '--trace',
        trace,
        '--pods',
        '2',
        '--policy',
        policy,
        '--limit',
        '50',
        '--json',
      ]),
    ).toBe(0);
    expect(JSON.parse(io.out().trim().split('\n').at(-1)!)).toMatchObject({
      policy: 'custom',
      completed: 50,
    });
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    const io = capture();
    expect(await runSimCli(['--trace', trace, '--policy', 'nginx'])).toBe(2);
    expect(io.err()).toMatch(/unknown preset "nginx"/);
    expect(
      await runSimCli([
        '--trace',
        trace,
        '--policy',
        '{"picker":{"name":"softmax","params":{"temperature":-1}}}',
      ]),
    ).toBe(2);
    expect(io.err()).toMatch(/picker\.params\.temperature/);
    expect(await runSimCli(['--pods', '4'])).toBe(2);
    expect(io.err()).toMatch(/--trace or --synthetic is required/);
    expect(await runSimCli(['--trace', '/nonexistent.jsonl'])).toBe(2);
    expect(await runSimCli(['--trace', trace, '--load', '-1'])).toBe(2);
  });

  it('names the flag and exits 2 for infinite or sub-block values', async () => {
    const cases: [string[], RegExp][] = [
      [['--capacity-tokens', '8'], /--capacity-tokens must be a number ≥ 16 \(or inf\), got "8"/],
      [['--load', 'inf'], /--load must be a number > 0, got "inf"/],
      [['--kv-delay-ms', 'inf'], /--kv-delay-ms must be a number ≥ 0, got "inf"/],
      [['--pods', 'inf'], /--pods must be an integer ≥ 1/],
      [['--limit', 'abc'], /--limit must be an integer ≥ 1 \(or inf\)/],
    ];
    for (const [args, message] of cases) {
      const io = capture();
      expect(await runSimCli(['--trace', trace, ...args])).toBe(2);
      expect(io.err()).toMatch(message);
      vi.restoreAllMocks();
    }
    const io = capture();
    const ok = ['--synthetic', 'shared-prefix', '--pods', '1', '--json'];
    expect(await runSimCli([...ok, '--capacity-tokens', 'inf', '--limit', '30'])).toBe(0);
    expect(JSON.parse(io.out().trim().split('\n').at(-1)!)).toMatchObject({
      capacity_tokens: null,
      completed: 30,
    });
  });
});
