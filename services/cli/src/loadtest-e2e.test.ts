import { describe, expect, it } from 'vitest';
import { runE2e } from './loadtest-e2e.js';

// The simulator's claims rest on it behaving like the real stack: replay one
// workload both ways and hold them to the tolerance the README states.
describe('real-time stack vs discrete-event simulator', () => {
  it('agree on hit rate and end-to-end latency for the same workload', async () => {
    const { realtime, des } = await runE2e({
      pods: 4,
      durationS: 10,
      ratePerS: 5,
      policy: 'default',
      capacityTokens: 1_000_000,
      seed: 3,
    });
    expect(realtime.failed).toBe(0);
    expect(realtime.requests).toBe(des.requests);
    expect(Math.abs(realtime.hit_rate - des.hit_rate)).toBeLessThanOrEqual(0.05);
    expect(realtime.e2e_p50_ms / des.e2e_p50_ms).toBeGreaterThan(0.85);
    expect(realtime.e2e_p50_ms / des.e2e_p50_ms).toBeLessThan(1.2);
    // TTFT in real time also pays HTTP, the router and timer granularity: a fixed overhead, not a different engine
    expect(realtime.ttft_p50_ms - des.ttft_p50_ms).toBeLessThan(100);
  }, 120_000);
});
