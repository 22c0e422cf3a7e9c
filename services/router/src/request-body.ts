import type { ChatMessage, ChatOptions } from '@kvroute/tokenize';
import { RouteError } from './errors.js';

/** What the router needs from a pick request or an OpenAI request body. */
export interface RouteRequest {
  model: string;
  tokenIds?: Uint32Array;
  /** /v1/completions prompt (the first one when a batch is given). */
  prompt?: string | readonly number[];
  messages?: readonly ChatMessage[];
  /**
   * Chats: what vLLM reads from the request to render and tokenize it — `tools`,
   * `chat_template_kwargs`, `add_generation_prompt`, `continue_final_message`, `documents`,
   * `chat_template`, `add_special_tokens` (default false for chats).
   */
  chatOptions?: ChatOptions;
  /** Completions: vLLM's `add_special_tokens` (default true). */
  addSpecialTokens?: boolean;
  /** vLLM's `truncate_prompt_tokens` (≥ 1): the engine keeps only the last N prompt tokens. */
  truncatePromptTokens?: number;
  candidates?: string[];
  lora?: string;
  cacheSalt?: string;
  /** The OpenAI `stream` flag: the pod answers chunk by chunk from the first token on. */
  stream?: boolean;
  /** `max_completion_tokens ?? max_tokens`: a bound on the output, not an estimate of it. */
  maxTokens?: number;
}

const MAX_TOKENS = 4_000_000;
/**
 * Deepest nesting accepted in any field (a tool's JSON schema is rarely past 20). JSON.parse
 * takes any depth, but what recurses later — JSON.stringify in approximate mode, the chat
 * template — overflows the stack around 10 000.
 */
export const MAX_NESTING = 64;

/** Throws 400 when `value` nests deeper than MAX_NESTING. Iterative: O(nodes), no recursion. */
function checkNesting(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) return;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_NESTING)
      throw new RouteError(400, `\`${field}\` is nested deeper than ${MAX_NESTING} levels`);
    const children: unknown[] = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, depth + 1]);
  }
}

function obj(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new RouteError(400, 'body must be a JSON object');
  return raw as Record<string, unknown>;
}

export function u32Array(v: unknown, field: string): Uint32Array {
  if (!Array.isArray(v)) throw new RouteError(400, `\`${field}\` must be an array of token ids`);
  if (v.length > MAX_TOKENS)
    throw new RouteError(413, `\`${field}\` has ${v.length} tokens; the limit is ${MAX_TOKENS}`);
  const out = new Uint32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const t = v[i] as unknown;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0xffff_ffff) {
      throw new RouteError(400, `${field}[${i}] is not a token id (an integer in [0, 2^32))`);
    }
    out[i] = t;
  }
  return out;
}

function optString(b: Record<string, unknown>, f: string): string | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RouteError(400, `\`${f}\` must be a string`);
  return v;
}

/** Names that feed block keys and NATS subjects: no NUL (it would alias another identity), no lone surrogate. */
function checkIdentity(f: string, v: string): string {
  if (v.includes('\0')) throw new RouteError(400, `\`${f}\` must not contain a NUL character`);
  if (/\p{Cs}/u.test(v)) throw new RouteError(400, `\`${f}\` is not well-formed Unicode`);
  return v;
}

function optBool(b: Record<string, unknown>, f: string): boolean | undefined {
  const v = b[f];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new RouteError(400, `\`${f}\` must be true or false`);
  return v;
}

/** The chat fields vLLM renders and tokenizes with (names as in ChatOptions). */
function chatOptions(b: Record<string, unknown>): ChatOptions {
  const o: ChatOptions = {};
  if (b.tools !== undefined && b.tools !== null) o.tools = b.tools;
  const kwargs = b.chat_template_kwargs;
  if (kwargs !== undefined && kwargs !== null) {
    if (typeof kwargs !== 'object' || Array.isArray(kwargs))
      throw new RouteError(400, '`chat_template_kwargs` must be an object');
    o.chatTemplateKwargs = kwargs as Record<string, unknown>;
  }
  const flags = [
    ['add_generation_prompt', 'addGenerationPrompt'],
    ['continue_final_message', 'continueFinalMessage'],
    ['add_special_tokens', 'addSpecialTokens'],
  ] as const;
  for (const [field, key] of flags) {
    const v = optBool(b, field);
    if (v !== undefined) o[key] = v;
  }
  if (b.documents !== undefined && b.documents !== null) {
    if (!Array.isArray(b.documents)) throw new RouteError(400, '`documents` must be an array');
    o.documents = b.documents as unknown[];
  }
  const template = optString(b, 'chat_template');
  if (template !== undefined) o.chatTemplate = template;
  return o;
}

