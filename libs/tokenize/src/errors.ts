/**
 * A request the tokenizer cannot turn into token ids: malformed messages, a content part it cannot
 * represent, a chat template that raises or fails. Callers answer it with HTTP 400 (or fall back to
 * approximate routing); it never means the process is in a bad state.
 */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      /** `media`: the request has parts (images, audio…) only the engine's processor can tokenize. */
      code?: 'invalid' | 'media';
    },
  ) {
    super(message, options);
    this.code = options?.code ?? 'invalid';
  }

  readonly code: 'invalid' | 'media';
}

/** A model directory that cannot be loaded: missing or malformed tokenizer files. */
export class TokenizerLoadError extends Error {
  override readonly name = 'TokenizerLoadError';
}
