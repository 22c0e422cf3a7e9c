import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { fillerText } from './filler-text.js';
import { OpenAiError, parseChat, parseCompletion } from './openai-request.js';
import type { ParsedRequest, ServeLimits } from './openai-request.js';
import type { ResponseHead } from './openai-response.js';
import {
  chatChunk,
  chatCompletion,
  completion,
  completionChunk,
  usage,
  usageChunk,
} from './openai-response.js';
import type { FinishInfo, RealtimeEngine, RequestSink } from './realtime-engine.js';
import { RequestStream } from './request-stream.js';
import type { RequestTokenizer } from './tokenization.js';
import type { VllmMetrics } from './vllm-metrics.js';

export interface ServeAppDeps {
  limits: ServeLimits;
  tokenizer: RequestTokenizer;
  engine: RealtimeEngine;
  metrics: VllmMetrics;
  /** Unexpected failures (a bug, not bad input), for the pod's log. */
  onError?(error: unknown): void;
}

/** Observes TTFT and end-to-end latency (wall clock from HTTP arrival) on the way to the stream. */
function timed(stream: RequestStream, metrics: VllmMetrics, arrivalMs: number): RequestSink {
  let first = true;
  return {
    tokens(ids) {
      if (first) {
        first = false;
        metrics.observeFirstToken((performance.now() - arrivalMs) / 1000);
      }
      stream.tokens(ids);
    },
    finish(info: FinishInfo) {
      if (info.reason !== 'rejected')
        metrics.observeFinished(info.reason, (performance.now() - arrivalMs) / 1000);
      stream.finish(info);
    },
  };
}

const rejected = () =>
  new OpenAiError(400, 'the request does not fit in the KV cache even when it is empty');

/**
 * The vLLM OpenAI-compatible server surface a router sees: completions and
 * chat completions (whole or streamed as Server-Sent Events, one chunk per
 * engine step), `/v1/models`, `/health` and `/metrics`.
 */
export function createServeApp(deps: ServeAppDeps): Hono {
  const { limits, engine, metrics } = deps;
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof OpenAiError) return c.json(err.toJSON(), err.status);
    deps.onError?.(err);
    return c.json(
      new OpenAiError(500, String((err as Error).message ?? err), 'InternalServerError').toJSON(),
      500,
    );
  });

  app.get('/health', (c) => c.body(null, 200));
  app.get('/metrics', async (c) =>
    c.body(await metrics.text(), 200, { 'content-type': metrics.contentType }),
  );
  app.get('/v1/models', (c) =>
    c.json({
      object: 'list',
      data: [
        {
          id: limits.model,
          object: 'model',
          created: Math.floor(Date.now() / 1000),
          owned_by: 'vllm',
          root: limits.model,
          parent: null,
          max_model_len: limits.maxModelLen,
        },
      ],
    }),
  );

  const handle = async (c: Context, kind: ParsedRequest['kind']) => {
    const arrivalMs = performance.now();
    // Touching the signal makes the Node adapter abort it when the client goes away.
    const signal = c.req.raw.signal;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new OpenAiError(400, 'request body is not valid JSON');
    }
    const req =
      kind === 'chat'
        ? parseChat(body, deps.tokenizer, limits)
        : parseCompletion(body, deps.tokenizer, limits);
    const head: ResponseHead = {
      id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`,
      created: Math.floor(Date.now() / 1000),
      model: limits.model,
    };
    const out = new RequestStream();
    engine.submit(
      { id: head.id, prompt: req.prompt, maxOutputTokens: req.maxTokens },
      timed(out, metrics, arrivalMs),
    );
    const abort = () => engine.abort(head.id);
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    const promptTokens = req.prompt.length;

    if (!req.stream) {
      const { ids, info } = await out.collect();
      signal.removeEventListener('abort', abort);
      if (info.reason === 'rejected') throw rejected();
      if (info.reason === 'abort') return c.body(null, 499 as never); // the client is gone (or the pod stops)
      const text = fillerText(ids, 0);
      const u = usage(promptTokens, ids.length, info.cachedTokens);
      return c.json(
        kind === 'chat'
          ? chatCompletion(head, text, 'length', u)
          : completion(head, text, 'length', u),
      );
    }

    return streamSSE(c, async (sse) => {
      sse.onAbort(abort);
      const send = (data: unknown) => sse.writeSSE({ data: JSON.stringify(data) });
      let first = true;
      for (;;) {
        const p = await out.next();
        if (!p) return;
        if (p.type === 'finish') {
          if (p.info.reason === 'abort') return;
          if (p.info.reason === 'rejected') await send(rejected().toJSON());
          else if (req.includeUsage)
            await send(
              usageChunk(kind, head, usage(promptTokens, p.info.outputTokens, p.info.cachedTokens)),
            );
          await sse.writeSSE({ data: '[DONE]' });
          return;
        }
        const text = fillerText(p.ids, p.position);
        const last = p.position + p.ids.length >= req.maxTokens ? 'length' : null;
        if (kind === 'completion') await send(completionChunk(head, text, last));
        else {
          // vLLM sends the assistant role in its own chunk with the first output.
          if (first) await send(chatChunk(head, { role: 'assistant', content: '' }, null));
          await send(chatChunk(head, { content: text }, last));
        }
        first = false;
      }
    });
  };

  app.post('/v1/completions', (c) => handle(c, 'completion'));
  app.post('/v1/chat/completions', (c) => handle(c, 'chat'));
  return app;
}
