import type { Bench, BenchReport } from '@kvroute/bench-kit';
import { memoryBytes, throughput } from '@kvroute/bench-kit';
import { createBlockKeyer } from '../src/keyer.js';
import { KeyTable } from '../src/key-table.js';

/** `kvroute bench keys`: block-key hashing rate and the cost of key representations. */
export const benchKeys: Bench = async ({ quick }) => {
  const ms = quick ? 60 : 1500;
  const keyer = createBlockKeyer();
  const blocks = 4096;
  const typed = Uint32Array.from({ length: blocks * 16 }, (_, i) => (i * 2654435761) >>> 12);
  const plain = Array.from(typed);
  const out = new Uint32Array(blocks * 2);
  const id = { model: 'bench' };
  const rows: BenchReport['rows'] = [];

  const kernelTyped = throughput(() => keyer.prefixKeys(id, typed, 16, out), blocks, ms);
  const kernelPlain = throughput(() => keyer.prefixKeys(id, plain, 16, out), blocks, ms);
  rows.push({
    case: 'chain kernel, Uint32Array tokens',
    'M blocks/s': kernelTyped.medianOpsPerSec / 1e6,
  });
  rows.push({
    case: 'chain kernel, number[] tokens',
    'M blocks/s': kernelPlain.medianOpsPerSec / 1e6,
  });

  // The per-call library path the kernel replaced: one bigint returned per block.
  let perCall = NaN;
  try {
    const { default: xxhash } = await import('xxhash-wasm');
    const { h64Raw } = await xxhash();
    const buf = new Uint8Array(8 + 64);
    const u32 = new Uint32Array(buf.buffer);
    const u64 = new BigUint64Array(buf.buffer, 0, 1);
    perCall = throughput(
      () => {
        for (let b = 0; b < blocks; b++) {
          for (let t = 0; t < 16; t++) u32[2 + t] = typed[b * 16 + t]!;
          u64[0] = h64Raw(buf);
        }
      },
      blocks,
      ms,
    ).medianOpsPerSec;
    rows.push({ case: 'xxhash-wasm h64Raw per block', 'M blocks/s': perCall / 1e6 });
  } catch {
    rows.push({ case: 'xxhash-wasm h64Raw per block', 'M blocks/s': 'not installed' });
  }

  // Representation: a set of N keys probed with hits, three ways.
  const n = quick ? 20_000 : 1_000_000;
  const keys = Uint32Array.from(
    { length: 2 * n },
    (_, i) => (Math.imul(i + 1, 0x9e3779b1) ^ (i >>> 3)) >>> 0,
  );
  const repr: { name: string; build: () => unknown; probe: (s: unknown) => void }[] = [
    {
      name: 'KeyTable (u32 halves)',
      build: () => {
        const t = new KeyTable(n);
        for (let i = 0; i < n; i++) t.set(keys[2 * i]!, keys[2 * i + 1]!, i);
        return t;
      },
      probe: (s) => {
        const t = s as KeyTable;
        let acc = 0;
        for (let i = 0; i < n; i += 7) acc += t.get(keys[2 * i]!, keys[2 * i + 1]!);
        if (acc === -1) throw new Error('unreachable');
      },
    },
    {
      name: 'Map<bigint, number>',
      build: () => {
        const m = new Map<bigint, number>();
        for (let i = 0; i < n; i++)
          m.set((BigInt(keys[2 * i + 1]!) << 32n) | BigInt(keys[2 * i]!), i);
        return m;
      },
      probe: (s) => {
        const m = s as Map<bigint, number>;
        let acc = 0;
        for (let i = 0; i < n; i += 7)
          acc += m.get((BigInt(keys[2 * i + 1]!) << 32n) | BigInt(keys[2 * i]!))!;
        if (acc === -1) throw new Error('unreachable');
      },
    },
    {
      name: 'Map<string, number> (hex)',
      build: () => {
        const m = new Map<string, number>();
        for (let i = 0; i < n; i++)
          m.set(keys[2 * i + 1]!.toString(16) + ':' + keys[2 * i]!.toString(16), i);
        return m;
      },
      probe: (s) => {
        const m = s as Map<string, number>;
        let acc = 0;
        for (let i = 0; i < n; i += 7)
          acc += m.get(keys[2 * i + 1]!.toString(16) + ':' + keys[2 * i]!.toString(16))!;
        if (acc === -1) throw new Error('unreachable');
      },
    },
  ];
  const reprRates: number[] = [];
  for (const r of repr) {
    const before = memoryBytes();
    const s = r.build();
    const bytes = (memoryBytes() - before) / n;
    const rate = throughput(() => r.probe(s), Math.ceil(n / 7), ms / 2, 5).medianOpsPerSec;
    reprRates.push(rate);
    rows.push({ case: `lookup in ${r.name}`, 'M lookups/s': rate / 1e6, 'bytes/key': bytes });
  }

  return {
    title: 'block keys (16-token blocks; one core)',
    rows,
    notes: [`kernel vs per-call library: ${(kernelTyped.medianOpsPerSec / perCall).toFixed(1)}x`],
    summary: {
      bench: 'keys',
      blocks_per_s: Math.round(kernelTyped.medianOpsPerSec),
      blocks_per_s_number_array: Math.round(kernelPlain.medianOpsPerSec),
      blocks_per_s_xxhash_wasm_per_call: Math.round(perCall),
      keytable_vs_bigint_map_lookup_ratio: +(reprRates[0]! / reprRates[1]!).toFixed(2),
    },
  };
};
