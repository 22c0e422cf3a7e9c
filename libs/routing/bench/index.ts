import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { throughput } from '@kvroute/bench-kit';
import { createPolicy } from '../src/policy.js';
import type { MatchDepth, PodState, PresetName, RouteInput } from '../src/types.js';

const PRESETS: PresetName[] = [
  'round-robin',
  'least-loaded',
  'llm-d',
  'dynamo',
  'kubeai',
  'sglang',
  'default',
];

function fleet(n: number): PodState[] {
  return Array.from({ length: n }, (_, i) => ({
    pod: `pod-${String(i).padStart(3, '0')}`,
    model: 'm',
    role: 'both' as const,
    waiting: i % 5,
    running: 20 + (i % 7),
    kvUsage: (i % 10) / 10,
    capacityBlocks: 65_536,
    blockSize: 16,
    lastHeartbeatMs: 0,
    inFlight: 20 + (i % 9),
    inFlightPrefillTokens: 1000 * (i % 4),
    inFlightPrefilling: i % 4,
    inFlightTokens: 200_000,
  }));
}

function input(pods: PodState[], blocks: number): RouteInput {
  const keys = Uint32Array.from(
    { length: 2 * blocks },
    (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0,
  );
  const matches = new Map<string, MatchDepth>();
  pods.forEach((p, i) => {
    const d = Math.floor((blocks * (i % 4)) / 4);
    if (d > 0) matches.set(p.pod, { gpu: d, total: d, speculative: d });
  });
  return {
    model: 'm',
    blockSize: 16,
    promptTokens: blocks * 16,
    totalBlocks: blocks,
    matches,
    keys,
  };
}

/** `kvroute bench routing`: picks per second of every preset, 16 and 128 candidate pods. */
export const benchRouting: Bench = async ({ quick }) => {
  const ms = quick ? 40 : 800;
  const rows: BenchReport['rows'] = [];
  const summary: BenchReport['summary'] = { bench: 'routing' };
  for (const n of [16, 128]) {
    const pods = fleet(n);
    const req = input(pods, 750);
    for (const preset of PRESETS) {
      const policy = createPolicy({ preset });
      const t = throughput(() => policy.pick(req, pods), 1, ms);
      rows.push({
        preset,
        pods: String(n),
        'k picks/s': t.medianOpsPerSec / 1e3,
        'µs/pick': 1e6 / t.medianOpsPerSec,
      });
      summary[`${preset}_${n}_picks_per_s`] = Math.round(t.medianOpsPerSec);
    }
  }
  return {
    title: 'Routing policy pick rate (750-block request, matches on ¾ of the pods)',
    rows,
    summary,
    notes: [
      'Median of rounds; one policy instance per preset; candidates pre-built (the router builds them once per request).',
    ],
  };
};
