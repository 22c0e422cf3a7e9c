import type { ModelTokenizer } from '@kvroute/tokenize';
import {
  APPROX_CHARS_PER_TOKEN,
  approximateTokens,
  canonicalChatText,
  TokenizerError,
} from '@kvroute/tokenize';
import { RouteError } from './errors.js';
import type { RouteRequest } from './request-body.js';

export interface RouteTokens {
  /** The leading tokens routed on: at most `maxTokens`. */
  ids: ArrayLike<number>;
  mode: 'tokens' | 'approximate';
  /** Tokens of the whole prompt: exact, or estimated when only a prefix was tokenized. */
  promptTokens: number;
}

/**
 * Text is cut to this many characters per routed token before tokenizing: about what English
 * takes (code and CJK take fewer, and are then cut to `maxTokens` ids after tokenizing).
 */
const CHARS_PER_TOKEN = APPROX_CHARS_PER_TOKEN;
/** How far back from the cap a cut looks for whitespace before cutting inside a word. */
const WORD_LOOKBACK = 4096;
/**
 * Tokens dropped from the end of a cut text: a post-processor's suffix (EOS) sits there, and
 * nothing else near the cut differs from the whole text's tokens when the cut is before whitespace.
 */
const CUT_TAIL_TOKENS = 16;
/**
 * `truncate_prompt_tokens` N on a text too long to tokenize whole: a tail window of this many
 * characters per token, started at a word, is tokenized instead; it gives the last N tokens
 * exactly when it holds N of them (plus any prefix the post-processor adds).
 */
const TAIL_CHARS_PER_TOKEN = 8;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;

/**
 * Where to cut `text` to at most `maxChars`: before a whitespace character, so the last word
 * is whole (byte-level and Metaspace pre-tokenizers split before whitespace, and no special
 * token contains any), else at the cap itself (one word longer than WORD_LOOKBACK: its end is
 * tokenized approximately), never inside a surrogate pair.
 */
function cutAt(text: string, maxChars: number): number {
  for (let i = maxChars; i > maxChars - WORD_LOOKBACK && i > 0; i--) {
    if (isSpace(text.charCodeAt(i))) return i;
  }
  const lo = text.charCodeAt(maxChars);
  return lo >= 0xdc00 && lo <= 0xdfff ? maxChars - 1 : maxChars;
}

/** Tokens of `text` (as `encode` gives them) up to `maxTokens`, tokenizing at most ~4 chars each. */
function encodeCapped(
  text: string,
  maxTokens: number,
  encode: (text: string) => Uint32Array,
): RouteTokens {
  const maxChars = maxTokens * CHARS_PER_TOKEN;
  if (text.length <= maxChars) {
    const ids = encode(text);
    return { ids: ids.subarray(0, maxTokens), mode: 'tokens', promptTokens: ids.length };
  }
  const end = cutAt(text, maxChars);
  const ids = encode(text.slice(0, end));
  const kept = Math.max(0, Math.min(maxTokens, ids.length - CUT_TAIL_TOKENS));
  return {
    ids: ids.subarray(0, kept),
    mode: 'tokens',
    promptTokens: Math.round((ids.length * text.length) / Math.max(1, end)),
  };
}

/**
 * The last `keepLast` tokens of `text` (vLLM's `truncate_prompt_tokens`), then at most
 * `maxTokens` of them. Exact, tokenizing at most ~`maxTokens` · 4 characters; when that cannot
 * be exact (N too large for a bounded tail window), the tail is routed in approximate mode.
 */
