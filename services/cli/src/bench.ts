import type { Bench } from '@kvroute/bench-kit';
import { renderReport } from '@kvroute/bench-kit';
import { parseArgs } from 'node:util';
import type { Command } from './commands.js';

const benches: Record<string, { about: string; load: () => Promise<Bench> }> = {
  keys: {
    about: 'block-key hashing rate and key representations',
    load: async () => (await import('@kvroute/block-keys/bench')).benchKeys,
  },
  decode: {
    about: 'vLLM KV-event payload decoding, every wire shape',
    load: async () => (await import('@kvroute/vllm-events/bench')).benchDecode,
  },
  routing: {
    about: 'routing policies: pick cost per preset and fleet size',
    load: async () => (await import('@kvroute/routing/bench')).benchRouting,
  },
  index: {
    about: 'prefix index: lookups, ingest, memory per residency',
    load: async () => (await import('@kvroute/prefix-index/bench')).benchIndex,
  },
  tokenize: {
    about: 'tokenizer: raw and cached tokens/s on multi-turn chat',
    load: async () => (await import('@kvroute/tokenize/bench')).benchTokenize,
  },
  publisher: {
    about: 'publisher: blocks/s and engine→NATS latency (real ZMQ, real nats-server)',
    load: async () => (await import('@kvroute/publisher/bench')).benchPublisher,
  },
  indexer: {
    about:
      'indexer: publish→lookup latency, lookups/s per replica, recovery of 1M blocks (real nats-server)',
    load: async () => (await import('@kvroute/indexer/bench')).benchIndexer,
  },
  router: {
    about: 'router: decision latency (embedded, remote) and pick throughput vs bare Hono',
    load: async () => (await import('./bench-router.js')).benchRouter,
  },
};

export const benchCommand: Command = {
  summary: 'run a micro-benchmark and print its figures',
  usage: `kvroute bench <name>|all [--json] [--quick]

  --json    print one JSON summary line last
  --quick   short rounds (smoke test of the bench code; figures are not meaningful)

benchmarks:
${Object.entries(benches)
  .map(([k, b]) => `  ${k.padEnd(8)} ${b.about}`)
  .join('\n')}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
      },
    });
    const name = positionals[0];
    const names = name === 'all' ? Object.keys(benches) : name ? [name] : [];
    if (names.length === 0 || names.some((n) => !(n in benches))) {
      process.stderr.write(
        `${name ? `unknown benchmark: ${name}\n\n` : ''}usage: ${benchCommand.usage}\n`,
      );
      return 2;
    }
    // Reports are separated by a blank line; with --json the very last line is a JSON summary.
    for (const [i, n] of names.entries()) {
      const bench = await benches[n]!.load();
      const report = await bench({ quick: values.quick });
      process.stdout.write(`${i > 0 ? '\n' : ''}${renderReport(report, values.json)}\n`);
    }
    return 0;
  },
};
