/** One OpenAI chat message as received; validated by the tokenizer, not by the type. */
export interface ChatMessage {
  role: string;
  content?: string | readonly ChatContentPart[] | null;
  name?: string;
  tool_calls?: readonly unknown[] | null;
  tool_call_id?: string | null;
  reasoning?: string | null;
  [key: string]: unknown;
}

/** A content part of the OpenAI array form. Only text-like parts can be tokenized here. */
export type ChatContentPart = string | { type: string; text?: string; [key: string]: unknown };

export interface ChatOptions {
  /** OpenAI `tools`, passed to the template as `tools` (vLLM and transformers do the same). */
  tools?: unknown;
  /** Default true: the router tokenizes requests that ask the model to answer. */
  addGenerationPrompt?: boolean;
  /** Extra template variables, as vLLM's `chat_template_kwargs` (e.g. `enable_thinking`). */
  chatTemplateKwargs?: Record<string, unknown>;
}

export interface ModelTokenizer {
  readonly model: string;
  /**
   * Token ids of a `/v1/completions` prompt as vLLM computes them: special tokens added as the
   * model's tokenizer config says. An array of ids is validated (integers in [0, 2^32)) and copied.
   * @throws TokenizerError for anything else.
   */
  encodePrompt(prompt: string | readonly number[]): Uint32Array;
  /**
   * Token ids of a `/v1/chat/completions` request: the chat template rendered with
   * `add_generation_prompt` (default true), tokenized without adding special tokens again.
   * @throws TokenizerError for malformed messages, media parts, a missing or failing template.
   */
  encodeChat(messages: readonly ChatMessage[], options?: ChatOptions): Uint32Array;
  /** The templated text that `encodeChat` tokenizes. */
  renderChat(messages: readonly ChatMessage[], options?: ChatOptions): string;
  /** Cache counters since load; `hitTokens / (hitTokens + missTokens)` is the share not retokenized. */
  stats(): TokenizerStats;
}

export interface TokenizerStats {
  /** Which encoder runs: the built-in byte-level BPE, or the @huggingface/tokenizers fallback. */
  engine: 'byte-level-bpe' | 'library';
  /** Whether text is split and cached at added-token boundaries (false: whole texts only). */
  segmentCache: boolean;
  hits: number;
  misses: number;
  hitTokens: number;
  missTokens: number;
  cachedBytes: number;
}