function encodeLast(
  text: string,
  keepLast: number,
  maxTokens: number,
  encode: (text: string) => Uint32Array,
): RouteTokens {
  const maxChars = maxTokens * CHARS_PER_TOKEN;
  const last = (ids: Uint32Array): RouteTokens => {
    const kept = ids.subarray(Math.max(0, ids.length - keepLast));
    return { ids: kept.subarray(0, maxTokens), mode: 'tokens', promptTokens: kept.length };
  };
  if (text.length <= maxChars) return last(encode(text));
  const window = keepLast * TAIL_CHARS_PER_TOKEN;
  if (window <= maxChars) {
    // Start at the last whitespace before a word, as a pre-tokenizer splits there.
    let start = text.length - window;
    while (
      start < text.length - 1 &&
      !(isSpace(text.charCodeAt(start)) && !isSpace(text.charCodeAt(start + 1)))
    )
      start++;
    const ids = encode(text.slice(start));
    if (ids.length >= keepLast + CUT_TAIL_TOKENS) return last(ids);
  }
  return approximate(text.slice(-keepLast * APPROX_CHARS_PER_TOKEN), maxTokens);
}

function approximate(text: string, maxTokens: number): RouteTokens {
  // Pseudo-tokens are fixed 4-unit chunks: a prefix of the text gives exactly a prefix of them.
  const ids = approximateTokens(text.slice(0, maxTokens * APPROX_CHARS_PER_TOKEN));
  return {
    ids,
    mode: 'approximate',
    promptTokens: Math.ceil(text.length / APPROX_CHARS_PER_TOKEN),
  };
}

function capIds(all: ArrayLike<number>, maxTokens: number, keepLast?: number): RouteTokens {
  const ids =
    keepLast === undefined || all.length <= keepLast
      ? all
      : all instanceof Uint32Array
        ? all.subarray(all.length - keepLast)
        : (Array.prototype.slice.call(all, all.length - keepLast) as number[]);
  const kept =
    ids.length <= maxTokens
      ? ids
      : ids instanceof Uint32Array
        ? ids.subarray(0, maxTokens)
        : Array.prototype.slice.call(ids, 0, maxTokens);
  return { ids: kept, mode: 'tokens', promptTokens: ids.length };
}

/**
 * The leading tokens of the request that it is routed on — at most `maxTokens`, so a huge
 * prompt costs a bounded tokenization on the event loop — or pseudo-tokens (approximate mode)
 * when the model has no tokenizer or the request has parts only the engine can tokenize
 * (images, audio). Throws RouteError (400) for what the tokenizer rejects.
 */
export function routeTokens(
  req: RouteRequest,
  tok: ModelTokenizer | undefined,
  maxTokens: number,
): RouteTokens {
  const keepLast = req.truncatePromptTokens;
  const fromText = (text: string, encode: (t: string) => Uint32Array): RouteTokens =>
    keepLast === undefined
      ? encodeCapped(text, maxTokens, encode)
      : encodeLast(text, keepLast, maxTokens, encode);
  const approxText = (text: string): RouteTokens =>
    approximate(
      keepLast === undefined ? text : text.slice(-keepLast * APPROX_CHARS_PER_TOKEN),
      maxTokens,
    );
  if (req.tokenIds) return capIds(req.tokenIds, maxTokens, keepLast);
  try {
    if (req.prompt !== undefined) {
      if (typeof req.prompt !== 'string') return capIds(req.prompt, maxTokens, keepLast);
      if (!tok) return approxText(req.prompt);
      const addSpecialTokens = req.addSpecialTokens ?? true;
      return fromText(req.prompt, (t) => tok.encodePrompt(t, { addSpecialTokens }));
    }
    const messages = req.messages ?? [];
    if (!tok) return approxText(canonicalChatText(messages));
    const options = req.chatOptions ?? {};
    // encodeChat is the rendered text tokenized as a prompt without special tokens (unless
    // asked): render once, then cut or truncate the text before encoding it.
    const addSpecialTokens = options.addSpecialTokens ?? false;
    return fromText(tok.renderChat(messages, options), (t) =>
      tok.encodePrompt(t, { addSpecialTokens }),
    );
  } catch (e) {
    if (e instanceof TokenizerError && e.code === 'media' && req.messages)
      return approxText(canonicalChatText(req.messages));
    if (e instanceof TokenizerError) throw new RouteError(400, e.message);
    throw e;
  }
}
