import type { ModelTokenizer } from '@kvroute/tokenize';
import { approximateTokens, canonicalChatText, TokenizerError } from '@kvroute/tokenize';
import { RouteError } from './errors.js';
import type { RouteRequest } from './request-body.js';

export interface RouteTokens {
  ids: ArrayLike<number>;
  mode: 'tokens' | 'approximate';
}

/**
 * Token ids of the request, or pseudo-tokens (approximate mode) when the
 * model has no tokenizer or the request has parts only the engine can
 * tokenize (images, audio). Throws RouteError (400) for what the tokenizer rejects.
 */
export function routeTokens(req: RouteRequest, tok: ModelTokenizer | undefined): RouteTokens {
  if (req.tokenIds) return { ids: req.tokenIds, mode: 'tokens' };
  try {
    if (req.prompt !== undefined) {
      if (typeof req.prompt !== 'string') return { ids: req.prompt, mode: 'tokens' };
      return tok
        ? { ids: tok.encodePrompt(req.prompt), mode: 'tokens' }
        : { ids: approximateTokens(req.prompt), mode: 'approximate' };
    }
    const messages = req.messages ?? [];
    if (tok) {
      return {
        ids: tok.encodeChat(messages, {
          ...(req.tools !== undefined ? { tools: req.tools } : {}),
          ...(req.chatTemplateKwargs ? { chatTemplateKwargs: req.chatTemplateKwargs } : {}),
        }),
        mode: 'tokens',
      };
    }
    return { ids: approximateTokens(canonicalChatText(messages)), mode: 'approximate' };
  } catch (e) {
    if (e instanceof TokenizerError && e.code === 'media' && req.messages) {
      return { ids: approximateTokens(canonicalChatText(req.messages)), mode: 'approximate' };
    }
    if (e instanceof TokenizerError) throw new RouteError(400, e.message);
    throw e;
  }
}
