export { approximateTokens, canonicalChatText, APPROX_CHARS_PER_TOKEN } from './approximate.js';
export { TokenizerError, TokenizerLoadError } from './errors.js';
export { loadModelTokenizer, readModelFiles } from './load.js';
export { createModelTokenizer, DEFAULT_CACHE_BYTES } from './model-tokenizer.js';
export type { CreateOptions } from './model-tokenizer.js';
export type { ModelFiles, TokenizerConfig, TokenizerJson } from './tokenizer-json.js';
export type {
  ChatContentPart,
  ChatMessage,
  ChatOptions,
  ModelTokenizer,
  PromptOptions,
  TokenizerStats,
} from './types.js';
