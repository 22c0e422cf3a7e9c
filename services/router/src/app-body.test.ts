import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gatewayTo } from './test-support/raw-pod.js';

describe('request bodies that never fully arrive', () => {
  it('count as 499 (client closed), not as server errors', async () => {
    const g = await gatewayTo(['10.0.0.1:1']);
    try {
      for (const path of ['/v1/route', '/v1/chat/completions']) {
        const req = request(`${g.http.url}${path}`, {
          method: 'POST',
          headers: { 'content-length': '100000' },
        });
        req.on('error', () => undefined);
        req.write('{"model":');
        await new Promise((r) => setTimeout(r, 100));
        req.destroy();
      }
      let m = '';
      for (let i = 0; i < 50 && !/status="499"\} 2/.test(m); i++) {
        await new Promise((r) => setTimeout(r, 20));
        m = await g.metrics();
      }
      expect(m).toMatch(/kvroute_router_errors_total\{status="499"\} 2/);
      expect(m).not.toMatch(/status="500"/);
    } finally {
      await g.close();
    }
  });
});
