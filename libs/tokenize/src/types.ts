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

/** Options of `/v1/chat/completions` that change the token ids; names follow vLLM's request fields. */
export interface ChatOptions {
  /** OpenAI `tools`, passed to the template as `tools` (vLLM and transformers do the same). */
  tools?: unknown;
  /** `add_generation_prompt`, default true as in vLLM: the template opens the assistant's turn. */
  addGenerationPrompt?: boolean;
  /**
   * `continue_final_message`, default false: the text ends right after the final message's
   * content (transformers cuts the rendered text there), so the model continues that message.
   * Together with `addGenerationPrompt` (which defaults to true) it is refused with
   * TokenizerError, as vLLM refuses it: pass `addGenerationPrompt: false`.
   */
  continueFinalMessage?: boolean;
  /** `documents` (RAG), passed to the template as `documents`; null or absent passes null. */
  documents?: unknown[] | null;
  /**
   * `chat_template`: a template source used instead of the model's for this request (or the name
   * of one of the model's named templates). Compiled once per distinct text; a bounded LRU keeps
   * the most recent ones. A template that does not parse is a TokenizerError.
   */
  chatTemplate?: string;
  /** Extra template variables, as vLLM's `chat_template_kwargs` (e.g. `enable_thinking`). */
  chatTemplateKwargs?: Record<string, unknown>;
  /**
   * `add_special_tokens`, default false for chat as in vLLM (the template writes BOS itself):
   * true adds the post-processor's special tokens around the rendered text as well.
   */
  addSpecialTokens?: boolean;
}

/** Options of `/v1/completions` that change the token ids. */
export interface PromptOptions {
  /**
   * `add_special_tokens`, default true as in vLLM: the tokenizer's post-processor adds its
   * special tokens (BOS, EOS…). False encodes the text alone. Ignored for token-id prompts.
   */
  addSpecialTokens?: boolean;
}

export interface ModelTokenizer {
  readonly model: string;
  /**
   * Token ids of a `/v1/completions` prompt as vLLM computes them: special tokens added as the
   * model's tokenizer config says (unless `addSpecialTokens: false`). An array of ids is
   * validated (integers in [0, 2^32)) and copied.
   * @throws TokenizerError for anything else.
   */
  encodePrompt(prompt: string | readonly number[], options?: PromptOptions): Uint32Array;
  /**
   * Token ids of a `/v1/chat/completions` request: the chat template rendered with
   * `add_generation_prompt` (default true), tokenized without adding special tokens again
   * (unless `addSpecialTokens: true`).
   * @throws TokenizerError for malformed messages or options, media parts, a missing, unparsable
   * or failing template.
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
