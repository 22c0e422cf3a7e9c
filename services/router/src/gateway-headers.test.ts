import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gatewayTo, rawPod } from './test-support/raw-pod.js';

/** A raw request to the gateway, so hop-by-hop headers reach it as a client sends them. */
function send(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/completions`,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    // With Expect: 100-continue the body waits for the interim answer, as curl does for large bodies.
    if (headers.expect) req.on('continue', () => req.end(body));
    else req.end(body);
  });
}

describe('gateway headers', () => {
  it('drops Expect and every header the Connection header names, both ways', async () => {
    const pod = await rawPod((req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        connection: 'keep-alive, x-pod-hop',
        'x-pod-hop': '1',
      });
      res.end('{"ok":true}');
    });
    const g = await gatewayTo([pod.address]);
    try {
      const body = JSON.stringify({ model: 'm', prompt: 'hi' });
      const r = await send(
        g.http.url,
        {
          expect: '100-continue',
          connection: 'keep-alive, x-client-hop',
          'x-client-hop': 'a',
          'x-kept': 'b',
        },
        body,
      );
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toEqual({ ok: true });
      expect(r.headers['x-pod-hop']).toBeUndefined();
      const seen = pod.seen[0]!;
      expect(seen.expect).toBeUndefined();
      expect(seen['x-client-hop']).toBeUndefined();
      expect(seen['x-kept']).toBe('b');
      expect(pod.bodies[0]).toBe(body);
    } finally {
      await g.close();
      await pod.close();
    }
  });
});
