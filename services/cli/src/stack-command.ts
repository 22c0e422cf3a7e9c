import { parseArgs } from 'node:util';
import type { Command } from './commands.js';
import { UsageError } from './usage.js';

export const stackCommand: Command = {
  summary:
    'run the distributed topology on this machine: separate processes over a real nats-server',
  usage: 'kvroute stack [--pods 4] [--port 8080] [--nats <url>] [--shards 1]',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        pods: { type: 'string', default: '4' },
        port: { type: 'string', default: '8080' },
        nats: { type: 'string' },
        shards: { type: 'string', default: '1' },
      },
    });
    const pods = Number(values.pods);
    const port = Number(values.port);
    const shards = Number(values.shards);
    if (!Number.isInteger(pods) || pods < 1 || pods > 32)
      throw new UsageError('--pods must be an integer in 1..32');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a port number');
    if (!Number.isInteger(shards) || shards < 1 || shards > 8)
      throw new UsageError('--shards must be an integer in 1..8');
    // Loaded only now: --help and flag mistakes need no nats-server code.
    const { startStack } = await import('./stack.js');
    const stack = await startStack({
      pods,
      port,
      shards,
      ...(values.nats ? { nats: values.nats } : {}),
    });
    process.stdout.write(
      `kvroute stack: NATS ${stack.natsUrl}; ${stack.processes.map((p) => p.name).join(', ')}\n` +
        `router (remote index) on ${stack.url} — try: curl -s ${stack.url}/v1/models\nCtrl-C stops everything.\n`,
    );
    return new Promise<number>((resolve) => {
      const onSignal = () => void stack.stop().then(() => resolve(0));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
  },
};