function prompt(v: unknown): string | readonly number[] {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (v.length === 0) throw new RouteError(400, '`prompt` must not be empty');
    // A batch of prompts: route on the first (one upstream serves the whole request).
    if (typeof v[0] === 'string') return v[0];
    if (Array.isArray(v[0])) return Array.from(u32Array(v[0], 'prompt[0]'));
    return Array.from(u32Array(v, 'prompt'));
  }
  throw new RouteError(400, '`prompt` must be a string, an array of strings, or token ids');
}

/**
 * Validates a body: `/v1/route` takes `token_ids | prompt | messages`; the
 * gateway endpoints take the OpenAI body of their kind (`kind` says which).
 */
export function parseRouteRequest(
  raw: unknown,
  kind: 'route' | 'completions' | 'chat',
): RouteRequest {
  const b = obj(raw);
  // token_ids and prompt have fixed shapes, checked element by element below.
  for (const [k, v] of Object.entries(b))
    if (k !== 'token_ids' && k !== 'prompt') checkNesting(v, k);
  if (typeof b.model !== 'string' || b.model === '')
    throw new RouteError(400, '`model` must be a non-empty string');
  const req: RouteRequest = { model: checkIdentity('model', b.model) };
  const given = ['token_ids', 'prompt', 'messages'].filter((f) => b[f] !== undefined);
  const allowed =
    kind === 'route'
      ? ['token_ids', 'prompt', 'messages']
      : kind === 'completions'
        ? ['prompt']
        : ['messages'];
  const usable = given.filter((f) => allowed.includes(f));
  if (usable.length === 0)
    throw new RouteError(
      400,
      `the request has no tokens: give ${allowed.map((f) => `\`${f}\``).join(' or ')}`,
    );
  if (kind === 'route' && usable.length > 1)
    throw new RouteError(400, 'give only one of `token_ids`, `prompt`, `messages`');
  const field = usable[0]!;
  if (field === 'token_ids') req.tokenIds = u32Array(b.token_ids, 'token_ids');
  else if (field === 'prompt') req.prompt = prompt(b.prompt);
  else {
    if (!Array.isArray(b.messages) || b.messages.length === 0)
      throw new RouteError(400, '`messages` must be a non-empty array');
    b.messages.forEach((m: unknown, i: number) => {
      if (
        typeof m !== 'object' ||
        m === null ||
        typeof (m as { role?: unknown }).role !== 'string'
      ) {
        throw new RouteError(400, `messages[${i}] must be an object with a string \`role\``);
      }
    });
    req.messages = b.messages as ChatMessage[];
    req.chatOptions = chatOptions(b);
  }
  if (field === 'prompt') {
    const add = optBool(b, 'add_special_tokens');
    if (add !== undefined) req.addSpecialTokens = add;
  }
  const truncate = b.truncate_prompt_tokens;
  if (truncate !== undefined && truncate !== null) {
    // vLLM takes -1 as "the model's max length", which the router does not know: not applied.
    if (typeof truncate !== 'number' || !Number.isInteger(truncate) || truncate < -1)
      throw new RouteError(400, '`truncate_prompt_tokens` must be an integer ≥ -1');
    if (truncate >= 1) req.truncatePromptTokens = truncate;
  }
  if (b.candidates !== undefined) {
    if (
      !Array.isArray(b.candidates) ||
      !b.candidates.every((c) => typeof c === 'string' && c !== '')
    ) {
      throw new RouteError(400, '`candidates` must be an array of host:port strings');
    }
    req.candidates = b.candidates as string[];
  }
  if (b.stream === true) req.stream = true;
  const lora = optString(b, 'lora');
  if (lora) req.lora = checkIdentity('lora', lora);
  const salt = optString(b, 'cache_salt');
  if (salt) req.cacheSalt = checkIdentity('cache_salt', salt);
  const maxTokens = b.max_completion_tokens ?? b.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null) {
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 0)
      throw new RouteError(400, '`max_tokens` must be a non-negative integer');
    req.maxTokens = maxTokens;
  }
  return req;
}
