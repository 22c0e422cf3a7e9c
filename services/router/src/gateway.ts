import { Agent, fetch } from 'undici';
import { routerSettings } from './config.js';
import { RouteError } from './errors.js';
import type { Router, RouteResult } from './router.js';

/**
 * Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus ones fetch sets
 * itself. `expect` is answered by the router's own server (100-continue); forwarded, undici
 * refuses the request outright (UND_ERR_NOT_SUPPORTED), and curl adds it to bodies over 1 MiB.
 */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'host',
  'content-length',
]);

/** The end-to-end headers of `from`: without HOP and without any header its Connection names. */
function endToEnd(from: Headers, skip?: string): Headers {
  const named = new Set(
    (from.get('connection') ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
  const out = new Headers();
  from.forEach((v, k) => {
    const h = k.toLowerCase();
    if (!HOP.has(h) && !named.has(h) && h !== skip) out.set(k, v);
  });
  return out;
}

export interface GatewayOptions {
  connectTimeoutMs: number;
  /** Longest wait for a pod's response headers. */
  upstreamTimeoutMs: number;
  /** Longest silence between two chunks of a response body. Default 300 000. */
  bodyIdleTimeoutMs?: number;
}

/** undici reports failures as a TypeError whose cause carries a code. */
function errorCode(err: unknown): string | undefined {
  return (err as { cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
}

/**
 * Failures that happen before a connection exists, so the pod cannot have received a byte of
 * the request: safe to send it elsewhere. A reset or closed socket (ECONNRESET, UND_ERR_SOCKET)
 * may come after the request was written — even on an idle keep-alive socket undici does not
 * say whether the pod read it — and a completion is not idempotent, so those are never retried.
 */
const BEFORE_SEND = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isConnectFailure(err: unknown): boolean {
  return BEFORE_SEND.has(errorCode(err) ?? '');
}

/**
 * Forwards an OpenAI request, unchanged, to the routed pod; when connecting to
 * it fails (nothing of the request was sent) it tries the next fallback. Any
 * failure once a connection exists — a reset, a closed socket — answers 502:
 * the pod may be running the request, and running it twice is worse.
 * The response body streams through chunk by chunk. In the router's in-flight
 * accounting the end of the body ends the request; its first token is the
 * first chunk of a streamed answer, or, for a non-streamed one (whole at the
 * end), the estimated end of its prefill. A client that goes away aborts the
 * upstream request.
 */
export class Gateway {
  private readonly agent: Agent;

  constructor(
    private readonly router: Router,
    private readonly options: GatewayOptions,
  ) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.upstreamTimeoutMs,
      // A pod stalling mid-stream would otherwise hold the client (and its in-flight count) forever.
      bodyTimeout: options.bodyIdleTimeoutMs ?? routerSettings.bodyIdleTimeout.default,
    });
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async forward(
    path: string,
    incoming: Request,
    body: Uint8Array,
    route: RouteResult,
  ): Promise<Response> {
    const headers = endToEnd(incoming.headers);
    // fetch would decompress the body but keep its content-encoding header: ask for it plain.
    headers.set('accept-encoding', 'identity');
    if (!route.stream) this.router.prefillEndsLater(route);
    const pods = [route.decision.pod, ...route.decision.fallbacks];
    const failures: string[] = [];
    for (let i = 0; i < pods.length; i++) {
      const pod = pods[i]!;
      if (i > 0) this.router.moved(route, pod);
      this.router.connecting(pod, this.options.connectTimeoutMs);
      let upstream: Response;
      try {
        upstream = (await fetch(`http://${pod}${path}`, {
          method: 'POST',
          headers,
          body,
          signal: incoming.signal,
          dispatcher: this.agent,
        })) as unknown as Response;
      } catch (err) {
        if (incoming.signal.aborted) {
          this.router.finished(route.requestId);
          this.router.metrics.upstream.inc({ outcome: 'client_aborted' });
          throw new RouteError(
            499,
            'client closed the request',
            'invalid_request_error',
            'client_closed',
          );
        }
        if (isConnectFailure(err)) {
          failures.push(`${pod}: ${errorCode(err) ?? String(err)}`);
          this.router.metrics.upstream.inc({ outcome: 'connect_failed' });
          this.router.unreachable(route, pod);
          continue;
        }
        this.router.reached(pod);
        if (errorCode(err) === 'UND_ERR_HEADERS_TIMEOUT') {
          this.router.finished(route.requestId);
          this.router.metrics.upstream.inc({ outcome: 'timeout' });
          throw new RouteError(
            504,
            `pod ${pod} did not start answering within ${this.options.upstreamTimeoutMs} ms`,
            'upstream_error',
            'upstream_timeout',
          );
        }
        this.router.finished(route.requestId);
        this.router.metrics.upstream.inc({ outcome: 'failed' });
        throw new RouteError(
          502,
          `pod ${pod} failed: ${errorCode(err) ?? String((err as Error).message ?? err)}`,
          'upstream_error',
          'upstream_failed',
        );
      }
      this.router.reached(pod);
      const s = upstream.status;
      this.router.metrics.upstream.inc({
        outcome: s >= 500 ? 'http_5xx' : s >= 400 ? 'http_4xx' : 'ok',
      });
      return this.relay(upstream, pod, route.requestId);
    }
    this.router.finished(route.requestId);
    throw new RouteError(
      502,
      `no pod could be reached (${failures.join('; ')})`,
      'upstream_error',
      'upstream_unreachable',
    );
  }

  private relay(upstream: Response, pod: string, requestId: string): Response {
    // fetch decoded the body already (identity was asked for; a pod may compress anyway).
    const out = endToEnd(upstream.headers, 'content-encoding');
    out.set('x-kvroute-pod', pod);
    if (!upstream.body) {
      this.router.finished(requestId);
      return new Response(null, { status: upstream.status, headers: out });
    }
    const router = this.router;
    let first = true;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        router.finished(requestId);
      }
    };
    const reader = upstream.body.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done: end } = await reader.read();
          if (end) {
            finish();
            controller.close();
            return;
          }
          // Streamed: the first chunk follows the first token (non-streamed: see forward()).
          if (first) {
            first = false;
            router.firstToken(requestId);
          }
          controller.enqueue(value);
        } catch (err) {
          finish();
          router.metrics.upstream.inc({
            outcome: errorCode(err) === 'UND_ERR_BODY_TIMEOUT' ? 'body_timeout' : 'stream_failed',
          });
          controller.error(err);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(stream, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: out,
    });
  }
}
