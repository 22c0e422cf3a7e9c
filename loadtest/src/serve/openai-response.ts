/**
 * OpenAI response bodies in the shapes vLLM's server emits (field order and
 * nulls included), for completions and chat, whole and streamed.
 */
export interface ResponseHead {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export type FinishReasonOut = 'length' | null;

export function usage(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

export function completion(h: ResponseHead, text: string, finish: FinishReasonOut, u: Usage) {
  return {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }],
    usage: u,
  };
}

export function chatCompletion(h: ResponseHead, text: string, finish: FinishReasonOut, u: Usage) {
  return {
    id: h.id,
    object: 'chat.completion',
    created: h.created,
    model: h.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, tool_calls: [] },
        logprobs: null,
        finish_reason: finish,
        stop_reason: null,
      },
    ],
    usage: u,
  };
}

export function completionChunk(h: ResponseHead, text: string, finish: FinishReasonOut) {
  return {
    id: h.id,
    object: 'text_completion',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }],
  };
}

export function chatChunk(
  h: ResponseHead,
  delta: { role?: 'assistant'; content: string },
  finish: FinishReasonOut,
) {
  return {
    id: h.id,
    object: 'chat.completion.chunk',
    created: h.created,
    model: h.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
}

/** The last chunk when `stream_options.include_usage` is set: no choices, the usage. */
export function usageChunk(kind: 'completion' | 'chat', h: ResponseHead, u: Usage) {
  return {
    id: h.id,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: h.created,
    model: h.model,
    choices: [],
    usage: u,
  };
}
