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

describe('gateway prefill accounting', () => {
  it('ends a non-streamed request’s prefill after its estimate, not when the whole answer arrives', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const pod = await rawPod((_req, res) => void held.then(() => res.end('{"ok":true}')));
    const g = await gatewayTo([pod.address]);
    const safety = setTimeout(() => release(), 5000);
    try {
      const answer = g.post('/v1/completions', { model: 'm', prompt: 'hi', max_tokens: 50 });
      const state = () => g.svc.router.tracker.live('m')[0]!;
      // a 2-token prompt: its estimated prefill is a few ms; the answer waits for the latch
      const end = Date.now() + 1500; // within the 2 s upstream timeout
      while ((state().inFlight === 0 || state().inFlightPrefilling > 0) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 10));
      expect(state()).toMatchObject({ inFlight: 1, inFlightPrefilling: 0 });
      release();
      expect((await answer).status).toBe(200);
    } finally {
      clearTimeout(safety);
      release();
      await g.close();
      await pod.close();
    }
  });
});
