import type { AddedTokenSpec } from './added-tokens.js';

/** The parts of a Hugging Face tokenizer.json this package reads; the rest passes through. */
export interface TokenizerJson {
  added_tokens?: AddedTokenSpec[];
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  post_processor?: unknown;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    merges?: (string | [string, string])[];
    dropout?: number | null;
    continuing_subword_prefix?: string | null;
    end_of_word_suffix?: string | null;
    ignore_merges?: boolean;
    byte_fallback?: boolean;
  };
  [key: string]: unknown;
}

/** tokenizer_config.json: special tokens, the chat template, transformers class settings. */
export type TokenizerConfig = Record<string, unknown>;

/** Everything read from a model directory; `createModelTokenizer` needs nothing else. */
export interface ModelFiles {
  tokenizer: TokenizerJson;
  config: TokenizerConfig;
  /** From chat_template.jinja, else tokenizer_config.json, else chat_template.json. */
  chatTemplate?: string | readonly { name: string; template: string }[];
}
