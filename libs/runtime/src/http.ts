import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface HttpServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves a Hono app on host:port (port 0 picks a free one) and resolves once listening. */
export function serveHttp(app: Hono, port: number, host = '0.0.0.0'): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, (info: AddressInfo) => {
      const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({
        port: info.port,
        url: `http://${h}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            const s = server as Server;
            s.close(() => done());
            s.closeIdleConnections?.();
            // Streams still open after a grace period are cut so shutdown completes.
            setTimeout(() => s.closeAllConnections?.(), 5000).unref();
          }),
      });
    });
    server.once('error', reject);
  });
}
