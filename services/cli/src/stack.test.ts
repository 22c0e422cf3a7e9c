import { describe, expect, it } from 'vitest';
import { DEMO_MODEL } from './demo.js';
import { startStack } from './stack.js';

// Smoke test of the distributed topology: every role as its own `kvroute` process over a real nats-server.
describe('kvroute stack', () => {
  it('routes chat through a remote-index router to simulated pods, with prefix affinity', async () => {
    const stack = await startStack({ pods: 2, port: 0, output: 'ignore' });
    try {
      const models = (await (await fetch(`${stack.url}/v1/models`)).json()) as {
        data: { id: string }[];
      };
      expect(models.data.map((m) => m.id)).toEqual([DEMO_MODEL]);
      const body = (q: string) =>
        JSON.stringify({
          model: DEMO_MODEL,
          messages: [
            { role: 'system', content: 'Context. '.repeat(200) },
            { role: 'user', content: q },
          ],
          max_tokens: 4,
        });
      const first = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        body: body('one'),
        headers: { 'content-type': 'application/json' },
      });
      expect(first.status).toBe(200);
      const pod = first.headers.get('x-kvroute-pod');
      await first.json();
      // events travel sim → publisher → NATS → indexer; then the remote lookup must see them
      let matched = 0;
      const end = Date.now() + 10_000;
      while (matched === 0 && Date.now() < end) {
        const r = (await (
          await fetch(`${stack.url}/v1/route`, {
            method: 'POST',
            body: body('two'),
            headers: { 'content-type': 'application/json' },
          })
        ).json()) as { pod: string; matched_blocks: number };
        if (r.pod === pod) matched = r.matched_blocks;
        else await new Promise((res) => setTimeout(res, 100));
      }
      expect(matched).toBeGreaterThan(20);
    } finally {
      await stack.stop();
    }
    for (const p of stack.processes) expect(p.child.exitCode ?? p.child.signalCode, p.name).toBe(0);
  }, 90_000);
});
