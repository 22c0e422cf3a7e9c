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
 * Where to cut `text` to at most `maxChars`: before a whitespace character, so the last word
 * is whole (byte-level and Metaspace pre-tokenizers split before whitespace, and no special
 * token contains any), else at the cap itself (one word longer than WORD_LOOKBACK: its end is
 * tokenized approximately), never inside a surrogate pair.
 */
function cutAt(text: string, maxChars: number): number {
  for (let i = maxChars; i > maxChars - WORD_LOOKBACK && i > 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) return i;
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

function approximate(text: string, maxTokens: number): RouteTokens {
  // Pseudo-tokens are fixed 4-unit chunks: a prefix of the text gives exactly a prefix of them.
  const ids = approximateTokens(text.slice(0, maxTokens * APPROX_CHARS_PER_TOKEN));
  return {
    ids,
    mode: 'approximate',
    promptTokens: Math.ceil(text.length / APPROX_CHARS_PER_TOKEN),
  };
}

function capIds(ids: ArrayLike<number>, maxTokens: number): RouteTokens {
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
  if (req.tokenIds) return capIds(req.tokenIds, maxTokens);
  try {
    if (req.prompt !== undefined) {
      if (typeof req.prompt !== 'string') return capIds(req.prompt, maxTokens);
      if (!tok) return approximate(req.prompt, maxTokens);
      return encodeCapped(req.prompt, maxTokens, (t) => tok.encodePrompt(t));
    }
    const messages = req.messages ?? [];
    if (!tok) return approximate(canonicalChatText(messages), maxTokens);
    const options = {
      ...(req.tools !== undefined ? { tools: req.tools } : {}),
      ...(req.chatTemplateKwargs ? { chatTemplateKwargs: req.chatTemplateKwargs } : {}),
    };
    // encodeChat is the rendered text tokenized without special tokens: render once, cut, encode.
    return encodeCapped(tok.renderChat(messages, options), maxTokens, (t) =>
      tok.encodePrompt(t, { addSpecialTokens: false }),
    );
  } catch (e) {
    if (e instanceof TokenizerError && e.code === 'media' && req.messages)
      return approximate(canonicalChatText(req.messages), maxTokens);
    if (e instanceof TokenizerError) throw new RouteError(400, e.message);
    throw e;
  }
}
