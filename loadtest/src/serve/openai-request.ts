import type { ChatMessage, ChatOptions } from '@kvroute/tokenize';
import { TokenizerError } from '@kvroute/tokenize';
import type { RequestTokenizer } from './tokenization.js';

/** An OpenAI-style error answer: `{"error": {message, type, param, code}}` as vLLM sends it. */
export class OpenAiError extends Error {
  override name = 'OpenAiError';
  constructor(
    readonly status: 400 | 404 | 500 | 503,
    message: string,
    readonly type = status === 404 ? 'NotFoundError' : 'BadRequestError',
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: number } } {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.status },
    };
  }
}

export interface ServeLimits {
  /** The served model name; requests naming another model get 404. */
  model: string;
  /** Prompt plus output tokens allowed per request (vLLM `max_model_len`). */
  maxModelLen: number;
  /** Output tokens when the request sets no `max_tokens` (vLLM would run to the context end). */
  defaultMaxTokens: number;
}

export interface ParsedRequest {
  kind: 'completion' | 'chat';
  prompt: Uint32Array;
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
}

type Body = Record<string, unknown>;

const isObject = (v: unknown): v is Body =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isIdArray = (v: unknown): v is number[] =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');

function common(body: unknown, limits: ServeLimits): Body {
  if (!isObject(body)) throw new OpenAiError(400, 'request body must be a JSON object');
  if (body.model !== undefined && body.model !== limits.model)
    throw new OpenAiError(
      404,
      `The model \`${String(body.model)}\` does not exist.`,
      'NotFoundError',
      'model',
    );
  if (body.n !== undefined && body.n !== 1)
    throw new OpenAiError(400, 'only n = 1 is supported', 'BadRequestError', 'n');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    throw new OpenAiError(400, 'stream must be a boolean', 'BadRequestError', 'stream');
  return body;
}

function maxTokens(v: unknown, param: string, limits: ServeLimits): number {
  if (v === undefined || v === null) return limits.defaultMaxTokens;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new OpenAiError(
      400,
      `${param} must be an integer ≥ 1, got ${JSON.stringify(v)}`,
      'BadRequestError',
      param,
    );
  return v;
}

function finish(
  kind: ParsedRequest['kind'],
  body: Body,
  prompt: Uint32Array,
  max: number,
  limits: ServeLimits,
): ParsedRequest {
  if (prompt.length === 0) throw new OpenAiError(400, 'The decoder prompt cannot be empty');
  if (prompt.length + max > limits.maxModelLen)
    throw new OpenAiError(
      400,
      `This model's maximum context length is ${limits.maxModelLen} tokens. However, you requested ${prompt.length + max} tokens (${prompt.length} in the messages, ${max} in the completion). Please reduce the length of the messages or completion.`,
    );
  const so = body.stream_options;
  return {
    kind,
    prompt,
    maxTokens: max,
    stream: body.stream === true,
    includeUsage: isObject(so) && so.include_usage === true,
  };
}

function tokenize<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TokenizerError) throw new OpenAiError(400, e.message);
    throw e;
  }
}

/**
 * `POST /v1/completions`: `prompt` as a string, token ids, or a batch of
 * either (only the first is served: one choice per request).
 */
export function parseCompletion(
  body: unknown,
  tok: RequestTokenizer,
  limits: ServeLimits,
): ParsedRequest {
  const b = common(body, limits);
  let p = b.prompt;
  if (Array.isArray(p) && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  let ids: Uint32Array;
  if (typeof p === 'string') ids = tokenize(() => tok.prompt(p as string));
  else if (isIdArray(p)) {
    if (!p.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32))
      throw new OpenAiError(
        400,
        'prompt token ids must be integers in [0, 2^32)',
        'BadRequestError',
        'prompt',
      );
    ids = Uint32Array.from(p);
  } else
    throw new OpenAiError(
      400,
      'prompt must be a string, an array of strings or token ids',
      'BadRequestError',
      'prompt',
    );
  return finish('completion', b, ids, maxTokens(b.max_tokens, 'max_tokens', limits), limits);
}

/** `POST /v1/chat/completions`: messages rendered with the chat template and tokenized. */
export function parseChat(
  body: unknown,
  tok: RequestTokenizer,
  limits: ServeLimits,
): ParsedRequest {
  const b = common(body, limits);
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    throw new OpenAiError(400, 'messages must be a non-empty array', 'BadRequestError', 'messages');
  const options: ChatOptions = {};
  if (b.tools !== undefined && b.tools !== null) options.tools = b.tools;
  if (isObject(b.chat_template_kwargs)) options.chatTemplateKwargs = b.chat_template_kwargs;
  if (b.add_generation_prompt === false) options.addGenerationPrompt = false;
  const ids = tokenize(() => tok.chat(b.messages as ChatMessage[], options));
  const max =
    b.max_completion_tokens !== undefined && b.max_completion_tokens !== null
      ? maxTokens(b.max_completion_tokens, 'max_completion_tokens', limits)
      : maxTokens(b.max_tokens, 'max_tokens', limits);
  return finish('chat', b, ids, max, limits);
}
