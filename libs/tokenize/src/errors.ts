/**
 * A request the tokenizer cannot turn into token ids: malformed messages, a content part it cannot
 * represent, a chat template that raises or fails. Callers answer it with HTTP 400 (or fall back to
 * approximate routing); it never means the process is in a bad state.
 */
export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
}

/** A model directory that cannot be loaded: missing or malformed tokenizer files. */
export class TokenizerLoadError extends Error {
  override readonly name = 'TokenizerLoadError';
}
