export type DecodeErrorReason =
  | 'empty'
  | 'msgpack'
  | 'not-a-batch'
  | 'unknown-event'
  | 'wrong-type'
  | 'missing-field'
  | 'token-count';

/** The only error the decoder throws: why, and where in the payload. */
export class VllmDecodeError extends Error {
  override name = 'VllmDecodeError';
  constructor(
    readonly reason: DecodeErrorReason,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason} at ${path}: ${message}`, options);
  }
}
