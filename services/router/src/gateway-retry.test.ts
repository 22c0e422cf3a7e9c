import { describe, expect, it } from 'vitest';
import { startEngineStub } from './test-support/engine-stub.js';
import { gatewayTo, rawPod } from './test-support/raw-pod.js';

describe('gateway retries', () => {
  it('never sends a request to a second pod once the first may have received it', async () => {
    // Pod A reads the whole request, then drops the connection: it may be running it.
    const a = await rawPod((req) => setTimeout(() => req.socket.destroy(), 50));
    const b = await startEngineStub('b');
    const g = await gatewayTo([a.address, b.pod], {
      settings: { policy: { preset: 'round-robin' } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await g.post('/v1/completions', { model: 'm', prompt: `p${i}` });
        statuses.push(res.status);
        if (res.status === 502)
          expect(await res.json()).toMatchObject({
            error: { type: 'upstream_error', code: 'upstream_failed' },
          });
        else await res.text();
      }
      expect(statuses.sort()).toEqual([200, 502]);
      expect(a.bodies).toHaveLength(1);
      expect(b.received).toHaveLength(1);
      expect(await g.metrics()).not.toMatch(/outcome="connect_failed"/);
    } finally {
      await g.close();
      await a.close();
      await b.close();
    }
  });
});
