import { parseArgs } from 'node:util';
import type { Command } from './commands.js';
import type { Demo } from './demo.js';
import { checkPolicyFlag } from './policy-flag.js';
import { UsageError } from './usage.js';

function banner(d: Demo): string {
  const pods = d.fleet.pods
    .map((p) => `  ${p.name}  http://${p.address}  (KV events ${p.zmqEndpoint})`)
    .join('\n');
  const chat = JSON.stringify({
    model: d.model,
    messages: [
      { role: 'system', content: 'You are a concise assistant for the kvroute demo.' },
      { role: 'user', content: 'What does a KV cache hold?' },
    ],
    max_tokens: 32,
  });
  const route = JSON.stringify({
    model: d.model,
    prompt: 'Summarise the plot of Hamlet in one line.',
  });
  return `kvroute demo: ${d.fleet.pods.length} simulated vLLM pods, a publisher per pod, the router with its index embedded
model ${d.model}
${pods}
router (OpenAI-compatible gateway + pick API) on ${d.url}

Try:
  curl -s ${d.url}/v1/chat/completions -H 'content-type: application/json' -d '${chat}' -D - 
  curl -s '${d.url}/v1/route?explain=1' -H 'content-type: application/json' -d '${route}'
  curl -s ${d.url}/v1/stats

Send the chat request twice: the x-kvroute-pod header names the pod; the second goes where the first
left its prefix. Ctrl-C stops everything.`;
}

export const demoCommand: Command = {
  summary:
    'run the whole system in one process: simulated pods, publishers, router (no NATS needed)',
  usage: `kvroute demo [--pods 4] [--port 8080] [--host 127.0.0.1] [--time-scale 1] [--policy default]`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        pods: { type: 'string', default: '4' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        'time-scale': { type: 'string', default: '1' },
        policy: { type: 'string' },
      },
    });
    if (values.policy) checkPolicyFlag(values.policy);
    const pods = Number(values.pods);
    const port = Number(values.port);
    const timeScale = Number(values['time-scale']);
    if (!Number.isInteger(pods) || pods < 1 || pods > 64)
      throw new UsageError('--pods must be an integer in 1..64');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a port number');
    if (!(timeScale > 0)) throw new UsageError('--time-scale must be a positive number');
    // Loaded only now: --help and flag mistakes need neither the router nor the simulator.
    const [{ startDemo }, { createLogger, Lifecycle }] = await Promise.all([
      import('./demo.js'),
      import('@kvroute/runtime'),
    ]);
    const log = createLogger('demo', 'warn');
    const life = new Lifecycle(log);
    const demo = await startDemo({
      pods,
      port,
      host: values.host,
      timeScale,
      log,
      ...(values.policy ? { policy: values.policy } : {}),
    });
    life.onStop('demo', () => demo.stop());
    process.stdout.write(`${banner(demo)}\n`);
    return life.untilSignal();
  },
};
