import { describe, expect, it } from 'vitest';
import { gatewayTo, rawPod } from './test-support/raw-pod.js';

describe('gateway streams', () => {
  it('cut a stream whose pod goes silent past the idle body timeout, and count it', async () => {
    const pod = await rawPod((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n'); // then nothing, never ending
    });
    const g = await gatewayTo([pod.address], { options: { bodyIdleTimeoutMs: 200 } });
    try {
      const res = await g.post('/v1/completions', { model: 'm', prompt: 'hi', stream: true });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain('"n":1');
      await expect(reader.read()).rejects.toThrow();
      expect(g.svc.router.tracker.live('m')[0]!.inFlight).toBe(0);
      expect(await g.metrics()).toMatch(
        /kvroute_router_upstream_total\{outcome="body_timeout"\} 1/,
      );
    } finally {
      await g.close();
      await pod.close();
    }
  });
});
