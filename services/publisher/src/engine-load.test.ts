import { describe, expect, it } from 'vitest';
import { EngineLoadError, readEngineLoad } from './engine-load.js';
import { parsePromText, PromParseError } from './prom-text.js';
import { vllmMetricsPage } from './testing/fake-metrics.js';

describe('Prometheus text', () => {
  it('reads names, escaped labels, special values and timestamps; skips comments', () => {
    const page = [
      '# HELP x_total some "help" \\n text',
      '# TYPE x_total counter',
      'x_total{a="1",b="q\\"uote\\\\d\\nl"} 3.5e+02 1700000000000',
      'up 1',
      'nan_metric{} NaN',
      'inf{x="y",} +Inf',
      '',
      'neg -Inf',
      '# EOF',
    ].join('\n');
    expect(parsePromText(page)).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'q"uote\\d\nl' }, value: 350 },
      { name: 'up', labels: {}, value: 1 },
      { name: 'nan_metric', labels: {}, value: NaN },
      { name: 'inf', labels: { x: 'y' }, value: Infinity },
      { name: 'neg', labels: {}, value: -Infinity },
    ]);
    expect(parsePromText(page, new Set(['up']))).toHaveLength(1);
  });

  it('rejects malformed lines, naming the line', () => {
    for (const bad of [
      'x{a="1"',
      'x{a=1} 2',
      'x{a="\\q"} 1',
      'x 1 2 3',
      'x abc',
      '9x 1',
      'x{a="1"}1',
      'x 1 notatime',
    ]) {
      expect(() => parsePromText(`ok 1\n${bad}`), bad).toThrow(/line 2/);
      expect(() => parsePromText(bad), bad).toThrow(PromParseError);
    }
  });
});

describe('vLLM load', () => {
  it('reads waiting, running, usage, block size and capacity from a vLLM page', () => {
    const page = vllmMetricsPage({
      waiting: 7,
      running: 3,
      usage: 0.25,
      blockSize: 16,
      gpuBlocks: 27767,
    });
    expect(readEngineLoad(page)).toEqual({
      waiting: 7,
      running: 3,
      kvUsage: 0.25,
      blockSize: 16,
      capacityBlocks: 27767,
    });
  });

  it('falls back to the older usage gauge and adds data-parallel engines up', () => {
    const page = vllmMetricsPage({
      waiting: 8,
      running: 4,
      usage: 0.5,
      blockSize: 32,
      gpuBlocks: 2000,
      engines: 2,
      legacyUsage: true,
    });
    expect(readEngineLoad(page)).toEqual({
      waiting: 8,
      running: 4,
      kvUsage: 0.5,
      blockSize: 32,
      capacityBlocks: 2000,
    });
  });

  it('weights usage by each engine capacity', () => {
    const page = [
      'vllm:num_requests_waiting{engine="0"} 0',
      'vllm:num_requests_running{engine="0"} 0',
      'vllm:kv_cache_usage_perc{engine="0"} 1',
      'vllm:kv_cache_usage_perc{engine="1"} 0',
      'vllm:cache_config_info{block_size="16",engine="0",num_gpu_blocks="300"} 1',
      'vllm:cache_config_info{block_size="16",engine="1",num_gpu_blocks="100"} 1',
    ].join('\n');
    expect(readEngineLoad(page).kvUsage).toBeCloseTo(0.75);
    expect(readEngineLoad(page).capacityBlocks).toBe(400);
  });

  it('says when the page is not an engine’s', () => {
    expect(() => readEngineLoad('up 1\n')).toThrow(EngineLoadError);
    const noInfo = 'vllm:num_requests_waiting 1\nvllm:num_requests_running 2\n';
    expect(readEngineLoad(noInfo)).toEqual({
      waiting: 1,
      running: 2,
      kvUsage: 0,
      blockSize: 0,
      capacityBlocks: 0,
    });
  });
});
