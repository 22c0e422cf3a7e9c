import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server answering OpenAI-style requests the way a vLLM pod
 * does (JSON, or SSE when `stream` is set), recording what it received.
 * `chunkDelayMs` spaces the SSE chunks so tests can see streaming happen.
 */
export interface EngineStub {
  readonly pod: string;
  readonly received: { path: string; body: unknown; headers: IncomingMessage['headers'] }[];
  /** Requests whose client connection closed before the response ended. */
  aborted: number;
  close(): Promise<void>;
}

export async function startEngineStub(
  name: string,
  chunkDelayMs = 20,
  chunks = 5,
): Promise<EngineStub> {
  const received: EngineStub['received'] = [];
  let aborted = 0;
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { stream?: boolean; model?: string };
      received.push({ path: req.url ?? '', body, headers: req.headers });
      if (req.url === '/v1/models') {
        res.end(
          JSON.stringify({ object: 'list', data: [{ id: body.model ?? 'm', object: 'model' }] }),
        );
        return;
      }
      const chat = req.url === '/v1/chat/completions';
      if (!body.stream) {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: `cmpl-${name}`,
            object: chat ? 'chat.completion' : 'text_completion',
            created: 1,
            model: body.model,
            choices: [
              chat
                ? {
                    index: 0,
                    message: { role: 'assistant', content: `hello from ${name}` },
                    finish_reason: 'stop',
                  }
                : { index: 0, text: `hello from ${name}`, finish_reason: 'stop' },
            ],
            usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      let finished = false;
      res.on('close', () => {
        if (!finished) aborted++;
        clearInterval(t);
      });
      const t = setInterval(() => {
        if (i < chunks) {
          const delta = chat
            ? {
                id: `c-${name}`,
                object: 'chat.completion.chunk',
                created: 1,
                model: body.model,
                choices: [{ index: 0, delta: { content: `${name}-${i} ` }, finish_reason: null }],
              }
            : {
                id: `c-${name}`,
                object: 'text_completion',
                created: 1,
                model: body.model,
                choices: [{ index: 0, text: `${name}-${i} `, finish_reason: null }],
              };
          res.write(`data: ${JSON.stringify(delta)}\n\n`);
          i++;
        } else {
          finished = true;
          res.end('data: [DONE]\n\n');
          clearInterval(t);
        }
      }, chunkDelayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    pod: `127.0.0.1:${port}`,
    received,
    get aborted() {
      return aborted;
    },
    set aborted(v) {
      aborted = v;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
